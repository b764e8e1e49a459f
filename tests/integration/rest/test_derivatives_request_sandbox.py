"""``DerivativesClient.request`` / ``AsyncDerivativesClient.request`` against the local sandbox: what went
over the wire (``sb.requests``) and what the caller got."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenkit._core.errors import (
    AuthenticationError,
    NotFoundError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    ValidationError,
)
from krakenkit._core.ratelimit import NoRateLimit, shared_derivatives_rate_limiter
from krakenkit.rest._base import RetryPolicy
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.rest.derivatives_models import (
    AccountsResult,
    CancelOrderResult,
    DerivList,
    DerivResult,
    SendOrderResult,
    Ticker,
)
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

V3 = "/derivatives/api/v3"
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=21, market=False) as sandbox:
        yield sandbox


def _sent(sb: Sandbox, api_key: str | None, path: str | None = None) -> list[dict[str, Any]]:
    """REST requests the sandbox received from one key (each test uses a fresh key)."""
    return [
        r
        for r in sb.requests
        if r["transport"] == "rest" and r["api_key"] == api_key and (path is None or r["path"] == path)
    ]


def _far_below(book: Any) -> Decimal:
    """A buy price far under the best bid: rests, never fills."""
    return (book.bids[0][0] * Decimal("0.8")).quantize(Decimal(1))


def _far_bid(client: DerivativesClient) -> Decimal:
    return _far_below(client.get_orderbook(symbol="PF_XBTUSD"))


def _limit_buy(price: Decimal | str, cli_ord_id: str, size: Decimal | str = "0.01") -> dict[str, Any]:
    """``sendorder`` params: a PF_XBTUSD limit buy."""
    return {
        "orderType": "lmt",
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "size": size,
        "limitPrice": price,
        "cliOrdId": cli_ord_id,
    }


def test_private_reads_typed_and_untyped(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=5) as client:
        accounts = client.request("GET", f"{V3}/accounts")
        assert isinstance(accounts, AccountsResult)
        margin = accounts.available_margin()
        assert isinstance(margin, Decimal) and margin > 0
        orders = client.request("GET", "/api/history/v3/orders", {"count": 3, "sort": "desc"})
        assert isinstance(orders, DerivResult) and isinstance(orders.raw, dict)
        positions = client.request("GET", f"{V3}/openpositions")
        assert isinstance(positions, DerivList) and positions == []
    sent = _sent(sb, key)
    assert [(r["method"], r["path"], r["status"]) for r in sent] == [
        ("GET", f"{V3}/accounts", 200),
        ("GET", "/api/history/v3/orders", 200),
        ("GET", f"{V3}/openpositions", 200),
    ]
    assert sent[1]["params"] == {"count": "3", "sort": "desc"}  # signed and accepted by the sandbox


def test_public_paths_with_and_without_a_key(sb: Sandbox) -> None:
    with DerivativesClient(environment=sb.environment, timeout=5) as public:
        ticker = public.request("GET", f"{V3}/tickers/PF_XBTUSD")
        candles = public.request("GET", "/api/charts/v1/trade/PF_XBTUSD/1m", {"count": 2})
    assert isinstance(ticker, Ticker) and ticker.symbol == "PF_XBTUSD" and isinstance(ticker.mark_price, Decimal)
    assert isinstance(candles, DerivResult) and "candles" in candles.raw
    paths = [
        r["path"]
        for r in _sent(sb, None)
        if r["path"] in (f"{V3}/tickers/PF_XBTUSD", "/api/charts/v1/trade/PF_XBTUSD/1m")
    ]
    assert paths == [f"{V3}/tickers/PF_XBTUSD", "/api/charts/v1/trade/PF_XBTUSD/1m"]


def test_order_entry_and_cancel_through_request(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=5) as client:
        price = _far_bid(client)
        cid = client.generate_new_order_id()
        placed = client.request("POST", f"{V3}/sendorder", _limit_buy(price, cid, size=Decimal("0.0100")))
        assert isinstance(placed, SendOrderResult) and placed.status == "placed" and placed.cli_ord_id == cid
        assert [(o.order_id, o.cli_ord_id) for o in client.get_open_orders()] == [(placed.order_id, cid)]
        cancelled = client.request("POST", f"{V3}/cancelorder", {"cliOrdId": cid})
        assert isinstance(cancelled, CancelOrderResult) and cancelled.status == "cancelled"
        with pytest.raises(OrderRejectedError) as again:  # cancelStatus notFound -> raised, as cancel_order does
            client.request("POST", f"{V3}/cancelorder", {"cliOrdId": cid})
        assert again.value.status == "notFound"
        assert client.get_open_orders() == []
    (send,) = _sent(sb, key, f"{V3}/sendorder")
    assert send["method"] == "POST" and send["status"] == 200
    assert send["params"] == _limit_buy(str(price), cid, size="0.01")  # Decimals on the wire as Kraken writes them
    assert len(_sent(sb, key, f"{V3}/cancelorder")) == 2


def test_send_order_of_unknown_outcome_is_found_by_cli_ord_id_not_sent_twice(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=0.5) as client:
        price = _far_bid(client)
        cid = client.generate_new_order_id()
        sb.faults.accept_then_timeout(f"{V3}/sendorder", n=1, delay=5.0)
        res = client.request("POST", f"{V3}/sendorder", _limit_buy(price, cid))
        assert isinstance(res, SendOrderResult) and res.recovered and res.cli_ord_id == cid
        assert [o.cli_ord_id for o in client.get_open_orders()] == [cid]
    assert len(_sent(sb, key, f"{V3}/sendorder")) == 1
    assert len(_sent(sb, key, f"{V3}/orders/status")) >= 1


def test_reads_are_retried_writes_are_not(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    new_path = f"{V3}/not-in-this-sdk"
    with DerivativesClient(
        key, secret, environment=sb.environment, timeout=5, retry_policy=NO_WAIT, rate_limiter=NoRateLimit()
    ) as client:
        # a read: the 502 is retried, then the sandbox's own answer (this path does not exist) is raised
        sb.faults.fail_next(new_path, n=1, status=502)
        with pytest.raises(NotFoundError):
            client.request("GET", new_path, {"q": "1"})
        assert [r["status"] for r in _sent(sb, key, new_path)] == [502, 404]
        # a write of unknown outcome: raised with the request, never resent
        sb.faults.fail_next(new_path, n=1, status=502)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            client.request("POST", new_path, {"amount": "5"})
        assert info.value.request == {"method": "POST", "path": new_path, "params": {"amount": "5"}}
        writes = [r for r in _sent(sb, key, new_path) if r["method"] == "POST"]
        assert [(r["status"], r["params"]) for r in writes] == [(502, {"amount": "5"})]
        # Kraken's apiLimitExceeded: a write Kraken did not act on is resent
        sb.faults.fail_next(f"{V3}/cancelallorders", n=1, error="apiLimitExceeded")
        res = client.request("POST", f"{V3}/cancelallorders", {"symbol": "PF_XBTUSD"})
        assert res.status == "noOrdersToCancel"
    assert len(_sent(sb, key, f"{V3}/cancelallorders")) == 2


def test_wrong_secret_is_authentication_error(sb: Sandbox) -> None:
    key, _ = sb.create_futures_key()
    _, other = sb.create_futures_key()
    with DerivativesClient(key, other, environment=sb.environment, timeout=5) as client:
        with pytest.raises(AuthenticationError):
            client.request("GET", f"{V3}/notifications")
        with pytest.raises(AuthenticationError):  # history: HTTP 401 without the envelope
            client.request("GET", "/api/history/v3/executions", {"count": 1})
    # not transient: neither retried
    assert [(r["path"], r["status"]) for r in _sent(sb, key)] == [
        (f"{V3}/notifications", 200),
        ("/api/history/v3/executions", 401),
    ]


def test_bad_input_never_reaches_the_sandbox(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=5) as client:
        with pytest.raises(ValidationError, match="start with '/'"):
            client.request("GET", "derivatives/api/v3/accounts")
        with pytest.raises(ValidationError, match="GET, POST, PUT, DELETE"):
            client.request("PATCH", f"{V3}/accounts")
        with pytest.raises(ValidationError, match="params="):
            client.request("GET", f"{V3}/accounts?x=1")
        with pytest.raises(ValidationError):
            client.request(
                "POST", f"{V3}/sendorder", {"orderType": "lmt", "symbol": "XBTUSD", "side": "buy", "size": 1}
            )
    assert _sent(sb, key) == []
    assert shared_derivatives_rate_limiter(key).budget_used() == 0


def test_requests_book_on_the_keys_shared_limiter(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    shared = shared_derivatives_rate_limiter(key)
    with (
        DerivativesClient(key, secret, environment=sb.environment, timeout=5) as a,
        DerivativesClient(key, secret, environment=sb.environment, timeout=5) as b,
    ):
        assert a.rate_limiter is b.rate_limiter is shared
        a.request("GET", f"{V3}/accounts")  # 2
        b.request("POST", f"{V3}/cancelallorders", {"symbol": "PF_XBTUSD"})  # 25
        a.request("GET", f"{V3}/openorders")  # 2
        b.request("GET", f"{V3}/tickers")  # public: 0
        assert shared.budget_used() == 29
    assert len(_sent(sb, key)) == 3


async def test_async_request_end_to_end() -> None:
    async with Sandbox(seed=22, market=False) as sandbox:
        key, secret = sandbox.create_futures_key()
        async with AsyncDerivativesClient(key, secret, environment=sandbox.environment, timeout=5) as client:
            accounts = await client.request("GET", f"{V3}/accounts")
            assert isinstance(accounts, AccountsResult)
            price = _far_below(await client.get_orderbook(symbol="PF_XBTUSD"))
            placed = await client.request("POST", f"{V3}/sendorder", _limit_buy(price, "async-1"))
            assert isinstance(placed, SendOrderResult) and placed.status == "placed"
            edited = await client.request("POST", f"{V3}/editorder", {"cliOrdId": "async-1", "limitPrice": price - 1})
            assert edited.status == "edited"
            (order,) = await client.get_open_orders()
            assert order.limit_price == price - 1
            with pytest.raises(NotFoundError):
                await client.request("GET", f"{V3}/not-in-this-sdk", max_retries=0)
            with pytest.raises(ValidationError):
                await client.request("GET", "/0/public/Time")
            cancelled = await client.request("POST", f"{V3}/cancelorder", {"cliOrdId": "async-1"})
            assert cancelled.status == "cancelled"
        sent = [(r["method"], r["path"]) for r in sandbox.requests if r["api_key"] == key]
        # (get_orderbook is public: no key on it)
        assert sent == [
            ("GET", f"{V3}/accounts"),
            ("POST", f"{V3}/sendorder"),
            ("POST", f"{V3}/editorder"),
            ("GET", f"{V3}/openorders"),
            ("GET", f"{V3}/not-in-this-sdk"),
            ("POST", f"{V3}/cancelorder"),
        ]
