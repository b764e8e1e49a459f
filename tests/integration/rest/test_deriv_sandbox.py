"""DerivativesClient / AsyncDerivativesClient against the local sandbox over real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenkit._core.errors import (
    AuthenticationError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    PostWouldExecuteError,
    SymbolFormatError,
)
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

SENDORDER = "/derivatives/api/v3/sendorder"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[DerivativesClient]:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=5) as c:
        yield c


def _sendorder_requests(sb: Sandbox, api_key: str) -> list[dict[str, Any]]:
    """sendorder requests the sandbox received from one key (each test uses a fresh key)."""
    return [
        r
        for r in sb.requests
        if r.get("transport") == "rest" and r.get("path") == SENDORDER and r.get("api_key") == api_key
    ]


def _far_bid(client: DerivativesClient | None = None, book: Any = None) -> Decimal:
    assert book is not None
    best_bid: Decimal = book.bids[0][0]
    return (best_bid * Decimal("0.8")).quantize(Decimal(1))


# --- sync ---------------------------------------------------------------------------------------


def test_market_data(client: DerivativesClient) -> None:
    tickers = client.get_tickers()
    by_symbol = {t.symbol: t for t in tickers}
    assert "PF_XBTUSD" in by_symbol
    assert isinstance(by_symbol["PF_XBTUSD"].mark_price, Decimal)
    one = client.get_ticker(symbol="PF_XBTUSD")
    assert one.symbol == "PF_XBTUSD"
    instruments = {i.symbol: i for i in client.get_instruments()}
    assert "PF_XBTUSD" in instruments and isinstance(instruments["PF_XBTUSD"].tick_size, Decimal)
    book = client.get_orderbook(symbol="PF_XBTUSD")
    assert book.bids and book.asks
    assert book.bids[0][0] < book.asks[0][0]
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)


def test_accounts(client: DerivativesClient) -> None:
    accounts = client.get_accounts()
    margin = accounts.available_margin()
    assert isinstance(margin, Decimal) and margin > 0
    assert client.get_open_positions() == []
    assert client.get_open_orders() == []


def test_send_edit_cancel(client: DerivativesClient) -> None:
    book = client.get_orderbook(symbol="PF_XBTUSD")
    price = _far_bid(book=book)
    cid = client.generate_new_order_id()
    placed = client.submit_order(
        orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=price, cliOrdId=cid
    )
    assert placed.status == "placed" and placed.cli_ord_id == cid and not placed.recovered
    open_orders = client.get_open_orders()
    assert [(o.order_id, o.cli_ord_id, o.limit_price) for o in open_orders] == [(placed.order_id, cid, price)]
    edited = client.edit_order(orderId=placed.order_id, limitPrice=price - 1, size="0.02")
    assert edited.status == "edited"
    (after,) = client.get_open_orders()
    assert after.limit_price == price - 1 and after.unfilled_size == Decimal("0.02")
    cancelled = client.cancel_order(cliOrdId=cid)
    assert cancelled.status == "cancelled"
    assert client.get_open_orders() == []
    with pytest.raises(OrderRejectedError) as info:
        client.cancel_order(cliOrdId=cid)
    assert info.value.status == "notFound"


def test_batch_orders(client: DerivativesClient) -> None:
    book = client.get_orderbook(symbol="PF_XBTUSD")
    price = _far_bid(book=book)
    crossing = book.asks[0][0] + 100
    res = client.batch_order_management(
        batchOrder=[
            {
                "order": "send",
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": "0.01",
                "limitPrice": price,
                "cliOrdId": "batch-a",
            },
            {
                "order": "send",
                "orderType": "post",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": "0.01",
                "limitPrice": crossing,
            },
        ]
    )
    assert len(res) == 2
    ok, failed = res.by_tag("0"), res.by_tag("1")
    assert ok is not None and ok.ok and ok.status == "placed"
    assert failed is not None and not failed.ok and failed.status == "postWouldExecute"
    assert isinstance(failed.error, PostWouldExecuteError)
    assert [o.cli_ord_id for o in client.get_open_orders()] == ["batch-a"]
    res2 = client.batch_order_management(batchOrder=[{"order": "cancel", "cliOrdId": "batch-a"}])
    assert [r.status for r in res2] == ["cancelled"]
    assert client.get_open_orders() == []


def test_rejected_order_raises_its_status(client: DerivativesClient) -> None:
    book = client.get_orderbook(symbol="PF_XBTUSD")
    with pytest.raises(PostWouldExecuteError) as info:
        client.submit_order(
            orderType="post", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=book.asks[0][0] + 100
        )
    assert info.value.status == "postWouldExecute"
    with pytest.raises(OrderRejectedError) as info2:
        client.submit_order(
            orderType="lmt", symbol="PF_XBTUSD", side="buy", size="100000", limitPrice=_far_bid(book=book)
        )
    assert info2.value.status == "insufficientAvailableFunds"
    assert client.get_open_orders() == []


def test_unknown_outcome_resolved_by_cli_ord_id_places_exactly_one(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=0.5) as client:
        price = _far_bid(book=client.get_orderbook(symbol="PF_XBTUSD"))
        cid = client.generate_new_order_id()
        sb.faults.accept_then_timeout(SENDORDER, n=1, delay=5.0)
        res = client.submit_order(
            orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=price, cliOrdId=cid
        )
        assert res.recovered and res.cli_ord_id == cid and res.order_id
        orders = client.get_open_orders()
        assert [o.cli_ord_id for o in orders] == [cid]
        assert orders[0].order_id == res.order_id
    assert len(_sendorder_requests(sb, key)) == 1


def test_unknown_outcome_without_cli_ord_id_raises_with_request(sb: Sandbox) -> None:
    key, secret = sb.create_futures_key()
    with DerivativesClient(key, secret, environment=sb.environment, timeout=0.5) as client:
        price = _far_bid(book=client.get_orderbook(symbol="PF_XBTUSD"))
        assert _sendorder_requests(sb, key) == []
        sb.faults.accept_then_timeout(SENDORDER, n=1, delay=5.0)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            client.submit_order(orderType="lmt", symbol="PF_XBTUSD", side="sell", size="0.01", limitPrice=price * 3)
        assert info.value.request["params"]["symbol"] == "PF_XBTUSD"
        assert info.value.cl_ord_id is None
        assert len(_sendorder_requests(sb, key)) == 1  # never resent
        assert len(client.get_open_orders()) == 1  # it did land


def test_bad_signature_is_authentication_error(sb: Sandbox) -> None:
    key, _ = sb.create_futures_key()
    _, other_secret = sb.create_futures_key()
    with DerivativesClient(key, other_secret, environment=sb.environment, timeout=5, max_retries=0) as client:
        with pytest.raises(AuthenticationError):
            client.get_accounts()


def test_spot_symbol_never_reaches_the_sandbox(client: DerivativesClient, sb: Sandbox) -> None:
    before = len(sb.requests)
    with pytest.raises(SymbolFormatError, match="PF_"):
        client.submit_order(orderType="lmt", symbol="BTC/USD", side="buy", size=1, limitPrice=1)
    assert len(sb.requests) == before


def test_history_and_charts(client: DerivativesClient) -> None:
    candles = client.get_candles(tickType="trade", symbol="PF_XBTUSD", resolution="1m", count=2)
    assert "candles" in candles.raw
    events = client.get_order_events(count=5)
    assert isinstance(events.raw, dict)
    csv_text = client.get_account_log_csv()
    assert csv_text.startswith("id,")


# --- async --------------------------------------------------------------------------------------


async def test_async_end_to_end() -> None:
    async with Sandbox(seed=11) as sandbox:
        key, secret = sandbox.create_futures_key()
        async with AsyncDerivativesClient(key, secret, environment=sandbox.environment, timeout=5) as client:
            tickers = await client.get_tickers()
            assert any(t.symbol == "PF_XBTUSD" for t in tickers)
            assert {i.symbol for i in await client.get_instruments()} >= {"PF_XBTUSD"}
            book = await client.get_orderbook(symbol="PF_XBTUSD")
            assert (await client.get_accounts()).available_margin()
            price = _far_bid(book=book)
            cid = client.generate_new_order_id()
            placed = await client.submit_order(
                orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=price, cliOrdId=cid
            )
            assert placed.status == "placed"
            assert (await client.edit_order(cliOrdId=cid, limitPrice=price - 2)).status == "edited"
            batch = await client.batch_order_management(
                batchOrder=[
                    {
                        "order": "send",
                        "orderType": "post",
                        "symbol": "PF_XBTUSD",
                        "side": "buy",
                        "size": "0.01",
                        "limitPrice": book.asks[0][0] + 100,
                    },
                    {"order": "cancel", "cliOrdId": cid},
                ]
            )
            assert sorted(r.status for r in batch) == ["cancelled", "postWouldExecute"]
            with pytest.raises(PostWouldExecuteError):
                await client.submit_order(
                    orderType="post", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=book.asks[0][0] + 100
                )
            assert await client.get_open_orders() == []


async def test_async_unknown_outcome_resolved_by_cli_ord_id() -> None:
    async with Sandbox(seed=12) as sandbox:
        key, secret = sandbox.create_futures_key()
        async with AsyncDerivativesClient(key, secret, environment=sandbox.environment, timeout=0.5) as client:
            price = _far_bid(book=await client.get_orderbook(symbol="PF_XBTUSD"))
            cid = client.generate_new_order_id()
            sandbox.faults.accept_then_timeout(SENDORDER, n=1, delay=5.0)
            res = await client.submit_order(
                orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=price, cliOrdId=cid
            )
            assert res.recovered and res.cli_ord_id == cid
            assert [o.cli_ord_id for o in await client.get_open_orders()] == [cid]
        assert len(_sendorder_requests(sandbox, key)) == 1
