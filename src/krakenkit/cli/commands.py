"""``krakenkit ticker | book | balance | order | sandbox``."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from .._core.ids import generate_spot_order_id
from .._core.symbol_mapper import SymbolMapper
from .output import Output
from .target import Target

__all__ = ["ORDER_OPTIONS", "cmd_balance", "cmd_book", "cmd_order", "cmd_sandbox", "cmd_ticker", "order_params"]


def _raw(value: Any) -> Any:
    raw = getattr(value, "raw", None)
    if raw is not None:
        return dict(raw) if hasattr(raw, "items") else raw
    return value


def _spot(target: Target, private: bool = False, timeout: float | None = None) -> Any:
    from ..rest import AsyncSpotClient

    options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if private:
        creds = target.require_spot()
        return AsyncSpotClient(creds.api_key, creds.api_secret, environment=target.environment, **options)
    return AsyncSpotClient(environment=target.environment, **options)


# --- ticker ---------------------------------------------------------------------------------------


async def cmd_ticker(args: argparse.Namespace, target: Target, out: Output) -> int:
    async with _spot(target) as spot:
        async with out.progress.running("loading pairs"):
            mapper = await SymbolMapper.load(spot, None, cache=target.is_live)
        pairs = [mapper.spot_pair(s) for s in args.symbols]
        async with out.progress.running("ticker"):
            res = _raw(await spot.get_ticker(pair=",".join(p.rest for p in pairs)))
    rows = []
    for p in pairs:
        info = res.get(p.key) or res.get(p.rest) or {}
        rows.append(
            {
                "symbol": p.ws,
                "rest": p.rest,
                "last": info.get("c", [None])[0],
                "bid": info.get("b", [None])[0],
                "ask": info.get("a", [None])[0],
                "volume_24h": (info.get("v") or [None, None])[1],
                "high_24h": (info.get("h") or [None, None])[1],
                "low_24h": (info.get("l") or [None, None])[1],
            }
        )
    out.document({"command": "ticker", "target": target.label, "tickers": rows})
    out.line(f"{'symbol':<10} {'rest':<9} {'last':>14} {'bid':>14} {'ask':>14} {'24h volume':>16}")
    for r in rows:
        out.line(
            f"{r['symbol']:<10} {r['rest']:<9} {r['last']!s:>14} {r['bid']!s:>14} {r['ask']!s:>14} "
            f"{r['volume_24h']!s:>16}"
        )
    return 0


# --- book -----------------------------------------------------------------------------------------


def _render_book(symbol: str, book: Any, depth: int, updates: int) -> list[str]:
    asks = list(book.asks(depth))
    bids = list(book.bids(depth))
    lines = [f"{symbol}  depth {depth}  updates {updates}  checksum ok  resyncs {book.resyncs}"]
    lines.append(f"{'':>2}{'bid qty':>16} {'bid':>14} | {'ask':<14} {'ask qty':<16}")
    for i in range(max(len(asks), len(bids))):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        left = f"{b[1]!s:>16} {b[0]!s:>14}" if b else " " * 31
        right = f"{a[0]!s:<14} {a[1]!s:<16}" if a else ""
        lines.append(f"  {left} | {right}")
    spread = book.spread() if callable(book.spread) else book.spread
    lines.append(f"  spread {spread}")
    return lines


async def cmd_book(args: argparse.Namespace, target: Target, out: Output) -> int:
    from ..ws.client import WebsocketClient

    async with _spot(target) as spot:
        async with out.progress.running("loading pairs"):
            mapper = await SymbolMapper.load(spot, None, cache=target.is_live)
    symbol = mapper.to_ws(args.symbol)
    limit = 0 if args.once else args.updates
    tty = bool(getattr(out.stream, "isatty", lambda: False)()) and not out.json_mode
    done = asyncio.Event()
    snapshots: list[dict[str, Any]] = []
    count = 0

    async with WebsocketClient(environment=target.environment) as ws:
        live = ws.book(symbol, depth=args.depth)
        async with out.progress.running(f"{symbol} book"):
            await live.ready(args.timeout)

        def show() -> None:
            lines = _render_book(symbol, live, args.depth, count)
            if tty:
                out.stream.write("\x1b[H\x1b[2J")
            for line in lines:
                out.line(line)
            if not tty:
                out.line("")
            snapshots.append(
                {
                    "updates": count,
                    "bids": live.bids(args.depth),
                    "asks": live.asks(args.depth),
                    "checksum": live.checksum(),
                }
            )

        show()

        def on_update(_: Any) -> None:
            nonlocal count
            count += 1
            if limit and count >= limit:
                show()
                done.set()
            elif not limit or tty:
                show()

        if limit == 0 and args.once:
            done.set()
        else:
            live.on_update(on_update)
        try:
            if limit:
                await asyncio.wait_for(done.wait(), args.timeout + limit)
            elif not args.once:
                await asyncio.Event().wait()  # until Ctrl-C
        except TimeoutError:
            out.warn(f"only {count} of {limit} updates arrived within the timeout")
            out.document({"command": "book", "symbol": symbol, "ok": False, "updates": count})
            return 1
    last = snapshots[-1]
    out.document(
        {
            "command": "book",
            "target": target.label,
            "symbol": symbol,
            "ok": True,
            "updates": count,
            "verified": True,
            "bids": last["bids"],
            "asks": last["asks"],
            "checksum": last["checksum"],
        }
    )
    return 0


# --- balance --------------------------------------------------------------------------------------


async def cmd_balance(args: argparse.Namespace, target: Target, out: Output) -> int:
    async with _spot(target, private=True) as spot:
        async with out.progress.running("balance"):
            bal = _raw(await spot.get_account_balance())
    spot_rows = {k: str(v) for k, v in sorted(bal.items())}
    doc: dict[str, Any] = {"command": "balance", "target": target.label, "spot": spot_rows}
    out.line(f"Spot balances ({target.label})")
    for asset, amount in spot_rows.items():
        out.line(f"  {asset:<10} {amount:>24}")
    if args.futures:
        from ..rest.derivatives import AsyncDerivativesClient

        creds = target.require_futures()
        async with AsyncDerivativesClient(creds.api_key, creds.secret_value(), environment=target.environment) as d:
            async with out.progress.running("derivatives accounts"):
                accounts = _raw(await d.get_accounts())
        doc["futures"] = accounts
        out.line("Derivatives accounts")
        for name, acct in (accounts.get("accounts") or {}).items() if isinstance(accounts, dict) else []:
            summary = acct.get("balances") or acct.get("auxiliary") or acct.get("balanceValue") or ""
            out.line(f"  {name:<16} {summary}")
    out.document(doc)
    return 0


# --- order ----------------------------------------------------------------------------------------


#: ``krakenkit order`` option -> the AddOrder field it sets (the positionals: side -> type, symbol -> pair).
ORDER_OPTIONS: dict[str, str] = {
    "ordertype": "--type",
    "type": "SIDE",
    "volume": "VOLUME",
    "pair": "SYMBOL",
    "price": "--price",
    "price2": "--price2",
    "cl_ord_id": "--cl-ord-id",
    "userref": "--userref",
    "timeinforce": "--time-in-force",
    "oflags": "--oflags",
    "leverage": "--leverage",
    "reduce_only": "--reduce-only",
    "expiretm": "--expiretm",
    "trigger": "--trigger",
    "stptype": "--stptype",
    "displayvol": "--displayvol",
}


def order_params(args: argparse.Namespace, pair: str | None = None) -> dict[str, Any]:
    """The AddOrder parameters of ``krakenkit order``, checked by the validation layer: the same checks and
    verdicts as ``SpotClient.submit_order`` (run before anything connects; the client runs them again).
    Values go as typed (text); ``--userref`` is an int when it reads as one. ``pair``: the REST pair the
    symbol maps to (before the pairs are loaded: the symbol itself, its form checked as REST or, with a
    ``/``, as WebSocket notation)."""
    from .._core.symbols import check_symbol
    from .._core.validation import validate

    symbol: Any = args.symbol
    if pair is None:
        if isinstance(symbol, str) and "/" in symbol:
            check_symbol(symbol, "spot_ws", "pair")  # BTC/USD: mapped to its REST name once the pairs load
            pair = "XBTUSD"
        else:
            pair = symbol
    userref: Any = args.userref
    if isinstance(userref, str) and userref.lstrip("-").isdigit() and userref.isascii() and len(userref) < 20:
        userref = int(userref)
    params: dict[str, Any] = {
        "ordertype": args.type,
        "type": args.side,
        "volume": args.volume,
        "pair": pair,
        "price": args.price,
        "price2": args.price2,
        "cl_ord_id": args.cl_ord_id,
        "userref": userref,
        "timeinforce": args.time_in_force,
        "oflags": args.oflags,
        "leverage": args.leverage,
        "reduce_only": True if args.reduce_only else None,
        "expiretm": args.expiretm,
        "trigger": args.trigger,
        "stptype": args.stptype,
        "displayvol": args.displayvol,
    }
    if params["cl_ord_id"] is None and userref is None:
        params["cl_ord_id"] = generate_spot_order_id()
    params = {k: v for k, v in params.items() if v is not None}
    validate("spot_rest.AddOrder", {**params, "validate": not args.execute})
    return params


async def cmd_order(args: argparse.Namespace, target: Target, out: Output) -> int:
    params = order_params(args)  # bad input: refused before anything connects
    async with _spot(target, private=True, timeout=args.timeout) as spot:
        mapper = await SymbolMapper.load(spot, None, cache=target.is_live)
        pair = mapper.spot_pair(args.symbol)
        params["pair"] = pair.rest
        cl = params.get("cl_ord_id")
        validate = not args.execute
        if validate:
            params["validate"] = True
        async with out.progress.running("sending" if not validate else "validating"):
            res = _raw(await spot.submit_order(**params))
    descr = (res.get("descr") or {}).get("order", "")
    txids = res.get("txid") or []
    doc = {
        "command": "order",
        "target": target.label,
        "validated_only": validate,
        "cl_ord_id": cl,
        "txid": txids,
        "descr": descr,
        "pair": pair.rest,
        "symbol": pair.ws,
    }
    if validate:
        out.line(f"VALIDATED (not placed): {descr}")
        out.line("  add --execute to place it" + (" on LIVE Kraken" if target.is_live else ""))
    else:
        out.line(f"PLACED: {descr}  txid {', '.join(txids)}" + (f"  cl_ord_id {cl}" if cl else ""))
    out.document(doc)
    return 0


# --- sandbox --------------------------------------------------------------------------------------


def sandbox_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``serve()`` keyword arguments of ``krakenkit sandbox``'s flags."""
    return {
        "host": args.host,
        "fast_mode": args.fast,
        "market": not args.no_market,
        "rate_limits": not args.no_rate_limits,
    }


