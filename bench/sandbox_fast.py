"""Sandbox fast mode throughput: book update messages per second on ONE WebSocket connection.

    .venv/bin/python bench/sandbox_fast.py [--count 200000] [--depth 10] [--symbol BTC/USD]

Two figures:

- separate process: the sandbox runs as ``python -m krakenkit.sandbox --port 0 --fast`` (its own
  process and GIL); a plain ``websockets`` client in this process subscribes to ``book`` and
  receives ``--count`` update messages after a warm-up;
- in-process: ``async with Sandbox(fast_mode=True)`` in the same event loop as the same client
  (server and client share one core).

The client only receives and counts (the message must be a book update); ``--verify`` also
parses every message and checks its checksum against an independently maintained book, which
measures the verifier rather than the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import zlib
from decimal import Decimal
from typing import Any

import websockets

from krakenkit.sandbox import Sandbox
from krakenkit_sandbox.spot.market import find_pair

WARMUP = 5_000


def _tok(v: Decimal, places: int) -> str:
    return format(v, f".{places}f").replace(".", "").lstrip("0")


class Verifier:
    """Independent book + checksum (README rule) for ``--verify``."""

    def __init__(self, snap: dict[str, Any], depth: int, pp: int = 1, qp: int = 8) -> None:
        self.depth, self.pp, self.qp = depth, pp, qp
        self.bids = {Decimal(str(x["price"])): Decimal(str(x["qty"])) for x in snap["bids"]}
        self.asks = {Decimal(str(x["price"])): Decimal(str(x["qty"])) for x in snap["asks"]}
        self.check(snap["checksum"])

    def apply(self, upd: dict[str, Any]) -> None:
        for side, levels in ((self.bids, upd["bids"]), (self.asks, upd["asks"])):
            for lv in levels:
                p, q = Decimal(str(lv["price"])), Decimal(str(lv["qty"]))
                if q == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        self.bids = dict(sorted(self.bids.items(), reverse=True)[: self.depth])
        self.asks = dict(sorted(self.asks.items())[: self.depth])
        self.check(upd["checksum"])

    def check(self, expected: int) -> None:
        a = sorted(self.asks.items())[:10]
        b = sorted(self.bids.items(), reverse=True)[:10]
        text = "".join(_tok(p, self.pp) + _tok(q, self.qp) for p, q in a + b)
        got = zlib.crc32(text.encode())
        if got != expected:
            raise AssertionError(f"checksum mismatch: {got} != {expected}")


async def consume(url: str, symbol: str, depth: int, count: int, verify: bool) -> float:
    """Subscribe, skip WARMUP updates, return msgs/s over the next ``count`` updates."""
    async with websockets.connect(url, max_queue=None, compression=None, max_size=None) as ws:
        await ws.send(
            json.dumps({"method": "subscribe", "params": {"channel": "book", "symbol": [symbol], "depth": depth}})
        )
        ver: Verifier | None = None
        while True:
            msg = json.loads(await ws.recv(), parse_float=Decimal)
            if msg.get("channel") == "book" and msg.get("type") == "snapshot":
                if verify:
                    pair = find_pair(symbol)
                    assert pair is not None
                    ver = Verifier(msg["data"][0], depth, pair.pair_decimals, pair.lot_decimals)
                break
        recv = ws.recv
        t0 = 0.0
        for i in range(WARMUP + count):
            if i == WARMUP:
                t0 = time.perf_counter()
            text = await recv()
            if ver is not None:
                m = json.loads(text, parse_float=Decimal)
                assert m["channel"] == "book" and m["type"] == "update", m
                ver.apply(m["data"][0])
            elif '"type":"update"' not in text:
                raise AssertionError(f"unexpected message {text[:200]!r}")
        return count / (time.perf_counter() - t0)


async def separate_process(args: argparse.Namespace) -> float:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "krakenkit.sandbox",
            "--port",
            "0",
            "--fast",
            "--no-market",
            "--no-rate-limits",
            "--exit-on-stdin-eof",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(await asyncio.to_thread(proc.stdout.readline))
        return await consume(info["ws"]["spotPublicV2"], args.symbol, args.depth, args.count, args.verify)
    finally:
        proc.terminate()
        proc.wait(10)


async def in_process(args: argparse.Namespace) -> float:
    async with Sandbox(seed=1, market=False, rate_limits=False, fast_mode=True) as sb:
        return await consume(sb.ws_urls["spotPublicV2"], args.symbol, args.depth, args.count, args.verify)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--symbol", default="BTC/USD")
    ap.add_argument("--verify", action="store_true")
    args = ap.parse_args()
    sep = asyncio.run(separate_process(args))
    print(f"fast mode, sandbox in its own process: {args.count:,} book updates, {sep:,.0f} msgs/s on one connection")
    inp = asyncio.run(in_process(args))
    print(f"fast mode, sandbox in this process:    {args.count:,} book updates, {inp:,.0f} msgs/s on one connection")


if __name__ == "__main__":
    main()
