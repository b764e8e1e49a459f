"""Putting signed requests on the wire: one nonce order per API key, and a true deadline per call.

Wire order
----------
Kraken checks that every private request of a key carries a larger nonce than the last one it processed
(unless the key has a nonce window). A nonce taken when a request is *built* and sent later loses that race
under concurrency: two threads sign 1 then 2, the request with 2 reaches Kraken first, and 1 is refused with
``EAPI:Invalid nonce``. :class:`WireOrder` (one per API key in the process, see :func:`wire_order_for`) is a
FIFO turn shared by every client, thread and asyncio task: a sender takes its turn, takes the nonce, signs,
writes the request's bytes to the socket, and only then passes the turn on. The next nonce is therefore
taken after the previous request is fully written, so requests leave the process in nonce order.

* Waiters queue in arrival order (a ``threading.Lock`` guards a deque of waiters); a blocking waiter sleeps
  on a ``threading.Event``, an asyncio waiter on a future woken with ``call_soon_threadsafe``: nobody spins
  and the event loop is never blocked by another thread's turn.
* The turn is passed on when httpcore reports the request body written (the ``trace`` request extension:
  ``http11.send_request_body.complete`` / ``.failed``, ``http11.send_request_headers.failed``); on a connection
  opened for the request, when the answer starts (:class:`TurnTracker`); in any case when the send returns.
* Across processes of one host, :class:`krakenkit._core.nonce.NonceFile` (a lock file per key holding the last
  nonce) is held from taking the nonce until the body is written, inside the turn.

Call deadlines
--------------
httpx bounds each socket operation, not a call: a server that sends one byte every few seconds keeps a read
alive forever. :func:`call_deadline` sets a context variable with the call's end (``time.monotonic()``);
:class:`DeadlineBackend` wraps httpcore's network backend so every connect, TLS handshake, read and write is
clamped to the time left (and fails at once when none is left). :func:`install_deadline_backend` fits it into
the connection pools of an ``httpx.Client`` that krakenkit created (proxies and ``network_options`` keep
working: only the socket layer under them is wrapped). Async calls are bounded with ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from .nonce import NonceFile, NonceProvider

__all__ = [
    "BODY_WRITTEN_EVENTS",
    "DeadlineBackend",
    "TurnTracker",
    "Turnstile",
    "WireOrder",
    "WireTicket",
    "call_deadline",
    "clamp_timeouts",
    "install_deadline_backend",
    "time_left",
    "wire_order_for",
]

log = logging.getLogger("krakenkit.transport")

# httpcore trace events after which this request's bytes are on the wire (or will never be): the turn
# passes on. ``*.failed`` of the header/body writes included: nothing more of this request will be written.
BODY_WRITTEN_EVENTS = (
    "send_request_body.complete",
    "send_request_body.failed",
    "send_request_headers.failed",
)
_STARTED_SENDING = "send_request_headers.started"
_OPENED = ("connect_tcp.complete", "connect_unix_socket.complete", "start_tls.complete")
_ANSWERED = ("receive_response_headers.complete", "receive_response_headers.failed")


# ----------------------------------------------------------------------------------------------
# The FIFO turn
# ----------------------------------------------------------------------------------------------


class _Waiter:
    __slots__ = ("event", "future", "granted", "loop")

    def __init__(
        self,
        event: threading.Event | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.event = event
        self.loop = loop
        self.future = future
        self.granted = False


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Turnstile:
    """One holder at a time; waiters are served in arrival order, blocking and asyncio ones alike.

    The turn is handed straight to the next waiter on :meth:`release` (it never becomes free in between), so
    a late arrival cannot overtake the queue.
    """

    __slots__ = ("_held", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = False
        self._waiters: deque[_Waiter] = deque()

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiters)

    def _enter_or_queue(self, waiter_factory: Any) -> _Waiter | None:
        with self._lock:
            if not self._held and not self._waiters:
                self._held = True
                return None
            waiter: _Waiter = waiter_factory()
            self._waiters.append(waiter)
            return waiter

    def _give_up(self, waiter: _Waiter) -> bool:
        """A waiter stops waiting: True when the turn had been granted to it meanwhile (it holds it now)."""
        with self._lock:
            if waiter.granted:
                return True
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            return False

    def acquire(self, timeout: float | None = None) -> bool:
        """Block until it is our turn (True) or ``timeout`` seconds passed (False)."""
        waiter = self._enter_or_queue(lambda: _Waiter(event=threading.Event()))
        if waiter is None:
            return True
        assert waiter.event is not None
        if waiter.event.wait(None if timeout is None else max(0.0, timeout)):
            return True
        return self._give_up(waiter)

    async def acquire_async(self, timeout: float | None = None) -> bool:
        """Await our turn (True) or ``timeout`` seconds (False); cancellation leaves the queue clean."""
        loop = asyncio.get_running_loop()
        waiter = self._enter_or_queue(lambda: _Waiter(loop=loop, future=loop.create_future()))
        if waiter is None:
            return True
        assert waiter.future is not None
        try:
            async with asyncio.timeout(None if timeout is None else max(0.0, timeout)):
                await waiter.future
            return True
        except TimeoutError:
            return self._give_up(waiter)
        except asyncio.CancelledError:
            if self._give_up(waiter):
                self.release()
            raise

    def release(self) -> None:
        """Pass the turn to the next waiter (or free it)."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True
                if waiter.event is not None:
                    waiter.event.set()
                    return
                assert waiter.loop is not None and waiter.future is not None
                try:
                    waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                except RuntimeError:  # its loop is closed: that waiter is gone, serve the next one
                    continue
                return
            self._held = False


