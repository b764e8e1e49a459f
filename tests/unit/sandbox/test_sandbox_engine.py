"""Pure tests of the sandbox matching engine and checksum code (no sockets)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from krakenkit_sandbox.spot.checksum import book_checksum
from krakenkit_sandbox.spot.engine import Engine, OrderError
from krakenkit_sandbox.spot.market import PAIRS

D = Decimal
BTC = PAIRS["XXBTZUSD"]


def engine() -> Engine:
    e = Engine(seed=1, clock=lambda: 1_700_000_000.0)
    e.add_account("A", {"ZUSD": D(100000), "XXBT": D(10)})
    e.add_account("B", {"ZUSD": D(100000), "XXBT": D(10)})
    return e


def test_price_time_priority_and_partial_fill() -> None:
    e = engine()
    first = e.add_order("A", BTC, "sell", "limit", "0.5", "65000.0")
    second = e.add_order("A", BTC, "sell", "limit", "0.5", "65000.0")
    taker = e.add_order("B", BTC, "buy", "limit", "0.7", "65000.0")
    assert taker.status == "closed" and taker.vol_exec == D("0.7")
    assert first.status == "closed" and second.remaining == D("0.3")
    assert e.books[BTC.key].asks.best().qty == D("0.3")  # type: ignore[union-attr]
    acc_b = e.accounts["B"]
    assert acc_b.balances["XXBT"] == D("10.7")
    assert acc_b.balances["ZUSD"] == D(100000) - D("45500.0") - D("118.3000")  # 0.26 % taker fee
    assert e.accounts["A"].holds["XXBT"] == D("0.3")


def test_holds_released_on_cancel_and_insufficient_funds() -> None:
    e = engine()
    o = e.add_order("A", BTC, "buy", "limit", "1", "60000.0")
    assert e.accounts["A"].holds["ZUSD"] == D("60156.0000")
    with pytest.raises(OrderError, match="EOrder:Insufficient funds"):
        e.add_order("A", BTC, "buy", "limit", "1", "60000.0")
    e.cancel_order("A", o.txid)
    assert e.accounts["A"].holds["ZUSD"] == 0


def test_post_only_ioc_and_cl_ord_id() -> None:
    e = engine()
    e.add_order("A", BTC, "sell", "limit", "0.5", "65000.0")
    po = e.add_order("B", BTC, "buy", "limit", "0.1", "65000.0", post_only=True)
    assert po.status == "canceled" and po.reason == "Post only order" and po.vol_exec == 0
    ioc = e.add_order("B", BTC, "buy", "limit", "1", "65000.0", timeinforce="IOC")
    assert ioc.status == "canceled" and ioc.vol_exec == D("0.5")
    a = e.add_order("B", BTC, "buy", "limit", "0.1", "50000.0", cl_ord_id="abc")
    with pytest.raises(OrderError, match="EOrder:Duplicate order"):
        e.add_order("B", BTC, "buy", "limit", "0.1", "50000.0", cl_ord_id="abc")
    assert e.cancel_order("B", cl_ord_id="abc") is a


def test_checksum_vectors() -> None:
    ref = Path(__file__).parents[2] / "integration" / "sandbox" / "fixtures" / "ws-v2"
    snap = json.loads((ref / "ws2_book_snapshot.json").read_text(), parse_float=D)["data"][0]
    bids = {D(str(x["price"])): D(str(x["qty"])) for x in snap["bids"]}
    asks = {D(str(x["price"])): D(str(x["qty"])) for x in snap["asks"]}
    assert book_checksum(sorted(asks.items()), sorted(bids.items(), reverse=True), 4, 8) == 2439117997
    upd = json.loads((ref / "ws2_book_update.json").read_text(), parse_float=D)["data"][0]
    for lv in upd["bids"]:
        bids[D(str(lv["price"]))] = D(str(lv["qty"]))
    top = sorted(bids.items(), reverse=True)[:10]
    assert book_checksum(sorted(asks.items()), top, 4, 8) == 2114181697
