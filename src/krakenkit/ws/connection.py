"""The asyncio driver: one :class:`WsConnection` per ws key, over the ``websockets`` library.

It only moves bytes and runs timers; decisions live in the pure protocol objects
(:mod:`~krakenkit.ws.protocol_spot`, :mod:`~krakenkit.ws.protocol_futures`).

Life of a connection::

    connect (connect-rate budget) -> open -> authenticate (Spot: fresh GetWebSocketsToken token,
    Derivatives: new signed challenge) -> authenticated -> ready (trading requests may go) ->
    resubscribe every active topic once -> reconnected (on reconnects) ... read loop ...
    socket gone (drop, close, stale) -> requests in flight fail with ConnectionLostError ->
    close -> reconnecting(reason, delay) -> backoff -> connect ...

Liveness (defaults from :class:`~krakenkit.ws.WebsocketClient`): every received frame (data,
heartbeat, pong) refreshes the connection. When nothing was received for ``ping_interval``
(default 3 s) it pings (Spot: application ``{"method": "ping"}``, Derivatives: a protocol ping
frame; sent from its own task, so a full send buffer cannot hide the silence). Nothing received
for ``staleness_timeout`` (default 10 s: a half-open socket, a stalled server, a peer that stopped
answering pings) -> the socket is aborted and reconnected (``reconnecting`` reason ``stale: ...``).

Reconnects never stop while the client is open: the first retry after a connection that was up
waits at most ``Backoff.first_jitter`` (50 ms), then failures back off exponentially with jitter
(0.25 s doubling, capped at 30 s, each scaled down by up to half). Every attempt counts against the
client's connect budget (default 150 per 600 s, shared by its connections): once it is used up, each
reconnect waits the budget's wait, but never longer than the backoff cap. Every wait is announced
first: the ``delay`` of a ``reconnecting`` event is the time then slept before the next attempt (a
first connect the budget delays is announced the same way, attempt 0). After a reconnect: fresh
token / challenge, every active subscription re-sent exactly once, ``reconnected`` when all are acked.

Requests are bounded: a subscribe/unsubscribe future fails with ``APITimeoutError`` after its timeout
and its waiter is removed (the subscription stays active and is re-sent after a reconnect, and again
by a repeated subscribe); trading requests are bounded by the client (see ``WebsocketClient.request``).

The reader never stops reading: acks, trading replies, pongs and the challenge are resolved as they
arrive, whatever the handlers and streams do. Events go through a queue bounded by ``max_queue``
events per connection (default 10,000), drained by a dispatcher task. When it is full the **oldest
``message`` event is dropped** (control events such as ``response`` or ``reconnecting`` are never
dropped) and a ``queue_full`` event (policy ``drop_oldest``) says so, once per episode, delivered at
once. On public keys that costs a stale market-data message; on private keys it costs private data
the handlers were too slow for (reconcile after it). Live books are applied in the reader, before
the queue, so they never lose an update to a slow handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from krakenkit._core import jsonutil
from krakenkit._core.deadline import ServerClock
from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidResponseError,
    KrakenError,
)
from krakenkit._core.secrets import Secret

from ._wire import PRIVATE_WS_LOGGER, send_frame
from .events import (
    AuthenticatedEvent,
    CloseEvent,
    ExceptionEvent,
    MessageEvent,
    OpenEvent,
    QueueFullEvent,
    ReconnectedEvent,
    ReconnectingEvent,
    ResponseEvent,
    WsEvent,
)
from .protocol_common import Backoff, ConnectBudget, Liveness, Outcome
from .protocol_futures import FuturesProtocol, redact_echo
from .protocol_spot import FrameKind, SpotProtocol

if TYPE_CHECKING:
    from .protocol_common import SubRequest

__all__ = ["ConnectionOptions", "WsConnection"]

log = logging.getLogger("krakenkit.ws")

TokenProvider = Callable[[], Awaitable[str | Secret]]
Deliver = Callable[[WsEvent], Awaitable[None] | None]
RawHook = Callable[[str, Any, bytes | bytearray | memoryview], bool]


@dataclass
class ConnectionOptions:
    staleness_timeout: float = 10.0
    ping_interval: float = 3.0
    backoff: Backoff = field(default_factory=Backoff)
    max_queue: int = 10_000
    open_timeout: float = 10.0
    auth_timeout: float = 10.0
    resubscribe_timeout: float = 10.0
    close_timeout: float = 2.0
    proxy: str | Literal[True] | None = True  # True: websockets reads HTTPS_PROXY/ALL_PROXY from the environment
    compression: str | None = None
    ssl: Any = None
    user_agent: str = "krakenkit"
    max_size: int | None = 2**24


class WsConnection:
    """One WebSocket connection for one ws key, reconnecting until closed."""

    def __init__(
        self,
        ws_key: str,
        url: str,
        options: ConnectionOptions,
        deliver: Deliver,
        budget: ConnectBudget,
        *,
        token_provider: TokenProvider | None = None,
        futures_credentials: tuple[Secret, Secret] | None = None,
        raw_hook: RawHook | None = None,
    ) -> None:
        self.ws_key = ws_key
        self.url = url
        self.options = options
        self.is_futures = ws_key in WS_KEY_MAP.DERIVATIVES
        self.private = ws_key in WS_KEY_MAP.PRIVATE
        self._data_field = "feed" if self.is_futures else "channel"
        self.protocol: SpotProtocol | FuturesProtocol = (
            FuturesProtocol(ws_key) if self.is_futures else SpotProtocol(ws_key)
        )
        self._deliver = deliver
        self._budget = budget
        self._token_provider = token_provider
        self._futures_credentials = futures_credentials
        self.raw_hook = raw_hook
        self.disconnect_hook: Callable[[str], None] | None = None
        self._rng = random.Random()  # jitter, not security
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        self._queue: deque[tuple[WsEvent, bool]] = deque()
        self._wake = asyncio.Event()
        self._queue_full_episode = False
        self._inline_ok: Callable[[str, str], bool] = lambda _name, _key: False
        self.dropped_messages = 0
        self._ws: ClientConnection | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
        self._session_tasks: set[asyncio.Task[Any]] = set()
        self._ready = asyncio.Event()
        self._closing = False
        self._wakeup_sleep = asyncio.Event()
        self._close_reason: str | None = None
        self._challenge: asyncio.Future[str] | None = None
        self.liveness: Liveness | None = None
        self.connects = 0
        self.sessions_ready = 0
        #: Kraken's clock, fed from the ``time_in``/``time_out`` of replies (Spot keys; set by the client)
        self.server_clock: ServerClock | None = None
        self._sent_at: dict[int, float] = {}  # req_id -> local time.time() it was sent (clock observations)

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for ``websockets.asyncio.client.connect`` (keep-alive is ours, not the library's)."""
        kwargs: dict[str, Any] = {
            "proxy": self.options.proxy,
            "open_timeout": self.options.open_timeout,
            "ping_interval": None,
            "ping_timeout": None,
            "close_timeout": self.options.close_timeout,
            "compression": self.options.compression,
            "max_size": self.options.max_size,
            "user_agent_header": self.options.user_agent,
            "max_queue": 64,
            "create_connection": self._connection_class,
        }
        if self.private:  # websockets' DEBUG log shows frame contents: not those of a private connection
            kwargs["logger"] = PRIVATE_WS_LOGGER
        if self.options.ssl is not None:  # absent: websockets makes a default TLS context for wss://
            kwargs["ssl"] = self.options.ssl
        return kwargs

    @property
    def _connection_class(self) -> type[ClientConnection]:
        handler = self.on_frame

        class _Conn(_FastClientConnection):
            on_data = staticmethod(handler)

        return _Conn

    # lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._run_task is None:
            self._dispatch_task = asyncio.get_running_loop().create_task(
                self._dispatch_loop(), name=f"krakenkit-ws-dispatch-{self.ws_key}"
            )
            self._run_task = asyncio.get_running_loop().create_task(self._run(), name=f"krakenkit-ws-{self.ws_key}")

    @property
    def pending_requests(self) -> int:
        """Callers waiting for an answer on this connection: trading requests not yet answered,
        subscribe/unsubscribe calls not yet acknowledged (a running resubscribe included). A call that
        timed out or was cancelled no longer counts."""
        return len(self._waiters)

    @property
    def token(self) -> Secret | None:
        """The WebSocket token of the current Spot private connection, as a
        :class:`~krakenkit._core.secrets.Secret` (None when not connected)."""
        proto = self.protocol
        return proto.token if isinstance(proto, SpotProtocol) else None

    @property
    def challenge(self) -> str | None:
        """The challenge signed for the current Derivatives private connection."""
        proto = self.protocol
        return proto.original_challenge if isinstance(proto, FuturesProtocol) else None

    @property
    def started(self) -> bool:
        return self._run_task is not None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self, timeout: float | None) -> None:
        """Wait until connected and authenticated (trading requests may go)."""
        if self._ready.is_set():
            return
        self.start()
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise APIConnectionError(
                f"{self.ws_key}: not connected within {timeout}s; nothing was sent",
                retry_safe=True,
                endpoint=self.url,
            ) from None

    async def close(self) -> None:
        """Close for good: no reconnect, pending waiters fail, handlers see a final ``close``."""
        if self._closing:
            return
        self._closing = True
        self._wakeup_sleep.set()
        ws = self._ws
        in_session = ws is not None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), self.options.close_timeout)
            if ws.transport is not None:
                ws.transport.abort()
        if self._run_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._run_task), self.options.close_timeout + 1)
            except (TimeoutError, asyncio.CancelledError):
                self._run_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._run_task
        err = APIConnectionError(f"{self.ws_key}: client closed", retry_safe=False)
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(err)
        self._waiters.clear()
        if not in_session:  # a live session already reported its final close
            self._emit(CloseEvent(self.ws_key, None, "client closed", True))
        if self._dispatch_task is not None:
            # let handlers see what is queued (bounded wait), then stop the dispatcher
            self._emit_sentinel()
            try:
                await asyncio.wait_for(asyncio.shield(self._dispatch_task), 2.0)
            except (TimeoutError, asyncio.CancelledError):
                self._dispatch_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._dispatch_task

    # futures for callers ----------------------------------------------------------------------------
    def new_future(
        self,
        waiter_id: int,
        timeout: float | None = None,
        on_timeout: Callable[[], BaseException] | None = None,
    ) -> asyncio.Future[Any]:
        """A future for ``waiter_id``; with ``timeout`` it fails with ``on_timeout()`` when unanswered by
        then. However it ends (answer, timeout, cancelled by its caller) its waiter is removed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        fut.add_done_callback(_retrieve)
        self._waiters[waiter_id] = fut
        if timeout is not None:
            make = on_timeout or (lambda: APITimeoutError(f"{self.ws_key}: no answer within {timeout}s"))
            handle = loop.call_later(max(0.0, timeout), self._expire, waiter_id, make)
            fut.add_done_callback(lambda _f: handle.cancel())
        fut.add_done_callback(functools.partial(self._waiter_done, waiter_id))
        return fut

    def _waiter_done(self, waiter_id: int, fut: asyncio.Future[Any]) -> None:
        if self._waiters.get(waiter_id) is fut:  # ended by its caller (cancelled), not by an answer
            self.forget(waiter_id)

    def _expire(self, waiter_id: int, make_error: Callable[[], BaseException]) -> None:
        fut = self._waiters.get(waiter_id)
        if fut is None or fut.done():
            return
        self.forget(waiter_id)
        fut.set_exception(make_error())

    def resolve(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            fut = self._waiters.pop(o.waiter_id, None)
            if fut is None or fut.done():
                continue
            if o.error is not None:
                fut.set_exception(o.error)
            else:
                fut.set_result(o.value)

    def forget(self, waiter_id: int) -> None:
        """Nobody waits for ``waiter_id`` any more: drop its future and its subscription waiter."""
        self._waiters.pop(waiter_id, None)
        self.protocol.subs.expire(waiter_id)

    # subscriptions ----------------------------------------------------------------------------------
    def subscribe(self, requests: list[SubRequest], timeout: float | None = None) -> asyncio.Future[Any]:
        """Subscribe; the future has the acks, or ``APITimeoutError`` after ``timeout`` seconds."""
        wid, frames, outcomes = self.protocol.subscribe(requests)
        fut = self.new_future(wid, timeout, functools.partial(self._sub_timeout, "subscribe", requests, timeout))
        self.resolve(outcomes)
        self._send_soon(frames)
        self.start()
        return fut

    def unsubscribe(self, requests: list[SubRequest], timeout: float | None = None) -> asyncio.Future[Any]:
        wid, frames, outcomes = self.protocol.unsubscribe(requests)
        fut = self.new_future(wid, timeout, functools.partial(self._sub_timeout, "unsubscribe", requests, timeout))
        self.resolve(outcomes)
        self._send_soon(frames)
        return fut

    def _sub_timeout(self, op: str, requests: list[SubRequest], timeout: float | None) -> APITimeoutError:
        topics = ", ".join(sorted({r.topic for r in requests}))
        state = "connected" if self._ready.is_set() else "not connected"
        after = (
            "it stays active: re-sent after a reconnect and by a repeated subscribe; unsubscribe to drop it"
            if op == "subscribe"
            else "it is no longer active here"
        )
        return APITimeoutError(
            f"{self.ws_key}: {op} {topics} not acknowledged within {timeout}s ({state}); {after}", endpoint=op
        )

    def _send_soon(self, frames: list[dict[str, Any]]) -> None:
        if not frames:
            return
        ws = self._ws
        if ws is None:
            return
        task = asyncio.get_running_loop().create_task(self._send_frames(ws, frames))
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    async def _send_frames(self, ws: ClientConnection, frames: list[dict[str, Any]]) -> None:
        for frame in frames:
            try:
                self._note_sent(frame)
                await send_frame(ws, frame)
            except ConnectionClosed:
                return  # the reader sees it too; the session ends and everything is re-sent

    async def send_request(self, frame: dict[str, Any]) -> None:
        """Send one request frame now (raises APIConnectionError when the socket is gone, ValidationError
        when a value cannot be written as JSON: nothing sent)."""
        ws = self._ws
        if ws is None:
            raise APIConnectionError(f"{self.ws_key}: not connected", retry_safe=True)
        try:
            self._note_sent(frame)
            await send_frame(ws, frame)
        except ConnectionClosed as exc:
            raise APIConnectionError(f"{self.ws_key}: connection closed while sending", retry_safe=False) from exc

    def new_waiter_id(self) -> int:
        return self.protocol.subs.new_waiter_id()

    # Kraken's clock ----------------------------------------------------------------------------------
    def _note_sent(self, frame: dict[str, Any]) -> None:
        """Remember when a frame with a ``req_id`` left, to read Kraken's clock from its reply."""
        req_id = frame.get("req_id")
        if self.server_clock is None or not isinstance(req_id, int):
            return
        sent = self._sent_at
        if len(sent) >= 256:  # replies that never came (lost pings ...): keep the newest only
            sent.pop(next(iter(sent)))
        sent[req_id] = time.time()

    def _observe_clock(self, msg: Any, req_id: int | None) -> None:
        """A reply's ``time_in``/``time_out`` were read on Kraken's clock between sending and now."""
        sent = self._sent_at.pop(req_id, None) if req_id is not None else None
        clock = self.server_clock
        if sent is None or clock is None or not isinstance(msg, dict):
            return
        now = time.time()
        for name in ("time_in", "time_out"):
            server_ts = _rfc3339(msg.get(name))
            if server_ts is not None:
                clock.observe(server_ts, sent, now)

    # events -------------------------------------------------------------------------------------------
    def _emit(self, event: WsEvent, droppable: bool = False) -> None:
        """Queue ``event`` for the handlers (``droppable``: a ``message`` event the full queue may drop)."""
        q = self._queue
        if not q and self._inline_ok(event.name, self.ws_key):
            # nothing queued and only sync handlers: deliver now (same order, no queue hop)
            self._deliver(event)
            return
        if droppable and len(q) >= self.options.max_queue:
            self._drop_oldest()
        q.append((event, droppable))
        if not self._wake.is_set():
            self._wake.set()

    def _drop_oldest(self) -> None:
        """The queue is full: drop its oldest ``message`` event (never a control event). The reader never
        waits, so acks and trading replies are always read."""
        q = self._queue
        kept: list[tuple[WsEvent, bool]] = []
        while q:
            item = q.popleft()
            if item[1]:
                self.dropped_messages += 1
                break
            kept.append(item)
        q.extendleft(reversed(kept))
        if not self._queue_full_episode:
            self._queue_full_episode = True
            self._out_of_band(QueueFullEvent(self.ws_key, "drop_oldest", self.dropped_messages, self.options.max_queue))

    def _out_of_band(self, event: WsEvent) -> None:
        """Deliver now, not through the (full, possibly stuck) queue: sync handlers run here, async
        handlers in their own task."""
        log.warning(
            "%s: event queue full (%s, max_queue=%d)", self.ws_key, getattr(event, "policy", ""), self.options.max_queue
        )
        res = self._deliver(event)
        if res is not None:
            task = asyncio.ensure_future(res)
            self._session_tasks.add(task)
            task.add_done_callback(self._session_tasks.discard)

    def _emit_sentinel(self) -> None:
        self._queue.append((_SENTINEL, False))
        self._wake.set()

    async def _dispatch_loop(self) -> None:
        q = self._queue
        wake = self._wake
        deliver = self._deliver
        low = max(1, self.options.max_queue // 2)
        while True:
            if not q:
                wake.clear()
                await wake.wait()
                continue
            event, _ = q.popleft()
            if event is _SENTINEL:
                return
            if len(q) < low and self._queue_full_episode:
                self._queue_full_episode = False
            try:
                res = deliver(event)
                if res is not None:
                    await res
            except asyncio.CancelledError:
                raise
            except Exception:  # pragma: no cover - deliver already guards handlers
                log.exception("%s: event delivery failed", self.ws_key)

    # the run loop -------------------------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._closing:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup_sleep.wait(), seconds)

    async def _run(self) -> None:
        attempt = 0  # consecutive failures since the last good session
        had_session = False
        down_since: float | None = None
        await self._wait_to_connect("first connect", 0, 0.0, announce_backoff=False)
        while not self._closing:
            self._budget.record(time.monotonic())
            self.connects += 1
            self.liveness = Liveness(self.options.staleness_timeout, self.options.ping_interval, time.monotonic())
            try:
                ws = await connect(self.url, **self.connect_kwargs())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing:
                    break
                attempt += 1
                reason = f"connect failed: {exc!r}"
                err = APIConnectionError(f"{self.ws_key}: {reason}", endpoint=self.url, retry_safe=True)
                err.__cause__ = exc
                self._emit(ExceptionEvent(self.ws_key, err))
                await self._wait_to_connect(reason, attempt, self.options.backoff.delay(attempt, self._rng))
                continue
            if self._closing:
                with contextlib.suppress(Exception):
                    await ws.close()
                break
            reconnect = had_session
            ok, reason, _code = await self._session(ws, reconnect, attempt, down_since)
            had_session = had_session or ok
            down_since = time.monotonic()
            attempt = 0 if ok else attempt + 1
            if self._closing:
                break
            await self._wait_to_connect(reason, attempt, self.options.backoff.delay(attempt, self._rng))

    async def _wait_to_connect(
        self, reason: str, attempt: int, backoff: float, *, announce_backoff: bool = True
    ) -> None:
        """Announce the wait before the next connect (``reconnecting``, whose ``delay`` is what is slept),
        then sleep it. The connect budget may lengthen the backoff, never beyond the backoff cap."""
        delay = backoff
        budget_wait = self._budget.wait_time(time.monotonic())
        if budget_wait > delay:
            delay = max(delay, min(self.options.backoff.max_delay, budget_wait))
            reason = (
                f"{reason}; connect budget used up ({self._budget.max_connects} connects per "
                f"{self._budget.per_seconds:g}s), next attempt in {delay:.2f}s"
            )
            log.warning("%s: %s", self.ws_key, reason)
        elif not announce_backoff:
            return
        if self._closing:
            return
        self._emit(ReconnectingEvent(self.ws_key, reason, attempt, delay))
        await self._sleep(delay)

    async def _session(
        self, ws: ClientConnection, reconnect: bool, attempt: int, down_since: float | None
    ) -> tuple[bool, str, int | None]:
        """Run one connected socket until it goes. Returns (reached ready, reason, close code)."""
        self._ws = ws
        self._close_reason = None
        if self.liveness is None:  # pragma: no cover - set before connecting
            self.liveness = Liveness(self.options.staleness_timeout, self.options.ping_interval, time.monotonic())
        self.liveness.on_rx(time.monotonic())
        self._emit(OpenEvent(self.ws_key, self.url, reconnect))
        good = asyncio.Event()
        setup = asyncio.get_running_loop().create_task(self._setup(ws, reconnect, attempt, down_since, good))
        watchdog = asyncio.get_running_loop().create_task(self._watchdog(ws))
        reason = "connection closed"
        code: int | None = None
        try:
            reason, code = await self._read_loop(ws)
        finally:
            self._ws = None
            self._ready.clear()
            tasks = (setup, watchdog, *self._session_tasks)
            for task in tasks:
                task.cancel()
            if self._challenge is not None and not self._challenge.done():
                self._challenge.cancel()
            self._challenge = None
            # in-flight requests fail now (ConnectionLostError); topics wait for the next session
            self.resolve(self.protocol.on_connection_lost(reason))
            self._sent_at.clear()
            if self.disconnect_hook is not None:
                self.disconnect_hook(self.ws_key)
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            self._session_tasks.clear()
            if ws.transport is not None:
                ws.transport.abort()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(ws.wait_closed(), 1.0)
            self._emit(CloseEvent(self.ws_key, code, reason, self._closing))
        return good.is_set(), reason, code

    async def _setup(
        self, ws: ClientConnection, reconnect: bool, attempt: int, down_since: float | None, good: asyncio.Event
    ) -> None:
        try:
            await self._authenticate(ws)
            if self._ws is not ws:  # the session ended meanwhile (a cancellation can be lost in a finished wait)
                return
            frames = self.protocol.on_ready()
            keys = list(self.protocol.subs.topics)
            self._ready.set()
            watch = self._watch_keys(keys) if reconnect else None  # "reconnected" waits for the acks
            clock = self.server_clock
            if isinstance(self.protocol, SpotProtocol) and clock is not None and clock.uncertainty > 0.5:
                frames.append(self.protocol.ping())  # its pong reads Kraken's clock before the first order
            await self._send_frames(ws, frames)
            n = len(keys)
            if watch is not None:
                try:
                    await asyncio.wait_for(watch, self.options.resubscribe_timeout)
                except TimeoutError:
                    self._emit(
                        ExceptionEvent(
                            self.ws_key,
                            APITimeoutError(
                                f"{self.ws_key}: resubscribe not acknowledged within "
                                f"{self.options.resubscribe_timeout}s"
                            ),
                        )
                    )
                except KrakenError:
                    pass  # a rejected topic was reported as an exception event already
            if self._ws is not ws:  # dropped while resubscribing: no "reconnected" for a dead session
                return
            good.set()
            self.sessions_ready += 1
            if reconnect:
                downtime = time.monotonic() - down_since if down_since is not None else 0.0
                self._emit(ReconnectedEvent(self.ws_key, attempt, downtime, n))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            err = (
                exc
                if isinstance(exc, KrakenError)
                else APIConnectionError(f"{self.ws_key}: connection setup failed: {exc!r}")
            )
            if err is not exc:
                err.__cause__ = exc
            self._emit(ExceptionEvent(self.ws_key, err))
            self._close_reason = f"setup failed: {exc}"
            if ws.transport is not None:
                ws.transport.abort()

    def _watch_keys(self, keys: list[Any]) -> asyncio.Future[Any] | None:
        if not keys:
            return None
        wid, outcomes = self.protocol.subs.watch(keys)
        if outcomes:
            return None
        return self.new_future(wid)

    async def _authenticate(self, ws: ClientConnection) -> None:
        if not self.private:
            return
        # No plain credential, token or signature in a local of this frame: a failure here is an exception
        # event whose traceback shows this frame's locals. They stay Secrets until encode_frame.
        proto = self.protocol
        if isinstance(proto, SpotProtocol):
            if self._token_provider is None:
                raise AuthenticationError(f"{self.ws_key} needs api_key/api_secret (a GetWebSocketsToken token)")
            proto.token = await asyncio.wait_for(_hidden(self._token_provider), self.options.auth_timeout)
            self._emit(AuthenticatedEvent(self.ws_key, "token"))
            return
        creds = self._futures_credentials
        if creds is None:
            raise AuthenticationError(f"{self.ws_key} needs futures_api_key/futures_api_secret")
        self._challenge = asyncio.get_running_loop().create_future()
        await send_frame(ws, proto.challenge_request(creds[0]))
        try:
            challenge = await asyncio.wait_for(self._challenge, self.options.auth_timeout)
        except TimeoutError:
            raise APITimeoutError(f"{self.ws_key}: no challenge within {self.options.auth_timeout}s") from None
        proto.set_challenge(challenge, creds[1])
        self._emit(AuthenticatedEvent(self.ws_key, "challenge"))

    async def _watchdog(self, ws: ClientConnection) -> None:
        live = self.liveness
        assert live is not None
        spot = isinstance(self.protocol, SpotProtocol)
        while True:
            await asyncio.sleep(live.next_check_in(time.monotonic()))
            now = time.monotonic()
            if live.is_stale(now):
                self._close_reason = (
                    f"stale: nothing received for {live.silent_for(now):.2f}s "
                    f"(staleness_timeout {live.staleness_timeout}s)"
                )
                log.warning("%s: %s, reconnecting", self.ws_key, self._close_reason)
                if ws.transport is not None:
                    ws.transport.abort()
                return
            if live.ping_due(now):
                live.on_ping(now)
                # sent from its own task: a socket whose send buffer is full (a half-open peer)
                # must not hold up this loop, which is what notices the silence
                task = asyncio.get_running_loop().create_task(self._send_ping(ws, live, spot))
                self._session_tasks.add(task)
                task.add_done_callback(self._session_tasks.discard)

    async def _send_ping(self, ws: ClientConnection, live: Liveness, spot: bool) -> None:
        """Spot: application ``ping`` (answered by ``pong``, a frame like any other); Derivatives:
        a protocol ping whose pong refreshes the liveness. An unanswered ping changes nothing, so
        a silent peer goes stale after ``staleness_timeout``."""
        try:
            if spot:
                assert isinstance(self.protocol, SpotProtocol)
                frame = self.protocol.ping()
                self._note_sent(frame)
                await send_frame(ws, frame)
            else:
                pong = await ws.ping()
                fut: asyncio.Future[float] = asyncio.ensure_future(pong)
                fut.add_done_callback(_mark_rx(live))
        except ConnectionClosed:
            return

    async def _read_loop(self, ws: ClientConnection) -> tuple[str, int | None]:
        """Data frames are handled by :meth:`on_frame` straight from the protocol (see
        :class:`_FastClientConnection`); ``recv`` only sees fragmented messages and the close."""
        while True:
            try:
                raw = await ws.recv(decode=False)
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                code = rcvd.code if rcvd is not None else 1006
                reason = self._close_reason or (
                    f"closed by server (code {code}{': ' + rcvd.reason if rcvd is not None and rcvd.reason else ''})"
                    if rcvd is not None
                    else f"connection lost (code {code}, no close frame)"
                )
                return reason, code
            self.on_frame(raw.encode() if isinstance(raw, str) else raw)

    def on_frame(self, raw: bytes | bytearray | memoryview) -> None:
        """One complete text/binary message (runs inside the protocol's ``data_received``)."""
        live = self.liveness
        if live is not None:
            live.last_rx = _monotonic()
        try:
            msg = _loads(raw)
        except (_DecodeError, RecursionError, ValueError) as exc:  # garbage, truncated, nested too deep
            data = bytes(raw)
            text = data[:200].decode("utf-8", "replace")
            what = "JSON nested too deep" if isinstance(exc, RecursionError) else "non-JSON frame"
            err = InvalidResponseError(f"{self.ws_key}: {what}: {text!r}", body_excerpt=text)
            err.__cause__ = exc
            self._emit(ExceptionEvent(self.ws_key, err, data))
            return
        try:
            if type(msg) is dict:
                ch = msg.get(self._data_field)
                if ch is not None and ch != "heartbeat" and "event" not in msg:
                    hook = self.raw_hook
                    if hook is not None and hook(self.ws_key, msg, raw):
                        return
                    self._emit(MessageEvent(self.ws_key, msg), True)
                    return
            self._on_control(msg, raw)
        except Exception as exc:  # a frame we could not make sense of must not kill the socket
            kerr: KrakenError = (
                exc
                if isinstance(exc, KrakenError)
                else InvalidResponseError(f"{self.ws_key}: could not handle frame: {exc!r}")
            )
            self._emit(ExceptionEvent(self.ws_key, kerr, bytes(raw)))

    def _on_control(self, msg: Any, raw: bytes | bytearray | memoryview) -> None:
        key = self.ws_key
        if self.is_futures and redact_echo(msg):  # private acks echo the API key and the signed challenge
            raw = jsonutil.dumps(msg)
        frame = self.protocol.on_frame(msg)
        kind = frame.kind
        if kind == FrameKind.HEARTBEAT:
            return
        if kind == FrameKind.PONG:
            self._observe_clock(msg, frame.req_id)
            return
        if kind == FrameKind.DATA:
            if self.raw_hook is not None and self.raw_hook(key, msg, raw):
                return
            self._emit(MessageEvent(key, msg), True)
            return
        if kind == FrameKind.MALFORMED:
            data = bytes(raw)
            self._emit(
                ExceptionEvent(
                    key,
                    InvalidResponseError(f"{key}: unexpected frame: {data[:200].decode('utf-8', 'replace')!r}"),
                    data,
                )
            )
            return
        if kind == FrameKind.CHALLENGE:
            ch = self._challenge
            challenge = msg.get("message") if isinstance(msg, dict) else None
            if ch is not None and not ch.done() and isinstance(challenge, str):
                ch.set_result(challenge)
        if frame.req_id is not None:
            self._observe_clock(msg, frame.req_id)
        self.resolve(frame.outcomes)
        self._emit(ResponseEvent(key, msg, frame.req_id, frame.success))
        if frame.error is not None:
            self._emit(ExceptionEvent(key, frame.error, bytes(raw)))

    def abort_for_test(self) -> None:
        """Drop the socket abruptly (used by tests and benchmarks)."""
        ws = self._ws
        if ws is not None and ws.transport is not None:
            ws.transport.abort()


async def _hidden(provider: TokenProvider) -> object:
    """The provider's token, a str made a :class:`Secret` at once: the task's result (which asyncio shows in
    its repr) is never the plain token."""
    return _secret_if_text(await provider())


def _secret_if_text(value: object) -> object:
    return Secret(value) if isinstance(value, str) else value


def _rfc3339(value: Any) -> float | None:
    """Kraken's ``time_in``/``time_out`` (RFC 3339, UTC; a missing zone is read as UTC) -> unix seconds."""
    if not isinstance(value, str) or not 19 <= len(value) <= 40:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).timestamp()


