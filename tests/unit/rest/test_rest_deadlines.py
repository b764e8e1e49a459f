"""Spot order deadlines on the wire, the per-call time budget, and "unknown means unknown" for every call that
can place, amend or cancel an order."""

from __future__ import annotations

import base64
import inspect
import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from rest_testkit import FakeTime, drive, on_fake_time

import krakenkit._core.errors as E
from krakenkit._core.deadline import DEFAULT_ORDER_DEADLINE, parse_deadline
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, RetryPolicy, SpotClient
from krakenkit.rest.derivatives import DerivativesClient

SECRET = base64.b64encode(b"deadline-secret-" * 4).decode()
NO_WAIT = RetryPolicy(base_delay=0, max_delay=0)
ORDER: dict[str, Any] = {"ordertype": "limit", "type": "buy", "volume": "1", "pair": "XBTUSD", "price": "10"}
ITEM: dict[str, Any] = {k: v for k, v in ORDER.items() if k != "pair"}  # a batch order (the pair is the batch's)
PLACED = {"error": [], "result": {"txid": ["OAAAAA-BBBBB-CCCCCC"], "descr": {"order": "buy 1 XBTUSD @ limit 10"}}}
EMPTY_OPEN = {"error": [], "result": {"open": {}}}
EMPTY_CLOSED = {"error": [], "result": {"closed": {}, "count": 0}}


class Script:
    def __init__(self, **paths: list[Any]) -> None:
        self.queues = {k: list(v) for k, v in paths.items()}
        self.seen: list[httpx.Request] = []

    def names(self) -> list[str]:
        return [r.url.path.rsplit("/", 1)[-1] for r in self.seen]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        item = self.queues[request.url.path.rsplit("/", 1)[-1]].pop(0)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return httpx.Response(200, json=item)


def make(handler: Any, **kw: Any) -> SpotClient:
    kw.setdefault("retry_policy", NO_WAIT)
    kw.setdefault("rate_limiter", NoRateLimit())
    return SpotClient("k", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(handler)), **kw)


def body(request: httpx.Request) -> dict[str, Any]:
    if request.headers["content-type"] == "application/json":
        data: dict[str, Any] = json.loads(request.content)
        return data
    return dict(urllib.parse.parse_qsl(request.content.decode()))


def now() -> float:
    return datetime.now(UTC).timestamp()


# --- the deadline on the wire --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "kwargs", "answer"),
    [
        ("submit_order", ORDER, PLACED),
        (
            "amend_order",
            {"txid": "OAAAAA-BBBBB-CCCCCC", "limit_price": "11"},
            {"error": [], "result": {"amend_id": "a"}},
        ),
        (
            "edit_order",
            {"txid": "OAAAAA-BBBBB-CCCCCC", "pair": "XBTUSD", "price": "11"},
            {"error": [], "result": {"txid": "OB", "descr": {"order": "x"}}},
        ),
        (
            "submit_batch_orders",
            {"orders": [{**ITEM, "cl_ord_id": "b1"}, {**ITEM, "cl_ord_id": "b2"}], "pair": "XBTUSD"},
            {"error": [], "result": {"orders": [{"txid": "O1"}, {"txid": "O2"}]}},
        ),
    ],
)
def test_every_order_placing_call_carries_krakens_deadline(method: str, kwargs: dict[str, Any], answer: Any) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    before = now()
    getattr(make(handler, order_deadline=7), method)(**kwargs)
    sent = body(seen[0])
    deadline = parse_deadline(sent["deadline"])
    assert sent["deadline"].endswith("Z") and "T" in sent["deadline"]
    assert before + 7 - 0.5 <= deadline <= now() + 7 + 0.5
    if method == "submit_batch_orders":  # one deadline for the batch, none per order
        assert all("deadline" not in o for o in sent["orders"])


