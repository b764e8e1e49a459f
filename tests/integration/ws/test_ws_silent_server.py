"""Against small local servers that misbehave on purpose (127.0.0.1): every WS request ends within its
timeout when the server never answers, and reconnect events announce the delay that is really slept."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from ws_testkit import local_server

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import APITimeoutError, OrderOutcomeUnknownError
from krakenkit.ws import Backoff, ReconnectingEvent, WebsocketAPIClient, WebsocketClient

PUB = WS_KEY_MAP.spotPublicV2
PRIV = WS_KEY_MAP.spotPrivateV2
DPUB = WS_KEY_MAP.derivativesPublicV1
T = 0.3  # the timeout under test
SLACK = 0.25  # scheduling slack allowed beyond it on a loaded machine


async def _token() -> str:
    return "local-token"


async def _ends_within(call: Callable[[], Awaitable[Any]], error: type[BaseException]) -> BaseException:
    t0 = time.monotonic()
    with pytest.raises(error) as info:
        await asyncio.wait_for(call(), 5)  # a safety net only: the call must end by itself
    elapsed = time.monotonic() - t0
    assert T - 0.01 <= elapsed <= T + SLACK, elapsed
    return info.value


async def test_every_request_ends_within_its_timeout_against_a_silent_server() -> None:
    async with local_server("silent") as server:
        ws = WebsocketClient(
            ws_urls={PUB: server.url, PRIV: server.url, DPUB: server.url},
            token_provider=_token,
            staleness_timeout=60,  # the silence must not end in a reconnect during the test
            ping_interval=60,
        )
        async with ws, WebsocketAPIClient(ws_client=ws) as api:
            pub, priv = ws.connection(PUB), ws.connection(PRIV)

            # subscribe before the socket is even open, and on an open one; unsubscribe
            sub = await _ends_within(
                lambda: ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB, timeout=T),
                APITimeoutError,
            )
            assert "not acknowledged within 0.3s" in str(sub) and sub.endpoint == "subscribe"
            assert pub.pending_requests == 0 and pub.protocol.subs.waiting == 0
            assert ws.subscriptions(PUB)[0]["acked"] is False  # still wanted
            await _ends_within(lambda: ws.subscribe("executions", PRIV, timeout=T), APITimeoutError)
            await _ends_within(
                lambda: ws.unsubscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB, timeout=T),
                APITimeoutError,
            )
            assert ws.subscriptions(PUB) == []  # unsubscribed even without an ack
            await _ends_within(
                lambda: ws.subscribe({"topic": "ticker", "payload": {"product_ids": ["PF_XBTUSD"]}}, DPUB, timeout=T),
                APITimeoutError,
            )
            assert ws.connection(DPUB).pending_requests == 0 and ws.connection(DPUB).protocol.subs.waiting == 0

            # any request, and orders: an unknown outcome with the ids
            await _ends_within(lambda: ws.request(PUB, "ping", {}, timeout=T), APITimeoutError)
            params = {"order_type": "limit", "side": "buy", "symbol": "BTC/USD", "order_qty": "1", "limit_price": "1"}
            order = {k: v for k, v in params.items() if k != "symbol"}  # a batch names its symbol once
            low = await _ends_within(
                lambda: ws.request(PRIV, "add_order", {**params, "cl_ord_id": "low-1"}, timeout=T),
                OrderOutcomeUnknownError,
            )
            assert isinstance(low, OrderOutcomeUnknownError) and low.cl_ord_id == "low-1"
            one = await _ends_within(
                lambda: api.submit_spot_order(**params, cl_ord_id="api-1", timeout=T), OrderOutcomeUnknownError
            )
            assert isinstance(one, OrderOutcomeUnknownError) and one.cl_ord_id == "api-1"
            assert isinstance(one.context["req_id"], int)
            batch = await _ends_within(
                lambda: api.batch_submit_spot_orders(
                    symbol="BTC/USD", orders=[{**order, "cl_ord_id": "b-1"}, {**order, "cl_ord_id": "b-2"}], timeout=T
                ),
                OrderOutcomeUnknownError,
            )
            assert batch.context["cl_ord_ids"] == ["b-1", "b-2"]
            amend = await _ends_within(
                lambda: api.amend_spot_order(cl_ord_id="api-1", limit_price="2", timeout=T), OrderOutcomeUnknownError
            )
            assert isinstance(amend, OrderOutcomeUnknownError) and amend.cl_ord_id == "api-1"
            await _ends_within(lambda: api.cancel_spot_order(cl_ord_id="api-1", timeout=T), OrderOutcomeUnknownError)

            # nobody is left waiting, and the orders went out once each, with a deadline
            for conn in (pub, priv):
                assert conn.pending_requests == 0 and conn.protocol.pending_requests == 0
                assert conn.protocol.subs.waiting == 0
            orders = server.arrivals("add_order", "batch_add", "amend_order")
            assert len(orders) == 4
            for arrived, frame in orders:
                left = datetime.fromisoformat(frame["params"]["deadline"]).timestamp() - arrived
                assert 9.5 < left <= 10.001  # the default order_deadline from sending (to the ms)
            assert "deadline" not in server.sent("cancel_order")[0]["params"]
            assert len(server.connected_at) == 3  # one socket per key: no silent reconnect either


async def test_reconnect_events_announce_the_delay_really_slept_and_the_budget_never_stops_the_client() -> None:
    cap = 0.1
    backoff = Backoff(first_jitter=0.0, base=0.02, factor=2.0, max_delay=cap, jitter=0.0)
    beta = WS_KEY_MAP.spotBetaPublicV2
    announced: list[tuple[float, ReconnectingEvent]] = []
    ten, beta_waits = asyncio.Event(), asyncio.Event()

    def on_reconnecting(ev: ReconnectingEvent) -> None:  # sync: runs the moment the wait is announced
        announced.append((time.monotonic(), ev))
        if len([e for _, e in announced if e.ws_key == PUB]) >= 10:
            ten.set()
        if ev.ws_key == beta:
            beta_waits.set()

    async with local_server("close") as server:
        ws = WebsocketClient(
            ws_urls={PUB: server.url, beta: server.url},
            reconnect_backoff=backoff,
            connect_budget=(4, 600.0),  # used up after 4 connects: from then on the budget asks for ~600 s
        )
        ws.on("reconnecting", on_reconnecting)
        async with ws:
            ws.connection(PUB).start()
            await asyncio.wait_for(ten.wait(), 5)
            connects = server.connected_at[:10]  # all of PUB: the 10th wait came after the 10th session
            # a key opened once the budget is used up: its first connect waits too, announced as attempt 0
            ws.connection(beta).start()
            await asyncio.wait_for(beta_waits.wait(), 5)
        pub = [(t, e) for t, e in announced if e.ws_key == PUB]
        # every announced wait is what passed before the next connection reached the server
        for (t, ev), next_connect in zip(pub[:9], connects[1:], strict=True):
            gap = next_connect - t
            assert ev.delay <= cap + 1e-9
            assert ev.delay - 0.005 <= gap <= ev.delay + SLACK, (ev.delay, gap)
        assert all("connect budget" not in e.reason for _, e in pub[:3])
        assert all("connect budget" in e.reason and e.delay == pytest.approx(cap) for _, e in pub[4:10])
        first = next(e for _, e in announced if e.ws_key == beta)
        assert first.attempt == 0 and "first connect" in first.reason and first.delay == pytest.approx(cap)
        gaps = [b - a for a, b in itertools.pairwise(connects)]
        assert max(gaps) <= cap + SLACK  # no silent gap longer than the backoff cap
