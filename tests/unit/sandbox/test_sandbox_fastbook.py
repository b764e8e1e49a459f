"""Fast-mode rings: valid frames, checksums by an independent book, replayable forever."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

from krakenkit_sandbox.spot.fastbook import TAIL, build_ring, corrupt_head, ws_frame

D = Decimal
TS = "2026-01-02T03:04:05.678901Z"


def _crc(asks: dict[D, D], bids: dict[D, D], pp: int, qp: int) -> int:
    def tok(v: D, p: int) -> str:
        return str(v.quantize(D(1).scaleb(-p))).replace(".", "").lstrip("0")

    a = sorted(asks.items())[:10]
    b = sorted(bids.items(), reverse=True)[:10]
    return zlib.crc32("".join(tok(p, pp) + tok(q, qp) for p, q in a + b).encode())


def _frames(data: bytes) -> list[bytes]:
    """Split server frames (FIN text, unmasked) and return their payloads."""
    out = []
    i = 0
    while i < len(data):
        assert data[i] == 0x81
        n = data[i + 1]
        assert n & 0x80 == 0  # unmasked
        i += 2
        if n == 126:
            n = int.from_bytes(data[i : i + 2], "big")
            i += 2
        elif n == 127:
            n = int.from_bytes(data[i : i + 8], "big")
            i += 8
        out.append(data[i : i + n])
        i += n
    assert i == len(data)
    return out


def _book(pp: int) -> tuple[list[tuple[D, D]], list[tuple[D, D]]]:
    tick = D(1).scaleb(-pp)
    bids = [(D(100) - tick * (i * 2 + 1), D("0.5") + D(i) / 10) for i in range(12)]
    asks = [(D(100) + tick * (i * 2 + 1), D("0.7") + D(i) / 10) for i in range(12)]
    return bids, asks


def test_ring_replays_consistently_with_snapshot() -> None:
    bids, asks = _book(2)
    ring = build_ring("ETH/USD", bids, asks, 10, 2, 8, D("0.01"), size=600, seed=3)
    assert len(ring) >= 600 and len(ring.bids) == len(ring.asks) == 10
    book_b, book_a = dict(ring.bids), dict(ring.asks)
    assert _crc(book_a, book_b, 2, 8) == ring.checksum
    data, nxt = ring.batch(0, len(ring) * 2 + 5, TS)  # twice around the ring and a bit
    assert nxt == 5
    payloads = _frames(data)
    assert len(payloads) == len(ring) * 2 + 5
    deletes = 0
    for payload in payloads:
        msg = json.loads(payload, parse_float=D)
        assert msg["channel"] == "book" and msg["type"] == "update"
        upd = msg["data"][0]
        assert list(upd) == ["symbol", "bids", "asks", "checksum", "timestamp"] and upd["timestamp"] == TS
        for side, levels in ((book_b, upd["bids"]), (book_a, upd["asks"])):
            for lv in levels:
                p, q = D(str(lv["price"])), D(str(lv["qty"]))
                if q == 0:
                    deletes += 1
                    assert p in side
                    side.pop(p)
                else:
                    side[p] = q
        assert len(book_b) <= 10 and len(book_a) <= 10
        assert max(book_b) < min(book_a)  # never crossed
        assert _crc(book_a, book_b, 2, 8) == upd["checksum"]
    assert deletes > 0  # levels get replaced, not only resized


def test_corrupt_head_and_frame_lengths() -> None:
    bids, asks = _book(1)
    ring = build_ring("BTC/USD", bids, asks, 10, 1, 8, D("0.1"), size=50)
    good = json.loads(_frames(ring.heads[7] + TS.encode() + TAIL)[0])
    bad = json.loads(_frames(corrupt_head(ring, 7) + TS.encode() + TAIL)[0])
    assert bad["data"][0]["checksum"] != good["data"][0]["checksum"]
    bad["data"][0]["checksum"] = good["data"][0]["checksum"]
    assert bad == good
    for n in (0, 125, 126, 65535, 65536):
        assert _frames(ws_frame(b"x" * n)) == [b"x" * n]


def test_empty_book_gives_empty_ring() -> None:
    ring = build_ring("BTC/USD", [], [], 10, 1, 8, D("0.1"))
    assert len(ring) == 0 and ring.batch(0, 10, TS) == (b"", 0)
