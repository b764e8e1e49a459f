"""The Futures matching engine: books, accounts (flex multi-collateral), orders, positions.

Pure and synchronous: no sockets, no asyncio. Time comes from the ``now`` callable and
randomness from a seeded ``random.Random``, so a given seed and call sequence always gives the
same book, trades and ids. Everything that changes emits an :class:`Event` to the listeners
(the WebSocket layer turns them into feed messages).

Prices and quantities are ``Decimal`` throughout.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
from base64 import b64encode
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from ._util import ZERO, fnum, iso_ms, ms, num, quant, seeded_uuid
from .market import INSTRUMENTS, Instrument

__all__ = [
    "Account",
    "Engine",
    "EngineError",
    "Event",
    "Fill",
    "Order",
    "OrderRequest",
    "Position",
]

log = logging.getLogger("krakenkit.sandbox.futures")

MAKER_FEE = Decimal("0.0002")
TAKER_FEE = Decimal("0.0005")
SMALL_ORDER_NOTIONAL = Decimal(10)
MAX_SMALL_ORDERS = 10
MAX_OPEN_ORDERS = 500
BOOK_LEVELS = 25
HAIRCUTS = {"USD": ZERO, "USDC": ZERO, "USDT": ZERO, "EUR": ZERO, "GBP": ZERO}
FX = {"USD": Decimal(1), "USDC": Decimal(1), "USDT": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.26")}
FLEX_CURRENCIES = ("USD", "XBT", "ETH", "USDC", "USDT", "EUR", "GBP")
ORDER_TYPES = ("lmt", "post", "ioc", "mkt", "stp", "take_profit", "fok")
TRIGGER_TYPES = ("stp", "take_profit")


class EngineError(Exception):
    """A request-level error: becomes ``{"result": "error", "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Event:
    kind: str  # book | trade | order | fill | position | balance | account_log | notification
    key: str | None = None
    symbol: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Order:
    order_id: str
    key: str | None  # None: a simulated participant
    symbol: str
    side: str
    order_type: str  # lmt post ioc mkt fok stp take_profit
    qty: Decimal
    limit_price: Decimal | None
    received: float
    stop_price: Decimal | None = None
    trigger_signal: str = "mark"
    reduce_only: bool = False
    cli_ord_id: str | None = None
    filled: Decimal = ZERO
    last_update: float = 0.0
    state: str = "open"  # open | filled | cancelled | rejected
    update_reason: str | None = "NEW_USER_ORDER"
    error: str | None = None
    triggered: bool = False

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled

    @property
    def is_trigger(self) -> bool:
        return self.order_type in TRIGGER_TYPES and not self.triggered

    @property
    def sign(self) -> int:
        return 1 if self.side == "buy" else -1

    def trigger_side(self) -> str:
        above = (self.order_type == "stp") == (self.side == "buy")
        return "trigger_above" if above else "trigger_below"

    def rest_type(self) -> str:
        return {"mkt": "ioc", "stp": "lmt", "take_profit": "lmt"}.get(self.order_type, self.order_type)

    def rest(self) -> dict[str, Any]:
        """The ``order`` object of REST orderEvents."""
        return {
            "orderId": self.order_id,
            "cliOrdId": self.cli_ord_id,
            "type": self.rest_type(),
            "symbol": self.symbol,
            "side": self.side,
            "quantity": num(self.qty),
            "filled": num(self.filled),
            "limitPrice": num(self.limit_price if self.limit_price is not None else ZERO),
            "reduceOnly": self.reduce_only,
            "timestamp": iso_ms(self.received),
            "lastUpdateTimestamp": iso_ms(self.last_update or self.received),
        }

    def rest_trigger(self) -> dict[str, Any]:
        """The ``orderTrigger`` object of REST orderEvents."""
        return {
            "uid": self.order_id,
            "clientId": self.cli_ord_id,
            "type": "lmt" if self.limit_price is not None else "ioc",
            "symbol": self.symbol,
            "side": self.side,
            "quantity": num(self.qty),
            "limitPrice": num(self.limit_price) if self.limit_price is not None else None,
            "triggerPrice": num(self.stop_price) if self.stop_price is not None else None,
            "triggerSide": self.trigger_side(),
            "triggerSignal": {"mark": "mark_price", "last": "last_price", "index": "spot_price"}[self.trigger_signal],
            "reduceOnly": self.reduce_only,
            "timestamp": iso_ms(self.received),
            "lastUpdateTimestamp": iso_ms(self.last_update or self.received),
            "startTime": None,
        }

    def copy(self) -> Order:
        return Order(**self.__dict__)


@dataclass
class Fill:
    fill_id: str
    symbol: str
    side: str
    order_id: str
    cli_ord_id: str | None
    size: Decimal
    price: Decimal
    time: float
    fill_type: str  # maker | taker
    fee: Decimal
    remaining_order_qty: Decimal
    order_type: str
    taker_order_type: str
    seq: int


@dataclass
class Position:
    symbol: str
    size: Decimal = ZERO  # signed
    entry: Decimal = ZERO
    fill_time: float = 0.0


@dataclass
class Account:
    key: str
    secret: str
    account_uid: str
    balances: dict[str, Decimal]
    created: float
    orders: dict[str, Order] = field(default_factory=dict)  # every order ever, by id
    cli_ids: dict[str, str] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    leverage: dict[str, Decimal] = field(default_factory=dict)
    pnl_currency: dict[str, str] = field(default_factory=dict)
    order_history: list[dict[str, Any]] = field(default_factory=list)
    trigger_history: list[dict[str, Any]] = field(default_factory=list)
    execution_history: list[dict[str, Any]] = field(default_factory=list)
    position_history: list[dict[str, Any]] = field(default_factory=list)
    account_log: list[dict[str, Any]] = field(default_factory=list)
    self_trade_strategy: str = "REJECT_TAKER"
    assignment: dict[int, dict[str, Any]] = field(default_factory=dict)
    assignment_history: list[dict[str, Any]] = field(default_factory=list)
    last_nonce: int | None = None
    recent_nonces: deque[str] = field(default_factory=lambda: deque(maxlen=1000))
    nonce_window: int = 0  # numeric nonces this far below the highest seen still pass (once)
    fill_seq: int = 0
    log_seq: int = 0
    ws_seq: int = 0

    def accept_nonce(self, nonce: str) -> str | None:
        """Check and record the ``Nonce`` header of a request in one step (the server loop runs one
        request at a time, so concurrent requests cannot both pass with one nonce). Returns the error
        code of a refused nonce: ``nonceDuplicate`` for one used before, ``nonceBelowThreshold`` for a
        numeric one not above the highest seen (less ``nonce_window``). No header: nothing checked."""
        if not nonce:
            return None
        if nonce in self.recent_nonces:
            return "nonceDuplicate"
        if nonce.isdigit():
            value = int(nonce)
            if self.last_nonce is not None and value <= self.last_nonce - self.nonce_window:
                return "nonceBelowThreshold"
            self.last_nonce = value if self.last_nonce is None else max(value, self.last_nonce)
        self.recent_nonces.append(nonce)
        return None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.values() if o.state == "open" and (symbol is None or o.symbol == symbol)]


@dataclass
class OrderRequest:
    order_type: str
    symbol: str
    side: str
    size: Decimal | None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    cli_ord_id: str | None = None
    trigger_signal: str = "mark"
    reduce_only: bool = False
    process_before: float | None = None


