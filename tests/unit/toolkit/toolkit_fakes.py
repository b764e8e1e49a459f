"""A Kraken-like fake exchange on virtual time for the submitter tests (no sockets, no real waiting).

Like Kraken's engine it places a request when it *arrives*: refused once its ``deadline`` has passed
(``EService:Deadline elapsed``), refused while an open order has the same client id (``EOrder:Duplicate
order``), else placed; a market order fills at once (closed), so the same client id can be placed again:
exactly how a blind re-send executes twice. Every placement is counted, so a test can assert zero
duplicates. Look-ups see an order ``visibility_lag`` seconds after it was placed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from krakenkit import (
    APITimeoutError,
    ConnectionLostError,
    DeadlineElapsedError,
    InsufficientFundsError,
    InvalidResponseError,
    OrderError,
    OrderNotPlacedError,
    OrderOutcomeUnknownError,
    ServiceUnavailableError,
    ValidationError,
)
from krakenkit._core.deadline import ServerClock, parse_deadline
from krakenkit.toolkit import Found, OrderRequest

START = 1_800_000_000.0


class VirtualTime:
    """One clock for the exchange, Kraken's server clock and the submitter; sleeping moves it."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # let sibling tasks run, like a real sleep

    def server_clock(self, uncertainty: float = 0.0) -> ServerClock:
        """Kraken's clock as the client would have measured it: offset 0, +- ``uncertainty`` seconds."""
        clock = ServerClock(clock=self)
        clock.observe(self.now + uncertainty, self.now, self.now + 2 * uncertainty)
        self.now += 2 * uncertainty
        return clock


@dataclass
class Order:
    txid: str
    cl_ord_id: str
    order_type: str
    placed_at: float
    state: str  # open / closed


@dataclass
class Send:
    cl_ord_id: str
    deadline: str | None
    at: float
    action: Any


