"""Official Kraken checksum vectors (../kraken-reference/vectors.json) and the fragment rule."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from kraken_reference import REFERENCE
from krakenkit._core.errors import ChecksumMismatchError, InvalidResponseError, ValidationError
from krakenkit._core.jsonutil import loads
from krakenkit.books import (
    SpotBook,
    SpotL3Book,
    checksum_v2,
    checksum_v2_level3,
    format_level_fragment,
)

REF = REFERENCE
VECTORS = json.loads((REF / "vectors.json").read_text())


def _frame(name: str) -> bytes:
    return (REF / name).read_bytes()


def _forms(raw: bytes) -> list[Any]:
    """The same frame as raw bytes, as str, and decoded with the project's Decimal decoder."""
    return [raw, raw.decode(), loads(raw)]


@pytest.mark.parametrize("form", [0, 1, 2], ids=["bytes", "str", "decoded"])
def test_guide_snapshot_vector(form: int) -> None:
    vec = VECTORS["book_checksum_v2"][0]
    assert vec["checksum"] == 3310070434
    book = SpotBook("BTC/USD", vec["depth"], vec["price_precision"], vec["qty_precision"])
    assert book.apply(_forms(_frame(vec["file"]))[form]) is True
    assert book.is_valid and book.ready
    assert book.last_checksum == 3310070434
    assert book.checksum() == 3310070434
    assert book.best_bid == (Decimal("45283.5"), Decimal("0.1"))
    assert book.best_ask == (Decimal("45285.2"), Decimal("0.001"))
    assert book.spread == Decimal("1.7")
    assert book.mid == Decimal("45284.35")
    assert len(book.bids()) == 10 and len(book.asks(3)) == 3


@pytest.mark.parametrize("form", [0, 1, 2], ids=["bytes", "str", "decoded"])
def test_channel_snapshot_then_update_vector(form: int) -> None:
    vec = VECTORS["book_checksum_v2"][1]
    assert vec["checksums"] == [2439117997, 2114181697]
    book = SpotBook("MATIC/USD", vec["depth"], vec["price_precision"], vec["qty_precision"])
    assert book.apply(_forms(_frame(vec["file"]))[form])
    assert book.last_checksum == 2439117997
    assert book.last_update == "2023-10-06T17:35:55.440295Z"
    # 0.566 on the wire at precision 4 is 0.5660 -> "5660": the trap is inside this snapshot
    assert (Decimal("0.566"), Decimal("18097.1547")) in book.bids()
    assert book.apply(_forms(_frame(vec["then"]))[form])
    assert book.last_checksum == 2114181697
    assert book.bids()[-1] == (Decimal("0.5657"), Decimal("1098.3947558"))


def test_level3_vector() -> None:
    vec = VECTORS["level3_checksum_v2"][0]
    assert vec["checksum"] == 1063832831
    for form in _forms(_frame(vec["file"])):
        book = SpotL3Book("BTC/USD", 10, 1, 8)
        assert book.apply(form)
        assert book.last_checksum == 1063832831
        assert book.checksum() == 1063832831


def test_checksum_functions_on_vector_data() -> None:
    msg = loads(_frame("ws-v2-examples/ws2_book_checksum_guide_snapshot_BTCUSD.json"))["data"][0]
    asks = [(lvl["price"], lvl["qty"]) for lvl in msg["asks"]]
    bids = [(lvl["price"], lvl["qty"]) for lvl in msg["bids"]]
    assert checksum_v2(asks, bids, 1, 8) == 3310070434
    assert checksum_v2([*asks, ("99999.9", "1")], bids, 1, 8) == 3310070434  # only 10 per side
    assert checksum_v2(bids, asks, 1, 8) != 3310070434  # order matters: asks first
    l3 = loads(_frame("ws-v2-examples/ws2_level3_checksum_guide_snapshot_BTCUSD.json"))["data"][0]

    def levels(orders: list[dict[str, Any]]) -> list[list[tuple[Any, Any]]]:
        out: list[list[tuple[Any, Any]]] = []
        for o in orders:
            if out and out[-1][0][0] == o["limit_price"]:
                out[-1].append((o["limit_price"], o["order_qty"]))
            else:
                out.append([(o["limit_price"], o["order_qty"])])
        return out

    assert checksum_v2_level3(levels(l3["asks"]), levels(l3["bids"]), 1, 8) == 1063832831


@pytest.mark.parametrize(
    ("value", "precision", "expected"),
    [
        (Decimal("0.566"), 4, "5660"),
        ("0.566", 4, "5660"),
        (0.566, 4, "5660"),
        ("45283.5", 1, "452835"),
        ("45283.50", 1, "452835"),  # trailing zero beyond the precision is fine
        ("45283", 1, "452830"),
        (45283, 1, "452830"),
        (1, 8, "100000000"),
        ("1", 0, "1"),
        ("0.00100000", 8, "100000"),
        (Decimal("1E-8"), 8, "1"),
        ("1e-5", 8, "1000"),
        ("5.66E-1", 4, "5660"),
        (Decimal("1.5E+3"), 2, "150000"),
        (Decimal("0E-8"), 8, ""),
        (0, 8, ""),
        ("0.0", 4, ""),
    ],
)
def test_format_level_fragment(value: Any, precision: int, expected: str) -> None:
    assert format_level_fragment(value, precision) == expected


@pytest.mark.parametrize(
    "value", ["0.56601", Decimal("1.23456789012"), "-1", "abc", "", "NaN", "Infinity", None, True, [1], "1.2.3"]
)
def test_format_level_fragment_refuses(value: Any) -> None:
    with pytest.raises(InvalidResponseError):
        format_level_fragment(value, 4)


@pytest.mark.parametrize("precision", [-1, 41, 1.5, True, "4"])
def test_format_level_fragment_bad_precision(precision: Any) -> None:
    with pytest.raises(ValidationError):
        format_level_fragment("1", precision)


def test_vector_with_wrong_checksum_is_refused() -> None:
    raw = _frame("ws-v2-examples/ws2_book_checksum_guide_snapshot_BTCUSD.json").replace(b"3310070434", b"3310070435")
    book = SpotBook("BTC/USD", 10, 1, 8)
    with pytest.raises(ChecksumMismatchError) as info:
        book.apply(raw)
    assert info.value.expected == 3310070435
    assert info.value.actual == 3310070434
    assert info.value.symbol == "BTC/USD"
    assert not book.is_valid


def test_wrong_precision_does_not_verify() -> None:
    # precision 3 instead of 4 would write 0.566 as "566": the checksum must then fail
    book = SpotBook("MATIC/USD", 10, 5, 8)
    with pytest.raises(ChecksumMismatchError):
        book.apply(_frame("ws-v2-examples/ws2_book_snapshot.json"))
    book = SpotBook("MATIC/USD", 10, 3, 8)
    with pytest.raises(InvalidResponseError):  # 0.5666 has 4 decimals: cannot be written at 3
        book.apply(_frame("ws-v2-examples/ws2_book_snapshot.json"))
