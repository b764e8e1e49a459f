"""``krakenkit rollout``: Kraken's production guide, one layer at a time.

1. public REST      server time (clock skew), system status, ticker, order book
2. public WS        ticker and a checksum-verified book flow; a forced reconnect is survived
3. private WS       authenticated; executions and balances snapshots arrive
4. validated orders Spot ``validate=True`` (nothing placed); Derivatives order placed and cancelled
                    on the sandbox
5. small live trade a minimum-size market order: its fill is seen on the stream and the state
                    (order, fills, balances) reconciles with REST

The first failing layer stops the rollout (later layers are reported as skipped) and the exit code
is 1. On ``--live`` layer 5 runs only with ``--confirm-live-trade`` (it buys the pair's minimum
volume at market and sells it back); Derivatives orders are only placed on the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from .._core.errors import KrakenError
from .._core.ids import generate_futures_order_id, generate_spot_order_id
from .doctor import clock_skew
from .output import Check, Output
from .target import Target

__all__ = ["LAYERS", "LayerResult", "run_rollout"]

LAYERS = ("public REST", "public WS", "private WS", "validated orders", "small live trade")

REST_PAIR = "XBTUSD"
WS_SYMBOL = "BTC/USD"
FUTURES_SYMBOL = "PF_XBTUSD"

T = TypeVar("T")
log = logging.getLogger("krakenkit.cli")


@dataclass
class LayerResult:
    number: int
    name: str
    status: str = "PASS"  # PASS | FAIL | SKIP
    seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.number,
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 4),
            "note": self.note,
            "checks": [c.as_dict() for c in self.checks],
        }


class LayerFailed(Exception):
    pass


def _raw(value: Any) -> Any:
    raw = getattr(value, "raw", None)
    if raw is not None:
        return dict(raw) if hasattr(raw, "items") else raw
    return value


def _prop(obj: Any, name: str) -> Any:
    """``book.best_bid`` whether the book exposes it as a property or a method."""
    value = getattr(obj, name)
    return value() if callable(value) else value


def _first(mapping: Any) -> Any:
    m = _raw(mapping)
    if isinstance(m, dict) and m:
        return next(iter(m.values()))
    raise LayerFailed(f"empty result: {m!r}")


class _Layer:
    """Runs the checks of one layer, timing each and stopping at the first failure."""

    def __init__(self, result: LayerResult, out: Output, errors: _ClientErrors | None = None) -> None:
        self.result = result
        self.out = out
        self.errors = errors or _ClientErrors()

    async def check(
        self, name: str, fn: Callable[[], Awaitable[str | tuple[str, str]]], *, timeout: float = 15.0
    ) -> None:
        start = time.monotonic()
        status, detail = "PASS", ""
        self.errors.reset()
        try:
            async with self.out.progress.running(name):
                got = await self.errors.race(fn(), timeout)
            if isinstance(got, tuple):
                status, detail = got
            else:
                detail = got
        except TimeoutError:
            status, detail = "FAIL", f"no answer within {_secs(timeout)}"
            if self.errors.last is not None:
                detail += f" (last error: {_describe(self.errors.last)})"
        except LayerFailed as exc:
            status, detail = "FAIL", str(exc)
        except KrakenError as exc:
            status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
        check = Check(name, status, detail, time.monotonic() - start)
        self.result.checks.append(check)
        self.out.check(check)
        if status == "FAIL":
            raise LayerFailed(f"{name}: {detail}")

    def skip(self, name: str, why: str) -> None:
        check = Check(name, "SKIP", why)
        self.result.checks.append(check)
        self.out.check(check)


def _secs(seconds: float) -> str:
    return f"{seconds:g} s"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _ClientErrors:
    """Errors the WebSocket clients survived (``exception`` events) while a check runs.

    A client keeps retrying after, say, a refused token, so a check that waits for it would only
    time out. An authentication error cannot heal by retrying: the check fails at once with it.
    Any other error is named if the check then times out.
    """

    def __init__(self) -> None:
        self.last: BaseException | None = None
        self._fatal: asyncio.Future[BaseException] | None = None

    def reset(self) -> None:
        self.last = None
        self._fatal = None

    def on_exception(self, event: Any) -> None:
        from .._core.errors import AuthenticationError

        error = getattr(event, "error", None)
        if not isinstance(error, BaseException):
            return
        self.last = error
        if isinstance(error, AuthenticationError) and self._fatal is not None and not self._fatal.done():
            self._fatal.set_result(error)

    async def race(self, work: Awaitable[T], timeout: float) -> T:
        loop = asyncio.get_running_loop()
        self._fatal = fatal = loop.create_future()
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task, fatal}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            if fatal in done:
                raise LayerFailed(_describe(fatal.result()))
            raise TimeoutError
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._fatal = None


class Rollout:
    def __init__(self, target: Target, out: Output, *, confirm_live_trade: bool = False, timeout: float = 15.0) -> None:
        self.t = target
        self.out = out
        self.confirm = confirm_live_trade
        self.timeout = timeout
        self.pair_info: dict[str, Any] = {}
        self._http_client: Any = None
        self.errors = _ClientErrors()

    # -- helpers --------------------------------------------------------------------------------

    def _http(self) -> Any:
        """One connection pool (and TLS context) for every REST client of the rollout."""
        if self._http_client is None:
            import httpx

            self._http_client = httpx.AsyncClient(timeout=self.timeout)
        return self._http_client

    def _spot(self, private: bool = False) -> Any:
        from ..rest import AsyncSpotClient

        if private:
            creds = self.t.require_spot()
            return AsyncSpotClient(
                creds.api_key, creds.api_secret, environment=self.t.environment, http_client=self._http()
            )
        return AsyncSpotClient(environment=self.t.environment, http_client=self._http())

    def _ws(self, private: bool = False) -> Any:
        from ..ws.client import WebsocketClient

        if private:
            creds = self.t.require_spot()
            ws = WebsocketClient(
                creds.api_key,
                creds.secret_value(),
                environment=self.t.environment,
                staleness_timeout=10.0,
                rest_client=self._spot(private=True),
            )
        else:
            ws = WebsocketClient(environment=self.t.environment, staleness_timeout=10.0)
        ws.on("exception", self.errors.on_exception)
        return ws

    async def aclose(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    def _precisions(self) -> dict[str, int]:
        pd, ld = self.pair_info.get("pair_decimals"), self.pair_info.get("lot_decimals")
        if pd is None or ld is None:
            return {}
        return {"price_precision": int(pd), "qty_precision": int(ld)}

    async def _force_reconnect(self, ws: Any, ws_key: str) -> str:
        """Drop the connection: through the sandbox (server side) or locally on live."""
        faults = self.t.faults()
        if faults is not None:
            faults.drop_ws_connections(ws_key)
            return "sandbox dropped the connection"
        if self.t.admin_url:
            await asyncio.to_thread(
                self.t.admin, "/_sandbox/faults", {"action": "drop_ws_connections", "ws_key": ws_key}
            )
            return "sandbox dropped the connection"
        ws.connection(ws_key).abort_for_test()
        return "socket aborted locally"

    # -- layers -----------------------------------------------------------------------------------

    async def layer_public_rest(self, layer: _Layer) -> None:
        async with self._spot() as spot:

            async def server_time() -> str:
                sent = time.time()
                st = await spot.get_server_time()
                got = time.time()
                unixtime = int(_raw(st)["unixtime"])
                skew = clock_skew(unixtime, sent, got)
                if abs(skew) > 5:
                    raise LayerFailed(f"clock skew {skew:+.1f} s against the server (nonces and expiries suffer)")
                when = datetime.fromtimestamp(unixtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                return f"{when}, local clock skew {skew:+.1f} s (server time has 1 s resolution)"

            async def status() -> str:
                st = _raw(await spot.get_system_status())
                if st.get("status") != "online":
                    raise LayerFailed(f"system status is {st.get('status')!r}, not 'online'")
                return "online"

            async def ticker() -> str:
                info = _first(await spot.get_ticker(pair=REST_PAIR))
                bid, ask = Decimal(str(info["b"][0])), Decimal(str(info["a"][0]))
                if not bid < ask:
                    raise LayerFailed(f"crossed ticker: bid {bid} >= ask {ask}")
                return f"{REST_PAIR} bid {bid} ask {ask}"

            async def book() -> str:
                ob = _first(await spot.get_order_book(pair=REST_PAIR, count=10))
                bids, asks = ob.get("bids") or [], ob.get("asks") or []
                if not bids or not asks:
                    raise LayerFailed("empty order book")
                best_bid, best_ask = Decimal(str(bids[0][0])), Decimal(str(asks[0][0]))
                if not best_bid < best_ask:
                    raise LayerFailed(f"crossed book: {best_bid} >= {best_ask}")
                return f"{len(bids)} bids / {len(asks)} asks, spread {best_ask - best_bid}"

            async def pairs() -> str:
                ap = _raw(await spot.get_asset_pairs(pair=REST_PAIR))
                self.pair_info = next(iter(ap.values()))
                return f"ordermin {self.pair_info.get('ordermin')}, tick {self.pair_info.get('tick_size')}"

            await layer.check("server time", server_time, timeout=self.timeout)
            await layer.check("system status", status, timeout=self.timeout)
            await layer.check("ticker", ticker, timeout=self.timeout)
            await layer.check("order book", book, timeout=self.timeout)
            await layer.check("asset pair", pairs, timeout=self.timeout)

    async def layer_public_ws(self, layer: _Layer) -> None:
        from .._core.environment import WS_KEY_MAP

        key = WS_KEY_MAP.spotPublicV2
        ws = self._ws()
        tickers: list[float] = []
        reconnected = asyncio.Event()
        reconnect_info: dict[str, Any] = {}

        def on_message(ev: Any) -> None:
            if ev.ws_key == key and ev.channel == "ticker":
                tickers.append(time.monotonic())

        def on_reconnected(ev: Any) -> None:
            if ev.ws_key == key:
                reconnect_info.update(downtime=ev.downtime, resubscribed=ev.resubscribed)
                reconnected.set()

        ws.on("message", on_message)
        ws.on("reconnected", on_reconnected)
        async with ws:
            # the book is opened first, so it subscribes as the connection opens
            live_book = ws.book(WS_SYMBOL, depth=10, **self._precisions())

            async def connect() -> str:
                await ws.connect(key, timeout=self.timeout)
                return str(ws.environment.ws_url(key))

            async def ticker() -> str:
                await ws.subscribe({"topic": "ticker", "payload": {"symbol": [WS_SYMBOL]}}, key)
                while not tickers:
                    await asyncio.sleep(0.02)
                return f"{WS_SYMBOL} ticker flowing"

            async def book() -> str:
                await live_book.ready(self.timeout)
                bid, ask = _prop(live_book, "best_bid"), _prop(live_book, "best_ask")
                if bid is None or ask is None or not bid[0] < ask[0]:
                    raise LayerFailed(f"book not usable: bid {bid}, ask {ask}")
                return f"checksum-verified, best bid {bid[0]}, best ask {ask[0]}"

            async def reconnect() -> str:
                before = len(tickers)
                how = await self._force_reconnect(ws, key)
                await reconnected.wait()
                while len(tickers) <= before:
                    await asyncio.sleep(0.02)
                await live_book.ready(self.timeout)
                return (
                    f"{how}; reconnected after {reconnect_info.get('downtime', 0):.2f} s, "
                    f"{reconnect_info.get('resubscribed', 0)} subscriptions restored, data flowing again"
                )

            await layer.check("connect", connect, timeout=self.timeout)
            await layer.check("ticker events", ticker, timeout=self.timeout)
            await layer.check("book", book, timeout=self.timeout)
            await layer.check("forced reconnect", reconnect, timeout=self.timeout * 2)

    async def layer_private_ws(self, layer: _Layer) -> None:
        from .._core.environment import WS_KEY_MAP

        key = WS_KEY_MAP.spotPrivateV2
        self.t.require_spot()
        ws = self._ws(private=True)
        seen: dict[str, Any] = {}
        authenticated = asyncio.Event()

        def on_message(ev: Any) -> None:
            if ev.ws_key == key and ev.channel in ("executions", "balances"):
                seen.setdefault(ev.channel, ev.data)

        def on_auth(ev: Any) -> None:
            if ev.ws_key == key:
                authenticated.set()

        ws.on("message", on_message)
        ws.on("authenticated", on_auth)
        async with ws:

            async def auth() -> str:
                await ws.connect(key, timeout=self.timeout)
                await authenticated.wait()
                return "token accepted"

            async def executions() -> str:
                await ws.subscribe({"topic": "executions", "payload": {"snap_orders": True, "snap_trades": False}}, key)
                while "executions" not in seen:
                    await asyncio.sleep(0.02)
                return f"snapshot received, {len(seen['executions'].get('data') or [])} open orders"

            async def balances() -> str:
                await ws.subscribe("balances", key)
                while "balances" not in seen:
                    await asyncio.sleep(0.02)
                data = seen["balances"].get("data") or []
                assets = sorted(str(row.get("asset")) for row in data if isinstance(row, dict))
                return f"snapshot received: {', '.join(assets) or 'no assets'}"

            await layer.check("authenticate", auth, timeout=self.timeout)
            await layer.check("executions", executions, timeout=self.timeout)
            await layer.check("balances", balances, timeout=self.timeout)

    async def layer_validated_orders(self, layer: _Layer) -> None:
        creds = self.t.require_spot()
        del creds
        async with self._spot(private=True) as spot:

            async def spot_validate() -> str:
                before = _raw(await spot.get_open_orders())
                ticker = _first(await spot.get_ticker(pair=REST_PAIR))
                price = (Decimal(str(ticker["b"][0])) / 2).quantize(
                    Decimal(str(self.pair_info.get("tick_size", "0.1")))
                )
                volume = str(self.pair_info.get("ordermin", "0.0001"))
                res = _raw(
                    await spot.submit_order(
                        ordertype="limit", type="buy", volume=volume, pair=REST_PAIR, price=str(price), validate=True
                    )
                )
                after = _raw(await spot.get_open_orders())
                n_before = len((before or {}).get("open") or {})
                n_after = len((after or {}).get("open") or {})
                if res.get("txid"):
                    raise LayerFailed(f"validate=True returned an order id {res.get('txid')!r}")
                if n_after != n_before:
                    raise LayerFailed(f"open orders went from {n_before} to {n_after} after a validate-only order")
                descr = (res.get("descr") or {}).get("order", "")
                return f"accepted, not placed: {descr}"

            await layer.check("Spot validate=True", spot_validate, timeout=self.timeout)

        if self.t.is_live:
            layer.skip("Derivatives order", "Derivatives has no validate-only mode: exercised on the sandbox only")
            return
        if self.t.futures is None:
            layer.skip("Derivatives order", "no Derivatives key (sandbox without the Futures plug-in)")
            return
        from ..rest.derivatives import AsyncDerivativesClient

        fcreds = self.t.futures
        async with AsyncDerivativesClient(
            fcreds.api_key, fcreds.secret_value(), environment=self.t.environment, http_client=self._http()
        ) as deriv:

            async def deriv_order() -> str:
                tickers = await deriv.get_tickers()
                mark = None
                for tk in tickers:
                    r = _raw(tk)
                    if str(r.get("symbol", "")).upper() == FUTURES_SYMBOL:
                        mark = Decimal(str(r.get("markPrice") or r.get("last") or r.get("bid")))
                if mark is None:
                    raise LayerFailed(f"{FUTURES_SYMBOL} not in tickers")
                price = (mark / 2).quantize(Decimal(1))
                cli = generate_futures_order_id()
                sent = await deriv.submit_order(
                    orderType="post",
                    symbol=FUTURES_SYMBOL,
                    side="buy",
                    size="0.001",
                    limitPrice=str(price),
                    cliOrdId=cli,
                )
                if sent.status != "placed":
                    raise LayerFailed(f"sendStatus {sent.status}")
                cancelled = await deriv.cancel_order(cliOrdId=cli)
                status = getattr(cancelled, "status", "cancelled")
                return f"post-only buy {FUTURES_SYMBOL} @ {price} placed ({sent.order_id}) and {status}"

            await layer.check("Derivatives order (sandbox)", deriv_order, timeout=self.timeout)

    async def layer_small_trade(self, layer: _Layer) -> None:
        from .._core.environment import WS_KEY_MAP

        if self.t.is_live and not self.confirm:
            layer.skip(
                "live trade", "not confirmed: pass --confirm-live-trade to buy the minimum volume and sell it back"
            )
            raise _Skipped()
        key = WS_KEY_MAP.spotPrivateV2
        volume = Decimal(str(self.pair_info.get("ordermin", "0.0001")))
        fills: dict[str, list[dict[str, Any]]] = {}
        balances: dict[str, Decimal] = {}
        fill_seen: dict[str, asyncio.Event] = {}

        def on_message(ev: Any) -> None:
            if ev.ws_key != key:
                return
            if ev.channel == "executions":
                for row in ev.data.get("data") or []:
                    cl = row.get("cl_ord_id")
                    if row.get("exec_type") == "trade" and cl in fill_seen:
                        fills.setdefault(cl, []).append(row)
                        if row.get("order_status") == "filled":
                            fill_seen[cl].set()
            elif ev.channel == "balances":
                for row in ev.data.get("data") or []:
                    if isinstance(row, dict) and "asset" in row and "balance" in row:
                        balances[str(row["asset"])] = Decimal(str(row["balance"]))

        ws = self._ws(private=True)
        ws.on("message", on_message)
        async with ws, self._spot(private=True) as spot:
            await ws.subscribe({"topic": "executions", "payload": {"snap_orders": False}}, key)
            await ws.subscribe("balances", key)

            async def trade(side: str) -> str:
                cl = generate_spot_order_id()
                fill_seen[cl] = asyncio.Event()
                res = _raw(
                    await spot.submit_order(
                        ordertype="market", type=side, volume=str(volume), pair=REST_PAIR, cl_ord_id=cl
                    )
                )
                txid = (res.get("txid") or [None])[0]
                await fill_seen[cl].wait()
                qty = sum(Decimal(str(r["last_qty"])) for r in fills[cl])
                # reconcile the stream with REST
                order = _raw(await spot.get_orders(txid=txid, trades=True))[txid]
                vol_exec = Decimal(str(order["vol_exec"]))
                if order.get("status") != "closed" or vol_exec != qty or qty != volume:
                    raise LayerFailed(
                        f"stream saw {qty}, REST says {order.get('status')} {vol_exec} (ordered {volume})"
                    )
                rest_bal = _raw(await spot.get_account_balance())
                deadline = time.monotonic() + self.timeout
                while True:  # the balances update may trail the fill slightly
                    mismatches = _balance_mismatches(rest_bal, balances)
                    if not mismatches or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                    rest_bal = _raw(await spot.get_account_balance())
                if mismatches:
                    raise LayerFailed(f"balances differ between stream and REST: {mismatches}")
                avg = Decimal(str(order.get("price") or 0))
                return f"{side} {qty} {REST_PAIR} filled ({txid}, avg {avg}); order, fills and balances reconcile"

            await layer.check("market buy, fill on stream, reconciled", lambda: trade("buy"), timeout=self.timeout * 2)
            await layer.check("sell back, fill on stream, reconciled", lambda: trade("sell"), timeout=self.timeout * 2)


class _Skipped(Exception):
    pass


_WS_TO_REST_ASSET = {
    "BTC": ("XXBT", "XBT"),
    "USD": ("ZUSD", "USD"),
    "EUR": ("ZEUR", "EUR"),
    "ETH": ("XETH", "ETH"),
    "DOGE": ("XXDG", "XDG"),
}


def _balance_mismatches(rest: Any, stream: dict[str, Decimal]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    if not isinstance(rest, dict):
        return out
    for asset in ("BTC", "USD"):
        if asset not in stream:
            continue
        names = _WS_TO_REST_ASSET.get(asset, (asset,))
        rest_value = next((Decimal(str(rest[n])) for n in names if n in rest), None)
        if rest_value is None:
            continue
        if rest_value != stream[asset]:
            out[asset] = (str(stream[asset]), str(rest_value))
    return out


def _preload() -> None:
    """Import the clients before the clock starts, so layer times measure the checks, not imports."""
    from .. import books, rest, ws  # noqa: F401
    from ..rest import derivatives  # noqa: F401


async def run_rollout(
    target: Target, out: Output, *, confirm_live_trade: bool = False, until: int = 5, timeout: float = 15.0
) -> tuple[bool, list[LayerResult]]:
    """Run the layers in order; stop at the first failure. Returns (ok, results)."""
    _preload()
    ro = Rollout(target, out, confirm_live_trade=confirm_live_trade, timeout=timeout)
    ro._http()  # the shared connection pool (its TLS context takes a while to build)
    steps = [
        ro.layer_public_rest,
        ro.layer_public_ws,
        ro.layer_private_ws,
        ro.layer_validated_orders,
        ro.layer_small_trade,
    ]
    try:
        return await _run_layers(ro, steps, out, until)
    finally:
        await ro.aclose()


async def _run_layers(
    ro: Rollout, steps: Sequence[Callable[[_Layer], Awaitable[None]]], out: Output, until: int
) -> tuple[bool, list[LayerResult]]:
    results: list[LayerResult] = []
    failed = False
    for i, (name, step) in enumerate(zip(LAYERS, steps, strict=True), start=1):
        res = LayerResult(i, name)
        results.append(res)
        if failed or i > until:
            res.status = "SKIP"
            res.note = "an earlier layer failed" if failed else f"--until {until}"
            out.line(f"SKIP  layer {i} {name}: {res.note}")
            continue
        out.line(f"layer {i}/5  {name}")
        layer = _Layer(res, out, ro.errors)
        start = time.monotonic()
        try:
            await step(layer)
        except LayerFailed as exc:
            res.status, res.note = "FAIL", str(exc)
            failed = True
        except _Skipped:
            res.status = "SKIP"
            res.note = res.checks[-1].detail if res.checks else ""
        except Exception as exc:  # e.g. missing credentials, or a bug: reported, not a traceback
            if not isinstance(exc, KrakenError):
                log.debug("layer %d failed unexpectedly", i, exc_info=exc)
            res.status, res.note = "FAIL", f"{type(exc).__name__}: {exc}"
            res.checks.append(Check("setup", "FAIL", res.note))
            out.check(res.checks[-1])
            failed = True
        res.seconds = time.monotonic() - start
        out.line(
            f"{res.status}  layer {i} {name} ({res.seconds * 1000:.0f} ms)"
            + (f": {res.note}" if res.note and res.status != "PASS" else "")
        )
    return not failed, results