_SENTINEL = CloseEvent("__sentinel__")
_monotonic = time.monotonic
_loads = msgspec.json.Decoder(float_hook=Decimal).decode  # = jsonutil.loads, accepting any buffer
_DecodeError = msgspec.DecodeError
_OP_TEXT = Opcode.TEXT
_OP_BINARY = Opcode.BINARY
_OP_CONT = Opcode.CONT


class _FastClientConnection(ClientConnection):
    """websockets' asyncio connection with a fast path: each complete (unfragmented) data frame
    goes straight to ``on_data`` from ``data_received``, skipping the message assembler and one
    ``await recv()`` per message. Fragmented messages, control frames and the closing handshake
    take websockets' normal path."""

    on_data: Callable[[bytes | bytearray | memoryview], None] | None = None
    _fragmented = False

    def process_event(self, event: Any) -> None:
        cb = self.on_data
        if cb is not None and self.response is not None and type(event) is Frame:
            op = event.opcode
            if op is _OP_TEXT or op is _OP_BINARY:
                if event.fin and not self._fragmented:
                    cb(event.data)
                    return
                self._fragmented = True
            elif op is _OP_CONT and event.fin:
                super().process_event(event)
                self._fragmented = False
                return
        super().process_event(event)


def _mark_rx(live: Liveness) -> Callable[[asyncio.Future[float]], None]:
    def done(fut: asyncio.Future[float]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            live.on_rx(time.monotonic())

    return done


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
