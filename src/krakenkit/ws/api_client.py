"""``WebsocketAPIClient``: Spot trading over WebSocket v2 (``add_order``, ``amend_order``, ...).

::

    async with WebsocketAPIClient(api_key, api_secret) as api:
        cl = api.generate_new_order_id()
        res = await api.submit_spot_order(order_type="limit", side="buy", symbol="BTC/USD",
                                          order_qty="0.01", limit_price=Decimal("25000"), cl_ord_id=cl)
        res.order_id

Every request gets its own ``req_id``; replies are matched to their caller, so many requests may
be in flight on the one connection. Outcomes:

* reply with ``success: true`` -> a typed result (``AddOrderResult`` ...; ``raw`` keeps the JSON);
* ``success: false`` -> the mapped :class:`~krakenkit.KrakenAPIError`
  (:func:`~krakenkit._core.errors.error_from_spot`), e.g. ``InsufficientFundsError``;
* no reply within ``timeout`` (default ``request_timeout``, 10 s; the whole call, connecting included)
  -> :class:`~krakenkit.OrderOutcomeUnknownError` carrying ``cl_ord_id`` (``cl_ord_ids`` for a batch),
  ``req_id`` and the ``deadline`` sent; socket lost while waiting ->
  :class:`~krakenkit.ConnectionLostError` (an ``OrderOutcomeUnknownError`` too): look the order up by
  its client id (after its deadline has passed) before sending again; the client never re-sends;
* not connected within ``timeout`` -> :class:`~krakenkit.APIConnectionError` with
  ``retry_safe=True`` (nothing was sent).

Deadlines: ``submit_spot_order``, ``batch_submit_spot_orders`` and ``amend_spot_order`` always carry
Kraken's ``deadline`` (the engine rejects the request after it, ``EService:Deadline elapsed``):
``order_deadline`` seconds (default 10) after sending on Kraken's clock (estimated from the
``time_in``/``time_out`` of replies), or the caller's ``deadline=`` (RFC 3339 text or an aware
``datetime``; refused with ``ValidationError`` unless 2 to 60 s ahead). So a request that reaches
Kraken late cannot place an order after the deadline.

Every call is checked by the shared validation layer (:func:`krakenkit._core.validation.validate`, the
``spot_ws.*`` schemas: the same verdicts as the REST clients and the CLI) before anything happens: no
connection, no token, no rate-limit booking, no pending request. Bad input raises
:class:`~krakenkit.ValidationError` naming the field and the fix: unknown names ("did you mean
post_only?"), Kraken's exact enum spellings, per-order-type required and forbidden fields, symbol and
id patterns, batch sizes. Money parameters (``order_qty``, ``limit_price``, ``trigger_price``,
``display_qty``, ``cash_order_qty``, ``triggers.price`` ...) take ``Decimal``, ``str`` or ``int``
(floats are refused: pass ``'0.3'`` or ``Decimal('0.3')``) and go on the wire as JSON numbers written
from the exact ``Decimal``. ``extra_params`` may add fields krakenkit does not know, never override a
checked one (nor ``token``, ``req_id``, ``method``).

Rate limiting is on by default: every trading request is first booked on the Spot trading counter
of its pair (:class:`~krakenkit._core.ratelimit.SpotRateLimiter`: add +1, amend/edit/cancel by order
age, batch add +n/2; intermediate tier) and waits (``asyncio.sleep``) until it fits. The limiter is
the process-wide one of the API key (:func:`~krakenkit._core.ratelimit.shared_spot_rate_limiter`),
shared with the REST clients of that key, since Kraken counts REST, WS and FIX on one counter. It
learns order ages from replies and from the ``executions`` channel of the underlying
:class:`~krakenkit.ws.WebsocketClient` (and Kraken's own counter with ``ratecounter: true``), and
assumes the pair's counter full after ``EOrder:Rate limit exceeded``. ``rate_limiter=NoRateLimit()``
switches it off; ``spot_rate_limiter("pro")`` (or ``mode="raise"``: refuse with ``RateLimitError``
and ``retry_after`` instead of waiting) chooses another model. The wait is not part of ``timeout``.

Connection defaults (those of :class:`~krakenkit.ws.WebsocketClient`): ``staleness_timeout`` 10 s
(nothing received for that long -> reconnect), app ping when idle for ``ping_interval`` 3 s,
reconnect at once (within 50 ms) after a drop and then capped jittered exponential backoff
(0.25 s doubling to 30 s, never giving up), at most 150 connects per 600 s. A private connection
is always read: replies are never held up by an unread stream (see :class:`WebsocketClient`).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar, cast

from krakenkit._core.deadline import check_deadline_seconds
from krakenkit._core.decimals import to_decimal
from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.errors import ValidationError
from krakenkit._core.ids import generate_spot_order_id
from krakenkit._core.ratelimit import RateLimiter
from krakenkit._core.secrets import Secret
from krakenkit._core.validation import Schema, schema_for
from krakenkit._core.validation import validate as validate_params

from ._wire import hide_credential
from .client import DeadlineSpec, WebsocketClient, _check_timeout, _rate_limited

__all__ = [
    "AddOrderResult",
    "AmendOrderResult",
    "BatchAddResult",
    "BatchCancelResult",
    "CancelAllAfterResult",
    "CancelAllResult",
    "CancelOrderResult",
    "EditOrderResult",
    "WebsocketAPIClient",
]

_MONEY = frozenset({"order_qty", "limit_price", "trigger_price", "display_qty", "cash_order_qty", "price"})
_SIGNED_MONEY = frozenset({"price"})  # triggers.price may be a negative offset


def _money(params: dict[str, Any], path: str = "") -> dict[str, Any]:
    """Money values of ``params`` as exact ``Decimal`` (the trading methods now take their wire form from the
    shared validation layer; kept for low-level callers)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if v is None:
            continue
        name = f"{path}{k}"
        if isinstance(v, Mapping):
            out[k] = _money(dict(v), f"{name}.")
        elif k in _MONEY:
            offset = k == "limit_price" and params.get("limit_price_type") in ("pct", "quote")
            out[k] = to_decimal(v, name, allow_negative=k in _SIGNED_MONEY or offset)
        else:
            out[k] = v
    return out


