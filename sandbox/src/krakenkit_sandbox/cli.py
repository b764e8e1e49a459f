"""``krakenkit-sandbox`` (also ``python -m krakenkit_sandbox``): run a sandbox in its own process.

    krakenkit-sandbox --port 8787
    krakenkit-sandbox --port 0 --fast --no-market --exit-on-stdin-eof

Once listening it writes ONE line of JSON to stdout and flushes it: its URLs, its process id and a
ready-made Spot key and Derivatives key::

    {"rest": "http://127.0.0.1:PORT", "ws": {"spotPublicV2": "ws://127.0.0.1:PORT/v2", ...}, "pid": N,
     "spot_key": {"api_key": "...", "api_secret": "..."},
     "futures_key": {"api_key": "...", "api_secret": "..."}}

then serves until SIGTERM / SIGINT (or, with ``--exit-on-stdin-eof``, until its stdin closes, so
it cannot outlive a parent that dies). Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from .app import Sandbox, serve

__all__ = ["build_parser", "main", "ready_document"]


def build_parser(prog: str = "krakenkit-sandbox") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="Run a local Kraken-compatible exchange (Spot + Derivatives).")
    ap.add_argument("--port", type=int, default=8787, help="TCP port (0 = a free one; default 8787)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the simulated market and generated ids (default 1)")
    ap.add_argument("--fast", action="store_true", help="fast mode: book subscriptions stream as fast as possible")
    ap.add_argument("--no-market", action="store_true", help="no simulated participants")
    ap.add_argument("--no-rate-limits", action="store_true", help="do not enforce Kraken's rate limits")
    ap.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when stdin is closed")
    ap.add_argument("--log-level", default="WARNING", help="log level of the messages on stderr (default WARNING)")
    return ap


def ready_document(sb: Sandbox) -> dict[str, Any]:
    """What the command prints once the sandbox listens: URLs, process id and fresh keys."""
    key, secret = sb.create_key()
    doc: dict[str, Any] = {
        "rest": sb.rest_url,
        "ws": sb.ws_urls,
        "pid": os.getpid(),
        "spot_key": {"api_key": key, "api_secret": secret},
    }
    if sb.futures is not None:
        fkey, fsecret = sb.create_futures_key()
        doc["futures_key"] = {"api_key": fkey, "api_secret": fsecret}
    return doc


def main(argv: list[str] | None = None, prog: str = "krakenkit-sandbox") -> int:
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)

    def ready(sb: Sandbox) -> None:
        # the one line of output of this command (a CLI entry point, not library code)
        sys.stdout.write(json.dumps(ready_document(sb)) + "\n")
        sys.stdout.flush()
        if args.exit_on_stdin_eof:
            threading.Thread(target=_exit_on_eof, daemon=True).start()

    serve(
        args.port,
        args.seed,
        host=args.host,
        fast_mode=args.fast,
        market=not args.no_market,
        rate_limits=not args.no_rate_limits,
        on_ready=ready,
    )
    return 0


def _exit_on_eof() -> None:
    sys.stdin.read()
    os.kill(os.getpid(), signal.SIGTERM)
