"""SpotClient / AsyncSpotClient against the local sandbox over real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import krakenkit._core.errors as E
from krakenkit.rest import AsyncSpotClient, RetryPolicy, SpotClient
from krakenkit.sandbox import Sandbox

FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)
ORDER: dict[str, Any] = {"ordertype": "limit", "type": "buy", "volume": "0.01", "pair": "XBTUSD", "price": "1000"}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=1) as sandbox:
        yield sandbox


@pytest.fixture
def creds(sb: Sandbox) -> tuple[str, str]:
    return sb.create_key()


def mine(sb: Sandbox, key: str, cl_ord_id: str) -> list[dict[str, Any]]:
    return [o for o in sb.orders(key) if o.get("cl_ord_id") == cl_ord_id]


def test_sync_full_cycle(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    with SpotClient(key, secret, environment=sb.environment, retry_policy=FAST) as c:
        assert c.get_system_status().status == "online"
        assert c.get_server_time().unixtime > 1_600_000_000
        ticker = c.get_ticker(pair="XBTUSD")
        info = next(iter(ticker.values()))
        assert isinstance(info.ask, Decimal) and info.bid is not None and info.ask > info.bid
        book = c.get_order_book(pair="XBTUSD", count=5)
        levels = next(iter(book.values()))
        assert 0 < len(levels.asks) <= 5 and levels.asks[0].price > levels.bids[0].price
        assert "XXBTZUSD" in c.get_asset_pairs(pair="XBTUSD")
        balance = c.get_account_balance()
        assert balance["ZUSD"] == Decimal("100000")

        checked = c.submit_order(**ORDER, validate=True)
        assert checked.validated and checked.txid == [] and "XBTUSD" in checked.descr.order
        assert sb.orders(key) == []

        cid = c.generate_new_order_id()
        placed = c.submit_order(**ORDER, cl_ord_id=cid)
        assert len(placed.txid) == 1 and placed.cl_ord_id == cid and not placed.recovered
        found = c.get_open_orders(cl_ord_id=cid)
        assert list(found.open) == placed.txid
        assert found.open[placed.txid[0]].vol == Decimal("0.01")
        assert c.get_orders(txid=placed.txid)[placed.txid[0]].cl_ord_id == cid
        assert c.cancel_order(cl_ord_id=cid).count == 1
        assert c.get_open_orders(cl_ord_id=cid).open == {}
        closed = c.get_closed_orders(cl_ord_id=cid)
        assert closed.closed[placed.txid[0]].status == "canceled"
        assert [o["status"] for o in mine(sb, key, cid)] == ["canceled"]


async def test_async_full_cycle(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    async with AsyncSpotClient(key, secret, environment=sb.environment, retry_policy=FAST) as c:
        assert (await c.get_system_status()).status == "online"
        ohlc = await c.get_candles(pair="XBTUSD", interval=1)
        assert ohlc.pair == "XXBTZUSD"
        assert (await c.get_account_balance())["XXBT"] == Decimal("10")
        checked = await c.submit_order(**ORDER, validate=True)
        assert checked.validated
        cid = c.generate_new_order_id()
        placed = await c.submit_order(**ORDER, cl_ord_id=cid)
        assert len(placed.txid) == 1
        assert list((await c.get_open_orders(cl_ord_id=cid)).open) == placed.txid
        assert (await c.cancel_order(txid=placed.txid[0])).count == 1
        assert [o["status"] for o in mine(sb, key, cid)] == ["canceled"]


def test_sync_timeout_after_accept_recovers_exactly_one_order(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    sb.faults.accept_then_timeout("/0/private/AddOrder", n=1, delay=5.0)
    with SpotClient(key, secret, environment=sb.environment, timeout=0.3, retry_policy=FAST) as c:
        cid = c.generate_new_order_id()
        result = c.submit_order(**ORDER, cl_ord_id=cid)
    orders = mine(sb, key, cid)
    assert len(orders) == 1 and len(sb.orders(key)) == 1
    assert result.recovered is True
    assert result.txid == [orders[0]["txid"]]
    assert result.order is not None and result.order.status == "open"


async def test_async_timeout_after_accept_recovers_exactly_one_order(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    sb.faults.accept_then_timeout("/0/private/AddOrder", n=1, delay=5.0)
    async with AsyncSpotClient(key, secret, environment=sb.environment, timeout=0.3, retry_policy=FAST) as c:
        cid = c.generate_new_order_id()
        result = await c.submit_order(**ORDER, cl_ord_id=cid)
    orders = mine(sb, key, cid)
    assert len(orders) == 1 and len(sb.orders(key)) == 1
    assert result.recovered and result.txid == [orders[0]["txid"]]


def test_timeout_without_cl_ord_id_raises_and_does_not_resend(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    sb.faults.accept_then_timeout("/0/private/AddOrder", n=1, delay=5.0)
    with SpotClient(key, secret, environment=sb.environment, timeout=0.3, max_retries=3, retry_policy=FAST) as c:
        with pytest.raises(E.OrderOutcomeUnknownError) as info:
            c.submit_order(**ORDER)
    assert len(sb.orders(key)) == 1  # placed once, never resent
    assert info.value.request["params"]["pair"] == "XBTUSD"


def test_unavailable_before_processing_then_resend_places_one_order(sb: Sandbox, creds: tuple[str, str]) -> None:
    """EService:Unavailable leaves the outcome unknown: the resend waits for the first request's deadline to
    pass (2.5 s here) and a look-up proving it absent; then exactly one order exists."""
    key, secret = creds
    sb.faults.fail_next("/0/private/AddOrder", n=1, error="EService:Unavailable")
    with SpotClient(
        key, secret, environment=sb.environment, retry_policy=FAST, max_retries=2, order_deadline=2.5, timeout=10
    ) as c:
        c.get_server_time()  # one Date header: the clock estimate is measured
        cid = c.generate_new_order_id()
        result = c.submit_order(**ORDER, cl_ord_id=cid)
    assert not result.recovered and len(mine(sb, key, cid)) == 1
    sends = [r for r in sb.requests if r["path"] == "/0/private/AddOrder" and cid in str(r)]
    assert len(sends) == 2


def test_unavailable_with_the_default_budget_is_outcome_unknown_not_resent(sb: Sandbox, creds: tuple[str, str]) -> None:
    """Default timeout (10 s) and order_deadline (10 s): the deadline cannot pass within the call, so nothing
    is resent; the caller gets the cl_ord_id and the deadline after which a look-up is conclusive."""
    key, secret = creds
    sb.faults.fail_next("/0/private/AddOrder", n=1, error="EService:Unavailable")
    with SpotClient(key, secret, environment=sb.environment, retry_policy=FAST, max_retries=2) as c:
        cid = c.generate_new_order_id()
        with pytest.raises(E.OrderOutcomeUnknownError) as info:
            c.submit_order(**ORDER, cl_ord_id=cid)
    assert info.value.cl_ord_id == cid and info.value.context["deadline"]
    assert mine(sb, key, cid) == []


def test_reads_retry_cloudflare_502_and_empty_503(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    sb.faults.fail_next("/0/public/Time", n=1, status=502)
    sb.faults.fail_next("/0/public/Time", n=1, status=503)
    with SpotClient(key, secret, environment=sb.environment, retry_policy=FAST, max_retries=2) as c:
        assert c.get_server_time().unixtime > 0
    sb.faults.fail_next("/0/public/Time", n=1, status=502)
    with SpotClient(environment=sb.environment, max_retries=0) as c, pytest.raises(E.InvalidResponseError) as info:
        c.get_server_time()
    assert info.value.status_code == 502 and "502" in info.value.body_excerpt


def test_sandbox_errors_map_to_classes(sb: Sandbox, creds: tuple[str, str]) -> None:
    key, secret = creds
    with SpotClient(key, secret, environment=sb.environment) as c:
        with pytest.raises(E.InsufficientFundsError):
            c.submit_order(ordertype="limit", type="buy", volume="100", pair="XBTUSD", price="60000")
        with pytest.raises(E.UnknownOrderError):
            c.cancel_order(txid="ONOPE0-AAAAA-BBBBBB")
    with (
        SpotClient(key, "c2VjcmV0LXRoYXQtaXMtd3Jvbmc=", environment=sb.environment) as bad,
        pytest.raises(E.AuthenticationError),
    ):
        bad.get_account_balance()
