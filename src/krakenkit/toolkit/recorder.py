"""FillRecorder: every fill (and order update) an AccountState accepts, written to the OrderJournal.

``recorder = journal.attach(state)`` is the whole wiring. The state already drops a fill it has seen (by
fill id, whether it came from the stream or a REST backfill); the journal's key ``(account, fill_id)`` drops
it again across restarts, when a fresh state replays the account's trades during its first backfill.

Writes run on one background thread, in the order the state accepted them: a SQLite commit with
``synchronous=FULL`` (an fsync) or a PostgreSQL round trip never blocks the event loop that feeds the
state. A failed write (database locked, connection lost) is logged, passed to ``on_error`` and retried with
``retry_delays`` until it succeeds; nothing is skipped. :meth:`FillRecorder.flush` (or ``await aflush()``)
returns once everything accepted so far is committed; :meth:`OrderJournal.close` flushes before closing.
What a crash leaves unwritten is still on the exchange: the next start's backfill records it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .account import AccountState, Fill, OrderView
from .journal import JournalFill

if TYPE_CHECKING:
    from .journal import OrderJournal

__all__ = ["FillRecorder"]

log = logging.getLogger("krakenkit.toolkit.recorder")

# AccountState order statuses the journal follows as ``exchange_state`` (inactive = gone from the open
# set with no known final state; rejected = not an order Kraken holds: neither is evidence to record)
_FOLLOWED_STATES = frozenset({"pending", "open", "closed", "canceled", "expired"})


def journal_fill(fill: Fill, account: str) -> JournalFill:
    """An :class:`~krakenkit.toolkit.account.Fill` as the journal stores it."""
    return JournalFill(
        fill_id=fill.fill_id,
        account=account,
        product=fill.product,
        order_id=fill.order_id,
        cl_ord_id=fill.cl_ord_id,
        symbol=fill.symbol,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        ts=fill.ts,
        raw=dict(fill.raw),
        source=fill.source,
    )


class FillRecorder:
    """Records what an :class:`AccountState` accepts in an :class:`OrderJournal`. Build with
    :meth:`OrderJournal.attach`. Counters: ``recorded`` (new fills stored), ``duplicates`` (already in the
    journal, e.g. replayed after a restart), ``order_updates``, ``errors`` (failed writes, all retried)."""

    def __init__(
        self,
        journal: OrderJournal,
        state: AccountState,
        *,
        account: str = "",
        orders: bool = True,
        retry_delays: Sequence[float] = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0),
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> None:
        self.journal = journal
        self.state = state
        self.account = account
        self.follow_orders = orders
        self.retry_delays = tuple(retry_delays) or (1.0,)
        self.on_error = on_error
        self.recorded = 0
        self.duplicates = 0
        self.order_updates = 0
        self.errors = 0
        self.last_error: BaseException | None = None
        self._cond = threading.Condition()
        self._queue: deque[Fill | OrderView] = deque()
        self._accepted = 0  # items ever queued
        self._written = 0  # items written (a prefix of the queue order)
        self._stopping = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="krakenkit-fill-recorder", daemon=True)
        self._thread.start()
        state.on_fill(self._on_fill)
        if orders:
            state.on_order(self._on_order)
        # what the state holds already (listeners first: a fill in both is stored once anyway)
        fills, views = state.snapshot()
        for f in fills:
            self._put(f)
        for o in views if orders else ():
            self._put(o)

    # --- intake (called by AccountState, any thread) ------------------------------------------------------
    def _on_fill(self, fill: Fill) -> None:
        self._put(fill)

    def _on_order(self, order: OrderView) -> None:
        self._put(order)

    def _put(self, item: Fill | OrderView) -> None:
        with self._cond:
            if self._closed:
                log.error("fill recorder is closed; %r not recorded (the next backfill will)", item)
                return
            self._queue.append(item)
            self._accepted += 1
            self._cond.notify_all()

    # --- state ------------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Items accepted but not yet committed."""
        with self._cond:
            return self._accepted - self._written

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything accepted before this call is committed. False on timeout."""
        with self._cond:
            target = self._accepted
            return (
                self._cond.wait_for(lambda: self._written >= target or not self._thread.is_alive(), timeout)
                and self._written >= target
            )

    async def aflush(self, timeout: float | None = None) -> bool:
        """:meth:`flush` from asyncio (waits in a worker thread)."""
        return await asyncio.to_thread(self.flush, timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop listening, write what is queued (up to ``timeout`` seconds), stop the thread. True when
        nothing was left unwritten."""
        self.state.off_fill(self._on_fill)
        self.state.off_order(self._on_order)
        with self._cond:
            if self._closed:
                return self._written >= self._accepted
            self._closed = True
        done = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        left = self.pending
        if left:
            log.error(
                "fill recorder closed with %d item(s) not written to the journal (last error: %r); the "
                "next start's backfill records them",
                left,
                self.last_error,
            )
        self.journal._detach(self)
        return done and not left

    # --- the writer -------------------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._stopping)
                if not self._queue:
                    return  # stopping, nothing left
                if self._stopping and failures:
                    return  # closing and the journal keeps failing: give up (logged by close)
                item = self._queue[0]
            try:
                self._write(item)
            except Exception as exc:
                self.errors += 1
                self.last_error = exc
                delay = self.retry_delays[min(failures, len(self.retry_delays) - 1)]
                failures += 1
                log.warning(
                    "fill recorder: journal write failed (%d in a row): %r; retrying in %.2fs", failures, exc, delay
                )
                if self.on_error is not None:
                    try:
                        self.on_error(exc)
                    except Exception:
                        log.exception("fill recorder on_error failed")
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, delay)
                continue
            failures = 0
            with self._cond:
                self._queue.popleft()
                self._written += 1
                self._cond.notify_all()

    def _write(self, item: Fill | OrderView) -> None:
        if isinstance(item, Fill):
            if self.journal.record_fill(journal_fill(item, self.account)):
                self.recorded += 1
            else:
                self.duplicates += 1
            return
        state = item.status if item.status in _FOLLOWED_STATES else None
        if state is None and item.filled <= 0:
            return  # nothing the exchange confirmed (e.g. gone from the open set, state unknown)
        if (
            self.journal.record_order_update(
                account=self.account,
                order_id=item.order_id,
                cl_ord_id=item.cl_ord_id,
                exchange_state=state,
                filled_qty=item.filled,
            )
            is not None
        ):
            self.order_updates += 1
