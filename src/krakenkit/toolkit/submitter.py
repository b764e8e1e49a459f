"""Idempotent order submission: journal first, send with a deadline, resolve an unknown outcome by client id.

For every order the submitter

1. makes a client order id (``cl_ord_id`` / ``cliOrdId``, a UUID) unless you pass one,
2. writes the intent to the :class:`~krakenkit.toolkit.journal.OrderJournal` (durable before sending),
3. passes the :class:`~krakenkit.toolkit.gate.ReconnectGate` (if any: paused while the private stream
   reconnects or the market is in maintenance / cancel_only), then stamps Spot orders with Kraken's
   ``deadline`` (``order_deadline`` seconds ahead on Kraken's clock, or the caller's own ``deadline=``), marks
   the entry ``sent`` with that deadline and sends,
4. on an ack journals ``acknowledged`` with Kraken's order id; on a definitive refusal (Kraken's error
   envelope, a ``sendStatus`` rejection) ``rejected`` (and raises it),
5. on anything else the outcome is unknown (timeouts, dropped connections, 5xx, ``EService:Unavailable``,
   an unparseable 200, ``OrderOutcomeUnknownError`` from the client, any unexpected exception): journals
   ``unknown`` and looks the order up by its client id, fast for ``grace`` seconds (an ack that is merely
   late), then once more after the order's deadline has passed on Kraken's clock (plus ``deadline_margin``).
   Found: ``acknowledged``. Absent after the deadline: proven not placed (the engine rejects a request once
   its deadline has passed, so nothing of it can still arrive): re-sent with the same client id and a new
   deadline up to ``max_attempts`` (never past a caller's own deadline), then ``not_placed`` and
   :class:`OrderNotPlacedError`. The client's own :class:`OrderNotPlacedError` is the same proof. Look-ups
   failing, or nothing to prove the order absent (Derivatives: no deadline): the entry stays ``unknown`` and
   :class:`~krakenkit.OrderOutcomeUnknownError` is raised with its client id. Failing look-ups also hold back
   new orders until the entry is resolved.

A Derivatives order is never re-sent after an unknown outcome (only after a refusal that certainly came
before Kraken acted: an invalid nonce, a connection that was never made).

With a gate, an order that has to wait for it (the gate was closed when the order came) is sent when the gate
reopens, as it was decided before the pause, unless a ``revalidate`` hook is given: then the hook is asked
(``revalidate(request) -> bool``, after the gate reopened, holding no gate slot) and False withdraws the
order: journaled ``not_placed`` with ``"sent": false``, :class:`OrderWithdrawnError` raised. The seconds an
order waited at the gate go to the journal (``gate_wait``).

On start (and before the next order after failed look-ups) every ``intent`` / ``sent`` / ``unknown``
entry a crashed run left behind is reconciled: ``intent`` was never sent (``sent`` is written before the
request leaves) and becomes ``abandoned``; ``sent`` / ``unknown`` are looked up by id like above (found:
``acknowledged``; absent once its journaled deadline has passed: ``not_placed``; else it stays ``unknown``).

One copy of the logic: the flows are generators that *yield* what they need (a client call, a journal
write, a sleep, a gate admission). :class:`AsyncSafeOrderSubmitter` runs them on asyncio (journal writes in
a worker thread), :class:`SafeOrderSubmitter` runs them blocking. Venue adapters
(:class:`SpotRestVenue`, :class:`FuturesRestVenue`, :class:`SpotWsVenue`) hold everything product-specific.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol, Self

from .._core.deadline import (
    DEFAULT_ORDER_DEADLINE,
    MAX_DEADLINE,
    MIN_DEADLINE,
    ServerClock,
    check_deadline_seconds,
    order_deadline,
    parse_deadline,
    shared_server_clock,
)
from .._core.errors import (
    APIConnectionError,
    DuplicateClientOrderIdError,
    InvalidNonceError,
    KrakenAPIError,
    KrakenError,
    OrderError,
    OrderNotPlacedError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    TradingPausedError,
    ValidationError,
    is_definitive_rejection,
)
from .._core.ids import (
    generate_futures_order_id,
    generate_spot_order_id,
    validate_futures_cli_ord_id,
    validate_spot_cl_ord_id,
)
from ._util import as_mapping, call_any, call_sync, dec, maybe_await, unwrap_result
from .gate import ReconnectGate
from .journal import JournalEntry, JournalStatus, OrderJournal, default_owner

__all__ = [
    "AsyncSafeOrderSubmitter",
    "Found",
    "FuturesRestVenue",
    "OrderNotPlacedError",
    "OrderRequest",
    "OrderWithdrawnError",
    "ReconcileReport",
    "Refused",
    "Revalidate",
    "SafeOrderSubmitter",
    "SpotRestVenue",
    "SpotWsVenue",
    "SubmitResult",
    "Venue",
]

log = logging.getLogger("krakenkit.toolkit.submitter")


class OrderWithdrawnError(KrakenError):
    """The order waited at a closed :class:`~krakenkit.toolkit.gate.ReconnectGate` and, once the gate
    reopened, the submitter's ``revalidate`` hook declined it. Nothing was sent; the journal entry is
    ``not_placed`` (its last event says ``"sent": false``). Decide afresh rather than re-submitting it as is:
    the hook just said the old decision no longer holds.

    ``cl_ord_id``: the journal entry; ``waited``: seconds spent waiting at the gate; ``request``: the
    :class:`OrderRequest` the hook saw."""

    retry_safe = True  # nothing left the process

    def __init__(self, message: str, *, cl_ord_id: str, waited: float, request: OrderRequest, **kw: Any) -> None:
        self.cl_ord_id = cl_ord_id
        self.waited = waited
        self.request = request
        super().__init__(message, **kw)


@dataclass(frozen=True)
class OrderRequest:
    """One order as the bot asked for it. ``cl_ord_id`` and ``waited`` (seconds at the gate so far) are
    filled in for the ``revalidate`` hook."""

    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    cl_ord_id: str | None = None
    waited: float = 0.0


# the submitters' revalidate hook: sync for SafeOrderSubmitter; sync or async for AsyncSafeOrderSubmitter
Revalidate = Callable[[OrderRequest], bool] | Callable[[OrderRequest], Awaitable[bool]]


@dataclass(frozen=True)
class Found:
    """Evidence that Kraken has the order."""

    order_id: str | None
    exchange_state: str | None = None
    filled: Decimal | None = None
    recovered: bool = False


@dataclass(frozen=True)
class SubmitResult:
    cl_ord_id: str
    order_id: str | None
    status: JournalStatus
    exchange_state: str | None
    attempts: int
    recovered: bool  # True when the ack was lost and the order was found by its client id
    entry: JournalEntry
    response: Any = None
    deadline: str | None = None  # Kraken's deadline (RFC 3339) the placing request carried; None: none


@dataclass(frozen=True)
class Refused:
    """Evidence that Kraken refused the order (its own record of the client id says rejected)."""

    error: str


@dataclass
class ReconcileReport:
    """What a reconciliation did. ``unresolved``: entries still ``unknown`` afterwards, of which
    ``lookups_failed`` could not be looked up (those hold back new orders with ``block_on_unresolved``); the
    rest were not found but nothing proves them absent (no deadline: Derivatives, or an entry written before
    deadlines were journaled)."""

    checked: int = 0
    acknowledged: int = 0
    not_placed: int = 0
    abandoned: int = 0
    unresolved: int = 0
    entries: list[JournalEntry] = field(default_factory=list)
    rejected: int = 0
    lookups_failed: int = 0


Lookup = tuple[Callable[..., Any], dict[str, Any], Callable[[Any, str], Found | Refused | None]]


class Venue(Protocol):
    """What the submitter needs to know about one product + transport.

    Optional attributes: ``takes_deadline`` (True: the call ``send`` returns accepts Kraken's ``deadline=``,
    RFC 3339; the submitter then sends every order with one, which is what lets it prove an order absent;
    default False), ``server_clock`` (the estimate of Kraken's clock those deadlines are written in; the
    submitter's ``server_clock=`` option wins) and ``clock_probe()`` (a ``(call, kwargs)`` whose answer
    lets the client measure that clock; :meth:`start` makes it when nothing has measured the clock yet)."""

    product: str
    via: str

    def new_client_id(self) -> str: ...
    def validate_client_id(self, value: str) -> str: ...
    def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]: ...
    def parse_ack(self, response: Any, cl_ord_id: str) -> Found: ...
    def lookups(self, cl_ord_id: str) -> list[Lookup]: ...


# --- venues ----------------------------------------------------------------------------------------------

_SPOT_STATES = {
    "pending": "pending",
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "expired",
}


def _spot_find_in(result: Any, key: str, cl_ord_id: str) -> Found | None:
    body = unwrap_result(result)
    orders = body.get(key)
    if not isinstance(orders, Mapping):
        return None
    for txid, o in orders.items():
        if isinstance(o, Mapping) and o.get("cl_ord_id") == cl_ord_id:
            state = _SPOT_STATES.get(str(o.get("status")), str(o.get("status")))
            return Found(order_id=str(txid), exchange_state=state, filled=dec(o.get("vol_exec")), recovered=True)
    return None


def _client_server_clock(*clients: Any) -> ServerClock:
    """The estimate of Kraken's clock a client keeps (its ``server_clock``), else the process-wide one of its
    host (``base_url``), else a fresh one (assumes the local clock, with its default uncertainty)."""
    for client in clients:
        for holder in (client, getattr(client, "ws", None)):  # a WebsocketAPIClient keeps it on its .ws
            clock = getattr(holder, "server_clock", None)
            if isinstance(clock, ServerClock):
                return clock
    for client in clients:
        url = getattr(client, "base_url", None)
        if isinstance(url, str) and url:
            return shared_server_clock(url)
    return ServerClock()


class _ClientVenue:
    """What the venues share: a client whose ``submit_order`` takes the order under the venue's own wire
    names (``_fields``: symbol, side, order type, quantity, client id, price), and its client id rules."""

    product = ""
    via = "rest"
    takes_deadline = False
    server_clock: ServerClock | None = None
    _fields: tuple[str, str, str, str, str, str]
    _new_id: Callable[[], str]
    _validate_id: Callable[[str], str]

    def __init__(self, client: Any) -> None:
        self.client = client

    def new_client_id(self) -> str:
        return type(self)._new_id()

    def validate_client_id(self, value: str) -> str:
        return type(self)._validate_id(value)

    def _order_kwargs(self, req: OrderRequest, cl_ord_id: str) -> dict[str, Any]:
        symbol, side, order_type, quantity, client_id, price = self._fields
        kwargs: dict[str, Any] = {
            symbol: req.symbol,
            side: req.side,
            order_type: req.order_type,
            quantity: req.quantity,
            client_id: cl_ord_id,
            **req.params,
        }
        if req.price is not None:
            kwargs[price] = req.price
        return kwargs

    def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        return self.client.submit_order, self._order_kwargs(req, cl_ord_id)


class SpotRestVenue(_ClientVenue):
    """Spot over REST (``SpotClient`` / ``AsyncSpotClient``): ``AddOrder`` with ``cl_ord_id`` and ``deadline``;
    lookups by ``OpenOrders`` then ``ClosedOrders`` filtered by ``cl_ord_id``."""

    product = "spot"
    takes_deadline = True
    _fields = ("pair", "type", "ordertype", "volume", "cl_ord_id", "price")
    _new_id = staticmethod(generate_spot_order_id)
    _validate_id = staticmethod(validate_spot_cl_ord_id)

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.server_clock = _client_server_clock(client)

    def clock_probe(self) -> tuple[Callable[..., Any], dict[str, Any]]:
        """A cheap public call whose answer lets the client measure Kraken's clock (``Time``)."""
        return self.client.get_server_time, {}

    def parse_ack(self, response: Any, cl_ord_id: str) -> Found:
        oid = getattr(response, "order_id", None)
        if oid is None:
            txid = unwrap_result(response).get("txid")
            oid = txid[0] if isinstance(txid, list) and txid else None
        order = getattr(response, "order", None)
        state = None
        if order is not None:
            state = _SPOT_STATES.get(str(getattr(order, "status", "")), None)
        return Found(order_id=oid, exchange_state=state, recovered=bool(getattr(response, "recovered", False)))

    def lookups(self, cl_ord_id: str) -> list[Lookup]:
        return [
            (self.client.get_open_orders, {"cl_ord_id": cl_ord_id}, lambda r, c: _spot_find_in(r, "open", c)),
            (self.client.get_closed_orders, {"cl_ord_id": cl_ord_id}, lambda r, c: _spot_find_in(r, "closed", c)),
        ]


