"""Shared helpers for the WebSocket integration tests: an event recorder that waits without sleeping,
small local WebSocket servers (127.0.0.1) that misbehave on purpose, and for the rate-limit tests a
virtual clock, a recording limiter and the sandbox's log of WS requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from krakenkit._core.errors import RateLimitError
from krakenkit._core.ratelimit import NoRateLimit, RateLimiter, SpotRateLimiter, spot_rate_limiter
from krakenkit.sandbox import Sandbox
from krakenkit.ws import WebsocketClient
from krakenkit.ws.events import WsEvent


class Recorder:
    """Collects every event and lets tests wait for one matching a predicate (no sleeps)."""

    def __init__(self, ws: WebsocketClient) -> None:
        self.events: list[WsEvent] = []
        self._cond = asyncio.Condition()
        for name in (
            "open",
            "authenticated",
            "message",
            "response",
            "reconnecting",
            "reconnected",
            "exception",
            "close",
            "book_resync",
            "queue_full",
        ):
            ws.on(name, self._on)

    async def _on(self, ev: WsEvent) -> None:
        async with self._cond:
            self.events.append(ev)
            self._cond.notify_all()

    def of(self, name: str, ws_key: str | None = None) -> list[Any]:
        return [e for e in self.events if e.name == name and (ws_key is None or e.ws_key == ws_key)]

    async def wait(
        self, name: str, ws_key: str | None = None, *, count: int = 1, timeout: float = 5.0, where: Any = None
    ) -> list[Any]:
        def matching() -> list[Any]:
            return [e for e in self.of(name, ws_key) if where is None or where(e)]

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: len(matching()) >= count), timeout)
        return matching()


# --- local servers that misbehave ----------------------------------------------------------------------------


class LocalServer:
    """A WebSocket server on 127.0.0.1: ``url``, the JSON frames it received, when each connection came."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[dict[str, Any]] = []
        self.received_at: list[float] = []  # time.time() each of ``received`` arrived
        self.connected_at: list[float] = []  # time.monotonic() of each accepted connection

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [f for f in self.received if f.get("method") == method]

    def arrivals(self, *methods: str) -> list[tuple[float, dict[str, Any]]]:
        """(time.time() of arrival, frame) of the frames of ``methods``."""
        return [(t, f) for t, f in zip(self.received_at, self.received, strict=True) if f.get("method") in methods]


@contextlib.asynccontextmanager
async def local_server(mode: str) -> AsyncIterator[LocalServer]:
    """``mode="silent"``: accepts, reads everything, answers nothing (no ack, no reply, no pong).
    ``mode="close"``: closes every connection as soon as it is open."""
    server = LocalServer()

    async def handler(conn: ServerConnection) -> None:
        server.connected_at.append(time.monotonic())
        if mode == "close":
            await conn.close()
            return
        async for raw in conn:
            with contextlib.suppress(ValueError):
                server.received.append(json.loads(raw))
                server.received_at.append(time.time())

    async with serve(handler, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}/v2"
        yield server


# --- rate limiting against a sandbox that enforces Kraken's trading counters --------------------------------

STARTER_THRESHOLD = 60  # Kraken's Spot trading counter threshold for the starter tier


