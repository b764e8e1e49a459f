"""Typed results of the Derivatives REST API.

Every result keeps Kraken's JSON in ``raw`` (numbers already exact ``Decimal`` via
:func:`krakenkit._core.jsonutil.loads`), so fields Kraken adds later are reachable and never break
parsing. Typed attributes are snake_case; money is always ``Decimal`` (Kraken sends JSON numbers,
integral ones included, e.g. ``"size": 10000``).

Order-entry results (:class:`SendOrderResult`, :class:`EditOrderResult`, :class:`CancelOrderResult`)
are only returned for a successful status; any other status raises
:func:`krakenkit._core.errors.error_from_futures_status`. :class:`BatchOrderResult` instead holds one
:class:`BatchInstructionResult` per instruction, failed ones included (``ok`` / ``error``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, ClassVar, Final, Self, TypeVar

from .._core.decimals import to_decimal_or_none
from .._core.errors import OrderRejectedError, error_from_futures_status

__all__ = [
    "BATCH_SUCCESS",
    "CANCEL_ALL_SUCCESS",
    "CANCEL_SUCCESS",
    "EDIT_SUCCESS",
    "SEND_SUCCESS",
    "AccountsResult",
    "BatchInstructionResult",
    "BatchOrderResult",
    "CancelAllOrdersResult",
    "CancelOrderResult",
    "DeadManSwitchResult",
    "DerivList",
    "DerivResult",
    "EditOrderResult",
    "Fill",
    "FundingRate",
    "Instrument",
    "InstrumentStatus",
    "OpenOrder",
    "OpenPosition",
    "OrderBook",
    "OrderStatusDetail",
    "OrderStatusResult",
    "PublicTrade",
    "SendOrderResult",
    "Ticker",
]

#: ``sendStatus.status`` values meaning the order was accepted (an immediately executed order
#: reports ``placed``; ``partiallyFilled`` / ``filled`` are accepted as well).
SEND_SUCCESS: Final = frozenset({"placed", "partiallyFilled", "filled"})
#: ``editStatus.status`` meaning the edit was applied.
EDIT_SUCCESS: Final = frozenset({"edited"})
#: ``cancelStatus.status`` of ``cancelorder`` meaning the order was cancelled.
CANCEL_SUCCESS: Final = frozenset({"cancelled"})
#: ``cancelStatus.status`` of ``cancelallorders``: nothing to cancel is not a failure.
CANCEL_ALL_SUCCESS: Final = frozenset({"cancelled", "noOrdersToCancel"})
#: ``batchStatus[].status`` meaning that instruction succeeded.
BATCH_SUCCESS: Final = frozenset({"placed", "edited", "cancelled", "partiallyFilled", "filled"})


def _d(data: Mapping[str, Any], key: str) -> Decimal | None:
    return to_decimal_or_none(data.get(key))


def _s(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _b(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return value if isinstance(value, bool) else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) else None


def _text(data: Mapping[str, Any], key: str) -> str:
    return str(data.get(key, ""))


# Field annotation -> reader. A record's field ``mark_price`` reads JSON key ``markPrice`` unless the
# record names another key in ``_keys``; ``raw`` is the whole JSON object.
_READERS: Final[Mapping[str, Any]] = {
    "Decimal | None": _d,
    "str | None": _s,
    "bool | None": _b,
    "str": _text,
    "int | None": _int,
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class _Record:
    """Mixin of the flat records: ``from_json`` reads every field by its annotation (see ``_READERS``)."""

    __slots__ = ()
    _keys: ClassVar[Mapping[str, str]] = {}
    _plans: ClassVar[dict[type, list[tuple[str, Any, str]]]] = {}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Self:
        plan = _Record._plans.get(cls)
        if plan is None:
            plan = [
                (f.name, _READERS[str(f.type)], cls._keys.get(f.name) or _camel(f.name))
                for f in fields(cls)  # type: ignore[arg-type]
                if f.name != "raw"
            ]
            _Record._plans[cls] = plan
        factory: Any = cls
        record: Self = factory(raw=d, **{name: read(d, key) for name, read, key in plan})
        return record


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class DerivResult:
    """A Derivatives response: ``raw`` is the whole JSON document; ``result["key"]`` reads it."""

    raw: Any

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default) if isinstance(self.raw, Mapping) else default

    @property
    def server_time(self) -> str | None:
        return _s(self.raw, "serverTime") if isinstance(self.raw, Mapping) else None


_T = TypeVar("_T")


class DerivList(list[_T]):
    """A list of typed items (tickers, fills, open orders, ...) that keeps the whole JSON response in
    ``raw`` (e.g. ``raw["serverTime"]``, fields Kraken adds next to the list)."""

    raw: Mapping[str, Any]

    def __init__(self, items: Iterable[_T] = (), raw: Mapping[str, Any] | None = None) -> None:
        super().__init__(items)
        self.raw = raw if raw is not None else {}

    @property
    def server_time(self) -> str | None:
        return _s(self.raw, "serverTime")


# --- market data ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticker(_Record):
    symbol: str
    pair: str | None
    tag: str | None
    mark_price: Decimal | None
    index_price: Decimal | None
    bid: Decimal | None
    bid_size: Decimal | None
    ask: Decimal | None
    ask_size: Decimal | None
    last: Decimal | None
    last_size: Decimal | None
    last_time: str | None
    vol24h: Decimal | None
    volume_quote: Decimal | None
    open_interest: Decimal | None
    open24h: Decimal | None
    funding_rate: Decimal | None
    funding_rate_prediction: Decimal | None
    change24h: Decimal | None
    suspended: bool | None
    post_only: bool | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Instrument(_Record):
    symbol: str
    type: str | None
    pair: str | None
    base: str | None
    quote: str | None
    underlying: str | None
    tick_size: Decimal | None
    contract_size: Decimal | None
    contract_value_trade_precision: Decimal | None
    max_position_size: Decimal | None
    tradeable: bool | None
    post_only: bool | None
    opening_date: str | None
    last_trading_time: str | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class InstrumentStatus(_Record):
    tradeable: str
    experiencing_dislocation: bool | None
    price_dislocation_direction: str | None
    experiencing_extreme_volatility: bool | None
    extreme_volatility_initial_margin_multiplier: Decimal | None
    raw: Mapping[str, Any] = field(repr=False)


def _levels(value: Any) -> list[tuple[Decimal, Decimal]]:
    out: list[tuple[Decimal, Decimal]] = []
    for level in _list(value):
        if isinstance(level, Sequence) and len(level) >= 2:
            price, qty = to_decimal_or_none(level[0]), to_decimal_or_none(level[1])
            if price is not None and qty is not None:
                out.append((price, qty))
    return out


@dataclass(frozen=True, slots=True)
class OrderBook:
    """``bids`` best (highest) first, ``asks`` best (lowest) first; each level ``(price, size)``."""

    symbol: str
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    server_time: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, symbol: str, d: Mapping[str, Any]) -> OrderBook:
        book = _dict(d.get("orderBook"))
        bids = sorted(_levels(book.get("bids")), key=lambda lv: lv[0], reverse=True)
        asks = sorted(_levels(book.get("asks")), key=lambda lv: lv[0])
        return cls(symbol=symbol, bids=bids, asks=asks, server_time=_s(d, "serverTime"), raw=d)


@dataclass(frozen=True, slots=True)
class PublicTrade(_Record):
    _keys: ClassVar[Mapping[str, str]] = {"trade_id": "trade_id"}

    time: str | None
    trade_id: int | None
    price: Decimal | None
    size: Decimal | None
    side: str | None
    type: str | None
    uid: str | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class FundingRate(_Record):
    timestamp: str | None
    funding_rate: Decimal | None
    relative_funding_rate: Decimal | None
    raw: Mapping[str, Any] = field(repr=False)


# --- account ---------------------------------------------------------------------------------------


def _decimals_deep(value: Any) -> Any:
    """Numbers (ints included) as Decimal, recursively; other values unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, Mapping):
        return {k: _decimals_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals_deep(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AccountsResult:
    """``accounts`` by name (``cash``, ``flex``, ``fi_xbtusd`` ...), every number a Decimal.

    ``flex`` is the multi-collateral wallet; ``cash`` the holding wallet (``balances`` by currency).
    """

    accounts: dict[str, dict[str, Any]]
    server_time: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AccountsResult:
        accounts = {str(k): _decimals_deep(v) for k, v in _dict(d.get("accounts")).items()}
        return cls(accounts=accounts, server_time=_s(d, "serverTime"), raw=d)

    @property
    def flex(self) -> dict[str, Any]:
        return self.accounts.get("flex", {})

    @property
    def cash_balances(self) -> dict[str, Decimal]:
        return dict(self.accounts.get("cash", {}).get("balances", {}))

    def available_margin(self) -> Decimal | None:
        """The flex wallet's ``availableMargin``."""
        return to_decimal_or_none(self.flex.get("availableMargin"))


@dataclass(frozen=True, slots=True)
class OpenPosition(_Record):
    symbol: str
    side: str | None
    size: Decimal | None
    price: Decimal | None
    fill_time: str | None
    unrealized_funding: Decimal | None
    pnl_currency: str | None
    max_fixed_leverage: Decimal | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class OpenOrder(_Record):
    _keys: ClassVar[Mapping[str, str]] = {"order_id": "order_id"}

    order_id: str
    cli_ord_id: str | None
    symbol: str
    side: str | None
    order_type: str | None
    status: str | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    filled_size: Decimal | None
    unfilled_size: Decimal | None
    reduce_only: bool | None
    trigger_signal: str | None
    received_time: str | None
    last_update_time: str | None
    raw: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Fill(_Record):
    _keys: ClassVar[Mapping[str, str]] = {"fill_id": "fill_id", "order_id": "order_id"}

    fill_id: str
    order_id: str | None
    cli_ord_id: str | None
    symbol: str
    side: str | None
    size: Decimal | None
    price: Decimal | None
    fill_time: str | None
    fill_type: str | None
    raw: Mapping[str, Any] = field(repr=False)


# --- order entry -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendOrderResult:
    """A placed order. ``recovered`` is True when the send's outcome was unknown (timeout, 5xx) and
    the order was found afterwards by its ``cliOrdId``; then ``status`` comes from that lookup."""

    status: str
    order_id: str | None
    cli_ord_id: str | None
    received_time: str | None
    order_events: list[dict[str, Any]]
    recovered: bool
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_status(cls, s: Mapping[str, Any], raw: Mapping[str, Any], *, recovered: bool = False) -> SendOrderResult:
        return cls(
            status=str(s.get("status", "")),
            order_id=_s(s, "order_id"),
            cli_ord_id=_s(s, "cliOrdId"),
            received_time=_s(s, "receivedTime"),
            order_events=[_dict(e) for e in _list(s.get("orderEvents"))],
            recovered=recovered,
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class EditOrderResult:
    status: str
    order_id: str | None
    cli_ord_id: str | None
    received_time: str | None
    order_events: list[dict[str, Any]]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_status(cls, s: Mapping[str, Any], raw: Mapping[str, Any]) -> EditOrderResult:
        return cls(
            status=str(s.get("status", "")),
            order_id=_s(s, "orderId") or _s(s, "order_id"),
            cli_ord_id=_s(s, "cliOrdId"),
            received_time=_s(s, "receivedTime"),
            order_events=[_dict(e) for e in _list(s.get("orderEvents"))],
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class CancelOrderResult:
    status: str
    order_id: str | None
    cli_ord_id: str | None
    received_time: str | None
    order_events: list[dict[str, Any]]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_status(cls, s: Mapping[str, Any], raw: Mapping[str, Any]) -> CancelOrderResult:
        return cls(
            status=str(s.get("status", "")),
            order_id=_s(s, "order_id"),
            cli_ord_id=_s(s, "cliOrdId"),
            received_time=_s(s, "receivedTime"),
            order_events=[_dict(e) for e in _list(s.get("orderEvents"))],
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class CancelAllOrdersResult:
    status: str
    cancel_only: str | None
    cancelled_order_ids: list[str]
    received_time: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_status(cls, s: Mapping[str, Any], raw: Mapping[str, Any]) -> CancelAllOrdersResult:
        ids = [str(e.get("order_id")) for e in _list(s.get("cancelledOrders")) if isinstance(e, Mapping)]
        return cls(
            status=str(s.get("status", "")),
            cancel_only=_s(s, "cancelOnly"),
            cancelled_order_ids=ids,
            received_time=_s(s, "receivedTime"),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class DeadManSwitchResult:
    """``trigger_time`` is ``"0"`` when the switch was turned off (timeout 0)."""

    current_time: str | None
    trigger_time: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DeadManSwitchResult:
        st = _dict(d.get("status"))
        return cls(current_time=_s(st, "currentTime"), trigger_time=_s(st, "triggerTime"), raw=d)

    @property
    def active(self) -> bool:
        return self.trigger_time not in (None, "", "0")


@dataclass(frozen=True, slots=True)
class BatchInstructionResult:
    """One instruction's own outcome. ``ok`` False means Kraken refused this instruction;
    ``error`` then holds the exception it maps to (not raised)."""

    status: str
    ok: bool
    order_id: str | None
    cli_ord_id: str | None
    order_tag: str | None
    date_time_received: str | None
    order_events: list[dict[str, Any]]
    error: OrderRejectedError | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, endpoint: str | None = None) -> BatchInstructionResult:
        status = str(d.get("status", ""))
        ok = status in BATCH_SUCCESS
        return cls(
            status=status,
            ok=ok,
            order_id=_s(d, "order_id"),
            cli_ord_id=_s(d, "cliOrdId"),
            order_tag=_s(d, "order_tag"),
            date_time_received=_s(d, "dateTimeReceived"),
            order_events=[_dict(e) for e in _list(d.get("orderEvents"))],
            error=None if ok else error_from_futures_status(status, kind="batchStatus", endpoint=endpoint, payload=d),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class BatchOrderResult(Sequence[BatchInstructionResult]):
    """A list of :class:`BatchInstructionResult` (Kraken's order, which may differ from the
    request's; match by ``order_tag`` / ``cli_ord_id`` / ``order_id``)."""

    results: list[BatchInstructionResult]
    server_time: str | None
    raw: Mapping[str, Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: Any) -> Any:
        return self.results[index]

    def __iter__(self) -> Iterator[BatchInstructionResult]:
        return iter(self.results)

    @property
    def failed(self) -> list[BatchInstructionResult]:
        return [r for r in self.results if not r.ok]

    @property
    def all_ok(self) -> bool:
        return all(r.ok for r in self.results)

    def by_tag(self, order_tag: str) -> BatchInstructionResult | None:
        return next((r for r in self.results if r.order_tag == order_tag), None)


@dataclass(frozen=True, slots=True)
class OrderStatusDetail:
    """One entry of ``orders/status``: ``status`` is ``ENTERED_BOOK``, ``FULLY_EXECUTED``,
    ``REJECTED``, ``CANCELLED``, ``TRIGGER_PLACED`` or ``TRIGGER_ACTIVATION_FAILURE``."""

    status: str
    order_id: str | None
    cli_ord_id: str | None
    symbol: str | None
    side: str | None
    order_type: str | None
    quantity: Decimal | None
    filled: Decimal | None
    limit_price: Decimal | None
    reduce_only: bool | None
    update_reason: str | None
    error: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> OrderStatusDetail:
        order = _dict(d.get("order"))
        return cls(
            status=str(d.get("status", "")),
            order_id=_s(order, "orderId"),
            cli_ord_id=_s(order, "cliOrdId"),
            symbol=_s(order, "symbol"),
            side=_s(order, "side"),
            order_type=_s(order, "type"),
            quantity=_d(order, "quantity"),
            filled=_d(order, "filled"),
            limit_price=_d(order, "limitPrice"),
            reduce_only=_b(order, "reduceOnly"),
            update_reason=_s(d, "updateReason"),
            error=_s(d, "error"),
            raw=d,
        )

    @property
    def live(self) -> bool:
        """The order exists at Kraken (resting, triggered-waiting, or executed)."""
        return self.status in ("ENTERED_BOOK", "FULLY_EXECUTED", "TRIGGER_PLACED")


@dataclass(frozen=True, slots=True)
class OrderStatusResult:
    orders: list[OrderStatusDetail]
    server_time: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> OrderStatusResult:
        orders = [OrderStatusDetail.from_json(o) for o in _list(d.get("orders")) if isinstance(o, Mapping)]
        return cls(orders=orders, server_time=_s(d, "serverTime"), raw=d)

    def by_cli_ord_id(self, cli_ord_id: str) -> OrderStatusDetail | None:
        return next((o for o in self.orders if o.cli_ord_id == cli_ord_id), None)