_FUTURES_STATES = {
    "ENTERED_BOOK": "open",
    "TRIGGER_PLACED": "open",
    "FULLY_EXECUTED": "closed",
    "CANCELLED": "canceled",
    "REJECTED": "rejected",
}


def _futures_find_status(result: Any, cl_ord_id: str) -> Found | Refused | None:
    orders = getattr(result, "orders", None)
    items = orders if isinstance(orders, list) else as_mapping(result).get("orders") or []
    refused: Refused | None = None
    for d in items:
        m = as_mapping(d)
        order = m.get("order") if isinstance(m.get("order"), Mapping) else {}
        assert isinstance(order, Mapping)
        if order.get("cliOrdId") != cl_ord_id:
            continue
        status = str(m.get("status", ""))
        if status != "REJECTED":
            return Found(
                order_id=order.get("orderId"),
                exchange_state=_FUTURES_STATES.get(status, status.lower()),
                filled=dec(order.get("filled")),
                recovered=True,
            )
        error = str(m.get("error") or "REJECTED")
        if error != "CLIENT_ORDER_ID_IN_USE":  # that one is a refused re-send, not the order's fate
            refused = Refused(error)
    return refused


def _futures_find_fill(result: Any, cl_ord_id: str) -> Found | None:
    items = result if isinstance(result, list) else as_mapping(result).get("fills") or []
    for f in items:
        m = as_mapping(f)
        if (m.get("cliOrdId") or m.get("cli_ord_id")) == cl_ord_id:
            return Found(order_id=m.get("order_id"), exchange_state="filled", recovered=True)
    return None


