"""ReconnectGate: pause order management while the private stream is down, backfill, resume.

Kraken's guide: when the private WebSocket reconnects, stop managing orders, fetch open orders, positions
and the fills you missed over REST, then carry on. The gate does that around a
:class:`~krakenkit.ws.WebsocketClient`::

    reconnecting(private key) ──► CLOSED ("reconnecting:<key>")
    reconnected(private key)  ──► CLOSED ("backfill:<key>")  ──► backfill over REST into AccountState
    backfill done             ──► OPEN (when no other reason holds it closed)   events: backfill_done, gate_opened
    status maintenance        ──► CLOSED for every action ("status:maintenance")
    status cancel_only        ──► CLOSED for placing/amending; cancels still pass ("status:cancel_only")

Order actions go through :meth:`ReconnectGate.action` (async) / :meth:`ReconnectGate.action_sync`; the
:class:`~krakenkit.toolkit.submitter.SafeOrderSubmitter` does so on every send. While the gate is closed an
action waits (up to ``wait_timeout``) or raises :class:`~krakenkit.TradingPausedError` at once
(``on_closed="raise"``). A backfill first lets the actions already in flight finish (up to ``drain_timeout``)
so their results are part of what it fetches.

The state machine (:class:`GateCore`) is pure and thread-safe; the async part only runs the backfill task.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .._core.errors import TradingPausedError
from ._util import as_mapping, call_any, to_epoch, unwrap_result
from .account import AccountState

__all__ = [
    "Backfill",
    "FuturesBackfill",
    "GateCore",
    "GateEvent",
    "ReconnectGate",
    "SpotBackfill",
]

log = logging.getLogger("krakenkit.toolkit.gate")

ActionKind = Literal["place", "amend", "cancel"]
DEFAULT_PRIVATE_KEYS = ("spotPrivateV2", "spotBetaPrivateV2", "derivativesPrivateV1")


@dataclass(frozen=True)
class GateEvent:
    """``name``: gate_closed | gate_opened | backfill_started | backfill_done | backfill_failed."""

    name: str
    reason: str = ""
    reasons: frozenset[str] = frozenset()
    ws_key: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    error: BaseException | None = None
    duration: float = 0.0
    inflight: int = 0  # order actions admitted before and still running (gate_closed)
    at: float = field(default_factory=time.time)


def _blocks(reason: str, action: str) -> bool:
    if reason == "status:cancel_only":
        return action != "cancel"
    if reason == "status:post_only":
        return False
    return True


class GateCore:
    """The gate's state: a set of reasons that keep it closed, and the actions in flight. Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._reasons: dict[str, float] = {}
        self._inflight = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.admitted = 0
        self.admissions: deque[tuple[float, str]] = deque(maxlen=10_000)  # (time.time(), action)

    @property
    def reasons(self) -> frozenset[str]:
        with self._cond:
            return frozenset(self._reasons)

    @property
    def inflight(self) -> int:
        with self._cond:
            return self._inflight

    def is_open(self, action: str = "place") -> bool:
        with self._cond:
            return self._allows(action)

    def _allows(self, action: str) -> bool:
        return not any(_blocks(r, action) for r in self._reasons)

    def close(self, reason: str) -> bool:
        """Add a reason. Returns True when the gate was fully open before."""
        with self._cond:
            was_open = not self._reasons
            self._reasons.setdefault(reason, time.monotonic())
            self._notify()
            return was_open

    def replace(self, old: str, new: str) -> None:
        """Swap one reason for another atomically (the gate never opens in between)."""
        with self._cond:
            self._reasons.pop(old, None)
            self._reasons.setdefault(new, time.monotonic())
            self._notify()

    def open(self, reason: str) -> bool:
        """Drop a reason. Returns True when that made the gate fully open."""
        with self._cond:
            if self._reasons.pop(reason, None) is None:
                return False
            self._notify()
            return not self._reasons

    def drop_prefix(self, prefix: str) -> bool:
        with self._cond:
            gone = [r for r in self._reasons if r.startswith(prefix)]
            for r in gone:
                del self._reasons[r]
            if gone:
                self._notify()
            return bool(gone) and not self._reasons

    def try_admit(self, action: str) -> bool:
        with self._cond:
            if not self._allows(action):
                return False
            self._admit_locked(action)
            return True

    def _admit_locked(self, action: str) -> None:
        self._inflight += 1
        self.admitted += 1
        self.admissions.append((time.time(), action))

    def release(self) -> None:
        with self._cond:
            self._inflight = max(0, self._inflight - 1)
            self._notify()

    def _notify(self) -> None:
        self._cond.notify_all()
        waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(_resolve, fut)

    # sync waiting ------------------------------------------------------------------------------------
    def admit_sync(self, action: str, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._allows(action):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            self._admit_locked(action)
            return True

    # async waiting -----------------------------------------------------------------------------------
    async def wait_until(self, ready_locked: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``ready_locked()`` (called with the lock held) returns True. False on timeout.

        The check and the registration of the waiter happen under one lock, so a change made by another
        thread between them cannot be missed (no lost wake-up)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                if ready_locked():
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                fut: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, fut))
            try:
                await asyncio.wait_for(fut, left)
            except TimeoutError:
                pass
            finally:
                with self._cond:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove((loop, fut))

    async def admit(self, action: str, timeout: float | None) -> bool:
        def ready_locked() -> bool:
            if not self._allows(action):
                return False
            self._admit_locked(action)
            return True

        return await self.wait_until(ready_locked, timeout)

    async def drain(self, timeout: float) -> bool:
        """Wait until no action is in flight. False on timeout."""
        return await self.wait_until(lambda: self._inflight == 0, timeout)

    async def wait_open(self, timeout: float | None) -> bool:
        """Wait until no reason keeps the gate closed. False on timeout."""
        return await self.wait_until(lambda: not self._reasons, timeout)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


