"""The REST order flow against the sandbox's own faults: late arrival, garbled 200 after accepting, trickled
bodies (Spot and Derivatives)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import krakenkit._core.errors as E
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import RetryPolicy, SpotClient
from krakenkit.rest.derivatives import DerivativesClient
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)
MARKET: dict[str, Any] = {"ordertype": "market", "type": "buy", "volume": "0.001", "pair": "XBTUSD"}
GARBLE_KINDS = ("html", "truncated", "shape", "deep")


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7, rate_limits=False) as sandbox:
        yield sandbox


def spot(sb: Sandbox, **kw: Any) -> tuple[SpotClient, str]:
    key, secret = sb.create_key(balances={"ZUSD": "10000000", "XXBT": "100"})
    kw.setdefault("retry_policy", FAST)
    kw.setdefault("rate_limiter", NoRateLimit())
    return SpotClient(key, secret, environment=sb.environment, **kw), key


def placed(sb: Sandbox, key: str, cl_ord_id: str) -> list[dict[str, Any]]:
    return [o for o in sb.orders(key) if o.get("cl_ord_id") == cl_ord_id]


@pytest.mark.parametrize(
    ("order_deadline", "late_by", "found_late"),
    [(3.0, 2.5, True), (2.25, 4.0, False)],
    ids=["executes-before-its-deadline", "refused-by-its-deadline"],
)
def test_late_market_orders_on_the_sandbox_execute_once(
    sb: Sandbox, order_deadline: float, late_by: float, found_late: bool
) -> None:
    """15 market orders reach the engine late, after the client stopped waiting (attempt_timeout 1 s) and a
    first look-up found nothing: 0 executed twice."""
    n = 15
    client, key = spot(sb, order_deadline=order_deadline, attempt_timeout=1.0, timeout=15, max_retries=2)
    with client:
        client.get_server_time()
        sb.faults.late_arrival("/0/private/AddOrder", n=n, delay=late_by)
        ids = [client.generate_new_order_id() for _ in range(n)]
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda cid: client.submit_order(**MARKET, cl_ord_id=cid), ids))
    # every request of these ids has been answered (logged), late ones included: one per id when the late
    # order was found, two (the refused late one and the resend) when it was not
    expected = n if found_late else 2 * n
    assert wait_until(lambda: len(add_orders(sb, ids)) >= expected, late_by + 10)
    logged = add_orders(sb, ids)
    assert len(logged) == expected
    if not found_late:
        assert sorted(str(r["errors"]) for r in logged).count("['EService:Deadline elapsed']") == n
    assert [len(placed(sb, key, c)) for c in ids] == [1] * n  # 0 executed twice, 0 missing
    assert all(r.recovered is found_late for r in results)


def add_orders(sb: Sandbox, ids: list[str]) -> list[dict[str, Any]]:
    wanted = set(ids)
    return [r for r in sb.requests if r["path"] == "/0/private/AddOrder" and r["params"].get("cl_ord_id") in wanted]


def wait_until(predicate: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.mark.parametrize("kind", GARBLE_KINDS)
def test_garbled_200_after_accepting_is_recovered_never_not_placed(sb: Sandbox, kind: str) -> None:
    client, key = spot(sb, max_retries=3)
    with client:
        sb.faults.garble_response("/0/private/AddOrder", n=1, kind=kind)
        cid = client.generate_new_order_id()
        result = client.submit_order(**MARKET, cl_ord_id=cid)
    orders = placed(sb, key, cid)
    assert len(orders) == 1 and result.recovered and result.txid == [orders[0]["txid"]]


def test_trickled_answer_ends_the_call_at_its_timeout(sb: Sandbox) -> None:
    client, _key = spot(sb, timeout=1.0)
    with client:
        sb.faults.trickle_response("/0/private/Balance", n=3, chunk=1, interval=0.4)
        start = time.monotonic()
        with pytest.raises(E.APITimeoutError):
            client.get_account_balance()
        elapsed = time.monotonic() - start
    assert elapsed <= 1.0 + 0.35, elapsed


def test_derivatives_late_order_is_never_sent_twice(sb: Sandbox) -> None:
    """No deadline the client can rely on: the late order is looked up; found or not, it is never resent."""
    if sb.futures is None:
        pytest.skip("sandbox without the Futures plug-in")
    key, secret = sb.create_futures_key()
    with DerivativesClient(
        key, secret, environment=sb.environment, attempt_timeout=0.5, timeout=5, retry_policy=FAST, max_retries=3
    ) as client:
        sb.faults.late_arrival("/derivatives/api/v3/sendorder", n=1, delay=1.5)
        cid = client.generate_new_order_id()
        outcome: Any
        try:
            outcome = client.submit_order(orderType="mkt", symbol="PF_XBTUSD", side="buy", size=1, cliOrdId=cid)
        except E.OrderOutcomeUnknownError as exc:
            outcome = exc
    assert isinstance(outcome, E.OrderOutcomeUnknownError) and outcome.cl_ord_id == cid
    assert wait_until(lambda: [r for r in sb.requests if r["path"].endswith("/sendorder")], 5)  # the late one
    sends = [r for r in sb.requests if r["path"].endswith("/sendorder") and cid in str(r["params"])]
    assert len(sends) == 1
