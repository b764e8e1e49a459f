"""Safe trading toolkit: the order journal, idempotent submission, the reconnect gate with backfill,
account state and the dead man's switch.

* :class:`OrderJournal` — durable record of every order intent and its fate (SQLite file or PostgreSQL);
  ``journal.attach(state)`` (a :class:`FillRecorder`) records every fill an :class:`AccountState` accepts.
* :class:`SafeOrderSubmitter` / :class:`AsyncSafeOrderSubmitter` — journal, send with Kraken's ``deadline``,
  resolve unknown outcomes by client order id (re-send only once the deadline proves the order absent),
  reconcile a crashed run on start.
* :class:`ReconnectGate` — pause order actions while a private stream reconnects (or the market is in
  maintenance / cancel_only), backfill over REST, resume.
* :class:`AccountState` — open orders, balances, positions and fills from streams + backfill, de-duplicated.
* :class:`DeadMansSwitch` — keep ``cancel_all_orders_after`` armed while alive; disarm on clean shutdown.
"""

from __future__ import annotations

from .account import AccountState, Fill, OrderView, Position
from .deadman import DeadMansSwitch
from .gate import Backfill, FuturesBackfill, GateCore, GateEvent, ReconnectGate, SpotBackfill
from .journal import (
    FINAL_EXCHANGE_STATES,
    FINAL_STATUSES,
    UNRESOLVED_STATUSES,
    AsyncOrderJournal,
    JournalEntry,
    JournalError,
    JournalEvent,
    JournalFill,
    JournalStatus,
    OrderJournal,
    default_owner,
)
from .recorder import FillRecorder
from .submitter import (
    AsyncSafeOrderSubmitter,
    Found,
    FuturesRestVenue,
    OrderNotPlacedError,
    OrderRequest,
    OrderWithdrawnError,
    ReconcileReport,
    Refused,
    Revalidate,
    SafeOrderSubmitter,
    SpotRestVenue,
    SpotWsVenue,
    SubmitResult,
    Venue,
)

__all__ = [
    "FINAL_EXCHANGE_STATES",
    "FINAL_STATUSES",
    "UNRESOLVED_STATUSES",
    "AccountState",
    "AsyncOrderJournal",
    "AsyncSafeOrderSubmitter",
    "Backfill",
    "DeadMansSwitch",
    "Fill",
    "FillRecorder",
    "Found",
    "FuturesBackfill",
    "FuturesRestVenue",
    "GateCore",
    "GateEvent",
    "JournalEntry",
    "JournalError",
    "JournalEvent",
    "JournalFill",
    "JournalStatus",
    "OrderJournal",
    "OrderNotPlacedError",
    "OrderRequest",
    "OrderView",
    "OrderWithdrawnError",
    "Position",
    "ReconcileReport",
    "ReconnectGate",
    "Refused",
    "Revalidate",
    "SafeOrderSubmitter",
    "SpotBackfill",
    "SpotRestVenue",
    "SpotWsVenue",
    "SubmitResult",
    "Venue",
    "default_owner",
]
