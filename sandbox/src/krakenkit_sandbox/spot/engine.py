"""Matching engine of the sandbox: pure (no I/O, no asyncio), deterministic, Decimal money.

Books keep their prices in sorted lists (``bisect``), each level keeps its orders in arrival order
(a dict, O(1) removal), so adding, cancelling and matching never re-sort anything.

Every public operation appends events to ``Engine.events``; the server drains them after the call
(``Engine.drain()``) to feed WebSocket channels.
"""

from __future__ import annotations

import bisect
import logging
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import Any

from .market import ASSETS, PAIRS, Pair

__all__ = [
    "CLOSE_ORDER_TYPES",
    "ERR_DUPLICATE_CL_ORD_ID",
    "PRICE_TYPES",
    "Account",
    "Book",
    "CloseSpec",
    "Engine",
    "ExecEvent",
    "L3Event",
    "LedgerEntry",
    "LedgerEvent",
    "Order",
    "OrderError",
    "PublicTrade",
    "TradeEvent",
    "TradeRecord",
    "check_price",
]

log = logging.getLogger("krakenkit.sandbox")

D = Decimal
ZERO = D(0)
ONE = D(1)
MAKER_FEE = D("0.0016")
TAKER_FEE = D("0.0026")
ORDER_TYPES = frozenset({"market", "limit", "stop-loss", "take-profit", "stop-loss-limit", "take-profit-limit"})
TRIGGER_TYPES = frozenset({"stop-loss", "take-profit", "stop-loss-limit", "take-profit-limit"})
# order types the sandbox accepts for a conditional close (Kraken also lists iceberg and trailing stops,
# which the sandbox engine does not implement)
CLOSE_ORDER_TYPES = ("limit", "stop-loss", "take-profit", "stop-loss-limit", "take-profit-limit")
PRICE_TYPES = frozenset({"static", "pct", "quote"})
OPEN_ORDER_LIMITS = {"starter": 60, "intermediate": 80, "pro": 225}
OHLC_INTERVALS = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)
INTERNAL = "__market__"
# Kraken publishes no string for a repeated cl_ord_id among open orders; this is the one observed
# in client code that handles it. Kept in one place so it is easy to correct.
ERR_DUPLICATE_CL_ORD_ID = "EOrder:Duplicate order"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class OrderError(Exception):
    """An order request rejected with a Kraken error string."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def to_decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            d = D(str(value).strip())
        except InvalidOperation as exc:
            raise OrderError(f"EGeneral:Invalid arguments:{what}") from exc
    elif isinstance(value, float):
        d = D(repr(value))
    else:
        raise OrderError(f"EGeneral:Invalid arguments:{what}")
    if not d.is_finite():
        raise OrderError(f"EGeneral:Invalid arguments:{what}")
    return d


def _decimals(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def check_price(pair: Pair, price: Decimal, what: str = "price") -> Decimal:
    """Price rules of the pair (positive, at most ``pair_decimals`` decimals, a multiple of the tick)."""
    if price <= 0:
        raise OrderError(f"EGeneral:Invalid arguments:{what}")
    if _decimals(price) > pair.pair_decimals:
        raise OrderError(
            f"EOrder:Invalid price:{pair.altname} price can only be specified up to {pair.pair_decimals} decimals."
        )
    if price % pair.tick_size != 0:
        raise OrderError("EOrder:Tick size check failed")
    return price


@dataclass(slots=True, frozen=True)
class CloseSpec:
    """Template of a conditional close (REST ``close[ordertype]``/``close[price]``/``close[price2]``, WS v2
    ``conditional``). Each fill of the primary order places a new secondary order from it: same pair,
    opposite side, the fill's quantity. Prices are static, or offsets (``pct``/``quote``) from the price
    of the primary order."""

    ordertype: str
    trigger_price: Decimal | None = None  # stop-loss / take-profit (+ -limit) types
    limit_price: Decimal | None = None  # limit and *-limit types
    trigger_price_type: str = "static"
    limit_price_type: str = "static"

    def prices(self, pair: Pair, ref: Decimal) -> tuple[Decimal | None, Decimal | None]:
        """``(price, price2)`` of the secondary order in AddOrder terms (``price`` is the limit price of
        a limit order, else the trigger price; ``price2`` the limit price of a *-limit order)."""
        trig = _resolve(self.trigger_price, self.trigger_price_type, ref, pair)
        lim = _resolve(self.limit_price, self.limit_price_type, ref, pair)
        if self.ordertype == "limit":
            return lim, None
        if self.ordertype.endswith("-limit"):
            return trig, lim
        return trig, None


def _resolve(value: Decimal | None, kind: str, ref: Decimal, pair: Pair) -> Decimal | None:
    if value is None or kind == "static":
        return value
    raw = ref * (ONE + value / 100) if kind == "pct" else ref + value
    return (raw / pair.tick_size).to_integral_value(ROUND_HALF_EVEN) * pair.tick_size


@dataclass(slots=True, eq=False)
class Order:
    txid: str
    account: str
    pair: Pair
    side: str  # buy | sell
    ordertype: str
    price: Decimal | None  # limit price, or trigger price for trigger orders
    price2: Decimal | None  # limit price of *-limit trigger orders
    vol: Decimal
    opentm: float
    seq: int
    vol_exec: Decimal = ZERO
    cost: Decimal = ZERO
    fee: Decimal = ZERO
    status: str = "pending"  # pending | open | closed | canceled | expired
    reason: str | None = None
    closetm: float | None = None
    starttm: float = 0.0
    expiretm: float = 0.0
    userref: int | None = None
    cl_ord_id: str | None = None
    oflags: str = ""
    timeinforce: str = "GTC"
    post_only: bool = False
    triggered: bool = False
    resting: bool = False
    limit_price: Decimal | None = None  # price the order rests/trades at (None = market)
    hold_asset: str = ""
    hold: Decimal = ZERO
    trades: list[str] = field(default_factory=list)
    amends: list[dict[str, Any]] = field(default_factory=list)
    last_price: Decimal | None = None
    stopprice: Decimal = ZERO
    close_descr: str = ""  # AddOrder ``descr.close`` text of a conditional close
    close: CloseSpec | None = None  # conditional close template: a secondary order per fill
    refid: str | None = None  # the primary order whose fill created this (secondary) order

    @property
    def remaining(self) -> Decimal:
        return self.vol - self.vol_exec

    @property
    def is_open(self) -> bool:
        return self.status in ("pending", "open")

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.vol_exec if self.vol_exec else ZERO


@dataclass(slots=True)
class PublicTrade:
    price: Decimal
    qty: Decimal
    time: float
    side: str  # taker side: buy | sell
    ordertype: str  # taker order type: market | limit
    trade_id: int


@dataclass(slots=True)
class TradeRecord:
    txid: str
    ordertxid: str
    postxid: str
    pair: Pair
    time: float
    type: str
    ordertype: str
    price: Decimal
    cost: Decimal
    fee: Decimal
    vol: Decimal
    trade_id: int
    maker: bool
    ledgers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LedgerEntry:
    id: str
    refid: str
    time: float
    type: str
    subtype: str
    asset: str
    amount: Decimal
    fee: Decimal
    balance: Decimal


@dataclass(slots=True)
class L3Event:
    pair: Pair
    side: str
    event: str  # add | modify | delete
    order_id: str
    price: Decimal
    qty: Decimal
    time: float


@dataclass(slots=True)
class TradeEvent:
    pair: Pair
    trade: PublicTrade


@dataclass(slots=True)
class ExecEvent:
    account: str
    order: Order
    exec_type: str  # pending_new | new | trade | filled | canceled | expired | amended | restated
    time: float
    trade: TradeRecord | None = None
    reason: str | None = None


@dataclass(slots=True)
class LedgerEvent:
    account: str
    entry: LedgerEntry


Event = L3Event | TradeEvent | ExecEvent | LedgerEvent


class Level:
    __slots__ = ("orders", "price", "qty")

    def __init__(self, price: Decimal) -> None:
        self.price = price
        self.orders: dict[str, Order] = {}
        self.qty = ZERO


class BookSide:
    """One side of a book. ``prices`` stays sorted ascending; best bid is last, best ask first."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.prices: list[Decimal] = []
        self.levels: dict[Decimal, Level] = {}

    def best(self) -> Level | None:
        if not self.prices:
            return None
        return self.levels[self.prices[-1] if self.is_bid else self.prices[0]]

    def add(self, order: Order, price: Decimal) -> None:
        lvl = self.levels.get(price)
        if lvl is None:
            lvl = Level(price)
            self.levels[price] = lvl
            bisect.insort(self.prices, price)
        lvl.orders[order.txid] = order
        lvl.qty += order.remaining

    def remove(self, order: Order, price: Decimal) -> None:
        lvl = self.levels.get(price)
        if lvl is None or order.txid not in lvl.orders:
            return
        del lvl.orders[order.txid]
        lvl.qty -= order.remaining
        if not lvl.orders:
            self._drop(price)

    def _drop(self, price: Decimal) -> None:
        del self.levels[price]
        i = bisect.bisect_left(self.prices, price)
        del self.prices[i]

    def top(self, n: int) -> list[Level]:
        """The best ``n`` levels, best first."""
        if self.is_bid:
            ps = self.prices[-n:] if n < len(self.prices) else self.prices
            return [self.levels[p] for p in reversed(ps)]
        return [self.levels[p] for p in self.prices[:n]]

    def iter_best(self) -> Iterator[Level]:
        rng = reversed(self.prices) if self.is_bid else iter(self.prices)
        for p in list(rng):
            lvl = self.levels.get(p)
            if lvl is not None:
                yield lvl

    def __len__(self) -> int:
        return len(self.prices)