@dataclass(frozen=True, slots=True)
class _Base:
    raw: dict[str, Any] = field(repr=False)

    @property
    def warnings(self) -> list[str]:
        w = self.raw.get("warnings")
        result = self.raw.get("result")
        if not w and isinstance(result, dict):
            w = result.get("warnings")
        return [str(x) for x in w] if isinstance(w, list) else []

    @property
    def time_in(self) -> str | None:
        v = self.raw.get("time_in")
        return v if isinstance(v, str) else None

    @property
    def time_out(self) -> str | None:
        v = self.raw.get("time_out")
        return v if isinstance(v, str) else None


def _res(reply: Mapping[str, Any]) -> dict[str, Any]:
    r = reply.get("result")
    return r if isinstance(r, dict) else {}


@dataclass(frozen=True, slots=True)
class AddOrderResult(_Base):
    order_id: str = ""
    cl_ord_id: str | None = None
    order_userref: int | None = None

    @classmethod
    def from_reply(cls, reply: dict[str, Any], result: Mapping[str, Any] | None = None) -> AddOrderResult:
        r = _res(reply) if result is None else result
        return cls(reply, str(r.get("order_id", "")), r.get("cl_ord_id"), r.get("order_userref"))


@dataclass(frozen=True, slots=True)
class AmendOrderResult(_Base):
    amend_id: str = ""
    order_id: str | None = None
    cl_ord_id: str | None = None


@dataclass(frozen=True, slots=True)
class EditOrderResult(_Base):
    order_id: str = ""
    original_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrderResult(_Base):
    order_id: str | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None


@dataclass(frozen=True, slots=True)
class CancelAllResult(_Base):
    count: int = 0


@dataclass(frozen=True, slots=True)
class CancelAllAfterResult(_Base):
    current_time: str = ""
    trigger_time: str = ""


