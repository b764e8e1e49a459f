"""Fast mode: the synthetic book stream (pre-built frames) against an independent book and checksum,
client commands while streaming, and the sandbox run in its own process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import zlib
from decimal import Decimal
from typing import Any

import pytest
import websockets

from krakenkit_sandbox import Sandbox

D = Decimal


class IndependentBook:
    def __init__(self, snap: dict[str, Any], depth: int, pp: int, qp: int) -> None:
        self.depth, self.pp, self.qp = depth, pp, qp
        self.bids = {D(str(x["price"])): D(str(x["qty"])) for x in snap["bids"]}
        self.asks = {D(str(x["price"])): D(str(x["qty"])) for x in snap["asks"]}

    def apply(self, upd: dict[str, Any]) -> None:
        for book, levels in ((self.bids, upd["bids"]), (self.asks, upd["asks"])):
            for lv in levels:
                p, q = D(str(lv["price"])), D(str(lv["qty"]))
                if q == 0:
                    book.pop(p, None)
                else:
                    book[p] = q
        for p in sorted(self.bids, reverse=True)[self.depth :]:
            del self.bids[p]
        for p in sorted(self.asks)[self.depth :]:
            del self.asks[p]

    def checksum(self) -> int:
        def tok(v: D, p: int) -> str:
            return str(v.quantize(D(1).scaleb(-p))).replace(".", "").lstrip("0")

        a = sorted(self.asks.items())[:10]
        b = sorted(self.bids.items(), reverse=True)[:10]
        return zlib.crc32("".join(tok(p, self.pp) + tok(q, self.qp) for p, q in a + b).encode())


# websockets stops reading while it closes with a full queue, so against a stream that never pauses
# its close handshake only ends at close_timeout: keep that short.


async def next_msg(ws: Any, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            m: dict[str, Any] = json.loads(await ws.recv(), parse_float=D)
            if pred(m):
                return m

    return await asyncio.wait_for(loop(), timeout)


async def wait_for_condition(cond: Any, timeout: float) -> None:
    async def loop() -> None:
        while not cond():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


async def drain_until_closed(ws: Any) -> None:
    while True:
        await ws.recv()


def book_of(kind: str) -> Any:
    return lambda m: m.get("channel") == "book" and m.get("type") == kind


async def subscribe(ws: Any, symbol: str, depth: int) -> dict[str, Any]:
    await ws.send(
        json.dumps(
            {"method": "subscribe", "params": {"channel": "book", "symbol": [symbol], "depth": depth}, "req_id": 1}
        )
    )
    ack = await next_msg(ws, lambda m: m.get("method") == "subscribe")
    assert ack["success"] is True and ack["result"]["depth"] == depth
    snap: dict[str, Any] = (await next_msg(ws, book_of("snapshot")))["data"][0]
    return snap


async def test_fast_stream_is_consistent_across_the_ring() -> None:
    async with Sandbox(seed=5, market=True, fast_mode=True) as sb:
        ring_len = 0
        async with websockets.connect(sb.ws_urls["spotPublicV2"], close_timeout=0.2) as ws:
            snap = await subscribe(ws, "DOGE/USD", 25)
            ring_len = len(sb.ws.rings[("XDGUSD", 25)])
            book = IndependentBook(snap, 25, 7, 8)
            assert book.checksum() == snap["checksum"]
            deletes = 0
            for _ in range(ring_len + 200):  # past the end of the ring: replay stays consistent
                m = json.loads(await asyncio.wait_for(ws.recv(), 5), parse_float=D)
                assert m["channel"] == "book" and m["type"] == "update", m  # no live updates mixed in
                upd = m["data"][0]
                deletes += sum(1 for side in ("bids", "asks") for lv in upd[side] if lv["qty"] == 0)
                book.apply(upd)
                assert book.checksum() == upd["checksum"]
                assert upd["symbol"] == "DOGE/USD" and upd["timestamp"].endswith("Z")
            assert deletes > 0
        # a second connection gets the same (frozen) snapshot and the ring from its start
        async with websockets.connect(sb.ws_urls["spotPublicV2"], close_timeout=0.2) as ws2:
            snap2 = await subscribe(ws2, "DOGE/USD", 25)
            assert snap2["checksum"] == snap["checksum"] and snap2["bids"] == snap["bids"]


async def test_commands_work_while_streaming_and_unsubscribe_stops_it() -> None:
    async with Sandbox(seed=1, market=False, fast_mode=True) as sb:
        async with websockets.connect(sb.ws_urls["spotPublicV2"], close_timeout=0.2) as ws:
            await subscribe(ws, "BTC/USD", 10)
            await ws.send(json.dumps({"method": "ping", "req_id": 42}))
            pong = await next_msg(ws, lambda m: m.get("method") == "pong")
            assert pong["req_id"] == 42
            # a second stream on the same connection, whose snapshot carries a corrupted checksum
            sb.faults.corrupt_next_checksum("ETH/USD")
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "book", "symbol": ["ETH/USD"]}}))
            snap = await next_msg(ws, lambda m: book_of("snapshot")(m) and m["data"][0]["symbol"] == "ETH/USD")
            eth = IndependentBook(snap["data"][0], 10, 2, 8)
            assert eth.checksum() != snap["data"][0]["checksum"]
            # again without a snapshot: the stream restarts from the same frozen snapshot, and the
            # first update carries the corrupted checksum
            await ws.send(json.dumps({"method": "unsubscribe", "params": {"channel": "book", "symbol": ["ETH/USD"]}}))
            await next_msg(ws, lambda m: m.get("method") == "unsubscribe")
            sb.faults.corrupt_next_checksum("ETH/USD")
            await ws.send(
                json.dumps(
                    {"method": "subscribe", "params": {"channel": "book", "symbol": ["ETH/USD"], "snapshot": False}}
                )
            )
            assert (await next_msg(ws, lambda m: m.get("method") == "subscribe"))["result"]["snapshot"] is False
            results: list[bool] = []
            while len(results) < 300:
                m = await next_msg(ws, book_of("update"))
                upd = m["data"][0]
                if upd["symbol"] == "ETH/USD":
                    eth.apply(upd)
                    results.append(eth.checksum() == upd["checksum"])
            assert results[0] is False and all(results[1:])
            await ws.send(
                json.dumps(
                    {
                        "method": "unsubscribe",
                        "req_id": 7,
                        "params": {"channel": "book", "symbol": ["BTC/USD", "ETH/USD"]},
                    }
                )
            )
            for _ in range(2):
                a = await next_msg(ws, lambda m: m.get("method") == "unsubscribe")
                assert a["success"] is True
            # nothing of the book after the acks: the next message is the answer to our ping
            await ws.send(json.dumps({"method": "ping", "req_id": 43}))
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert m["method"] == "pong" and m["req_id"] == 43


async def test_fast_stream_survives_a_slow_reader_and_drop_fault() -> None:
    async with Sandbox(seed=1, market=False, fast_mode=True) as sb:
        async with websockets.connect(sb.ws_urls["spotPublicV2"], max_queue=16, close_timeout=0.2) as ws:
            snap = await subscribe(ws, "BTC/USD", 10)
            # not reading: the server must pause on flow control, not buffer without end
            conn = next(iter(sb.ws.conns))
            tr = conn.request.transport
            assert tr is not None
            await wait_for_condition(lambda: conn.request.protocol.writing_paused, 5)
            assert tr.get_write_buffer_size() <= 1024 * 1024
            for _ in range(3):  # stays paused while we do not read
                await asyncio.sleep(0)
            assert conn.request.protocol.writing_paused and tr.get_write_buffer_size() <= 1024 * 1024
            book = IndependentBook(snap, 10, 1, 8)
            for _ in range(500):
                upd = (await next_msg(ws, book_of("update")))["data"][0]
                book.apply(upd)
                assert book.checksum() == upd["checksum"]
            sb.faults.drop_ws_connections("spotPublicV2")
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(drain_until_closed(ws), 5)
        assert not sb.ws.conns or all(c.closed for c in sb.ws.conns)


def test_sandbox_runs_in_its_own_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "krakenkit_sandbox", "--port", "0", "--fast", "--no-market", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["rest"].startswith("http://127.0.0.1:") and info["pid"] == proc.pid
        url = info["ws"]["spotPublicV2"]

        async def run() -> None:
            async with websockets.connect(url, close_timeout=0.2) as ws:
                snap = await subscribe(ws, "BTC/USD", 10)
                book = IndependentBook(snap, 10, 1, 8)
                for _ in range(1000):
                    upd = (await next_msg(ws, book_of("update")))["data"][0]
                    book.apply(upd)
                    assert book.checksum() == upd["checksum"]

        asyncio.run(run())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # --exit-on-stdin-eof: stops by itself
        try:
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
