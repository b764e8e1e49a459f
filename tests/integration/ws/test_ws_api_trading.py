"""WebsocketAPIClient against the sandbox: trading over WS v2, correlation, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import (
    ConnectionLostError,
    InsufficientFundsError,
    OrderOutcomeUnknownError,
    UnknownOrderError,
    ValidationError,
    is_outcome_unknown_error,
)
from krakenkit.sandbox import Sandbox
from krakenkit.ws import AddOrderResult, Backoff, WebsocketAPIClient

PRIV = WS_KEY_MAP.spotPrivateV2


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1, rate_limits=False) as sandbox:
        yield sandbox


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    async def loop() -> None:
        while not pred():
            await asyncio.sleep(0.002)

    await asyncio.wait_for(loop(), timeout)


def ws_orders(sb: Sandbox, method: str) -> list[dict[str, object]]:
    return [r["params"]["params"] for r in sb.requests if r["transport"] == "ws" and r["method"] == method]


async def test_order_lifecycle_typed_results_and_exact_numbers(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    async with WebsocketAPIClient(key, secret, environment=sb.environment) as api:
        cl = api.generate_new_order_id()
        res = await api.submit_spot_order(
            order_type="limit",
            side="buy",
            symbol="BTC/USD",
            order_qty="0.0100",
            limit_price=Decimal("1000.5"),
            cl_ord_id=cl,
        )
        assert isinstance(res, AddOrderResult) and res.order_id and res.cl_ord_id == cl
        sent = ws_orders(sb, "add_order")[-1]
        assert sent["order_qty"] == Decimal("0.0100") and sent["limit_price"] == Decimal("1000.5")
        assert sent["token"] == "<redacted>"
        orders = {o.get("cl_ord_id"): o for o in sb.orders(key)}
        assert cl in orders

        amended = await api.amend_spot_order(cl_ord_id=cl, limit_price="1001")
        assert amended.amend_id and amended.cl_ord_id == cl
        edited = await api.edit_spot_order(order_id=res.order_id, symbol="BTC/USD", order_qty=2)
        assert edited.original_order_id == res.order_id and edited.order_id != res.order_id
        cancelled = await api.cancel_spot_order(order_id=edited.order_id)
        assert [c.order_id for c in cancelled] == [edited.order_id]

        batch = await api.batch_submit_spot_orders(
            symbol="BTC/USD",
            orders=[
                {"order_type": "limit", "side": "buy", "order_qty": "0.01", "limit_price": "900", "order_userref": 1},
                {"order_type": "limit", "side": "buy", "order_qty": "0.01", "limit_price": "901", "order_userref": 2},
            ],
        )
        assert len(batch.orders) == 2 and all(o.order_id for o in batch.orders)
        bc = await api.batch_cancel_spot_orders(orders=[o.order_id for o in batch.orders])
        assert bc.count == 2
        dms = await api.cancel_all_spot_orders_after(60)
        assert dms.current_time and dms.trigger_time
        await api.submit_spot_order(
            order_type="limit", side="buy", symbol="BTC/USD", order_qty="0.01", limit_price="900"
        )
        assert (await api.cancel_all_spot_orders()).count == 1
        assert (await api.cancel_all_spot_orders_after(0)).raw["success"] is True


async def test_kraken_errors_are_mapped_and_bad_input_refused(sb: Sandbox) -> None:
    key, secret = sb.create_key(balances={"ZUSD": "10"})
    async with WebsocketAPIClient(key, secret, environment=sb.environment) as api:
        with pytest.raises(InsufficientFundsError) as info:
            await api.submit_spot_order(
                order_type="limit", side="buy", symbol="BTC/USD", order_qty="5", limit_price="30000"
            )
        assert info.value.endpoint == "add_order" and info.value.errors == ["EOrder:Insufficient funds"]
        with pytest.raises(UnknownOrderError):
            await api.cancel_spot_order(order_id="OAAAAA-BBBBB-CCCCCC")
        n = len(ws_orders(sb, "add_order"))
        with pytest.raises(ValidationError):
            await api.submit_spot_order(order_type="limit", side="buy", symbol="XBTUSD", order_qty="1", limit_price="1")
        with pytest.raises(ValidationError):
            await api.submit_spot_order(order_type="limit", side="buy", symbol="BTC/USD", order_qty="abc")
        assert len(ws_orders(sb, "add_order")) == n  # nothing sent


async def test_hundred_concurrent_requests_each_answered_to_its_caller(sb: Sandbox) -> None:
    key, secret = sb.create_key(balances={"ZUSD": "10000000", "XXBT": "10"}, tier="pro")
    async with WebsocketAPIClient(key, secret, environment=sb.environment) as api:
        await api.connect()
        ids = [api.generate_new_order_id() for _ in range(100)]
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    api.submit_spot_order(
                        order_type="limit",
                        side="buy",
                        symbol="BTC/USD",
                        order_qty="0.001",
                        limit_price=str(1000 + i),
                        cl_ord_id=cl,
                    )
                    for i, cl in enumerate(ids)
                )
            ),
            20,
        )
        assert [r.cl_ord_id for r in results] == ids
        assert len({r.order_id for r in results}) == 100
        by_cl = {o.get("cl_ord_id"): o for o in sb.orders(key)}
        for i, (cl, r) in enumerate(zip(ids, results, strict=True)):
            assert by_cl[cl]["txid"] == r.order_id or by_cl[cl].get("order_id") == r.order_id, i
        assert api.ws.connection(PRIV).pending_requests == 0


async def test_in_flight_orders_fail_with_connection_lost_carrying_cl_ord_id(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    async with WebsocketAPIClient(
        key, secret, environment=sb.environment, reconnect_backoff=Backoff(first_jitter=0.01)
    ) as api:
        await api.connect()
        sb.faults.stall_ws(PRIV)  # the server reads nothing and answers nothing
        cls = [api.generate_new_order_id() for _ in range(3)]
        tasks = [
            asyncio.create_task(
                api.submit_spot_order(
                    order_type="limit", side="buy", symbol="BTC/USD", order_qty="0.01", limit_price="1000", cl_ord_id=cl
                )
            )
            for cl in cls
        ]
        conn = api.ws.connection(PRIV)
        await wait_until(lambda: conn.pending_requests == 3)
        sb.faults.drop_ws_connections(PRIV)
        errors = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(e, ConnectionLostError) for e in errors)
        assert sorted(str(e.cl_ord_id) for e in errors if isinstance(e, ConnectionLostError)) == sorted(cls)
        assert all(is_outcome_unknown_error(e) for e in errors if isinstance(e, BaseException))
        # the client reconnects and trades again
        res = await api.submit_spot_order(
            order_type="limit", side="buy", symbol="BTC/USD", order_qty="0.01", limit_price="1000"
        )
        assert res.order_id


async def test_no_reply_in_time_is_an_unknown_outcome_carrying_the_client_id(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    async with WebsocketAPIClient(key, secret, environment=sb.environment) as api:
        await api.connect()
        sb.faults.stall_ws(PRIV)
        cl = api.generate_new_order_id()
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await api.submit_spot_order(
                order_type="limit",
                side="buy",
                symbol="BTC/USD",
                order_qty="0.01",
                limit_price="1000",
                cl_ord_id=cl,
                timeout=0.3,
            )
        assert info.value.cl_ord_id == cl and is_outcome_unknown_error(info.value)
        assert isinstance(info.value.context["req_id"], int) and info.value.context["deadline"]
        assert api.ws.connection(PRIV).pending_requests == 0
        assert api.ws.connection(PRIV).protocol.pending_requests == 0
