"""Order safety of the submitters against the sandbox's faults (issue 12, items 1 and 2): every Spot order goes
out with Kraken's ``deadline``; a request that reaches the engine late (after the client gave up) is found
once its deadline has passed, never sent twice; one that arrives after its deadline is refused by the engine
and re-sent once; an HTTP 200 whose body cannot be read after placing is an unknown outcome that the look-up
resolves to ``acknowledged``, never ``not_placed``; the engine's "deadline elapsed" is a definitive refusal.
REST (blocking submitter on threads, and asyncio) and the WebSocket API.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from krakenkit import DeadlineElapsedError
from krakenkit._core.deadline import format_deadline, parse_deadline
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, SpotClient
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import AsyncSafeOrderSubmitter, JournalStatus, OrderJournal, SafeOrderSubmitter
from krakenkit.ws import WebsocketAPIClient

S = JournalStatus
ORDER_DEADLINE = 2.5  # the submitter keeps it clear of Kraken's minimum: about 4 s here
CLIENT_TIMEOUT = 2.0  # a call's total: 15 concurrent orders of one key queue for the wire turn first
LATE = 2.5  # reaches the engine after the client's timeout, before the order's deadline (the figure)
TOO_LATE = 6.0  # reaches the engine after the order's deadline
SAFETY: dict[str, Any] = {"order_deadline": ORDER_DEADLINE, "deadline_margin": 0.25, "grace": 0.3}
BALANCES = {"ZUSD": "100000000", "ZEUR": "100000000", "XXBT": "1000"}


@pytest.fixture
def key(sandbox: Sandbox) -> tuple[str, str]:
    return sandbox.create_key(balances=BALANCES, tier="pro")


@pytest.fixture
def spot(sandbox: Sandbox, key: tuple[str, str]) -> Iterator[SpotClient]:
    with SpotClient(
        *key, environment=sandbox.environment, timeout=CLIENT_TIMEOUT, max_retries=0, rate_limiter=NoRateLimit()
    ) as client:
        client.get_server_time()  # Kraken's clock measured before the first order (as any earlier call does)
        yield client


def orders_by_cl(sb: Sandbox, api_key: str) -> collections.Counter[str | None]:
    return collections.Counter(o.get("cl_ord_id") for o in sb.orders(api_key))


def add_orders(sb: Sandbox, api_key: str) -> list[dict[str, Any]]:
    """The AddOrder requests the sandbox processed (one refused for its nonce was refused before that)."""
    return [
        r
        for r in sb.requests
        if r["path"].endswith("/AddOrder") and r.get("api_key") == api_key and "EAPI:Invalid nonce" not in r["errors"]
    ]


def wait_past(t: float) -> None:
    """Late requests are processed at a time; the behaviour under test is that time."""
    time.sleep(max(0.0, t - time.monotonic()))


def test_fifteen_late_market_orders_fill_once_through_the_blocking_submitter(
    sandbox: Sandbox, key: tuple[str, str], spot: SpotClient
) -> None:
    sb = sandbox
    with OrderJournal.open(":memory:") as journal:
        # a longer deadline: the 15th request leaves up to ~1.5 s after the first (the key's wire turn) and
        # must still reach the engine before its deadline
        sub = SafeOrderSubmitter.spot_rest(spot, journal, **{**SAFETY, "order_deadline": 6.0})
        sub.start()
        sb.faults.late_arrival("AddOrder", n=15, delay=LATE)
        t0 = time.monotonic()
        with ThreadPoolExecutor(15) as pool:
            results = list(pool.map(lambda _: sub.submit("XBTUSD", "buy", "market", "0.001"), range(15)))
        elapsed = time.monotonic() - t0
        # (a request that timed out queueing for the key's wire turn never left: re-sending it is no duplicate)
        assert all(r.status is S.ACKNOWLEDGED for r in results)
        ids = {r.cl_ord_id for r in results}
        assert orders_by_cl(sb, key[0]) == {cl: 1 for cl in ids}  # 15 market orders, each filled once
        # nothing was sent twice, except after proof that the first request could no longer place anything
        proven = sub.stats["proven_absent"]
        assert 15 <= len(add_orders(sb, key[0])) <= 15 + proven and proven <= 2
        sent = collections.defaultdict(set)
        for req in add_orders(sb, key[0]):
            sent[req["params"]["cl_ord_id"]].add(req["params"].get("deadline"))
        assert all(r.deadline in sent[r.cl_ord_id] and r.deadline == journal.get(r.cl_ord_id).deadline for r in results)
        assert journal.counts() == {"acknowledged": 15}
        assert elapsed < 11  # resolved right after the deadline


def test_late_after_its_deadline_is_refused_by_the_engine_and_resent_once(
    sandbox: Sandbox, key: tuple[str, str], spot: SpotClient
) -> None:
    sb = sandbox
    with OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.spot_rest(spot, journal, **SAFETY)
        sub.start()
        sb.faults.late_arrival("AddOrder", n=5, delay=TOO_LATE)  # the first attempt of each order
        t0, wall0 = time.monotonic(), time.time()
        with ThreadPoolExecutor(5) as pool:
            results = list(pool.map(lambda _: sub.submit("XBTUSD", "buy", "market", "0.001"), range(5)))
        assert [(r.status, r.attempts) for r in results] == [(S.ACKNOWLEDGED, 2)] * 5
        wait_past(t0 + TOO_LATE + 0.5)  # the originals reach the engine now: refused, deadline elapsed
        assert orders_by_cl(sb, key[0]) == {r.cl_ord_id: 1 for r in results}
        by_cl = collections.defaultdict(list)
        for req in add_orders(sb, key[0]):
            by_cl[req["params"]["cl_ord_id"]].append(parse_deadline(req["params"]["deadline"]))
        assert len(by_cl) == 5 and all(len(set(d)) == 2 for d in by_cl.values())  # same id, a new deadline
        assert max(min(d) for d in by_cl.values()) < wall0 + TOO_LATE - 0.5  # the originals really came late
        assert all(journal.get(r.cl_ord_id).deadline == r.deadline for r in results)


async def test_sixty_garbled_200s_after_placing_are_acknowledged(sandbox: Sandbox, key: tuple[str, str]) -> None:
    sb = sandbox
    client = AsyncSpotClient(
        *key, environment=sb.environment, timeout=CLIENT_TIMEOUT, max_retries=0, rate_limiter=NoRateLimit()
    )
    journal = OrderJournal.open(":memory:")
    try:
        sub = AsyncSafeOrderSubmitter.spot_rest(client, journal, **SAFETY)
        await sub.start()
        kinds = ["html", "truncated", "shape"]
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> Any:
            async with sem:
                sb.faults.garble_response("AddOrder", kind=kinds[i % 3])
                if i % 4 == 0:  # the client's own look-up fails too: the submitter resolves it
                    sb.faults.fail_next("OpenOrders", error="EService:Unavailable")
                return await sub.submit("XBTUSD", "buy", "limit", "0.001", str(20000 + i))

        results = await asyncio.gather(*(one(i) for i in range(60)))
        assert journal.counts() == {"acknowledged": 60}  # not one live order called not placed
        txid = {o["cl_ord_id"]: o["txid"] for o in sb.orders(key[0])}
        assert len(txid) == 60 and orders_by_cl(sb, key[0]) == {cl: 1 for cl in txid}
        assert all(r.order_id == txid[r.cl_ord_id] == journal.get(r.cl_ord_id).order_id for r in results)
        assert len(add_orders(sb, key[0])) == 60
    finally:
        await client.aclose()
        journal.close()


def test_engine_deadline_elapsed_is_rejected_not_resent(
    sandbox: Sandbox, key: tuple[str, str], spot: SpotClient
) -> None:
    """Kraken's own answer ``EService:Deadline elapsed`` is a definitive refusal: rejected, not looked up,
    not re-sent. (A client still waiting when its deadline passes gives up and proves the order absent
    instead; that path is the test above.)"""
    sb = sandbox
    with OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.spot_rest(spot, journal, **SAFETY)
        sub.start()
        sb.faults.fail_next("AddOrder", error="EService:Deadline elapsed")
        with pytest.raises(DeadlineElapsedError):
            sub.submit("XBTUSD", "buy", "market", "0.001")
        (entry,) = journal.entries()
        assert entry.status is S.REJECTED and "Deadline elapsed" in (entry.error or "")
        assert not sb.orders(key[0]) and len(add_orders(sb, key[0])) == 1
        assert not [r for r in sb.requests if r["path"].endswith(("/OpenOrders", "/ClosedOrders"))]


def test_callers_own_deadline_goes_over_the_wire(sandbox: Sandbox, key: tuple[str, str], spot: SpotClient) -> None:
    with OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.spot_rest(spot, journal, **SAFETY)
        mine = format_deadline(spot.server_clock.now() + 20)
        r = sub.submit("XBTUSD", "buy", "limit", "0.001", "20000", deadline=mine)
        (req,) = add_orders(sandbox, key[0])
        assert req["params"]["deadline"] == mine == r.deadline == journal.get(r.cl_ord_id).deadline


async def test_ws_orders_late_or_answered_unreadably_are_found_once(sandbox: Sandbox, key: tuple[str, str]) -> None:
    """WS trading: the WS client never re-sends; a reply that does not come (late request, swallowed or
    garbled reply) is an unknown outcome the submitter looks up over REST after the deadline."""
    sb = sandbox
    rest = AsyncSpotClient(
        *key, environment=sb.environment, timeout=CLIENT_TIMEOUT, max_retries=0, rate_limiter=NoRateLimit()
    )
    api = WebsocketAPIClient(*key, environment=sb.environment, request_timeout=0.4)
    journal = OrderJournal.open(":memory:")
    try:
        await rest.get_server_time()
        await api.connect()
        sub = AsyncSafeOrderSubmitter.spot_ws(api, journal, rest=rest, **SAFETY)
        await sub.start()
        sb.faults.ws_late_arrival("add_order", n=4, delay=LATE)
        late = await asyncio.gather(*(sub.submit("BTC/USD", "buy", "market", "0.001") for _ in range(4)))
        for kind in ("truncated", "garbage", "swallow"):
            sb.faults.ws_garble_reply("add_order", kind=kind)
        garbled = await asyncio.gather(
            *(sub.submit("BTC/USD", "buy", "limit", "0.001", str(20000 + i)) for i in range(3))
        )
        results = [*late, *garbled]
        assert all(r.status is S.ACKNOWLEDGED for r in results)
        assert all(r.recovered for r in late)
        txid = {o["cl_ord_id"]: o["txid"] for o in sb.orders(key[0])}
        assert orders_by_cl(sb, key[0]) == {r.cl_ord_id: 1 for r in results}
        assert all(r.order_id == txid[r.cl_ord_id] for r in results)
        assert journal.counts() == {"acknowledged": 7}
        assert all(r.deadline and journal.get(r.cl_ord_id).deadline == r.deadline for r in results)
    finally:
        await api.close()
        await rest.aclose()
        journal.close()