@dataclass
class FakeExchange:
    """``script``: what each send does, in order (default ``ok``):

    ok | reject | deadline_elapsed (refused: late at the engine) | accept_timeout (placed, answer lost) |
    garbled (placed, the 200 answer unreadable) | lost (not placed, 503 / EService:Unavailable) |
    ("late", s) (the request reaches the engine s seconds later; the client times out now) |
    conn_lost (placed, the socket dropped) | unknown_error (placed, the client's OrderOutcomeUnknownError) |
    proven_absent (not placed, the client's OrderNotPlacedError once the deadline passed) |
    proven_absent_early (the same, but sooner than Kraken's clock as the submitter knows it allows) |
    boom (placed, an unexpected RuntimeError) | invalid (refused locally: ValidationError, nothing arrives)
    """

    time: VirtualTime
    script: list[Any] = field(default_factory=list)
    visibility_lag: float = 0.0
    lookup_fail: int = 0  # the next n look-ups fail
    fail_lookups_after: float | None = None  # every look-up at or after this time fails
    sends: list[Send] = field(default_factory=list)
    lookups: int = 0
    orders: dict[str, Order] = field(default_factory=dict)  # latest order per client id
    placements: Counter[str] = field(default_factory=Counter)  # every order the engine placed, by client id
    refused_late: int = 0
    on_lookup: Callable[[str], None] | None = None
    _arrivals: list[tuple[float, str, str | None, str]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # --- the engine --------------------------------------------------------------------------------
    def _advance(self) -> None:
        """Process every request that has reached the engine by now (in arrival order)."""
        due = sorted(a for a in self._arrivals if a[0] <= self.time.now)
        self._arrivals = [a for a in self._arrivals if a[0] > self.time.now]
        for at, cl, deadline, order_type in due:
            try:
                self._engine(cl, deadline, order_type, at)
            except (DeadlineElapsedError, OrderError):
                pass  # refused, and nobody is waiting for the answer any more

    def _engine(self, cl: str, deadline: str | None, order_type: str, at: float) -> Order:
        if deadline is not None and at > parse_deadline(deadline):
            self.refused_late += 1
            raise DeadlineElapsedError(
                "EService:Deadline elapsed", errors=["EService:Deadline elapsed"], from_envelope=True
            )
        old = self.orders.get(cl)
        if old is not None and old.state == "open":
            raise OrderError("EOrder:Duplicate order", errors=["EOrder:Duplicate order"], from_envelope=True)
        order = Order(f"O{next(self._ids)}", cl, order_type, at, "closed" if order_type == "market" else "open")
        self.orders[cl] = order
        self.placements[cl] += 1
        return order

    def _place_now(self, cl: str, deadline: str | None, order_type: str) -> Order:
        self._advance()
        return self._engine(cl, deadline, order_type, self.time.now)

    def arrives_at(self, at: float, cl: str, deadline: str | None, order_type: str = "limit") -> None:
        """A request (e.g. of a crashed run) that reaches the engine at ``at``."""
        self._arrivals.append((at, cl, deadline, order_type))

    @property
    def duplicates(self) -> dict[str, int]:
        return {cl: n for cl, n in self.placements.items() if n > 1}

    # --- the client's calls ------------------------------------------------------------------------
    def send(self, cl: str, order_type: str, deadline: str | None) -> dict[str, str]:
        action = self.script.pop(0) if self.script else "ok"
        self.sends.append(Send(cl, deadline, self.time.now, action))
        if action == "invalid":
            raise ValidationError("volume must be positive", field="volume")
        if action == "ok":
            return {"order_id": self._place_now(cl, deadline, order_type).txid}
        if action == "reject":
            raise InsufficientFundsError(
                "EOrder:Insufficient funds", errors=["EOrder:Insufficient funds"], from_envelope=True
            )
        if action == "deadline_elapsed":
            raise DeadlineElapsedError(
                "EService:Deadline elapsed", errors=["EService:Deadline elapsed"], from_envelope=True
            )
        if action == "lost":
            raise ServiceUnavailableError("EService:Unavailable", errors=["EService:Unavailable"], from_envelope=True)
        if action in ("proven_absent", "proven_absent_early"):
            if action == "proven_absent" and deadline is not None:  # the client waited for the deadline
                self.time.now = max(self.time.now, parse_deadline(deadline) + 1.0)
            raise OrderNotPlacedError("deadline passed, not found", cl_ord_id=cl, deadline=deadline)
        if isinstance(action, tuple) and action[0] == "late":
            self.arrives_at(self.time.now + float(action[1]), cl, deadline, order_type)
            raise APITimeoutError("no answer in time, the request may have been processed", retry_safe=False)
        self._place_now(cl, deadline, order_type)  # placed; the answer is lost one way or another
        if action == "accept_timeout":
            raise APITimeoutError("no answer in time, the request may have been processed", retry_safe=False)
        if action == "garbled":
            raise InvalidResponseError("not JSON: <html>Bad gateway</html>", status_code=200, body_excerpt="<html>")
        if action == "conn_lost":
            raise ConnectionLostError("socket closed with the request in flight", cl_ord_id=cl, req_id=7)
        if action == "unknown_error":
            raise OrderOutcomeUnknownError("AddOrder: outcome unknown; lookup failed", cl_ord_id=cl)
        if action == "boom":
            raise RuntimeError("unexpected")
        raise AssertionError(f"unknown script action {action!r}")

    def lookup(self, cl: str) -> dict[str, str] | None:
        self._advance()
        self.lookups += 1
        if self.on_lookup is not None:
            self.on_lookup(cl)
        if self.lookup_fail > 0 or (self.fail_lookups_after is not None and self.time.now >= self.fail_lookups_after):
            self.lookup_fail = max(0, self.lookup_fail - 1)
            raise ServiceUnavailableError("EService:Unavailable", errors=["EService:Unavailable"], from_envelope=True)
        order = self.orders.get(cl)
        if order is None or self.time.now < order.placed_at + self.visibility_lag:
            return None
        return {"order_id": order.txid, "state": order.state}


class FakeVenue:
    """A venue over :class:`FakeExchange`: Spot-like (takes Kraken's deadline) unless ``takes_deadline=False``
    (Derivatives-like). ``is_async``: the calls are coroutines."""

    product = "spot"
    via = "rest"

    def __init__(self, ex: FakeExchange, *, is_async: bool = False, takes_deadline: bool = True) -> None:
        self.ex = ex
        self.is_async = is_async
        self.takes_deadline = takes_deadline
        self._ids = itertools.count(1)
        self.unreadable_acks = 0  # the next n acks have a shape parse_ack does not know

    def new_client_id(self) -> str:
        return f"cl-{next(self._ids)}"

    def validate_client_id(self, value: str) -> str:
        return value

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not self.is_async:
            return fn

        async def run(**kw: Any) -> Any:
            await asyncio.sleep(0)
            return fn(**kw)

        return run

    def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        def place(cl: str, order_type: str, deadline: str | None = None) -> dict[str, str]:
            return self.ex.send(cl, order_type, deadline)

        return self._wrap(place), {"cl": cl_ord_id, "order_type": req.order_type}

    def parse_ack(self, response: Any, cl_ord_id: str) -> Found:
        if self.unreadable_acks > 0:
            self.unreadable_acks -= 1
            raise KeyError("txid")
        return Found(order_id=response["order_id"], exchange_state="open")

    def lookups(self, cl_ord_id: str) -> list[Any]:
        def parse(r: Any, c: str) -> Found | None:
            return Found(order_id=r["order_id"], exchange_state=r["state"], recovered=True) if r else None

        return [(self._wrap(lambda cl: self.ex.lookup(cl)), {"cl": cl_ord_id}, parse)]
