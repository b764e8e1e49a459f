"""Order safety against a local fake Kraken with real sockets: late arrival, garbled 200 after placing,
trickled bodies, and the wire turn passing on as soon as a request is written."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from rest_fakes import FakeKraken, Fault

import krakenkit._core.errors as E
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, RetryPolicy, SpotClient

SECRET = base64.b64encode(b"fake-kraken-secret" * 4).decode()
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)
MARKET: dict[str, Any] = {"ordertype": "market", "type": "buy", "volume": "0.01", "pair": "XBTUSD"}


def client(fake: FakeKraken, key: str, **kw: Any) -> SpotClient:
    kw.setdefault("retry_policy", FAST)
    kw.setdefault("rate_limiter", NoRateLimit())
    return SpotClient(key, SECRET, base_url=fake.url, **kw)


# --- late arrival -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_deadline", "late_by", "placed_late"),
    [(2.25, 4.0, False)],
    ids=["rejected-by-its-deadline"],
)
def test_late_arrival_never_executes_twice(order_deadline: float, late_by: float, placed_late: bool) -> None:
    """15 market orders whose request reaches the engine ``late_by`` seconds after sending and is never answered.
    The old 1 s grace resent them (8 of 15 executed twice on this server). Now, with a 2.25 s deadline (pushed to
    about 2.75 s by the clock's uncertainty), the engine rejects the request arriving 4 s late, the look-up after
    the deadline proves it absent and the resend places it: exactly one order per cl_ord_id. (The sandbox tests
    cover the late order that executes before its deadline: found by the look-up, never resent.)"""
    n = 15
    with FakeKraken() as fake:
        fake.fault("AddOrder", Fault("late", n=n, delay=late_by))
        key = f"late-{order_deadline}"
        with client(fake, key, order_deadline=order_deadline, timeout=12, max_retries=2) as c:
            c.get_server_time()  # the Date header measures the clock (uncertainty about 0.5 s)
            ids = [c.generate_new_order_id() for _ in range(n)]
            start = time.monotonic()
            with ThreadPoolExecutor(n) as pool:
                results = list(pool.map(lambda cid: c.submit_order(**MARKET, cl_ord_id=cid), ids))
            elapsed = time.monotonic() - start
        assert fake.wait_late(n)  # every late request has reached the "engine"
        per_id = [len(fake.by_cl_ord_id(cid)) for cid in ids]
        sends = [sum(1 for r in fake.log if r.name == "AddOrder" and r.params().get("cl_ord_id") == cid) for cid in ids]
    assert per_id == [1] * n, per_id  # 0 duplicates, 0 missing
    assert all(r.recovered is placed_late for r in results)
    assert sends == ([1] * n if placed_late else [2] * n)
    assert all(r.txid for r in results)
    assert elapsed < 12


# --- garbled 200 after placing -----------------------------------------------------------------

GARBLED = {
    "html": b"<html><head><title>502</title></head><body>cloudflare</body></html>",
    "truncated": b'{"error":[],"result":{"txid":["OFAKE',
    "empty": b"",
    "changed-shape": b'{"error":[],"result":{"order_ids":["x"]}}',
    "not-an-object": b'["OK"]',
    "deeply-nested": b"[" * 20000 + b"]" * 20000,
}


@pytest.mark.parametrize("kind", list(GARBLED))
def test_garbled_200_after_placing_is_recovered_by_look_up_never_not_placed(kind: str) -> None:
    with FakeKraken() as fake:
        fake.fault("AddOrder", Fault("garble", body=GARBLED[kind]))
        with client(fake, f"garble-{kind}", max_retries=3) as c:
            cid = c.generate_new_order_id()
            result = c.submit_order(**MARKET, cl_ord_id=cid)
        placed = fake.by_cl_ord_id(cid)
    assert len(placed) == 1
    assert result.recovered and result.txid == [placed[0].txid] and result.cl_ord_id == cid
    assert [r.name for r in fake.log].count("AddOrder") == 1


def test_garbled_200_without_cl_ord_id_is_outcome_unknown_not_an_error_of_kraken() -> None:
    with FakeKraken() as fake:
        fake.fault("AddOrder", Fault("garble", body=GARBLED["html"]))
        with client(fake, "garble-no-id", max_retries=3) as c, pytest.raises(E.OrderOutcomeUnknownError) as info:
            c.submit_order(**MARKET)
    assert isinstance(info.value.__cause__, E.InvalidResponseError)
    assert info.value.context["deadline"]  # the caller knows after when a look-up would be conclusive
    assert len(fake.orders) == 1


def test_garbled_batch_is_recovered_for_every_order() -> None:
    with FakeKraken() as fake:
        fake.fault("AddOrderBatch", Fault("garble", body=GARBLED["truncated"]))
        with client(fake, "garble-batch", max_retries=3) as c:
            ids = [c.generate_new_order_id() for _ in range(3)]
            orders = [{"ordertype": "limit", "type": "buy", "volume": "1", "price": "10", "cl_ord_id": i} for i in ids]
            result = c.submit_batch_orders(orders=orders, pair="XBTUSD")
        assert result.recovered
        assert [o.cl_ord_id for o in result.orders] == ids
        assert [o.txid for o in result.orders] == [fake.by_cl_ord_id(i)[0].txid for i in ids]
        assert [r.name for r in fake.log].count("AddOrderBatch") == 1


# --- trickled bodies: a true deadline per call ---------------------------------------------------

SLACK = 0.35


def test_trickling_server_cannot_hold_a_read_past_its_timeout() -> None:
    """One byte every 0.4 s keeps every socket read alive; the call still ends at its 1.0 s budget."""
    with FakeKraken() as fake:
        fake.fault("Balance", Fault("trickle", n=10, delay=0.4))
        with client(fake, "trickle-read", timeout=1.0, max_retries=3) as c:
            start = time.monotonic()
            with pytest.raises(E.APITimeoutError):
                c.get_account_balance()
            elapsed = time.monotonic() - start
            # the per-call timeout overrides the client's
            start = time.monotonic()
            with pytest.raises(E.APITimeoutError):
                c.get_account_balance(timeout=0.6)
            elapsed_override = time.monotonic() - start
    assert 0.9 <= elapsed <= 1.0 + SLACK, elapsed
    assert 0.5 <= elapsed_override <= 0.6 + SLACK, elapsed_override


def test_trickling_server_cannot_hold_an_order_past_its_timeout() -> None:
    with FakeKraken() as fake:
        fake.fault("AddOrder", Fault("trickle", n=10, delay=0.4))
        fake.fault("OpenOrders", Fault("trickle", n=10, delay=0.4))
        with client(fake, "trickle-order", timeout=1.5, max_retries=3) as c:
            cid = c.generate_new_order_id()
            start = time.monotonic()
            with pytest.raises(E.OrderOutcomeUnknownError) as info:
                c.submit_order(**MARKET, cl_ord_id=cid)
            elapsed = time.monotonic() - start
    assert elapsed <= 1.5 + SLACK, elapsed
    assert info.value.cl_ord_id == cid
    assert [r.name for r in fake.log] == ["AddOrder", "OpenOrders"]  # looked up within the budget


async def test_async_trickling_server_cannot_hold_a_call_past_its_timeout() -> None:
    with FakeKraken() as fake:
        fake.fault("Balance", Fault("trickle", n=10, delay=0.4))
        fake.fault("AddOrder", Fault("trickle", n=10, delay=0.4))
        fake.fault("OpenOrders", Fault("trickle", n=10, delay=0.4))
        async with AsyncSpotClient(
            "trickle-async", SECRET, base_url=fake.url, timeout=1.0, retry_policy=FAST, rate_limiter=NoRateLimit()
        ) as c:
            start = time.monotonic()
            with pytest.raises(E.APITimeoutError):
                await c.get_account_balance()
            read_elapsed = time.monotonic() - start
            start = time.monotonic()
            with pytest.raises(E.OrderOutcomeUnknownError):
                await c.submit_order(**MARKET, cl_ord_id=c.generate_new_order_id(), timeout=1.5)
            order_elapsed = time.monotonic() - start
    assert read_elapsed <= 1.0 + SLACK, read_elapsed
    assert order_elapsed <= 1.5 + SLACK, order_elapsed


def test_a_user_http_client_gets_clamped_timeouts() -> None:
    """Documented limit: with your own httpx.Client each socket operation is bounded by the time left when the
    attempt starts; a server that holds its answer is cut at the budget."""
    with FakeKraken() as fake:
        fake.fault("Balance", Fault("hold", delay=3.0))
        with httpx.Client() as http, client(fake, "user-client", http_client=http, timeout=0.8) as c:
            start = time.monotonic()
            with pytest.raises(E.APITimeoutError):
                c.get_account_balance()
            elapsed = time.monotonic() - start
    assert elapsed <= 0.8 + SLACK, elapsed


# --- the wire turn ------------------------------------------------------------------------------


def _second_waits(fake: FakeKraken, warm: bool) -> float:
    """Client ``a``'s request is answered 1 s late; how long does client ``b`` (same key, other thread) take?"""
    with client(fake, "turn") as a, client(fake, "turn") as b:
        if warm:  # both have an open connection already
            a.get_account_balance()
            b.get_account_balance()
        fake.fault("Balance", Fault("hold", delay=1.0))
        seen = len(fake.log)
        first = threading.Thread(target=a.get_account_balance)
        first.start()
        deadline = time.monotonic() + 2
        while len(fake.log) == seen and time.monotonic() < deadline:
            time.sleep(0.002)
        start = time.monotonic()
        b.get_account_balance()
        took = time.monotonic() - start
        first.join(3)
    return took


def test_the_turn_passes_on_when_the_body_is_written_not_when_the_answer_comes() -> None:
    """The first request's answer is held 1 s; the second request of the same key (another thread, another
    client) still goes out at once, with a larger nonce."""
    with FakeKraken() as fake:
        took = _second_waits(fake, warm=True)
        nonces = [int(r.params()["nonce"]) for r in fake.log]
    assert took < 0.3, took
    assert len(nonces) == 4 and nonces == sorted(nonces)
    assert fake.nonce_rejections == 0


def test_on_a_fresh_connection_the_turn_waits_for_the_answer_at_most_briefly() -> None:
    """A new connection may be read by the server after requests on open ones: the turn waits for the answer,
    but a server that does not answer holds it only FRESH_CONNECTION_HOLD (0.1 s), not 1 s."""
    with FakeKraken() as fake:
        took = _second_waits(fake, warm=False)
    assert 0.08 <= took < 0.6, took
    assert fake.nonce_rejections == 0


async def test_async_tasks_and_threads_share_one_turn_per_key() -> None:
    """Threads and asyncio tasks on one key, concurrently, against a strict (window 0) server: every nonce
    reaches it in order, so none is refused."""
    with FakeKraken() as fake:
        sync = client(fake, "mixed")
        async with AsyncSpotClient("mixed", SECRET, base_url=fake.url, rate_limiter=NoRateLimit()) as ac:
            loop = asyncio.get_running_loop()
            threads = [
                loop.run_in_executor(None, lambda: [sync.get_account_balance() for _ in range(15)]) for _ in range(4)
            ]
            tasks = [ac.get_account_balance() for _ in range(60)]
            await asyncio.gather(*threads, *tasks)
        sync.close()
    assert len(fake.log) == 120 + fake.nonce_rejections
    assert fake.nonce_rejections == 0