def test_default_order_deadline_is_ten_seconds_and_validate_only_sends_none() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PLACED if "validate" not in body(request) else {"error": [], "result": {}})

    client = make(handler)
    assert client.order_deadline == DEFAULT_ORDER_DEADLINE == 10
    client.submit_order(**ORDER)
    assert parse_deadline(body(seen[0])["deadline"]) == pytest.approx(now() + 10, abs=1)
    client.submit_order(**ORDER, validate=True)
    assert "deadline" not in body(seen[1])


def test_callers_deadline_wins_as_text_or_datetime() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PLACED)

    client = make(handler)
    mine = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    client.submit_order(**ORDER, deadline=mine)
    assert body(seen[0])["deadline"] == mine
    at = datetime.now(UTC) + timedelta(seconds=20)
    client.submit_order(**ORDER, deadline=at)
    assert parse_deadline(body(seen[1])["deadline"]) == pytest.approx(at.timestamp(), abs=0.001)


@pytest.mark.parametrize("offset", [1.0, 61.0, -5.0])
def test_callers_deadline_outside_krakens_range_is_refused_before_sending(offset: float) -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: seen.append(r) or httpx.Response(200, json=PLACED))
    with pytest.raises(E.ValidationError) as info:
        client.submit_order(**ORDER, deadline=datetime.now(UTC) + timedelta(seconds=offset))
    assert info.value.field == "deadline" and seen == []
    with pytest.raises(E.ValidationError) as naive:
        client.submit_order(**ORDER, deadline=datetime.now() + timedelta(seconds=20))
    assert "naive datetime" in str(naive.value) and naive.value.field == "deadline" and seen == []


@pytest.mark.parametrize("bad", [1, 2.0, 61, "10", True])
def test_order_deadline_option_is_checked(bad: Any) -> None:
    with pytest.raises(E.ValidationError) as info:
        SpotClient(order_deadline=bad)
    assert info.value.field == "order_deadline"


def test_deadlines_follow_krakens_clock_from_the_date_header() -> None:
    """Kraken's clock 120 s ahead of ours (Date header): the deadline is written in Kraken's time."""
    ahead = 120.0
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"Date": formatdate(now() + ahead, usegmt=True)}
        if request.url.path.endswith("Time"):
            return httpx.Response(200, headers=headers, json={"error": [], "result": {"unixtime": int(now() + ahead)}})
        return httpx.Response(200, headers=headers, json=PLACED)

    client = make(handler, base_url="https://clock-test.invalid")
    client.get_server_time()
    assert client.server_clock.measured and abs(client.server_clock.offset - ahead) < 1.5
    client.submit_order(**ORDER)
    assert parse_deadline(body(seen[1])["deadline"]) == pytest.approx(now() + ahead + 10, abs=1.5)


# --- the per-call time budget ---------------------------------------------------------------------


def test_every_generated_method_takes_a_per_call_timeout() -> None:
    for cls in (SpotClient, AsyncSpotClient, DerivativesClient):
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or "extra_params" not in inspect.signature(fn).parameters:
                continue
            params = inspect.signature(fn).parameters
            budget = "call_timeout" if name == "cancel_all_orders_after" else "timeout"
            assert budget in params, f"{cls.__name__}.{name}"
    # the dead man's switch keeps Kraken's own ``timeout`` (seconds until cancel-all)
    assert "timeout" in inspect.signature(SpotClient.cancel_all_orders_after).parameters


def test_backoff_that_would_overrun_the_budget_is_not_slept() -> None:
    script = Script(Time=[{"error": ["EService:Unavailable"]}] * 5)
    clock, steps = FakeTime(), []
    client = on_fake_time(make(script, max_retries=5, retry_policy=RetryPolicy(base_delay=2, max_delay=2)), clock)
    client._rng = lambda a, b: b
    with pytest.raises(E.ServiceUnavailableError):
        drive(client, client._make_call("Time", {}, timeout=5), script, clock, steps)
    assert steps == ["Time", "sleep 2.00", "Time", "sleep 2.00", "Time"]  # a third 2 s wait would end past 5 s