# ----------------------------------------------------------------------------------------------
# Per-key wire order
# ----------------------------------------------------------------------------------------------


class WireTicket:
    """One sender's turn: take the nonce under it, then :meth:`release` once the request is written."""

    __slots__ = ("_file", "_file_locked", "_lock", "_order", "_released", "nonce")

    def __init__(self, order: WireOrder, nonce_file: NonceFile | None) -> None:
        self._order = order
        self._file = nonce_file
        self._file_locked = False
        self._released = False
        self._lock = threading.Lock()
        self.nonce: int | None = None

    def file_locked(self, locked: bool) -> WireTicket | None:
        """Record the nonce file's lock: not locked in time (while the file is usable) gives the turn back."""
        self._file_locked = locked
        if not locked and self._file is not None and self._file.usable:
            self.release()
            return None
        return self

    def take_nonce(self, provider: NonceProvider) -> int:
        """The next nonce of the key: from ``provider``, above the last one any process of this host took
        (when a nonce file is shared)."""
        if self._file is not None and self._file_locked:
            nonce = self._file.take(provider)
        else:
            nonce = provider()
        self.nonce = nonce
        return nonce

    def release(self) -> None:
        """Idempotent and thread-safe: unlock the nonce file, pass the turn on."""
        with self._lock:
            if self._released:
                return
            self._released = True
        if self._file is not None and self._file_locked:
            self._file.unlock()
        self._order.turnstile.release()

    @property
    def released(self) -> bool:
        return self._released


class WireOrder:
    """The process-wide wire order of one API key (see the module docstring)."""

    __slots__ = ("__weakref__", "ident", "turnstile")

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.turnstile = Turnstile()

    def _reset_after_fork(self) -> None:
        self.turnstile = Turnstile()

    def acquire(self, deadline: float | None, nonce_file: NonceFile | None = None) -> WireTicket | None:
        """Our turn (blocking), with the nonce file locked when given; None when ``deadline`` passed first."""
        if not self.turnstile.acquire(_left(deadline)):
            return None
        ticket = WireTicket(self, nonce_file)
        if nonce_file is None:
            return ticket
        try:
            locked = nonce_file.lock(deadline)
        except BaseException:
            ticket.release()
            raise
        return ticket.file_locked(locked)

    async def acquire_async(self, deadline: float | None, nonce_file: NonceFile | None = None) -> WireTicket | None:
        """Async twin of :meth:`acquire` (the nonce file is polled with short sleeps, never blocking the loop)."""
        if not await self.turnstile.acquire_async(_left(deadline)):
            return None
        ticket = WireTicket(self, nonce_file)
        if nonce_file is None:
            return ticket
        try:
            locked = await nonce_file.lock_async(deadline)
        except BaseException:
            ticket.release()
            raise
        return ticket.file_locked(locked)


_orders: dict[str, WireOrder] = {}
_orders_lock = threading.Lock()
_all_orders: weakref.WeakSet[WireOrder] = weakref.WeakSet()


