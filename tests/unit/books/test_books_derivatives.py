"""DerivativesBook: book_snapshot + book deltas, seq gaps, raw vs decoded input."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kraken_reference import REFERENCE
from krakenkit._core.errors import InvalidResponseError, SequenceGapError
from krakenkit._core.jsonutil import loads
from krakenkit.books import DerivativesBook

REF = REFERENCE / "futures-ws-examples"
PID = "PF_XBTUSD"


def snapshot(seq: int = 100) -> dict[str, Any]:
    return {
        "feed": "book_snapshot",
        "product_id": PID,
        "timestamp": 1,
        "seq": seq,
        "tickSize": None,
        "bids": [{"price": Decimal("100.5"), "qty": Decimal("10")}, {"price": Decimal("100"), "qty": 5}],
        "asks": [{"price": Decimal("101"), "qty": 7}, {"price": Decimal("101.5"), "qty": Decimal("0.5")}],
    }


def delta(seq: int, side: str, price: Any, qty: Any) -> dict[str, Any]:
    return {
        "feed": "book",
        "product_id": PID,
        "side": side,
        "seq": seq,
        "price": price,
        "qty": qty,
        "timestamp": 1000 + seq,
    }


def test_official_examples_raw_and_decoded() -> None:
    snap = (REF / "fws_book_snapshot.json").read_bytes()
    d = (REF / "fws_book_delta.json").read_bytes()
    for form in (lambda b: b, loads):
        book = DerivativesBook(PID)
        assert book.apply(form(snap))
        assert book.ready and book.sequence == 326072249 and book.last_update == 1612269825817
        assert book.best_bid == (Decimal("34892.5"), Decimal("6385"))
        assert book.best_ask == (Decimal("34911.5"), Decimal("20598"))
        assert book.spread == Decimal("19.0") and book.mid == Decimal("34902")
        # the example delta is not the next seq after the example snapshot: a gap
        with pytest.raises(SequenceGapError) as info:
            book.apply(form(d))
        assert info.value.expected == 326072250 and info.value.actual == 326094134
        assert info.value.symbol == PID
        assert not book.is_valid


def test_deltas_update_delete_and_insert() -> None:
    book = DerivativesBook(PID)
    assert book.apply(snapshot(100))
    assert book.apply(delta(101, "buy", Decimal("100.5"), Decimal("3")))
    assert book.apply(delta(102, "sell", Decimal("101"), 0))
    assert book.apply(delta(103, "buy", Decimal("100.75"), Decimal("1")))
    assert book.apply(delta(104, "sell", Decimal("102"), Decimal("2")))
    assert book.bids() == [
        (Decimal("100.75"), Decimal("1")),
        (Decimal("100.5"), Decimal("3")),
        (Decimal("100"), Decimal("5")),
    ]
    assert book.asks() == [(Decimal("101.5"), Decimal("0.5")), (Decimal("102"), Decimal("2"))]
    assert book.asks(1) == [(Decimal("101.5"), Decimal("0.5"))]
    assert book.sequence == 104 and book.last_update == 1104
    snap = book.snapshot()
    assert snap.sequence == 104 and snap.valid and snap.bids[0] == (Decimal("100.75"), Decimal("1"))
    assert book.apply(delta(105, "buy", Decimal("100.75"), 0))
    assert snap.bids[0] == (Decimal("100.75"), Decimal("1"))  # the copy did not move


def test_gap_invalidates_until_next_snapshot() -> None:
    book = DerivativesBook(PID)
    book.apply(snapshot(100))
    with pytest.raises(SequenceGapError) as info:
        book.apply(delta(102, "buy", Decimal("99"), 1))
    assert (info.value.expected, info.value.actual) == (101, 102)
    assert not book.ready
    assert book.apply(delta(103, "buy", Decimal("99"), 1)) is False
    assert book.dropped_updates == 1
    assert (Decimal("99"), Decimal("1")) not in book.bids()
    assert book.apply(snapshot(200)) and book.ready
    assert book.apply(delta(201, "buy", Decimal("99"), 1))
    assert (Decimal("99"), Decimal("1")) in book.bids()


def test_stale_and_duplicate_deltas_are_ignored() -> None:
    book = DerivativesBook(PID)
    book.apply(snapshot(100))
    assert book.apply(delta(100, "buy", Decimal("1"), 1)) is False  # already in the snapshot
    assert book.apply(delta(90, "buy", Decimal("1"), 1)) is False
    assert book.apply(delta(101, "buy", Decimal("1"), 1))
    assert book.apply(delta(101, "buy", Decimal("1"), 9)) is False  # replay
    assert book.bids()[-1] == (Decimal("1"), Decimal("1"))
    assert book.ready


def test_deltas_before_snapshot_and_foreign_messages() -> None:
    book = DerivativesBook(PID)
    assert book.apply(delta(1, "buy", Decimal("1"), 1)) is False
    assert book.apply({**snapshot(), "product_id": "PF_ETHUSD"}) is False
    assert book.apply({"feed": "ticker", "product_id": PID}) is False
    assert book.apply(b'{"event":"subscribed","feed":"book","product_ids":["PF_XBTUSD"]}') is False
    assert not book.ready and book.bids() == [] and book.best_bid is None and book.spread is None


@pytest.mark.parametrize(
    "bad",
    [
        {"feed": "book", "product_id": PID, "side": "up", "seq": 101, "price": 1, "qty": 1},
        {"feed": "book", "product_id": PID, "side": "buy", "seq": 101, "price": "x", "qty": 1},
        {"feed": "book", "product_id": PID, "side": "buy", "seq": 101, "price": 1, "qty": -1},
        {"feed": "book", "product_id": PID, "side": "buy", "price": 1, "qty": 1},
        {"feed": "book", "product_id": PID, "side": "buy", "seq": 101, "price": None, "qty": 1},
    ],
)
def test_malformed_deltas(bad: dict[str, Any]) -> None:
    book = DerivativesBook(PID)
    book.apply(snapshot(100))
    with pytest.raises(InvalidResponseError):
        book.apply(bad)
    assert not book.ready
    with pytest.raises(InvalidResponseError):
        DerivativesBook(PID).apply(b"not json")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 40), st.integers(0, 5)), max_size=40))
def test_random_deltas_match_a_plain_reference(ops: list[tuple[str, int, int]]) -> None:
    raw_book, dec_book = DerivativesBook(PID), DerivativesBook(PID)
    ref: dict[str, dict[Decimal, Decimal]] = {"buy": {}, "sell": {}}
    snap = {"feed": "book_snapshot", "product_id": PID, "seq": 7, "timestamp": 0, "bids": [], "asks": []}
    assert raw_book.apply(json.dumps(snap).encode()) and dec_book.apply(snap)
    for n, (side, tick, qty) in enumerate(ops):
        price = Decimal(tick) / 2 if side == "buy" else Decimal(tick) / 2 + 20
        msg = {
            "feed": "book",
            "product_id": PID,
            "side": side,
            "seq": 8 + n,
            "price": float(price),
            "qty": qty,
            "timestamp": n,
        }
        assert raw_book.apply(json.dumps(msg))
        assert dec_book.apply(loads(json.dumps(msg)))
        if qty:
            ref[side][price] = Decimal(qty)
        else:
            ref[side].pop(price, None)
        expected_bids = [(p, ref["buy"][p]) for p in sorted(ref["buy"], reverse=True)]
        expected_asks = [(p, ref["sell"][p]) for p in sorted(ref["sell"])]
        assert raw_book.bids() == dec_book.bids() == expected_bids
        assert raw_book.asks() == dec_book.asks() == expected_asks
