"""Retry decisions (pure) and the call flow: reads retry, orders resolve by cl_ord_id (and are resent only
after their deadline passed and a look-up proved them absent), amend never resends."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from rest_testkit import FakeTime, drive, on_fake_time

import krakenkit._core.errors as E
from krakenkit._core.deadline import format_deadline, parse_deadline
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
NO_WAIT = RetryPolicy(base_delay=0, max_delay=0)
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
    exhausted = decide_retry(kind, exc, attempt=2, max_retries=2).action
    # a cancel whose last attempt may have acted ends "unknown" (OrderOutcomeUnknownError), not with the raw error
    unknown = kind is C and not exc.retry_safe and not E.is_definitive_rejection(exc)
    assert exhausted == ("unknown" if unknown else "raise")


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
def test_invalid_nonce_resends_without_counting_up_to_the_policy_cap(kind: OperationKind) -> None:
    exc = api("EAPI:Invalid nonce")
    d = decide_retry(kind, exc, attempt=0, max_retries=0)
    assert d == Decision("retry", 0.0, counts=False, reason=d.reason)
    cap = RetryPolicy().nonce_resends
    assert decide_retry(kind, exc, attempt=0, max_retries=0, nonce_resends=cap - 1).action == "retry"
    assert decide_retry(kind, exc, attempt=0, max_retries=3, nonce_resends=cap).action == "raise"


@pytest.mark.parametrize(
    "exc",
    [
        timeout(),
        api("EService:Unavailable"),
        api("EGeneral:Internal error"),
        api("EService:Busy"),
        E.InvalidResponseError("html", status_code=502),
        E.InvalidResponseError("html on a 200", status_code=200),
        E.InvalidResponseError("truncated", status_code=None),
        E.KrakenAPIError("HTTP 404 without Kraken error strings", status_code=404),
        map_transport_error(httpx.RemoteProtocolError("x"), "/x"),
    ],
)
def test_order_entry_outcome_unknown(exc: E.KrakenError) -> None:
    assert E.is_outcome_unknown_error(exc) or exc.status_code == 404
    assert decide_retry(O, exc, attempt=0, max_retries=3, has_client_id=True).action == "resolve"
    assert decide_retry(O, exc, attempt=0, max_retries=3, has_client_id=False).action == "unknown"
    assert decide_retry(A, exc, attempt=0, max_retries=3, has_client_id=True).action == "unknown"
    assert decide_retry(W, exc, attempt=0, max_retries=3).action == "unknown"


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
        self.times: list[float] = []  # the clock's time of each request (when a FakeTime is attached)
        self.clock: FakeTime | None = None

    def paths(self) -> list[str]:
        return [r.url.path.rsplit("/", 1)[-1] for r in self.seen]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        self.times.append(self.clock.time() if self.clock is not None else 0.0)
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
    capped = make(script2, max_retries=0, retry_policy=RetryPolicy(base_delay=0, max_delay=0, nonce_resends=1))
    with pytest.raises(E.InvalidNonceError):
        capped.get_account_balance()
    assert len(script2.seen) == 2


def test_invalid_nonce_on_an_order_is_resent_with_a_fresh_nonce() -> None:
    """Kraken refuses an invalid-nonce request before processing it: an order is re-signed and sent again."""
    script = Script(AddOrder=[{"error": ["EAPI:Invalid nonce"]}, {"error": ["EAPI:Invalid nonce"]}, OK_ORDER])
    result = make(script, max_retries=0).submit_order(**ORDER_ARGS, cl_ord_id="my-id-1")
    assert result.txid == ["OAAAAA-BBBBB-CCCCCC"] and not result.recovered
    nonces = [int(form(r)["nonce"]) for r in script.seen]
    assert len(nonces) == 3 and nonces == sorted(set(nonces))
    assert all(form(r)["cl_ord_id"] == "my-id-1" for r in script.seen)


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


def _drive_order(script: Script, clock: FakeTime, steps: list[str], **kw: Any) -> Any:
    script.clock = clock
    client = on_fake_time(make(script, **kw), clock)
    call = client._make_call("AddOrder", {**ORDER_ARGS, "cl_ord_id": "my-id-1"})
    return drive(client, call, script, clock, steps)


def test_add_order_not_found_is_resent_only_after_its_deadline_passed() -> None:
    """Nothing goes out again before the first request's deadline has certainly passed on Kraken's clock and a
    look-up after it found nothing; the resend keeps the cl_ord_id and carries a new, later deadline."""
    empty_open = {"error": [], "result": {"open": {}}}
    empty_closed = {"error": [], "result": {"closed": {}}}
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost"), OK_ORDER],
        OpenOrders=[empty_open, empty_open],
        ClosedOrders=[empty_closed, empty_closed],
    )
    clock, steps = FakeTime(), []
    result = _drive_order(script, clock, steps, max_retries=1, timeout=30, order_deadline=10)
    assert result.recovered is False and result.txid == ["OAAAAA-BBBBB-CCCCCC"]
    assert [s for s in steps if not s.startswith("sleep")] == [
        "AddOrder",
        "OpenOrders",
        "ClosedOrders",
        "OpenOrders",
        "ClosedOrders",
        "AddOrder",
    ]
    first, second = form(script.seen[0]), form(script.seen[5])
    assert first["cl_ord_id"] == second["cl_ord_id"] == "my-id-1"
    assert first["nonce"] != second["nonce"]
    first_deadline = parse_deadline(first["deadline"])
    # the proving look-up was sent after the deadline plus the clock's uncertainty (2 s unmeasured)
    proving_lookup_at = script.times[3]
    assert proving_lookup_at >= first_deadline + 2.0
    assert parse_deadline(second["deadline"]) > proving_lookup_at


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
    empty_open = {"error": [], "result": {"open": {}}}
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost"), {"error": ["EOrder:Duplicate cl_ord_id"]}],
        OpenOrders=[empty_open, empty_open, {"error": [], "result": {"open": {"OLATE1-AAAAA-BBBBBB": ORDER_INFO}}}],
        ClosedOrders=[{"error": [], "result": {"closed": {}}}] * 2,
    )
    clock, steps = FakeTime(), []
    result = _drive_order(script, clock, steps, max_retries=2, timeout=30)
    assert result.recovered and result.txid == ["OLATE1-AAAAA-BBBBBB"]
    assert script.paths() == [
        "AddOrder",
        "OpenOrders",
        "ClosedOrders",
        "OpenOrders",
        "ClosedOrders",
        "AddOrder",
        "OpenOrders",
    ]


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


def test_late_order_is_found_by_the_look_up_after_its_deadline_and_never_resent() -> None:
    """The 2.5 s late arrival: the first look-up sees nothing, the order reaches the book later (before its
    deadline); the look-up after the deadline finds it: returned as recovered, no second AddOrder."""
    empty_open = {"error": [], "result": {"open": {}}}
    empty_closed = {"error": [], "result": {"closed": {}, "count": 0}}
    late_closed = {"error": [], "result": {"closed": {"OLATE1-AAAAA-BBBBBB": dict(ORDER_INFO, status="closed")}}}
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost")],
        OpenOrders=[empty_open, empty_open],
        ClosedOrders=[empty_closed, late_closed],
    )
    clock, steps = FakeTime(), []
    result = _drive_order(script, clock, steps, max_retries=3, timeout=30, order_deadline=5)
    assert result.recovered and result.txid == ["OLATE1-AAAAA-BBBBBB"]
    assert script.paths().count("AddOrder") == 1
    assert steps[3].startswith("sleep") and float(steps[3].split()[1]) >= 5 + 2.0


def test_not_found_after_the_deadline_without_retries_left_is_proven_not_placed() -> None:
    empty_open = {"error": [], "result": {"open": {}}}
    empty_closed = {"error": [], "result": {"closed": {}}}
    script = Script(
        AddOrder=[{"error": ["EService:Unavailable"]}],
        OpenOrders=[empty_open] * 2,
        ClosedOrders=[empty_closed] * 2,
    )
    clock, steps = FakeTime(), []
    with pytest.raises(E.OrderNotPlacedError) as info:
        _drive_order(script, clock, steps, max_retries=0, timeout=30, order_deadline=3)
    assert info.value.cl_ord_id == "my-id-1"
    assert info.value.context["deadline"] == form(script.seen[0])["deadline"]
    assert not E.is_outcome_unknown_error(info.value)
    assert script.paths().count("AddOrder") == 1


def test_deadline_wait_longer_than_the_budget_raises_outcome_unknown_with_the_deadline() -> None:
    empty_open = {"error": [], "result": {"open": {}}}
    empty_closed = {"error": [], "result": {"closed": {}}}
    script = Script(AddOrder=[httpx.ReadTimeout("lost")], OpenOrders=[empty_open], ClosedOrders=[empty_closed])
    clock, steps = FakeTime(), []
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        _drive_order(script, clock, steps, max_retries=3, timeout=10, order_deadline=10)
    assert info.value.cl_ord_id == "my-id-1"
    assert info.value.context["deadline"] == form(script.seen[0])["deadline"]
    assert "after that time" in str(info.value)
    assert not any(s.startswith("sleep") for s in steps)  # no pointless wait: it could not prove anything
    assert script.paths() == ["AddOrder", "OpenOrders", "ClosedOrders"]


def test_caller_deadline_is_sent_as_given_and_never_resent_past() -> None:
    empty_open = {"error": [], "result": {"open": {}}}
    empty_closed = {"error": [], "result": {"closed": {}}}
    script = Script(
        AddOrder=[httpx.ReadTimeout("lost"), OK_ORDER],
        OpenOrders=[empty_open] * 2,
        ClosedOrders=[empty_closed] * 2,
    )
    clock = FakeTime()
    client = on_fake_time(make(script, max_retries=3, timeout=40), clock)
    mine = format_deadline(clock.time() + 20)
    call = client._make_call("AddOrder", {**ORDER_ARGS, "cl_ord_id": "my-id-1", "deadline": mine})
    with pytest.raises(E.OrderNotPlacedError):
        drive(client, call, script, clock, [])
    assert form(script.seen[0])["deadline"] == mine
    assert script.paths().count("AddOrder") == 1