def key_ident(api_key: str) -> str:
    """How a key is named in registries and file names: its SHA-256, never the key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def wire_order_for(api_key: str) -> WireOrder:
    """The wire order every client of ``api_key`` in this process shares."""
    ident = key_ident(api_key)
    with _orders_lock:
        order = _orders.get(ident)
        if order is None:
            order = _orders[ident] = WireOrder(ident)
            _all_orders.add(order)
        return order


def _after_fork_in_child() -> None:
    # A thread of the parent may have held a turn at fork time: the child starts with fresh turns.
    global _orders_lock
    _orders_lock = threading.Lock()
    for order in list(_all_orders):
        order._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ----------------------------------------------------------------------------------------------
# Call deadlines
# ----------------------------------------------------------------------------------------------

_deadline: ContextVar[float | None] = ContextVar("krakenkit_call_deadline", default=None)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def time_left() -> float | None:
    """Seconds left of the current call (None: no deadline set)."""
    return _left(_deadline.get())


@contextlib.contextmanager
def call_deadline(deadline: float | None) -> Iterator[None]:
    """Every socket operation of a wrapped pool inside this block ends by ``deadline`` (monotonic)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _clamp(timeout: float | None, exc: type[Exception]) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise exc("the call's deadline has passed")
    return left if timeout is None or timeout > left else timeout


class _DeadlineStream(httpcore.NetworkStream):
    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore network backend whose streams never outlive the current call's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _clamp(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install_deadline_backend(client: httpx.Client) -> int:
    """Wrap the network backend of every connection pool of ``client`` (its transport and mounts, proxies
    included) in :class:`DeadlineBackend`. Returns how many pools were wrapped (0: the client's transports
    are not httpx's own; the per-operation timeouts are then the only bound)."""
    transports: list[Any] = [getattr(client, "_transport", None)]
    transports.extend(getattr(client, "_mounts", {}).values())
    wrapped = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None or isinstance(backend, DeadlineBackend):
            continue
        if not isinstance(backend, httpcore.NetworkBackend):
            continue
        pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
        wrapped += 1
    return wrapped


def clamp_timeouts(current: Any, left: float | None) -> dict[str, float | None]:
    """httpx's per-request ``timeout`` extension with every operation bounded by ``left`` seconds."""
    base = dict(current) if isinstance(current, dict) else {}
    out: dict[str, float | None] = {}
    for name in ("connect", "read", "write", "pool"):
        value = base.get(name)
        if left is not None:
            bound = max(left, 0.001)
            value = bound if value is None or value > bound else value
        out[name] = value
    return out


def body_written(name: str) -> bool:
    """A trace event after which the request's bytes are all on the wire (or never will be)."""
    return name.endswith(BODY_WRITTEN_EVENTS)


def started_sending(name: str) -> bool:
    return name.endswith(_STARTED_SENDING)


def opened_connection(name: str) -> bool:
    """The request goes out on a connection opened just for it."""
    return name.endswith(_OPENED)


def answer_started(name: str) -> bool:
    return name.endswith(_ANSWERED)


#: On a connection opened for the request, the turn is kept until the answer starts, but at most this long after
#: the body is written (a server that never answers must not stall every other sender of the key).
FRESH_CONNECTION_HOLD = 0.1


class TurnTracker:
    """Decides, from httpcore's trace events of one request, when its wire turn passes on.

    On a connection that was already open, the turn passes on once the body is written: the server reads that
    connection in order. On a connection opened for this request it is kept until the answer's headers start
    arriving, or :data:`FRESH_CONNECTION_HOLD` seconds after the body was written: a server accepts and reads a
    new connection some time after its bytes arrived (measured: about 10 ms on a busy local asyncio server), so
    a request written later on an open connection could otherwise be read first.

    ``later(seconds, fn)`` schedules ``fn`` (a timer thread for blocking clients, ``loop.call_later`` for
    asyncio ones).
    """

    __slots__ = ("fresh", "later", "release", "sending", "traced")

    def __init__(
        self, release: Callable[[], None] | None, later: Callable[[float, Callable[[], None]], Any] | None = None
    ) -> None:
        self.release = release
        self.later = later
        self.fresh = False
        self.traced = False
        self.sending = False

    def event(self, name: str) -> None:
        self.traced = True
        release = self.release
        if started_sending(name):
            self.sending = True
        elif opened_connection(name):
            self.fresh = True
        elif release is None:
            return
        elif answer_started(name):
            release()
        elif body_written(name):
            if not self.fresh or name.endswith(".failed"):
                release()
            elif self.later is not None:
                self.later(FRESH_CONNECTION_HOLD, release)
            else:
                release()


def later_in_thread(seconds: float, fn: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, fn)
    timer.daemon = True
    timer.start()