@dataclass(frozen=True, slots=True)
class BatchAddResult(_Base):
    orders: tuple[AddOrderResult, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchCancelResult(_Base):
    count: int = 0


#: Names krakenkit sets on every request itself.
_RESERVED = {
    "token": "token is set by krakenkit for every request: it adds the WebSocket token itself (a fresh one per "
    "connection)",
    "req_id": "req_id is set by krakenkit for every request: each gets its own req_id",
    "method": "method is set by krakenkit for every request: the method is the one of the call",
}


def _refuse_unknown(
    operation: str, given: Mapping[str, Any], keywords: Iterable[str] = (), path: str = "", schema: Schema | None = None
) -> None:
    """Refuse every name of ``given`` that is not a documented WS v2 field of ``operation`` (the shared
    validation schema, nested objects and batch orders included) nor one of the method's own ``keywords``,
    naming the nearest valid one ("did you mean post_only?"). Before anything is sent, so nothing is pending."""
    schema = schema or schema_for(operation)
    names = [*schema.names, *keywords]
    for key, value in given.items():
        if key not in names:
            where = f"{path}{key}"
            why = _RESERVED.get(key) or _nearest(key, names, schema.hints.get(key))
            raise ValidationError(
                f"{schema.title}: unknown parameter {where!r} (not a WebSocket v2 {schema.title} field); {why}",
                field=where,
                endpoint=schema.endpoint,
            )
        try:
            f = schema.get_field(key)
        except KeyError:
            continue  # one of the method's own keywords
        if f.schema is not None and f.kind == "object" and isinstance(value, Mapping):
            _refuse_unknown(operation, value, (), f"{path}{key}.", f.schema)
        elif f.schema is not None and f.kind == "objects" and isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    _refuse_unknown(operation, item, (), f"{path}{key}[{i}].", f.schema)


def _nearest(key: str, names: list[str], hint: str | None) -> str:
    """What to say about an unknown ``key``: the nearest valid name (difflib), Kraken's own name for it."""
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    parts = [f"did you mean {close[0]}?"] if close else []
    if hint:
        parts.append(hint)
    return "; ".join(parts) or "known: " + ", ".join(sorted(names))


_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])


def _keywords_only(fn: _F) -> _F:
    """Trading methods take keyword arguments only: positional ones are a ValidationError (not Python's bare
    TypeError), raised before anything exists that could send."""

    @functools.wraps(fn)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise ValidationError(
                f"{fn.__name__}() takes keyword arguments only (got {len(args)} positional): name each field, "
                "e.g. symbol='BTC/USD'",
                field=None,
                endpoint=fn.__name__,
            )
        return await fn(self, **kwargs)

    return cast(_F, wrapper)


