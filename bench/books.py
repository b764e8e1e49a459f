"""Benchmark: raw WS v2 book frames -> verified local book, krakenkit against peers.

Run: ``.venv/bin/python bench/books.py [--updates 100000] [--depths 10,1000] [--seed 7]``

The stream is deterministic (seeded): a "true" market book (more levels than the subscription)
moves by inserts, quantity changes and deletes (1-2 per message; half of them in the top 10
levels, the rest anywhere in the subscribed depth). Each update frame carries what Kraken would
send for a subscription of ``depth`` levels: the changed levels of the visible top ``depth``, a
``qty 0`` for a visible level that was deleted, the level that comes into range after a delete,
nothing for a level pushed out of range. The checksum of every frame is computed once by a plain
reference book below (dict + ``sorted`` + ``Decimal`` formatting), independent of krakenkit.
Numbers are JSON numbers with trailing zeros dropped, as Kraken sends them (``0.566``).

Every timed frame starts from its raw ``bytes``: JSON decode, apply, truncate, verify. The snapshot
that starts each replay is applied outside the timer, for every implementation alike; the figure
is the best of ``--repeat`` replays (this machine's speed drifts; the best run is the least disturbed).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

PRICE_PRECISION = 1
QTY_PRECISION = 8
SYMBOL = "BTC/USD"


# --------------------------------------------------------------------------- reference + stream


def _text(scaled: int, precision: int) -> str:
    """Kraken-style JSON number text of ``scaled / 10**precision``: trailing zeros dropped."""
    whole, frac = divmod(scaled, 10**precision)
    frac_text = str(frac).rjust(precision, "0").rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def _ref_fragment(value: Decimal, precision: int) -> str:
    return format(value, f".{precision}f").replace(".", "").lstrip("0")


def ref_checksum(asks: dict[Decimal, Decimal], bids: dict[Decimal, Decimal]) -> int:
    """Plain reference: Decimal values, sorted() each time, format() at the precision."""
    text = ""
    for price in sorted(asks)[:10]:
        text += _ref_fragment(price, PRICE_PRECISION) + _ref_fragment(asks[price], QTY_PRECISION)
    for price in sorted(bids, reverse=True)[:10]:
        text += _ref_fragment(price, PRICE_PRECISION) + _ref_fragment(bids[price], QTY_PRECISION)
    return zlib.crc32(text.encode())


def _top10(view: list[int], book: dict[int, int]) -> dict[Decimal, Decimal]:
    return {Decimal(p).scaleb(-PRICE_PRECISION): Decimal(book[p]).scaleb(-QTY_PRECISION) for p in view[:10]}


def _frame(kind: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]], checksum: int, ts: str) -> bytes:
    def side(levels: list[tuple[int, int]]) -> str:
        return ",".join(f'{{"price":{_text(p, PRICE_PRECISION)},"qty":{_text(q, QTY_PRECISION)}}}' for p, q in levels)

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{SYMBOL}","bids":[{side(bids)}],'
        f'"asks":[{side(asks)}],"checksum":{checksum},"timestamp":"{ts}"}}]}}'
    ).encode()


def make_stream(depth: int, updates: int, seed: int) -> list[bytes]:
    """Snapshot + ``updates`` update frames for a subscription of ``depth`` levels.

    Prices are kept in ticks and quantities in lots (ints) while generating; the checksums come
    from :func:`ref_checksum` on ``Decimal`` values. Frames with no visible change are not sent.
    """
    rng = random.Random(seed)
    extra = max(20, depth // 10)
    mid = 450_000  # ticks of 0.1

    def rand_qty() -> int:
        return rng.randint(1, 500_000_000) * rng.choice((1, 1, 1, 10, 100))

    true_bids: dict[int, int] = {}
    true_asks: dict[int, int] = {}
    price = mid
    for _ in range(depth + extra):
        price -= rng.randint(1, 3)
        true_bids[price] = rand_qty()
    price = mid
    for _ in range(depth + extra):
        price += rng.randint(1, 3)
        true_asks[price] = rand_qty()

    def view(book: dict[int, int], bid: bool) -> list[int]:
        return sorted(book, reverse=bid)[:depth]

    vb, va = view(true_bids, True), view(true_asks, False)
    frames = [
        _frame(
            "snapshot",
            [(p, true_bids[p]) for p in vb],
            [(p, true_asks[p]) for p in va],
            ref_checksum(_top10(va, true_asks), _top10(vb, true_bids)),
            "2024-01-01T00:00:00.000000Z",
        )
    ]
    n = 0
    while len(frames) <= updates:
        n += 1
        changed: dict[bool, set[int]] = {True: set(), False: set()}
        for _ in range(1 if rng.random() < 0.6 else 2):
            bid = rng.random() < 0.5
            book = true_bids if bid else true_asks
            levels = vb if bid else va
            idx = rng.randrange(min(10, len(levels))) if rng.random() < 0.5 else rng.randrange(len(levels))
            action = rng.random()
            if action < 0.6:
                book[levels[idx]] = rand_qty()
                changed[bid].add(levels[idx])
            elif action < 0.8:
                book.pop(levels[idx], None)
                changed[bid].add(levels[idx])
            else:
                # a new price strictly between two visible levels (or just beyond the worst)
                here = levels[idx]
                there = levels[idx + 1] if idx + 1 < len(levels) else (here - 4 if bid else here + 4)
                gap = abs(here - there)
                if gap < 2:
                    book[here] = rand_qty()
                    changed[bid].add(here)
                else:
                    step = rng.randint(1, gap - 1)
                    newp = here - step if bid else here + step
                    book[newp] = rand_qty()
                    changed[bid].add(newp)
            # keep the true book deeper than the subscription
            while len(book) < depth + extra:
                worst = min(book) if bid else max(book)
                book[worst - rng.randint(1, 3) if bid else worst + rng.randint(1, 3)] = rand_qty()
        nb, na = view(true_bids, True), view(true_asks, False)
        sides = []
        for old_view, new_view, bid in ((vb, nb, True), (va, na, False)):
            book = true_bids if bid else true_asks
            ch = changed[bid]
            new_set = set(new_view)
            entering = new_set.difference(old_view)
            # deletes first (of visible levels that are gone, not pushed out), then the changed and
            # entering levels: the order Kraken uses, and one that per-level truncating peers need
            msg = [(p, 0) for p in sorted(ch) if p in old_view and p not in book]
            msg += [(p, book[p]) for p in sorted(ch | entering, reverse=bid) if p in new_set]
            sides.append(msg)
        vb, va = nb, na
        if not sides[0] and not sides[1]:
            continue
        hh, mm, ss, ms = (n // 3_600_000) % 24, (n // 60_000) % 60, (n // 1000) % 60, n % 1000
        ts = f"2024-01-01T{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}000Z"
        frames.append(
            _frame("update", sides[0], sides[1], ref_checksum(_top10(va, true_asks), _top10(vb, true_bids)), ts)
        )
    return frames


# --------------------------------------------------------------------------- runners


Step = Callable[[bytes], Any]
Runner = Callable[[bytes, int], tuple[Step, Any]]
"""``runner(snapshot_frame, depth) -> (apply_one_frame, book)``: the book is built from the snapshot
(not timed); ``apply_one_frame`` is what a feed handler calls for each later frame (timed)."""


def run_krakenkit(snapshot: bytes, depth: int) -> tuple[Step, Any]:
    from krakenkit.books import SpotBook

    book = SpotBook(SYMBOL, depth, PRICE_PRECISION, QTY_PRECISION)
    book.apply(snapshot)
    return book.apply, book


def run_reference(snapshot: bytes, depth: int) -> tuple[Step, Any]:
    """The plain reference (json + Decimal + sorted each time); slow on purpose, for scale."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}

    def step(frame: bytes) -> None:
        msg = json.loads(frame, parse_float=Decimal)
        entry = msg["data"][0]
        if msg["type"] == "snapshot":
            bids.clear()
            asks.clear()
        for side, levels in ((bids, entry["bids"]), (asks, entry["asks"])):
            for lvl in levels:
                p, q = Decimal(lvl["price"]), Decimal(lvl["qty"])
                if q == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
        for p in sorted(bids, reverse=True)[depth:]:
            del bids[p]
        for p in sorted(asks)[depth:]:
            del asks[p]
        if ref_checksum(asks, bids) != entry["checksum"]:
            raise RuntimeError("reference checksum mismatch")

    step(snapshot)
    return step, (bids, asks)


