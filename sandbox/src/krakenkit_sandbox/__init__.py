"""krakenkit_sandbox: a local Kraken-compatible exchange (Spot and Derivatives, REST and WebSocket) for
tests and development, usable by any client.

    from krakenkit_sandbox import Sandbox

    with Sandbox(seed=1) as sb:
        key, secret = sb.create_key()
        ...  # point any client at sb.rest_url / sb.ws_urls / sb.environment

Fast mode (benchmarks)
----------------------
``Sandbox(fast_mode=True)``: every ``book`` subscription gets a frozen snapshot and then a
synthetic stream of valid v2 book updates (correct checksums, consistent with that snapshot,
replayed from a pre-built ring of WebSocket frames) as fast as the socket takes them, with TCP
flow control. Client commands (ping, unsubscribe, other subscriptions) keep working while it
streams. The live engine's own book updates are not sent to book subscribers in fast mode.

To measure a client without the server sharing its process (and GIL), run the sandbox in its
own process::

    krakenkit-sandbox --port 0 --fast --no-market --no-rate-limits --exit-on-stdin-eof

(or ``python -m krakenkit_sandbox ...``). It prints ONE line of JSON once it listens, then serves
until SIGTERM/SIGINT (or until its stdin closes, with ``--exit-on-stdin-eof``)::

    {"rest": "http://127.0.0.1:PORT", "ws": {"spotPublicV2": "ws://127.0.0.1:PORT/v2", ...}, "pid": N,
     "spot_key": {"api_key": ..., "api_secret": ...}, "futures_key": {"api_key": ..., "api_secret": ...}}

From Python::

    import json, subprocess, sys
    proc = subprocess.Popen(
        [sys.executable, "-m", "krakenkit_sandbox", "--port", "0", "--fast", "--no-market",
         "--no-rate-limits", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    ws_url = info["ws"]["spotPublicV2"]          # subscribe: {"method": "subscribe", "params":
                                                 #   {"channel": "book", "symbol": ["BTC/USD"], "depth": 10}}
    ...
    proc.stdin.close(); proc.wait()              # or proc.terminate()

``serve(port, seed, fast_mode=True, on_ready=...)`` does the same in the current process.
The repository's ``bench/sandbox_fast.py`` measures the stream (separate process and in-process).

Note for clients measuring it: a ``websockets`` client with a bounded ``max_queue`` that stops
reading (for example while closing) only finishes its close handshake at its ``close_timeout``,
because the stream fills the socket ahead of the server's close frame.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Sandbox, describe, run_forever, serve
    from .context import SandboxContext
    from .faults import FaultInjector

__version__ = "0.1.0"

# Loaded on first use, so that importing a submodule (the pytest plugin, the CLI) stays cheap.
_LAZY: dict[str, str] = {
    "Sandbox": "krakenkit_sandbox.app",
    "describe": "krakenkit_sandbox.app",
    "run_forever": "krakenkit_sandbox.app",
    "serve": "krakenkit_sandbox.app",
    "SandboxContext": "krakenkit_sandbox.context",
    "FaultInjector": "krakenkit_sandbox.faults",
}

__all__ = ["FaultInjector", "Sandbox", "SandboxContext", "__version__", "describe", "run_forever", "serve"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'krakenkit_sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