def test_timeout_must_be_positive() -> None:
    with pytest.raises(E.ValidationError):
        SpotClient(timeout=0)
    with pytest.raises(E.ValidationError) as info:
        make(lambda r: httpx.Response(200, json={})).get_server_time(timeout=-1)
    assert info.value.field == "timeout"


# --- unknown means unknown ------------------------------------------------------------------------


def _found(txid: str, cl_ord_id: str, status: str = "open") -> dict[str, Any]:
    info = {
        "status": status,
        "cl_ord_id": cl_ord_id,
        "vol": "1",
        "vol_exec": "0",
        "descr": {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "10", "order": "buy 1 @ 10"},
    }
    return {"error": [], "result": {"open" if status == "open" else "closed": {txid: info}}}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Attention Required! | Cloudflare</html>"),
        httpx.Response(200, content=b'{"error":[],"result":{"txid":["O'),
        httpx.Response(200, content=b"[" * 20000 + b"]" * 20000),
        httpx.Response(200, json={"error": [], "result": {"something": "else"}}),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(403, text="forbidden"),
        httpx.Response(404, json={"message": "no such route"}),
        httpx.RemoteProtocolError("peer closed"),
        httpx.ReadTimeout("lost"),
    ],
    ids=["html", "truncated", "deep", "changed-shape", "array", "403-html", "404-json", "reset", "timeout"],
)
def test_any_unreadable_or_non_kraken_answer_to_an_order_is_looked_up(answer: Any) -> None:
    script = Script(AddOrder=[answer], OpenOrders=[_found("OFOUND-AAAAA-BBBBBB", "id-1")])
    result = make(script, max_retries=3).submit_order(**ORDER, cl_ord_id="id-1")
    assert result.recovered and result.txid == ["OFOUND-AAAAA-BBBBBB"]
    assert script.names() == ["AddOrder", "OpenOrders"]


def test_a_kraken_rejection_is_final_and_not_looked_up() -> None:
    script = Script(AddOrder=[httpx.Response(500, json={"error": ["EOrder:Insufficient funds"]})])
    with pytest.raises(E.InsufficientFundsError):
        make(script, max_retries=3).submit_order(**ORDER, cl_ord_id="id-1")
    assert script.names() == ["AddOrder"]


@pytest.mark.parametrize(
    ("method", "kwargs", "ids"),
    [
        ("amend_order", {"cl_ord_id": "am-1", "limit_price": "11"}, ("am-1", None)),
        ("amend_order", {"txid": "OAMEND-AAAAA-BBBBBB", "limit_price": "11"}, (None, "OAMEND-AAAAA-BBBBBB")),
        ("edit_order", {"txid": "OEDIT1-AAAAA-BBBBBB", "pair": "XBTUSD", "price": "11"}, (None, "OEDIT1-AAAAA-BBBBBB")),
    ],
)
def test_amend_and_edit_of_unknown_outcome_are_never_resent(
    method: str, kwargs: dict[str, Any], ids: tuple[str | None, str | None]
) -> None:
    name = "AmendOrder" if method == "amend_order" else "EditOrder"
    script = Script(**{name: [httpx.Response(200, text="<html>oops</html>"), {"error": [], "result": {}}]})
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        getattr(make(script, max_retries=3), method)(**kwargs)
    assert len(script.seen) == 1
    assert info.value.cl_ord_id == ids[0]
    assert info.value.context.get("txid") == ids[1]
    assert info.value.context["deadline"] == body(script.seen[0])["deadline"]


def test_cancel_of_unknown_outcome_is_retried_then_raises_outcome_unknown() -> None:
    garbled = httpx.Response(200, text="<html>oops</html>")
    script = Script(CancelOrder=[garbled, httpx.ReadTimeout("lost"), garbled])
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        make(script, max_retries=2).cancel_order(cl_ord_id="cx-1")
    assert len(script.seen) == 3 and info.value.cl_ord_id == "cx-1"