# --- backfill ------------------------------------------------------------------------------------------


class Backfill(Protocol):
    """Fetch what the private stream may have missed and apply it to ``state``. Returns counts."""

    async def run(self, state: AccountState) -> dict[str, int]: ...


class SpotBackfill:
    """Spot over REST: open orders, orders closed since the last fill seen, trades (fills) since then,
    balances. ``client`` is a ``SpotClient`` or ``AsyncSpotClient`` (sync calls run in a thread)."""

    def __init__(self, client: Any, *, overlap: float = 120.0, balances: bool = True, max_pages: int = 20) -> None:
        self.client = client
        self.overlap = overlap
        self.balances = balances
        self.max_pages = max_pages

    async def run(self, state: AccountState) -> dict[str, int]:
        as_of = time.time()
        since = None if state.last_fill_ts is None else int(state.last_fill_ts - self.overlap)
        open_res = await call_any(self.client.get_open_orders)
        counts = {"open_orders": state.apply_spot_open_orders(open_res, as_of=as_of)}
        closed_kwargs: dict[str, Any] = {} if since is None else {"start": since}
        closed = await call_any(self.client.get_closed_orders, **closed_kwargs)
        counts["closed_orders"] = state.apply_spot_orders(closed)
        new_fills = 0
        ofs = 0
        for _ in range(self.max_pages):
            kwargs: dict[str, Any] = {"ofs": ofs} if ofs else {}
            if since is not None:
                kwargs["start"] = since
            page = await call_any(self.client.get_trades_history, **kwargs)
            body = unwrap_result(page)
            trades = body.get("trades")
            n = len(trades) if isinstance(trades, Mapping) else 0
            new_fills += state.apply_spot_trades(body)
            ofs += n
            total = body.get("count")
            if n == 0 or not isinstance(total, int) or ofs >= total:
                break
        counts["fills"] = new_fills
        if self.balances and hasattr(self.client, "get_account_balance"):
            mark = state.stream_mark()
            counts["balances"] = state.apply_spot_balances(await call_any(self.client.get_account_balance), mark=mark)
        return counts


class FuturesBackfill:
    """Derivatives over REST: open orders, open positions, fills (paged backwards with ``lastFillTime``
    until the last fill seen). ``client`` is a ``DerivativesClient`` or ``AsyncDerivativesClient``."""

    def __init__(self, client: Any, *, max_pages: int = 10) -> None:
        self.client = client
        self.max_pages = max_pages

    async def run(self, state: AccountState) -> dict[str, int]:
        as_of = time.time()
        counts = {
            "open_orders": state.apply_futures_open_orders(await call_any(self.client.get_open_orders), as_of=as_of)
        }
        # fills that reach the stream while this request is out move the position: keep the stream's set
        mark = state.stream_mark()
        counts["positions"] = state.apply_futures_positions(await call_any(self.client.get_open_positions), mark=mark)
        known = state.last_fill_ts
        new = 0
        kwargs: dict[str, Any] = {}
        for _ in range(self.max_pages):
            page = as_mapping(await call_any(self.client.get_fills, **kwargs))
            fills = [f for f in page.get("fills") or [] if isinstance(f, Mapping)]
            new += state.apply_futures_fills(page)
            times = [t for t in (to_epoch(f.get("fillTime")) for f in fills) if t is not None]
            if not fills or known is None or not times or min(times) <= known:
                break
            oldest = min(fills, key=lambda f: to_epoch(f.get("fillTime")) or 0.0)
            kwargs = {"lastFillTime": oldest.get("fillTime")}
        counts["fills"] = new
        return counts