def _futures_find_open(result: Any, cl_ord_id: str) -> Found | None:
    items = result if isinstance(result, list) else as_mapping(result).get("openOrders") or []
    for o in items:
        m = as_mapping(o)
        if m.get("cliOrdId") == cl_ord_id:
            return Found(order_id=m.get("order_id"), exchange_state="open", recovered=True)
    return None


class FuturesRestVenue(_ClientVenue):
    """Derivatives over REST (``DerivativesClient`` / ``AsyncDerivativesClient``): ``sendorder`` with
    ``cliOrdId``; lookups by ``orders/status`` (open + closed in the last 5 s), open orders, then fills.
    ``order_type`` takes Kraken's values (``lmt``, ``mkt``, ``post``, ``ioc``, ...). ``sendorder`` has no
    deadline, so an order of unknown outcome that the lookups do not find stays unknown (never re-sent)."""

    product = "futures"
    _fields = ("symbol", "side", "orderType", "size", "cliOrdId", "limitPrice")
    _new_id = staticmethod(generate_futures_order_id)
    _validate_id = staticmethod(validate_futures_cli_ord_id)

    def parse_ack(self, response: Any, cl_ord_id: str) -> Found:
        oid = getattr(response, "order_id", None)
        recovered = bool(getattr(response, "recovered", False))
        if str(getattr(response, "status", "placed")) == "filled":  # recovered from the fills
            return Found(order_id=oid, exchange_state="closed", recovered=recovered)
        detail_status = as_mapping(response).get("status")  # recovered from orders/status: its raw entry
        if recovered and isinstance(detail_status, str):
            state = _FUTURES_STATES.get(detail_status, detail_status.lower())
        else:
            # sendStatus.orderEvents: a PLACE event means it rests (or waits for its trigger); executions
            # without one mean it filled at once (market / crossing limit / ioc)
            kinds = {
                str(e.get("type")) for e in getattr(response, "order_events", None) or [] if isinstance(e, Mapping)
            }
            state = "closed" if "EXECUTION" in kinds and "PLACE" not in kinds else "open"
        return Found(order_id=oid, exchange_state=state, recovered=recovered)

    def lookups(self, cl_ord_id: str) -> list[Lookup]:
        return [
            (self.client.get_order_status, {"cliOrdIds": [cl_ord_id]}, _futures_find_status),
            (self.client.get_open_orders, {}, _futures_find_open),
            (self.client.get_fills, {}, _futures_find_fill),
        ]


class SpotWsVenue(SpotRestVenue):
    """Spot over the WebSocket API (``WebsocketAPIClient.submit_spot_order``; ``symbol`` in WS form, e.g.
    ``BTC/USD``), with ``deadline`` like REST; lookups over REST (``rest`` = a ``SpotClient`` /
    ``AsyncSpotClient``), since the WS API has no order query. A dropped socket (``ConnectionLostError``) or a
    reply timeout is an unknown outcome."""

    via = "ws"
    _fields = ("symbol", "side", "order_type", "order_qty", "cl_ord_id", "limit_price")

    def __init__(self, ws_api: Any, rest: Any) -> None:
        super().__init__(rest)
        self.ws_api = ws_api
        self.server_clock = _client_server_clock(ws_api, rest)

    def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        return self.ws_api.submit_spot_order, self._order_kwargs(req, cl_ord_id)

    def parse_ack(self, response: Any, cl_ord_id: str) -> Found:
        oid = getattr(response, "order_id", None)
        if not oid:
            m = as_mapping(response)
            body = m.get("result") if isinstance(m.get("result"), Mapping) else m
            oid = body.get("order_id") if isinstance(body, Mapping) else None
        return Found(order_id=oid or None, exchange_state=None)


# --- the flows (one copy, yielded operations) -----------------------------------------------------------


@dataclass(frozen=True)
class _Call:  # a client call; the driver sends back its result or throws its exception into the flow
    fn: Callable[..., Any]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class _Journal:  # a journal call (blocking; run in a worker thread under asyncio)
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True)
class _Admit:  # pass the gate (raises TradingPausedError) -> True when it had to wait; the flow releases the slot
    action: str


@dataclass(frozen=True)
class _Revalidate:  # ask the revalidate hook about an order that waited at the gate -> its answer
    request: OrderRequest


@dataclass(frozen=True)
class _Locked:  # run the inner flow holding the submitter's reconcile lock
    flow: Generator[Any, Any, Any]


Op = _Call | _Journal | _Sleep | _Admit | _Revalidate | _Locked
Flow = Generator[Op, Any, Any]

_ABSENT = object()  # proven not placed: looked up after the deadline had passed on Kraken's clock, not found
_NOT_FOUND = object()  # not found, but nothing proves it absent (no deadline): stays unknown
_UNRESOLVED = object()  # the look-ups kept failing

_LOOKUPS_FAILED = "reconcile: lookups failed"
_DEADLINE_SLACK = 0.75  # seconds our own deadline keeps from Kraken's bounds beyond the clock's uncertainty
# how a failed send is treated (see _verdict)
_UNKNOWN, _REFUSED, _NOT_SENT, _NOT_ACTED_ON, _PROVEN_ABSENT = "unknown", "refused", "not_sent", "retry", "absent"


