"""Derivatives WebSocket v1 at ``/ws/v1``: challenge flow, public and private feeds.

Message shapes follow Kraken's official examples (futures-ws-examples/). One connection serves
both public and private feeds; it is registered with the sandbox's ws registry as
``derivativesPublicV1`` and re-labelled ``derivativesPrivateV1`` once it has asked for a
challenge, so connection faults aimed at either key reach it.

Protocol pings are answered here, not by aiohttp (``autoping`` off, see :func:`new_ws_response`):
a stalled connection (``faults.stall_ws``) answers nothing at all, pings included, like a real
half-open connection, so a client's ping-based liveness check notices it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .._json import dumps
from ._util import ZERO, fnum, ms, num, quant, seeded_uuid
from .auth import verify_challenge
from .engine import Account, Event, Fill, Order

if TYPE_CHECKING:
    from .venue import FuturesVenue

__all__ = ["PRIVATE_FEEDS", "PUBLIC_FEEDS", "FuturesWsConnection", "new_ws_response"]

log = logging.getLogger("krakenkit.sandbox.futures.ws")

PUBLIC_FEEDS = ("ticker", "ticker_lite", "book", "trade")
PRIVATE_FEEDS = (
    "open_orders",
    "open_orders_verbose",
    "fills",
    "open_positions",
    "balances",
    "account_log",
    "notifications_auth",
)
WS_TYPE = {
    "lmt": "limit",
    "post": "post",
    "ioc": "ioc",
    "fok": "fok",
    "mkt": "market",
    "stp": "stop",
    "take_profit": "take_profit",
}


def new_ws_response() -> web.WebSocketResponse:
    """The response for ``/ws/v1``: pings are answered by :class:`FuturesWsConnection` itself."""
    return web.WebSocketResponse(autoping=False)


class FuturesWsConnection:
    """One client connection (satisfies the sandbox's ``LiveConnection`` protocol)."""

    def __init__(self, exchange: FuturesVenue, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.x = exchange
        self.engine = exchange.engine
        self.request = request
        self.ws = ws
        self.ws_key = "derivativesPublicV1"
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.stalled = False
        self.closed = False
        self.public: dict[str, set[str]] = {f: set() for f in PUBLIC_FEEDS}
        self.heartbeat = False
        self.private: set[str] = set()
        self.api_key: str | None = None
        self.fills_products: set[str] | None = None  # fills subscribed with product_ids
        self.challenges: dict[str, str] = {}
        self._pending_balance = False
        self._pending_positions = False
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ LiveConnection
    def abort(self) -> None:
        def _abort() -> None:
            self.closed = True
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            self.queue.put_nowait(None)

        self._threadsafe(_abort)

    def stall(self) -> None:
        def _stall() -> None:
            self.stalled = True

        self._threadsafe(_stall)

    def inject_text(self, text: str) -> None:
        self._threadsafe(lambda: self.queue.put_nowait(text))

    def _threadsafe(self, fn: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            fn()
        else:
            self.loop.call_soon_threadsafe(fn)

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        self._tasks = [
            asyncio.ensure_future(self._writer()),
            asyncio.ensure_future(self._periodic()),
        ]
        self.send({"event": "info", "version": 1})
        try:
            async for msg in self.ws:
                if self.stalled:
                    continue  # a stalled connection answers nothing, pings included
                if msg.type == WSMsgType.PING:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await self.ws.pong(msg.data)
                    continue
                if msg.type == WSMsgType.PONG:
                    continue
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.send({"event": "error", "message": "Json Error"})
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.closed = True
            self.queue.put_nowait(None)
            for t in self._tasks:
                t.cancel()
            for t in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    def send(self, obj: Any) -> None:
        if self.closed:
            return
        self.queue.put_nowait(dumps(obj).decode())

    async def _writer(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None or (self.closed and item is None):
                return
            if self.stalled:
                continue
            try:
                await self.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return

    async def _periodic(self) -> None:
        interval = self.x.feed_interval
        while not self.closed:
            await asyncio.sleep(interval)
            if self.stalled:
                continue
            if self.heartbeat:
                self.send({"feed": "heartbeat", "time": ms(self.x.ctx.now())})
            for sym in sorted(self.public["ticker"]):
                self.send(self.ticker(sym))
            for sym in sorted(self.public["ticker_lite"]):
                self.send(self.ticker_lite(sym))

    # ------------------------------------------------------------------ input
    def _log(self, data: dict[str, Any]) -> None:
        rl = getattr(self.x.ctx, "request_log", None)
        if rl is None:
            return
        try:
            rl.add("ws", str(data.get("event", "")), "/ws/v1", dict(data), api_key=data.get("api_key"))
        except Exception:  # pragma: no cover - logging must never break the feed
            log.debug("request log failed", exc_info=True)

    def _on_text(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            self.send({"event": "error", "message": "Json Error"})
            return
        if not isinstance(data, dict):
            self.send({"event": "error", "message": "Json Error"})
            return
        self._log(data)
        event = data.get("event")
        if event == "challenge":
            self._challenge(data)
        elif event in ("subscribe", "unsubscribe"):
            self._subscription(event, data)
        else:
            self.send({"event": "error", "message": "Invalid event"})

    def _challenge(self, data: dict[str, Any]) -> None:
        key = data.get("api_key")
        if not isinstance(key, str) or key not in self.engine.accounts:
            self.send({"event": "error", "message": "Invalid API key"})
            return
        challenge = seeded_uuid(self.x.ws_rng)
        self.challenges[key] = challenge
        self.ws_key = "derivativesPrivateV1"
        self.send({"event": "challenge", "message": challenge})

    def _subscription(self, event: str, data: dict[str, Any]) -> None:
        feed = data.get("feed")
        ignored = getattr(self.x.ctx.faults, "take_ignored_subscription", None)
        if ignored is not None and ignored(self.ws_key, event, feed):
            return  # an ignore_subscriptions fault: no ack, no data
        if feed == "heartbeat":
            self.heartbeat = event == "subscribe"
            self.send({"event": event + "d", "feed": "heartbeat"})
            return
        if feed in PUBLIC_FEEDS:
            products = data.get("product_ids")
            if not isinstance(products, list) or not products:
                self.send({"event": "error", "message": "Invalid product id"})
                return
            symbols = []
            for p in products:
                st = self.engine.market(str(p))
                if st is None:
                    self.send({"event": "error", "message": "Invalid product id"})
                    return
                symbols.append(st.inst.symbol)
            assert isinstance(feed, str)
            self.send({"event": event + "d", "feed": feed, "product_ids": [str(p) for p in products]})
            if event == "subscribe":
                for sym in symbols:
                    self.public[feed].add(sym)
                    self._public_snapshot(feed, sym)
            else:
                for sym in symbols:
                    self.public[feed].discard(sym)
            return
        if feed in PRIVATE_FEEDS:
            key = data.get("api_key")
            original = data.get("original_challenge")
            signed = data.get("signed_challenge")
            acct = self.engine.accounts.get(key) if isinstance(key, str) else None
            if (
                acct is None
                or not isinstance(original, str)
                or not isinstance(signed, str)
                or self.challenges.get(acct.key) != original
                or not verify_challenge(acct.secret, original, signed)
            ):
                self.send({"event": "error", "message": "Failed to subscribe to authenticated feed"})
                return
            assert isinstance(feed, str)
            # fills (only) may be narrowed to some products; the ack echoes product_ids
            products = data.get("product_ids") if feed == "fills" else None
            wanted: set[str] | None = None
            if products is not None:
                if not isinstance(products, list) or not products:
                    self.send({"event": "error", "message": "Invalid product id"})
                    return
                wanted = set()
                for p in products:
                    st = self.engine.market(str(p))
                    if st is None:
                        self.send({"event": "error", "message": "Invalid product id"})
                        return
                    wanted.add(st.inst.symbol)
            self.api_key = acct.key
            self.ws_key = "derivativesPrivateV1"
            ack: dict[str, Any] = {"event": event + "d", "feed": feed}
            if products is not None:
                ack["product_ids"] = [str(p) for p in products]
            ack.update({"api_key": acct.key, "original_challenge": original, "signed_challenge": signed})
            self.send(ack)
            if event == "subscribe":
                self.private.add(feed)
                if feed == "fills":
                    self.fills_products = wanted
                self._private_snapshot(feed, acct)
            else:
                self.private.discard(feed)
            return
        self.send({"event": "error", "message": "Invalid feed"})

    # ------------------------------------------------------------------ public messages
    def ticker(self, symbol: str) -> dict[str, Any]:
        st = self.engine.markets[symbol]
        inst = st.inst
        now = self.x.ctx.now()
        bid = st.best("buy") or ZERO
        ask = st.best("sell") or ZERO
        change = (st.last - st.open24h) / st.open24h * 100 if st.open24h else ZERO
        next_funding = (int(now // 3600) + 1) * 3600
        rel = st.funding_rate_rel
        return {
            "time": ms(now),
            "product_id": symbol,
            "funding_rate": fnum(quant(st.funding_rate, Decimal("0.000000000001"))),
            "funding_rate_prediction": fnum(quant(st.funding_rate * Decimal("0.9"), Decimal("0.000000000001"))),
            "relative_funding_rate": fnum(rel),
            "relative_funding_rate_prediction": fnum(quant(rel * Decimal("0.9"), Decimal("0.000000000001"))),
            "next_funding_rate_time": next_funding * 1000,
            "feed": "ticker",
            "bid": fnum(bid),
            "ask": fnum(ask),
            "bid_size": fnum(st.level_qty("buy", bid)),
            "ask_size": fnum(st.level_qty("sell", ask)),
            "volume": fnum(st.vol24h),
            "dtm": 0,
            "leverage": f"{int(inst.max_leverage)}x",
            "index": fnum(st.index),
            "premium": fnum(quant((st.mark - st.index) / st.index * 100, Decimal("0.1"))),
            "last": fnum(st.last),
            "change": fnum(quant(change, Decimal("0.0000000001"))),
            "suspended": st.suspended,
            "tag": "perpetual",
            "pair": inst.pair,
            "openInterest": fnum(st.open_interest),
            "markPrice": fnum(st.mark),
            "maturityTime": 0,
            "post_only": st.post_only,
            "volumeQuote": fnum(quant(st.volume_quote, Decimal("0.01"))),
            "open": fnum(st.open24h),
            "high": fnum(st.high24h),
            "low": fnum(st.low24h),
        }

    def ticker_lite(self, symbol: str) -> dict[str, Any]:
        st = self.engine.markets[symbol]
        change = (st.last - st.open24h) / st.open24h * 100 if st.open24h else ZERO
        return {
            "feed": "ticker_lite",
            "product_id": symbol,
            "bid": num(st.best("buy") or ZERO),
            "ask": num(st.best("sell") or ZERO),
            "change": fnum(quant(change, Decimal("0.0000000001"))),
            "premium": fnum(quant((st.mark - st.index) / st.index * 100, Decimal("0.1"))),
            "volume": num(st.vol24h),
            "tag": "perpetual",
            "pair": st.inst.pair,
            "dtm": 0,
            "maturityTime": 0,
            "volumeQuote": num(quant(st.volume_quote, Decimal("0.01"))),
        }

    def _public_snapshot(self, feed: str, symbol: str) -> None:
        st = self.engine.markets[symbol]
        if feed == "ticker":
            self.send(self.ticker(symbol))
        elif feed == "ticker_lite":
            self.send(self.ticker_lite(symbol))
        elif feed == "book":
            self.send(
                {
                    "feed": "book_snapshot",
                    "product_id": symbol,
                    "timestamp": ms(self.x.ctx.now()),
                    "seq": st.book_seq,
                    "tickSize": None,
                    "bids": [{"price": num(p), "qty": num(q)} for p, q in st.levels("buy")],
                    "asks": [{"price": num(p), "qty": num(q)} for p, q in st.levels("sell")],
                }
            )
        elif feed == "trade":
            trades = list(reversed(st.trades))[:100]
            self.send(
                {
                    "feed": "trade_snapshot",
                    "product_id": symbol,
                    "trades": [self._trade(symbol, t) for t in trades],
                }
            )

    @staticmethod
    def _trade(symbol: str, t: dict[str, Any]) -> dict[str, Any]:
        return {
            "feed": "trade",
            "product_id": symbol,
            "uid": t["uid"],
            "side": t["side"],
            "type": t["type"],
            "seq": t["seq"],
            "time": ms(t["time"]),
            "qty": num(t["qty"]),
            "price": num(t["price"]),
        }

    # ------------------------------------------------------------------ private messages
    def ws_order(self, o: Order) -> dict[str, Any]:
        d: dict[str, Any] = {
            "instrument": o.symbol,
            "time": ms(o.received),
            "last_update_time": ms(o.last_update or o.received),
            # qty is what is left of the order (a full_fill delta carries qty 0.0)
            "qty": fnum(max(o.remaining, ZERO)),
            "filled": fnum(o.filled),
        }
        if o.limit_price is not None:
            d["limit_price"] = fnum(o.limit_price)  # absent for stop-market triggers
        d.update(
            {
                "stop_price": fnum(o.stop_price if o.stop_price is not None and o.is_trigger else ZERO),
                "type": WS_TYPE.get(o.order_type, "limit") if o.is_trigger else "limit",
                "order_id": o.order_id,
            }
        )
        if o.cli_ord_id:
            d["cli_ord_id"] = o.cli_ord_id
        d["direction"] = 0 if o.side == "buy" else 1
        d["reduce_only"] = o.reduce_only
        if o.is_trigger:
            d["triggerSignal"] = o.trigger_signal if o.trigger_signal != "index" else "spot"
        return d

    def open_orders_delta(self, feed: str, data: dict[str, Any]) -> dict[str, Any]:
        """An ``open_orders`` / ``open_orders_verbose`` delta.

        ``is_cancel`` is true whenever the order leaves the client's list (cancelled, fully filled,
        rest of an IOC discarded, stop triggered). Fill-driven removals (``full_fill`` /
        ``partial_fill``) carry the order object; other removals only ``order_id`` (+ ``cli_ord_id``).
        """
        o: Order = data["order"]
        reason = data["reason"]
        removed = bool(data.get("removed")) or o.state != "open"
        if removed and not (reason in ("full_fill", "partial_fill") and data.get("is_cancel")):
            msg: dict[str, Any] = {"feed": feed, "order_id": o.order_id}
            if o.cli_ord_id:
                msg["cli_ord_id"] = o.cli_ord_id
            msg["is_cancel"] = True
            msg["reason"] = reason
            return msg
        return {"feed": feed, "order": self.ws_order(o), "is_cancel": removed, "reason": reason}

    def ws_fill(self, f: Fill) -> dict[str, Any]:
        d: dict[str, Any] = {
            "instrument": f.symbol,
            "time": ms(f.time),
            "price": fnum(f.price),
            "seq": f.seq,
            "buy": f.side == "buy",
            "qty": fnum(f.size),
            "remaining_order_qty": fnum(f.remaining_order_qty),
            "order_id": f.order_id,
        }
        if f.cli_ord_id:
            d["cli_ord_id"] = f.cli_ord_id
        d.update(
            {
                "fill_id": f.fill_id,
                "fill_type": f.fill_type,
                "fee_paid": fnum(f.fee),
                "fee_currency": "USD",
                "taker_order_type": WS_TYPE.get(f.taker_order_type, "limit"),
                "order_type": WS_TYPE.get(f.order_type, "limit"),
            }
        )
        return d

    def positions_msg(self, acct: Account) -> dict[str, Any]:
        out = []
        m = self.engine
        for pos in acct.positions.values():
            if pos.size == 0:
                continue
            st = m.markets[pos.symbol]
            im, mm = m.position_margin(acct, pos)
            upnl = m.upnl(pos, st.mark)
            notional = m.notional(st.inst, pos.size, st.mark)
            equity = m.margin(acct)["marginEquity"]
            lev = notional / equity if equity > 0 else ZERO
            d: dict[str, Any] = {
                "instrument": pos.symbol,
                "balance": fnum(pos.size),
                "pnl": fnum(quant(upnl)),
                "entry_price": fnum(pos.entry),
                "mark_price": fnum(st.mark),
                "index_price": fnum(st.index),
                "liquidation_threshold": fnum(self._liq_price(acct, pos.symbol)),
                "effective_leverage": fnum(quant(lev)),
                "return_on_equity": fnum(quant(upnl / im if im else ZERO)),
                "unrealized_funding": fnum(ZERO),
                "initial_margin": fnum(quant(im)),
                "initial_margin_with_orders": fnum(quant(im)),
                "maintenance_margin": fnum(quant(mm)),
            }
            if not st.inst.inverse:
                d["pnl_currency"] = acct.pnl_currency.get(pos.symbol, "USD")
            out.append(d)
        acct.ws_seq += 1
        return {
            "feed": "open_positions",
            "account": acct.account_uid,
            "positions": out,
            "seq": acct.ws_seq,
            "timestamp": ms(self.x.ctx.now()),
        }

    def _liq_price(self, acct: Account, symbol: str) -> Decimal:
        m = self.engine
        pos = acct.positions[symbol]
        st = m.markets[symbol]
        if pos.size == 0 or st.inst.inverse:
            return ZERO
        margin = m.margin(acct)
        room = margin["marginEquity"] - margin["maintenanceMargin"]
        price = st.mark - room / pos.size
        return quant(max(price, ZERO), Decimal("0.01"))

    def flex_block(self, acct: Account) -> dict[str, Any]:
        m = self.engine.margin(acct)
        currencies = {
            cur: {
                "quantity": fnum(v["quantity"]),
                "value": fnum(v["value"]),
                "collateral_value": fnum(v["collateral"]),
                "available": fnum(v["available"]),
                "haircut": fnum(v["haircut"]),
                "conversion_spread": fnum(v["conversion_spread"]),
            }
            for cur, v in self.engine.currencies(acct).items()
        }
        isolated = {}
        for sym in acct.leverage:
            pos = acct.positions.get(sym)
            im = mm = pnl = ZERO
            if pos is not None and pos.size != 0:
                im, mm = self.engine.position_margin(acct, pos)
                pnl = self.engine.upnl(pos, self.engine.markets[sym].mark)
            isolated[sym] = {
                "initial_margin": fnum(quant(im)),
                "initial_margin_without_orders": fnum(quant(im)),
                "maintenance_margin": fnum(quant(mm)),
                "pnl": fnum(quant(pnl)),
                "unrealized_funding": fnum(ZERO),
                "total_unrealized": fnum(quant(pnl)),
                "total_unrealized_as_margin": fnum(quant(pnl)),
            }
        equity = m["marginEquity"]
        notional = sum(
            (
                self.engine.notional(self.engine.markets[p.symbol].inst, p.size, self.engine.markets[p.symbol].mark)
                for p in acct.positions.values()
                if p.size != 0
            ),
            ZERO,
        )
        margins = {
            "portfolio_value": fnum(m["portfolioValue"]),
            "collateral_value": fnum(m["collateralValue"]),
            "initial_margin": fnum(m["initialMarginWithOrders"]),
            "initial_margin_without_orders": fnum(m["initialMargin"]),
            "maintenance_margin": fnum(m["maintenanceMargin"]),
            "pnl": fnum(m["pnl"]),
            "unrealized_funding": fnum(ZERO),
            "total_unrealized": fnum(m["totalUnrealized"]),
            "total_unrealized_as_margin": fnum(m["totalUnrealizedAsMargin"]),
            "margin_equity": fnum(equity),
            "available_margin": fnum(m["availableMargin"]),
        }
        return {
            "currencies": currencies,
            "balance_value": fnum(m["balanceValue"]),
            **margins,
            "isolated": isolated,
            "cross": {
                "balance": fnum(m["balanceValue"]),
                **margins,
                "effective_leverage": fnum(quant(notional / equity if equity > 0 else ZERO)),
            },
        }

    def balances_msg(self, acct: Account, snapshot: bool) -> dict[str, Any]:
        acct.ws_seq += 1
        msg: dict[str, Any] = {
            "feed": "balances_snapshot" if snapshot else "balances",
            "account": acct.account_uid,
        }
        if snapshot:
            msg["holding"] = {}
            msg["futures"] = {}
        msg["flex_futures"] = self.flex_block(acct)
        msg["timestamp"] = ms(self.x.ctx.now())
        msg["seq"] = acct.ws_seq
        return msg

    def _notification(self, n: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": n["id"],
            "type": n["type"],
            "priority": n["priority"],
            "note": n["note"],
            "effective_time": ms(n["time"]),
        }

    def _private_snapshot(self, feed: str, acct: Account) -> None:
        if feed in ("open_orders", "open_orders_verbose"):
            orders = sorted(acct.open_orders(), key=lambda o: o.received)
            self.send(
                {
                    "feed": feed + "_snapshot",
                    "account": acct.account_uid,
                    "orders": [self.ws_order(o) for o in orders],
                }
            )
        elif feed == "fills":
            self.send(
                {
                    "feed": "fills_snapshot",
                    "account": acct.account_uid,
                    "fills": [
                        self.ws_fill(f)
                        for f in reversed(acct.fills)
                        if self.fills_products is None or f.symbol in self.fills_products
                    ][:100],
                }
            )
        elif feed == "open_positions":
            self.send(self.positions_msg(acct))
        elif feed == "balances":
            self.send(self.balances_msg(acct, snapshot=True))
        elif feed == "account_log":
            self.send({"feed": "account_log_snapshot", "logs": list(reversed(acct.account_log[-500:]))})
        elif feed == "notifications_auth":
            self.send(
                {
                    "feed": "notifications_auth",
                    "notifications": [self._notification(n) for n in self.engine.notifications],
                }
            )

    # ------------------------------------------------------------------ engine events
    def on_event(self, ev: Event) -> None:
        if self.closed:
            return
        if ev.kind == "book" and ev.symbol in self.public["book"]:
            d = ev.data
            self.send(
                {
                    "feed": "book",
                    "product_id": ev.symbol,
                    "side": d["side"],
                    "seq": d["seq"],
                    "price": num(d["price"]),
                    "qty": num(d["qty"]),
                    "timestamp": d["timestamp"],
                }
            )
            return
        if ev.kind == "trade" and ev.symbol in self.public["trade"]:
            self.send(self._trade(ev.symbol, ev.data))
            return
        if ev.kind == "notification" and "notifications_auth" in self.private:
            self.send({"feed": "notifications_auth", "notifications": [self._notification(ev.data)]})
            return
        if ev.key is None or ev.key != self.api_key:
            return
        acct = self.engine.accounts.get(ev.key)
        if acct is None:
            return
        if ev.kind == "order":
            for feed in ("open_orders", "open_orders_verbose"):
                if feed in self.private and (feed == "open_orders_verbose" or not ev.data.get("verbose_only")):
                    self.send(self.open_orders_delta(feed, ev.data))
        elif ev.kind == "fill" and "fills" in self.private:
            fill: Fill = ev.data["fill"]
            if self.fills_products is None or fill.symbol in self.fills_products:
                self.send({"feed": "fills", "username": acct.account_uid, "fills": [self.ws_fill(fill)]})
        elif ev.kind == "position" and "open_positions" in self.private:
            if not self._pending_positions:
                self._pending_positions = True
                self.loop.call_soon(self._flush_positions, acct)
        elif ev.kind == "balance" and "balances" in self.private:
            if not self._pending_balance:
                self._pending_balance = True
                self.loop.call_soon(self._flush_balance, acct)
        elif ev.kind == "account_log" and "account_log" in self.private:
            self.send({"feed": "account_log", "new_entry": ev.data["entry"]})

    def _flush_positions(self, acct: Account) -> None:
        self._pending_positions = False
        if "open_positions" in self.private:
            self.send(self.positions_msg(acct))

    def _flush_balance(self, acct: Account) -> None:
        self._pending_balance = False
        if "balances" in self.private:
            self.send(self.balances_msg(acct, snapshot=False))
