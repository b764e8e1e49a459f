"""SpotL3Book: queue order for add/modify/delete, truncation, and its own checksum rule.

Expected checksums come from a plain reference written here (orders listed per price level in
queue order, formatted with ``format(Decimal, ".Nf")``), not from the book's code.
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kraken_reference import REFERENCE
from krakenkit._core.errors import ChecksumMismatchError, InvalidResponseError
from krakenkit._core.jsonutil import loads
from krakenkit.books import L3Order, SpotL3Book

SYMBOL = "BTC/USD"
REF = REFERENCE / "ws-v2-examples"

Order = tuple[str, Decimal, Decimal]  # order_id, price, qty


def ref_checksum(asks: list[list[Order]], bids: list[list[Order]], pp: int, qp: int) -> int:
    """asks/bids: price levels best first, each a list of orders in queue order."""
    text = ""
    for levels in (asks, bids):
        for level in levels[:10]:
            for _, price, qty in level:
                text += format(price, f".{pp}f").replace(".", "").lstrip("0")
                text += format(qty, f".{qp}f").replace(".", "").lstrip("0")
    return zlib.crc32(text.encode())


class RefL3:
    """Plain reference: a list of orders per side in arrival order; levels rebuilt by sorting."""

    def __init__(self, depth: int, pp: int = 1, qp: int = 8) -> None:
        self.depth, self.pp, self.qp = depth, pp, qp
        self.orders: dict[str, list[Order]] = {"bids": [], "asks": []}

    def levels(self, side: str) -> list[list[Order]]:
        prices = sorted({p for _, p, _ in self.orders[side]}, reverse=side == "bids")
        return [[o for o in self.orders[side] if o[1] == price] for price in prices]

    def apply(self, side: str, event: str, oid: str, price: Decimal, qty: Decimal) -> None:
        orders = self.orders[side]
        idx = next((i for i, o in enumerate(orders) if o[0] == oid), None)
        if event == "delete":
            if idx is not None:
                del orders[idx]
        elif event == "modify" and idx is not None and orders[idx][1] == price and qty > 0:
            orders[idx] = (oid, price, qty)
        else:
            if idx is not None:
                del orders[idx]
            if qty > 0:
                orders.append((oid, price, qty))

    def truncate(self) -> None:
        for side in ("bids", "asks"):
            keep = {lvl[0][1] for lvl in self.levels(side)[: self.depth]}
            self.orders[side] = [o for o in self.orders[side] if o[1] in keep]

    def checksum(self) -> int:
        return ref_checksum(self.levels("asks"), self.levels("bids"), self.pp, self.qp)


def l3_frame(kind: str, bids: list[dict[str, Any]], asks: list[dict[str, Any]], checksum: int) -> bytes:
    return json.dumps(
        {
            "channel": "level3",
            "type": kind,
            "data": [{"symbol": SYMBOL, "bids": bids, "asks": asks, "checksum": checksum}],
        }
    ).encode()


def order(oid: str, price: str, qty: str, event: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"order_id": oid, "limit_price": price, "order_qty": qty, "timestamp": "t-" + oid}
    if event:
        out["event"] = event
    return out


class Driver:
    def __init__(self, depth: int = 10) -> None:
        self.book = SpotL3Book(SYMBOL, depth, 1, 8)
        self.ref = RefL3(depth)

    def send(self, kind: str, bids: list[dict[str, Any]] = [], asks: list[dict[str, Any]] = []) -> None:
        if kind == "snapshot":
            self.ref.orders = {"bids": [], "asks": []}
        for side, orders in (("bids", bids), ("asks", asks)):
            for o in orders:
                self.ref.apply(
                    side, o.get("event", "add"), o["order_id"], Decimal(o["limit_price"]), Decimal(o["order_qty"])
                )
        self.ref.truncate()
        assert self.book.apply(l3_frame(kind, bids, asks, self.ref.checksum()))
        assert self.book.checksum() == self.ref.checksum()
        for side, orders_of in (("bids", self.book.bid_orders), ("asks", self.book.ask_orders)):
            got = [(o.order_id, o.price, o.qty) for o in orders_of()]
            assert got == [o for level in self.ref.levels(side) for o in level]

    def ids(self, side: str = "asks") -> list[str]:
        orders = self.book.ask_orders() if side == "asks" else self.book.bid_orders()
        return [o.order_id for o in orders]


def test_add_modify_delete_keep_queue_order() -> None:
    d = Driver()
    d.send(
        "snapshot",
        bids=[order("B1", "99.0", "1")],
        asks=[order("A1", "100.0", "1"), order("A2", "100.0", "2"), order("A3", "101.0", "1")],
    )
    d.send("update", asks=[order("A4", "100.0", "0.5", "add")])
    assert d.ids() == ["A1", "A2", "A4", "A3"]
    d.send("update", asks=[order("A1", "100.0", "0.25", "modify")])  # qty change keeps its place
    assert d.ids() == ["A1", "A2", "A4", "A3"]
    assert d.book.order("A1") == L3Order("A1", "ask", Decimal("100.0"), Decimal("0.25"), "t-A1")
    d.send("update", asks=[order("A2", "100.0", "2", "delete")])
    assert d.ids() == ["A1", "A4", "A3"]
    assert d.book.queue_position("A4") == (1, Decimal("0.25"))
    d.send("update", asks=[order("A1", "101.0", "0.25", "modify")])  # new price: back of that level
    assert d.ids() == ["A4", "A3", "A1"]
    d.send("update", asks=[order("A4", "100.0", "0.5", "delete")])
    assert d.book.asks() == [(Decimal("101.0"), Decimal("1.25"))]
    assert d.book.best_ask == (Decimal("101.0"), Decimal("1.25"))
    assert d.book.best_bid == (Decimal("99.0"), Decimal("1"))
    assert d.book.spread == Decimal("2.0") and d.book.mid == Decimal("100.0")
    assert d.book.order("A2") is None and d.book.queue_position("A2") is None


def test_queue_order_changes_the_checksum() -> None:
    # the same levels with two orders swapped must give a different checksum
    d = Driver()
    d.send("snapshot", asks=[order("A1", "100.0", "1"), order("A2", "100.0", "2")])
    swapped = ref_checksum([[("A2", Decimal("100.0"), Decimal("2")), ("A1", Decimal("100.0"), Decimal("1"))]], [], 1, 8)
    assert d.book.checksum() != swapped
    book = SpotL3Book(SYMBOL, 10, 1, 8)
    with pytest.raises(ChecksumMismatchError):
        book.apply(l3_frame("snapshot", [], [order("A1", "100.0", "1"), order("A2", "100.0", "2")], swapped))


def test_truncation_to_depth_price_levels() -> None:
    d = Driver(depth=2)
    d.send("snapshot", bids=[order("B1", "99.0", "1"), order("B2", "98.0", "1"), order("B3", "98.0", "2")])
    d.send("update", bids=[order("B4", "99.5", "1", "add")])  # pushes level 98.0 (two orders) out
    assert d.ids("bids") == ["B4", "B1"]
    assert d.book.order("B3") is None
    d.send("update", bids=[order("B3", "98.0", "2", "delete")])  # late delete of a truncated order
    # a level leaves: Kraken publishes every order of the next level as adds
    d.send(
        "update",
        bids=[order("B1", "99.0", "1", "delete"), order("B5", "97.0", "3", "add"), order("B6", "97.0", "1", "add")],
    )
    assert d.ids("bids") == ["B4", "B5", "B6"]
    assert d.book.bids() == [(Decimal("99.5"), Decimal("1")), (Decimal("97.0"), Decimal("4"))]


def test_checksum_covers_only_top_10_levels() -> None:
    d = Driver(depth=25)
    d.send("snapshot", asks=[order(f"A{i}", f"{100 + i}.0", "1") for i in range(15)])
    before = d.book.checksum()
    d.send("update", asks=[order("A12", f"{112}.0", "7", "modify")])
    assert d.book.checksum() == before  # level 13 is outside the checksum
    d.send("update", asks=[order("A3", f"{103}.0", "7", "modify")])
    assert d.book.checksum() != before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_event_streams_match_reference(data: st.DataObject) -> None:
    depth = data.draw(st.sampled_from([1, 3, 10, 12]))
    d = Driver(depth)
    next_id = 0

    def new_order(side: str) -> dict[str, Any]:
        nonlocal next_id
        next_id += 1
        base = 100 if side == "asks" else 90
        price = Decimal(data.draw(st.integers(base * 10, base * 10 + 14))).scaleb(-1)
        return order(f"O{next_id}", str(price), str(Decimal(data.draw(st.integers(1, 10**6))).scaleb(-8)))

    d.send(
        "snapshot",
        bids=[new_order("bids") for _ in range(data.draw(st.integers(0, 12)))],
        asks=[new_order("asks") for _ in range(data.draw(st.integers(0, 12)))],
    )
    for _ in range(data.draw(st.integers(1, 15))):
        msg: dict[str, list[dict[str, Any]]] = {"bids": [], "asks": []}
        for _ in range(data.draw(st.integers(1, 4))):
            side = data.draw(st.sampled_from(["bids", "asks"]))
            live = [o for o in d.ref.orders[side] if all(o[0] != m["order_id"] for m in msg[side])]
            event = data.draw(st.sampled_from(["add", "modify", "delete"] if live else ["add"]))
            if event == "add":
                msg[side].append({**new_order(side), "event": "add"})
                continue
            oid, price, qty = data.draw(st.sampled_from(live))
            if event == "modify":
                qty = Decimal(data.draw(st.integers(1, 10**6))).scaleb(-8)
                if data.draw(st.booleans()):
                    price = Decimal(new_order(side)["limit_price"])
            msg[side].append(order(oid, str(price), str(qty), event))
        d.send("update", bids=msg["bids"], asks=msg["asks"])


def test_raw_and_decoded_forms_agree_on_official_examples() -> None:
    for name in ("ws2_level3_snapshot.json", "ws2_level3_update.json"):
        raw = (REF / name).read_bytes()
        a = SpotL3Book("MATIC/USD", 10, 4, 8, verify=False)
        b = SpotL3Book("MATIC/USD", 10, 4, 8, verify=False)
        if name == "ws2_level3_update.json":  # its orders build on the snapshot example
            snap = (REF / "ws2_level3_snapshot.json").read_bytes()
            a.apply(snap)
            b.apply(loads(snap))
        assert a.apply(raw) and b.apply(loads(raw))
        assert a.ask_orders() == b.ask_orders() and a.bid_orders() == b.bid_orders()
    # the update example: one delete of an order we never saw, three adds at 0.564 in that order
    assert [o.order_id for o in a.ask_orders() if o.price == Decimal("0.564")] == [
        "O2BN53-5RSB2-V3J57T",
        "OWG5ZU-LHUHH-BICPEX",
        "ONVDB3-2DRUF-Y6MF7D",
    ]
    assert a.last_checksum == 2841398499  # received, not verified (the page's examples are truncated)


def test_updates_dropped_until_snapshot_and_after_mismatch() -> None:
    book = SpotL3Book(SYMBOL, 10, 1, 8)
    assert book.apply(l3_frame("update", [], [order("A1", "100.0", "1", "add")], 0)) is False
    assert book.dropped_updates == 1
    d = Driver()
    d.send("snapshot", asks=[order("A1", "100.0", "1")])
    with pytest.raises(ChecksumMismatchError):
        d.book.apply(l3_frame("update", [], [order("A2", "100.0", "1", "add")], 12345))
    assert not d.book.is_valid
    assert d.book.apply(l3_frame("update", [], [order("A3", "100.0", "1", "add")], 0)) is False


@pytest.mark.parametrize(
    "bad",
    [
        {"order_id": "X", "limit_price": "100.0", "order_qty": "1", "event": "explode"},
        {"order_id": 5, "limit_price": "100.0", "order_qty": "1", "event": "add"},
        {"order_id": "X", "order_qty": "1", "event": "add"},
        {"order_id": "X", "limit_price": "100.0", "order_qty": "1.123456789", "event": "add"},
    ],
)
def test_malformed_orders(bad: dict[str, Any]) -> None:
    d = Driver()
    d.send("snapshot", asks=[order("A1", "100.0", "1")])
    with pytest.raises(InvalidResponseError):
        d.book.apply(l3_frame("update", [], [bad], 0))
    assert not d.book.is_valid
    assert d.book.apply(b'{"channel":"book","type":"update","data":[]}') is False