@dataclass
class MarketState:
    inst: Instrument
    index: Decimal
    mark: Decimal
    last: Decimal
    last_size: Decimal
    last_time: float
    open24h: Decimal
    high24h: Decimal
    low24h: Decimal
    vol24h: Decimal
    volume_quote: Decimal
    open_interest: Decimal
    funding_rate_rel: Decimal
    bids: dict[Decimal, list[Order]] = field(default_factory=dict)
    asks: dict[Decimal, list[Order]] = field(default_factory=dict)
    book_seq: int = 0
    trade_seq: int = 0
    trades: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))
    price_events: deque[tuple[float, Decimal, str]] = field(default_factory=lambda: deque(maxlen=2000))
    order_events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))
    suspended: bool = False
    post_only: bool = False

    def side_book(self, side: str) -> dict[Decimal, list[Order]]:
        return self.bids if side == "buy" else self.asks

    def best(self, side: str) -> Decimal | None:
        book = self.side_book(side)
        live = [p for p, lvl in book.items() if any(o.remaining > 0 for o in lvl)]
        if not live:
            return None
        return max(live) if side == "buy" else min(live)

    def level_qty(self, side: str, price: Decimal) -> Decimal:
        return sum((o.remaining for o in self.side_book(side).get(price, [])), ZERO)

    def levels(self, side: str) -> list[tuple[Decimal, Decimal]]:
        book = self.side_book(side)
        prices = sorted(book, reverse=(side == "buy"))
        out = []
        for p in prices:
            q = self.level_qty(side, p)
            if q > 0:
                out.append((p, q))
        return out

    @property
    def funding_rate(self) -> Decimal:
        """Absolute funding rate (per unit of base per hour, in quote)."""
        return self.funding_rate_rel * self.index


def _opposite(side: str) -> str:
    return "sell" if side == "buy" else "buy"