class VirtualClock:
    """Unix-like seconds that move only when told: the sandbox and the limiter share it, so Kraken's
    counter decay happens in no real time at all."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingLimiter:
    """Wraps a real limiter and records every call; with a clock, instead of sleeping ``wait`` seconds it
    moves the shared clock by ``wait`` (the requests are sequential, so each goes out at its booked time)."""

    def __init__(self, inner: SpotRateLimiter, clock: VirtualClock | None = None) -> None:
        self.inner = inner
        self.clock = clock
        self.calls: list[tuple[str, str]] = []
        self.waited = 0.0

    @property
    def rate_limited(self) -> int:
        """How often Kraken refused with its rate-limit error."""
        return sum(1 for c in self.calls if c[0] == "on_rate_limited")

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        self.calls.append(("reserve", endpoint))
        wait = self.inner.reserve(endpoint, params)
        if self.clock is None:
            return wait
        self.clock.advance(wait)
        self.waited += wait
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        self.calls.append(("on_response", endpoint))
        self.inner.on_response(endpoint, params, result)

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        self.calls.append(("on_rate_limited", endpoint))
        self.inner.on_rate_limited(endpoint, params)


def ws_sent(sb: Sandbox, method: str) -> list[dict[str, Any]]:
    """The WebSocket requests of ``method`` the sandbox received."""
    return [r for r in sb.requests if r["transport"] == "ws" and r["method"] == method]


SendOne = Callable[[], Awaitable[object]]
#: Opens a client of a key on the sandbox with the given limiter and yields "send one order": an
#: immediate-or-cancel buy of BTC/USD far below the market (+1 on the pair's counter, nothing left open).
OpenClient = Callable[[Sandbox, str, str, RateLimiter], AbstractAsyncContextManager[SendOne]]


async def burst(send: SendOne, n: int) -> list[BaseException]:
    """``send`` ``n`` times in a row; the ``RateLimitError`` s it raised (any other error fails the test)."""
    errors: list[BaseException] = []
    for _ in range(n):
        try:
            await send()
        except RateLimitError as exc:
            errors.append(exc)
    return errors


async def check_burst_beyond_the_threshold_waits(open_client: OpenClient, *, seed: int, n: int) -> None:
    """A starter key's burst of ``n`` (beyond Kraken's threshold) through a limiter on the sandbox's virtual
    clock gets no rate-limit error; the same burst with limiting off is refused past the threshold."""
    clock = VirtualClock()
    async with Sandbox(seed=seed, rate_limits=True, market=False, clock=clock) as sb:
        key, secret = sb.create_key(tier="starter")
        limiter = RecordingLimiter(spot_rate_limiter("starter", clock=clock), clock)
        async with open_client(sb, key, secret, limiter) as send:
            errors = await burst(send, n)
        assert errors == []
        assert len(ws_sent(sb, "add_order")) == n
        assert limiter.rate_limited == 0
        # the limiter made the burst wait (in virtual time) roughly one decay step per order beyond the
        # threshold, and no more than that
        beyond = n - (STARTER_THRESHOLD - 1)
        assert beyond - 1 <= limiter.waited <= beyond + 1

        # control: the same burst with limiting switched off is refused by the sandbox past the threshold
        key2, secret2 = sb.create_key(tier="starter")
        async with open_client(sb, key2, secret2, NoRateLimit()) as send2:
            refused = await burst(send2, n)
        assert len(refused) == n - STARTER_THRESHOLD
        assert all("EOrder:Rate limit exceeded" in str(e) for e in refused)


async def check_rate_limited_reply_resynchronises(open_client: OpenClient, *, seed: int) -> None:
    """Traffic the limiter never saw (another process, say) half-fills Kraken's counter: the limiter's burst
    meets one ``EOrder:Rate limit exceeded``, assumes the counter full, and waits from then on."""
    clock = VirtualClock()
    async with Sandbox(seed=seed, rate_limits=True, market=False, clock=clock) as sb:
        key, secret = sb.create_key(tier="starter")
        inner = spot_rate_limiter("starter", clock=clock)
        limiter = RecordingLimiter(inner, clock)
        async with (
            open_client(sb, key, secret, NoRateLimit()) as other,
            open_client(sb, key, secret, limiter) as send,
        ):
            assert await burst(other, STARTER_THRESHOLD // 2) == []
            errors = await burst(send, STARTER_THRESHOLD // 2 + 1)
            assert len(errors) == 1
            assert limiter.calls.count(("on_rate_limited", "add_order")) == 1 and limiter.rate_limited == 1
            assert inner.trading_level("BTC/USD") >= inner.limits.trading_threshold - 1e-6  # assumed full
            # the next orders wait for the counter instead of being refused again
            waited = limiter.waited
            assert await burst(send, 3) == []
            assert limiter.waited > waited
