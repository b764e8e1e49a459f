"""Entry point of the ``krakenkit`` command (``krakenkit.cli.main:main``).

Exit codes: 0 success, 1 a check/layer failed, 2 bad usage or refused input (validation, missing
credentials), 3 an error from Kraken or the network, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .._core.errors import KrakenError, ValidationError
from .output import Output
from .target import add_target_arguments, open_target

__all__ = ["build_parser", "main", "seconds"]


def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds (``--timeout -1``, ``0``, ``nan`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 86400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r}: pass a number of seconds greater than 0 (e.g. 10)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="krakenkit",
        description="krakenkit: check, explore and trade on Kraken (or the built-in sandbox).",
    )
    parser.add_argument("--version", action="version", version=f"krakenkit {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout (for scripts)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "rollout",
        parents=[common],
        help="walk the five production layers (default: sandbox)",
        description="Public REST, public WS (with a forced reconnect), private WS, validated "
        "orders, a small live trade. Stops at the first failing layer; exit code 1.",
    )
    add_target_arguments(p, "sandbox")
    p.add_argument(
        "--confirm-live-trade",
        action="store_true",
        help="with --live: really buy the minimum volume of XBTUSD at market and sell it back",
    )
    p.add_argument("--until", type=int, default=5, choices=range(1, 6), metavar="N", help="stop after layer N")
    p.add_argument("--timeout", type=seconds, default=15.0, help="seconds allowed per check (default 15)")

    p = sub.add_parser("ticker", parents=[common], help="best bid/ask and last trade of pairs")
    add_target_arguments(p, "live")
    p.add_argument("symbols", nargs="+", metavar="SYMBOL", help="BTC/USD, XBTUSD, XXBTZUSD, ...")

    p = sub.add_parser("book", parents=[common], help="live, checksum-verified order book")
    add_target_arguments(p, "live")
    p.add_argument("symbol", metavar="SYMBOL")
    p.add_argument("--depth", type=int, default=10, choices=(10, 25, 100, 500, 1000))
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--once", action="store_true", help="print the verified snapshot and exit")
    stop.add_argument("--updates", type=int, default=0, metavar="N", help="exit after N updates")
    p.add_argument("--timeout", type=seconds, default=15.0, help="seconds to wait for the snapshot")

    p = sub.add_parser("balance", parents=[common], help="account balances (private)")
    add_target_arguments(p, "live")
    p.add_argument("--futures", action="store_true", help="also the Derivatives accounts")

    p = sub.add_parser(
        "order",
        parents=[common],
        help="validate (default) or place a Spot order",
        description="Checked locally exactly as SpotClient.submit_order checks it (bad input: exit code 2 naming "
        "the field and the fix, nothing sent), then sent with validate=true unless --execute.",
    )
    add_target_arguments(p, "live")
    p.add_argument("side", metavar="SIDE", help="buy or sell")
    p.add_argument("volume", metavar="VOLUME", help="in base currency, e.g. 0.0001")
    p.add_argument("symbol", metavar="SYMBOL", help="BTC/USD or XBTUSD")
    p.add_argument("--type", default="limit", help="Kraken's ordertype: limit (default), market, stop-loss, ...")
    p.add_argument("--price", help="limit price (trigger price of stop orders; '+5', '-1%%', '#2' offsets)")
    p.add_argument("--price2", help="limit price of *-limit orders")
    p.add_argument("--cl-ord-id", help="client order id (default: a fresh UUID, unless --userref)")
    p.add_argument("--userref", help="int32 user reference (instead of a client order id)")
    p.add_argument("--time-in-force", help="GTC (default), IOC, GTD or FOK")
    p.add_argument("--oflags", help="comma-separated order flags: post, fcib, fciq, nompp, viqc")
    p.add_argument("--leverage", help="margin leverage, e.g. 2")
    p.add_argument("--reduce-only", action="store_true", help="only reduce a margin position")
    p.add_argument("--expiretm", help="expiry of a GTD order: unix time or +<seconds>")
    p.add_argument("--trigger", help="price trigger of stop / take-profit orders: index or last")
    p.add_argument("--stptype", help="self-trade prevention: cancel-newest, cancel-oldest, cancel-both")
    p.add_argument("--displayvol", help="visible volume of an iceberg order")
    p.add_argument("--timeout", type=seconds, default=10.0, help="seconds the whole call may take (default 10)")
    p.add_argument("--execute", action="store_true", help="really place it (default: validate only)")

    p = sub.add_parser(
        "sandbox",
        parents=[common],
        help="run the local sandbox in the foreground",
        description="Run the local Kraken-compatible exchange until Ctrl-C / SIGTERM. Prints its "
        "URLs and a ready-made Spot (and Derivatives) key; with --json one JSON "
        "document once it listens.",
    )
    p.add_argument("--port", type=int, default=8787, help="TCP port (0 = a free one; default 8787)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the simulated market and generated ids (same seed, same run; default 1)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="fast mode (benchmarks): book subscriptions get a synthetic checksum-valid update "
        "stream as fast as the socket takes it",
    )
    p.add_argument(
        "--no-market", action="store_true", help="no simulated market participants: prices move only when you trade"
    )
    p.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="do not enforce Kraken's rate limits (the clients still limit themselves)",
    )

    p = sub.add_parser("doctor", parents=[common], help="credentials, clock skew, key permissions")
    add_target_arguments(p, "live")
    p.add_argument("--max-skew", type=float, default=5.0, help="clock skew that fails the check (seconds)")
    return parser


def _setup_logging(verbose: int) -> None:
    if verbose <= 0:
        logging.getLogger("krakenkit").addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("krakenkit")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


async def _rollout(args: argparse.Namespace, out: Output) -> int:
    from .rollout import LAYERS, run_rollout

    start = time.monotonic()
    with open_target(args, market=True) as target:
        if target.is_live:
            out.line("krakenkit rollout: 5 layers against LIVE Kraken (real account)")
        else:
            out.line(f"krakenkit rollout: 5 layers against the sandbox at {target.environment.spot_rest_url}")
            what = (
                "a running local sandbox"
                if target.sandbox is None
                else "a local simulated exchange started for this run"
            )
            out.line(f"  ({what}: no real money, no credentials needed)")
        ok, results = await run_rollout(
            target, out, confirm_live_trade=args.confirm_live_trade, until=args.until, timeout=args.timeout
        )
        label = target.label
        is_live = target.is_live
    total = time.monotonic() - start
    passed = sum(r.status == "PASS" for r in results)
    skipped = [r for r in results if r.status == "SKIP"]
    failed = next((r for r in results if r.status == "FAIL"), None)
    out.line("")
    summary = f"{passed}/{len(LAYERS)} layers passed"
    if skipped and not failed:
        summary += f", {len(skipped)} skipped"
    out.line(f"RESULT: {'PASS' if ok else 'FAIL'}  ({summary} in {total:.1f} s)")
    first_failure: dict[str, Any] | None = None
    if failed is not None:
        bad = next((c for c in failed.checks if c.status == "FAIL"), None)
        where = f"layer {failed.number} {failed.name}" + (f", check '{bad.name}'" if bad else "")
        out.line(f"  failed at {where}: {bad.detail if bad else failed.note}")
        out.line("  later layers were not run; rerun with -v for the client log")
        first_failure = {
            "layer": failed.number,
            "name": failed.name,
            "check": bad.name if bad else None,
            "detail": bad.detail if bad else failed.note,
        }
    elif not is_live and passed == len(LAYERS):
        out.line("  next: the same against Kraken: krakenkit rollout --live  (reads API_SPOT_KEY / API_SPOT_SECRET;")
        out.line("        layer 5 trades real money only with --confirm-live-trade)")
    out.document(
        {
            "command": "rollout",
            "target": label,
            "ok": ok,
            "seconds": round(total, 3),
            "passed": passed,
            "first_failure": first_failure,
            "layers": [r.as_dict() for r in results],
        }
    )
    return 0 if ok else 1


async def _with_target(args: argparse.Namespace, out: Output) -> int:
    from . import commands
    from .doctor import run_doctor

    if args.command == "order":
        commands.order_params(args)  # bad input is refused before any sandbox starts or anything connects
    with open_target(args, market=True) as target:
        if args.command == "ticker":
            return await commands.cmd_ticker(args, target, out)
        if args.command == "book":
            return await commands.cmd_book(args, target, out)
        if args.command == "balance":
            return await commands.cmd_balance(args, target, out)
        if args.command == "order":
            return await commands.cmd_order(args, target, out)
        if args.command == "doctor":
            ok, checks = await run_doctor(target, out, max_skew=args.max_skew)
            out.document(
                {"command": "doctor", "target": target.label, "ok": ok, "checks": [c.as_dict() for c in checks]}
            )
            return 0 if ok else 1
    raise AssertionError(args.command)  # pragma: no cover


def _option_of(command: str, field: str | None) -> str | None:
    """The command-line option that sets ``field`` (``price`` -> ``--price`` for ``krakenkit order``)."""
    if command != "order" or not field:
        return None
    from .commands import ORDER_OPTIONS

    return ORDER_OPTIONS.get(field)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    out = Output(json_mode=getattr(args, "json", False))
    _setup_logging(args.verbose)
    try:
        if args.command == "sandbox":
            from .commands import cmd_sandbox

            return cmd_sandbox(args, out)
        runner: Any = _rollout if args.command == "rollout" else _with_target
        result: int = asyncio.run(runner(args, out))
        return result
    except KeyboardInterrupt:
        out.warn("interrupted")
        return 130
    except ValidationError as exc:
        option = _option_of(args.command, exc.field)
        out.warn(f"error: {exc}" + (f" [{option}]" if option else ""))
        out.document(
            {
                "command": args.command,
                "ok": False,
                "error": type(exc).__name__,
                "message": str(exc),
                "field": exc.field,
                "option": option,
            }
        )
        return 2
    except KrakenError as exc:
        out.warn(f"error: {type(exc).__name__}: {exc}")
        out.document(
            {
                "command": args.command,
                "ok": False,
                "error": type(exc).__name__,
                "message": str(exc),
                "errors": exc.errors,
            }
        )
        return 3
    except OSError as exc:
        out.warn(f"error: {exc}")
        out.document({"command": args.command, "ok": False, "error": type(exc).__name__, "message": str(exc)})
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