class Engine:
    """State of the whole Futures venue. Every public method is synchronous and cheap."""

    def __init__(
        self,
        seed: int,
        now: Callable[[], float],
        system_status: Callable[[], str] | None = None,
        instruments: Iterable[Instrument] = INSTRUMENTS,
    ) -> None:
        self.seed = seed
        self.now = now
        self.rng = random.Random(f"krakenkit-futures-{seed}")
        self._system_status = system_status or (lambda: "online")
        self.listeners: list[Callable[[Event], None]] = []
        self.accounts: dict[str, Account] = {}
        self.markets: dict[str, MarketState] = {}
        self.notifications: list[dict[str, Any]] = []
        self.public_execs: dict[str, deque[dict[str, Any]]] = {}
        self.base_index: dict[str, Decimal] = {}  # one index price per underlying (XBT, ETH)
        self.start_time = now()
        for inst in instruments:
            self.markets[inst.symbol] = self._new_market(inst)

    # ------------------------------------------------------------------ setup
    def _new_market(self, inst: Instrument) -> MarketState:
        rng = self.rng
        now = self.now()
        base_index = self.base_index.get(inst.base)
        if base_index is None:
            base_index = inst.start_price * (Decimal(1) + Decimal(rng.randint(-300, 300)) / Decimal(10000))
            self.base_index[inst.base] = base_index
        index = self._round_tick(inst, base_index)
        premium = Decimal(rng.randint(-5, 5)) * inst.tick_size
        mark = index + premium
        st = MarketState(
            inst=inst,
            index=index,
            mark=mark,
            last=mark,
            last_size=inst.size_step * 10,
            last_time=now - 1,
            open24h=self._round_tick(inst, index * (Decimal(1) - Decimal(rng.randint(-400, 400)) / Decimal(10000))),
            high24h=self._round_tick(inst, index * Decimal("1.021")),
            low24h=self._round_tick(inst, index * Decimal("0.979")),
            vol24h=ZERO,
            volume_quote=ZERO,
            open_interest=Decimal(rng.randint(1000, 20000)) * inst.size_step * 1000,
            funding_rate_rel=Decimal(rng.randint(-20, 40)) / Decimal(10_000_000),
        )
        # seeded history of other participants' trades (last hour)
        price = mark
        for i in range(60):
            t = now - 3600 + i * 60 + rng.random() * 30
            price = self._round_tick(inst, price * (Decimal(1) + Decimal(rng.randint(-10, 10)) / Decimal(10000)))
            qty = self._rand_qty(inst)
            side = rng.choice(("buy", "sell"))
            self._record_trade(st, side, qty, price, t, emit=False)
        st.last = price
        st.vol24h = Decimal(rng.randint(5000, 50000)) * inst.size_step * 1000
        st.volume_quote = quant(st.vol24h * st.index if not inst.inverse else st.vol24h, Decimal("0.01"))
        self._refill_book(st, emit=False)
        return st

    @staticmethod
    def _round_tick(inst: Instrument, price: Decimal) -> Decimal:
        return (price / inst.tick_size).to_integral_value(rounding=ROUND_HALF_EVEN) * inst.tick_size

    def _rand_qty(self, inst: Instrument) -> Decimal:
        lo, hi = inst.level_qty
        steps_lo = int(lo / inst.size_step)
        steps_hi = int(hi / inst.size_step)
        return Decimal(self.rng.randint(steps_lo, steps_hi)) * inst.size_step

    def _synthetic(self, st: MarketState, side: str, price: Decimal, qty: Decimal) -> Order:
        now = self.now()
        return Order(
            order_id=seeded_uuid(self.rng),
            key=None,
            symbol=st.inst.symbol,
            side=side,
            order_type="lmt",
            qty=qty,
            limit_price=price,
            received=now,
            last_update=now,
        )

    def _refill_book(self, st: MarketState, emit: bool = True) -> None:
        """Keep BOOK_LEVELS synthetic-backed levels on each side around the mark price."""
        inst = st.inst
        tick = inst.tick_size
        spread_ticks = max(1, int(Decimal(2) * st.mark / Decimal(10000) / tick))
        for side in ("buy", "sell"):
            book = st.side_book(side)
            other_best = st.best(_opposite(side))
            sign = -1 if side == "buy" else 1
            anchor = self._round_tick(inst, st.mark + sign * spread_ticks * tick)
            if other_best is not None:
                # never cross the other side
                if side == "buy" and anchor >= other_best:
                    anchor = other_best - tick
                if side == "sell" and anchor <= other_best:
                    anchor = other_best + tick
            # drop synthetic liquidity that sits too far from the anchor (price moved away)
            limit = tick * BOOK_LEVELS * 4
            for p in list(book):
                if abs(p - anchor) > limit:
                    lvl = book[p]
                    kept = [o for o in lvl if o.key is not None]
                    if len(kept) != len(lvl):
                        if kept:
                            book[p] = kept
                        else:
                            del book[p]
                        if emit:
                            self._emit_level(st, side, p)
            count = len(st.levels(side))
            step = 0
            while count < BOOK_LEVELS and step < BOOK_LEVELS * 4:
                price = anchor + sign * step * tick
                step += 1
                if price <= 0:
                    break
                if st.level_qty(side, price) > 0:
                    continue
                if other_best is not None and (
                    (side == "buy" and price >= other_best) or (side == "sell" and price <= other_best)
                ):
                    continue
                book.setdefault(price, []).append(self._synthetic(st, side, price, self._rand_qty(inst)))
                count += 1
                if emit:
                    self._emit_level(st, side, price)

    # ------------------------------------------------------------------ events
    def emit(self, ev: Event) -> None:
        for fn in list(self.listeners):
            try:
                fn(ev)
            except Exception:  # pragma: no cover - a listener bug must not break the engine
                log.exception("futures sandbox listener failed")

    def _emit_level(self, st: MarketState, side: str, price: Decimal) -> None:
        st.book_seq += 1
        self.emit(
            Event(
                "book",
                symbol=st.inst.symbol,
                data={
                    "side": side,
                    "price": price,
                    "qty": st.level_qty(side, price),
                    "seq": st.book_seq,
                    "timestamp": ms(self.now()),
                },
            )
        )

    def _record_trade(
        self, st: MarketState, side: str, qty: Decimal, price: Decimal, t: float, emit: bool = True
    ) -> dict[str, Any]:
        st.trade_seq += 1
        trade = {
            "uid": seeded_uuid(self.rng),
            "side": side,
            "qty": qty,
            "price": price,
            "time": t,
            "seq": st.trade_seq,
            "type": "fill",
        }
        st.trades.append(trade)
        st.last, st.last_size, st.last_time = price, qty, t
        st.vol24h += qty
        st.volume_quote += qty if st.inst.inverse else qty * price
        st.high24h = max(st.high24h, price)
        st.low24h = min(st.low24h, price)
        if emit:
            self.emit(Event("trade", symbol=st.inst.symbol, data=trade))
        return trade

    # ------------------------------------------------------------------ accounts
    def create_account(self, balances: Mapping[str, Any] | None = None, nonce_window: int = 0) -> tuple[str, str]:
        key = b64encode(secrets.token_bytes(42)).decode()
        secret = b64encode(secrets.token_bytes(64)).decode()
        bal = {str(k).upper(): Decimal(str(v)) for k, v in (balances or {"USD": "100000"}).items()}
        bal = {("XBT" if k == "BTC" else k): v for k, v in bal.items()}
        acct = Account(
            key=key,
            secret=secret,
            account_uid=seeded_uuid(self.rng),
            balances=bal,
            created=self.now(),
            nonce_window=max(0, int(nonce_window)),
        )
        self.accounts[key] = acct
        return key, secret

    def account(self, key: str) -> Account:
        acct = self.accounts.get(key)
        if acct is None:
            raise EngineError("authenticationError")
        return acct

    def market(self, symbol: str) -> MarketState | None:
        st = self.markets.get(symbol.upper())
        return st

    # ------------------------------------------------------------------ margin
    def currency_price(self, cur: str) -> Decimal:
        if cur in FX:
            return FX[cur]
        for st in self.markets.values():
            if st.inst.base == cur and not st.inst.inverse:
                return st.index
        for st in self.markets.values():
            if st.inst.base == cur:
                return st.index
        return ZERO

    def haircut(self, cur: str) -> Decimal:
        return HAIRCUTS.get(cur, Decimal("0.05"))

    def leverage_of(self, acct: Account, symbol: str) -> Decimal:
        inst = self.markets[symbol].inst
        return acct.leverage.get(symbol, inst.max_leverage)

    def notional(self, inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
        if inst.inverse:
            return abs(qty) * inst.contract_size
        return abs(qty) * price * inst.contract_size

    def upnl(self, pos: Position, mark: Decimal) -> Decimal:
        if pos.size == 0 or pos.entry == 0:
            return ZERO
        inst = self.markets[pos.symbol].inst
        if inst.inverse:
            return pos.size * (Decimal(1) / pos.entry - Decimal(1) / mark) * mark
        return pos.size * (mark - pos.entry) * inst.contract_size

    def position_margin(self, acct: Account, pos: Position) -> tuple[Decimal, Decimal]:
        st = self.markets[pos.symbol]
        im = self.notional(st.inst, pos.size, st.mark) / self.leverage_of(acct, pos.symbol)
        return im, im / 2

    def order_margin(self, acct: Account, o: Order) -> Decimal:
        st = self.markets[o.symbol]
        price = o.limit_price or o.stop_price or st.mark
        return self.notional(st.inst, o.remaining, price) / self.leverage_of(acct, o.symbol)

    def margin(self, acct: Account) -> dict[str, Decimal]:
        balance_value = ZERO
        collateral = ZERO
        for cur, qty in acct.balances.items():
            value = qty * self.currency_price(cur)
            balance_value += value
            collateral += value * (1 - self.haircut(cur)) if value > 0 else value
        im = mm = upnl = ZERO
        for pos in acct.positions.values():
            if pos.size == 0:
                continue
            pim, pmm = self.position_margin(acct, pos)
            im += pim
            mm += pmm
            upnl += self.upnl(pos, self.markets[pos.symbol].mark)
        im_orders = im + sum((self.order_margin(acct, o) for o in acct.open_orders() if not o.reduce_only), ZERO)
        equity = collateral + upnl
        return {
            "balanceValue": quant(balance_value, Decimal("0.01")),
            "portfolioValue": quant(balance_value + upnl, Decimal("0.01")),
            "collateralValue": quant(collateral, Decimal("0.01")),
            "initialMargin": quant(im),
            "initialMarginWithOrders": quant(im_orders),
            "maintenanceMargin": quant(mm),
            "pnl": quant(upnl),
            "unrealizedFunding": ZERO,
            "totalUnrealized": quant(upnl),
            "totalUnrealizedAsMargin": quant(upnl),
            "marginEquity": quant(equity, Decimal("0.01")),
            "availableMargin": quant(equity - im_orders, Decimal("0.01")),
        }

    def currencies(self, acct: Account) -> dict[str, dict[str, Decimal]]:
        m = self.margin(acct)
        out: dict[str, dict[str, Decimal]] = {}
        for cur, qty in acct.balances.items():
            price = self.currency_price(cur)
            value = qty * price
            coll = value * (1 - self.haircut(cur))
            avail = qty
            if cur == "USD":
                avail = min(qty, max(m["availableMargin"], ZERO))
            out[cur] = {
                "quantity": qty,
                "value": quant(value),
                "collateral": quant(coll),
                "available": quant(avail),
                "haircut": self.haircut(cur),
                "conversion_spread": ZERO,
            }
        return out

    # ------------------------------------------------------------------ order entry
    def _status_block(self, st: MarketState, order_type: str) -> str | None:
        status = self._system_status()
        if st.suspended or status in ("maintenance", "cancel_only"):
            return "marketSuspended"
        if (st.post_only or status == "post_only") and order_type != "post":
            return "marketIsPostOnly"
        return None

    def _crossing(self, st: MarketState, side: str, limit: Decimal | None) -> list[tuple[Decimal, list[Order]]]:
        opp = _opposite(side)
        book = st.side_book(opp)
        prices = sorted(book, reverse=(opp == "buy"))
        out = []
        for p in prices:
            if limit is not None and ((side == "buy" and p > limit) or (side == "sell" and p < limit)):
                break
            out.append((p, book[p]))
        return out

    def _executable_qty(self, st: MarketState, side: str, limit: Decimal | None) -> Decimal:
        return sum((o.remaining for _, lvl in self._crossing(st, side, limit) for o in lvl), ZERO)

    def _self_trade(self, acct: Account, st: MarketState, side: str, limit: Decimal | None, qty: Decimal) -> bool:
        left = qty
        for _, lvl in self._crossing(st, side, limit):
            for o in lvl:
                if left <= 0:
                    return False
                if o.key == acct.key and o.remaining > 0:
                    return True
                left -= o.remaining
        return False

    def _market_limit(self, st: MarketState, side: str) -> Decimal:
        # price collar for market orders: 5% away from the mark price
        band = st.mark * Decimal("0.05")
        return self._round_tick(st.inst, st.mark + band if side == "buy" else st.mark - band)

    def _reject(self, acct: Account, order: Order, status: str, reason: str, received: float) -> dict[str, Any]:
        order.state = "rejected"
        order.error = reason
        order.update_reason = None
        order.last_update = received
        acct.orders[order.order_id] = order
        if order.cli_ord_id and status != "clientOrderIdAlreadyExist":
            acct.cli_ids.setdefault(order.cli_ord_id, order.order_id)
        events: list[dict[str, Any]] = []
        if order.order_type in TRIGGER_TYPES:
            # trigger REJECT events carry any engine reason
            events.append(
                {"type": "REJECT", "uid": order.order_id, "reason": reason, "orderTrigger": order.rest_trigger()}
            )
        elif reason in ("POST_WOULD_EXECUTE", "IOC_WOULD_NOT_EXECUTE"):
            # the documented order REJECT event only exists for these two reasons; the others
            # are told by sendStatus.status alone
            events.append({"type": "REJECT", "uid": order.order_id, "reason": reason, "order": order.rest()})
        if reason == "POST_WOULD_EXECUTE":
            # open_orders_verbose (only) reports post-only orders that failed to cross the book
            self.emit(
                Event(
                    "order",
                    acct.key,
                    order.symbol,
                    {
                        "order": order,
                        "reason": "post_order_failed_because_it_would_filled",
                        "is_cancel": True,
                        "verbose_only": True,
                    },
                )
            )
        self._history_order(acct, "OrderRejected", order, reason=reason, error=reason)
        out = {
            "order_id": order.order_id,
            "status": status,
            "receivedTime": iso_ms(received),
            "orderEvents": events,
        }
        if order.cli_ord_id:
            out["cliOrdId"] = order.cli_ord_id
        return out

    def place_order(self, key: str, req: OrderRequest, batch: bool = False) -> dict[str, Any]:
        """Handle ``sendorder``; returns the ``sendStatus`` object."""
        acct = self.account(key)
        now = self.now()
        if req.order_type not in ORDER_TYPES:
            raise EngineError("invalidArgument")
        if req.side not in ("buy", "sell"):
            raise EngineError("invalidArgument")
        st = self.market(req.symbol)
        if st is None:
            raise EngineError("invalidArgument")
        sym = st.inst.symbol
        order = Order(
            order_id=seeded_uuid(self.rng),
            key=key,
            symbol=sym,
            side=req.side,
            order_type=req.order_type,
            qty=req.size if req.size is not None else ZERO,
            limit_price=req.limit_price,
            stop_price=req.stop_price,
            trigger_signal=req.trigger_signal,
            reduce_only=req.reduce_only,
            cli_ord_id=req.cli_ord_id,
            received=now,
            last_update=now,
        )
        if req.process_before is not None and now > req.process_before:
            return self._reject(acct, order, "wouldProcessAfterSpecifiedTime", "REJECTED_AFTER_EXECUTION", now)
        if req.cli_ord_id is not None:
            if len(req.cli_ord_id) > 100:
                order.cli_ord_id = None
                return self._reject(
                    acct,
                    order,
                    "clientOrderIdTooLong" if batch else "clientOrderIdTooBig",
                    "CLIENT_ORDER_ID_TOO_LONG",
                    now,
                )
            if req.cli_ord_id in acct.cli_ids:
                return self._reject(acct, order, "clientOrderIdAlreadyExist", "CLIENT_ORDER_ID_IN_USE", now)
        blocked = self._status_block(st, req.order_type)
        if blocked:
            reason = "MARKET_SUSPENDED" if blocked == "marketSuspended" else "MARKET_IS_POST_ONLY"
            return self._reject(acct, order, blocked, reason, now)
        inst = st.inst
        if req.size is None or req.size <= 0 or (req.size % inst.size_step) != 0:
            return self._reject(acct, order, "invalidSize", "INVALID_QUANTITY", now)
        for price in (req.limit_price, req.stop_price):
            if price is not None and (price <= 0 or (price % inst.tick_size) != 0):
                return self._reject(acct, order, "invalidPrice", "INVALID_PRICE", now)
        if req.order_type in ("lmt", "post", "ioc", "fok") and req.limit_price is None:
            return self._reject(acct, order, "invalidPrice", "INVALID_PRICE", now)
        if req.order_type in TRIGGER_TYPES and req.stop_price is None:
            return self._reject(acct, order, "invalidPrice", "INVALID_PRICE", now)
        ref_price = req.limit_price or req.stop_price or st.mark
        notional_usd = self.notional(inst, req.size, ref_price)
        if notional_usd < SMALL_ORDER_NOTIONAL:
            small = [
                o
                for o in acct.open_orders()
                if self.notional(self.markets[o.symbol].inst, o.remaining, o.limit_price or o.stop_price or st.mark)
                < SMALL_ORDER_NOTIONAL
            ]
            if len(small) >= MAX_SMALL_ORDERS:
                return self._reject(acct, order, "tooManySmallOrders", "SMALL_ORDER_LIMIT_EXCEEDED", now)
        if len(acct.open_orders()) >= MAX_OPEN_ORDERS:
            return self._reject(acct, order, "tooManyOrders", "ORDER_LIMIT_EXCEEDED", now)
        pos = acct.positions.get(sym)
        pos_size = pos.size if pos else ZERO
        reduced: Decimal | None = None
        if req.reduce_only:
            if pos_size == 0 or (pos_size > 0) == (req.side == "buy"):
                return self._reject(acct, order, "wouldNotReducePosition", "WOULD_NOT_REDUCE_POSITION", now)
            if req.size > abs(pos_size):
                reduced = req.size - abs(pos_size)
                order.qty = abs(pos_size)
        # exposure added by this order (beyond closing the current position)
        signed = order.qty * order.sign
        closing = min(order.qty, abs(pos_size)) if (pos_size * signed) < 0 else ZERO
        added = order.qty - closing
        same_dir_open = sum(
            (o.remaining for o in acct.open_orders(sym) if o.side == req.side and not o.reduce_only), ZERO
        )
        if abs(pos_size + signed) > inst.max_position or (
            added > 0 and abs(pos_size) + same_dir_open + added > inst.max_position and (pos_size * signed) >= 0
        ):
            return self._reject(acct, order, "maxPositionViolation", "MAX_POSITION_EXCEEDED", now)
        if added > 0 and not req.reduce_only:
            need = self.notional(inst, added, ref_price) / self.leverage_of(acct, sym)
            avail = self.margin(acct)["availableMargin"]
            if need > avail:
                return self._reject(acct, order, "insufficientAvailableFunds", "INSUFFICIENT_MARGIN", now)

        # trigger orders rest off-book until their trigger fires
        if req.order_type in TRIGGER_TYPES:
            acct.orders[order.order_id] = order
            if order.cli_ord_id:
                acct.cli_ids[order.cli_ord_id] = order.order_id
            order.update_reason = None
            self._history_trigger(acct, "OrderTriggerPlaced", order, "NEW_USER_ORDER")
            self.emit(
                Event("order", key, sym, {"order": order, "reason": "new_placed_order_by_user", "is_cancel": False})
            )
            self.emit(Event("balance", key))
            out = {
                "order_id": order.order_id,
                "status": "placed",
                "receivedTime": iso_ms(now),
                "orderEvents": [{"type": "PLACE", "orderTrigger": order.rest_trigger()}],
            }
            if order.cli_ord_id:
                out["cliOrdId"] = order.cli_ord_id
            self.check_triggers(sym)
            return out

        limit = req.limit_price if req.order_type != "mkt" else self._market_limit(st, req.side)
        if req.order_type == "post":
            best = st.best(_opposite(req.side))
            if best is not None and (
                (req.side == "buy" and limit is not None and limit >= best)
                or (req.side == "sell" and limit is not None and limit <= best)
            ):
                return self._reject(acct, order, "postWouldExecute", "POST_WOULD_EXECUTE", now)
        if req.order_type in ("ioc", "mkt", "fok"):
            avail_qty = self._executable_qty(st, req.side, limit)
            if avail_qty <= 0 or (req.order_type == "fok" and avail_qty < order.qty):
                return self._reject(acct, order, "iocWouldNotExecute", "IOC_WOULD_NOT_EXECUTE", now)
        if acct.self_trade_strategy == "REJECT_TAKER" and self._self_trade(acct, st, req.side, limit, order.qty):
            return self._reject(acct, order, "selfFill", "WOULD_EXECUTE_SELF", now)

        if limit is not None and req.order_type == "mkt":
            order.limit_price = limit
        acct.orders[order.order_id] = order
        if order.cli_ord_id:
            acct.cli_ids[order.cli_ord_id] = order.order_id
        events = self._execute(acct, st, order)
        if order.remaining > 0:
            if order.order_type in ("lmt", "post"):
                self._rest(st, order)
                events.append(
                    {"type": "PLACE", "order": order.rest(), "reducedQuantity": num(reduced) if reduced else None}
                )
                self._history_order(acct, "OrderPlaced", order, reason="new_user_order")
                self.emit(
                    Event("order", key, sym, {"order": order, "reason": "new_placed_order_by_user", "is_cancel": False})
                )
            else:
                order.state = "cancelled" if order.filled < order.qty else "filled"
                order.update_reason = "IOC_WOULD_NOT_EXECUTE_REASON" if order.filled == 0 else "FULL_FILL"
                if order.filled > 0:
                    # the unfilled rest of an IOC/market order leaves: open_orders says partial_fill
                    self.emit(Event("order", key, sym, {"order": order, "reason": "partial_fill", "is_cancel": True}))
        elif order.filled > 0:
            # filled completely on arrival: open_orders removes it with reason full_fill
            self.emit(Event("order", key, sym, {"order": order, "reason": "full_fill", "is_cancel": True}))
        self._after_trade(st, key)
        out = {
            "order_id": order.order_id,
            "status": "placed",
            "receivedTime": iso_ms(now),
            "orderEvents": events,
        }
        if order.cli_ord_id:
            out["cliOrdId"] = order.cli_ord_id
        return out

    def _rest(self, st: MarketState, order: Order) -> None:
        assert order.limit_price is not None
        st.side_book(order.side).setdefault(order.limit_price, []).append(order)
        self._emit_level(st, order.side, order.limit_price)

    def _unrest(self, st: MarketState, order: Order) -> None:
        if order.limit_price is None:
            return
        book = st.side_book(order.side)
        lvl = book.get(order.limit_price)
        if lvl and order in lvl:
            lvl.remove(order)
            if not lvl:
                del book[order.limit_price]
            self._emit_level(st, order.side, order.limit_price)

    def _execute(self, taker_acct: Account | None, st: MarketState, order: Order) -> list[dict[str, Any]]:
        """Match ``order`` against the book; returns REST EXECUTION events for the taker."""
        events: list[dict[str, Any]] = []
        limit = order.limit_price
        now = self.now()
        for price, lvl in self._crossing(st, order.side, limit):
            if order.remaining <= 0:
                break
            for maker in list(lvl):
                if order.remaining <= 0:
                    break
                if maker.remaining <= 0:
                    continue
                if taker_acct is not None and maker.key == taker_acct.key:
                    # CANCEL_MAKER_* strategies: remove our own resting order and go on
                    self._cancel(self.accounts[maker.key], maker, "CANCELLED_BY_USER", "cancelled_by_user")
                    continue
                qty = min(order.remaining, maker.remaining)
                prior = order.rest()
                exec_id = seeded_uuid(self.rng)
                order.filled += qty
                maker.filled += qty
                order.last_update = maker.last_update = now
                self._record_trade(st, order.side, qty, price, now)
                events.append(
                    {
                        "type": "EXECUTION",
                        "executionId": exec_id,
                        "price": num(price),
                        "amount": num(qty),
                        "orderPriorEdit": None,
                        "orderPriorExecution": prior,
                        "takerReducedQuantity": None,
                    }
                )
                if order.key is not None and taker_acct is not None:
                    self._apply_fill(taker_acct, order, qty, price, "taker", exec_id, maker.order_type)
                if maker.key is not None:
                    self._apply_fill(self.accounts[maker.key], maker, qty, price, "maker", exec_id, order.order_type)
                if maker.remaining <= 0:
                    maker.state = "filled"
                    maker.update_reason = "FULL_FILL"
                    lvl.remove(maker)
                elif maker.key is not None:
                    maker.update_reason = "PARTIAL_FILL"
                if maker.key is not None:
                    self.emit(
                        Event(
                            "order",
                            maker.key,
                            st.inst.symbol,
                            {
                                "order": maker,
                                "reason": "full_fill" if maker.remaining <= 0 else "partial_fill",
                                "is_cancel": maker.remaining <= 0,
                            },
                        )
                    )
                self._history_execution(order, maker, qty, price, now, exec_id, st)
            if not lvl:
                st.side_book(_opposite(order.side)).pop(price, None)
            self._emit_level(st, _opposite(order.side), price)
        if order.remaining <= 0 and order.key is not None:
            order.state = "filled"
            order.update_reason = "FULL_FILL"
        elif order.filled > 0:
            order.update_reason = "PARTIAL_FILL"
        return events

    def _apply_fill(
        self,
        acct: Account,
        order: Order,
        qty: Decimal,
        price: Decimal,
        fill_type: str,
        exec_id: str,
        counter_type: str,
    ) -> None:
        st = self.markets[order.symbol]
        inst = st.inst
        now = self.now()
        pos = acct.positions.get(order.symbol)
        if pos is None:
            pos = acct.positions[order.symbol] = Position(order.symbol)
        old_size, old_entry = pos.size, pos.entry
        signed = qty * order.sign
        realized = ZERO
        if old_size == 0 or (old_size > 0) == (signed > 0):
            new_size = old_size + signed
            if inst.inverse:
                # average entry for inverse contracts is the harmonic mean
                inv = (abs(old_size) / old_entry if old_entry else ZERO) + abs(signed) / price
                pos.entry = abs(new_size) / inv
            else:
                pos.entry = (abs(old_size) * old_entry + abs(signed) * price) / abs(new_size)
            pos.size = new_size
            change = "open" if old_size == 0 else "increase"
        else:
            closed = min(abs(old_size), abs(signed))
            closed_signed = closed if old_size > 0 else -closed
            if inst.inverse:
                realized = closed_signed * (Decimal(1) / old_entry - Decimal(1) / price) * price
            else:
                realized = closed_signed * (price - old_entry) * inst.contract_size
            pos.size = old_size + signed
            if pos.size == 0:
                pos.entry = ZERO
                change = "close"
            elif (pos.size > 0) != (old_size > 0):
                pos.entry = price
                change = "reverse"
            else:
                change = "decrease"
        pos.entry = quant(pos.entry, Decimal("0.0000000001")) if pos.entry else ZERO
        pos.fill_time = now
        fee = quant(self.notional(inst, qty, price) * (MAKER_FEE if fill_type == "maker" else TAKER_FEE))
        old_usd = acct.balances.get("USD", ZERO)
        acct.balances["USD"] = quant(old_usd + realized - fee)
        acct.fill_seq += 1
        fill = Fill(
            fill_id=exec_id if fill_type == "taker" else seeded_uuid(self.rng),
            symbol=order.symbol,
            side=order.side,
            order_id=order.order_id,
            cli_ord_id=order.cli_ord_id,
            size=qty,
            price=price,
            time=now,
            fill_type=fill_type,
            fee=fee,
            remaining_order_qty=order.remaining,
            order_type=order.order_type,
            taker_order_type=order.order_type if fill_type == "taker" else counter_type,
            seq=acct.fill_seq,
        )
        acct.fills.append(fill)
        acct.position_history.append(
            {
                "timestamp": ms(now),
                "accountUid": acct.account_uid,
                "tradeable": order.symbol,
                "oldPosition": str(old_size),
                "oldAverageEntryPrice": str(old_entry),
                "newPosition": str(pos.size),
                "newAverageEntryPrice": str(pos.entry),
                "fillTime": ms(now),
                "fee": str(fee),
                "feeCurrency": "USD",
                "realizedPnL": str(quant(realized)),
                "positionChange": change,
                "executionUid": exec_id,
                "executionPrice": str(price),
                "executionSize": str(qty),
                "tradeType": "userExecution",
                "updateReason": "trade",
            }
        )
        acct.log_seq += 1
        entry = {
            "id": acct.log_seq,
            "date": iso_ms(now),
            "asset": order.symbol.lower(),
            "contract": order.symbol,
            "info": "futures trade",
            "booking_uid": seeded_uuid(self.rng),
            "margin_account": "flex",
            "old_balance": fnum(old_size),
            "new_balance": fnum(pos.size),
            "old_average_entry_price": fnum(old_entry),
            "new_average_entry_price": fnum(pos.entry),
            "trade_price": fnum(price),
            "mark_price": fnum(st.mark),
            "realized_pnl": fnum(quant(realized)),
            "fee": fnum(fee),
            "execution": exec_id,
            "collateral": "USD",
            "funding_rate": None,
            "realized_funding": None,
            "conversion_spread_percentage": None,
            "liquidation_fee": None,
        }
        acct.account_log.append(entry)
        self.emit(Event("fill", acct.key, order.symbol, {"fill": fill}))
        self.emit(Event("position", acct.key, order.symbol))
        self.emit(Event("account_log", acct.key, order.symbol, {"entry": entry}))

    def _after_trade(self, st: MarketState, key: str | None = None) -> None:
        self._refill_book(st)
        self.check_triggers(st.inst.symbol)
        keys = {key} if key else set()
        for acct in self.accounts.values():
            if any(p.size != 0 for p in acct.positions.values()) or acct.open_orders():
                keys.add(acct.key)
        for k in keys:
            self.emit(Event("balance", k))

    # ------------------------------------------------------------------ triggers
    def _trigger_price(self, st: MarketState, signal: str) -> Decimal:
        return {"mark": st.mark, "index": st.index, "last": st.last}.get(signal, st.mark)

    def check_triggers(self, symbol: str) -> None:
        st = self.markets[symbol]
        for acct in list(self.accounts.values()):
            for o in list(acct.open_orders(symbol)):
                if not o.is_trigger or o.stop_price is None:
                    continue
                ref = self._trigger_price(st, o.trigger_signal)
                fire = ref >= o.stop_price if o.trigger_side() == "trigger_above" else ref <= o.stop_price
                if fire:
                    self._fire_trigger(acct, st, o)

    def _fire_trigger(self, acct: Account, st: MarketState, o: Order) -> None:
        now = self.now()
        if o.reduce_only:
            pos = acct.positions.get(o.symbol)
            size = pos.size if pos else ZERO
            if size == 0 or (size > 0) == (o.side == "buy"):
                self._cancel(acct, o, "WOULD_NOT_REDUCE_POSITION", "would_not_reduce_position")
                return
            o.qty = min(o.qty, o.filled + abs(size))
        o.triggered = True
        o.last_update = now
        o.update_reason = "STOP_ORDER_TRIGGERED"
        self._history_trigger(acct, "OrderTriggerActivated", o, "STOP_ORDER_TRIGGERED")
        if o.limit_price is None:
            o.limit_price = self._market_limit(st, o.side)
            limit_order = False
        else:
            limit_order = True
        # open_orders: the stop order is removed (stop_order_triggered), then the order it became
        # is reported (limit_order_from_stop when it rests, full_fill / partial_fill when it trades)
        self.emit(
            Event(
                "order",
                acct.key,
                o.symbol,
                {"order": o, "reason": "stop_order_triggered", "is_cancel": True, "removed": True},
            )
        )
        self._execute(acct, st, o)
        if o.remaining > 0:
            if limit_order:
                self._rest(st, o)
                o.update_reason = "LIMIT_FROM_STOP"
                self.emit(
                    Event(
                        "order", acct.key, o.symbol, {"order": o, "reason": "limit_order_from_stop", "is_cancel": False}
                    )
                )
            else:
                o.state = "cancelled"
                reason = "partial_fill" if o.filled > 0 else "ioc_order_failed_because_it_would_not_be_executed"
                self.emit(Event("order", acct.key, o.symbol, {"order": o, "reason": reason, "is_cancel": True}))
        elif o.filled > 0:
            self.emit(Event("order", acct.key, o.symbol, {"order": o, "reason": "full_fill", "is_cancel": True}))
        self._refill_book(st)

    # ------------------------------------------------------------------ edit / cancel
    def find_order(self, acct: Account, order_id: str | None, cli_ord_id: str | None) -> Order | None:
        if order_id:
            return acct.orders.get(order_id)
        if cli_ord_id:
            oid = acct.cli_ids.get(cli_ord_id)
            return acct.orders.get(oid) if oid else None
        return None

    def _cancel(self, acct: Account, o: Order, reason: str, ws_reason: str) -> dict[str, Any]:
        now = self.now()
        st = self.markets[o.symbol]
        if not o.is_trigger:
            self._unrest(st, o)
        o.state = "cancelled"
        o.update_reason = reason
        o.last_update = now
        if o.is_trigger:
            self._history_trigger(acct, "OrderTriggerCancelled", o, reason)
            ev = {"type": "CANCEL", "uid": o.order_id, "orderTrigger": o.rest_trigger()}
        else:
            self._history_order(acct, "OrderCancelled", o, reason=reason)
            ev = {"type": "CANCEL", "uid": o.order_id, "order": o.rest()}
        self.emit(Event("order", acct.key, o.symbol, {"order": o, "reason": ws_reason, "is_cancel": True}))
        return ev

    def cancel_order(self, key: str, order_id: str | None, cli_ord_id: str | None) -> dict[str, Any]:
        acct = self.account(key)
        now = self.now()
        o = self.find_order(acct, order_id, cli_ord_id)
        out: dict[str, Any] = {"receivedTime": iso_ms(now)}
        if order_id:
            out["order_id"] = order_id
        if cli_ord_id:
            out["cliOrdId"] = cli_ord_id
        if o is None or o.state in ("rejected",):
            out["status"] = "notFound"
            return out
        out["order_id"] = o.order_id
        if o.state == "filled":
            out["status"] = "filled"
            return out
        if o.state == "cancelled":
            out["status"] = "notFound"
            return out
        ev = self._cancel(acct, o, "CANCELLED_BY_USER", "cancelled_by_user")
        out["status"] = "cancelled"
        out["orderEvents"] = [ev]
        self.emit(Event("balance", key))
        return out

    def cancel_all(self, key: str, symbol: str | None = None, dead_man: bool = False) -> dict[str, Any]:
        acct = self.account(key)
        now = self.now()
        cancelled = []
        events = []
        sym = symbol.upper() if symbol else None
        for o in acct.open_orders(sym):
            events.append(
                self._cancel(
                    acct,
                    o,
                    "DEAD_MAN_SWITCH" if dead_man else "CANCELLED_BY_USER",
                    "dead_man_switch" if dead_man else "cancelled_by_user",
                )
            )
            entry: dict[str, Any] = {"order_id": o.order_id}
            if o.cli_ord_id:
                entry["cliOrdId"] = o.cli_ord_id
            cancelled.append(entry)
        if cancelled:
            self.emit(Event("balance", key))
        return {
            "receivedTime": iso_ms(now),
            "cancelOnly": sym or "all",
            "status": "cancelled" if cancelled else "noOrdersToCancel",
            "cancelledOrders": cancelled,
            "orderEvents": events,
        }

    def edit_order(
        self,
        key: str,
        order_id: str | None,
        cli_ord_id: str | None,
        size: Decimal | None,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        qty_mode: str = "RELATIVE",
        process_before: float | None = None,
    ) -> dict[str, Any]:
        acct = self.account(key)
        now = self.now()
        o = self.find_order(acct, order_id, cli_ord_id)
        out: dict[str, Any] = {"receivedTime": iso_ms(now), "orderId": order_id, "orderEvents": []}
        if cli_ord_id:
            out["cliOrdId"] = cli_ord_id
        if o is None or o.state != "open":
            out["status"] = "orderForEditNotFound"
            return out
        out["orderId"] = o.order_id
        if process_before is not None and now > process_before:
            out["status"] = "orderForEditNotFound"
            return out
        st = self.markets[o.symbol]
        inst = st.inst
        new_qty = o.qty
        if size is not None:
            if size < 0 or (size % inst.size_step) != 0:
                out["status"] = "invalidSize"
                return out
            new_qty = size if qty_mode == "ABSOLUTE" else o.filled + size
            if new_qty <= o.filled:
                out["status"] = "invalidSize"
                return out
        for p in (limit_price, stop_price):
            if p is not None and (p <= 0 or (p % inst.tick_size) != 0):
                out["status"] = "invalidPrice"
                return out
        if stop_price is not None and not o.is_trigger:
            out["status"] = "orderForEditNotAStop"
            return out
        new_limit = limit_price if limit_price is not None else o.limit_price
        if not o.is_trigger and o.order_type == "post" and new_limit is not None:
            best = st.best(_opposite(o.side))
            if best is not None and (
                (o.side == "buy" and new_limit >= best) or (o.side == "sell" and new_limit <= best)
            ):
                out["status"] = "postWouldExecute"
                return out
        extra = new_qty - o.qty
        if extra > 0 and not o.reduce_only:
            need = self.notional(inst, extra, new_limit or st.mark) / self.leverage_of(acct, o.symbol)
            if need > self.margin(acct)["availableMargin"]:
                out["status"] = "insufficientAvailableFunds"
                return out
        if (
            not o.is_trigger
            and new_limit is not None
            and (self._self_trade(acct, st, o.side, new_limit, new_qty - o.filled))
        ):
            out["status"] = "selfFill"
            return out
        old = o.rest()
        old_copy = o.copy()
        if not o.is_trigger:
            self._unrest(st, o)
        o.qty = new_qty
        o.limit_price = new_limit
        if stop_price is not None:
            o.stop_price = stop_price
        o.last_update = now
        o.update_reason = "EDITED_BY_USER"
        events: list[dict[str, Any]] = [{"type": "EDIT", "old": old, "new": o.rest(), "reducedQuantity": None}]
        if o.is_trigger:
            self._history_trigger(acct, "OrderTriggerUpdated", o, "EDITED_BY_USER", old=old_copy)
        else:
            self._history_order(acct, "OrderUpdated", o, reason="edited_by_user", old=old_copy)
            execs = self._execute(acct, st, o)
            events.extend(execs)
            if o.remaining > 0:
                self._rest(st, o)
        if o.state == "filled":
            self.emit(Event("order", key, o.symbol, {"order": o, "reason": "full_fill", "is_cancel": True}))
        else:
            self.emit(Event("order", key, o.symbol, {"order": o, "reason": "edited_by_user", "is_cancel": False}))
        self._after_trade(st, key)
        if o.is_trigger:
            self.check_triggers(o.symbol)
        out["status"] = "edited"
        out["orderEvents"] = events
        return out

    # ------------------------------------------------------------------ market simulation
    def tick(self) -> None:
        """One step of the other participants: move index/mark, maybe trade, refill the book."""
        rng = self.rng
        for base in sorted(self.base_index):
            move = Decimal(rng.randint(-8, 8)) / Decimal(10000)
            self.base_index[base] = self.base_index[base] * (1 + move)
        for st in self.markets.values():
            inst = st.inst
            st.index = self._round_tick(inst, self.base_index[inst.base])
            st.mark = st.index + Decimal(rng.randint(-3, 3)) * inst.tick_size
            st.price_events.append((self.now(), st.mark, seeded_uuid(rng)))
            # resting orders the mark has moved through get taken by the other participants
            for side in ("buy", "sell"):
                best = st.best(_opposite(side))
                if best is not None and ((side == "buy" and best < st.mark) or (side == "sell" and best > st.mark)):
                    sweep = Order(
                        order_id=seeded_uuid(rng),
                        key=None,
                        symbol=inst.symbol,
                        side=side,
                        order_type="ioc",
                        qty=self._executable_qty(st, side, st.mark),
                        limit_price=st.mark,
                        received=self.now(),
                    )
                    self._execute(None, st, sweep)
            if rng.random() < 0.6:
                side = rng.choice(("buy", "sell"))
                qty = self._rand_qty(inst) / 4
                qty = (qty / inst.size_step).to_integral_value(rounding=ROUND_DOWN) * inst.size_step
                if qty > 0:
                    taker = Order(
                        order_id=seeded_uuid(rng),
                        key=None,
                        symbol=inst.symbol,
                        side=side,
                        order_type="ioc",
                        qty=qty,
                        limit_price=self._market_limit(st, side),
                        received=self.now(),
                    )
                    self._execute(None, st, taker)
            self._refill_book(st)
            self.check_triggers(inst.symbol)
        for acct in self.accounts.values():
            if any(p.size != 0 for p in acct.positions.values()):
                self.emit(Event("balance", acct.key))
                for sym in acct.positions:
                    self.emit(Event("position", acct.key, sym))

    def set_mark(self, symbol: str, mark: Decimal, index: Decimal | None = None) -> None:
        """Admin/test hook: move the mark (and index) price, then evaluate triggers."""
        st = self.markets[symbol]
        st.mark = mark
        st.index = index if index is not None else mark
        st.price_events.append((self.now(), st.mark, seeded_uuid(self.rng)))
        self.check_triggers(symbol)

    # ------------------------------------------------------------------ history records
    def _hist_order(self, acct: Account, o: Order) -> dict[str, Any]:
        return {
            "uid": o.order_id,
            "accountUid": acct.account_uid,
            "tradeable": o.symbol,
            "direction": "Buy" if o.side == "buy" else "Sell",
            "quantity": str(o.qty),
            "filled": str(o.filled),
            "timestamp": ms(o.received),
            "limitPrice": str(o.limit_price if o.limit_price is not None else ZERO),
            "orderType": {"lmt": "Limit", "post": "Post", "ioc": "IoC", "fok": "IoC", "mkt": "Market"}.get(
                o.order_type, "Limit"
            ),
            "clientId": o.cli_ord_id or "",
            "reduceOnly": o.reduce_only,
            "lastUpdateTimestamp": ms(o.last_update or o.received),
            "spotData": None,
        }

    def _hist_trigger(self, acct: Account, o: Order) -> dict[str, Any]:
        return {
            "uid": o.order_id,
            "accountId": 1,
            "accountUid": acct.account_uid,
            "tradeable": o.symbol,
            "direction": "Buy" if o.side == "buy" else "Sell",
            "quantity": str(o.qty),
            "timestamp": ms(o.received),
            "limitPrice": str(o.limit_price if o.limit_price is not None else ZERO),
            "orderType": "Limit" if o.limit_price is not None else "Market",
            "clientId": o.cli_ord_id or "",
            "reduceOnly": o.reduce_only,
            "lastUpdateTimestamp": ms(o.last_update or o.received),
            "triggerOptions": {
                "triggerPrice": str(o.stop_price or ZERO),
                "triggerSignal": {"mark": "MarkPrice", "last": "LastPrice", "index": "SpotPrice"}[o.trigger_signal],
                "triggerSide": "Above" if o.trigger_side() == "trigger_above" else "Below",
                "trailingStopOptions": {"maxDeviation": "0", "unit": "Percent"},
                "limitPriceOffset": {"priceOffset": "0", "unit": "QuoteCurrency"},
            },
        }

    def _history_order(
        self, acct: Account, kind: str, o: Order, reason: str = "", error: str | None = None, old: Order | None = None
    ) -> None:
        now = self.now()
        body: dict[str, Any]
        if kind == "OrderPlaced":
            body = {"order": self._hist_order(acct, o), "reason": reason, "reducedQuantity": ""}
        elif kind == "OrderUpdated":
            assert old is not None
            body = {
                "oldOrder": self._hist_order(acct, old),
                "newOrder": self._hist_order(acct, o),
                "reason": reason,
                "reducedQuantity": "0",
            }
        elif kind == "OrderRejected":
            body = {"order": self._hist_order(acct, o), "reason": reason, "orderError": error or reason}
        else:
            body = {"order": self._hist_order(acct, o), "reason": reason}
        rec = {"uid": seeded_uuid(self.rng), "timestamp": ms(now), "event": {kind: body}}
        acct.order_history.append(rec)
        if kind in ("OrderPlaced", "OrderCancelled", "OrderUpdated"):
            pub = dict(body)
            for k in ("order", "oldOrder", "newOrder"):
                if k in pub:
                    pub[k] = {
                        kk: vv
                        for kk, vv in pub[k].items()
                        if kk not in ("accountUid", "filled", "clientId", "spotData")
                    }
            self.markets[o.symbol].order_events.append(
                {"uid": rec["uid"], "timestamp": rec["timestamp"], "event": {kind: pub}}
            )

    def _history_trigger(self, acct: Account, kind: str, o: Order, reason: str, old: Order | None = None) -> None:
        body: dict[str, Any]
        if kind == "OrderTriggerUpdated":
            assert old is not None
            body = {
                "oldOrderTrigger": self._hist_trigger(acct, old),
                "newOrderTrigger": self._hist_trigger(acct, o),
                "reason": reason,
            }
        elif kind == "OrderTriggerActivated":
            body = {"order": self._hist_trigger(acct, o), "reason": reason}
        else:
            body = {"order": self._hist_trigger(acct, o), "reason": reason}
        acct.trigger_history.append({"uid": seeded_uuid(self.rng), "timestamp": ms(self.now()), "event": {kind: body}})

    def _history_execution(
        self,
        taker: Order,
        maker: Order,
        qty: Decimal,
        price: Decimal,
        now: float,
        exec_id: str,
        st: MarketState,
    ) -> None:
        def hist(o: Order) -> dict[str, Any]:
            acct = self.accounts.get(o.key) if o.key else None
            if acct is not None:
                return self._hist_order(acct, o)
            return {
                "uid": o.order_id,
                "accountUid": "00000000-0000-4000-8000-000000000000",
                "tradeable": o.symbol,
                "direction": "Buy" if o.side == "buy" else "Sell",
                "quantity": str(o.qty),
                "filled": str(o.filled),
                "timestamp": ms(o.received),
                "limitPrice": str(o.limit_price if o.limit_price is not None else ZERO),
                "orderType": "Limit" if o.order_type == "lmt" else "IoC",
                "clientId": "",
                "reduceOnly": False,
                "lastUpdateTimestamp": ms(o.last_update or o.received),
                "spotData": None,
            }

        usd = self.notional(st.inst, qty, price) if not st.inst.inverse else qty
        fee_info = [{"percentageFee": "0", "userFeeDiscountApplied": None, "marketShareRebateCredited": None}]
        execution = {
            "uid": exec_id,
            "makerOrder": hist(maker),
            "takerOrder": hist(taker),
            "timestamp": ms(now),
            "quantity": str(qty),
            "price": str(price),
            "markPrice": str(st.mark),
            "limitFilled": maker.remaining <= 0,
            "usdValue": str(quant(usd, Decimal("0.0001"))),
            "makerOrderData": {
                "fee": str(quant(self.notional(st.inst, qty, price) * MAKER_FEE)),
                "positionSize": "0",
                "feeCalculationInfo": [dict(fee_info[0], percentageFee=str(MAKER_FEE * 100))],
            },
            "takerOrderData": {
                "fee": str(quant(self.notional(st.inst, qty, price) * TAKER_FEE)),
                "positionSize": "0",
                "feeCalculationInfo": [dict(fee_info[0], percentageFee=str(TAKER_FEE * 100))],
            },
        }
        rec = {
            "uid": seeded_uuid(self.rng),
            "timestamp": ms(now),
            "event": {"Execution": {"execution": execution, "takerReducedQuantity": ""}},
        }
        for o in (taker, maker):
            if o.key is not None:
                acct = self.accounts[o.key]
                if o is maker and taker.key == maker.key:
                    continue
                acct.execution_history.append(rec)
        # the public record omits the account-specific parts
        private_keys = ("accountUid", "filled", "clientId", "spotData")
        pub_exec: dict[str, Any] = {k: v for k, v in execution.items() if k not in ("makerOrderData", "takerOrderData")}
        pub_exec["makerOrder"] = {k: v for k, v in hist(maker).items() if k not in private_keys}
        pub_exec["takerOrder"] = {k: v for k, v in hist(taker).items() if k not in private_keys}
        public_rec = {
            "uid": rec["uid"],
            "timestamp": rec["timestamp"],
            "event": {"Execution": {"execution": pub_exec, "takerReducedQuantity": ""}},
        }
        self.public_execs.setdefault(st.inst.symbol, deque(maxlen=2000)).append(public_rec)

    def public_executions(self, symbol: str) -> list[dict[str, Any]]:
        return list(self.public_execs.get(symbol, ()))

    # ------------------------------------------------------------------ order status view
    def order_status(self, acct: Account, o: Order) -> dict[str, Any]:
        if o.state == "open":
            status = "TRIGGER_PLACED" if o.is_trigger else "ENTERED_BOOK"
        elif o.state == "filled":
            status = "FULLY_EXECUTED"
        elif o.state == "rejected":
            status = "REJECTED"
        else:
            status = "CANCELLED"
        trig = None
        if o.order_type in TRIGGER_TYPES and o.stop_price is not None:
            trig = {
                "triggerPrice": num(o.stop_price),
                "triggerSide": "TRIGGER_ABOVE" if o.trigger_side() == "trigger_above" else "TRIGGER_BELOW",
                "triggerSignal": {"mark": "MARK_PRICE", "last": "LAST_PRICE", "index": "SPOT_PRICE"}[o.trigger_signal],
            }
        return {
            "order": {
                "type": "TRIGGER_ORDER" if o.is_trigger else "ORDER",
                "orderId": o.order_id,
                "cliOrdId": o.cli_ord_id,
                "symbol": o.symbol,
                "side": o.side,
                "quantity": num(o.qty),
                "filled": num(o.filled),
                "limitPrice": num(o.limit_price) if o.limit_price is not None else None,
                "reduceOnly": o.reduce_only,
                "timestamp": iso_ms(o.received),
                "lastUpdateTimestamp": iso_ms(o.last_update or o.received),
                "algoId": None,
                "priceTriggerOptions": trig,
                "triggerTime": None,
            },
            "status": status,
            "updateReason": o.update_reason if o.state != "rejected" else None,
            "error": o.error,
        }

    # ------------------------------------------------------------------ funding history
    def funding_history(self, symbol: str) -> list[dict[str, Any]]:
        st = self.markets[symbol]
        now = self.now()
        hour = math.floor(now / 3600) * 3600
        rng = random.Random(f"{self.seed}-funding-{symbol}")
        out = []
        for i in range(72, 0, -1):
            t = hour - i * 3600
            rel = Decimal(rng.randint(-30, 60)) / Decimal(10_000_000)
            out.append(
                {
                    "timestamp": iso_ms(t),
                    "fundingRate": quant(rel * st.index, Decimal("0.000000000001")),
                    "relativeFundingRate": rel,
                }
            )
        return out
