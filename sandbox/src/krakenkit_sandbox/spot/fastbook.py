"""Fast-mode book streams: a ring of pre-encoded WebSocket frames per (symbol, depth).

The ring is derived deterministically from a book snapshot: random quantity changes on the top
levels plus, now and then, a level replaced by a new price (a ``qty 0`` delete and an add in the
same message, so the depth stays full). Every frame carries the checksum computed with the
sandbox's own :func:`~krakenkit_sandbox.spot.checksum.book_checksum` after applying it. The last frames
restore the snapshot exactly (one message), so the ring can be replayed forever: a subscriber that got the
snapshot and then frames ``0, 1, 2, ...`` (wrapping around) always holds a consistent book.

Frames are server WebSocket frames (FIN + text opcode, unmasked, length header included) whose
JSON text ends with the ``timestamp`` value: each frame is stored up to and including
``"timestamp":"``, so a batch with a fresh timestamp is one ``bytes.join``::

    sep = ts.encode() + TAIL
    data = sep.join(ring.heads[i:j]) + sep

Pure: no I/O, no asyncio.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import msgspec

from .checksum import book_checksum

__all__ = ["TAIL", "TS_PLACEHOLDER", "FastRing", "build_ring", "corrupt_head", "ws_frame"]

D = Decimal
ZERO = D(0)
TS_PLACEHOLDER = "0000-00-00T00:00:00.000000Z"  # same length as spot.ws.ts() output
TAIL = b'"}]}'
_enc = msgspec.json.Encoder(decimal_format="number")
_CHECKSUM_KEY = b'"checksum":'


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked server frame (FIN set) carrying ``payload``."""
    n = len(payload)
    first = bytes((0x80 | opcode,))
    if n < 126:
        return first + bytes((n,)) + payload
    if n < 65536:
        return first + b"\x7e" + n.to_bytes(2, "big") + payload
    return first + b"\x7f" + n.to_bytes(8, "big") + payload


@dataclass
class FastRing:
    """Pre-built update frames of one book subscription (see the module docstring)."""

    symbol: str
    depth: int
    price_precision: int
    qty_precision: int
    bids: list[tuple[Decimal, Decimal]]  # snapshot, best first
    asks: list[tuple[Decimal, Decimal]]
    checksum: int  # of the snapshot
    heads: list[bytes] = field(default_factory=list)
    checksum_spans: list[tuple[int, int]] = field(default_factory=list)  # digits of the checksum in each head

    def __len__(self) -> int:
        return len(self.heads)

    def batch(self, start: int, count: int, timestamp: str) -> tuple[bytes, int]:
        """``count`` frames from ``start`` (wrapping), stamped ``timestamp``; returns (data, next start)."""
        heads = self.heads
        n = len(heads)
        if n == 0 or count <= 0:
            return b"", start
        sep = timestamp.encode() + TAIL
        start %= n
        end = start + count
        if end <= n:
            parts = heads[start:end]
        else:
            parts = heads[start:]
            end -= n
            while end > n:  # count larger than the ring
                parts += heads
                end -= n
            parts += heads[:end]
        return sep.join(parts) + sep, end % n

    def snapshot_message(self, timestamp: str) -> dict[str, Any]:
        return {
            "channel": "book",
            "type": "snapshot",
            "data": [
                {
                    "symbol": self.symbol,
                    "bids": [{"price": p, "qty": x} for p, x in self.bids],
                    "asks": [{"price": p, "qty": x} for p, x in self.asks],
                    "checksum": self.checksum,
                    "timestamp": timestamp,
                }
            ],
        }


def corrupt_head(ring: FastRing, index: int) -> bytes:
    """Frame head ``index`` with its checksum changed (same length, so the frame stays valid)."""
    head = ring.heads[index]
    _start, b = ring.checksum_spans[index]
    digit = head[b - 1] - 0x30
    return head[: b - 1] + bytes((0x30 + (digit + 1) % 10,)) + head[b:]


class _Side:
    """One side of the synthetic book: prices sorted ascending plus a qty map."""

    def __init__(self, levels: Sequence[tuple[Decimal, Decimal]], is_bid: bool) -> None:
        self.is_bid = is_bid
        self.qty: dict[Decimal, Decimal] = dict(levels)
        self.prices: list[Decimal] = sorted(self.qty)

    def best_first(self, n: int) -> list[Decimal]:
        if self.is_bid:
            return self.prices[: -n - 1 : -1] if n < len(self.prices) else self.prices[::-1]
        return self.prices[:n]

    def top(self, n: int) -> list[tuple[Decimal, Decimal]]:
        return [(p, self.qty[p]) for p in self.best_first(n)]

    def set(self, price: Decimal, qty: Decimal) -> None:
        if qty == 0:
            if price in self.qty:
                del self.qty[price]
                del self.prices[bisect.bisect_left(self.prices, price)]
            return
        if price not in self.qty:
            bisect.insort(self.prices, price)
        self.qty[price] = qty


