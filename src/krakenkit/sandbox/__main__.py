"""``python -m krakenkit.sandbox``: run a sandbox in its own process.

    python -m krakenkit.sandbox --port 0 --fast --no-market

Once listening it writes ONE line of JSON to stdout and flushes it::

    {"rest": "http://127.0.0.1:PORT", "ws": {"spotPublicV2": "ws://127.0.0.1:PORT/v2", ...}, "pid": N}

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

from .app import Sandbox, serve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m krakenkit.sandbox", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8787, help="TCP port (0 = a free one; default 8787)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fast", action="store_true", help="fast mode: book subscriptions stream as fast as possible")
    ap.add_argument("--no-market", action="store_true", help="no simulated participants")
    ap.add_argument("--no-rate-limits", action="store_true")
    ap.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when stdin is closed")
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)

    def ready(sb: Sandbox) -> None:
        # the one line of output of this command (a CLI entry point, not library code)
        sys.stdout.write(json.dumps({"rest": sb.rest_url, "ws": sb.ws_urls, "pid": os.getpid()}) + "\n")
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


if __name__ == "__main__":
    raise SystemExit(main())
