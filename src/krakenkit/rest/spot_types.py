"""Typed Spot REST results.

Every result has ``.raw`` (the ``result`` object exactly as decoded, numbers exact) and
``.warnings`` (Kraken's ``W...`` strings). Money is ``Decimal``. Unknown fields Kraken adds are
ignored (never an error) and stay reachable through ``.raw``. Leaf records are ``msgspec.Struct``
(fast, attribute access, ``forbid_unknown_fields=False``); results keyed by pair/txid/asset are
read-only mappings of those records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from types import GenericAlias
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

__all__ = [
    "OHLC",
    "AddOrderBatchResult",
    "AddOrderResult",
    "AmendOrderResult",
    "AssetInfo",
    "AssetPair",
    "AssetPairs",
    "Assets",
    "Balance",
    "BalanceEx",
    "BalanceExEntry",
    "BatchOrderResult",
    "BookLevel",
    "CancelAllAfterResult",
    "CancelOrderResult",
    "Candle",
    "ClosedOrders",
    "CountResult",
    "Depth",
    "EditOrderResult",
    "KrakenResult",
    "LedgerEntry",
    "Ledgers",
    "LedgersInfo",
    "OpenOrders",
    "OrderBook",
    "OrderDescription",
    "OrderDetails",
    "OrderInfo",
    "Orders",
    "PublicTrade",
    "RawResult",
    "RecentTrades",
    "ServerTime",
    "SpreadEntry",
    "Spreads",
    "SystemStatus",
    "Ticker",
    "TickerInfo",
    "TradeBalance",
    "TradeInfo",
    "TradeVolume",
    "Trades",
    "TradesHistory",
    "WebSocketsToken",
]

T = TypeVar("T")


def _convert(value: Any, typ: Any) -> Any:
    return msgspec.convert(value, typ, strict=False)


class KrakenResult:
    """Base of every result: ``raw`` and ``warnings``."""

    __slots__ = ("raw", "warnings")

    raw: Any
    warnings: list[str]

    def _repr_fields(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._repr_fields()})"


class RawResult(KrakenResult):
    """Untyped result (endpoints without a model, and ``request()``): item access into ``raw``."""

    __slots__ = ()

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.warnings = []

    def __getitem__(self, key: Any) -> Any:
        return self.raw[key]

    def get(self, key: Any, default: Any = None) -> Any:
        return self.raw.get(key, default) if isinstance(self.raw, dict) else default

    def __contains__(self, key: object) -> bool:
        return isinstance(self.raw, (dict, list)) and key in self.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawResult) and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment]

    def _repr_fields(self) -> str:
        text = repr(self.raw)
        return text if len(text) < 300 else text[:300] + "..."

    @classmethod
    def parse(cls, raw: Any) -> RawResult:
        return cls(raw)


class StructResult(KrakenResult):
    """A result whose top level is one record: fields are copied onto the result."""

    __slots__ = ()
    _struct: ClassVar[type[msgspec.Struct]]

    @classmethod
    def parse(cls, raw: Any) -> Any:
        data = _convert(raw if raw is not None else {}, cls._struct)
        obj = cls.__new__(cls)
        obj.raw = raw
        obj.warnings = []
        for name in data.__struct_fields__:
            setattr(obj, name, getattr(data, name))
        return obj

    def _repr_fields(self) -> str:
        return ", ".join(f"{n}={getattr(self, n)!r}" for n in self._struct.__struct_fields__)


class MappingResult(KrakenResult, Mapping[str, T], Generic[T]):
    """A read-only mapping of typed records keyed by pair / txid / asset / ledger id."""

    __slots__ = ("_items",)
    _item: ClassVar[Any]

    _items: dict[str, T]

    @classmethod
    def parse(cls, raw: Any) -> Any:
        return cls._from_items(raw, raw if isinstance(raw, dict) else {}, cls._item)

    @classmethod
    def _from_items(cls, raw: Any, src: Mapping[str, Any], item: Any) -> Any:
        obj = cls.__new__(cls)
        obj.raw = raw
        obj.warnings = []
        obj._items = _convert(src, GenericAlias(dict, (str, item)))
        return obj

    def __getitem__(self, key: str) -> T:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def _repr_fields(self) -> str:
        text = repr(self._items)
        return text if len(text) < 500 else text[:500] + "..."


class _Rec(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    pass


# --- market data -----------------------------------------------------------------------------


class _ServerTime(_Rec):
    unixtime: int = 0
    rfc1123: str = ""


class ServerTime(StructResult):
    """``GET /0/public/Time``."""

    __slots__ = ("rfc1123", "unixtime")
    _struct = _ServerTime
    unixtime: int
    rfc1123: str


class _SystemStatus(_Rec):
    status: str = ""
    timestamp: str = ""


class SystemStatus(StructResult):
    """``GET /0/public/SystemStatus``: ``online`` | ``maintenance`` | ``cancel_only`` | ``post_only``."""

    __slots__ = ("status", "timestamp")
    _struct = _SystemStatus
    status: str
    timestamp: str


class AssetInfo(_Rec):
    aclass: str = ""
    altname: str = ""
    decimals: int = 0
    display_decimals: int = 0
    collateral_value: Decimal | None = None
    status: str | None = None
    margin_rate: Decimal | None = None


class Assets(MappingResult[AssetInfo]):
    """``GET /0/public/Assets``: asset code -> :class:`AssetInfo`."""

    __slots__ = ()
    _item = AssetInfo


class AssetPair(_Rec):
    altname: str = ""
    wsname: str | None = None
    aclass_base: str = ""
    base: str = ""
    aclass_quote: str = ""
    quote: str = ""
    lot: str | None = None
    cost_decimals: int | None = None
    pair_decimals: int = 0
    lot_decimals: int = 0
    lot_multiplier: int = 1
    leverage_buy: list[int] = msgspec.field(default_factory=list)
    leverage_sell: list[int] = msgspec.field(default_factory=list)
    fees: list[tuple[Decimal, Decimal]] = msgspec.field(default_factory=list)
    fees_maker: list[tuple[Decimal, Decimal]] = msgspec.field(default_factory=list)
    fee_volume_currency: str | None = None
    margin_call: int | None = None
    margin_stop: int | None = None
    ordermin: Decimal | None = None
    costmin: Decimal | None = None
    tick_size: Decimal | None = None
    status: str | None = None
    long_position_limit: int | None = None
    short_position_limit: int | None = None


class AssetPairs(MappingResult[AssetPair]):
    """``GET /0/public/AssetPairs``: pair name -> :class:`AssetPair`."""

    __slots__ = ()
    _item = AssetPair


class TickerInfo(_Rec):
    """a/b: [price, whole lot volume, lot volume]; c: [price, lot volume]; v/p/l/h: [today, 24h]."""

    a: list[Decimal] = msgspec.field(default_factory=list)
    b: list[Decimal] = msgspec.field(default_factory=list)
    c: list[Decimal] = msgspec.field(default_factory=list)
    v: list[Decimal] = msgspec.field(default_factory=list)
    p: list[Decimal] = msgspec.field(default_factory=list)
    t: list[int] = msgspec.field(default_factory=list)
    l: list[Decimal] = msgspec.field(default_factory=list)  # noqa: E741
    h: list[Decimal] = msgspec.field(default_factory=list)
    o: Decimal | None = None

    @property
    def ask(self) -> Decimal | None:
        return self.a[0] if self.a else None

    @property
    def bid(self) -> Decimal | None:
        return self.b[0] if self.b else None

    @property
    def last(self) -> Decimal | None:
        return self.c[0] if self.c else None

    @property
    def volume_24h(self) -> Decimal | None:
        return self.v[1] if len(self.v) > 1 else None

    @property
    def open(self) -> Decimal | None:
        return self.o


class Ticker(MappingResult[TickerInfo]):
    """``GET /0/public/Ticker``: pair -> :class:`TickerInfo` (``t["XXBTZUSD"].ask``)."""

    __slots__ = ()
    _item = TickerInfo


class Candle(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    vwap: Decimal
    volume: Decimal
    count: int


class PublicTrade(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    price: Decimal
    volume: Decimal
    time: Decimal
    side: str  # "b" | "s"
    ordertype: str  # "m" | "l"
    misc: str = ""
    trade_id: int | None = None


class SpreadEntry(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    time: int
    bid: Decimal
    ask: Decimal


class BookLevel(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    price: Decimal
    volume: Decimal
    timestamp: Decimal


class OrderBook(_Rec):
    asks: list[BookLevel] = msgspec.field(default_factory=list)
    bids: list[BookLevel] = msgspec.field(default_factory=list)


class Depth(MappingResult[OrderBook]):
    """``GET /0/public/Depth``: pair -> :class:`OrderBook` (asks/bids of :class:`BookLevel`)."""

    __slots__ = ()
    _item = OrderBook


class _SeriesResult(MappingResult[list[T]], Generic[T]):
    """``{pair: [rows...], "last": cursor}``: mapping pair -> rows, plus ``last`` and ``rows``."""

    __slots__ = ("last",)
    _row: ClassVar[Any]
    last: Any

    @classmethod
    def parse(cls, raw: Any) -> Any:
        src = dict(raw) if isinstance(raw, dict) else {}
        last = src.pop("last", None)
        obj = cls._from_items(raw, src, GenericAlias(list, (cls._row,)))
        obj.last = last
        return obj

    @property
    def pair(self) -> str | None:
        """The pair of a single-pair answer."""
        return next(iter(self._items), None)

    @property
    def rows(self) -> list[T]:
        """The rows of the (first) pair."""
        return next(iter(self._items.values()), [])

    def _repr_fields(self) -> str:
        return f"pair={self.pair!r}, rows={len(self.rows)}, last={self.last!r}"


class OHLC(_SeriesResult[Candle]):
    """``GET /0/public/OHLC``: ``.candles`` / ``[pair]`` -> list of :class:`Candle`, ``.last``."""

    __slots__ = ()
    _row = Candle

    @property
    def candles(self) -> list[Candle]:
        return self.rows


class RecentTrades(_SeriesResult[PublicTrade]):
    """``GET /0/public/Trades``: ``.trades`` / ``[pair]`` -> list of :class:`PublicTrade`, ``.last``."""

    __slots__ = ()
    _row = PublicTrade

    @property
    def trades(self) -> list[PublicTrade]:
        return self.rows


class Spreads(_SeriesResult[SpreadEntry]):
    """``GET /0/public/Spread``: ``.spreads`` / ``[pair]`` -> list of :class:`SpreadEntry`, ``.last``."""

    __slots__ = ()
    _row = SpreadEntry

    @property
    def spreads(self) -> list[SpreadEntry]:
        return self.rows


# --- account --------------------------------------------------------------------------------------


class Balance(MappingResult[Decimal]):
    """``POST /0/private/Balance``: asset -> Decimal balance."""

    __slots__ = ()
    _item = Decimal


class BalanceExEntry(_Rec):
    balance: Decimal = Decimal(0)
    hold_trade: Decimal = Decimal(0)
    credit: Decimal | None = None
    credit_used: Decimal | None = None

    @property
    def available(self) -> Decimal:
        return self.balance + (self.credit or 0) - (self.credit_used or 0) - self.hold_trade


class BalanceEx(MappingResult[BalanceExEntry]):
    """``POST /0/private/BalanceEx``: asset -> :class:`BalanceExEntry`."""

    __slots__ = ()
    _item = BalanceExEntry


class _TradeBalance(_Rec):
    eb: Decimal | None = None
    tb: Decimal | None = None
    m: Decimal | None = None
    uv: Decimal | None = None
    n: Decimal | None = None
    c: Decimal | None = None
    v: Decimal | None = None
    e: Decimal | None = None
    mf: Decimal | None = None
    ml: Decimal | None = None


class TradeBalance(StructResult):
    """``POST /0/private/TradeBalance`` (eb equivalent balance, tb trade balance, m margin, ...)."""

    __slots__ = ("c", "e", "eb", "m", "mf", "ml", "n", "tb", "uv", "v")
    _struct = _TradeBalance
    eb: Decimal | None
    tb: Decimal | None
    m: Decimal | None
    uv: Decimal | None
    n: Decimal | None
    c: Decimal | None
    v: Decimal | None
    e: Decimal | None
    mf: Decimal | None
    ml: Decimal | None


# --- orders ----------------------------------------------------------------------------------------


class OrderDetails(_Rec):
    """``descr`` of an order as listed by OpenOrders / ClosedOrders / QueryOrders."""

    pair: str = ""
    type: str = ""
    ordertype: str = ""
    price: Decimal | None = None
    price2: Decimal | None = None
    leverage: str | None = None
    order: str = ""
    close: str | None = None


class OrderInfo(_Rec):
    """One order (OpenOrders / ClosedOrders / QueryOrders)."""

    refid: str | None = None
    userref: int | str | None = None  # Kraken's own example sends "" when unset
    cl_ord_id: str | None = None
    status: str = ""
    reason: str | None = None
    opentm: Decimal | None = None
    closetm: Decimal | None = None
    starttm: Decimal | None = None
    expiretm: Decimal | None = None
    descr: OrderDetails = msgspec.field(default_factory=OrderDetails)
    vol: Decimal | None = None
    vol_exec: Decimal | None = None
    cost: Decimal | None = None
    fee: Decimal | None = None
    price: Decimal | None = None
    stopprice: Decimal | None = None
    limitprice: Decimal | None = None
    trigger: str | None = None
    margin: bool | None = None
    misc: str = ""
    oflags: str = ""
    sender_sub_id: str | None = None
    amended: bool | None = None
    trades: list[str] | None = None


class _OpenOrders(_Rec):
    open: dict[str, OrderInfo] = msgspec.field(default_factory=dict)


class OpenOrders(StructResult):
    """``POST /0/private/OpenOrders``: ``.open`` txid -> :class:`OrderInfo`."""

    __slots__ = ("open",)
    _struct = _OpenOrders
    open: dict[str, OrderInfo]


class _ClosedOrders(_Rec):
    closed: dict[str, OrderInfo] = msgspec.field(default_factory=dict)
    count: int | None = None


class ClosedOrders(StructResult):
    """``POST /0/private/ClosedOrders``: ``.closed`` txid -> :class:`OrderInfo`, ``.count``."""

    __slots__ = ("closed", "count")
    _struct = _ClosedOrders
    closed: dict[str, OrderInfo]
    count: int | None


class Orders(MappingResult[OrderInfo]):
    """``POST /0/private/QueryOrders``: txid -> :class:`OrderInfo`."""

    __slots__ = ()
    _item = OrderInfo


class OrderDescription(_Rec):
    """``descr`` of an AddOrder / EditOrder answer."""

    order: str = ""
    close: str | None = None


class _AddOrder(_Rec):
    txid: list[str] = msgspec.field(default_factory=list)
    descr: OrderDescription = msgspec.field(default_factory=OrderDescription)


class AddOrderResult(StructResult):
    """``POST /0/private/AddOrder``.

    * ``txid``: the order ids (empty for ``validate=True``; see ``validated``)
    * ``descr``: Kraken's description of the order
    * ``recovered``: True when the answer was lost (timeout, 5xx, ...) and the order was found by
      its ``cl_ord_id`` instead; ``order`` then holds the order as listed by Kraken
    """

    __slots__ = ("cl_ord_id", "descr", "order", "recovered", "txid")
    _struct = _AddOrder
    txid: list[str]
    descr: OrderDescription
    recovered: bool
    order: OrderInfo | None
    cl_ord_id: str | None

    @classmethod
    def parse(cls, raw: Any) -> Any:
        obj = super().parse(raw)
        obj.recovered = False
        obj.order = None
        obj.cl_ord_id = None
        return obj

    @classmethod
    def recovered_from(cls, txid: str, order: OrderInfo, raw_order: Any, cl_ord_id: str) -> AddOrderResult:
        obj = cls.__new__(cls)
        obj.raw = {"txid": [txid], "descr": {"order": order.descr.order}, "recovered_from": raw_order}
        obj.warnings = []
        obj.txid = [txid]
        obj.descr = OrderDescription(order=order.descr.order, close=order.descr.close)
        obj.recovered = True
        obj.order = order
        obj.cl_ord_id = cl_ord_id
        return obj

    @property
    def validated(self) -> bool:
        """True for a ``validate=True`` answer (checked by Kraken, not placed)."""
        return not self.txid and not self.recovered

    @property
    def order_id(self) -> str | None:
        return self.txid[0] if self.txid else None

    def _repr_fields(self) -> str:
        return (
            f"txid={self.txid!r}, descr={self.descr.order!r}, recovered={self.recovered!r}, "
            f"cl_ord_id={self.cl_ord_id!r}"
        )


class _AmendOrder(_Rec):
    amend_id: str = ""


class AmendOrderResult(StructResult):
    """``POST /0/private/AmendOrder``."""

    __slots__ = ("amend_id",)
    _struct = _AmendOrder
    amend_id: str


class _EditOrder(_Rec):
    descr: OrderDescription = msgspec.field(default_factory=OrderDescription)
    txid: str | None = None
    originaltxid: str | None = None
    volume: Decimal | None = None
    price: Decimal | None = None
    price2: Decimal | None = None
    orders_cancelled: int | None = None
    status: str | None = None
    newuserref: int | None = None
    olduserref: int | None = None
    error_message: str | None = None


class EditOrderResult(StructResult):
    """``POST /0/private/EditOrder``."""

    __slots__ = (
        "descr",
        "error_message",
        "newuserref",
        "olduserref",
        "orders_cancelled",
        "originaltxid",
        "price",
        "price2",
        "status",
        "txid",
        "volume",
    )
    _struct = _EditOrder
    descr: OrderDescription
    txid: str | None
    originaltxid: str | None
    volume: Decimal | None
    price: Decimal | None
    price2: Decimal | None
    orders_cancelled: int | None
    status: str | None
    newuserref: int | None
    olduserref: int | None
    error_message: str | None


class _Cancel(_Rec):
    count: int = 0
    pending: bool | None = None


class CancelOrderResult(StructResult):
    """``POST /0/private/CancelOrder``: ``count`` orders cancelled."""

    __slots__ = ("count", "pending")
    _struct = _Cancel
    count: int
    pending: bool | None


class _Count(_Rec):
    count: int = 0


class CountResult(StructResult):
    """``CancelAll`` / ``CancelOrderBatch``: ``count`` orders cancelled."""

    __slots__ = ("count",)
    _struct = _Count
    count: int


class _CancelAfter(_Rec):
    currentTime: str = ""
    triggerTime: str = ""


class CancelAllAfterResult(StructResult):
    """``POST /0/private/CancelAllOrdersAfter`` (dead man's switch)."""

    __slots__ = ("currentTime", "triggerTime")
    _struct = _CancelAfter
    currentTime: str
    triggerTime: str


class BatchOrderResult(_Rec):
    txid: str | None = None
    descr: OrderDescription | None = None
    error: str | None = None
    cl_ord_id: str | None = None


class _AddOrderBatch(_Rec):
    orders: list[BatchOrderResult] = msgspec.field(default_factory=list)


class AddOrderBatchResult(StructResult):
    """``POST /0/private/AddOrderBatch``: one :class:`BatchOrderResult` per order, in order.

    ``recovered``: True when the answer was lost and the orders were found by their ``cl_ord_id`` instead
    (``raw["recovered_from"]`` holds them as Kraken listed them).
    """

    __slots__ = ("orders", "recovered")
    _struct = _AddOrderBatch
    orders: list[BatchOrderResult]
    recovered: bool

    @classmethod
    def parse(cls, raw: Any) -> Any:
        obj = super().parse(raw)
        obj.recovered = False
        return obj

    @classmethod
    def recovered_from(
        cls, found: list[tuple[str, tuple[str, OrderInfo, Any] | None]], missing_error: str
    ) -> AddOrderBatchResult:
        """From look-ups: ``(cl_ord_id, (txid, order, raw_order) | None)`` per order, in batch order."""
        obj = cls.__new__(cls)
        orders: list[BatchOrderResult] = []
        raws: dict[str, Any] = {}
        for cl_ord_id, hit in found:
            if hit is None:
                orders.append(BatchOrderResult(error=missing_error, cl_ord_id=cl_ord_id))
                continue
            txid, order, raw_order = hit
            descr = OrderDescription(order=order.descr.order, close=order.descr.close)
            orders.append(BatchOrderResult(txid=txid, descr=descr, cl_ord_id=cl_ord_id))
            raws[txid] = raw_order
        obj.raw = {"orders": [msgspec.to_builtins(o) for o in orders], "recovered_from": raws}
        obj.warnings = []
        obj.orders = orders
        obj.recovered = True
        return obj

    def _repr_fields(self) -> str:
        return f"orders={self.orders!r}, recovered={self.recovered!r}"


class _WsToken(_Rec):
    token: str = ""
    expires: int = 0


class WebSocketsToken(StructResult):
    """``POST /0/private/GetWebSocketsToken``. The token is not shown in ``repr``."""

    __slots__ = ("expires", "token")
    _struct = _WsToken
    token: str
    expires: int

    def _repr_fields(self) -> str:
        return f"token='***', expires={self.expires!r}"


# --- trades & ledgers -----------------------------------------------------------------------------


class TradeInfo(_Rec):
    ordertxid: str = ""
    postxid: str | None = None
    pair: str = ""
    time: Decimal | None = None
    type: str = ""
    ordertype: str = ""
    price: Decimal | None = None
    cost: Decimal | None = None
    fee: Decimal | None = None
    vol: Decimal | None = None
    margin: Decimal | None = None
    leverage: Decimal | None = None
    misc: str = ""
    ledgers: list[str] | None = None
    trade_id: int | None = None
    maker: bool | None = None
    posstatus: str | None = None
    cprice: Decimal | None = None
    ccost: Decimal | None = None
    cfee: Decimal | None = None
    cvol: Decimal | None = None
    cmargin: Decimal | None = None
    net: Decimal | None = None


class _TradesHistory(_Rec):
    trades: dict[str, TradeInfo] = msgspec.field(default_factory=dict)
    count: int | None = None


class TradesHistory(StructResult):
    """``POST /0/private/TradesHistory``: ``.trades`` txid -> :class:`TradeInfo`, ``.count``."""

    __slots__ = ("count", "trades")
    _struct = _TradesHistory
    trades: dict[str, TradeInfo]
    count: int | None


class Trades(MappingResult[TradeInfo]):
    """``POST /0/private/QueryTrades``: txid -> :class:`TradeInfo`."""

    __slots__ = ()
    _item = TradeInfo


class LedgerEntry(_Rec):
    refid: str = ""
    time: Decimal | None = None
    type: str = ""
    subtype: str = ""
    aclass: str = ""
    asset: str = ""
    amount: Decimal | None = None
    fee: Decimal | None = None
    balance: Decimal | None = None


class _LedgersInfo(_Rec):
    ledger: dict[str, LedgerEntry] = msgspec.field(default_factory=dict)
    count: int | None = None


class LedgersInfo(StructResult):
    """``POST /0/private/Ledgers``: ``.ledger`` id -> :class:`LedgerEntry`, ``.count``."""

    __slots__ = ("count", "ledger")
    _struct = _LedgersInfo
    ledger: dict[str, LedgerEntry]
    count: int | None


class Ledgers(MappingResult[LedgerEntry]):
    """``POST /0/private/QueryLedgers``: ledger id -> :class:`LedgerEntry`."""

    __slots__ = ()
    _item = LedgerEntry


class _FeeTier(_Rec):
    fee: Decimal | None = None
    minfee: Decimal | None = None
    maxfee: Decimal | None = None
    nextfee: Decimal | None = None
    nextvolume: Decimal | None = None
    tiervolume: Decimal | None = None


class _TradeVolume(_Rec):
    currency: str = ""
    volume: Decimal | None = None
    fees: dict[str, _FeeTier] | None = None
    fees_maker: dict[str, _FeeTier] | None = None


class TradeVolume(StructResult):
    """``POST /0/private/TradeVolume``."""

    __slots__ = ("currency", "fees", "fees_maker", "volume")
    _struct = _TradeVolume
    currency: str
    volume: Decimal | None
    fees: dict[str, Any] | None
    fees_maker: dict[str, Any] | None