class Book:
    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.triggers: list[Order] = []
        self.trades: deque[PublicTrade] = deque(maxlen=2000)
        self.next_trade_id = 1
        self.last_price: Decimal = pair.start_price
        self.open_price: Decimal = pair.start_price
        self.volume = ZERO
        self.vwap_num = ZERO
        self.trade_count = 0
        self.low: Decimal = pair.start_price
        self.high: Decimal = pair.start_price
        self.candles: dict[int, deque[list[Any]]] = {i: deque(maxlen=720) for i in OHLC_INTERVALS}
        self.spreads: deque[tuple[float, Decimal, Decimal]] = deque(maxlen=500)
        self.last_spread: tuple[Decimal, Decimal] | None = None

    def side(self, side: str) -> BookSide:
        return self.bids if side == "buy" else self.asks

    def best_bid(self) -> Decimal | None:
        lvl = self.bids.best()
        return None if lvl is None else lvl.price

    def best_ask(self) -> Decimal | None:
        lvl = self.asks.best()
        return None if lvl is None else lvl.price

    def record_trade(self, t: PublicTrade) -> None:
        self.trades.append(t)
        self.last_price = t.price
        self.volume += t.qty
        self.vwap_num += t.qty * t.price
        self.trade_count += 1
        if t.price < self.low:
            self.low = t.price
        if t.price > self.high:
            self.high = t.price
        for interval, dq in self.candles.items():
            begin = int(t.time // (interval * 60)) * interval * 60
            # candle: [begin, open, high, low, close, vwap_num, volume, count]
            if dq and dq[-1][0] == begin:
                c = dq[-1]
                if t.price > c[2]:
                    c[2] = t.price
                if t.price < c[3]:
                    c[3] = t.price
                c[4] = t.price
                c[5] += t.price * t.qty
                c[6] += t.qty
                c[7] += 1
            else:
                dq.append([begin, t.price, t.price, t.price, t.price, t.price * t.qty, t.qty, 1])


@dataclass
class Account:
    id: str
    balances: dict[str, Decimal]
    internal: bool = False
    tier: str = "intermediate"
    holds: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    open_orders: dict[str, Order] = field(default_factory=dict)
    cl_index: dict[str, Order] = field(default_factory=dict)
    trades: dict[str, TradeRecord] = field(default_factory=dict)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    open_per_pair: dict[str, int] = field(default_factory=dict)

    def available(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO) - self.holds.get(asset, ZERO)


class Engine:
    def __init__(self, seed: int = 1, clock: Callable[[], float] | None = None) -> None:
        import time as _time

        self.clock: Callable[[], float] = clock or _time.time
        self.ids = random.Random(seed * 7919 + 17)
        self.books: dict[str, Book] = {k: Book(p) for k, p in PAIRS.items()}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        self.events: list[Event] = []
        self.emit = True
        self.trading_status = "online"
        self._seq = 0
        self._trigger_queue: list[Order] = []
        self._pending_closes: deque[tuple[Order, Decimal, Decimal]] = deque()  # (primary, qty, fill price)
        self._placing_closes = False
        self.add_account(INTERNAL, {}, internal=True)

    # ids ---------------------------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        c = self.ids.choices(_ID_ALPHABET, k=16)
        return f"{prefix}{''.join(c[:5])}-{''.join(c[5:10])}-{''.join(c[10:16])}"

    # accounts ----------------------------------------------------------------------------------------
    def add_account(
        self, account_id: str, balances: dict[str, Decimal], *, internal: bool = False, tier: str = "intermediate"
    ) -> Account:
        acc = Account(account_id, dict(balances), internal=internal, tier=tier)
        self.accounts[account_id] = acc
        return acc

    def account(self, account_id: str) -> Account:
        acc = self.accounts.get(account_id)
        if acc is None:
            raise OrderError("EAPI:Invalid key")
        return acc

    def drain(self) -> list[Event]:
        ev = self.events
        self.events = []
        return ev

    def _ev(self, e: Event) -> None:
        if self.emit:
            self.events.append(e)

    # validation --------------------------------------------------------------------------------------
    def _check_price(self, pair: Pair, price: Decimal, what: str = "price") -> Decimal:
        return check_price(pair, price, what)

    def _estimate_cost(self, book: Book, side: str, vol: Decimal) -> Decimal:
        """Cost of taking ``vol`` from the book (the rest priced at the worst level seen)."""
        opp = book.asks if side == "buy" else book.bids
        left = vol
        cost = ZERO
        last = book.last_price
        for lvl in opp.iter_best():
            take = lvl.qty if lvl.qty < left else left
            cost += take * lvl.price
            left -= take
            last = lvl.price
            if left <= 0:
                break
        if left > 0:
            cost += left * last
        return cost

    def add_order(
        self,
        account_id: str,
        pair: Pair,
        side: str,
        ordertype: str,
        volume: Any,
        price: Any = None,
        price2: Any = None,
        *,
        post_only: bool = False,
        timeinforce: str = "GTC",
        expiretm: float = 0.0,
        userref: int | None = None,
        cl_ord_id: str | None = None,
        oflags: str = "",
        validate: bool = False,
        close: CloseSpec | None = None,
        close_descr: str = "",
        refid: str | None = None,
    ) -> Order:
        """Place (or with ``validate`` only check) an order. ``close``: conditional close template;
        ``refid``: set by the engine on the secondary orders it places from such a template (those skip
        the order-minimum, cost-minimum, open-order-count and market-status checks)."""
        acc = self.account(account_id)
        now = self.clock()
        generated = refid is not None
        if side not in ("buy", "sell"):
            raise OrderError("EGeneral:Invalid arguments:type")
        if ordertype not in ORDER_TYPES:
            raise OrderError("EGeneral:Invalid arguments:ordertype")
        timeinforce = (timeinforce or "GTC").upper()
        if timeinforce not in ("GTC", "IOC", "GTD"):
            raise OrderError("EGeneral:Invalid arguments:timeinforce")
        if timeinforce == "GTD" and not expiretm:
            raise OrderError("EGeneral:Invalid arguments:expiretm")
        vol = to_decimal(volume, "volume")
        if vol <= 0 or _decimals(vol) > pair.lot_decimals:
            raise OrderError("EGeneral:Invalid arguments:volume")
        p1: Decimal | None = None
        p2: Decimal | None = None
        if ordertype != "market":
            if price is None or price == "":
                raise OrderError("EGeneral:Invalid arguments:price")
            p1 = self._check_price(pair, to_decimal(price, "price"))
        if ordertype in ("stop-loss-limit", "take-profit-limit"):
            if price2 is None or price2 == "":
                raise OrderError("EGeneral:Invalid arguments:price2")
            p2 = self._check_price(pair, to_decimal(price2, "price2"), "price2")
        if post_only and ordertype != "limit":
            raise OrderError("EGeneral:Invalid arguments:oflags")
        status = self.trading_status
        if status == "maintenance" and not generated:
            raise OrderError("EService:Unavailable")
        if status == "cancel_only" and not generated:
            raise OrderError("EService:Market in cancel_only mode")
        if status == "post_only" and not (ordertype == "limit" and post_only) and not generated:
            raise OrderError("EService:Market in post_only mode")
        if vol < pair.ordermin and not generated:
            raise OrderError("EOrder:Order minimum not met")
        book = self.books[pair.key]
        if ordertype == "limit":
            ref_price: Decimal = p1  # type: ignore[assignment]
        elif ordertype in ("stop-loss-limit", "take-profit-limit"):
            ref_price = p2  # type: ignore[assignment]
        elif ordertype == "market":
            ref_price = self._estimate_cost(book, side, vol) / vol
        else:
            ref_price = p1  # type: ignore[assignment]
        if vol * ref_price < pair.costmin and not generated:
            raise OrderError("EOrder:Cost minimum not met")
        if cl_ord_id is not None:
            if userref is not None:
                raise OrderError("EGeneral:Invalid arguments:cl_ord_id and userref are mutually exclusive")
            if not _valid_cl_ord_id(cl_ord_id):
                raise OrderError("EGeneral:Invalid arguments:cl_ord_id")
            if cl_ord_id in acc.cl_index:
                raise OrderError(ERR_DUPLICATE_CL_ORD_ID)
        if not acc.internal and not generated:
            limit = OPEN_ORDER_LIMITS.get(acc.tier, 80)
            if acc.open_per_pair.get(pair.key, 0) >= limit:
                raise OrderError("EOrder:Orders limit exceeded")
        # holds
        if side == "buy":
            hold_asset = pair.quote
            if ordertype == "market":
                est = self._estimate_cost(book, side, vol)
            else:
                est = vol * ref_price
            hold = (est * (ONE + TAKER_FEE)).quantize(_q(hold_asset), ROUND_UP)
        else:
            hold_asset = pair.base
            hold = vol
        if not acc.internal and acc.available(hold_asset) < hold:
            raise OrderError("EOrder:Insufficient funds")
        self._seq += 1
        order = Order(
            txid=self.new_id("O"),
            account=account_id,
            pair=pair,
            side=side,
            ordertype=ordertype,
            price=p1,
            price2=p2,
            vol=vol,
            opentm=now,
            seq=self._seq,
            userref=userref,
            cl_ord_id=cl_ord_id,
            oflags=oflags,
            timeinforce=timeinforce,
            post_only=post_only,
            expiretm=float(expiretm or 0),
            hold_asset=hold_asset,
            close_descr=close_descr,
            close=close,
            refid=refid,
        )
        if validate:
            return order
        order.hold = hold
        if not acc.internal:
            acc.holds[hold_asset] = acc.holds.get(hold_asset, ZERO) + hold
        self.orders[order.txid] = order
        acc.orders[order.txid] = order
        acc.open_orders[order.txid] = order
        acc.open_per_pair[pair.key] = acc.open_per_pair.get(pair.key, 0) + 1
        if cl_ord_id is not None:
            acc.cl_index[cl_ord_id] = order
        self._ev(ExecEvent(account_id, order, "pending_new", now))
        order.status = "open"
        self._ev(ExecEvent(account_id, order, "new", now))
        if ordertype in TRIGGER_TYPES:
            if self._should_trigger(order, book.last_price):
                self._trigger(order, book)
            else:
                book.triggers.append(order)
        else:
            order.limit_price = p1
            self._execute(order, book)
        self._run_triggers(book)
        self._flush_closes()
        return order

    # conditional close -------------------------------------------------------------------------------
    def _flush_closes(self) -> None:
        """Place the secondary orders of the fills queued by ``_apply_fill``, once the operation that
        caused them has finished matching (a secondary order may itself trade and queue more)."""
        if self._placing_closes:
            return
        self._placing_closes = True
        try:
            for _ in range(10_000):
                if not self._pending_closes:
                    break
                primary, qty, price = self._pending_closes.popleft()
                self._place_close(primary, qty, price)
        finally:
            self._placing_closes = False

    def _place_close(self, primary: Order, qty: Decimal, fill_price: Decimal) -> None:
        spec = primary.close
        if spec is None:
            return
        ref = primary.price if primary.price is not None else fill_price
        price, price2 = spec.prices(primary.pair, ref)
        side = "sell" if primary.side == "buy" else "buy"
        try:
            self.add_order(primary.account, primary.pair, side, spec.ordertype, qty, price, price2, refid=primary.txid)
        except OrderError as exc:  # e.g. the account cannot fund it any more
            log.info("conditional close of %s not placed: %s", primary.txid, exc.error)

    # matching ----------------------------------------------------------------------------------------
    def _execute(self, order: Order, book: Book) -> None:
        now = self.clock()
        limit = order.limit_price
        opp = book.asks if order.side == "buy" else book.bids
        if order.post_only and limit is not None:
            best = opp.best()
            if best is not None and (
                (order.side == "buy" and best.price <= limit) or (order.side == "sell" and best.price >= limit)
            ):
                self._close(order, "canceled", "Post only order", now)
                return
        while order.remaining > 0:
            lvl = opp.best()
            if lvl is None:
                break
            if limit is not None and (
                (order.side == "buy" and lvl.price > limit) or (order.side == "sell" and lvl.price < limit)
            ):
                break
            stp_hit = False
            for maker in list(lvl.orders.values()):
                if maker.account == order.account and order.account != INTERNAL:
                    stp_hit = True
                    break
                qty = maker.remaining if maker.remaining < order.remaining else order.remaining
                self._fill(book, order, maker, lvl, qty, now)
                if order.remaining <= 0:
                    break
            if stp_hit:
                # self trade prevention, Kraken default "cancel newest": the incoming order goes
                self._close(order, "canceled", "Self trade prevention", now)
                return
        if order.remaining <= 0:
            self._close(order, "closed", None, now)
            return
        if limit is None:
            if order.vol_exec > 0:
                self._close(order, "closed", "Insufficient liquidity", now)
            else:
                self._close(order, "canceled", "No orders found to match", now)
            return
        if order.timeinforce == "IOC":
            self._close(order, "canceled", "Immediate or cancel order", now)
            return
        order.resting = True
        book.side(order.side).add(order, limit)
        self._ev(L3Event(book.pair, order.side, "add", order.txid, limit, order.remaining, now))

    def _fill(self, book: Book, taker: Order, maker: Order, lvl: Level, qty: Decimal, now: float) -> None:
        price = lvl.price
        tid = book.next_trade_id
        book.next_trade_id += 1
        trade = PublicTrade(price, qty, now, taker.side, "market" if taker.ordertype == "market" else "limit", tid)
        book.record_trade(trade)
        self._ev(TradeEvent(book.pair, trade))
        lvl.qty -= qty
        maker_left = maker.remaining - qty
        if maker_left <= 0:
            del lvl.orders[maker.txid]
            if not lvl.orders:
                book.side(maker.side)._drop(price)
            self._ev(L3Event(book.pair, maker.side, "delete", maker.txid, price, maker.remaining, now))
        else:
            self._ev(L3Event(book.pair, maker.side, "modify", maker.txid, price, maker_left, now))
        mt = self.new_id("T")
        tt = self.new_id("T")
        self._apply_fill(maker, qty, price, True, now, mt, tt, tid)
        self._apply_fill(taker, qty, price, False, now, tt, mt, tid)
        if maker.remaining <= 0:
            maker.resting = False
            self._close(maker, "closed", None, now)

    def _apply_fill(
        self, order: Order, qty: Decimal, price: Decimal, maker: bool, now: float, txid: str, postxid: str, tid: int
    ) -> None:
        pair = order.pair
        acc = self.accounts[order.account]
        cost = qty * price
        rate = MAKER_FEE if maker else TAKER_FEE
        qq = _q(pair.quote)
        fee = (cost * rate).quantize(qq, ROUND_HALF_EVEN)
        before = order.remaining
        order.vol_exec += qty
        order.cost += cost
        order.fee += fee
        order.last_price = price
        if acc.internal:
            return
        # release the proportional part of the hold
        if qty >= before:
            release = order.hold
        else:
            release = (order.hold * qty / before).quantize(_q(order.hold_asset), ROUND_DOWN)
        order.hold -= release
        acc.holds[order.hold_asset] = acc.holds.get(order.hold_asset, ZERO) - release
        cost_q = cost.quantize(qq, ROUND_HALF_EVEN)
        rec = TradeRecord(
            txid,
            order.txid,
            postxid,
            pair,
            now,
            order.side,
            order.ordertype,
            price,
            cost,
            fee,
            qty,
            tid,
            maker,
        )
        base_amt = qty if order.side == "buy" else -qty
        quote_amt = -cost_q if order.side == "buy" else cost_q
        for asset, amount, f in ((pair.base, base_amt, ZERO), (pair.quote, quote_amt, fee)):
            bal = acc.balances.get(asset, ZERO) + amount - f
            acc.balances[asset] = bal
            entry = LedgerEntry(self.new_id("L"), txid, now, "trade", "", asset, amount, f, bal)
            acc.ledger[entry.id] = entry
            rec.ledgers.append(entry.id)
            self._ev(LedgerEvent(acc.id, entry))
        acc.trades[txid] = rec
        order.trades.append(txid)
        self._ev(ExecEvent(acc.id, order, "trade", now, trade=rec))
        if order.close is not None:  # each fill places a secondary order for its quantity
            self._pending_closes.append((order, qty, price))

    def _close(self, order: Order, status: str, reason: str | None, now: float) -> None:
        order.status = status
        order.reason = reason
        order.closetm = now
        acc = self.accounts[order.account]
        if order.hold and not acc.internal:
            acc.holds[order.hold_asset] = acc.holds.get(order.hold_asset, ZERO) - order.hold
        order.hold = ZERO
        acc.open_orders.pop(order.txid, None)
        n = acc.open_per_pair.get(order.pair.key, 0)
        if n > 0:
            acc.open_per_pair[order.pair.key] = n - 1
        if order.cl_ord_id is not None and acc.cl_index.get(order.cl_ord_id) is order:
            del acc.cl_index[order.cl_ord_id]
        exec_type = "filled" if status == "closed" and order.remaining <= 0 else status
        if status == "closed" and order.remaining > 0:
            exec_type = "canceled"
        self._ev(ExecEvent(acc.id, order, exec_type, now, reason=reason))

    # triggers ----------------------------------------------------------------------------------------
    @staticmethod
    def _should_trigger(order: Order, last: Decimal) -> bool:
        trig = order.price
        assert trig is not None
        stop = order.ordertype.startswith("stop-loss")
        if order.side == "sell":
            return last <= trig if stop else last >= trig
        return last >= trig if stop else last <= trig

    def _trigger(self, order: Order, book: Book) -> None:
        order.triggered = True
        order.stopprice = order.price or ZERO
        order.limit_price = order.price2 if order.ordertype.endswith("-limit") else None
        self._ev(ExecEvent(order.account, order, "restated", self.clock(), reason="triggered"))
        self._execute(order, book)

    def _run_triggers(self, book: Book) -> None:
        for _ in range(100):
            if not book.triggers:
                return
            fired = [o for o in book.triggers if self._should_trigger(o, book.last_price)]
            if not fired:
                return
            for o in fired:
                book.triggers.remove(o)
            for o in fired:
                if o.is_open:
                    self._trigger(o, book)

    # cancel / amend / edit ---------------------------------------------------------------------------
    def find_open(self, account_id: str, txid: str | None = None, cl_ord_id: str | None = None) -> Order:
        acc = self.account(account_id)
        order: Order | None = None
        if txid is not None:
            order = acc.open_orders.get(txid)
        elif cl_ord_id is not None:
            order = acc.cl_index.get(cl_ord_id)
        if order is None or not order.is_open:
            raise OrderError("EOrder:Unknown order")
        return order

    def find_order(self, account_id: str, txid: str, pair: Pair) -> Order:
        """An order (open or closed) of the account on ``pair``, else ``EOrder:Unknown order``."""
        order = self.account(account_id).orders.get(txid)
        if order is None or order.pair is not pair:
            raise OrderError("EOrder:Unknown order")
        return order

    def _unrest(self, order: Order) -> None:
        book = self.books[order.pair.key]
        if order.resting and order.limit_price is not None:
            book.side(order.side).remove(order, order.limit_price)
            order.resting = False
            self._ev(
                L3Event(order.pair, order.side, "delete", order.txid, order.limit_price, order.remaining, self.clock())
            )
        elif order in book.triggers:
            book.triggers.remove(order)

    def cancel_order(
        self,
        account_id: str,
        txid: str | None = None,
        cl_ord_id: str | None = None,
        reason: str = "User requested",
    ) -> Order:
        if self.trading_status == "maintenance":
            raise OrderError("EService:Unavailable")
        order = self.find_open(account_id, txid, cl_ord_id)
        self._unrest(order)
        self._close(order, "canceled", reason, self.clock())
        return order

    def cancel_userref(self, account_id: str, userref: int) -> int:
        acc = self.account(account_id)
        n = 0
        for o in list(acc.open_orders.values()):
            if o.userref == userref:
                self.cancel_order(account_id, o.txid)
                n += 1
        if n == 0:
            raise OrderError("EOrder:Unknown order")
        return n

    def cancel_all(self, account_id: str, reason: str = "User requested") -> int:
        if self.trading_status == "maintenance":
            raise OrderError("EService:Unavailable")
        acc = self.account(account_id)
        n = 0
        for o in list(acc.open_orders.values()):
            self._unrest(o)
            self._close(o, "canceled", reason, self.clock())
            n += 1
        return n

    def expire_due(self) -> int:
        """Expire GTD orders whose ``expiretm`` passed; returns how many."""
        now = self.clock()
        n = 0
        for acc in self.accounts.values():
            if acc.internal:
                continue
            for o in list(acc.open_orders.values()):
                if o.expiretm and o.expiretm <= now:
                    self._unrest(o)
                    self._close(o, "expired", None, now)
                    n += 1
        return n

    def amend_order(
        self,
        account_id: str,
        txid: str | None = None,
        cl_ord_id: str | None = None,
        *,
        order_qty: Any = None,
        limit_price: Any = None,
        trigger_price: Any = None,
        post_only: bool = False,
    ) -> tuple[Order, str]:
        if self.trading_status in ("maintenance", "cancel_only"):
            raise OrderError(
                "EService:Unavailable"
                if self.trading_status == "maintenance"
                else "EService:Market in cancel_only mode"
            )
        order = self.find_open(account_id, txid, cl_ord_id)
        pair = order.pair
        now = self.clock()
        if not order.amends:
            order.amends.append(self._amend_rec(order, "original", now))
        new_qty = None if order_qty in (None, "") else to_decimal(order_qty, "order_qty")
        new_px = None if limit_price in (None, "") else self._check_price(pair, to_decimal(limit_price, "limit_price"))
        new_trig = (
            None
            if trigger_price in (None, "")
            else self._check_price(pair, to_decimal(trigger_price, "trigger_price"), "trigger_price")
        )
        if new_qty is not None and (new_qty <= 0 or _decimals(new_qty) > pair.lot_decimals):
            raise OrderError("EGeneral:Invalid arguments:order_qty")
        if new_px is not None and order.ordertype in ("market", "stop-loss", "take-profit"):
            raise OrderError("EGeneral:Invalid arguments:limit_price")
        if new_trig is not None and order.ordertype not in TRIGGER_TYPES:
            raise OrderError("EGeneral:Invalid arguments:trigger_price")
        book = self.books[pair.key]
        acc = self.accounts[account_id]
        # post-only check before changing anything
        eff_px = new_px if new_px is not None else order.limit_price
        if post_only and order.resting and new_px is not None:
            opp = (book.asks if order.side == "buy" else book.bids).best()
            if opp is not None and (
                (order.side == "buy" and opp.price <= new_px) or (order.side == "sell" and opp.price >= new_px)
            ):
                raise OrderError("EOrder:Post only order")
        # extra hold for a larger/more expensive order
        if not acc.internal and (new_qty is not None or new_px is not None):
            q = new_qty if new_qty is not None else order.vol
            left = q - order.vol_exec
            if order.side == "buy":
                ref = new_px if new_px is not None else (order.price2 or order.price or book.last_price)
                need = (left * ref * (ONE + TAKER_FEE)).quantize(_q(order.hold_asset), ROUND_UP) if left > 0 else ZERO
            else:
                need = left if left > 0 else ZERO
            extra = need - order.hold
            if extra > 0 and acc.available(order.hold_asset) < extra:
                raise OrderError("EOrder:Insufficient funds")
        lose_priority = (new_px is not None and new_px != order.limit_price) or (
            new_qty is not None and new_qty > order.vol
        )
        was_resting = order.resting
        if was_resting and lose_priority:
            self._unrest(order)
        elif was_resting and new_qty is not None:
            lvl = book.side(order.side).levels[order.limit_price]  # type: ignore[index]
            lvl.qty -= order.remaining - max(new_qty - order.vol_exec, ZERO)
        if new_qty is not None:
            order.vol = new_qty
        if new_px is not None:
            if order.ordertype in ("stop-loss-limit", "take-profit-limit"):
                order.price2 = new_px
                if order.triggered:
                    order.limit_price = new_px
            else:
                order.price = new_px
                order.limit_price = new_px
        if new_trig is not None:
            order.price = new_trig
        if not acc.internal and order.is_open:
            left = order.remaining
            if order.side == "buy":
                ref = order.limit_price or order.price2 or order.price or book.last_price
                need = (left * ref * (ONE + TAKER_FEE)).quantize(_q(order.hold_asset), ROUND_UP) if left > 0 else ZERO
            else:
                need = left if left > 0 else ZERO
            acc.holds[order.hold_asset] = acc.holds.get(order.hold_asset, ZERO) + need - order.hold
            order.hold = need
        amend = self._amend_rec(order, "user", now)
        order.amends.append(amend)
        self._ev(ExecEvent(account_id, order, "amended", now))
        if order.remaining <= 0:
            if was_resting and not lose_priority:
                lvl2 = book.side(order.side).levels.get(order.limit_price)  # type: ignore[arg-type]
                if lvl2 is not None:
                    lvl2.orders.pop(order.txid, None)
                    if not lvl2.orders:
                        book.side(order.side)._drop(lvl2.price)
                order.resting = False
                self._ev(L3Event(pair, order.side, "delete", order.txid, eff_px or ZERO, ZERO, now))
            self._close(order, "closed", None, now)
        elif was_resting and lose_priority:
            self._execute(order, book)
            self._run_triggers(book)
        elif was_resting:
            self._ev(L3Event(pair, order.side, "modify", order.txid, order.limit_price or ZERO, order.remaining, now))
        elif order.ordertype in TRIGGER_TYPES and not order.triggered and self._should_trigger(order, book.last_price):
            if order in book.triggers:
                book.triggers.remove(order)
            self._trigger(order, book)
            self._run_triggers(book)
        self._flush_closes()
        return order, amend["amend_id"]

    def _amend_rec(self, order: Order, kind: str, now: float) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "amend_id": self.new_id("T"),
            "amend_type": kind,
            "order_qty": order.vol,
            "remaining_qty": order.remaining,
            "timestamp": int(now * 1e9),
        }
        if order.limit_price is not None or order.ordertype == "limit":
            rec["limit_price"] = order.limit_price if order.limit_price is not None else order.price
        if order.ordertype in TRIGGER_TYPES:
            rec["trigger_price"] = order.price
        return rec

    def edit_order(
        self,
        account_id: str,
        txid: str,
        *,
        volume: Any = None,
        price: Any = None,
        price2: Any = None,
        userref: int | None = None,
        post_only: bool | None = None,
        validate: bool = False,
    ) -> tuple[Order, Order]:
        old = self.find_open(account_id, txid)
        vol = old.vol if volume in (None, "") else to_decimal(volume, "volume")
        if vol <= old.vol_exec:
            raise OrderError("EGeneral:Invalid arguments:volume")
        new_vol = vol - old.vol_exec
        p1 = old.price if price in (None, "") else price
        p2 = old.price2 if price2 in (None, "") else price2

        def replacement(check_only: bool) -> Order:
            """Place (or only check) the replacement: the old order with the edited fields changed."""
            return self.add_order(
                account_id,
                old.pair,
                old.side,
                old.ordertype,
                new_vol,
                p1,
                p2,
                post_only=old.post_only if post_only is None else post_only,
                timeinforce=old.timeinforce,
                expiretm=old.expiretm,
                userref=old.userref if userref is None else userref,
                oflags=old.oflags,
                validate=check_only,
            )

        # validate the replacement first (without holds of the old order counted)
        acc = self.accounts[account_id]
        acc.holds[old.hold_asset] = acc.holds.get(old.hold_asset, ZERO) - old.hold
        try:
            replacement(check_only=True)
        finally:
            acc.holds[old.hold_asset] = acc.holds.get(old.hold_asset, ZERO) + old.hold
        if validate:
            return old, old
        self._unrest(old)
        self._close(old, "canceled", "Order replaced", self.clock())
        return old, replacement(check_only=False)

    # queries -----------------------------------------------------------------------------------------
    def l3_orders(self, pair_key: str, side: str, depth: int) -> list[tuple[Level, list[Order]]]:
        book = self.books[pair_key]
        return [(lvl, list(lvl.orders.values())) for lvl in book.side(side).top(depth)]

    def credit(self, account_id: str, asset: str, amount: Decimal, kind: str = "deposit") -> LedgerEntry:
        acc = self.account(account_id)
        bal = acc.balances.get(asset, ZERO) + amount
        acc.balances[asset] = bal
        entry = LedgerEntry(self.new_id("L"), self.new_id("Q"), self.clock(), kind, "", asset, amount, ZERO, bal)
        acc.ledger[entry.id] = entry
        self._ev(LedgerEvent(acc.id, entry))
        return entry


def _q(asset: str) -> Decimal:
    a = ASSETS.get(asset)
    return D(1).scaleb(-(a.decimals if a else 8))


def _valid_cl_ord_id(value: str) -> bool:
    n = len(value)
    if n == 36:
        parts = value.split("-")
        return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(_is_hex(p) for p in parts)
    if n == 32 and _is_hex(value):
        return True
    return 0 < n <= 18 and value.isascii() and value.isprintable()


def _is_hex(s: str) -> bool:
    try:
        int(s, 16)
    except ValueError:
        return False
    return True
