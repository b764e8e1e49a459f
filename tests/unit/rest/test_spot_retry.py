"""Retry decisions (pure) and the call flow: reads retry, orders resolve by cl_ord_id, amend never resends."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import krakenkit._core.errors as E
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, RetryPolicy, SpotClient
from krakenkit.rest._base import (
    Decision,
    OperationKind,
    Sleep,
    backoff_delay,
    decide_retry,
    map_transport_error,
)

SECRET = base64.b64encode(b"retry-secret-" * 5).decode()
NO_WAIT = RetryPolicy(base_delay=0, max_delay=0, outcome_grace=0)
R, C, O, A, W = (  # noqa: E741
    OperationKind.READ,
    OperationKind.CANCEL,
    OperationKind.ORDER_ENTRY,
    OperationKind.AMEND,
    OperationKind.WRITE,
)


def api(error: str, status: int | None = None) -> E.KrakenAPIError:
    return E.error_from_spot([error], endpoint="/x", status_code=status)


def timeout() -> E.KrakenError:
    return map_transport_error(httpx.ReadTimeout("t"), "/x")


def refused() -> E.KrakenError:
    return map_transport_error(httpx.ConnectError("refused"), "/x")


# --- pure decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        api("EService:Unavailable"),
        api("EService:Busy"),
        api("EGeneral:Internal error"),
        api("EGeneral:Too many requests"),
        api("EAPI:Rate limit exceeded"),
        timeout(),
        refused(),
        E.InvalidResponseError("html", status_code=502),
        E.KrakenAPIError("x", status_code=503),
    ],
)
@pytest.mark.parametrize("kind", [R, C])
def test_reads_and_cancels_retry_transient(kind: OperationKind, exc: E.KrakenError) -> None:
    d = decide_retry(kind, exc, attempt=0, max_retries=2, policy=NO_WAIT)
    assert d.action == "retry" and d.counts
    assert decide_retry(kind, exc, attempt=2, max_retries=2).action == "raise"


@pytest.mark.parametrize(
    "exc",
    [
        api("EOrder:Insufficient funds"),
        api("EGeneral:Invalid arguments:x"),
        api("EAPI:Invalid key"),
        api("EGeneral:Temporary lockout"),
        api("EService:Market in cancel_only mode"),
        api("EQuery:Unknown asset pair"),
        E.InvalidResponseError("bad", status_code=200),
    ],
)
def test_reads_do_not_retry_permanent_errors(exc: E.KrakenError) -> None:
    assert decide_retry(R, exc, attempt=0, max_retries=5).action == "raise"


@pytest.mark.parametrize("kind", [R, C, O, A, W])
def test_invalid_nonce_resends_once_without_counting(kind: OperationKind) -> None:
    exc = api("EAPI:Invalid nonce")
    d = decide_retry(kind, exc, attempt=0, max_retries=0)
    assert d == Decision("retry", 0.0, counts=False, reason=d.reason)
    assert decide_retry(kind, exc, attempt=0, max_retries=3, nonce_resends=1).action == "raise"


@pytest.mark.parametrize(
    "exc",
    [
        timeout(),
        api("EService:Unavailable"),
        api("EGeneral:Internal error"),
        api("EService:Busy"),
        E.InvalidResponseError("html", status_code=502),
        map_transport_error(httpx.RemoteProtocolError("x"), "/x"),
    ],
)
def test_order_entry_outcome_unknown(exc: E.KrakenError) -> None:
    assert decide_retry(O, exc, attempt=0, max_retries=3, has_client_id=True).action == "resolve"
    assert decide_retry(O, exc, attempt=0, max_retries=3, has_client_id=False).action == "raise"
    assert decide_retry(A, exc, attempt=0, max_retries=3, has_client_id=True).action == "raise"
    assert decide_retry(W, exc, attempt=0, max_retries=3).action == "raise"


@pytest.mark.parametrize("kind", [O, A, W])
def test_writes_retry_only_when_kraken_did_not_act(kind: OperationKind) -> None:
    assert decide_retry(kind, refused(), attempt=0, max_retries=1).action == "retry"
    assert decide_retry(kind, api("EAPI:Rate limit exceeded"), attempt=0, max_retries=1).action == "retry"
    assert decide_retry(kind, refused(), attempt=1, max_retries=1).action == "raise"
    assert decide_retry(kind, api("EOrder:Insufficient funds"), attempt=0, max_retries=3).action == "raise"


def test_backoff_is_capped_jittered_exponential() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    lows = [backoff_delay(n, policy, rng=lambda a, b: a) for n in range(6)]
    highs = [backoff_delay(n, policy, rng=lambda a, b: b) for n in range(6)]
    assert highs == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert lows == [h / 2 for h in highs]
    assert backoff_delay(0, policy, retry_after=1_000_010.0 + 1e9, now=1e9 + 1_000_008.0) == 2.0
    assert backoff_delay(0, policy, retry_after=100.0) == 4.0  # capped


# --- the flow, through the client ------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, **kw: Any) -> SpotClient:
    kw.setdefault("retry_policy", NO_WAIT)
    kw.setdefault("rate_limiter", NoRateLimit())  # these tests script rate-limit errors; the limiter would wait
    return SpotClient("k", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(handler)), **kw)


def form(request: httpx.Request) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.content.decode()))


OK_ORDER = {"error": [], "result": {"txid": ["OAAAAA-BBBBB-CCCCCC"], "descr": {"order": "buy 1 XBTUSD @ limit 1"}}}
ORDER_INFO = {
    "status": "open",
    "cl_ord_id": "my-id-1",
    "vol": "1.25",
    "vol_exec": "0",
    "descr": {
        "pair": "XBTUSD",
        "type": "buy",
        "ordertype": "limit",
        "price": "100",
        "order": "buy 1.25 XBTUSD @ limit 100",
    },
}
ORDER_ARGS: dict[str, Any] = {"ordertype": "limit", "type": "buy", "volume": "1.25", "pair": "XBTUSD", "price": "100"}


class Script:
    """Answers per path from queues; records every request."""

    def __init__(self, **paths: list[Any]) -> None:
        self.queues = {k: list(v) for k, v in paths.items()}
        self.seen: list[httpx.Request] = []

    def paths(self) -> list[str]:
        return [r.url.path.rsplit("/", 1)[-1] for r in self.seen]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        name = request.url.path.rsplit("/", 1)[-1]
        item = self.queues[name].pop(0)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return httpx.Response(200, json=item)


def test_read_retries_then_succeeds_with_sleep_steps() -> None:
    script = Script(
        Time=[
            httpx.Response(502, text="<html>bad gateway</html>"),
            {"error": ["EService:Busy"]},
            {"error": [], "result": {"unixtime": 1, "rfc1123": "x"}},
        ]
    )
    client = make(script, max_retries=2)
    assert client.get_server_time().unixtime == 1
    assert script.paths() == ["Time"] * 3


def test_read_gives_up_after_max_retries_and_per_call_override() -> None:
    script = Script(Time=[{"error": ["EService:Unavailable"]}] * 10)
    client = make(script, max_retries=3)
    with pytest.raises(E.ServiceUnavailableError):
        client.get_server_time()
    assert len(script.seen) == 4
    with pytest.raises(E.ServiceUnavailableError):
        client.get_server_time(max_retries=0)
    assert len(script.seen) == 5
    with pytest.raises(E.ServiceUnavailableError):
        client.request("GET", "/0/public/Time", max_retries=1)
    assert len(script.seen) == 7


def test_backoff_sleeps_are_yielded_by_the_flow() -> None:
    client = make(Script(), max_retries=2, retry_policy=RetryPolicy(base_delay=1.0, max_delay=1.0))
    client._rng = lambda a, b: b
    flow = client._flow(client._make_call("Time", {}))
    step = next(flow)
    step = flow.send(httpx.Response(200, json={"error": ["EService:Unavailable"]}))
    assert step == Sleep(1.0)
    step = flow.send(None)
    assert type(step).__name__ == "Send"
    with pytest.raises(StopIteration) as stop:
        flow.send(httpx.Response(200, json={"error": [], "result": {"unixtime": 3}}))
    assert stop.value.value.unixtime == 3


def test_invalid_nonce_is_resigned_and_sent_once_more() -> None:
    script = Script(Balance=[{"error": ["EAPI:Invalid nonce"]}, {"error": [], "result": {"ZUSD": "1"}}])
    client = make(script, max_retries=0)
    assert client.get_account_balance()["ZUSD"] == 1
    first, second = script.seen
    assert int(form(second)["nonce"]) > int(form(first)["nonce"])
    assert first.headers["API-Sign"] != second.headers["API-Sign"]
    script2 = Script(Balance=[{"error": ["EAPI:Invalid nonce"]}] * 3)
    with pytest.raises(E.InvalidNonceError):
        make(script2, max_retries=0).get_account_balance()
    assert len(script2.seen) == 2


def test_add_order_timeout_recovers_from_open_orders() -> None:
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost")],
        OpenOrders=[{"error": [], "result": {"open": {"OTXID1-AAAAA-BBBBBB": ORDER_INFO}}}],
    )
    client = make(script, max_retries=2)
    result = client.submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert result.recovered is True
    assert result.txid == ["OTXID1-AAAAA-BBBBBB"]
    assert result.cl_ord_id == "my-id-1"
    assert result.order is not None and result.order.vol == 1.25
    assert result.descr.order == "buy 1.25 XBTUSD @ limit 100"
    assert script.paths() == ["AddOrder", "OpenOrders"]
    assert form(script.seen[1])["cl_ord_id"] == "my-id-1"


def test_add_order_recovers_from_closed_orders_and_lookup_retries_as_read() -> None:
    closed = dict(ORDER_INFO, status="closed")
    script = Script(
        AddOrder=[{"error": ["EService:Unavailable"]}],
        OpenOrders=[httpx.ConnectError("refused"), {"error": [], "result": {"open": {}}}],
        ClosedOrders=[
            {"error": ["EGeneral:Internal error"]},
            {"error": [], "result": {"closed": {"OTXID2-AAAAA-BBBBBB": closed}, "count": 1}},
        ],
    )
    result = make(script, max_retries=1).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert result.recovered and result.txid == ["OTXID2-AAAAA-BBBBBB"]
    assert script.paths() == ["AddOrder", "OpenOrders", "OpenOrders", "ClosedOrders", "ClosedOrders"]


def test_add_order_not_found_is_resent_with_same_cl_ord_id() -> None:
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost"), OK_ORDER],
        OpenOrders=[{"error": [], "result": {"open": {}}}],
        ClosedOrders=[{"error": [], "result": {"closed": {}}}],
    )
    result = make(script, max_retries=1).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert result.recovered is False and result.txid == ["OAAAAA-BBBBB-CCCCCC"]
    assert script.paths() == ["AddOrder", "OpenOrders", "ClosedOrders", "AddOrder"]
    assert form(script.seen[0])["cl_ord_id"] == form(script.seen[3])["cl_ord_id"] == "my-id-1"
    assert form(script.seen[0])["nonce"] != form(script.seen[3])["nonce"]


def test_add_order_not_found_and_no_retries_left_raises_outcome_unknown() -> None:
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost")],
        OpenOrders=[{"error": [], "result": {"open": {}}}],
        ClosedOrders=[{"error": [], "result": {"closed": {}}}],
    )
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        make(script, max_retries=0).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert info.value.cl_ord_id == "my-id-1"
    assert script.paths() == ["AddOrder", "OpenOrders", "ClosedOrders"]


def test_add_order_without_cl_ord_id_is_never_resent() -> None:
    script = Script(AddOrder=[httpx.ReadTimeout("lost"), OK_ORDER])
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        make(script, max_retries=3).submit_order(**ORDER_ARGS)
    exc = info.value
    assert script.paths() == ["AddOrder"]
    assert exc.request["path"] == "/0/private/AddOrder"
    assert exc.request["params"]["volume"] == "1.25" and "nonce" not in exc.request["params"]
    assert isinstance(exc.__cause__, E.APITimeoutError)
    assert E.is_outcome_unknown_error(exc)


def test_add_order_connection_refused_is_resent_blindly_safe() -> None:
    script = Script(AddOrder=[httpx.ConnectError("refused"), OK_ORDER])
    assert make(script, max_retries=1).submit_order(**ORDER_ARGS).txid == ["OAAAAA-BBBBB-CCCCCC"]
    assert script.paths() == ["AddOrder", "AddOrder"]


def test_add_order_refused_by_kraken_is_raised_not_retried() -> None:
    script = Script(AddOrder=[{"error": ["EOrder:Insufficient funds"]}])
    with pytest.raises(E.InsufficientFundsError):
        make(script, max_retries=3).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert len(script.seen) == 1


def test_resend_hitting_duplicate_client_id_resolves_again() -> None:
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost"), {"error": ["EOrder:Duplicate cl_ord_id"]}],
        OpenOrders=[
            {"error": [], "result": {"open": {}}},
            {"error": [], "result": {"open": {"OLATE1-AAAAA-BBBBBB": ORDER_INFO}}},
        ],
        ClosedOrders=[{"error": [], "result": {"closed": {}}}],
    )
    result = make(script, max_retries=2).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert result.recovered and result.txid == ["OLATE1-AAAAA-BBBBBB"]
    assert script.paths() == ["AddOrder", "OpenOrders", "ClosedOrders", "AddOrder", "OpenOrders"]


def test_lookup_ignores_orders_with_another_cl_ord_id() -> None:
    other = dict(ORDER_INFO, cl_ord_id="someone-else")
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost")],
        OpenOrders=[{"error": [], "result": {"open": {"OOTHER-AAAAA-BBBBBB": other}}}],
        ClosedOrders=[{"error": [], "result": {"closed": {}}}],
    )
    with pytest.raises(E.OrderOutcomeUnknownError):
        make(script, max_retries=0).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")


def test_lookup_failure_raises_outcome_unknown_with_cause() -> None:
    script = Script(AddOrder=[httpx.ReadTimeout("lost")], OpenOrders=[{"error": ["EAPI:Invalid key"]}])
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        make(script, max_retries=2).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert isinstance(info.value.__cause__, E.InvalidKeyError)


def test_validate_only_order_is_retried_like_a_read() -> None:
    script = Script(
        AddOrder=[
            httpx.ReadTimeout("lost"),
            {"error": [], "result": {"descr": {"order": "buy 1.25 XBTUSD @ limit 100"}}},
        ]
    )
    result = make(script, max_retries=1).submit_order(**ORDER_ARGS, validate=True)
    assert result.validated and result.txid == [] and result.descr.order.startswith("buy")
    assert script.paths() == ["AddOrder", "AddOrder"]


def test_amend_outcome_unknown_is_never_resent() -> None:
    script = Script(AmendOrder=[{"error": ["EService:Unavailable"]}, {"error": [], "result": {"amend_id": "x"}}])
    with pytest.raises(E.OrderOutcomeUnknownError):
        make(script, max_retries=3).amend_order(txid="OAAAAA-BBBBB-CCCCCC", limit_price="101")
    assert len(script.seen) == 1


def test_cancel_is_retried_and_notes_earlier_unknown_outcome() -> None:
    script = Script(CancelOrder=[httpx.ReadTimeout("lost"), {"error": [], "result": {"count": 1}}])
    assert make(script, max_retries=1).cancel_order(cl_ord_id="my-id-1").count == 1
    script2 = Script(CancelOrder=[httpx.ReadTimeout("lost"), {"error": ["EOrder:Unknown order"]}])
    with pytest.raises(E.UnknownOrderError) as info:
        make(script2, max_retries=1).cancel_order(txid="OAAAAA-BBBBB-CCCCCC")
    assert info.value.context["earlier_attempt_outcome_unknown"] is True


def test_withdraw_is_never_resent_after_unknown_outcome() -> None:
    script = Script(Withdraw=[httpx.ReadTimeout("lost"), {"error": [], "result": {"refid": "x"}}])
    with pytest.raises(E.OrderOutcomeUnknownError):
        make(script, max_retries=3).submit_withdrawal(asset="XBT", key="mine", amount="0.1")
    assert len(script.seen) == 1


def test_rate_limiter_is_consulted_per_send() -> None:
    class Limiter:
        def __init__(self) -> None:
            self.reserved: list[str] = []
            self.limited = 0
            self.ok = 0

        def reserve(self, endpoint: str, params: Any = None) -> float:
            self.reserved.append(endpoint)
            return 0.0

        def on_response(self, endpoint: str, params: Any, result: Any) -> None:
            self.ok += 1

        def on_rate_limited(self, endpoint: str, params: Any) -> None:
            self.limited += 1

    limiter = Limiter()
    script = Script(Balance=[{"error": ["EAPI:Rate limit exceeded"]}, {"error": [], "result": {}}])
    make(script, max_retries=1, rate_limiter=limiter).get_account_balance()
    assert limiter.reserved == ["/0/private/Balance"] * 2
    assert (limiter.limited, limiter.ok) == (1, 1)


async def test_async_recovery_matches_sync() -> None:
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost")],
        OpenOrders=[{"error": [], "result": {"open": {}}}],
        ClosedOrders=[{"error": [], "result": {"closed": {"OTXID3-AAAAA-BBBBBB": ORDER_INFO}}}],
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(script))
    async with AsyncSpotClient("k", SECRET, http_client=http, retry_policy=NO_WAIT) as client:
        result = await client.submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    await http.aclose()
    assert result.recovered and result.txid == ["OTXID3-AAAAA-BBBBBB"]


async def test_async_read_retries() -> None:
    script = Script(Time=[httpx.ConnectError("no"), {"error": [], "result": {"unixtime": 9}}])
    http = httpx.AsyncClient(transport=httpx.MockTransport(script))
    async with AsyncSpotClient(http_client=http, retry_policy=NO_WAIT, max_retries=1) as client:
        assert (await client.get_server_time()).unixtime == 9
    await http.aclose()


def test_unknown_outcome_looks_again_after_a_grace_period_before_resending() -> None:
    """An order still reaching the book is found by the second lookup: no resend, no duplicate."""
    empty_open = {"error": [], "result": {"open": {}}}
    empty_closed = {"error": [], "result": {"closed": {}, "count": 0}}
    late_open = {"error": [], "result": {"open": {"OLATE1-AAAAA-BBBBBB": ORDER_INFO}}}
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost")], OpenOrders=[empty_open, late_open], ClosedOrders=[empty_closed]
    )
    client = make(script, max_retries=2, retry_policy=RetryPolicy(base_delay=0, max_delay=0, outcome_grace=0.5))
    flow = client._flow(client._make_call("AddOrder", {**ORDER_ARGS, "cl_ord_id": "my-id-1"}))
    steps: list[str] = []
    step = next(flow)
    try:
        while True:
            if isinstance(step, Sleep):
                steps.append(f"sleep {step.seconds}")
                step = flow.send(None)
            else:
                steps.append(step.request.url.path.rsplit("/", 1)[-1])
                reply: Any
                try:
                    reply = script(step.request)
                except httpx.HTTPError as exc:
                    reply = exc
                step = flow.send(reply)
    except StopIteration as stop:
        result = stop.value
    assert steps == ["AddOrder", "OpenOrders", "ClosedOrders", "sleep 0.5", "OpenOrders"]
    assert result.recovered and result.txid == ["OLATE1-AAAAA-BBBBBB"]