def _step(flow: Flow, outcome: tuple[bool, Any]) -> tuple[bool, Any]:
    """Feed the last operation's ``(ok, value-or-exception)`` into the flow: ``(False, next op)`` or
    ``(True, the flow's return value)``. The drivers of both twins are this plus their I/O."""
    ok, value = outcome
    try:
        return False, (flow.send(value) if ok else flow.throw(value))
    except StopIteration as stop:
        return True, stop.value


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _is_duplicate_id_refusal(exc: BaseException) -> bool:
    """Kraken refused a request because its client id is taken (Derivatives ``clientOrderIdAlreadyExist``,
    Spot ``EOrder:Duplicate order`` while the first order is open)."""
    if isinstance(exc, DuplicateClientOrderIdError):
        return True
    if not isinstance(exc, OrderError):
        return False
    text = " ".join(exc.errors or [str(exc)]).lower()
    return "duplicate" in text or ("already" in text and ("cl_ord_id" in text or "client" in text))


def _not_acted_on(exc: BaseException) -> bool:
    """A failure after which Kraken certainly did nothing and re-sending is not a policy decision."""
    return bool(getattr(exc, "retry_safe", False)) and isinstance(exc, (InvalidNonceError, APIConnectionError))


def _verdict(exc: BaseException, attempt: int) -> str:
    """What a failed order request means. Only Kraken's own refusal (its error envelope or a ``sendStatus``
    rejection, other than the outcome-unknown answers: :func:`~krakenkit.is_definitive_rejection`) is
    definitive; a local ``ValidationError`` sent nothing; the client's ``OrderNotPlacedError`` is a proof of
    absence; everything else is an unknown outcome."""
    if isinstance(exc, OrderNotPlacedError):
        return _PROVEN_ABSENT
    if isinstance(exc, OrderOutcomeUnknownError):  # ConnectionLostError included
        return _UNKNOWN
    if isinstance(exc, ValidationError):
        return _NOT_SENT
    if _not_acted_on(exc):
        return _NOT_ACTED_ON
    if is_definitive_rejection(exc):
        # a re-send refused because the client id is taken: an earlier attempt landed after all
        return _UNKNOWN if attempt > 1 and _is_duplicate_id_refusal(exc) else _REFUSED
    return _UNKNOWN  # InvalidResponseError (any status), timeouts, 5xx, EService:Unavailable, anything else


def _error_deadline(exc: BaseException) -> tuple[str, float] | None:
    """The deadline an error says its request carried (a client that re-sent with its own)."""
    text = getattr(exc, "deadline", None)
    if not isinstance(text, str):
        return None
    try:
        return text, parse_deadline(text)
    except ValidationError:
        return None