class WebsocketAPIClient:
    """Spot trading over the private WebSocket (``spotPrivateV2`` by default).

    Pass ``api_key``/``api_secret`` (and any :class:`WebsocketClient` option such as
    ``environment=``), or an existing ``ws_client=`` to share its private connection.

    ``rate_limiter``: ``None`` (default) uses the client's limiter, which is the process-wide Spot
    limiter of the API key (shared with REST); ``NoRateLimit()`` switches limiting off; any
    :class:`~krakenkit._core.ratelimit.RateLimiter` replaces it (passed on to the
    :class:`WebsocketClient` this client creates, so its ``executions`` feed reaches it too).

    ``order_deadline``: seconds after sending (Kraken's clock) for the ``deadline`` of orders and amends;
    ``None`` (default) takes the client's (``WebsocketClient(order_deadline=...)``, default 10).
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        ws_client: WebsocketClient | None = None,
        ws_key: str = WS_KEY_MAP.spotPrivateV2,
        request_timeout: float = 10.0,
        rate_limiter: RateLimiter | None = None,
        order_deadline: float | None = None,
        **ws_options: Any,
    ) -> None:
        # First: from here on no frame holds a plain credential (see WebsocketClient).
        api_key, api_secret = hide_credential(api_key), hide_credential(api_secret)
        for name in ("futures_api_key", "futures_api_secret"):
            if name in ws_options:
                ws_options[name] = hide_credential(ws_options[name])
        if ws_key not in (WS_KEY_MAP.spotPrivateV2, WS_KEY_MAP.spotBetaPrivateV2):
            raise ValidationError("trading over WebSocket uses spotPrivateV2 or spotBetaPrivateV2", field="ws_key")
        self._own = ws_client is None
        if ws_client is None and order_deadline is not None:
            ws_options["order_deadline"] = order_deadline
        self.ws = ws_client or WebsocketClient(
            api_key, api_secret, request_timeout=request_timeout, rate_limiter=rate_limiter, **ws_options
        )
        self.ws_key = ws_key
        self.ws._refuse_live_spot(ws_key)  # testnet=True: there is no Spot test environment
        self.request_timeout = request_timeout
        self.order_deadline = (
            self.ws.order_deadline
            if order_deadline is None
            else check_deadline_seconds(order_deadline, "order_deadline")
        )
        self.rate_limiter: RateLimiter = rate_limiter if rate_limiter is not None else self.ws.rate_limiter

    async def __aenter__(self) -> WebsocketAPIClient:
        await self.ws.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own:
            await self.ws.close()

    def on(self, name: str, handler: Any = None) -> Any:
        """Events of the underlying client (``reconnecting``, ``exception`` ...)."""
        return self.ws.on(name, handler) if handler is not None else self.ws.on(name)

    async def connect(self, timeout: float | None = None) -> None:
        await self.ws.connect(self.ws_key, timeout)

    @staticmethod
    def generate_new_order_id() -> str:
        """A fresh random ``cl_ord_id`` (UUID) Kraken accepts."""
        return generate_spot_order_id()

    def _checked(
        self,
        operation: str,
        params: Mapping[str, Any],
        extra_params: Mapping[str, Any] | None,
        timeout: float | None,
    ) -> dict[str, Any]:
        """The wire params of ``operation`` (the shared validation layer, ``ws`` form: amounts as exact
        ``Decimal``), and the call's ``timeout`` checked: all before any connection, token, rate-limit
        booking or waiter exists. A caller's ``deadline`` is checked here for its form only; the client
        writes the one it sends (:meth:`_deadline`, 2 to 60 s ahead on Kraken's clock)."""
        if timeout is not None:
            _check_timeout(timeout, "timeout")
        wire = validate_params(operation, params, extra_params=extra_params)
        wire.pop("deadline", None)
        return wire

    async def _call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        timeout: float | None,
        expected: int = 1,
        cl_ord_id: str | None = None,
        deadline: DeadlineSpec | None = None,
    ) -> list[dict[str, Any]]:
        def send() -> Awaitable[list[dict[str, Any]]]:
            # booked here, on this client's limiter: the unbooked path of WebsocketClient.request
            return self.ws._request_unbooked(
                self.ws_key,
                method,
                params,
                timeout=self.request_timeout if timeout is None else timeout,
                expected_replies=expected,
                cl_ord_id=cl_ord_id,
                deadline=deadline,
            )

        return await _rate_limited(self.rate_limiter, method, params, send)

    def _deadline(self, caller: Any) -> DeadlineSpec:
        """The caller's ``deadline`` (checked now, before anything is sent) or this client's default."""
        return self.order_deadline if caller is None else self.ws._caller_deadline(caller)

    # orders ---------------------------------------------------------------------------------------
    @_keywords_only
    async def submit_spot_order(
        self,
        *,
        order_type: str | None = None,
        side: str | None = None,
        symbol: str | None = None,
        order_qty: Decimal | str | int | None = None,
        limit_price: Decimal | str | int | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        deadline: Any = None,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AddOrderResult:
        """``add_order``. ``order_type``, ``side`` and ``symbol`` are required (a missing one is a
        ``ValidationError``), with ``order_qty`` or ``cash_order_qty``. Further parameters as in Kraken's docs
        (``time_in_force``, ``post_only``, ``reduce_only``, ``triggers``, ``conditional``, ``stp_type``,
        ``validate`` ...). ``deadline``: RFC 3339 text or an aware ``datetime`` 2 to 60 s ahead (default:
        ``order_deadline`` after sending). Everything is checked first (see the module docstring): a name that
        is not an ``add_order`` field is refused ("did you mean post_only?"), nothing sent."""
        _refuse_unknown("spot_ws.add_order", params, ("timeout", "extra_params"))
        given: dict[str, Any] = {
            "order_type": order_type,
            "side": side,
            "symbol": symbol,
            "order_qty": order_qty,
            "limit_price": limit_price,
            "cl_ord_id": cl_ord_id,
            "order_userref": order_userref,
            "deadline": deadline,
            **params,
        }
        wire = self._checked("spot_ws.add_order", given, extra_params, timeout)
        spec = self._deadline(deadline)
        replies = await self._call("add_order", wire, timeout=timeout, cl_ord_id=wire.get("cl_ord_id"), deadline=spec)
        return AddOrderResult.from_reply(replies[0])

    @_keywords_only
    async def amend_spot_order(
        self,
        *,
        order_id: str | None = None,
        cl_ord_id: str | None = None,
        order_qty: Decimal | str | int | None = None,
        limit_price: Decimal | str | int | None = None,
        trigger_price: Decimal | str | int | None = None,
        deadline: Any = None,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AmendOrderResult:
        """``amend_order`` (in place, keeps queue priority where Kraken allows): exactly one of ``order_id`` and
        ``cl_ord_id``, at least one change; ``deadline`` as for :meth:`submit_spot_order`. Checked as there."""
        _refuse_unknown("spot_ws.amend_order", params, ("timeout", "extra_params"))
        given: dict[str, Any] = {
            "order_id": order_id,
            "cl_ord_id": cl_ord_id,
            "order_qty": order_qty,
            "limit_price": limit_price,
            "trigger_price": trigger_price,
            "deadline": deadline,
            **params,
        }
        wire = self._checked("spot_ws.amend_order", given, extra_params, timeout)
        spec = self._deadline(deadline)
        cl = wire.get("cl_ord_id")
        replies = await self._call("amend_order", wire, timeout=timeout, cl_ord_id=cl, deadline=spec)
        r = _res(replies[0])
        return AmendOrderResult(
            replies[0], str(r.get("amend_id", "")), r.get("order_id", wire.get("order_id")), r.get("cl_ord_id", cl)
        )

    @_keywords_only
    async def edit_spot_order(
        self,
        *,
        order_id: str | None = None,
        symbol: str | None = None,
        order_qty: Decimal | str | int | None = None,
        limit_price: Decimal | str | int | None = None,
        deadline: Any = None,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> EditOrderResult:
        """``edit_order`` (cancel + replace: a new order id, queue priority lost): ``order_id`` and ``symbol``
        required, at least one change. ``deadline`` (optional; none by default) as for
        :meth:`submit_spot_order`. Checked as there."""
        _refuse_unknown("spot_ws.edit_order", params, ("timeout", "extra_params"))
        given: dict[str, Any] = {
            "order_id": order_id,
            "symbol": symbol,
            "order_qty": order_qty,
            "limit_price": limit_price,
            "deadline": deadline,
            **params,
        }
        wire = self._checked("spot_ws.edit_order", given, extra_params, timeout)
        spec = None if deadline is None else self._deadline(deadline)
        replies = await self._call("edit_order", wire, timeout=timeout, deadline=spec)
        r = _res(replies[0])
        return EditOrderResult(replies[0], str(r.get("order_id", "")), r.get("original_order_id"))

    @_keywords_only
    async def cancel_spot_order(
        self,
        *,
        order_id: str | Sequence[str] | None = None,
        cl_ord_id: str | Sequence[str] | None = None,
        order_userref: int | Sequence[int] | None = None,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> list[CancelOrderResult]:
        """``cancel_order`` for one or more ids of exactly one kind (``order_id``, ``cl_ord_id`` or
        ``order_userref``: Kraken does not combine them); Kraken replies once per id (one result each).
        If any id fails, the mapped error is raised with ``context["replies"]`` holding the
        successful replies."""
        _refuse_unknown("spot_ws.cancel_order", unknown, ("timeout", "extra_params"))
        given = {"order_id": order_id, "cl_ord_id": cl_ord_id, "order_userref": order_userref}
        wire = self._checked("spot_ws.cancel_order", given, extra_params, timeout)
        ids = [v for k in ("order_id", "cl_ord_id", "order_userref") for v in wire.get(k) or ()]
        cls = wire.get("cl_ord_id") or []
        replies = await self._call(
            "cancel_order",
            wire,
            timeout=timeout,
            expected=len(ids),
            cl_ord_id=cls[0] if len(cls) == 1 else None,
        )
        out = []
        for rep in replies:
            r = _res(rep)
            out.append(CancelOrderResult(rep, r.get("order_id"), r.get("cl_ord_id"), r.get("order_userref")))
        return out

    @_keywords_only
    async def cancel_all_spot_orders(
        self, *, timeout: float | None = None, extra_params: Mapping[str, Any] | None = None, **unknown: Any
    ) -> CancelAllResult:
        """``cancel_all``: every open order of the account."""
        _refuse_unknown("spot_ws.cancel_all", unknown, ("timeout", "extra_params"))
        wire = self._checked("spot_ws.cancel_all", {}, extra_params, timeout)
        replies = await self._call("cancel_all", wire, timeout=timeout)
        return CancelAllResult(replies[0], int(_res(replies[0]).get("count", 0)))

    async def cancel_all_spot_orders_after(
        self,
        timeout_seconds: int | None = None,
        *,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> CancelAllAfterResult:
        """Dead man's switch: cancel everything after ``timeout_seconds`` (an int, 0 disables; < 86400; sent
        as Kraken's ``timeout``). ``timeout`` is this call's own reply timeout, as on every method."""
        _refuse_unknown("spot_ws.cancel_all_orders_after", unknown, ("timeout_seconds", "extra_params"))
        if timeout_seconds is None:
            raise ValidationError(
                "cancel_all_spot_orders_after needs timeout_seconds= (seconds until Kraken cancels every order, "
                "0 disarms, below 86400); timeout= is this call's own reply timeout",
                field="timeout_seconds",
                endpoint="cancel_all_orders_after",
            )
        wire = self._checked("spot_ws.cancel_all_orders_after", {"timeout": timeout_seconds}, extra_params, timeout)
        replies = await self._call("cancel_all_orders_after", wire, timeout=timeout)
        r = _res(replies[0])
        return CancelAllAfterResult(replies[0], str(r.get("currentTime", "")), str(r.get("triggerTime", "")))

    @_keywords_only
    async def batch_submit_spot_orders(
        self,
        *,
        symbol: str | None = None,
        orders: Sequence[Mapping[str, Any]] | None = None,
        deadline: Any = None,
        validate: bool | None = None,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> BatchAddResult:
        """``batch_add``: 2 to 15 orders (Kraken documents a minimum of 2 and a maximum of 15) on one symbol;
        ``deadline`` as for :meth:`submit_spot_order` (one for the whole batch). Every order is checked as
        :meth:`submit_spot_order` checks one (names, values, per-type fields; client ids unique in the batch)."""
        listed = list(orders) if isinstance(orders, list | tuple) else orders
        _refuse_unknown("spot_ws.batch_add", {**unknown, "orders": listed}, ("timeout", "extra_params"))
        given = {"symbol": symbol, "orders": listed, "deadline": deadline, "validate": validate, **unknown}
        wire = self._checked("spot_ws.batch_add", given, extra_params, timeout)
        replies = await self._call("batch_add", wire, timeout=timeout, deadline=self._deadline(deadline))
        rep = replies[0]
        results = rep.get("result")
        items = results if isinstance(results, list) else []
        return BatchAddResult(rep, tuple(AddOrderResult.from_reply(rep, r) for r in items if isinstance(r, dict)))

    @_keywords_only
    async def batch_cancel_spot_orders(
        self,
        *,
        orders: Sequence[str | int] | None = None,
        cl_ord_id: Sequence[str] | None = None,
        timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> BatchCancelResult:
        """``batch_cancel``: order ids / userrefs in ``orders`` and/or ``cl_ord_id`` (2 to 50 in all)."""
        _refuse_unknown("spot_ws.batch_cancel", unknown, ("timeout", "extra_params"))
        wire = self._checked("spot_ws.batch_cancel", {"orders": orders, "cl_ord_id": cl_ord_id}, extra_params, timeout)
        replies = await self._call("batch_cancel", wire, timeout=timeout)
        return BatchCancelResult(replies[0], int(_res(replies[0]).get("count", 0)))
