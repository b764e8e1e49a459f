"""Kraken's order ``deadline`` and the clock it is measured on.

Kraken's AddOrder, AddOrderBatch, AmendOrder, EditOrder (REST) and ``add_order``, ``batch_add``,
``amend_order`` (WS v2) accept ``deadline``: an RFC 3339 time after which the matching engine rejects
the request (``EService:Deadline elapsed``), allowed from ``now() + 2 s`` to ``now() + 60 s`` of
Kraken's clock. It is what makes a resend safe: once the deadline of the first request has passed on
Kraken's clock, that request can no longer reach the book, so a look-up that then finds no order proves
the order was not placed.

:class:`ServerClock` tracks the offset of Kraken's clock to the local one (from HTTP ``Date`` headers, the
``Time`` endpoint, WS ``time_in``/``time_out``), with its uncertainty, so that deadlines are written in
Kraken's time and "the deadline has passed" is only concluded when it has passed on Kraken's clock for
certain. Pure and thread-safe; no I/O.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import ValidationError

__all__ = [
    "DEFAULT_ORDER_DEADLINE",
    "MAX_DEADLINE",
    "MAX_PLAUSIBLE_OFFSET",
    "MIN_DEADLINE",
    "ServerClock",
    "check_deadline_seconds",
    "format_deadline",
    "order_deadline",
    "parse_deadline",
    "shared_server_clock",
]

MIN_DEADLINE = 2.0  # Kraken: min now() + 2 seconds
MAX_DEADLINE = 60.0  # Kraken: max now() + 60 seconds
DEFAULT_ORDER_DEADLINE = 10.0  # seconds from sending: outlasts network latency, short enough to resolve fast

# A deadline closer than this to Kraken's lower bound could be refused after a slow connect; a caller's
# own deadline must leave this much room on our clock estimate.
_LOWER_MARGIN = 0.25
# Observations implying a larger offset are ignored: a host clock a day off breaks TLS long before deadlines,
# while a caching proxy's stale ``Date`` or a test double's made-up time would shift every deadline.
MAX_PLAUSIBLE_OFFSET = 86_400.0


def format_deadline(server_ts: float) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. ``2026-12-04T18:21:33.250Z`` (Kraken's clock)."""
    dt = datetime.fromtimestamp(server_ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_deadline(value: Any, field: str = "deadline") -> float:
    """A caller's deadline (RFC 3339 text or an aware ``datetime``) -> unix seconds; bad form -> ValidationError."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(
                f"{field} must be a timezone-aware datetime (e.g. datetime.now(UTC) + timedelta(seconds=10))",
                field=field,
            )
        return value.timestamp()
    if not isinstance(value, str):
        raise ValidationError(
            f"{field} must be an RFC 3339 string (e.g. '2026-12-04T18:21:45Z') or an aware datetime, "
            f"not {type(value).__name__}",
            field=field,
        )
    text = value.strip()
    if text != value or not 20 <= len(text) <= 35 or "T" not in text:
        raise ValidationError(f"{field} must be an RFC 3339 time like '2026-12-04T18:21:45Z'", field=field)
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ValidationError(f"{field} must be an RFC 3339 time like '2026-12-04T18:21:45Z'", field=field) from None
    if dt.tzinfo is None:
        raise ValidationError(f"{field} needs a time zone ('Z' or '+00:00'), e.g. '2026-12-04T18:21:45Z'", field=field)
    return dt.timestamp()


def check_deadline_seconds(seconds: Any, field: str = "order_deadline") -> float:
    """A relative deadline (seconds after sending) within Kraken's 2..60 s, as float."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValidationError(f"{field} must be a number of seconds between 2 and 60", field=field)
    value = float(seconds)
    if not MIN_DEADLINE + _LOWER_MARGIN <= value <= MAX_DEADLINE:
        raise ValidationError(
            f"{field}={seconds!r} is outside Kraken's allowed range: give {MIN_DEADLINE + _LOWER_MARGIN:g} to "
            f"{MAX_DEADLINE:g} seconds",
            field=field,
        )
    return value


class ServerClock:
    """Estimated offset of Kraken's clock (``server = local + offset``), with an error bound.

    Every observation is an interval: the server's time was read somewhere between sending and receiving,
    and the ``Date`` header is truncated to whole seconds. The estimate keeps the tightest interval seen
    recently. Before any observation the offset is taken as 0 with :attr:`unknown_uncertainty`.
    """

    unknown_uncertainty = 2.0  # seconds assumed before anything was measured (NTP-synced hosts: far less)

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._lo: float | None = None  # offset bounds: lo <= offset <= hi
        self._hi: float | None = None
        self._at = 0.0  # local time of the last observation

    def now(self) -> float:
        """Kraken's time as best known (local time + estimated offset)."""
        return self._clock() + self.offset

    @property
    def measured(self) -> bool:
        return self._lo is not None

    @property
    def offset(self) -> float:
        with self._lock:
            if self._lo is None or self._hi is None:
                return 0.0
            return (self._lo + self._hi) / 2

    @property
    def uncertainty(self) -> float:
        """Half the width of the offset interval (seconds)."""
        with self._lock:
            if self._lo is None or self._hi is None:
                return self.unknown_uncertainty
            return (self._hi - self._lo) / 2

    def observe(self, server_ts: float, sent_at: float, received_at: float, resolution: float = 0.0) -> None:
        """The server's clock read ``server_ts`` (floored to ``resolution``) between the two local times."""
        if received_at < sent_at:
            sent_at, received_at = received_at, sent_at
        lo = server_ts - received_at
        hi = server_ts + resolution - sent_at
        if abs((lo + hi) / 2) > MAX_PLAUSIBLE_OFFSET:
            return
        with self._lock:
            stale = self._clock() - self._at > 600  # clocks drift: don't keep a ten-minute-old bound forever
            if self._lo is None or self._hi is None or stale:
                self._lo, self._hi = lo, hi
            else:
                new_lo, new_hi = max(self._lo, lo), min(self._hi, hi)
                if new_lo <= new_hi:
                    self._lo, self._hi = new_lo, new_hi
                else:  # inconsistent with the old bound (clock stepped): trust the new observation
                    self._lo, self._hi = lo, hi
            self._at = self._clock()

    def observe_date_header(self, value: str | None, sent_at: float, received_at: float) -> None:
        """An HTTP ``Date`` header (RFC 7231, whole seconds)."""
        if not value:
            return
        try:
            server_ts = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        self.observe(server_ts, sent_at, received_at, resolution=1.0)

    def deadline_after(self, seconds: float) -> tuple[str, float]:
        """A deadline ``seconds`` from now on Kraken's clock: ``(rfc3339_text, server_ts)``.

        With an unmeasured or loose offset the deadline is pulled in by the uncertainty so that it stays
        inside Kraken's 60 s upper bound, and pushed out so it stays above the 2 s lower bound.
        """
        unc = self.uncertainty
        target = self.now() + seconds
        latest = self.now() + MAX_DEADLINE - unc
        earliest = self.now() + MIN_DEADLINE + unc + _LOWER_MARGIN
        ts = max(earliest, min(target, latest))
        ts = round(ts, 3)
        return format_deadline(ts), ts

    def check_caller_deadline(self, server_ts: float, field: str = "deadline") -> None:
        """Refuse a caller's absolute deadline that Kraken would refuse (outside now + 2..60 s)."""
        now = self.now()
        unc = self.uncertainty if self.measured else 0.0
        if server_ts < now + MIN_DEADLINE + unc:
            raise ValidationError(
                f"{field} is {server_ts - now:.1f}s from now on Kraken's clock; Kraken needs at least "
                f"{MIN_DEADLINE:g}s: give a later time (or leave it out for the client's default)",
                field=field,
            )
        if server_ts > now + MAX_DEADLINE - unc:
            raise ValidationError(
                f"{field} is {server_ts - now:.1f}s from now on Kraken's clock; Kraken allows at most "
                f"{MAX_DEADLINE:g}s: give an earlier time",
                field=field,
            )

    def seconds_until_passed(self, server_ts: float) -> float:
        """Local seconds to wait until ``server_ts`` has certainly passed on Kraken's clock (0 if it has)."""
        wait = server_ts - self.now() + self.uncertainty
        return wait if wait > 0 else 0.0


_clocks: dict[str, ServerClock] = {}
_clocks_lock = threading.Lock()


def shared_server_clock(host: str) -> ServerClock:
    """The process-wide clock estimate of one Kraken host (base URL), shared by REST and WS clients."""
    with _clocks_lock:
        clock = _clocks.get(host)
        if clock is None:
            clock = _clocks[host] = ServerClock()
        return clock


def order_deadline(
    clock: ServerClock, caller_value: Any, default_seconds: float, field: str = "deadline"
) -> tuple[str, float]:
    """The deadline an order is sent with: the caller's own (checked) or ``default_seconds`` from now.

    Returns ``(wire_text, kraken_ts)``.
    """
    if caller_value is None:
        return clock.deadline_after(default_seconds)
    ts = parse_deadline(caller_value, field)
    clock.check_caller_deadline(ts, field)
    text = caller_value if isinstance(caller_value, str) else format_deadline(ts)
    return text, ts