# --- the gate ------------------------------------------------------------------------------------------

Listener = Callable[[GateEvent], Any]


class ReconnectGate:
    """Closes order management while a private WebSocket is down and until its backfill is done.

    ``ws``: a ``WebsocketClient`` (``attach`` it later if you prefer). ``keys``: the private WS keys to
    watch. ``backfill``: a :class:`SpotBackfill` / :class:`FuturesBackfill` (or anything with
    ``async run(state)``). ``state``: the :class:`AccountState` the private stream and backfill feed.
    """

    def __init__(
        self,
        ws: Any = None,
        *,
        backfill: Backfill | None = None,
        state: AccountState | None = None,
        keys: tuple[str, ...] | None = None,
        on_closed: Literal["wait", "raise"] = "wait",
        wait_timeout: float = 30.0,
        drain_timeout: float = 5.0,
        retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0),
        feed_state: bool = True,
        watch_status: bool = True,
    ) -> None:
        self.core = GateCore()
        self.backfill = backfill
        self.state = state if state is not None else AccountState()
        self.keys = tuple(keys) if keys is not None else DEFAULT_PRIVATE_KEYS
        self.on_closed = on_closed
        self.wait_timeout = wait_timeout
        self.drain_timeout = drain_timeout
        self.retry_delays = retry_delays
        self.feed_state = feed_state
        self.watch_status = watch_status
        self.history: deque[GateEvent] = deque(maxlen=1000)
        self.system_status = "online"
        self._listeners: dict[str, list[Listener]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._listener_tasks: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ws: Any = None
        if ws is not None:
            self.attach(ws)

    # --- wiring ---------------------------------------------------------------------------------------
    def attach(self, ws: Any) -> None:
        """Register on ``ws``'s ``reconnecting`` / ``reconnected`` / ``message`` events."""
        self.ws = ws
        ws.on("reconnecting", self._on_reconnecting)
        ws.on("reconnected", self._on_reconnected)
        ws.on("message", self._on_message)

    def on(self, name: str, fn: Listener) -> None:
        """``fn(GateEvent)`` for ``gate_closed``, ``gate_opened``, ``backfill_started``, ``backfill_done``,
        ``backfill_failed`` or ``*`` (all). Coroutine functions are scheduled on the running loop."""
        self._listeners.setdefault(name, []).append(fn)

    def _emit(self, ev: GateEvent) -> None:
        self.history.append(ev)
        log.info("gate %s %s %s", ev.name, ev.reason, dict(ev.counts) if ev.counts else "")
        for fn in [*self._listeners.get(ev.name, []), *self._listeners.get("*", [])]:
            try:
                res = fn(ev)
                if inspect.isawaitable(res):
                    fut = asyncio.ensure_future(res)
                    self._listener_tasks.add(fut)
                    fut.add_done_callback(self._listener_tasks.discard)
            except Exception:
                log.exception("gate listener failed")

    # --- state --------------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return not self.core.reasons

    @property
    def reasons(self) -> frozenset[str]:
        return self.core.reasons

    def close(self, reason: str) -> None:
        """Close the gate for ``reason`` (manual pauses use e.g. ``"manual"``)."""
        self.core.close(reason)
        self._emit(GateEvent("gate_closed", reason=reason, reasons=self.core.reasons, inflight=self.core.inflight))

    def open(self, reason: str) -> None:
        if self.core.open(reason):
            self._emit(GateEvent("gate_opened", reason=reason))

    def set_system_status(self, status: str) -> None:
        """Follow Kraken's system status: ``maintenance`` closes everything, ``cancel_only`` closes all but
        cancels; ``online`` / ``post_only`` reopen."""
        status = str(status)
        if status == self.system_status:
            return
        self.system_status = status
        opened = self.core.drop_prefix("status:")
        if status in ("maintenance", "cancel_only"):
            self.close(f"status:{status}")
        elif opened:
            self._emit(GateEvent("gate_opened", reason=f"status:{status}"))

    # --- order actions ------------------------------------------------------------------------------------
    def _paused(self, action: str) -> TradingPausedError:
        return TradingPausedError(
            f"order {action} paused: gate closed ({', '.join(sorted(self.core.reasons)) or 'closing'})",
            reasons=sorted(self.core.reasons),
        )

    async def acquire(self, action: ActionKind | str = "place", timeout: float | None = None) -> bool:
        """Admit one order action (wait while closed, bounded) or raise ``TradingPausedError``.
        Pair with :meth:`release`; prefer ``async with gate.action(...)``. Returns True when the action had
        to wait for the gate to open (it was closed when asked), False when it passed at once."""
        if self.core.try_admit(action):
            return False
        wait = 0.0 if self.on_closed == "raise" else (self.wait_timeout if timeout is None else timeout)
        if not await self.core.admit(action, wait):
            raise self._paused(action)
        return True

    def acquire_sync(self, action: ActionKind | str = "place", timeout: float | None = None) -> bool:
        """Blocking :meth:`acquire` (same return value)."""
        if self.core.try_admit(action):
            return False
        wait = 0.0 if self.on_closed == "raise" else (self.wait_timeout if timeout is None else timeout)
        if not self.core.admit_sync(action, wait):
            raise self._paused(action)
        return True

    def release(self) -> None:
        self.core.release()

    @contextlib.asynccontextmanager
    async def action(self, kind: ActionKind | str = "place", timeout: float | None = None) -> AsyncIterator[None]:
        await self.acquire(kind, timeout)
        try:
            yield
        finally:
            self.release()

    @contextlib.contextmanager
    def action_sync(self, kind: ActionKind | str = "place", timeout: float | None = None) -> Iterator[None]:
        self.acquire_sync(kind, timeout)
        try:
            yield
        finally:
            self.release()

    async def wait_open(self, timeout: float | None = None) -> bool:
        """Wait until the gate is fully open. False on timeout."""
        return await self.core.wait_open(timeout)

    # --- WebSocket events ---------------------------------------------------------------------------------
    def _watched(self, ev: Any) -> bool:
        return getattr(ev, "ws_key", None) in self.keys

    def _on_reconnecting(self, ev: Any) -> None:
        if not self._watched(ev):
            return
        key = str(ev.ws_key)
        task = self._tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()
        reason = f"reconnecting:{key}"
        if reason not in self.core.reasons:
            self.close(reason)  # first: dropping the backfill reason before this could open the gate
        self.core.drop_prefix(f"backfill:{key}")
        self.state.reset_sequences()

    def _on_reconnected(self, ev: Any) -> None:
        if not self._watched(ev):
            return
        self.start_backfill(str(ev.ws_key), replace_reason=f"reconnecting:{ev.ws_key}")

    def _on_message(self, ev: Any) -> None:
        data = getattr(ev, "data", None)
        if not isinstance(data, Mapping):
            return
        if self.watch_status and data.get("channel") == "status":
            for item in data.get("data") or []:
                if isinstance(item, Mapping) and isinstance(item.get("system"), str):
                    self.set_system_status(item["system"])
            return
        if self.feed_state and self._watched(ev):
            try:
                self.state.apply_ws(data)
            except Exception:
                log.exception("AccountState could not apply a %s frame", getattr(ev, "ws_key", "?"))

    # --- backfill -----------------------------------------------------------------------------------------
    def start_backfill(self, key: str = "manual", *, replace_reason: str | None = None) -> asyncio.Task[None]:
        """Close the gate with ``backfill:<key>`` and run the backfill in a task; the gate reopens when it
        succeeds (it retries with ``retry_delays`` until then)."""
        reason = f"backfill:{key}"
        if replace_reason is not None:
            self.core.replace(replace_reason, reason)
        else:
            was_open = self.core.close(reason)
            if was_open:
                self._emit(GateEvent("gate_closed", reason=reason, reasons=self.core.reasons, ws_key=key))
        old = self._tasks.pop(key, None)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._run_backfill(key, reason))
        self._tasks[key] = task
        return task

    async def backfill_now(self, key: str = "initial") -> None:
        """Run one backfill (e.g. at start-up, before trading) with the gate closed meanwhile."""
        await self.start_backfill(key)

    async def _run_backfill(self, key: str, reason: str) -> None:
        attempt = 0
        t0 = time.monotonic()
        self._emit(GateEvent("backfill_started", reason=reason, reasons=self.core.reasons, ws_key=key))
        if not await self.core.drain(self.drain_timeout):
            log.warning(
                "backfill %s: %d order action(s) still in flight after %.1fs; going ahead",
                key,
                self.core.inflight,
                self.drain_timeout,
            )
        while True:
            try:
                counts = await self.backfill.run(self.state) if self.backfill is not None else {}
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
                attempt += 1
                log.warning("backfill %s failed (attempt %d): %r; retrying in %.1fs", key, attempt, exc, delay)
                self._emit(
                    GateEvent("backfill_failed", reason=reason, reasons=self.core.reasons, ws_key=key, error=exc)
                )
                await asyncio.sleep(delay)
        self._emit(
            GateEvent("backfill_done", reason=reason, ws_key=key, counts=dict(counts), duration=time.monotonic() - t0)
        )
        if self.core.open(reason):
            self._emit(GateEvent("gate_opened", reason=reason, ws_key=key))

    async def aclose(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