class _Stop(Exception):
    pass


def _kraken_sdk_runner() -> tuple[Runner | None, str]:
    """python-kraken-sdk's SpotOrderBookClient.on_message, driven offline (no socket, no REST)."""
    if importlib.util.find_spec("kraken") is None:
        return None, "python-kraken-sdk not installed (.venv/bin/pip install python-kraken-sdk)"
    try:
        from importlib.metadata import version

        from kraken.spot.orderbook import SpotOrderBookClient  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except Exception as exc:  # pragma: no cover - depends on the peer's version
        return None, f"python-kraken-sdk import failed: {exc!r}"

    def run(snapshot: bytes, depth: int) -> tuple[Step, Any]:
        client = SpotOrderBookClient.__new__(SpotOrderBookClient)
        # the state its constructor and first message would build (it asks REST for the decimals)
        client._SpotOrderBookClient__book = {  # type: ignore[attr-defined]
            SYMBOL: {
                "bid": {},
                "ask": {},
                "valid": True,
                "price_decimals": PRICE_PRECISION,
                "qty_decimals": QTY_PRECISION,
            }
        }
        client._SpotOrderBookClient__depth = depth  # type: ignore[attr-defined]
        client._SpotOrderBookClient__callback = lambda pair, message: None  # type: ignore[attr-defined]

        async def invalid(pairs: list[str]) -> None:
            raise _Stop

        client.remove_book = invalid  # type: ignore[method-assign]
        on_message = client.on_message
        loads = json.loads  # what its websocket connector does with each frame

        def step(frame: bytes) -> None:
            coro = on_message(loads(frame))
            try:
                coro.send(None)
            except StopIteration:
                pass
            except _Stop:
                raise RuntimeError("python-kraken-sdk reported a checksum mismatch") from None

        step(snapshot)
        return step, client

    return run, f"python-kraken-sdk {version('python-kraken-sdk')} SpotOrderBookClient (checksum on)"