def build_ring(
    symbol: str,
    bids: Sequence[tuple[Decimal, Decimal]],
    asks: Sequence[tuple[Decimal, Decimal]],
    depth: int,
    price_precision: int,
    qty_precision: int,
    tick_size: Decimal,
    *,
    size: int = 4096,
    seed: int = 1,
) -> FastRing:
    """A replayable ring of ``size`` random updates plus the frames restoring the snapshot.

    ``bids``/``asks``: the snapshot (best first, at most ``depth`` levels each), prices and
    quantities already at the pair's precision.
    """
    pq = D(1).scaleb(-price_precision)
    qq = D(1).scaleb(-qty_precision)
    snap_b = [(p.quantize(pq), x.quantize(qq)) for p, x in bids[:depth]]
    snap_a = [(p.quantize(pq), x.quantize(qq)) for p, x in asks[:depth]]
    ring = FastRing(
        symbol,
        depth,
        price_precision,
        qty_precision,
        snap_b,
        snap_a,
        book_checksum(snap_a, snap_b, price_precision, qty_precision),
    )
    if not snap_b and not snap_a:
        return ring
    rng = random.Random(f"krakenkit-fastbook-{seed}-{symbol}-{depth}")
    sides = {"bids": _Side(snap_b, True), "asks": _Side(snap_a, False)}
    all_qty = sorted(x for _p, x in snap_b + snap_a)
    typical = all_qty[len(all_qty) // 2] if all_qty else D(1)
    if typical <= 0:
        typical = D(1)
    names = [n for n in ("bids", "asks") if sides[n].prices]

    def new_qty(old: Decimal | None) -> Decimal:
        for _ in range(8):
            v = (typical * D(rng.randrange(5, 400)) / 100).quantize(qq, ROUND_DOWN)
            if v > 0 and v != old:
                return v
        return (old or ZERO) + qq

    def emit(changes: dict[str, list[tuple[Decimal, Decimal]]]) -> None:
        for name, levels in changes.items():
            for p, x in levels:
                sides[name].set(p, x)
        b, a = sides["bids"], sides["asks"]
        cks = book_checksum(a.top(10), b.top(10), price_precision, qty_precision)
        msg = {
            "channel": "book",
            "type": "update",
            "data": [
                {
                    "symbol": symbol,
                    "bids": [{"price": p, "qty": x} for p, x in changes.get("bids", [])],
                    "asks": [{"price": p, "qty": x} for p, x in changes.get("asks", [])],
                    "checksum": cks,
                    "timestamp": TS_PLACEHOLDER,
                }
            ],
        }
        payload = _enc.encode(msg)
        cut = payload.rindex(TS_PLACEHOLDER.encode())
        assert payload[cut + len(TS_PLACEHOLDER) :] == TAIL
        frame = ws_frame(payload)
        head = frame[: len(frame) - len(payload) + cut]
        at = head.rindex(_CHECKSUM_KEY) + len(_CHECKSUM_KEY)
        ring.heads.append(head)
        ring.checksum_spans.append((at, at + len(str(cks))))

    for i in range(size):
        name = names[i % len(names)]
        side = sides[name]
        window = side.best_first(min(len(side.prices), 20))
        p = window[rng.randrange(len(window))]
        if rng.random() < 0.125:
            # replace level p by a nearby price that is free and does not cross the other side
            other = sides["asks" if name == "bids" else "bids"]
            limit = (other.prices[0] if name == "bids" else other.prices[-1]) if other.prices else None
            for _ in range(6):
                cand = (p + tick_size * rng.choice((-3, -2, -1, 1, 2, 3))).quantize(pq)
                if cand <= 0 or cand in side.qty:
                    continue
                if limit is not None and ((name == "bids" and cand >= limit) or (name == "asks" and cand <= limit)):
                    continue
                emit({name: [(p, ZERO), (cand, new_qty(None))]})
                break
            else:
                emit({name: [(p, new_qty(side.qty[p]))]})
        else:
            emit({name: [(p, new_qty(side.qty[p]))]})
    # restore the snapshot in one message (both sides at once, so it never crosses on the way)
    restore: dict[str, list[tuple[Decimal, Decimal]]] = {}
    for name, snap in (("bids", snap_b), ("asks", snap_a)):
        side = sides[name]
        want = dict(snap)
        changes = [(p, ZERO) for p in list(side.prices) if p not in want]
        changes += [(p, x) for p, x in snap if side.qty.get(p) != x]
        if changes:
            restore[name] = changes
    if restore:
        emit(restore)
    assert sides["bids"].top(depth) == snap_b and sides["asks"].top(depth) == snap_a
    return ring
