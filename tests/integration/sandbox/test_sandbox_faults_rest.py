"""Order-safety faults on Spot REST, over raw HTTP: late arrival (nonce at receipt, deadline at
processing), garbled 200 answers after the order was placed, trickled bodies, and the placed-order
inspection chaos tests count duplicates with."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sandbox_testkit import Raw, rfc3339_in, wait_until

from krakenkit_sandbox import Sandbox

D = Decimal
LIMIT = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
MARKET = {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "0.01"}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=11, market=False, rate_limits=False) as s:
        yield s


@pytest.fixture
def raw(sb: Sandbox) -> Iterator[Raw]:
    key, secret = sb.create_key(balances={"ZUSD": "1000000", "XXBT": "10"})
    yield Raw(sb.rest_url, key, secret)
    sb.faults.clear()


def _placed(sb: Sandbox, raw: Raw, cl: str) -> list[dict[str, Any]]:
    return sb.placed_orders(raw.key, cl_ord_id=cl)


# late arrival ---------------------------------------------------------------------------------------------
def test_late_order_is_placed_after_the_client_gave_up(raw: Raw, sb: Sandbox) -> None:
    sb.faults.late_arrival("AddOrder", n=1, delay=0.5)
    sent = time.time()
    with pytest.raises(httpx.ReadTimeout):
        raw.http.post("/0/private/AddOrder", timeout=0.15, **raw.signed("AddOrder", {**MARKET, "cl_ord_id": "late-1"}))
    # received (its nonce is taken) but not processed yet: the client's look-ups find nothing
    assert raw.ok("OpenOrders", {"cl_ord_id": "late-1"})["open"] == {}
    assert raw.ok("ClosedOrders", {"cl_ord_id": "late-1"})["closed"] == {}
    assert _placed(sb, raw, "late-1") == []
    wait_until(lambda: len(_placed(sb, raw, "late-1")) == 1)
    order = _placed(sb, raw, "late-1")[0]
    assert order["time"] - sent >= 0.45  # processed against the engine half a second after receipt
    assert order["status"] == "closed" and order["filled"] == D("0.01") and len(order["fills"]) >= 1
    # a resend of the same cl_ord_id now fills again: Kraken refuses a repeated id only while it is open
    raw.ok("AddOrder", {**MARKET, "cl_ord_id": "late-1"})
    assert sb.duplicate_client_ids(raw.key, filled_only=True) == {"late-1": 2}


def test_late_request_nonce_is_taken_on_receipt(raw: Raw, sb: Sandbox) -> None:
    sb.faults.late_arrival("AddOrder", delay=0.4)
    late_nonce = raw.next_nonce()
    lower = str(int(late_nonce) - 1)
    with pytest.raises(httpx.ReadTimeout):
        raw.http.post(
            "/0/private/AddOrder",
            timeout=0.1,
            **raw.signed("AddOrder", {**LIMIT, "cl_ord_id": "late-2"}, nonce=late_nonce),
        )
    # the late request's nonce is already the key's highest: a lower one is refused before processing
    assert raw.post("Balance", nonce=lower)["error"] == ["EAPI:Invalid nonce"]
    assert raw.post("Balance")["error"] == []  # a higher one passes at once, the engine is not blocked
    wait_until(lambda: len(_placed(sb, raw, "late-2")) == 1)


def test_refused_request_uses_up_no_late_arrival(raw: Raw, sb: Sandbox) -> None:
    raw.ok("Balance")
    sb.faults.late_arrival("AddOrder", delay=0.3)
    t0 = time.monotonic()
    bad = raw.post("AddOrder", {**LIMIT, "cl_ord_id": "late-3"}, nonce="1")  # an invalid nonce
    assert bad["error"] == ["EAPI:Invalid nonce"] and time.monotonic() - t0 < 0.25  # answered on receipt
    t0 = time.monotonic()
    assert "txid" in raw.ok("AddOrder", {**LIMIT, "cl_ord_id": "late-3"})  # the client still connected: answered
    assert time.monotonic() - t0 >= 0.3  # this one was the late one


def test_deadline_is_judged_when_processed(raw: Raw, sb: Sandbox) -> None:
    sb.faults.late_arrival("AddOrder", n=2, delay=0.3)
    # valid on receipt, elapsed when the engine gets it
    assert raw.post("AddOrder", {**MARKET, "cl_ord_id": "dl-1", "deadline": rfc3339_in(0.15)})["error"] == [
        "EService:Deadline elapsed"
    ]
    assert _placed(sb, raw, "dl-1") == []
    assert "txid" in raw.ok("AddOrder", {**MARKET, "cl_ord_id": "dl-2", "deadline": rfc3339_in(5)})
    assert len(_placed(sb, raw, "dl-2")) == 1


def test_deadline_elapsed_on_batch_edit_and_amend(raw: Raw, sb: Sandbox) -> None:
    txid = raw.ok("AddOrder", {**LIMIT, "cl_ord_id": "dl-open"})["txid"][0]
    sb.faults.late_arrival(["AddOrderBatch", "EditOrder", "AmendOrder"], n=3, delay=0.3)
    batch = {
        "pair": "XBTUSD",
        "deadline": rfc3339_in(0.15),
        "orders": [
            {"type": "buy", "ordertype": "limit", "volume": "0.01", "price": "49000.0", "cl_ord_id": "dl-b1"},
            {"type": "buy", "ordertype": "limit", "volume": "0.01", "price": "48000.0", "cl_ord_id": "dl-b2"},
        ],
    }
    assert raw.post("AddOrderBatch", batch, as_json=True)["error"] == ["EService:Deadline elapsed"]
    edit = {"txid": txid, "pair": "XBTUSD", "price": "49500.0", "deadline": rfc3339_in(0.15)}
    assert raw.post("EditOrder", edit)["error"] == ["EService:Deadline elapsed"]
    amend = {"cl_ord_id": "dl-open", "limit_price": "49600.0", "deadline": rfc3339_in(0.15)}
    assert raw.post("AmendOrder", amend)["error"] == ["EService:Deadline elapsed"]
    orders = sb.placed_orders(raw.key)
    assert [(o["cl_ord_id"], o["status"]) for o in orders] == [("dl-open", "open")]  # nothing placed or changed
    assert raw.ok("QueryOrders", {"txid": txid})[txid]["descr"]["price"] == "50000.0"


# garbled 200 after accepting ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["html", "truncated", "shape", "deep"])
def test_garbled_answer_after_the_order_was_placed(raw: Raw, sb: Sandbox, kind: str) -> None:
    cl = f"garble-{kind}"
    sb.faults.garble_response("AddOrder", kind=kind)
    r = raw.http.post("/0/private/AddOrder", **raw.signed("AddOrder", {**LIMIT, "cl_ord_id": cl}))
    assert r.status_code == 200
    if kind == "html":
        assert r.headers["content-type"].startswith("text/html") and r.text.lstrip().startswith("<!DOCTYPE html>")
    elif kind == "truncated":
        with pytest.raises(ValueError):
            json.loads(r.text)
        assert r.text.startswith('{"error": []')
    elif kind == "shape":
        body = r.json()
        assert body["error"] == [] and not isinstance(body["result"], dict)  # the envelope, the wrong types
    else:
        assert r.text.count("[") >= 100_000
        with pytest.raises(RecursionError):
            json.loads(r.text)
    assert [o["status"] for o in _placed(sb, raw, cl)] == ["open"]  # the order is on the book all the same
    assert raw.ok("OpenOrders", {"cl_ord_id": cl})["open"]  # and the next answer is clean


# trickled bodies -------------------------------------------------------------------------------------------
def test_trickled_body_arrives_in_chunks_without_blocking_others(raw: Raw, sb: Sandbox) -> None:
    sb.faults.trickle_response("Balance", chunk=16, interval=0.1)
    t0 = time.monotonic()
    chunks: list[bytes] = []
    with raw.http.stream("POST", "/0/private/Balance", **raw.signed("Balance")) as r:
        assert r.status_code == 200 and time.monotonic() - t0 < 0.5  # headers first, at once
        size = int(r.headers["content-length"])
        # meanwhile the sandbox answers other requests
        t1 = time.monotonic()
        assert httpx.get(sb.rest_url + "/0/public/Time").json()["error"] == []
        assert time.monotonic() - t1 < 0.5
        chunks.extend(r.iter_raw())
    took = time.monotonic() - t0
    body = b"".join(chunks)
    assert len(body) == size and json.loads(body)["error"] == []
    assert len(chunks) >= 3 and took >= 0.1 * (size // 16)  # one 16-byte chunk per 0.1 s


def test_trickle_any_path_once(raw: Raw, sb: Sandbox) -> None:
    sb.faults.trickle_response(None, n=1, chunk=16, interval=0.05)
    t0 = time.monotonic()
    r = httpx.get(sb.rest_url + "/0/public/SystemStatus")
    assert r.json()["result"]["status"] == "online"
    assert time.monotonic() - t0 >= 0.05 * (len(r.content) // 16)
    t0 = time.monotonic()
    httpx.get(sb.rest_url + "/0/public/SystemStatus")
    assert time.monotonic() - t0 < 0.3  # used up


# inspection and admin --------------------------------------------------------------------------------------
def test_placed_orders_inspection_and_admin(raw: Raw, sb: Sandbox) -> None:
    raw.ok("AddOrder", {**LIMIT, "cl_ord_id": "insp-1"})
    raw.ok("AddOrder", {**MARKET, "cl_ord_id": "insp-2"})
    raw.ok("AddOrder", {**MARKET, "cl_ord_id": "insp-2"})  # executed twice
    mine = sb.placed_orders(raw.key)
    assert [o["cl_ord_id"] for o in mine] == ["insp-1", "insp-2", "insp-2"]
    assert {o["product"] for o in mine} == {"spot"} and all(o["api_key"] == raw.key for o in mine)
    filled = [o for o in mine if o["fills"]]
    assert len(filled) == 2 and all(sum(f["qty"] for f in o["fills"]) == o["filled"] for o in filled)
    assert sb.duplicate_client_ids(raw.key) == {"insp-2": 2}
    over_http = httpx.get(sb.rest_url + "/_sandbox/placed_orders", params={"key": raw.key, "cl_ord_id": "insp-2"})
    rows = over_http.json()
    assert len(rows) == 2 and D(rows[0]["filled"]) == D("0.01") == sum(D(f["qty"]) for f in rows[0]["fills"])
    dup = httpx.get(sb.rest_url + "/_sandbox/duplicates", params={"key": raw.key, "filled_only": "1"})
    assert dup.json() == {"insp-2": 2}


def test_faults_over_admin_http(raw: Raw, sb: Sandbox) -> None:
    admin = sb.rest_url + "/_sandbox/faults"
    cmds = [
        {"action": "late_arrival", "path": "AddOrder", "n": 1, "delay": 0.3},
        {"action": "garble_response", "path": ["AddOrder"], "n": 1, "kind": "truncated"},
    ]
    assert httpx.post(admin, json=cmds).json() == {"ok": True}
    t0 = time.monotonic()
    r = raw.http.post("/0/private/AddOrder", **raw.signed("AddOrder", {**LIMIT, "cl_ord_id": "admin-1"}))
    assert time.monotonic() - t0 >= 0.3
    with pytest.raises(ValueError):
        json.loads(r.text)
    assert len(_placed(sb, raw, "admin-1")) == 1
    for bad in (
        {"action": "late_arrival", "path": "AddOrder", "n": 0},
        {"action": "garble_response", "path": "AddOrder", "kind": "xml"},
        {"action": "trickle_response", "chunk": 0},
        {"action": "late_arrival", "path": "AddOrder", "delay": -1},
        {"action": "late_arrival", "nope": 1},
    ):
        assert httpx.post(admin, json=bad).status_code == 400, bad
    assert httpx.post(admin, json={"action": "clear"}).json() == {"ok": True}