def cmd_sandbox(args: argparse.Namespace, out: Output) -> int:
    """Run a sandbox in the foreground until Ctrl-C / SIGTERM (through :func:`krakenkit_sandbox.serve`).

    The sandbox is the krakenkit-sandbox distribution: without it, say how to install it and return 2."""
    from .. import sandbox as reexport

    try:
        sandbox = reexport.load()
    except ModuleNotFoundError as exc:
        if exc.name != "krakenkit_sandbox":
            raise
        out.warn(f"error: {reexport.MISSING_MESSAGE}")
        out.document(
            {"command": "sandbox", "ok": False, "error": "SandboxNotInstalled", "message": reexport.MISSING_MESSAGE}
        )
        return 2

    options = sandbox_options(args)
    settings = {
        "seed": args.seed,
        "fast_mode": options["fast_mode"],
        "market": options["market"],
        "rate_limits": options["rate_limits"],
    }

    def ready(sb: Any) -> None:
        text = sandbox.describe(sb)
        out.document(
            {
                "command": "sandbox",
                "rest_url": sb.rest_url,
                "ws_urls": sb.ws_urls,
                "describe": text,
                "settings": settings,
                "ready": True,
            }
        )
        out.line(text)
        out.line(
            "  Settings: "
            + ", ".join(
                [
                    f"seed {args.seed}",
                    "fast mode ON (synthetic book streams)" if options["fast_mode"] else "fast mode off",
                    "simulated market ON" if options["market"] else "simulated market off",
                    "rate limits enforced" if options["rate_limits"] else "rate limits OFF",
                ]
            )
        )
        out.line("")
        out.line(f"ready: {sb.rest_url}  (Ctrl-C to stop)")
        out.line(f"try:  krakenkit rollout --sandbox-url {sb.rest_url}")

    sandbox.serve(args.port, args.seed, on_ready=ready, **options)
    out.line("sandbox stopped")
    return 0
