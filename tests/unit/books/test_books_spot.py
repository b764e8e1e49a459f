"""SpotBook against a plain, obviously correct reference book (dict + sorted() + its own checksum).

Hypothesis drives random snapshots and update streams with random precisions, depths and number
spellings (JSON numbers with and without trailing zeros, integers, exponents, quoted strings,
``Decimal``/``float``/``int`` in decoded frames) through both; they must agree on every level and
on the checksum after every message. Corrupted updates must be caught exactly when they change
what the checksum covers (the top 10 levels per side).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from krakenkit._core.errors import ChecksumMismatchError, InvalidResponseError, KrakenError, ValidationError
from krakenkit._core.jsonutil import loads
from krakenkit.books import SpotBook

SYMBOL = "XBT/TST"

# --------------------------------------------------------------------------- the reference


def ref_text(value: Decimal, precision: int) -> str:
    return format(value, f".{precision}f").replace(".", "").lstrip("0")


@dataclass
class RefBook:
    depth: int
    pp: int
    qp: int
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)

    def apply(self, snapshot: bool, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> None:
        if snapshot:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty in levels:
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        for price in sorted(self.bids, reverse=True)[self.depth :]:
            del self.bids[price]
        for price in sorted(self.asks)[self.depth :]:
            del self.asks[price]

    def bid_levels(self) -> list[tuple[Decimal, Decimal]]:
        return [(p, self.bids[p]) for p in sorted(self.bids, reverse=True)]

    def ask_levels(self) -> list[tuple[Decimal, Decimal]]:
        return [(p, self.asks[p]) for p in sorted(self.asks)]

    def checksum_text(self) -> str:
        text = ""
        for price, qty in self.ask_levels()[:10] + self.bid_levels()[:10]:
            text += ref_text(price, self.pp) + ref_text(qty, self.qp)
        return text

    def checksum(self) -> int:
        return zlib.crc32(self.checksum_text().encode())

    def copy(self) -> RefBook:
        return RefBook(self.depth, self.pp, self.qp, dict(self.bids), dict(self.asks))


# --------------------------------------------------------------------------- frames


SPELLINGS = ["short", "padded", "exp", "quoted", "int"]


def spell(value: Decimal, precision: int, how: str) -> str:
    """JSON text for ``value`` in one of the ways a number may arrive."""
    short = format(value.normalize(), "f") if value else "0"
    if how == "short":
        return short
    if how == "padded":
        return format(value, f".{precision}f")
    if how == "exp":
        _sign, digits, exp = value.normalize().as_tuple()
        assert isinstance(exp, int)
        return f"{''.join(map(str, digits))}e{exp}" if value else "0e0"
    if how == "quoted":
        return json.dumps(short)
    if how == "int":
        return str(int(value)) if value == value.to_integral_value() else short
    raise AssertionError(how)


@dataclass
class Msg:
    snapshot: bool
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    checksum: int
    spellings: list[str]
    timestamp: str

    def spellings_iter(self) -> Iterator[str]:
        while True:
            yield from self.spellings

    def raw(self, pp: int, qp: int) -> bytes:
        how = self.spellings_iter()

        def side(levels: list[tuple[Decimal, Decimal]]) -> str:
            return ",".join(f'{{"price":{spell(p, pp, next(how))},"qty":{spell(q, qp, next(how))}}}' for p, q in levels)

        kind = "snapshot" if self.snapshot else "update"
        return (
            f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{SYMBOL}",'
            f'"bids":[{side(self.bids)}],"asks":[{side(self.asks)}],'
            f'"checksum":{self.checksum},"timestamp":"{self.timestamp}"}}]}}'
        ).encode()

    def decoded(self, pp: int, qp: int, number_type: str) -> dict[str, Any]:
        def num(value: Decimal) -> Any:
            if number_type == "decimal":
                return value
            if number_type == "str":
                return str(value)
            if number_type == "float":
                return float(value)
            raise AssertionError(number_type)

        def side(levels: list[tuple[Decimal, Decimal]]) -> list[dict[str, Any]]:
            return [{"price": num(p), "qty": num(q)} for p, q in levels]

        return {
            "channel": "book",
            "type": "snapshot" if self.snapshot else "update",
            "data": [
                {
                    "symbol": SYMBOL,
                    "bids": side(self.bids),
                    "asks": side(self.asks),
                    "checksum": self.checksum,
                    "timestamp": self.timestamp,
                }
            ],
        }


@dataclass
class Scenario:
    depth: int
    pp: int
    qp: int
    messages: list[Msg]
    refs: list[RefBook]  # reference state after each message


@st.composite
def scenarios(draw: st.DrawFn, max_updates: int = 25, float_safe: bool = False) -> Scenario:
    depth = draw(st.sampled_from([1, 2, 3, 5, 10, 11, 25]))
    pp = draw(st.integers(0, 4))
    qp = draw(st.integers(0, 8))
    max_lots = 10**9 if not float_safe else 10**6
    tick = Decimal(1).scaleb(-pp)
    lot = Decimal(1).scaleb(-qp)
    mid = draw(st.integers(200, 5000))

    def qty(lots: int) -> Decimal:
        return lots * lot

    def levels(draw_side: st.DrawFn, low: int, high: int, n_max: int) -> list[tuple[Decimal, Decimal]]:
        ticks = draw_side(st.lists(st.integers(low, high), max_size=n_max, unique=True))
        return [(t * tick, qty(draw_side(st.integers(1, max_lots)))) for t in ticks]

    spellings = draw(st.lists(st.sampled_from(SPELLINGS), min_size=1, max_size=6))
    ref = RefBook(depth, pp, qp)
    snap_bids = levels(draw, mid - 60, mid, depth + 8)
    snap_asks = levels(draw, mid + 1, mid + 60, depth + 8)
    # Kraken sends at most `depth` levels per side in a snapshot, best first
    snap_bids = sorted(snap_bids, reverse=True)[:depth]
    snap_asks = sorted(snap_asks)[:depth]
    ref.apply(True, snap_bids, snap_asks)
    messages = [Msg(True, snap_bids, snap_asks, ref.checksum(), spellings, "2024-01-01T00:00:00.000000Z")]
    refs = [ref.copy()]
    for n in range(draw(st.integers(0, max_updates))):
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        for _ in range(draw(st.integers(1, 4))):
            bid = draw(st.booleans())
            book = ref.bids if bid else ref.asks
            kind = draw(st.sampled_from(["modify", "delete", "insert", "insert", "ghost_delete"]))
            if kind in ("modify", "delete") and book:
                price = draw(st.sampled_from(sorted(book)))
                q = Decimal(0) if kind == "delete" else qty(draw(st.integers(1, max_lots)))
            elif kind == "ghost_delete":
                price = draw(st.integers(1, 10_000)) * tick
                q = Decimal(0)
            else:
                t = draw(st.integers(mid - 80, mid)) if bid else draw(st.integers(mid + 1, mid + 80))
                price, q = t * tick, qty(draw(st.integers(1, max_lots)))
            # one entry per price and side in a message, as Kraken sends
            target = bids if bid else asks
            target[:] = [lvl for lvl in target if lvl[0] != price]
            target.append((price, q))
        ref.apply(False, bids, asks)
        messages.append(Msg(False, bids, asks, ref.checksum(), spellings, f"2024-01-01T00:00:{n % 60:02d}.5Z"))
        refs.append(ref.copy())
    return Scenario(depth, pp, qp, messages, refs)


def assert_same(book: SpotBook, ref: RefBook) -> None:
    assert book.bids() == ref.bid_levels()
    assert book.asks() == ref.ask_levels()
    assert book.checksum() == ref.checksum()
    rb, ra = ref.bid_levels(), ref.ask_levels()
    assert book.best_bid == (rb[0] if rb else None)
    assert book.best_ask == (ra[0] if ra else None)
    if rb and ra:
        assert book.spread == ra[0][0] - rb[0][0]
        assert book.mid == (ra[0][0] + rb[0][0]) / 2
    else:
        assert book.spread is None and book.mid is None


# --------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_matches_reference_after_every_raw_message(sc: Scenario) -> None:
    book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp)
    for msg, ref in zip(sc.messages, sc.refs, strict=True):
        assert book.apply(msg.raw(sc.pp, sc.qp)) is True
        assert book.is_valid
        assert book.last_checksum == msg.checksum
        assert book.last_update == msg.timestamp
        assert_same(book, ref)
        assert len(book.bids()) <= sc.depth and len(book.asks()) <= sc.depth


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from(["decimal", "str"]))
def test_raw_bytes_equal_decoded_input(sc: Scenario, number_type: str) -> None:
    raw_book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp)
    loads_book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp)
    dict_book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp)
    for msg in sc.messages:
        raw = msg.raw(sc.pp, sc.qp)
        assert raw_book.apply(raw)
        assert loads_book.apply(loads(raw))  # the project's decoder: Decimal / int / str
        assert dict_book.apply(msg.decoded(sc.pp, sc.qp, number_type))
        assert raw_book.snapshot() == loads_book.snapshot() == dict_book.snapshot()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(float_safe=True))
def test_float_numbers_with_at_most_15_digits(sc: Scenario) -> None:
    book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp)
    for msg, ref in zip(sc.messages, sc.refs, strict=True):
        assert book.apply(msg.decoded(sc.pp, sc.qp, "float"))
        assert_same(book, ref)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_updates=12), st.data())
def test_single_corrupted_update_is_detected(sc: Scenario, data: st.DataObject) -> None:
    updates = [i for i, m in enumerate(sc.messages) if not m.snapshot and (m.bids or m.asks)]
    assume(updates)
    idx = data.draw(st.sampled_from(updates))
    msg = sc.messages[idx]
    how = data.draw(st.sampled_from(["checksum", "qty", "price", "drop_level"]))
    bids, asks = list(msg.bids), list(msg.asks)
    side = data.draw(st.sampled_from([s for s in (bids, asks) if s]))
    pos = data.draw(st.integers(0, len(side) - 1))
    price, qty = side[pos]
    tick = Decimal(1).scaleb(-sc.pp)
    lot = Decimal(1).scaleb(-sc.qp)
    checksum = msg.checksum
    if how == "checksum":
        checksum = (checksum + data.draw(st.integers(1, 2**32 - 1))) % 2**32
    elif how == "qty":
        side[pos] = (price, qty + lot * data.draw(st.integers(1, 1000)))
    elif how == "price":
        new_price = price + tick * data.draw(st.sampled_from([-2, -1, 1, 2]))
        assume(new_price > 0 and all(p != new_price for p, _ in side))
        side[pos] = (new_price, qty)
    else:
        del side[pos]
    bad = Msg(False, bids, asks, checksum, msg.spellings, msg.timestamp)
    # what the corrupted message does to a correct book, per the reference
    corrupted = sc.refs[idx - 1].copy()
    corrupted.apply(False, bids, asks)
    visible = how == "checksum" or corrupted.checksum_text() != sc.refs[idx].checksum_text()
    event(f"{how}: {'visible' if visible else 'beyond top 10'}")

    book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp)
    for earlier in sc.messages[:idx]:
        book.apply(earlier.raw(sc.pp, sc.qp))
    if visible:
        with pytest.raises(ChecksumMismatchError) as info:
            book.apply(bad.raw(sc.pp, sc.qp))
        assert info.value.expected == checksum
        assert info.value.actual == corrupted.checksum()
        assert not book.is_valid and not book.ready
        # the rest of the stream is dropped until a new snapshot arrives
        for later in sc.messages[idx + 1 :]:
            assert book.apply(later.raw(sc.pp, sc.qp)) is False
        assert book.dropped_updates == len(sc.messages) - idx - 1
        assert book.apply(sc.messages[0].raw(sc.pp, sc.qp)) is True
        assert book.is_valid
        assert_same(book, sc.refs[0])
    else:
        # a change below the top 10 is invisible to Kraken's checksum: the book follows the data
        assert book.apply(bad.raw(sc.pp, sc.qp))
        assert_same(book, corrupted)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_updates=15))
def test_verify_false_keeps_the_same_book(sc: Scenario) -> None:
    book = SpotBook(SYMBOL, sc.depth, sc.pp, sc.qp, verify=False)
    for msg, ref in zip(sc.messages, sc.refs, strict=True):
        wrong = Msg(msg.snapshot, msg.bids, msg.asks, (msg.checksum + 1) % 2**32, msg.spellings, msg.timestamp)
        assert book.apply(wrong.raw(sc.pp, sc.qp))
        assert_same(book, ref)


# --------------------------------------------------------------------------- depth boundary


def frame(kind: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], checksum: int) -> bytes:
    def side(levels: list[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels)

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{SYMBOL}","bids":[{side(bids)}],'
        f'"asks":[{side(asks)}],"checksum":{checksum},"timestamp":"t"}}]}}'
    ).encode()


class Driver:
    """Feeds a SpotBook and a RefBook the same frames; the reference supplies the checksum."""

    def __init__(self, depth: int, pp: int = 1, qp: int = 2) -> None:
        self.book = SpotBook(SYMBOL, depth, pp, qp)
        self.ref = RefBook(depth, pp, qp)

    def send(self, kind: str, bids: Sequence[tuple[str, str]] = (), asks: Sequence[tuple[str, str]] = ()) -> None:
        self.ref.apply(
            kind == "snapshot", [(Decimal(p), Decimal(q)) for p, q in bids], [(Decimal(p), Decimal(q)) for p, q in asks]
        )
        assert self.book.apply(frame(kind, list(bids), list(asks), self.ref.checksum()))
        assert_same(self.book, self.ref)


def test_insert_pushes_worst_level_out_without_a_delete() -> None:
    d = Driver(depth=3)
    d.send("snapshot", bids=[("100.0", "1"), ("99.0", "1"), ("98.0", "1")], asks=[("101.0", "1")])
    d.send("update", bids=[("99.5", "2")])
    assert [p for p, _ in d.book.bids()] == [Decimal("100.0"), Decimal("99.5"), Decimal("99.0")]
    # a late delete for the level that was pushed out is harmless
    d.send("update", bids=[("98.0", "0")])
    assert len(d.book.bids()) == 3
    # a worse level than the boundary is applied then truncated away at once
    d.send("update", bids=[("97.0", "5")])
    assert Decimal("97.0") not in [p for p, _ in d.book.bids()]


def test_delete_at_the_boundary_and_the_next_level_coming_into_range() -> None:
    d = Driver(depth=2)
    d.send("snapshot", bids=[("100.0", "1"), ("99.0", "1")], asks=[("101.0", "1"), ("102.0", "3")])
    # Kraken sends the delete and the level that moves into range in one message
    d.send("update", asks=[("102.0", "0"), ("103.5", "4")])
    assert d.book.asks() == [(Decimal("101.0"), Decimal("1")), (Decimal("103.5"), Decimal("4"))]
    d.send("update", asks=[("101.0", "0")])
    assert d.book.asks() == [(Decimal("103.5"), Decimal("4"))]


def test_eleventh_level_enters_the_checksum_after_a_top_delete() -> None:
    d = Driver(depth=25)
    asks = [(f"{200 + i}.0", f"{i + 1}") for i in range(15)]
    d.send("snapshot", bids=[("100.0", "1")], asks=asks)
    d.send("update", asks=[("205.0", "0")])  # level 11 (210.0) now counts in the checksum
    assert d.book.asks(10)[-1][0] == Decimal("210.0")
    d.send("update", asks=[("212.0", "9.5")])  # below the top 10: checksum unchanged, book changed
    assert (Decimal("212.0"), Decimal("9.5")) in d.book.asks()


def test_update_below_the_top_ten_is_still_checked_against_krakens_checksum() -> None:
    # no level of the top 10 changes, so the local checksum is the previous one: it must still be
    # compared with the one Kraken sent
    d = Driver(depth=25)
    asks = [(f"{200 + i}.0", f"{i + 1}") for i in range(15)]
    d.send("snapshot", bids=[("100.0", "1")], asks=asks)
    d.send("update", asks=[("213.0", "7")])
    good = d.ref.checksum()
    with pytest.raises(ChecksumMismatchError) as info:
        d.book.apply(frame("update", [], [("214.0", "8")], (good + 1) % 2**32))
    assert info.value.actual == good and info.value.expected == (good + 1) % 2**32
    assert not d.book.is_valid


def test_verify_switched_on_later_recomputes_the_checksum() -> None:
    d = Driver(depth=25)
    d.send("snapshot", bids=[("100.0", "1")], asks=[(f"{200 + i}.0", "1") for i in range(15)])
    d.send("update", bids=[("99.0", "1")], asks=[("201.0", "4")])  # verified: both sides cached
    d.book.verify = False
    d.ref.apply(False, [(Decimal("100.5"), Decimal("2"))], [(Decimal("200.5"), Decimal("3"))])
    assert d.book.apply(frame("update", [("100.5", "2")], [("200.5", "3")], 12345))  # not checked
    d.book.verify = True
    # a change below the top 10 only: the checksum of the top must be the current one, not a stale one
    d.send("update", asks=[("214.0", "2")])
    with pytest.raises(ChecksumMismatchError):
        d.book.apply(frame("update", [], [("213.0", "2")], 12345))


def test_depth_one_every_change_is_the_top() -> None:
    d = Driver(depth=1)
    d.send("snapshot", bids=[("100.0", "1")], asks=[("101.0", "1")])
    d.send("update", bids=[("100.5", "2")], asks=[("100.8", "1.25")])
    d.send("update", bids=[("100.5", "0")])  # book side empties: Kraken would resend the next level
    assert d.book.best_bid is None and d.book.spread is None
    d.send("update", bids=[("99.0", "3")])
    assert d.book.best_bid == (Decimal("99.0"), Decimal("3"))


def test_snapshot_larger_than_depth_is_truncated() -> None:
    d = Driver(depth=2)
    d.send("snapshot", bids=[("100.0", "1"), ("99.0", "1"), ("98.0", "1")], asks=[("101.0", "1")])
    assert len(d.book.bids()) == 2


# --------------------------------------------------------------------------- lifecycle and errors


def test_updates_before_the_snapshot_are_dropped() -> None:
    book = SpotBook(SYMBOL, 10, 1, 2)
    assert not book.ready and book.best_bid is None and book.bids() == []
    assert book.apply(frame("update", [("100.0", "1")], [], 0)) is False
    assert book.dropped_updates == 1
    assert book.bids() == []


def test_other_channels_and_symbols_are_ignored() -> None:
    book = SpotBook(SYMBOL, 10, 1, 2)
    assert book.apply(b'{"channel":"heartbeat"}') is False
    assert book.apply({"channel": "ticker", "type": "update", "data": []}) is False
    other = frame("snapshot", [("1.0", "1")], [], 0).replace(SYMBOL.encode(), b"ETH/USD")
    assert book.apply(other) is False
    assert book.apply({"method": "subscribe", "success": True}) is False


@pytest.mark.parametrize(
    "bad",
    [
        b"CloudFlare WebSocket proxy restarting",
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","bids":[{"price":1.0}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","bids":[{"price":-1.0,"qty":1}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","asks":[{"price":1.0,"qty":-2}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","asks":[{"price":1.0,"qty":1.123}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","asks":[{"price":0,"qty":1}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","asks":[{"price":"x","qty":1}]}]}',
        b'{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","asks":[{"price":null,"qty":1}]}]}',
    ],
)
def test_malformed_update_raises_and_invalidates(bad: bytes) -> None:
    d = Driver(depth=10)
    d.send("snapshot", bids=[("100.0", "1")], asks=[("101.0", "1")])
    with pytest.raises(InvalidResponseError):
        d.book.apply(bad)
    # a frame for this book that cannot be applied loses an update: the book must resync;
    # text that is not JSON at all says nothing about the book
    assert d.book.is_valid is (not bad.startswith(b"{"))


def _qty_update(qty_json: str) -> bytes:
    return (
        '{"channel":"book","type":"update","data":[{"symbol":"XBT/TST","bids":[],'
        f'"asks":[{{"price":101.0,"qty":{qty_json}}}],"checksum":0}}]}}'
    ).encode()


@pytest.mark.parametrize(
    ("qty_json", "expected"),
    [
        ("0.566", "0.5660"),  # the precision trap: written at 4 decimals
        ("12.5", "12.5000"),
        ("0.0005", "0.0005"),
        ("1.2300", "1.2300"),
        ("1.23000", "1.2300"),  # more decimals than the precision, all zeros
        ("1e2", "100.0000"),
        ("1.5E-3", "0.0015"),
        ('"00.5"', "0.5000"),  # quoted: leading zeros are not JSON's guarantee
        ('"012.25"', "12.2500"),
        ('".5"', "0.5000"),
        ('"7"', "7.0000"),
        ("3", "3.0000"),
    ],
)
def test_update_quantity_spellings(qty_json: str, expected: str) -> None:
    book = SpotBook(SYMBOL, 10, 1, 4, verify=False)
    book.apply(frame("snapshot", [("100.0", "1")], [("101.0", "1")], 0))
    book.apply(_qty_update(qty_json))
    assert book.asks() == [(Decimal("101.0"), Decimal(expected))]
    assert book.checksum() == zlib.crc32(f"1010{expected.replace('.', '').lstrip('0')}10001{'0' * 4}".encode())


@pytest.mark.parametrize("qty_json", ["0.0", "0.00000", '"0.0"', "0", '"0"'])
def test_update_zero_quantity_spellings_delete(qty_json: str) -> None:
    book = SpotBook(SYMBOL, 10, 1, 4, verify=False)
    book.apply(frame("snapshot", [("100.0", "1")], [("101.0", "1"), ("102.0", "2")], 0))
    book.apply(_qty_update(qty_json))
    assert book.asks() == [(Decimal("102.0"), Decimal("2"))]


@pytest.mark.parametrize("qty_json", ["1.23456", "-0.5", '"-1.5"', '"."', '""', '"1.2x"', '" 1..5"'])
def test_update_bad_quantity_spellings_raise(qty_json: str) -> None:
    book = SpotBook(SYMBOL, 10, 1, 4, verify=False)
    book.apply(frame("snapshot", [("100.0", "1")], [("101.0", "1")], 0))
    with pytest.raises(InvalidResponseError):
        book.apply(_qty_update(qty_json))
    assert not book.is_valid


def test_malformed_decoded_frame() -> None:
    book = SpotBook(SYMBOL, 10, 1, 2)
    with pytest.raises(InvalidResponseError):
        book.apply({"channel": "book", "type": "snapshot", "data": [{"symbol": SYMBOL, "bids": [{"qty": 1}]}]})
    with pytest.raises(InvalidResponseError):
        book.apply({"channel": "book", "type": "snapshot", "data": 5})
    with pytest.raises(KrakenError):
        book.apply(["not", "a", "frame"])  # type: ignore[arg-type]


def test_missing_checksum_is_a_mismatch_when_verifying() -> None:
    book = SpotBook(SYMBOL, 10, 1, 2)
    raw = frame("snapshot", [("100.0", "1")], [], 0).replace(b'"checksum":0,', b"")
    with pytest.raises(ChecksumMismatchError) as info:
        book.apply(raw)
    assert info.value.expected is None
    assert SpotBook(SYMBOL, 10, 1, 2, verify=False).apply(raw)


def test_snapshot_copy_is_independent() -> None:
    d = Driver(depth=10)
    d.send("snapshot", bids=[("100.0", "1")], asks=[("101.0", "1")])
    snap = d.book.snapshot()
    d.send("update", bids=[("100.0", "0")], asks=[("101.0", "7")])
    assert snap.bids == ((Decimal("100.0"), Decimal("1")),)
    assert snap.asks == ((Decimal("101.0"), Decimal("1")),)
    assert snap.valid and snap.checksum is not None and snap.symbol == SYMBOL
    assert d.book.snapshot().asks == ((Decimal("101.0"), Decimal("7")),)


def test_reset_requires_a_new_snapshot() -> None:
    d = Driver(depth=10)
    d.send("snapshot", bids=[("100.0", "1")], asks=[("101.0", "1")])
    d.book.reset()
    assert not d.book.ready and d.book.bids() == []
    assert d.book.apply(frame("update", [("100.0", "2")], [], 0)) is False


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", 10, 1, 8), "symbol"),
        ((SYMBOL, 0, 1, 8), "depth"),
        ((SYMBOL, True, 1, 8), "depth"),
        ((SYMBOL, 10, -1, 8), "price_precision"),
        ((SYMBOL, 10, 1, 99), "qty_precision"),
    ],
)
def test_constructor_validation(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SpotBook(*args)
    assert info.value.field == field