class _SubmitterCore:
    """Options of both submitters.

    ``account`` / ``owner`` / ``lease``: whose journal entries these are and how long a claim lasts;
    ``gate`` / ``revalidate``: see the module docs; ``grace`` (s): fast look-ups after an unknown outcome;
    ``poll_interval`` (s) between them; ``max_lookup_errors``: failed look-up rounds before giving up (the
    entry stays ``unknown``); ``max_attempts``: requests per order, re-sends only after proof of absence;
    ``block_on_unresolved``: refuse new orders while an entry could not be looked up;
    ``order_deadline`` (s, Kraken allows 2..60): how far ahead on Kraken's clock each Spot request's
    ``deadline`` lies (a caller's ``deadline=`` wins); ``deadline_margin`` (s): how long after the deadline
    the proving look-up starts; ``server_clock``: the estimate of Kraken's clock (default: the client's);
    ``clock`` / ``sleep``: the local monotonic clock and sleep (for tests).
    """

    def __init__(
        self,
        venue: Venue,
        journal: OrderJournal,
        *,
        account: str = "",
        owner: str | None = None,
        gate: ReconnectGate | None = None,
        grace: float = 2.0,
        poll_interval: float = 0.25,
        max_lookup_errors: int = 5,
        max_attempts: int = 3,
        lease: float = 60.0,
        block_on_unresolved: bool = True,
        revalidate: Revalidate | None = None,
        order_deadline: float = DEFAULT_ORDER_DEADLINE,
        deadline_margin: float = 1.0,
        server_clock: ServerClock | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.account = account
        self.owner = owner or default_owner()
        self.gate = gate
        self.grace = grace
        self.poll_interval = poll_interval
        self.max_lookup_errors = max_lookup_errors
        self.max_attempts = max(1, max_attempts)
        self.lease = lease
        self.block_on_unresolved = block_on_unresolved
        self.revalidate = revalidate
        self.order_deadline = check_deadline_seconds(order_deadline, "order_deadline")
        if isinstance(deadline_margin, bool) or not isinstance(deadline_margin, (int, float)) or deadline_margin < 0:
            raise ValidationError("deadline_margin must be a number of seconds >= 0", field="deadline_margin")
        self.deadline_margin = float(deadline_margin)
        # the clock deadlines are written and judged in; None: this venue's orders take no deadline
        self.server_clock: ServerClock | None = None
        if getattr(venue, "takes_deadline", False):
            self.server_clock = server_clock or getattr(venue, "server_clock", None) or ServerClock()
        self._clock = clock
        self._sleep = sleep
        self._inflight: set[str] = set()
        self._inflight_lock = threading.Lock()
        self._dirty = True  # reconcile before the first order
        self.stats: dict[str, int] = {
            "submitted": 0,
            "acknowledged": 0,
            "rejected": 0,
            "not_placed": 0,
            "unknown": 0,
            "recovered": 0,
            "resent": 0,
            "lookups": 0,
            "withdrawn": 0,
            "proven_absent": 0,
        }

    # --- builders ----------------------------------------------------------------------------------------
    @classmethod
    def spot_rest(cls, client: Any, journal: OrderJournal, **kwargs: Any) -> Self:
        return cls(SpotRestVenue(client), journal, **kwargs)

    @classmethod
    def futures_rest(cls, client: Any, journal: OrderJournal, **kwargs: Any) -> Self:
        return cls(FuturesRestVenue(client), journal, **kwargs)

    # --- helpers ------------------------------------------------------------------------------------------
    def _request(
        self, symbol: str, side: str, order_type: str, quantity: Any, price: Any, params: Mapping[str, Any]
    ) -> OrderRequest:
        qty = dec(quantity)
        if qty is None:
            raise ValidationError("quantity is required", field="quantity")
        req = OrderRequest(
            symbol=symbol, side=side, order_type=order_type, quantity=qty, price=dec(price), params=dict(params)
        )
        if req.params.get("deadline") is not None:
            if self.server_clock is None:
                raise ValidationError(
                    f"{self.venue.product} orders over {self.venue.via} take no deadline: leave deadline= out",
                    field="deadline",
                )
            self._deadline_for(req)  # a deadline Kraken would refuse is refused here, before the intent
        return req

    def _deadline_for(self, req: OrderRequest) -> tuple[str, float] | None:
        """``(rfc3339, kraken_ts)`` for the next request of ``req`` (the caller's own, checked, or
        ``order_deadline`` seconds from now on Kraken's clock); None when the venue takes no deadline.

        Our own deadline keeps clear of Kraken's 2..60 s bounds by twice the clock's uncertainty plus a
        slack: the client checks it again on its way out, after a journal write and maybe a new clock
        measurement, and must not refuse it then."""
        clock = self.server_clock
        if clock is None:
            return None
        seconds = self.order_deadline
        if req.params.get("deadline") is None:
            room = 2 * clock.uncertainty + _DEADLINE_SLACK
            seconds = min(max(seconds, MIN_DEADLINE + room), max(MAX_DEADLINE - room, MIN_DEADLINE + room))
        return order_deadline(clock, req.params.get("deadline"), seconds)

    def _until_passed(self, deadline_ts: float) -> float:
        """Local seconds until ``deadline_ts`` plus the margin has certainly passed on Kraken's clock."""
        assert self.server_clock is not None
        return self.server_clock.seconds_until_passed(deadline_ts + self.deadline_margin)

    def _entry_deadline(self, entry: JournalEntry) -> float | None:
        if self.server_clock is None or entry.deadline is None:
            return None
        try:
            return entry.deadline_ts
        except ValidationError:
            log.error("journal entry %s has an unreadable deadline %r", entry.cl_ord_id, entry.deadline)
            return None

    def _resolve(self, cl_ord_id: str, deadline_ts: float | None, grace_until: float) -> Flow:
        """Look the order up by client id until it is found (-> Found), refused by Kraken (-> Refused),
        proven absent (-> _ABSENT: a look-up that started after ``deadline_ts`` plus the margin had passed on
        Kraken's clock found nothing), not found with nothing to prove it absent (-> _NOT_FOUND: no
        deadline, after the grace polling), or the look-ups keep failing (-> _UNRESOLVED).

        Fast polling until ``grace_until`` (local clock; an ack that is merely late), then one wait until
        the deadline has passed and the look-up that proves it either way."""
        errors = 0
        waits = 0
        while True:
            proof = False
            if deadline_ts is not None:
                left = self._until_passed(deadline_ts)
                if left > 0 and self._clock() >= grace_until:
                    waits += 1
                    if waits > 50:  # the clock does not move: never conclude anything from it
                        log.error("order %s: Kraken's clock estimate does not advance; outcome left unknown", cl_ord_id)
                        return _UNRESOLVED
                    yield _Sleep(left + 0.005)
                    continue
                proof = left <= 0
            failed: BaseException | None = None
            refused: Refused | None = None
            for fn, kwargs, parse in self.venue.lookups(cl_ord_id):
                self.stats["lookups"] += 1
                try:
                    found = parse((yield _Call(fn, dict(kwargs))), cl_ord_id)
                except Exception as exc:  # a failed call, or a shape we do not understand
                    failed = exc
                    break
                if isinstance(found, Found):
                    return found
                refused = refused or found
            if failed is not None:
                errors += 1
                log.warning("lookup of %s failed (%d/%d): %r", cl_ord_id, errors, self.max_lookup_errors, failed)
                if errors >= self.max_lookup_errors:
                    return _UNRESOLVED
            elif refused is not None:
                return refused  # Kraken's own record says it refused this client id: final
            elif proof:
                return _ABSENT
            elif deadline_ts is None and self._clock() >= grace_until:
                return _NOT_FOUND
            yield _Sleep(self.poll_interval)

    def _reconcile_flow(self) -> Flow:
        report = ReconcileReport()
        entries: list[JournalEntry] = yield _Journal(
            self.journal.claim_unresolved,
            kwargs={"owner": self.owner, "account": self.account, "product": self.venue.product, "lease": self.lease},
        )
        for entry in entries:
            if self._is_inflight(entry.cl_ord_id):
                continue  # a sibling task is sending it right now
            report.checked += 1
            cl = entry.cl_ord_id
            if entry.status is JournalStatus.INTENT:
                report.entries.append((yield _Journal(self.journal.mark_abandoned, (cl,))))
                report.abandoned += 1
                continue
            # grace counted from when it was sent (wall clock in the journal)
            since_sent = time.time() - (entry.sent_at or entry.updated_at)
            grace_until = self._clock() + max(0.0, self.grace - since_sent)
            res = yield from self._resolve(cl, self._entry_deadline(entry), grace_until)
            if isinstance(res, Found):
                e = yield _Journal(
                    self.journal.mark_acknowledged,
                    (cl, res.order_id),
                    {"exchange_state": res.exchange_state, "detail": {"reconciled": True}},
                )
                report.acknowledged += 1
            elif isinstance(res, Refused):
                e = yield _Journal(self.journal.mark_rejected, (cl, f"reconciled: refused by Kraken: {res.error}"))
                report.rejected += 1
            elif res is _ABSENT:
                e = yield _Journal(
                    self.journal.mark_not_placed,
                    (
                        cl,
                        f"reconciled: its deadline {entry.deadline} passed on Kraken's clock and no order with "
                        "this client id exists",
                    ),
                )
                report.not_placed += 1
            elif res is _NOT_FOUND:
                why = "no deadline" if entry.deadline is None else "its deadline cannot be judged"
                e = yield _Journal(
                    self.journal.mark_unknown,
                    (cl, f"reconcile: not found by client id, but {why}: nothing proves it absent"),
                )
                report.unresolved += 1
            else:
                e = yield _Journal(self.journal.mark_unknown, (cl, _LOOKUPS_FAILED))
                report.unresolved += 1
                report.lookups_failed += 1
            report.entries.append(e)
        if report.checked:
            log.warning(
                "reconciled %d journal entries: %d acknowledged, %d not placed, %d rejected, %d abandoned, "
                "%d unresolved (%d with failing lookups)",
                report.checked,
                report.acknowledged,
                report.not_placed,
                report.rejected,
                report.abandoned,
                report.unresolved,
                report.lookups_failed,
            )
        return report

    def start_flow(self) -> Flow:
        """Before trading: one call that lets the client measure Kraken's clock (if nothing has measured it
        yet: deadlines then need no allowance for an unknown offset), then a full reconciliation."""
        clock = self.server_clock
        probe = getattr(self.venue, "clock_probe", None)
        if clock is not None and not clock.measured and callable(probe):
            fn, kwargs = probe()
            try:
                yield _Call(fn, kwargs)
            except Exception as exc:  # the deadlines just allow for the unknown offset
                log.warning("could not measure Kraken's clock before trading: %r", exc)
        report: ReconcileReport = yield from self.reconcile_flow()
        return report

    def reconcile_flow(self, *, only_if_dirty: bool = False) -> Flow:
        """Reconcile under the submitter's lock (``only_if_dirty``: skip when nothing is left to do, the
        check before every order; then a report with failed look-ups refuses the order)."""
        if only_if_dirty and not self._dirty:
            return None
        report: ReconcileReport | None = yield _Locked(self._reconcile_locked(only_if_dirty))
        if only_if_dirty and report is not None:
            self._check_reconciled(report)
        return report

    def _reconcile_locked(self, only_if_dirty: bool) -> Flow:
        if only_if_dirty and not self._dirty:
            return None  # a sibling reconciled while we waited for the lock
        report: ReconcileReport = yield from self._reconcile_flow()
        self._dirty = report.lookups_failed > 0
        return report

    def place_flow(
        self,
        symbol: str,
        side: str,
        order_type: str,
        quantity: Any,
        price: Any,
        cl_ord_id: str | None,
        params: Mapping[str, Any],
    ) -> Flow:
        """One order, start to end: reconcile what is left over, journal, send, resolve."""
        req = self._request(symbol, side, order_type, quantity, price, params)  # bad input: before anything
        yield from self.reconcile_flow(only_if_dirty=True)
        cl = self._new_id(cl_ord_id)
        with self._inflight_lock:
            self._inflight.add(cl)
        try:
            result: SubmitResult = yield from self.submit_flow(req, cl)
            return result
        except GeneratorExit:  # cancelled mid-order: the entry stays 'sent'; reconcile it before the next
            self._dirty = True
            raise
        finally:
            with self._inflight_lock:
                self._inflight.discard(cl)

    def submit_flow(self, req: OrderRequest, cl_ord_id: str) -> Flow:
        venue = self.venue
        self.stats["submitted"] += 1
        yield _Journal(
            self.journal.record_intent,
            kwargs={
                "cl_ord_id": cl_ord_id,
                "symbol": req.symbol,
                "side": req.side,
                "order_type": req.order_type,
                "quantity": req.quantity,
                "price": req.price,
                "params": req.params,
                "account": self.account,
                "product": venue.product,
                "via": venue.via,
                "owner": self.owner,
                "lease": self.lease,
            },
        )
        caller_deadline = req.params.get("deadline") is not None
        attempt = 0
        gate_wait: float | None = None  # seconds at the gate, all attempts (None: no gate)
        while True:
            attempt += 1
            fn, kwargs = venue.send(req, cl_ord_id)
            gate = self.gate
            if gate is not None:  # passed last before the send, so nothing goes out once the gate has closed
                gate_wait = yield from self._pass_gate(gate, req, cl_ord_id, gate_wait or 0.0)
            gw = {} if gate_wait is None else {"gate_wait": gate_wait}
            err: BaseException | None = None
            try:
                try:  # the deadline is taken right before the send: after any wait at the gate
                    deadline = self._deadline_for(req)
                except ValidationError as exc:  # the caller's own deadline came too close meanwhile
                    yield _Journal(self.journal.mark_not_sent, (cl_ord_id, _describe(exc)), gw)
                    self.stats["not_placed"] += 1
                    raise
                if deadline is not None:
                    kwargs["deadline"] = deadline[0]
                # 'sent' (with the deadline) is durable before the request can leave
                yield _Journal(
                    self.journal.mark_sent,
                    (cl_ord_id,),
                    {"owner": self.owner, "lease": self.lease, "deadline": deadline[0] if deadline else None},
                )
                sent_at = self._clock()
                try:
                    response = yield _Call(fn, kwargs)
                    found = venue.parse_ack(response, cl_ord_id)  # an answer we cannot read is no answer
                except Exception as exc:
                    err = exc
            finally:
                if gate is not None:
                    gate.release()
            if err is None:
                sent_deadline = deadline[0] if deadline else None
                return (yield from self._acknowledge(cl_ord_id, found, attempt, response, gate_wait, sent_deadline))
            verdict = _verdict(err, attempt)
            if verdict is _NOT_ACTED_ON and attempt < self.max_attempts:
                # Kraken certainly did not act (nonce refused before processing, connection never made):
                # send again with the same client id (and a new deadline)
                self.stats["resent"] += 1
                log.warning(
                    "order %s: %s (not acted on); re-sending (%d/%d)",
                    cl_ord_id,
                    type(err).__name__,
                    attempt + 1,
                    self.max_attempts,
                )
                yield _Sleep(self.poll_interval * attempt)
                continue
            if verdict in (_REFUSED, _NOT_ACTED_ON) and isinstance(err, KrakenAPIError):
                yield _Journal(self.journal.mark_rejected, (cl_ord_id, _describe(err)), gw)
                self.stats["rejected"] += 1
                raise err
            if verdict in (_NOT_SENT, _NOT_ACTED_ON):  # refused locally / no connection: nothing left
                yield _Journal(self.journal.mark_not_sent, (cl_ord_id, _describe(err)), gw)
                self.stats["not_placed"] += 1
                raise err
            text, ts = deadline if deadline is not None else (None, None)
            named = _error_deadline(err)
            if named is not None and (ts is None or named[1] > ts):
                text, ts = named  # the client re-sent with a later deadline: that one decides
            if verdict is _PROVEN_ABSENT and ts is not None and self._until_passed(ts) > 0:
                verdict = _UNKNOWN  # the client's proof came before our clock allows one: prove it ourselves
            if verdict is _UNKNOWN:
                yield _Journal(self.journal.mark_unknown, (cl_ord_id, _describe(err)), {**gw, "deadline": text})
                if ts is not None:
                    yield from self._hold_claim(cl_ord_id, ts)
                # a re-send refused for its taken client id says an order exists: no deadline can disprove that
                proves_absence = ts if not _is_duplicate_id_refusal(err) else None
                res = yield from self._resolve(cl_ord_id, proves_absence, sent_at + self.grace)
                if isinstance(res, Found):
                    return (yield from self._acknowledge(cl_ord_id, res, attempt, None, gate_wait, text))
                if isinstance(res, Refused):
                    yield _Journal(self.journal.mark_rejected, (cl_ord_id, f"refused by Kraken: {res.error}"), gw)
                    self.stats["rejected"] += 1
                    raise OrderRejectedError(
                        f"order {cl_ord_id}: the answer was lost ({type(err).__name__}) and Kraken's record shows "
                        f"it refused the order: {res.error}",
                        status=res.error,
                        errors=[res.error],
                    ) from err
                if res is not _ABSENT:
                    self.stats["unknown"] += 1
                    if res is _UNRESOLVED:
                        self._dirty = True
                        why = "the lookups by client id failed; no new order goes out until it is resolved"
                    elif _is_duplicate_id_refusal(err):
                        why = (
                            "Kraken refused the re-send because an order with this client id exists, yet the "
                            "lookups do not show it"
                        )
                    elif ts is None:
                        why = (
                            "it was not found by client id, and without a deadline nothing proves it absent "
                            "(it is not re-sent)"
                        )
                    else:
                        why = "its deadline cannot be judged on Kraken's clock"
                    raise OrderOutcomeUnknownError(
                        f"order {cl_ord_id}: outcome unknown after {type(err).__name__}: {why}; it stays 'unknown' "
                        "in the journal",
                        cl_ord_id=cl_ord_id,
                        request=dict(kwargs),
                        deadline=text,
                    ) from err
                proof = f"its deadline {text} passed on Kraken's clock and no order with this client id exists"
            else:  # _PROVEN_ABSENT: the client looked it up after the deadline itself
                proof = f"the client proved it absent ({_describe(err)})"
            self.stats["proven_absent"] += 1
            if attempt < self.max_attempts and not caller_deadline:
                yield _Journal(self.journal.mark_unknown, (cl_ord_id, f"not placed: {proof}; re-sending"), gw)
                self.stats["resent"] += 1
                log.warning(
                    "order %s not placed (%s: %s); re-sending with the same client id and a new deadline (%d/%d)",
                    cl_ord_id,
                    type(err).__name__,
                    proof,
                    attempt + 1,
                    self.max_attempts,
                )
                continue
            limit = "its own deadline" if caller_deadline else f"{attempt} attempt(s)"
            yield _Journal(self.journal.mark_not_placed, (cl_ord_id, f"not placed after {limit}: {proof}"), gw)
            self.stats["not_placed"] += 1
            raise OrderNotPlacedError(
                f"order {cl_ord_id} was not placed after {limit} ({type(err).__name__}): {proof}",
                cl_ord_id=cl_ord_id,
                deadline=text,
            ) from err

    def _hold_claim(self, cl_ord_id: str, deadline_ts: float) -> Flow:
        """Keep the entry's claim for as long as the wait for its deadline can take (no other bot's
        reconciliation takes an order this submitter is still resolving)."""
        assert self.server_clock is not None
        needed = self._until_passed(deadline_ts) + self.grace + self.lease
        if needed > self.lease:
            yield _Journal(self.journal.renew_claim, (cl_ord_id,), {"owner": self.owner, "lease": needed})

    def _pass_gate(self, gate: ReconnectGate, req: OrderRequest, cl_ord_id: str, waited: float) -> Flow:
        """Admission through the gate for one attempt; returns the seconds waited so far (``waited`` is what
        earlier attempts waited). Holds one gate slot on return. An order that had to wait is put to the
        ``revalidate`` hook (if any) with no slot held, then admitted again: if the gate closed once more
        meanwhile it waits again and the hook is asked again. Gate timeout -> ``TradingPausedError``;
        hook says no -> :class:`OrderWithdrawnError`; both journaled as not sent."""
        while True:
            t0 = self._clock()
            try:
                had_to_wait = yield _Admit("place")
            except KrakenError as exc:  # TradingPausedError: this attempt never left the process
                waited += self._clock() - t0
                yield _Journal(
                    self.journal.mark_not_sent,
                    (cl_ord_id, f"{type(exc).__name__}: {exc}"),
                    {"gate_wait": waited, "detail": {"gate": sorted(gate.reasons)}},
                )
                self.stats["not_placed"] += 1
                raise
            if not had_to_wait:
                return waited
            waited += self._clock() - t0
            if self.revalidate is None:
                return waited  # the default: send what was decided before the pause
            gate.release()  # the bot may take its time deciding: it holds no slot meanwhile
            pending = replace(req, cl_ord_id=cl_ord_id, waited=waited)
            try:
                ok = yield _Revalidate(pending)
            except Exception as exc:
                yield _Journal(
                    self.journal.mark_not_sent,
                    (cl_ord_id, f"revalidate raised {type(exc).__name__}: {exc}"),
                    {"gate_wait": waited, "detail": {"revalidate": "error"}},
                )
                self.stats["withdrawn"] += 1
                raise
            if not ok:
                reason = f"withdrawn: revalidate declined the order after {waited:.3f}s at the gate"
                yield _Journal(
                    self.journal.mark_not_sent,
                    (cl_ord_id, reason),
                    {"gate_wait": waited, "detail": {"revalidate": False}},
                )
                self.stats["withdrawn"] += 1
                raise OrderWithdrawnError(
                    f"order {cl_ord_id} not sent: {reason}", cl_ord_id=cl_ord_id, waited=waited, request=pending
                )
            log.info("order %s still wanted after %.3fs at the gate (revalidated)", cl_ord_id, waited)
            # admitted again below: at once if the gate is still open (then sent); else wait and re-ask

    def _acknowledge(
        self,
        cl_ord_id: str,
        found: Found,
        attempt: int,
        response: Any,
        gate_wait: float | None,
        deadline: str | None,
    ) -> Flow:
        entry: JournalEntry = yield _Journal(
            self.journal.mark_acknowledged,
            (cl_ord_id, found.order_id),
            {
                "exchange_state": found.exchange_state,
                "filled_qty": found.filled,
                "gate_wait": gate_wait,
                "detail": {"attempt": attempt, "recovered": found.recovered},
            },
        )
        self.stats["acknowledged"] += 1
        if found.recovered:
            self.stats["recovered"] += 1
        return SubmitResult(
            cl_ord_id=cl_ord_id,
            order_id=found.order_id,
            status=entry.status,
            exchange_state=entry.exchange_state,
            attempts=attempt,
            recovered=found.recovered,
            entry=entry,
            response=response,
            deadline=deadline,
        )

    def _new_id(self, cl_ord_id: str | None) -> str:
        return self.venue.validate_client_id(cl_ord_id) if cl_ord_id else self.venue.new_client_id()

    def _is_inflight(self, cl_ord_id: str) -> bool:
        with self._inflight_lock:
            return cl_ord_id in self._inflight

    def _check_reconciled(self, report: ReconcileReport) -> None:
        """Before an order: entries whose look-ups failed hold it back (nothing of it is sent)."""
        if report.lookups_failed and self.block_on_unresolved:
            ids = [e.cl_ord_id for e in report.entries if e.error == _LOOKUPS_FAILED]
            n = report.lookups_failed
            raise TradingPausedError(
                f"{n} journal entr{'y' if n == 1 else 'ies'} of this account still have an unknown outcome and "
                f"could not be looked up ({', '.join(ids[:5])}); refusing new orders until they are resolved "
                "(nothing of this order was sent)",
                unresolved=ids,
            )


class AsyncSafeOrderSubmitter(_SubmitterCore):
    """Asyncio submitter. Build with :meth:`spot_rest`, :meth:`futures_rest` or :meth:`spot_ws`; call
    :meth:`start` (reconcile a crashed run) before trading, then ``await submit(...)`` (safe to run many
    concurrently)."""

    def __init__(self, venue: Venue, journal: OrderJournal, **kwargs: Any) -> None:
        super().__init__(venue, journal, **kwargs)
        self._reconcile_lock = asyncio.Lock()

    @classmethod
    def spot_ws(cls, ws_api: Any, journal: OrderJournal, *, rest: Any, **kwargs: Any) -> AsyncSafeOrderSubmitter:
        return cls(SpotWsVenue(ws_api, rest), journal, **kwargs)

    async def _drive(self, flow: Flow) -> Any:
        outcome: tuple[bool, Any] = (True, None)
        while True:
            done, op = _step(flow, outcome)
            if done:
                return op
            try:
                outcome = (True, await self._perform(op))
            except Exception as exc:
                outcome = (False, exc)
            except BaseException:  # cancelled: unwind the flow (its finally blocks release the gate)
                flow.close()
                raise

    async def _perform(self, op: Op) -> Any:
        if isinstance(op, _Call):
            return await call_any(op.fn, **op.kwargs)
        if isinstance(op, _Journal):
            return await asyncio.to_thread(op.fn, *op.args, **op.kwargs)
        if isinstance(op, _Sleep):
            if self._sleep is not None:
                return await maybe_await(self._sleep(op.seconds))
            return await asyncio.sleep(op.seconds)
        if isinstance(op, _Admit):
            assert self.gate is not None
            return await self.gate.acquire(op.action)
        if isinstance(op, _Revalidate):
            assert self.revalidate is not None
            return bool(await maybe_await(self.revalidate(op.request)))
        async with self._reconcile_lock:
            return await self._drive(op.flow)

    async def start(self) -> ReconcileReport:
        """Measure Kraken's clock if nothing has yet, and reconcile what a crashed run left (``intent`` /
        ``sent`` / ``unknown``). Call before trading."""
        report: ReconcileReport = await self._drive(self.start_flow())
        return report

    async def reconcile(self) -> ReconcileReport:
        report: ReconcileReport = await self._drive(self.reconcile_flow())
        return report

    async def submit(
        self,
        symbol: str,
        side: str,
        order_type: str,
        quantity: Any,
        price: Any = None,
        *,
        cl_ord_id: str | None = None,
        **params: Any,
    ) -> SubmitResult:
        """Place one order safely. Extra keyword arguments go to the client as they are (``timeinforce``,
        ``oflags``, ``reduceOnly``, ...); ``deadline=`` (RFC 3339, Spot only) replaces the submitter's
        ``order_deadline`` and is never exceeded (no re-send after it). Returns the acknowledged order; raises
        the refusal, or :class:`OrderNotPlacedError` (proven not placed), :class:`~krakenkit.OrderOutcomeUnknownError`
        (with ``cl_ord_id``), :class:`~krakenkit.TradingPausedError`."""
        result: SubmitResult = await self._drive(
            self.place_flow(symbol, side, order_type, quantity, price, cl_ord_id, params)
        )
        return result


class SafeOrderSubmitter(_SubmitterCore):
    """Blocking submitter (``SpotClient`` / ``DerivativesClient``); same flows as the async one.
    Thread-safe: several threads may submit at once."""

    def __init__(self, venue: Venue, journal: OrderJournal, **kwargs: Any) -> None:
        hook = kwargs.get("revalidate")
        if hook is not None and (inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(type(hook).__call__)):
            raise TypeError(
                "SafeOrderSubmitter needs a plain (blocking) revalidate function; use "
                "AsyncSafeOrderSubmitter for a coroutine"
            )
        super().__init__(venue, journal, **kwargs)
        self._reconcile_lock = threading.Lock()

    def _drive(self, flow: Flow) -> Any:
        outcome: tuple[bool, Any] = (True, None)
        while True:
            done, op = _step(flow, outcome)
            if done:
                return op
            try:
                outcome = (True, self._perform(op))
            except Exception as exc:
                outcome = (False, exc)
            except BaseException:  # KeyboardInterrupt & co: unwind the flow (releases the gate)
                flow.close()
                raise

    def _perform(self, op: Op) -> Any:
        if isinstance(op, _Call):
            return call_sync(op.fn, **op.kwargs)
        if isinstance(op, _Journal):
            return op.fn(*op.args, **op.kwargs)
        if isinstance(op, _Sleep):
            return (self._sleep or time.sleep)(op.seconds)
        if isinstance(op, _Admit):
            assert self.gate is not None
            return self.gate.acquire_sync(op.action)
        if isinstance(op, _Revalidate):
            assert self.revalidate is not None
            return bool(call_sync(self.revalidate, op.request))
        with self._reconcile_lock:
            return self._drive(op.flow)

    def start(self) -> ReconcileReport:
        """See :meth:`AsyncSafeOrderSubmitter.start`."""
        report: ReconcileReport = self._drive(self.start_flow())
        return report

    def reconcile(self) -> ReconcileReport:
        report: ReconcileReport = self._drive(self.reconcile_flow())
        return report

    def submit(
        self,
        symbol: str,
        side: str,
        order_type: str,
        quantity: Any,
        price: Any = None,
        *,
        cl_ord_id: str | None = None,
        **params: Any,
    ) -> SubmitResult:
        """See :meth:`AsyncSafeOrderSubmitter.submit`."""
        result: SubmitResult = self._drive(
            self.place_flow(symbol, side, order_type, quantity, price, cl_ord_id, params)
        )
        return result
