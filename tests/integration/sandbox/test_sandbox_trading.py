"""Matching, holds, order errors, dead man's switch, rate limits and REST faults of the sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from sandbox_testkit import Raw

from krakenkit_sandbox import Sandbox

D = Decimal


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, market=False, rate_limits=False) as s:
        yield s


@pytest.fixture
def raw(sb: Sandbox) -> Raw:
    key, secret = sb.create_key(balances={"ZUSD": "100000", "XXBT": "10"})
    return Raw(sb.rest_url, key, secret)


def _best(raw: Raw) -> tuple[D, D, D]:
    d = raw.public("Depth", pair="XBTUSD", count=1)["result"]["XXBTZUSD"]
    return D(d["bids"][0][0]), D(d["asks"][0][0]), D(d["asks"][0][1])


def test_partial_fill_holds_and_balances(raw: Raw, sb: Sandbox) -> None:
    _bid, ask, ask_qty = _best(raw)
    vol = ask_qty + D("0.5")
    res = raw.ok(
        "AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": str(vol), "price": str(ask)}
    )
    txid = res["txid"][0]
    info = raw.ok("QueryOrders", {"txid": txid})[txid]
    assert info["status"] == "open"
    assert D(info["vol_exec"]) == ask_qty  # partially filled against the best ask level
    bex = raw.ok("BalanceEx")
    hold = D(bex["ZUSD"]["hold_trade"])
    assert hold >= D("0.5") * ask  # the rest of the order is held
    assert D(bex["XXBT"]["balance"]) == D(10) + ask_qty
    fee = D(info["fee"])
    assert fee > 0
    usd = D(bex["ZUSD"]["balance"])
    assert usd == (D(100000) - ask * ask_qty - fee).quantize(D("0.0001"))
    raw.ok("CancelOrder", {"txid": txid})
    assert D(raw.ok("BalanceEx")["ZUSD"]["hold_trade"]) == 0
    trades = raw.ok("TradesHistory")["trades"]
    assert len(trades) >= 1 and all(t["ordertxid"] == txid for t in trades.values())
    assert raw.ok("Ledgers")["count"] == 2 * len(trades)


def test_insufficient_funds_counts_holds(raw: Raw) -> None:
    raw.ok("AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "1", "price": "60000.0"})
    err = raw.post(
        "AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "1", "price": "60000.0"}
    )["error"]
    assert err == ["EOrder:Insufficient funds"]
    assert raw.post(
        "AddOrder", {"pair": "XBTUSD", "type": "sell", "ordertype": "limit", "volume": "11", "price": "90000.0"}
    )["error"] == ["EOrder:Insufficient funds"]


def test_post_only_and_ioc(raw: Raw) -> None:
    bid, ask, _ = _best(raw)
    txid = raw.ok(
        "AddOrder",
        {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": str(ask), "oflags": "post"},
    )["txid"][0]
    info = raw.ok("QueryOrders", {"txid": txid})[txid]
    assert (info["status"], info["reason"], info["vol_exec"]) == ("canceled", "Post only order", "0.00000000")
    ok = raw.ok(
        "AddOrder",
        {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": str(bid), "oflags": "post"},
    )["txid"][0]
    assert raw.ok("QueryOrders", {"txid": ok})[ok]["status"] == "open"
    _bid, ask, ask_qty = _best(raw)
    ioc = raw.ok(
        "AddOrder",
        {
            "pair": "XBTUSD",
            "type": "buy",
            "ordertype": "limit",
            "volume": str(ask_qty + 1),
            "price": str(ask),
            "timeinforce": "IOC",
        },
    )["txid"][0]
    info = raw.ok("QueryOrders", {"txid": ioc})[ioc]
    assert info["status"] == "canceled" and D(info["vol_exec"]) == ask_qty
    assert ioc not in raw.ok("OpenOrders")["open"]


def test_cl_ord_id_cancel_filter_and_uniqueness(raw: Raw) -> None:
    p = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
    txid = raw.ok("AddOrder", {**p, "cl_ord_id": "my-order-1"})["txid"][0]
    assert raw.post("AddOrder", {**p, "cl_ord_id": "my-order-1"})["error"] == ["EOrder:Duplicate order"]
    assert list(raw.ok("OpenOrders", {"cl_ord_id": "my-order-1"})["open"]) == [txid]
    assert list(raw.ok("QueryOrders", {"cl_ord_id": "my-order-1"})) == [txid]
    assert raw.ok("CancelOrder", {"cl_ord_id": "my-order-1"}) == {"count": 1}
    assert list(raw.ok("ClosedOrders", {"cl_ord_id": "my-order-1"})["closed"]) == [txid]
    assert raw.post("CancelOrder", {"cl_ord_id": "my-order-1"})["error"] == ["EOrder:Unknown order"]
    # a closed order's id may be reused
    raw.ok("AddOrder", {**p, "cl_ord_id": "my-order-1"})


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"volume": "0.00001"}, "EOrder:Order minimum not met"),
        ({"volume": "0.0001", "price": "100.0"}, "EOrder:Cost minimum not met"),
        ({"price": "50000.05"}, "EOrder:Invalid price:XBTUSD price can only be specified up to 1 decimals."),
        ({"pair": "FOOBAR"}, "EQuery:Unknown asset pair"),
        ({"ordertype": "nonsense"}, "EGeneral:Invalid arguments:ordertype"),
        ({"volume": "abc"}, "EGeneral:Invalid arguments:volume"),
    ],
)
def test_order_errors(raw: Raw, params: dict[str, str], error: str) -> None:
    base = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
    assert raw.post("AddOrder", {**base, **params})["error"] == [error]


def test_tick_size_on_doge(raw: Raw, sb: Sandbox) -> None:
    k, s = sb.create_key(balances={"ZUSD": "1000"})
    r = Raw(sb.rest_url, k, s)
    base = {"pair": "XDGUSD", "type": "buy", "ordertype": "limit", "volume": "100"}
    assert r.post("AddOrder", {**base, "price": "0.15000001"})["error"][0].startswith("EOrder:Invalid price")
    assert r.post("AddOrder", {**base, "price": "0.1500001"})["error"] == []


def test_stop_loss_triggers(raw: Raw, sb: Sandbox) -> None:
    bid, _ask, _ = _best(raw)
    trig = bid - D("0.5")
    txid = raw.ok(
        "AddOrder", {"pair": "XBTUSD", "type": "sell", "ordertype": "stop-loss", "volume": "0.01", "price": str(trig)}
    )["txid"][0]
    assert raw.ok("QueryOrders", {"txid": txid})[txid]["status"] == "open"
    sb.take("XBTUSD", "sell", "3")  # a participant sweeps the bids: last price falls through the trigger
    info = raw.ok("QueryOrders", {"txid": txid})[txid]
    assert info["status"] == "closed" and info["vol_exec"] == "0.01000000"


def test_amend_keeps_txid(raw: Raw) -> None:
    txid = raw.ok(
        "AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.02", "price": "50000.0"}
    )["txid"][0]
    raw.ok("AmendOrder", {"txid": txid, "order_qty": "0.03", "limit_price": "50010.0"})
    info = raw.ok("OpenOrders")["open"][txid]
    assert (info["vol"], info["descr"]["price"]) == ("0.03000000", "50010.0")


def test_cancel_all_orders_after_fires(raw: Raw, sb: Sandbox) -> None:
    p = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
    raw.ok("AddOrder", p)
    raw.ok("AddOrder", p)
    res = raw.ok("CancelAllOrdersAfter", {"timeout": 1})
    assert res["triggerTime"] > res["currentTime"] or res["triggerTime"][-3:] != res["currentTime"][-3:]
    assert len(raw.ok("OpenOrders")["open"]) == 2
    deadline = time.monotonic() + 5
    while raw.ok("OpenOrders")["open"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert raw.ok("OpenOrders")["open"] == {}
    assert all(o["reason"] == "User requested" for o in raw.ok("ClosedOrders")["closed"].values())


def test_cancel_all_orders_after_disarm(raw: Raw) -> None:
    raw.ok("AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"})
    raw.ok("CancelAllOrdersAfter", {"timeout": 1})
    assert raw.ok("CancelAllOrdersAfter", {"timeout": 0})["triggerTime"] == "0"
    time.sleep(1.3)  # nothing to wait on: we assert that nothing happens within the disarmed window
    assert len(raw.ok("OpenOrders")["open"]) == 1


# rate limits -----------------------------------------------------------------------------------------


def test_rest_rate_limit() -> None:
    with Sandbox(seed=1, market=False) as s:
        k, sec = s.create_key(tier="starter")
        r = Raw(s.rest_url, k, sec)
        errors = [r.post("Ledgers")["error"] for _ in range(10)]  # +2 each, max 15
        assert [] in errors and ["EAPI:Rate limit exceeded"] in errors
        assert errors.index(["EAPI:Rate limit exceeded"]) == 7
        s.set_rate_limits(False)
        assert all(r.post("Ledgers")["error"] == [] for _ in range(20))


def test_trading_rate_limit() -> None:
    with Sandbox(seed=1, market=False) as s:
        k, sec = s.create_key(tier="starter", balances={"ZUSD": "10000000"})
        r = Raw(s.rest_url, k, sec)
        p = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
        txids = [r.ok("AddOrder", p)["txid"][0] for _ in range(8)]
        # cancelling young orders costs 8 each; starter threshold is 60
        errs = [r.post("CancelOrder", {"txid": t})["error"] for t in txids]
        assert ["EOrder:Rate limit exceeded"] in errs


# faults ----------------------------------------------------------------------------------------------


def test_fail_next_kraken_error_and_http(raw: Raw, sb: Sandbox) -> None:
    sb.faults.fail_next("/0/private/Balance", n=2, error="EService:Unavailable")
    assert raw.post("Balance")["error"] == ["EService:Unavailable"]
    assert raw.post("Balance")["error"] == ["EService:Unavailable"]
    assert raw.post("Balance")["error"] == []
    sb.faults.fail_next("Time", status=502)
    r = httpx.get(sb.rest_url + "/0/public/Time")
    assert r.status_code == 502 and "cloudflare" in r.text and r.headers["content-type"].startswith("text/html")
    sb.faults.fail_next("Time", status=503)
    r = httpx.get(sb.rest_url + "/0/public/Time")
    assert r.status_code == 503 and r.text == ""
    assert httpx.get(sb.rest_url + "/0/public/Time").status_code == 200
    sb.faults.fail_next("/derivatives/api/v3/tickers", error="Unavailable")
    body = httpx.get(sb.rest_url + "/derivatives/api/v3/tickers").json()
    assert body["result"] == "error" and body["error"] == "Unavailable" and "serverTime" in body


def test_accept_then_timeout_processes_order(raw: Raw, sb: Sandbox) -> None:
    sb.faults.accept_then_timeout("AddOrder", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        raw.http.post(
            "/0/private/AddOrder",
            timeout=0.5,
            **raw.signed(
                "AddOrder",
                {
                    "pair": "XBTUSD",
                    "type": "buy",
                    "ordertype": "limit",
                    "volume": "0.01",
                    "price": "50000.0",
                    "cl_ord_id": "timeout-1",
                },
            ),
        )
    # the order exists: the client can find it by its cl_ord_id
    assert len(raw.ok("OpenOrders", {"cl_ord_id": "timeout-1"})["open"]) == 1


def test_latency(sb: Sandbox) -> None:
    sb.faults.latency(0.3, path="SystemStatus")
    t0 = time.monotonic()
    httpx.get(sb.rest_url + "/0/public/SystemStatus")
    assert time.monotonic() - t0 >= 0.3
    sb.faults.latency(0, path="SystemStatus")
    t0 = time.monotonic()
    httpx.get(sb.rest_url + "/0/public/SystemStatus")
    assert time.monotonic() - t0 < 0.3


def test_system_status_blocks_orders(raw: Raw, sb: Sandbox) -> None:
    p = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
    try:
        sb.faults.set_system_status("cancel_only")
        assert raw.public("SystemStatus")["result"]["status"] == "cancel_only"
        assert raw.post("AddOrder", p)["error"] == ["EService:Market in cancel_only mode"]
        sb.faults.set_system_status("post_only")
        assert raw.post("AddOrder", p)["error"] == ["EService:Market in post_only mode"]
        assert raw.post("AddOrder", {**p, "oflags": "post"})["error"] == []
        sb.faults.set_system_status("maintenance")
        assert raw.post("AddOrder", p)["error"] == ["EService:Unavailable"]
    finally:
        sb.faults.set_system_status("online")
    assert raw.post("AddOrder", p)["error"] == []


def test_admin_http(raw: Raw, sb: Sandbox) -> None:
    r = httpx.post(
        sb.rest_url + "/_sandbox/faults",
        json={"action": "fail_next", "path": "Assets", "n": 1, "error": "EGeneral:Internal error"},
    )
    assert r.json() == {"ok": True}
    assert raw.public("Assets")["error"] == ["EGeneral:Internal error"]
    raw.ok("AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"})
    orders = httpx.get(sb.rest_url + "/_sandbox/orders", params={"key": raw.key}).json()
    assert len(orders) == 1 and orders[0]["status"] == "open"
    assert httpx.post(sb.rest_url + "/_sandbox/faults", json={"action": "nope"}).status_code == 400


def test_request_log_has_no_secrets(raw: Raw, sb: Sandbox) -> None:
    raw.ok("Balance")
    text = repr(sb.requests)
    assert raw.secret not in text and "API-Sign" not in text
    assert any(q["path"] == "/0/private/Balance" and q["api_key"] == raw.key for q in sb.requests)


def test_sync_sandbox_thread_is_stopped() -> None:
    before = threading.active_count()
    with Sandbox(seed=2, market=False) as s:
        assert httpx.get(s.rest_url + "/0/public/Time").status_code == 200
    assert threading.active_count() <= before
