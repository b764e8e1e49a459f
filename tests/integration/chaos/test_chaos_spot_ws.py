"""Chaos, Spot WebSocket: 210 orders through plain ``WebsocketAPIClient`` (``add_order`` market and marketable
limit, ``batch_add``) from 24 asyncio tasks on one private connection, while the sandbox processes requests
late (before their deadline and after it), garbles or swallows replies (truncated JSON, a non-JSON frame, no
reply) and drops the connection under in-flight orders. The bot also listens to ``executions``: its first
subscribe is never acknowledged (bounded by its timeout), and its stream is never read (trading replies must
not wait behind it).

The WS client never resends nor looks up: for every order, a result, a definitive rejection, or
``OrderOutcomeUnknownError`` / ``ConnectionLostError`` with its ``cl_ord_id`` (a batch: ``cl_ord_ids``), within
the request timeout; every request carries Kraken's ``deadline``. Once every deadline has passed, the
sandbox's record must show no client id placed twice, no rejected order placed, and every order reported
placed there once under the id the caller got.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chaos_checks import NOT_SENT, Placed, Tally, audit_exchange, connect_explained, wait_until_time

from krakenkit import APITimeoutError
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.sandbox import Sandbox
from krakenkit.ws import StreamOverflowError, WebsocketAPIClient

pytestmark = pytest.mark.timeout(120)

SEED = 20261205
TASKS = 16
SINGLES, BATCHES, BATCH_SIZE = 180, 40, 3  # 180 + 120 = 300 orders
THINK = 0.05  # a bot's pause between its orders (seeded, up to this): the run spans seconds, not a burst
ORDER_DEADLINE = 3.0
WS_TIMEOUT = 1.0  # every WS request's bound (the whole call)
SHORT = 0.6  # a call's own timeout=
LATE_EARLY = 1.6  # processed after the client gave up, before the deadline: placed, outcome unknown to the caller
LATE_PAST = 4.5  # processed after the deadline: the engine refuses it
SETTLE = max(LATE_PAST, ORDER_DEADLINE + 2.0) + 0.5
BALANCES = {"ZUSD": "100000000", "XXBT": "10000"}
PRIVATE = "spotPrivateV2"

FAULTS = {
    "ws_late_early": 6,
    "ws_late_past": 5,
    "ws_garble_truncated": 5,
    "ws_garble_garbage": 5,
    "ws_garble_swallow": 5,
}
DROPS = (0.5, 1.3, 2.1)  # seconds into the order phase: the connection drops under the orders in flight
NO_FAULT = 100 - sum(FAULTS.values())


@dataclass(frozen=True)
class Planned:
    index: int
    kind: str  # ws_market, ws_limit, ws_rejected, ws_batch
    side: str
    fault: str | None
    think: float
    own_deadline: bool  # the call's own deadline= instead of the client's order_deadline
    short: bool  # the call's own timeout=, shorter than the client's


def plan() -> list[Planned]:
    names = [*FAULTS, None]
    weights = [*FAULTS.values(), NO_FAULT]
    out = []
    for i in range(SINGLES + BATCHES):
        rng = random.Random(SEED * 1009 + i)
        kind = rng.choices(["ws_market", "ws_limit", "ws_rejected"], [45, 45, 10])[0] if i < SINGLES else "ws_batch"
        side, fault, think = rng.choice(["buy", "sell"]), rng.choices(names, weights)[0], rng.random() * THINK
        out.append(Planned(i, kind, side, fault, think, rng.random() < 0.1, rng.random() < 0.1))
    random.Random(SEED).shuffle(out)  # batches interleaved with singles
    return out


def order_fields(kind: str, side: str) -> dict[str, Any]:
    if kind == "ws_market":
        return {"order_type": "market", "side": side, "order_qty": "0.0002"}
    if kind == "ws_limit":  # marketable: fills at once
        return {
            "order_type": "limit",
            "side": side,
            "order_qty": "0.0002",
            "limit_price": "1000000" if side == "buy" else "10000",
        }
    return {"order_type": "limit", "side": "sell", "order_qty": "0.0002", "limit_price": "1"}  # below the cost minimum


async def test_spot_ws_orders_under_chaos(sb: Sandbox, figures: list[str]) -> None:
    key, secret = sb.create_key(balances=BALANCES, tier="pro", nonce_window=0)
    # not_sent_allowed: an order sent while the client reconnects may be refused at once with
    # APIConnectionError("not connected", retry_safe=True) (a known defect, test_chaos_ws_reconnect.py): counted
    # apart, and checked below never to have reached the exchange
    tally = Tally(f"Spot WS (WebsocketAPIClient, {TASKS} asyncio tasks, one connection)", not_sent_allowed=True)
    async with WebsocketAPIClient(
        key,
        secret,
        environment=sb.environment,
        request_timeout=WS_TIMEOUT,
        order_deadline=ORDER_DEADLINE,
        rate_limiter=NoRateLimit(),
    ) as api:
        await connect_explained(api, sb)
        ws = api.ws
        reconnects: list[Any] = []
        ws.on("reconnected", reconnects.append)
        # a bot listening to its executions: the first subscribe is never acknowledged ...
        sb.faults.ignore_subscriptions("executions", n=1, method="subscribe", ws_key=PRIVATE)
        t0 = time.monotonic()
        with pytest.raises(APITimeoutError):
            await ws.subscribe("executions", PRIVATE, timeout=0.5)
        assert time.monotonic() - t0 < 0.5 + 0.3
        await ws.subscribe("executions", PRIVATE)  # ... sent again: acknowledged
        unread = ws.stream(PRIVATE, max_queue=50)  # ... and its stream is never read during the run
        started = time.monotonic()

        async def dropper() -> None:
            for at in DROPS:
                await asyncio.sleep(max(0.0, started + at - time.monotonic()))
                if queue.empty():
                    return
                tally.fault("drop_connection")
                await asyncio.to_thread(sb.faults.drop_ws_connections, PRIVATE)

        def inject(p: Planned, method: str) -> None:
            fault = p.fault
            if fault is None:
                return
            tally.fault(fault)
            if fault == "ws_late_early":
                sb.faults.ws_late_arrival(method, n=1, delay=LATE_EARLY)
            elif fault == "ws_late_past":
                sb.faults.ws_late_arrival(method, n=1, delay=LATE_PAST)
            elif fault.startswith("ws_garble_"):
                sb.faults.ws_garble_reply(method, n=1, kind=fault.removeprefix("ws_garble_"))
            else:  # pragma: no cover
                raise AssertionError(fault)

        def own(p: Planned) -> dict[str, Any]:
            extra: dict[str, Any] = {}
            if p.own_deadline:
                extra["deadline"] = datetime.now(UTC) + timedelta(seconds=4)
            if p.short:
                extra["timeout"] = SHORT
            return extra

        async def single(p: Planned, cl: str) -> Placed:
            res = await api.submit_spot_order(symbol="BTC/USD", cl_ord_id=cl, **order_fields(p.kind, p.side), **own(p))
            assert res.cl_ord_id in (None, cl), res
            return [res.order_id or None], False

        async def batch(p: Planned, ids: list[str]) -> Placed:
            orders = [
                {
                    **order_fields("ws_limit" if j % 2 == 0 else "ws_market", "buy" if (p.index + j) % 2 else "sell"),
                    "cl_ord_id": cl,
                }
                for j, cl in enumerate(ids)
            ]
            res = await api.batch_submit_spot_orders(symbol="BTC/USD", orders=orders, **own(p))
            got = {o.cl_ord_id: o.order_id for o in res.orders}
            return [got.get(cl) or None for cl in ids], False

        def budget(p: Planned) -> float:
            return (SHORT if p.short else WS_TIMEOUT) + 0.3

        queue: asyncio.Queue[Planned] = asyncio.Queue()
        for p in plan():
            queue.put_nowait(p)

        async def worker() -> None:
            while not queue.empty():
                p = queue.get_nowait()
                if p.kind == "ws_batch":
                    ids = [api.generate_new_order_id() for _ in range(BATCH_SIZE)]
                    inject(p, "batch_add")
                    await tally.record_async(p.kind, ids, batch(p, ids), budget(p), p.fault)
                else:
                    cl = api.generate_new_order_id()
                    inject(p, "add_order")
                    await tally.record_async(p.kind, [cl], single(p, cl), budget(p), p.fault)
                await asyncio.sleep(p.think)

        drops = asyncio.create_task(dropper())
        await asyncio.gather(*(worker() for _ in range(TASKS)))
        run_time = time.monotonic() - started
        await drops
        sb.faults.clear()
        # Kraken places nothing of a request after its deadline: wait that out (and the last late request)
        await asyncio.to_thread(wait_until_time, tally.last_call_end + SETTLE)
        # the unread executions stream fell behind and was closed, not the connection: it says so when read
        overflowed = False
        try:
            async for _ in unread:
                pass
        except StreamOverflowError:
            overflowed = True

    sent = [r for r in sb.requests if r["transport"] == "ws" and r["method"] in ("add_order", "batch_add")]
    no_deadline = [r for r in sent if not r["params"]["params"].get("deadline")]
    received: set[str] = set()
    for r in sent:
        params = r["params"]["params"]
        received.update(o.get("cl_ord_id") for o in [params, *params.get("orders", [])] if o.get("cl_ord_id"))
    not_sent = tally.ids_with(NOT_SENT)
    audit = audit_exchange(sb, key, tally)
    wall = time.monotonic() - started
    text = tally.summary(
        wall,
        {
            "order phase (s)": round(run_time, 1),
            "exchange": audit.line(),
            "WS trading requests received": len(sent),
            "reconnects": len(reconnects),
            "refused at once 'not connected' while reconnecting (known defect; never received)": len(not_sent),
            "unread executions stream closed by overflow (trading unaffected)": overflowed,
        },
    )
    print(text)
    figures.append(text)
    assert audit.problems == [], f"{len(audit.problems)} broken promises, e.g.:\n" + "\n".join(audit.problems[:10])

    assert no_deadline == [], no_deadline[:2]  # every add_order / batch_add carried Kraken's deadline
    assert not_sent & received == set()  # "nothing was sent" was true
    assert sum(tally.orders.values()) == SINGLES + BATCHES * BATCH_SIZE >= 200
    assert set(tally.faults) == {*FAULTS, "drop_connection"}, tally.faults
    assert len(reconnects) >= tally.faults["drop_connection"] == len(DROPS)
    assert overflowed
    outcomes = tally.by_outcome()
    assert outcomes["placed"] >= 150 and outcomes["rejected"] >= 5 and outcomes["unknown"] >= 30, outcomes
    # late requests after their deadline were refused by the engine; late ones before it were placed
    assert audit.unknown_live >= 1 and audit.unknown_absent >= 1