class _FakeClient:
    def __init__(self) -> None:
        self.subscriptions: dict[str, Any] = {}

    def resolve(self, result: Any, message_hash: Any) -> None:
        pass

    def reject(self, error: Any, message_hash: Any) -> None:
        raise RuntimeError(f"ccxt rejected: {error}")


def _ccxt_runner() -> tuple[Runner | None, str]:
    """ccxt.pro kraken handle_order_book (v2 book channel, its OrderBook classes), driven offline."""
    if importlib.util.find_spec("ccxt") is None:
        return None, "ccxt not installed (.venv/bin/pip install ccxt)"
    try:
        import ccxt.pro  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except Exception as exc:  # pragma: no cover - depends on the peer's version
        return None, f"ccxt.pro import failed: {exc!r}"

    def run(snapshot: bytes, depth: int) -> tuple[Step, Any]:
        exchange = ccxt.pro.kraken()
        client = _FakeClient()
        client.subscriptions[exchange.get_message_hash("orderbook", None, SYMBOL)] = {"limit": depth}
        handle = exchange.handle_order_book
        loads = json.loads  # what its websocket client does with each frame

        def step(frame: bytes) -> None:
            handle(client, loads(frame))

        step(snapshot)
        return step, exchange.orderbooks[SYMBOL]

    return run, (
        f"ccxt {ccxt.__version__} pro.kraken handle_order_book (checksum off: its default, "
        "'not reliable'; prices/qtys as float)"
    )


def measure(runner: Runner, frames: list[bytes], depth: int, repeat: int) -> float:
    """Best µs per update frame over ``repeat`` replays. Each replay builds a fresh book from the
    snapshot outside the timer, then times every update frame from raw bytes to a verified book."""
    best = float("inf")
    updates = frames[1:]
    for _ in range(repeat):
        step, book = runner(frames[0], depth)
        gc.collect()
        start = time.perf_counter()
        for frame in updates:
            step(frame)
        best = min(best, time.perf_counter() - start)
        del step, book
    return best / len(updates) * 1e6


def memory(runner: Runner, frames: list[bytes], depth: int) -> int:
    """Bytes held (tracemalloc) by one book after the snapshot and up to 10k updates.

    A book's size is bounded by its depth, so the first 10k updates show its steady size without
    replaying the slow peers 100k times under tracemalloc. Includes each book's own caches.
    """
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step, book = runner(frames[0], depth)
    for frame in frames[1:10_001]:
        step(frame)
    del step
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del book
    return used


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--updates", type=int, default=100_000)
    ap.add_argument("--depths", default="10,1000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reference", action="store_true", help="also time the plain reference book")
    args = ap.parse_args(argv)

    peers: list[tuple[str, Runner]] = []
    notes: list[str] = []
    for factory in (_kraken_sdk_runner, _ccxt_runner):
        runner, note = factory()
        notes.append(note)
        if runner is not None:
            peers.append((note.split()[0], runner))
    if args.reference:
        peers.append(("reference", run_reference))

    print(f"python {sys.version.split()[0]}; {args.updates} updates per depth; seed {args.seed}")
    rows = []
    for depth in (int(d) for d in args.depths.split(",")):
        t0 = time.perf_counter()
        frames = make_stream(depth, args.updates, args.seed)
        gen = time.perf_counter() - t0
        avg = sum(map(len, frames[1:])) / (len(frames) - 1)
        print(
            f"depth {depth}: stream generated in {gen:.1f} s, snapshot {len(frames[0])} B, "
            f"update frames {avg:.0f} B on average",
            flush=True,
        )
        kk = measure(run_krakenkit, frames, depth, args.repeat)
        mem = memory(run_krakenkit, frames, depth)
        rows.append((depth, "krakenkit SpotBook", kk, mem, 1.0))
        print(f"  krakenkit SpotBook: {kk:.2f} µs/msg, {mem / 1024:.1f} KiB", flush=True)
        for name, runner in peers:
            try:
                us = measure(runner, frames, depth, 1)
                pm = memory(runner, frames, depth)
            except Exception as exc:
                notes.append(f"{name} failed at depth {depth}: {exc!r}")
                continue
            rows.append((depth, name, us, pm, us / kk))
            print(f"  {name}: {us:.2f} µs/msg, {pm / 1024:.1f} KiB", flush=True)

    print()
    print(f"{'depth':>6}  {'implementation':<28} {'µs/msg':>8} {'memory/book':>12} {'x krakenkit':>12}")
    for depth, name, us, mem_b, ratio in rows:
        print(f"{depth:>6}  {name:<28} {us:>8.2f} {mem_b / 1024:>9.1f} KiB {ratio:>11.1f}x")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