def test_batch_partly_found_after_the_deadline_reports_each_order() -> None:
    both = [{**ITEM, "cl_ord_id": "b-1"}, {**ITEM, "cl_ord_id": "b-2"}]
    script = Script(
        AddOrderBatch=[httpx.ReadTimeout("lost")],
        OpenOrders=[_found("OB1AAA-AAAAA-BBBBBB", "b-1"), _found("OB1AAA-AAAAA-BBBBBB", "b-1")],
        ClosedOrders=[EMPTY_CLOSED, EMPTY_CLOSED],
    )
    clock, steps = FakeTime(), []
    client = on_fake_time(make(script, max_retries=2, timeout=30, order_deadline=3), clock)
    call = client._make_call("AddOrderBatch", {"orders": both, "pair": "XBTUSD"})
    result = drive(client, call, script, clock, steps)
    assert result.recovered
    assert [(o.cl_ord_id, o.txid) for o in result.orders] == [("b-1", "OB1AAA-AAAAA-BBBBBB"), ("b-2", None)]
    assert result.orders[1].error and "not placed" in result.orders[1].error
    assert script.names().count("AddOrderBatch") == 1  # never resent in part
    assert any(s.startswith("sleep") for s in steps)  # the partial find waited for the deadline first


def test_batch_absent_after_the_deadline_is_resent_whole_with_the_same_ids() -> None:
    both = [{**ITEM, "cl_ord_id": "b-1"}, {**ITEM, "cl_ord_id": "b-2"}]
    script = Script(
        AddOrderBatch=[
            {"error": ["EService:Busy"]},
            {"error": [], "result": {"orders": [{"txid": "O1"}, {"txid": "O2"}]}},
        ],
        OpenOrders=[EMPTY_OPEN, EMPTY_OPEN],
        ClosedOrders=[EMPTY_CLOSED] * 4,
    )
    clock, steps = FakeTime(), []
    client = on_fake_time(make(script, max_retries=1, timeout=30, order_deadline=3), clock)
    result = drive(client, client._make_call("AddOrderBatch", {"orders": both, "pair": "XBTUSD"}), script, clock, steps)
    assert not result.recovered and [o.txid for o in result.orders] == ["O1", "O2"]
    first, second = (body(r) for r in script.seen if r.url.path.endswith("AddOrderBatch"))
    assert [o["cl_ord_id"] for o in first["orders"]] == [o["cl_ord_id"] for o in second["orders"]]
    assert parse_deadline(second["deadline"]) > parse_deadline(first["deadline"]) + 3


def test_batch_without_a_cl_ord_id_on_every_order_is_outcome_unknown() -> None:
    script = Script(AddOrderBatch=[httpx.ReadTimeout("lost")])
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        make(script, max_retries=3).submit_batch_orders(orders=[{**ITEM, "cl_ord_id": "b-1"}, ITEM], pair="XBTUSD")
    assert info.value.cl_ord_id == "b-1" and script.names() == ["AddOrderBatch"]


def test_is_outcome_unknown_error_calls_unreadable_answers_unknown_whatever_the_status() -> None:
    for status in (200, 302, 403, 502, None):
        assert E.is_outcome_unknown_error(E.InvalidResponseError("x", status_code=status))
    rejected = E.error_from_spot(["EOrder:Insufficient funds"], status_code=500)
    assert not E.is_outcome_unknown_error(rejected) and E.is_definitive_rejection(rejected)
    assert E.is_outcome_unknown_error(E.error_from_spot(["EService:Unavailable"]))
    assert not E.is_definitive_rejection(E.error_from_spot(["EGeneral:Internal error"]))
    assert not E.is_definitive_rejection(E.KrakenAPIError("HTTP 403 without Kraken error strings", status_code=403))
    assert not E.is_outcome_unknown_error(E.OrderNotPlacedError("proven", cl_ord_id="x"))
