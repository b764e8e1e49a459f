"""Rate limiter wiring of WebsocketAPIClient / WebsocketClient, without sockets (fake limiter, fake request)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from krakenkit import WS_KEY_MAP
from krakenkit._core import jsonutil
from krakenkit._core.errors import InsufficientFundsError, RateLimitError, ValidationError, error_from_spot
from krakenkit._core.ratelimit import NoRateLimit, SpotRateLimiter, shared_spot_rate_limiter, spot_rate_limiter
from krakenkit.ws import WebsocketAPIClient, WebsocketClient
from krakenkit.ws.events import ExceptionEvent, MessageEvent

PRIV = WS_KEY_MAP.spotPrivateV2
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
UUID = "5a3c8a3e-5b2e-4a8e-9c3b-1d2e3f4a5b6c"


class FakeLimiter:
    """Records every call; ``wait`` is what reserve returns, ``refuse`` makes reserve raise."""

    def __init__(self, wait: float = 0.0, refuse: bool = False) -> None:
        self.wait = wait
        self.refuse = refuse
        self.calls: list[tuple[Any, ...]] = []

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        self.calls.append(("reserve", endpoint, dict(params or {})))
        if self.refuse:
            raise RateLimitError("local", retry_after=1.0)
        return self.wait

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        self.calls.append(("on_response", endpoint, dict(params or {}), result))

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        self.calls.append(("on_rate_limited", endpoint, dict(params or {})))

    def observe_execution(self, row: Mapping[str, Any]) -> None:
        self.calls.append(("observe_execution", dict(row)))

    def observe_ratecounter(self, pair: str, value: float) -> None:
        self.calls.append(("observe_ratecounter", pair, value))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


class FakeRequests:
    """Stands in for ``WebsocketClient._request_unbooked`` (what WebsocketAPIClient sends through):
    records when each call went out and replies."""

    def __init__(self, limiter: FakeLimiter, replies: list[dict[str, Any]] | BaseException) -> None:
        self.limiter = limiter
        self.replies = replies
        self.sent: list[tuple[str, dict[str, Any], int, float]] = []

    async def __call__(self, ws_key: str, method: str, params: Mapping[str, Any], **kw: Any) -> list[dict[str, Any]]:
        # how many limiter calls had happened when the request went out, and when
        self.sent.append((method, dict(params), len(self.limiter.calls), asyncio.get_running_loop().time()))
        if isinstance(self.replies, BaseException):
            raise self.replies
        return self.replies


def make_api(limiter: Any, replies: list[dict[str, Any]] | BaseException) -> tuple[WebsocketAPIClient, FakeRequests]:
    ws = WebsocketClient("key", SECRET)
    api = WebsocketAPIClient(ws_client=ws, rate_limiter=limiter)
    fake = FakeRequests(limiter, replies)
    ws._request_unbooked = fake  # type: ignore[method-assign]
    return api, fake


def add_reply(order_id: str = "OABC-1") -> list[dict[str, Any]]:
    return [{"method": "add_order", "success": True, "result": {"order_id": order_id, "cl_ord_id": UUID}}]


async def test_reserve_before_sending_then_on_response_with_the_result() -> None:
    lim = FakeLimiter()
    api, fake = make_api(lim, add_reply())
    res = await api.submit_spot_order(
        order_type="limit", side="buy", symbol="BTC/USD", order_qty="1", limit_price="100", cl_ord_id=UUID
    )
    assert res.order_id == "OABC-1"
    assert lim.names() == ["reserve", "on_response"]
    _, endpoint, params = lim.calls[0]
    assert endpoint == "add_order" and params["symbol"] == "BTC/USD" and params["order_qty"] == Decimal("1")
    assert fake.sent[0][2] == 1  # sent after reserve, before on_response
    assert lim.calls[1] == ("on_response", "add_order", params, {"order_id": "OABC-1", "cl_ord_id": UUID})


async def test_the_returned_delay_is_awaited_before_sending() -> None:
    lim = FakeLimiter(wait=0.05)
    api, fake = make_api(lim, add_reply())
    t0 = asyncio.get_running_loop().time()
    await api.submit_spot_order(order_type="market", side="sell", symbol="BTC/USD", order_qty="1")
    assert fake.sent[0][3] - t0 >= 0.05


async def test_raise_mode_refuses_before_anything_is_sent() -> None:
    lim = FakeLimiter(refuse=True)
    api, fake = make_api(lim, add_reply())
    with pytest.raises(RateLimitError):
        await api.submit_spot_order(order_type="market", side="sell", symbol="BTC/USD", order_qty="1")
    assert fake.sent == [] and lim.names() == ["reserve"]


async def test_rate_limit_error_resynchronises_other_errors_do_not() -> None:
    lim = FakeLimiter()
    err = error_from_spot(["EOrder:Rate limit exceeded"], endpoint="cancel_order")
    assert isinstance(err, RateLimitError)
    api, _ = make_api(lim, err)
    with pytest.raises(RateLimitError):
        await api.cancel_spot_order(order_id=["OA", "OB"])
    assert lim.calls == [
        ("reserve", "cancel_order", {"order_id": ["OA", "OB"]}),
        ("on_rate_limited", "cancel_order", {"order_id": ["OA", "OB"]}),
    ]

    lim2 = FakeLimiter()
    api2, _ = make_api(lim2, error_from_spot(["EOrder:Insufficient funds"], endpoint="add_order"))
    with pytest.raises(InsufficientFundsError):
        await api2.submit_spot_order(order_type="market", side="buy", symbol="BTC/USD", order_qty="1")
    assert lim2.names() == ["reserve"]


async def test_every_trading_method_books_under_its_ws_name() -> None:
    lim = FakeLimiter()
    reply = [{"success": True, "result": {"order_id": "O1", "amend_id": "A1", "count": 2}}]
    api, _ = make_api(lim, reply)
    await api.amend_spot_order(order_id="O1", order_qty="2")
    await api.edit_spot_order(order_id="O1", symbol="BTC/USD", order_qty="2")
    await api.cancel_all_spot_orders()
    await api.cancel_all_spot_orders_after(60)
    await api.batch_cancel_spot_orders(orders=["O1", "O2"])
    batch_reply = [{"success": True, "result": [{"order_id": "B1"}, {"order_id": "B2"}]}]
    api.ws._request_unbooked = FakeRequests(lim, batch_reply)  # type: ignore[method-assign]
    await api.batch_submit_spot_orders(
        symbol="BTC/USD",
        orders=[
            {"order_type": "limit", "side": "buy", "order_qty": "1", "limit_price": "1"},
            {"order_type": "limit", "side": "buy", "order_qty": "1", "limit_price": "2"},
        ],
    )
    reserved = [c[1] for c in lim.calls if c[0] == "reserve"]
    assert reserved == [
        "amend_order",
        "edit_order",
        "cancel_all",
        "cancel_all_orders_after",
        "batch_cancel",
        "batch_add",
    ]
    assert lim.calls[-1][0] == "on_response" and lim.calls[-1][3] == [{"order_id": "B1"}, {"order_id": "B2"}]


async def test_a_failing_on_response_does_not_hide_the_placed_order() -> None:
    class Broken(FakeLimiter):
        def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
            raise RuntimeError("limiter bug")

    api, _ = make_api(Broken(), add_reply("OK-1"))
    res = await api.submit_spot_order(order_type="market", side="buy", symbol="BTC/USD", order_qty="1")
    assert res.order_id == "OK-1"


def test_default_is_the_shared_limiter_of_the_key_as_for_rest() -> None:
    from krakenkit.rest import AsyncSpotClient

    api = WebsocketAPIClient("key-a", SECRET)
    shared = shared_spot_rate_limiter("key-a", "intermediate")
    assert api.rate_limiter is shared and api.ws.rate_limiter is shared
    assert AsyncSpotClient("key-a", SECRET).rate_limiter is shared
    assert WebsocketAPIClient("key-b", SECRET).rate_limiter is not shared
    # a ws_client passed in: its limiter (the key's shared one)
    ws = WebsocketClient("key-a", SECRET)
    assert WebsocketAPIClient(ws_client=ws).rate_limiter is shared
    # off
    off = NoRateLimit()
    api_off = WebsocketAPIClient("key-a", SECRET, rate_limiter=off)
    assert api_off.rate_limiter is off and api_off.ws.rate_limiter is off

    # no key to share by (token provider only): a limiter of its own; no credentials: none
    async def token() -> str:
        return "t"

    own = WebsocketClient(token_provider=token).rate_limiter
    assert isinstance(own, SpotRateLimiter) and own is not shared
    assert isinstance(WebsocketClient().rate_limiter, NoRateLimit)


def test_spot_limiter_prices_ws_method_names() -> None:
    lim = spot_rate_limiter("intermediate", clock=lambda: 1000.0)
    assert lim.costs("add_order", {"symbol": "BTC/USD"}) == [("pair:XBTUSD", 1.0)]
    assert lim.costs("add_order", {"symbol": "BTC/USD", "validate": True}) == []
    assert lim.costs("batch_add", {"symbol": "BTC/USD", "orders": [{}, {}, {}, {}]}) == [("pair:XBTUSD", 2.0)]
    lim.on_response("add_order", {"symbol": "BTC/USD", "cl_ord_id": UUID}, {"order_id": "O1", "cl_ord_id": UUID})
    assert lim.costs("cancel_order", {"order_id": ["O1"]}) == [("pair:XBTUSD", 8.0)]  # under 5 s old
    assert lim.costs("cancel_order", {"cl_ord_id": [UUID]}) == [("pair:XBTUSD", 8.0)]
    assert lim.costs("amend_order", {"order_id": "O1"}) == [("pair:XBTUSD", 4.0)]
    assert lim.costs("edit_order", {"order_id": "O1", "symbol": "BTC/USD"}) == [("pair:XBTUSD", 7.0)]
    assert lim.costs("batch_cancel", {"orders": ["O1"]}) == [("pair:XBTUSD", 8.0)]
    assert lim.costs("cancel_all", {}) == [] and lim.costs("cancel_all_orders_after", {"timeout": 5}) == []


# --- WebsocketClient: executions feed the limiter ------------------------------------------------------


def executions_frame(rows: list[dict[str, Any]], **extra: Any) -> bytes:
    return jsonutil.dumps({"channel": "executions", "type": "update", "data": rows, "sequence": 3, **extra})


async def test_executions_rows_and_ratecounter_reach_the_limiter_and_the_handlers() -> None:
    lim = FakeLimiter()
    ws = WebsocketClient("key", SECRET, rate_limiter=lim)
    got: list[MessageEvent] = []
    ws.on("message", got.append)
    conn = ws.connection(PRIV)
    assert conn.raw_hook is not None
    row = {
        "order_id": "O1",
        "symbol": "BTC/USD",
        "exec_type": "pending_new",
        "order_status": "pending_new",
        "ratecounter": 12,
    }
    conn.on_frame(executions_frame([row, {"order_id": "O2", "exec_type": "new"}]))
    conn.on_frame(executions_frame([{"order_id": "O3", "symbol": "ETH/USD", "exec_type": "trade"}], ratecounter=7))
    conn.on_frame(executions_frame([{"order_id": "O4", "symbol": "SOL/USD", "ratecount": 5}]))
    assert [c for c in lim.calls if c[0] == "observe_execution"] == [
        ("observe_execution", row),
        ("observe_execution", {"order_id": "O2", "exec_type": "new"}),
        ("observe_execution", {"order_id": "O3", "symbol": "ETH/USD", "exec_type": "trade"}),
        ("observe_execution", {"order_id": "O4", "symbol": "SOL/USD", "ratecount": 5}),
    ]
    assert [c for c in lim.calls if c[0] == "observe_ratecounter"] == [
        ("observe_ratecounter", "ETH/USD", 7.0),
        ("observe_ratecounter", "SOL/USD", 5.0),
    ]
    assert len(got) == 3  # every frame still reaches the handlers


async def test_a_failing_limiter_never_costs_a_private_frame() -> None:
    class Broken(FakeLimiter):
        def observe_execution(self, row: Mapping[str, Any]) -> None:
            raise RuntimeError("limiter bug")

    ws = WebsocketClient("key", SECRET, rate_limiter=Broken())
    got: list[Any] = []
    ws.on("message", got.append)
    ws.on("exception", got.append)
    ws.connection(PRIV).on_frame(executions_frame([{"order_id": "O1", "symbol": "BTC/USD"}]))
    assert len(got) == 1 and isinstance(got[0], MessageEvent) and not isinstance(got[0], ExceptionEvent)


async def test_real_limiter_learns_from_executions() -> None:
    now = [1000.0]
    lim = spot_rate_limiter("intermediate", clock=lambda: now[0])
    ws = WebsocketClient("key", SECRET, rate_limiter=lim)
    conn = ws.connection(PRIV)
    conn.on_frame(
        executions_frame(
            [
                {
                    "order_id": "O1",
                    "symbol": "BTC/USD",
                    "exec_type": "pending_new",
                    "order_status": "pending_new",
                    "ratecounter": 40,
                }
            ]
        )
    )
    assert lim.order_age("O1") == 0.0 and lim.trading_level("BTC/USD") == 40.0
    now[0] += 10
    conn.on_frame(executions_frame([{"order_id": "O1", "exec_type": "canceled", "order_status": "canceled"}]))
    assert lim.order_age("O1") is None
    assert lim.trading_level("BTC/USD") == pytest.approx(40.0 - 10 * lim.limits.trading_decay)


def test_no_hook_where_nothing_needs_one() -> None:
    assert WebsocketClient("key", SECRET).connection(WS_KEY_MAP.spotPublicV2).raw_hook is None
    assert WebsocketClient("key", SECRET, rate_limiter=NoRateLimit()).connection(PRIV).raw_hook is None


async def test_level3_book_arguments_are_checked() -> None:
    ws = WebsocketClient("key", SECRET)
    with pytest.raises(ValidationError):
        ws.book("PF_XBTUSD", level3=True)
    with pytest.raises(ValidationError):
        ws.book("BTC/USD", depth=25, level3=True)
    with pytest.raises(ValidationError):
        ws.book("BTC/USD", level3=True, ws_key=WS_KEY_MAP.spotPublicV2)
    with pytest.raises(ValidationError):
        ws.book("BTC/USD", ws_key=WS_KEY_MAP.spotL3V2)
    assert ws._books == {}
