"""Spot WebSocket v2 of the sandbox (``/v2``, ``/auth/v2``, ``/l3/v2``, ``/beta/v2``, ``/beta-auth/v2``)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from ..context import SandboxContext
from ..fault_bodies import garble_text
from .auth import ApiKey
from .checksum import book_checksum, l3_checksum
from .engine import (
    CLOSE_ORDER_TYPES,
    INTERNAL,
    OHLC_INTERVALS,
    PRICE_TYPES,
    CloseSpec,
    Event,
    ExecEvent,
    L3Event,
    LedgerEvent,
    Order,
    OrderError,
    TradeEvent,
    TradeRecord,
    check_price,
    to_decimal,
)
from .exchange import SpotExchange
from .fastbook import TAIL, FastRing, build_ring, corrupt_head, ws_frame
from .market import ASSETS, PAIRS, Pair, find_pair
from .rest import check_deadline, close_text

__all__ = ["WS_PATHS", "SpotWs"]

log = logging.getLogger("krakenkit.sandbox")

D = Decimal
WS_PATHS = {
    "/v2": "spotPublicV2",
    "/auth/v2": "spotPrivateV2",
    "/l3/v2": "spotL3V2",
    "/beta/v2": "spotBetaPublicV2",
    "/beta-auth/v2": "spotBetaPrivateV2",
}
PRIVATE_KEYS = {"spotPrivateV2", "spotBetaPrivateV2"}
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
TRIGGER_ORDER_TYPES = frozenset({"stop-loss", "take-profit", "stop-loss-limit", "take-profit-limit"})
L3_DEPTHS = (10, 100, 1000)
# Error strings Kraken sends (captured from the live service by public client projects; see
# docs/sandbox-fidelity.md): a request without ``token``, and a ``depth`` outside the offered set.
NO_TOKEN = "Token(s) not found"  # noqa: S105 - an error message
BAD_DEPTH = "Subscription depth not supported"
# Field of the execution reports when the executions subscription asked for ``ratecounter``. The v2 page
# says only "the rate-limit counter is included in the stream"; the name is the one of the v1
# ``openOrders`` channel ("ratecount: Rate-limit counter, present if requested in subscription request"),
# see docs/sandbox-fidelity.md.
RATECOUNT_FIELD = "ratecount"
_enc = msgspec.json.Encoder(decimal_format="number")
_dec = msgspec.json.Decoder(float_hook=Decimal)
WAKE = ""  # queued to wake the writer (never sent)
FAST_BATCH = 512  # fast-mode frames per stream per write
FAST_HIGH_WATER = 256 * 1024  # transport write buffer limit while streaming
# add_order / batch_add ``deadline``: "Range of valid offsets (from current time) is 500 milliseconds to
# 60 seconds, default is 5 seconds" (see docs/sandbox-fidelity.md)
WS_DEFAULT_DEADLINE = 5.0


def ts(t: float) -> str:
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return f"{base}.{int((t % 1) * 1_000_000):06d}Z"


def ts_ns(t: float) -> str:
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return f"{base}.{int((t % 1) * 1_000_000):06d}000Z"


def q(value: Decimal, places: int) -> Decimal:
    return value.quantize(D(1).scaleb(-places), ROUND_HALF_EVEN)


class Conn:
    """One WS connection (implements ``context.LiveConnection``)."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, ws_key: str, conn_id: int) -> None:
        self.ws = ws
        self.request = request
        self.ws_key = ws_key
        self.conn_id = conn_id
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.stalled = False
        self.closed = False
        self.subs: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, symbol|"") -> options
        self.key: ApiKey | None = None
        self.seq: dict[str, int] = {}
        self.last_sent = time.monotonic()
        self.tasks: list[asyncio.Task[None]] = []
        self.deferred: list[str] | None = None
        self.fast: dict[str, FastStream] = {}  # fast-mode book streams by symbol
        self.fast_used = False
        self.reply_fault: str | None = None  # ws_garble_reply kind for the request being processed

    # LiveConnection
    def abort(self) -> None:
        self.closed = True
        tr = self.request.transport
        if tr is not None:
            tr.abort()
        self.queue.put_nowait(None)

    def stall(self) -> None:
        self.stalled = True

    def inject_text(self, text: str) -> None:
        self.queue.put_nowait(text)

    def send(self, msg: Any) -> None:
        self.send_raw(_enc.encode(msg).decode())

    def send_raw(self, text: str) -> None:
        if self.closed or self.stalled:
            return
        if self.deferred is not None:
            self.deferred.append(text)
            return
        self.queue.put_nowait(text)

    def send_now(self, msg: Any) -> None:
        """Send ahead of anything deferred (request acks go before the channel updates they cause)."""
        if self.closed or self.stalled:
            return
        text = _enc.encode(msg).decode()
        if self.reply_fault is not None:  # a ws_garble_reply fault: another frame, or none
            garbled = garble_text(text, self.reply_fault)
            if garbled is None:
                return
            text = garbled
        self.queue.put_nowait(text)

    def flush_deferred(self) -> None:
        items, self.deferred = self.deferred or [], None
        for text in items:
            self.send_raw(text)

    def next_seq(self, channel: str) -> int:
        n = self.seq.get(channel, 0) + 1
        self.seq[channel] = n
        return n


class FastStream:
    """A connection's position in a fast-mode ring."""

    __slots__ = ("pos", "ring")

    def __init__(self, ring: FastRing) -> None:
        self.ring = ring
        self.pos = 0


class BookView:
    """The top ``depth`` levels of one side pair as last published, shared by all subscribers."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}


class SpotWs:
    def __init__(self, ex: SpotExchange) -> None:
        self.ex = ex
        self.ctx: SandboxContext = ex.ctx
        self.conns: set[Conn] = set()
        self._next_conn_id = 13834774380200032777 % (2**63)
        self.views: dict[tuple[str, int], BookView] = {}
        self.l3views: dict[tuple[str, int], dict[str, tuple[str, Decimal, Decimal, float]]] = {}
        self.rings: dict[tuple[str, int], FastRing] = {}
        ex.listeners.append(self.on_events)
        self.ctx.faults.add_status_listener(self.on_status)
        self._bbo: dict[str, tuple[Decimal | None, Decimal | None, Decimal, Decimal]] = {}
        self.received_at = 0.0  # exchange-clock receipt time of the trading request being processed

    def add_routes(self, app: web.Application) -> None:
        for path in WS_PATHS:
            app.router.add_get(path, self.handle)

    async def stop(self) -> None:
        for c in list(self.conns):
            c.closed = True
            for t in c.tasks:
                t.cancel()
            tr = c.request.transport
            if c.fast_used and tr is not None:
                tr.abort()  # a flooded client may not read up to our close frame
                continue
            try:
                await asyncio.wait_for(c.ws.close(), 2.0)
            except Exception:
                if tr is not None:
                    tr.abort()

    async def heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for c in list(self.conns):
                if c.subs and now - c.last_sent >= 0.95:
                    c.send_raw('{"channel":"heartbeat"}')

    # connection ------------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws_key = WS_PATHS[request.path]
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20, compress=False)
        await ws.prepare(request)
        self._next_conn_id += 1
        conn = Conn(ws, request, ws_key, self._next_conn_id)
        self.conns.add(conn)
        self.ctx.ws_registry.register(conn)
        writer = asyncio.create_task(self._writer(conn))
        conn.tasks.append(writer)
        conn.send(
            {
                "channel": "status",
                "type": "update",
                "data": [
                    {
                        "api_version": "v2",
                        "connection_id": conn.conn_id,
                        "system": self.ctx.faults.system_status,
                        "version": "2.0.0",
                    }
                ],
            }
        )
        try:
            async for msg in ws:
                if conn.stalled or conn.closed:
                    continue
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            conn.closed = True
            self.conns.discard(conn)
            self.ctx.ws_registry.unregister(conn)
            for t in conn.tasks:
                t.cancel()
            tr = request.transport
            if conn.fast_used and tr is not None:
                # aiohttp answered the client's close frame behind whatever fast-mode data is still
                # buffered: if that has not drained shortly, the client is not reading any more, so
                # reset the connection instead of holding it. (A client that paused reading, as
                # ``websockets`` does while closing with a full queue, only notices at its close
                # timeout either way.)
                asyncio.get_running_loop().call_later(0.5, _abort_if_stuck, tr)
        return ws

    async def _writer(self, conn: Conn) -> None:
        ws = conn.ws
        try:
            while True:
                if conn.fast and not conn.stalled:
                    if not await self._fast_round(conn):
                        return
                    continue
                text = await conn.queue.get()
                if text is None or conn.closed:
                    return
                if text == WAKE or (conn.stalled and text.startswith("{")):
                    continue
                await ws.send_str(text)
                conn.last_sent = time.monotonic()
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return
        except Exception:  # pragma: no cover
            log.debug("ws writer stopped", exc_info=True)

    async def _fast_round(self, conn: Conn) -> bool:
        """Fast mode: write queued messages, then one batch of every ring stream, straight to the
        transport as pre-built frames; wait while the transport is paused (flow control). Returns
        False when the connection is gone."""
        tr = conn.request.transport
        if tr is None or tr.is_closing() or conn.closed:
            return False
        if tr.get_write_buffer_limits()[1] < FAST_HIGH_WATER:
            tr.set_write_buffer_limits(high=FAST_HIGH_WATER)
        parts: list[bytes] = []
        q = conn.queue
        while not q.empty():
            text = q.get_nowait()
            if text is None:
                return False
            if text != WAKE:
                parts.append(ws_frame(text.encode()))
        stamp = ts(self.ctx.now())
        faults = self.ctx.faults
        for sym, st in list(conn.fast.items()):
            ring = st.ring
            if faults.take_corrupt_checksum(sym) and len(ring):
                first = corrupt_head(ring, st.pos % len(ring))
                rest, st.pos = ring.batch(st.pos + 1, FAST_BATCH - 1, stamp)
                sep = stamp.encode() + TAIL
                parts.append(first + sep + rest)
            else:
                data, st.pos = ring.batch(st.pos, FAST_BATCH, stamp)
                parts.append(data)
        if parts:
            tr.write(b"".join(parts))
            conn.last_sent = time.monotonic()
        await conn.request.writer.drain()  # returns at once unless the transport paused writing
        await asyncio.sleep(0)  # let the reader (unsubscribe, ping) and other connections run
        return True

    # requests --------------------------------------------------------------------------------------------
    def _on_text(self, conn: Conn, text: str) -> None:
        time_in = self.ctx.now()
        try:
            req = _dec.decode(text)
        except msgspec.DecodeError:
            conn.send(
                {
                    "error": "Malformed request",
                    "method": "",
                    "success": False,
                    "time_in": ts(time_in),
                    "time_out": ts(self.ctx.now()),
                }
            )
            return
        if not isinstance(req, dict):
            conn.send(
                {"error": "Malformed request", "success": False, "time_in": ts(time_in), "time_out": ts(self.ctx.now())}
            )
            return
        method = req.get("method")
        params = req.get("params") or {}
        req_id = req.get("req_id")
        self.ctx.request_log.add("ws", str(method), conn.ws_key, {"params": params, "req_id": req_id})
        if not isinstance(params, dict):
            self._error(conn, str(method), "EGeneral:Invalid arguments", req_id, time_in)
            return
        if method == "ping":
            out: dict[str, Any] = {"method": "pong"}
            if req_id is not None:
                out["req_id"] = req_id
            out["time_in"] = ts(time_in)
            out["time_out"] = ts(self.ctx.now())
            conn.send(out)
            return
        if method in ("subscribe", "unsubscribe"):
            self._subscription(conn, method, params, req_id, time_in)
            return
        handler = TRADING.get(str(method))
        if handler is None:
            self._error(conn, str(method), "Method not found", req_id, time_in)
            return
        if conn.ws_key not in PRIVATE_KEYS:
            self._error(conn, str(method), "Method not supported on this endpoint", req_id, time_in)
            return
        key = self._authorize(conn, str(method), params, req_id, time_in)
        if key is None:
            return
        # the token is checked on receipt; a ws_late_arrival fault delays the processing
        received = self.ctx.now()
        delay = self.ctx.faults.take_ws_late(str(method))
        if delay:
            args = (conn, str(method), handler, key, params, req_id, time_in, received)
            self.ctx.faults.call_later(delay, self._process_trading, *args)
            return
        self._process_trading(conn, str(method), handler, key, params, req_id, time_in, received)

    def _process_trading(
        self,
        conn: Conn,
        method: str,
        handler: str,
        key: ApiKey,
        params: dict[str, Any],
        req_id: Any,
        time_in: float,
        received: float,
    ) -> None:
        """Process a trading request received at ``received`` (exchange clock) and reply (if the
        connection is still open)."""
        self.received_at = received
        conn.deferred = []
        conn.reply_fault = self.ctx.faults.take_ws_garble(method)
        try:
            getattr(self, handler)(conn, key, params, req_id, time_in)
        except OrderError as exc:
            self._error(conn, method, exc.error, req_id, time_in)
        except (ValueError, ArithmeticError, KeyError, TypeError):
            self._error(conn, method, "EGeneral:Invalid arguments", req_id, time_in)
        finally:
            conn.reply_fault = None
            conn.flush_deferred()

    def _ack(
        self, conn: Conn, method: str, result: Any, req_id: Any, time_in: float, warnings: list[str] | None = None
    ) -> None:
        out: dict[str, Any] = {"method": method}
        if req_id is not None:
            out["req_id"] = req_id
        out["result"] = result
        out["success"] = True
        if warnings:
            out["warnings"] = warnings
        out["time_in"] = ts(time_in)
        out["time_out"] = ts(self.ctx.now())
        conn.send_now(out)

    def _error(self, conn: Conn, method: str, error: str, req_id: Any, time_in: float, **extra: Any) -> None:
        out: dict[str, Any] = {"error": error, "method": method}
        if req_id is not None:
            out["req_id"] = req_id
        out.update(extra)
        out["success"] = False
        out["time_in"] = ts(time_in)
        out["time_out"] = ts(self.ctx.now())
        conn.send_now(out)

    def _token(self, conn: Conn, params: dict[str, Any]) -> ApiKey | None:
        tok = params.get("token")
        if not isinstance(tok, str):
            return None
        key = self.ex.keys.use_token(tok, self.ctx.now())
        if key is None:
            return None
        conn.key = key
        return key

    def _authorize(self, conn: Conn, method: str, params: dict[str, Any], req_id: Any, time_in: float) -> ApiKey | None:
        """The key of the request's token; without a valid token, None after sending the error reply
        (no token given: ``Token(s) not found``, else ``ESession:Invalid session``)."""
        key = self._token(conn, params)
        if key is None:
            self._error(
                conn, method, NO_TOKEN if params.get("token") is None else "ESession:Invalid session", req_id, time_in
            )
        return key

    # subscriptions ---------------------------------------------------------------------------------------
    def _subscription(self, conn: Conn, method: str, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        channel = params.get("channel")
        if self.ctx.faults.take_ignored_subscription(conn.ws_key, method, channel):
            return
        sub = method == "subscribe"
        if channel == "heartbeat":
            if sub:
                conn.subs[("heartbeat", "")] = {}
            else:
                conn.subs.pop(("heartbeat", ""), None)
            self._ack(conn, method, {"channel": "heartbeat"}, req_id, time_in)
            return
        if channel == "status":
            self._ack(conn, method, {"channel": "status"}, req_id, time_in)
            return
        if channel in ("executions", "balances"):
            if conn.ws_key not in PRIVATE_KEYS:
                self._error(conn, method, "Channel not supported on this endpoint", req_id, time_in)
                return
            key = self._authorize(conn, method, params, req_id, time_in)
            if key is None:
                return
            if channel == "executions":
                self._sub_executions(conn, method, key, params, req_id, time_in)
            else:
                self._sub_balances(conn, method, key, params, req_id, time_in)
            return
        if channel == "instrument":
            snapshot = params.get("snapshot", True) is not False
            if sub:
                conn.subs[("instrument", "")] = {}
                self._ack(
                    conn,
                    method,
                    {
                        "channel": "instrument",
                        "snapshot": snapshot,
                        "warnings": ["tick_size is deprecated, use price_increment"],
                    },
                    req_id,
                    time_in,
                )
                if snapshot:
                    conn.send({"channel": "instrument", "type": "snapshot", "data": instrument_data()})
            else:
                conn.subs.pop(("instrument", ""), None)
                self._ack(conn, method, {"channel": "instrument"}, req_id, time_in)
            return
        if channel not in ("ticker", "book", "trade", "ohlc", "level3"):
            self._error(conn, method, "Channel not found", req_id, time_in)
            return
        if channel == "level3":
            if conn.ws_key != "spotL3V2":
                self._error(conn, method, "Channel not supported on this endpoint", req_id, time_in)
                return
            if self._authorize(conn, method, params, req_id, time_in) is None:
                return
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            self._error(conn, method, "Invalid symbol", req_id, time_in)
            return
        snapshot = params.get("snapshot", True) is not False
        depth = params.get("depth", 10)
        if channel == "book" and depth not in BOOK_DEPTHS:
            self._error(conn, method, BAD_DEPTH, req_id, time_in)
            return
        if channel == "level3" and depth not in L3_DEPTHS:
            self._error(conn, method, BAD_DEPTH, req_id, time_in)
            return
        interval = params.get("interval", 1)
        if channel == "ohlc" and interval not in OHLC_INTERVALS:
            self._error(conn, method, "Invalid interval", req_id, time_in)
            return
        trigger = params.get("event_trigger", "trades")
        for sym in symbols:
            pair = find_pair(str(sym)) if isinstance(sym, str) and "/" in sym else None
            if pair is None or pair.symbol != sym:
                self._error(conn, method, f"Currency pair not supported {sym}", req_id, time_in, symbol=sym)
                continue
            result: dict[str, Any] = {"channel": channel}
            if channel == "book":
                result["depth"] = depth
            if channel == "ohlc":
                result["interval"] = interval
            if not sub:
                conn.subs.pop((channel, sym), None)
                if channel == "book":
                    conn.fast.pop(sym, None)
                if channel == "book":
                    result["snapshot"] = snapshot
                if channel == "ticker":
                    result["event_trigger"] = trigger
                result["symbol"] = sym
                self._ack(conn, method, result, req_id, time_in)
                continue
            if (channel, sym) in conn.subs:
                self._error(conn, method, "Already subscribed", req_id, time_in, symbol=sym)
                continue
            result["snapshot"] = snapshot
            result["symbol"] = sym
            warnings = ["timestamp is deprecated, use interval_begin"] if channel == "ohlc" else None
            if warnings:
                result["warnings"] = warnings
            opts = {"depth": depth, "interval": interval, "trigger": trigger}
            conn.subs[(channel, sym)] = opts
            self._ack(conn, method, result, req_id, time_in)
            if channel == "book":
                self._book_snapshot(conn, pair, depth, snapshot)
            elif channel == "level3":
                self._l3_snapshot(conn, pair, depth, snapshot)
            elif snapshot:
                if channel == "ticker":
                    conn.send({"channel": "ticker", "type": "snapshot", "data": [self._ticker(pair)]})
                elif channel == "trade":
                    trades = list(self.ex.engine.books[pair.key].trades)[-50:]
                    conn.send({"channel": "trade", "type": "snapshot", "data": [self._trade(pair, t) for t in trades]})
                elif channel == "ohlc":
                    candles = list(self.ex.engine.books[pair.key].candles[interval])[-720:]
                    conn.send(
                        {
                            "channel": "ohlc",
                            "type": "snapshot",
                            "timestamp": ts_ns(time.time()),
                            "data": [self._candle(pair, c, interval) for c in candles],
                        }
                    )

    # public data -----------------------------------------------------------------------------------------
    def _ticker(self, pair: Pair) -> dict[str, Any]:
        b = self.ex.engine.books[pair.key]
        pd, ld = pair.pair_decimals, pair.lot_decimals
        bid, ask = b.bids.best(), b.asks.best()
        vwap = b.vwap_num / b.volume if b.volume else b.last_price
        change = b.last_price - b.open_price
        pct = (change / b.open_price * 100) if b.open_price else D(0)
        return {
            "symbol": pair.symbol,
            "bid": q(bid.price, pd) if bid else D(0),
            "bid_qty": q(bid.qty, ld) if bid else D(0),
            "ask": q(ask.price, pd) if ask else D(0),
            "ask_qty": q(ask.qty, ld) if ask else D(0),
            "last": q(b.last_price, pd),
            "volume": q(b.volume, ld),
            "vwap": q(vwap, pd),
            "low": q(b.low, pd),
            "high": q(b.high, pd),
            "change": q(change, pd),
            "change_pct": q(pct, 2),
            "timestamp": ts(time.time()),
        }

    def _trade(self, pair: Pair, t: Any) -> dict[str, Any]:
        return {
            "symbol": pair.symbol,
            "side": t.side,
            "price": q(t.price, pair.pair_decimals),
            "qty": q(t.qty, pair.lot_decimals),
            "ord_type": t.ordertype,
            "trade_id": t.trade_id,
            "timestamp": ts(t.time),
        }

    def _candle(self, pair: Pair, c: list[Any], interval: int) -> dict[str, Any]:
        pd = pair.pair_decimals
        vwap = c[5] / c[6] if c[6] else c[4]
        return {
            "symbol": pair.symbol,
            "open": q(c[1], pd),
            "high": q(c[2], pd),
            "low": q(c[3], pd),
            "close": q(c[4], pd),
            "trades": c[7],
            "volume": q(c[6], pair.lot_decimals),
            "vwap": q(vwap, pd),
            "interval_begin": ts_ns(c[0]),
            "interval": interval,
            "timestamp": ts(c[0] + interval * 60),
        }

    def _top(self, pair: Pair, depth: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        b = self.ex.engine.books[pair.key]
        return ([(lv.price, lv.qty) for lv in b.bids.top(depth)], [(lv.price, lv.qty) for lv in b.asks.top(depth)])

    def _view(self, pair: Pair, depth: int) -> BookView:
        v = self.views.get((pair.key, depth))
        if v is None:
            v = BookView(depth)
            bids, asks = self._top(pair, depth)
            v.bids = dict(bids)
            v.asks = dict(asks)
            self.views[(pair.key, depth)] = v
        return v

    def _checksum(self, pair: Pair, view: BookView | None = None) -> int:
        # the view always equals the live top-N after publishing, so use the sorted live book
        bids, asks = self._top(pair, 10)
        value = book_checksum(asks, bids, pair.pair_decimals, pair.lot_decimals)
        if self.ctx.faults.take_corrupt_checksum(pair.symbol):
            value ^= 0x5A5A5A5A
        return value

    def _ring(self, pair: Pair, depth: int) -> FastRing:
        ring = self.rings.get((pair.key, depth))
        if ring is None:
            bids, asks = self._top(pair, depth)
            ring = build_ring(
                pair.symbol,
                bids,
                asks,
                depth,
                pair.pair_decimals,
                pair.lot_decimals,
                pair.tick_size,
                seed=self.ctx.seed,
            )
            self.rings[(pair.key, depth)] = ring
        return ring

    def _book_snapshot(self, conn: Conn, pair: Pair, depth: int, snapshot: bool) -> None:
        if self.ctx.fast_mode:
            # synthetic stream: a frozen snapshot, then its ring of updates as fast as the socket takes them
            ring = self._ring(pair, depth)
            if snapshot:
                msg = ring.snapshot_message(ts(time.time()))
                if self.ctx.faults.take_corrupt_checksum(pair.symbol):
                    msg["data"][0]["checksum"] ^= 0x5A5A5A5A
                conn.send(msg)
            if len(ring):  # an empty book has nothing to stream
                conn.fast[pair.symbol] = FastStream(ring)
                conn.fast_used = True
                conn.queue.put_nowait(WAKE)
            return
        view = self._view(pair, depth)
        if not snapshot:
            return
        pd, ld = pair.pair_decimals, pair.lot_decimals
        bids, asks = self._top(pair, depth)
        conn.send(
            {
                "channel": "book",
                "type": "snapshot",
                "data": [
                    {
                        "symbol": pair.symbol,
                        "bids": [{"price": q(p, pd), "qty": q(x, ld)} for p, x in bids],
                        "asks": [{"price": q(p, pd), "qty": q(x, ld)} for p, x in asks],
                        "checksum": self._checksum(pair, view),
                        "timestamp": ts(time.time()),
                    }
                ],
            }
        )

    def _l3_snapshot(self, conn: Conn, pair: Pair, depth: int, snapshot: bool) -> None:
        self._l3view(pair, depth)
        if not snapshot:
            return
        eng = self.ex.engine
        pd, ld = pair.pair_decimals, pair.lot_decimals

        def side(s: str) -> list[dict[str, Any]]:
            return [
                {
                    "order_id": o.txid,
                    "limit_price": q(lvl.price, pd),
                    "order_qty": q(o.remaining, ld),
                    "timestamp": ts_ns(o.opentm),
                }
                for lvl, orders in eng.l3_orders(pair.key, s, depth)
                for o in orders
            ]

        conn.send(
            {
                "channel": "level3",
                "type": "snapshot",
                "data": [
                    {
                        "symbol": pair.symbol,
                        "checksum": self._l3_checksum(pair),
                        "bids": side("buy"),
                        "asks": side("sell"),
                    }
                ],
            }
        )

    def _l3view(self, pair: Pair, depth: int) -> dict[str, tuple[str, Decimal, Decimal, float]]:
        v = self.l3views.get((pair.key, depth))
        if v is None:
            v = self._l3_current(pair, depth)
            self.l3views[(pair.key, depth)] = v
        return v

    def _l3_current(self, pair: Pair, depth: int) -> dict[str, tuple[str, Decimal, Decimal, float]]:
        eng = self.ex.engine
        out: dict[str, tuple[str, Decimal, Decimal, float]] = {}
        for s in ("buy", "sell"):
            for lvl, orders in eng.l3_orders(pair.key, s, depth):
                for o in orders:
                    out[o.txid] = (s, lvl.price, o.remaining, o.opentm)
        return out

    def _l3_checksum(self, pair: Pair) -> int:
        eng = self.ex.engine

        def levels(s: str) -> list[list[tuple[Decimal, Decimal]]]:
            return [[(lvl.price, o.remaining) for o in orders] for lvl, orders in eng.l3_orders(pair.key, s, 10)]

        value = l3_checksum(levels("sell"), levels("buy"), pair.pair_decimals, pair.lot_decimals)
        if self.ctx.faults.take_corrupt_checksum(pair.symbol):
            value ^= 0x5A5A5A5A
        return value

    # events ----------------------------------------------------------------------------------------------
    def on_status(self, status: str) -> None:
        for c in list(self.conns):
            c.send(
                {
                    "channel": "status",
                    "type": "update",
                    "data": [{"api_version": "v2", "connection_id": c.conn_id, "system": status, "version": "2.0.0"}],
                }
            )

    def on_events(self, events: list[Event]) -> None:
        if not self.conns:
            self.views.clear()
            self.l3views.clear()
            return
        touched: set[str] = set()
        trades: dict[str, list[Any]] = {}
        execs: dict[str, list[ExecEvent]] = {}
        ledgers: dict[str, list[LedgerEvent]] = {}
        for e in events:
            if isinstance(e, L3Event):
                touched.add(e.pair.key)
            elif isinstance(e, TradeEvent):
                trades.setdefault(e.pair.key, []).append(e.trade)
                touched.add(e.pair.key)
            elif isinstance(e, ExecEvent):
                if e.account != INTERNAL:
                    execs.setdefault(e.account, []).append(e)
            elif isinstance(e, LedgerEvent):
                ledgers.setdefault(e.account, []).append(e)
        subs_by: dict[tuple[str, str], list[tuple[Conn, dict[str, Any]]]] = {}
        for c in self.conns:
            for (ch, sym), opts in c.subs.items():
                subs_by.setdefault((ch, sym), []).append((c, opts))
        for key in touched:
            pair = PAIRS[key]
            sym = pair.symbol
            if not self.ctx.fast_mode:  # fast-mode book subscribers get their synthetic stream only
                self._publish_book(pair, subs_by.get(("book", sym), []))
            self._publish_l3(pair, subs_by.get(("level3", sym), []))
            ts_list = trades.get(key)
            if ts_list:
                lst = subs_by.get(("trade", sym), [])
                if lst:
                    text = _enc.encode(
                        {"channel": "trade", "type": "update", "data": [self._trade(pair, t) for t in ts_list]}
                    ).decode()
                    for c, _o in lst:
                        c.send_raw(text)
                for c, opts in subs_by.get(("ohlc", sym), []):
                    iv = opts["interval"]
                    candle = self.ex.engine.books[key].candles[iv][-1]
                    c.send(
                        {
                            "channel": "ohlc",
                            "type": "update",
                            "timestamp": ts_ns(time.time()),
                            "data": [self._candle(pair, candle, iv)],
                        }
                    )
            tick_subs = subs_by.get(("ticker", sym), [])
            if tick_subs:
                b = self.ex.engine.books[key]
                bb, ba = b.bids.best(), b.asks.best()
                bbo = (
                    bb.price if bb else None,
                    ba.price if ba else None,
                    bb.qty if bb else D(0),
                    ba.qty if ba else D(0),
                )
                bbo_changed = self._bbo.get(key) != bbo
                self._bbo[key] = bbo
                text2: str | None = None
                for c, opts in tick_subs:
                    if (opts["trigger"] == "bbo" and bbo_changed) or (opts["trigger"] != "bbo" and ts_list):
                        if text2 is None:
                            text2 = _enc.encode(
                                {"channel": "ticker", "type": "update", "data": [self._ticker(pair)]}
                            ).decode()
                        c.send_raw(text2)
        if execs or ledgers:
            for c in self.conns:
                if c.key is None:
                    continue
                acct = c.key.account
                ex_opts = c.subs.get(("executions", ""))
                if ex_opts is not None and acct in execs:
                    for e in execs[acct]:  # one message per execution, as Kraken sends them
                        r = self._exec_row(e)
                        if r is None:
                            continue
                        if ex_opts.get("ratecounter"):
                            r = self._with_ratecount(c.key, r, e.order.pair)
                        c.send(
                            {
                                "channel": "executions",
                                "type": "update",
                                "data": [r],
                                "sequence": c.next_seq("executions"),
                            }
                        )
                if ("balances", "") in c.subs and acct in ledgers:
                    for le in ledgers[acct]:
                        c.send(
                            {
                                "channel": "balances",
                                "type": "update",
                                "data": [self._ledger_row(le)],
                                "sequence": c.next_seq("balances"),
                            }
                        )

    def _publish_book(self, pair: Pair, subs: list[tuple[Conn, dict[str, Any]]]) -> None:
        depths = {opts["depth"] for _c, opts in subs} if subs else set()
        for depth in {d for (k, d) in self.views if k == pair.key} | depths:
            view = self._view(pair, depth)
            bids, asks = self._top(pair, depth)
            book = self.ex.engine.books[pair.key]
            out: dict[str, list[dict[str, Any]]] = {"bids": [], "asks": []}
            for name, new_levels, old, side in (
                ("bids", bids, view.bids, book.bids),
                ("asks", asks, view.asks, book.asks),
            ):
                new = dict(new_levels)
                changes = out[name]
                for p, x in new_levels:
                    if old.get(p) != x:
                        changes.append({"price": q(p, pair.pair_decimals), "qty": q(x, pair.lot_decimals)})
                for p in old:
                    if p not in new and p not in side.levels:
                        changes.append({"price": q(p, pair.pair_decimals), "qty": q(D(0), pair.lot_decimals)})
                if name == "bids":
                    view.bids = new
                else:
                    view.asks = new
            if not out["bids"] and not out["asks"]:
                continue
            targets = [c for c, opts in subs if opts["depth"] == depth]
            if not targets:
                continue
            msg = {
                "channel": "book",
                "type": "update",
                "data": [
                    {
                        "symbol": pair.symbol,
                        "bids": out["bids"],
                        "asks": out["asks"],
                        "checksum": self._checksum(pair, view),
                        "timestamp": ts(time.time()),
                    }
                ],
            }
            text = _enc.encode(msg).decode()
            for c in targets:
                c.send_raw(text)

    def _publish_l3(self, pair: Pair, subs: list[tuple[Conn, dict[str, Any]]]) -> None:
        depths = {opts["depth"] for _c, opts in subs}
        for depth in {d for (k, d) in self.l3views if k == pair.key} | depths:
            old = self._l3view(pair, depth)
            new = self._l3_current(pair, depth)
            pd, ld = pair.pair_decimals, pair.lot_decimals
            out: dict[str, list[dict[str, Any]]] = {"bids": [], "asks": []}
            for oid, (s, p, x, _t) in old.items():
                if oid not in new:
                    out["bids" if s == "buy" else "asks"].append(
                        {
                            "event": "delete",
                            "order_id": oid,
                            "limit_price": q(p, pd),
                            "order_qty": q(x, ld),
                            "timestamp": ts_ns(time.time()),
                        }
                    )
            for oid, (s, p, x, t) in new.items():
                prev = old.get(oid)
                if prev is None:
                    ev = "add"
                elif prev[2] != x:
                    ev = "modify"
                else:
                    continue
                out["bids" if s == "buy" else "asks"].append(
                    {
                        "event": ev,
                        "order_id": oid,
                        "limit_price": q(p, pd),
                        "order_qty": q(x, ld),
                        "timestamp": ts_ns(t if ev == "add" else time.time()),
                    }
                )
            self.l3views[(pair.key, depth)] = new
            targets = [c for c, opts in subs if opts["depth"] == depth]
            if not targets or (not out["bids"] and not out["asks"]):
                continue
            text = _enc.encode(
                {
                    "channel": "level3",
                    "type": "update",
                    "data": [
                        {
                            "checksum": self._l3_checksum(pair),
                            "symbol": pair.symbol,
                            "bids": out["bids"],
                            "asks": out["asks"],
                        }
                    ],
                }
            ).decode()
            for c in targets:
                c.send_raw(text)

    # private data ----------------------------------------------------------------------------------------
    def _with_ratecount(self, key: ApiKey, row: dict[str, Any], pair: Pair | None) -> dict[str, Any]:
        """``row`` plus the key's current trading rate counter on the row's pair (a whole number, to
        compare with the ack's ``maxratecount``); ``order_id`` stays last where it was last."""
        if pair is None:
            return row
        out = dict(row)
        oid = out.pop("order_id", None) if next(reversed(out), None) == "order_id" else None
        out[RATECOUNT_FIELD] = int(self.ex.rate_count(key, pair) + 0.5)
        if oid is not None:
            out["order_id"] = oid
        return out

    def _order_status(self, o: Order) -> str:
        if o.status == "closed":
            return "filled" if o.remaining <= 0 else "canceled"
        if o.status in ("canceled", "expired"):
            return o.status
        return "partially_filled" if o.vol_exec > 0 else "new"

    def _ids(self, o: Order, row: dict[str, Any]) -> None:
        if o.cl_ord_id is not None:
            row["cl_ord_id"] = o.cl_ord_id
        else:  # Kraken sends order_userref 0 for an order placed without one
            row["order_userref"] = o.userref if o.userref is not None else 0

    def _order_row(self, o: Order, exec_type: str, status: str, t: float) -> dict[str, Any]:
        p = o.pair
        pd, ld = p.pair_decimals, p.lot_decimals
        row: dict[str, Any] = {"order_id": o.txid}
        self._ids(o, row)
        row.update(
            {
                "symbol": p.symbol,
                "order_qty": q(o.vol, ld),
                "cum_cost": q(o.cost, p.cost_decimals),
                "time_in_force": o.timeinforce,
                "exec_type": exec_type,
                "side": o.side,
                "order_type": o.ordertype,
                "limit_price_type": "static",
                "limit_price": q(o.limit_price if o.limit_price is not None else (o.price2 or o.price or D(0)), pd),
                "stop_price": q(o.price if o.ordertype.startswith(("stop", "take")) and o.price else D(0), pd),
                "order_status": status,
                "fee_usd_equiv": q(o.fee, 4),
                "fee_ccy_pref": "fciq",
                "timestamp": ts(t),
            }
        )
        if o.post_only:
            row["post_only"] = True
        if o.ordertype in TRIGGER_ORDER_TYPES:
            row["triggers"] = self._triggers(o)
        if o.close is not None:
            row["contingent"] = self._contingent(o.close, p)
        if o.refid is not None:
            row["ord_ref_id"] = o.refid  # "Referral order transaction id that created this order"
        return row

    @staticmethod
    def _contingent(spec: CloseSpec, pair: Pair) -> dict[str, Any]:
        """The ``contingent`` object: "the template for generating the secondary close orders when the
        primary order fills"; trigger fields only on triggered types, limit fields only on types with a
        limit price."""
        pd = pair.pair_decimals
        out: dict[str, Any] = {"order_type": spec.ordertype}
        if spec.ordertype != "limit" and spec.trigger_price is not None:
            out["trigger_price"] = (
                q(spec.trigger_price, pd) if spec.trigger_price_type == "static" else spec.trigger_price
            )
            out["trigger_price_type"] = spec.trigger_price_type
        if (spec.ordertype == "limit" or spec.ordertype.endswith("-limit")) and spec.limit_price is not None:
            out["limit_price"] = q(spec.limit_price, pd) if spec.limit_price_type == "static" else spec.limit_price
            out["limit_price_type"] = spec.limit_price_type
        return out

    def _triggers(self, o: Order, at: float | None = None) -> dict[str, Any]:
        """The ``triggers`` object of a stop / take-profit order (``status`` untriggered | triggered)."""
        pd = o.pair.pair_decimals
        trig = q(o.stopprice if o.triggered and o.stopprice else (o.price or D(0)), pd)
        out: dict[str, Any] = {
            "reference": "last",
            "price": trig,
            "price_type": "static",
            "actual_price": trig,
            "status": "triggered" if o.triggered else "untriggered",
        }
        if o.triggered:
            out["last_price"] = q(self.ex.engine.books[o.pair.key].last_price, pd)
            if at is not None:
                out["timestamp"] = ts(at)
        return out

    def _trade_row(self, o: Order, tr: TradeRecord, status: str) -> dict[str, Any]:
        p = o.pair
        pd, ld = p.pair_decimals, p.lot_decimals
        row: dict[str, Any] = {"order_id": o.txid}
        self._ids(o, row)
        row.update(
            {
                "exec_id": tr.txid,
                "exec_type": "trade",
                "trade_id": tr.trade_id,
                "symbol": p.symbol,
                "side": o.side,
                "last_qty": q(tr.vol, ld),
                "last_price": q(tr.price, pd),
                "liquidity_ind": "m" if tr.maker else "t",
                "cost": q(tr.cost, p.cost_decimals),
                "order_type": o.ordertype,
                "timestamp": ts(tr.time),
                "order_status": status,
                "cum_qty": q(o.vol_exec, ld),
                "cum_cost": q(o.cost, p.cost_decimals),
                "avg_price": q(o.avg_price, pd),
                "fee_usd_equiv": q(tr.fee, 4),
                "fees": [{"asset": ASSETS[p.quote].ws, "qty": tr.fee}],
            }
        )
        return row

    def _exec_row(self, e: ExecEvent) -> dict[str, Any] | None:
        o = e.order
        if e.exec_type == "pending_new":
            return self._order_row(o, "pending_new", "pending_new", e.time)
        if e.exec_type == "new":
            row: dict[str, Any] = {"timestamp": ts(e.time), "order_status": "new", "exec_type": "new"}
            self._ids(o, row)
            if o.post_only:
                row["post_only"] = True
            row["order_id"] = o.txid
            return row
        if e.exec_type == "trade" and e.trade is not None:
            status = "filled" if o.remaining <= 0 and o.trades and o.trades[-1] == e.trade.txid else "partially_filled"
            return self._trade_row(o, e.trade, status)
        if e.exec_type in ("filled", "canceled", "expired"):
            row = {"timestamp": ts(e.time), "order_status": e.exec_type, "exec_type": e.exec_type, "order_id": o.txid}
            self._ids(o, row)
            row.update(
                {
                    "cum_qty": q(o.vol_exec, o.pair.lot_decimals),
                    "cum_cost": q(o.cost, o.pair.cost_decimals),
                    "fee_usd_equiv": q(o.fee, 4),
                    "avg_price": q(o.avg_price, o.pair.pair_decimals),
                }
            )
            if o.post_only:
                row["post_only"] = True
            if e.exec_type == "canceled" and e.reason:
                row["cancel_reason"] = e.reason  # Kraken sends both cancel_reason and reason
            if e.exec_type != "filled" and e.reason:
                row["reason"] = e.reason
            row["order_id"] = row.pop("order_id")  # Kraken puts the order id last
            return row
        if e.exec_type == "restated" and e.reason == "triggered":
            # a stop / take-profit order triggered: a status event carrying the triggers block (rows
            # are built after the whole operation; at its trigger the order was open and unfilled)
            row = {"timestamp": ts(e.time), "exec_type": "status", "order_status": "new", "order_id": o.txid}
            self._ids(o, row)
            row.update(
                {
                    "symbol": o.pair.symbol,
                    "side": o.side,
                    "order_type": o.ordertype,
                    "order_qty": q(o.vol, o.pair.lot_decimals),
                    "triggers": self._triggers(o, e.time),
                }
            )
            if o.limit_price is not None:
                row["limit_price"] = q(o.limit_price, o.pair.pair_decimals)
            return row
        if e.exec_type == "amended":
            row = {
                "timestamp": ts(e.time),
                "exec_type": "amended",
                "order_status": self._order_status(o),
                "order_id": o.txid,
            }
            self._ids(o, row)
            row.update({"order_qty": q(o.vol, o.pair.lot_decimals), "amended": True, "reason": "User requested"})
            if o.limit_price is not None:
                row["limit_price"] = q(o.limit_price, o.pair.pair_decimals)
            return row
        return None

    def _ledger_row(self, le: LedgerEvent) -> dict[str, Any]:
        e = le.entry
        a = ASSETS.get(e.asset)
        return {
            "ledger_id": e.id,
            "ref_id": e.refid,
            "timestamp": ts(e.time),
            "type": e.type,
            "asset": a.ws if a else e.asset,
            "asset_class": "currency",
            "category": e.type,
            "wallet_type": "spot",
            "wallet_id": "main",
            "amount": e.amount,
            "fee": e.fee,
            "balance": e.balance,
        }

    def _sub_executions(
        self, conn: Conn, method: str, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float
    ) -> None:
        if method == "unsubscribe":
            conn.subs.pop(("executions", ""), None)
            self._ack(conn, method, {"channel": "executions"}, req_id, time_in)
            return
        snap_orders = params.get("snap_orders", True) is not False
        snap_trades = params.get("snap_trades", False) is True
        ratecounter = params.get("ratecounter", False) is True
        conn.subs[("executions", "")] = {"ratecounter": ratecounter}
        # maxratecount: "the max rate counter value for the user transaction rate. It is based on user tier."
        self._ack(
            conn,
            method,
            {
                "channel": "executions",
                "maxratecount": self.ex.max_rate_count(key),
                "snap_orders": snap_orders,
                "snap_trades": snap_trades,
            },
            req_id,
            time_in,
        )
        acc = self.ex.engine.account(key.account)
        data: list[dict[str, Any]] = []
        if snap_orders:
            for o in sorted(acc.open_orders.values(), key=lambda o: o.seq):
                row = self._order_row(o, "pending_new", self._order_status(o), o.opentm)
                row["exec_type"] = "new" if o.vol_exec == 0 else "trade"
                row["cum_qty"] = q(o.vol_exec, o.pair.lot_decimals)
                data.append(row)
        if snap_trades:
            recs = sorted(acc.trades.values(), key=lambda t: t.time)[-50:]
            for tr in recs:
                o = acc.orders[tr.ordertxid]
                data.append(self._trade_row(o, tr, self._order_status(o)))
        if ratecounter:
            data = [self._with_ratecount(key, r, find_pair(str(r["symbol"]))) for r in data]
        conn.send({"channel": "executions", "type": "snapshot", "data": data, "sequence": conn.next_seq("executions")})

    def _sub_balances(
        self, conn: Conn, method: str, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float
    ) -> None:
        if method == "unsubscribe":
            conn.subs.pop(("balances", ""), None)
            self._ack(conn, method, {"channel": "balances"}, req_id, time_in)
            return
        snapshot = params.get("snapshot", True) is not False
        conn.subs[("balances", "")] = {}
        self._ack(conn, method, {"channel": "balances", "snapshot": snapshot}, req_id, time_in)
        if snapshot:
            acc = self.ex.engine.account(key.account)
            data = []
            for asset, bal in sorted(
                acc.balances.items(), key=lambda kv: ASSETS[kv[0]].ws if kv[0] in ASSETS else kv[0]
            ):
                a = ASSETS.get(asset)
                data.append(
                    {
                        "asset": a.ws if a else asset,
                        "asset_class": "currency",
                        "balance": bal,
                        "wallets": [{"type": "spot", "id": "main", "balance": bal}],
                    }
                )
            conn.send({"channel": "balances", "type": "snapshot", "data": data, "sequence": conn.next_seq("balances")})

    # trading ---------------------------------------------------------------------------------------------
    def _order_kwargs(self, params: dict[str, Any], pair: Pair) -> dict[str, Any]:
        order_type = str(params.get("order_type", ""))
        limit = params.get("limit_price")
        trig = params.get("triggers")
        price: Any = limit
        price2: Any = None
        if order_type in ("stop-loss", "take-profit", "stop-loss-limit", "take-profit-limit"):
            if not isinstance(trig, dict) or trig.get("price") is None:
                raise OrderError("EGeneral:Invalid arguments:triggers")
            tp = D(str(trig["price"]))
            ptype = trig.get("price_type", "static")
            last = self.ex.engine.books[pair.key].last_price
            if ptype == "pct":
                tp = (last * (1 + tp / 100)).quantize(pair.tick_size)
            elif ptype == "quote":
                tp = (last + tp).quantize(pair.tick_size)
            price = tp
            price2 = limit if order_type.endswith("-limit") else None
        tif = str(params.get("time_in_force", "gtc")).upper()
        expire = params.get("expire_time")
        expiretm = 0.0
        if expire:
            try:
                expiretm = datetime.fromisoformat(str(expire).replace("Z", "+00:00")).timestamp()
            except ValueError as exc:
                raise OrderError("EGeneral:Invalid arguments:expire_time") from exc
        userref = params.get("order_userref")
        cl = params.get("cl_ord_id")
        close, close_descr = self._conditional(params, pair)
        return {
            "side": str(params.get("side", "")),
            "ordertype": order_type,
            "volume": params.get("order_qty"),
            "price": price,
            "price2": price2,
            "post_only": params.get("post_only") is True,
            "timeinforce": tif,
            "expiretm": expiretm,
            "userref": None if userref is None else int(userref),
            "cl_ord_id": None if cl is None else str(cl),
            "close": close,
            "close_descr": close_descr,
        }

    @staticmethod
    def _conditional(params: dict[str, Any], pair: Pair) -> tuple[CloseSpec | None, str]:
        """The ``conditional`` object of add_order / batch_add orders: "a template for generating the
        secondary close orders when the primary order fills. Each fill on the primary order will generate
        a new secondary order ... the same size as the executed quantity and [with] the opposite side."
        Validated like AddOrder's ``close[...]`` fields (same error strings)."""
        cond = params.get("conditional")
        if cond is None:
            return None, ""
        if not isinstance(cond, dict):
            raise OrderError("EGeneral:Invalid arguments:conditional")
        ctype = cond.get("order_type")
        if ctype not in CLOSE_ORDER_TYPES:
            raise OrderError("EGeneral:Invalid arguments:close[ordertype]")
        ctype = str(ctype)
        has_trigger = ctype != "limit"
        has_limit = ctype == "limit" or ctype.endswith("-limit")
        ttype = cond.get("trigger_price_type", "static")
        ltype = cond.get("limit_price_type", "static")
        if ttype not in PRICE_TYPES or ltype not in PRICE_TYPES:
            raise OrderError("EGeneral:Invalid arguments:conditional")

        def price(v: Any, kind: str, what: str) -> Decimal:
            if v is None or v == "":
                raise OrderError(f"EGeneral:Invalid arguments:{what}")
            d = to_decimal(v, what)
            return check_price(pair, d, what) if kind == "static" else d

        trig = lim = None
        if has_trigger:  # stop_price: deprecated name of trigger_price
            raw = cond.get("trigger_price", cond.get("stop_price"))
            trig = price(raw, str(ttype), "close[price]")
        if has_limit:
            lim = price(cond.get("limit_price"), str(ltype), "close[price]" if ctype == "limit" else "close[price2]")
        spec = CloseSpec(
            ctype,
            trigger_price=trig,
            limit_price=lim,
            trigger_price_type=str(ttype) if has_trigger else "static",
            limit_price_type=str(ltype) if has_limit else "static",
        )
        return spec, close_text(spec, pair)

    def _pair(self, params: dict[str, Any]) -> Pair:
        sym = params.get("symbol")
        pair = find_pair(str(sym)) if isinstance(sym, str) else None
        if pair is None or pair.symbol != sym:
            raise OrderError("EQuery:Unknown asset pair")
        return pair

    def t_add_order(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if "trade" not in key.permissions:
            raise OrderError("EGeneral:Permission denied")
        pair = self._pair(params)
        check_deadline(params, self.ctx.now(), self.received_at + WS_DEFAULT_DEADLINE)
        kw = self._order_kwargs(params, pair)
        validate = params.get("validate") is True
        o = self.ex.add_order(key, pair, validate=validate, **kw)
        res: dict[str, Any] = {"order_id": o.txid}
        if o.cl_ord_id is not None:
            res["cl_ord_id"] = o.cl_ord_id
        if o.userref is not None:
            res["order_userref"] = o.userref
        self._ack(conn, "add_order", res, req_id, time_in)

    def t_amend_order(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if not ({"trade", "cancel"} & key.permissions):
            raise OrderError("EGeneral:Permission denied")
        check_deadline(params, self.ctx.now())
        oid, cl = params.get("order_id"), params.get("cl_ord_id")
        if oid is None and cl is None:
            raise OrderError("EGeneral:Invalid arguments:order_id")
        _o, amend_id = self.ex.amend(
            key,
            None if oid is None else str(oid),
            None if cl is None or oid is not None else str(cl),
            order_qty=params.get("order_qty"),
            limit_price=params.get("limit_price"),
            trigger_price=params.get("trigger_price"),
            post_only=params.get("post_only") is True,
        )
        res: dict[str, Any] = {"amend_id": amend_id}
        if oid is not None:
            res["order_id"] = oid
        else:
            res["cl_ord_id"] = cl
        self._ack(conn, "amend_order", res, req_id, time_in)

    def t_edit_order(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if "trade" not in key.permissions:
            raise OrderError("EGeneral:Permission denied")
        oid = str(params.get("order_id", ""))
        self.ex.engine.find_order(key.account, oid, self._pair(params))
        check_deadline(params, self.ctx.now())
        old, new = self.ex.edit(
            key,
            oid,
            volume=params.get("order_qty"),
            price=params.get("limit_price"),
            userref=params.get("order_userref"),
            post_only=params.get("post_only") if isinstance(params.get("post_only"), bool) else None,
            validate=params.get("validate") is True,
        )
        self._ack(conn, "edit_order", {"order_id": new.txid, "original_order_id": old.txid}, req_id, time_in)

    def t_cancel_order(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if not ({"trade", "cancel"} & key.permissions):
            raise OrderError("EGeneral:Permission denied")
        ids = params.get("order_id") or []
        cls = params.get("cl_ord_id") or []
        refs = params.get("order_userref") or []
        if not (ids or cls or refs):
            raise OrderError("EGeneral:Invalid arguments:order_id")
        for oid in _as_list(ids):
            try:
                self.ex.cancel(key, str(oid))
                self._ack(conn, "cancel_order", {"order_id": oid}, req_id, time_in)
            except OrderError as exc:
                self._error(conn, "cancel_order", exc.error, req_id, time_in)
        for cl in _as_list(cls):
            try:
                o = self.ex.cancel(key, None, str(cl))
                self._ack(conn, "cancel_order", {"order_id": o.txid, "cl_ord_id": cl}, req_id, time_in)
            except OrderError as exc:
                self._error(conn, "cancel_order", exc.error, req_id, time_in)
        for ref in _as_list(refs):
            acc = self.ex.engine.account(key.account)
            matches = [o for o in acc.open_orders.values() if o.userref == int(ref)]
            if not matches:
                self._error(conn, "cancel_order", "EOrder:Unknown order", req_id, time_in)
            for o in matches:
                self.ex.cancel(key, o.txid)
                self._ack(conn, "cancel_order", {"order_id": o.txid, "order_userref": o.userref}, req_id, time_in)

    def t_cancel_all(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if not ({"trade", "cancel"} & key.permissions):
            raise OrderError("EGeneral:Permission denied")
        self._ack(conn, "cancel_all", {"count": self.ex.cancel_all(key)}, req_id, time_in)

    def t_cancel_all_orders_after(
        self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float
    ) -> None:
        if not ({"trade", "cancel"} & key.permissions):
            raise OrderError("EGeneral:Permission denied")
        timeout = params.get("timeout")
        if not isinstance(timeout, (int, Decimal)) or isinstance(timeout, bool) or not 0 <= timeout < 86400:
            raise OrderError("EGeneral:Invalid arguments:timeout")
        now, trig = self.ex.cancel_all_after(key, int(timeout))
        from .rest import rfc3339

        self._ack(
            conn,
            "cancel_all_orders_after",
            {"currentTime": rfc3339(now), "triggerTime": rfc3339(trig) if trig else "0"},
            req_id,
            time_in,
        )

    def t_batch_add(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if "trade" not in key.permissions:
            raise OrderError("EGeneral:Permission denied")
        pair = self._pair(params)
        check_deadline(params, self.ctx.now(), self.received_at + WS_DEFAULT_DEADLINE)
        orders = params.get("orders")
        if not isinstance(orders, list) or not 2 <= len(orders) <= 15:
            raise OrderError("EGeneral:Invalid arguments:orders")
        kws = [self._order_kwargs(o if isinstance(o, dict) else {}, pair) for o in orders]
        for kw in kws:
            self.ex.engine.add_order(key.account, pair, validate=True, **kw)
        validate = params.get("validate") is True
        out = []
        for kw in kws:
            o = self.ex.add_order(key, pair, validate=validate, **kw)
            r: dict[str, Any] = {"order_id": o.txid}
            if o.cl_ord_id is not None:
                r["cl_ord_id"] = o.cl_ord_id
            if o.userref is not None:
                r["order_userref"] = o.userref
            out.append(r)
        self._ack(conn, "batch_add", out, req_id, time_in)

    def t_batch_cancel(self, conn: Conn, key: ApiKey, params: dict[str, Any], req_id: Any, time_in: float) -> None:
        if not ({"trade", "cancel"} & key.permissions):
            raise OrderError("EGeneral:Permission denied")
        ids = _as_list(params.get("orders") or [])
        cls = _as_list(params.get("cl_ord_id") or [])
        if not (ids or cls) or len(ids) + len(cls) > 50:
            raise OrderError("EGeneral:Invalid arguments:orders")
        n = 0
        for oid in ids:
            s = str(oid)
            try:
                if s.lstrip("-").isdigit():
                    n += self.ex.cancel_userref(key, int(s))
                else:
                    self.ex.cancel(key, s)
                    n += 1
            except OrderError:
                continue
        for cl in cls:
            try:
                self.ex.cancel(key, None, str(cl))
                n += 1
            except OrderError:
                continue
        self._ack(conn, "batch_cancel", {"count": n}, req_id, time_in)


TRADING = {
    "add_order": "t_add_order",
    "amend_order": "t_amend_order",
    "edit_order": "t_edit_order",
    "cancel_order": "t_cancel_order",
    "cancel_all": "t_cancel_all",
    "cancel_all_orders_after": "t_cancel_all_orders_after",
    "batch_add": "t_batch_add",
    "batch_cancel": "t_batch_cancel",
}


def _abort_if_stuck(tr: asyncio.BaseTransport) -> None:
    if isinstance(tr, asyncio.WriteTransport) and tr.get_write_buffer_size() > 0:
        tr.abort()


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def instrument_data() -> dict[str, Any]:
    assets = []
    for a in ASSETS.values():
        assets.append(
            {
                "id": a.ws,
                "status": "enabled",
                "precision": a.decimals,
                "precision_display": a.display_decimals,
                "borrowable": False,
                "collateral_value": a.collateral_value if a.collateral_value is not None else D("0.0"),
                "margin_rate": D("0.0"),
            }
        )
    pairs = []
    for p in PAIRS.values():
        pairs.append(
            {
                "symbol": p.symbol,
                "base": p.base_ws,
                "quote": p.quote_ws,
                "status": p.status,
                "qty_precision": p.lot_decimals,
                "qty_increment": p.lot_step,
                "price_precision": p.pair_decimals,
                "cost_precision": p.cost_decimals,
                "marginable": False,
                "has_index": True,
                "cost_min": p.costmin,
                "tick_size": p.tick_size,
                "price_increment": p.tick_size,
                "qty_min": p.ordermin,
            }
        )
    return {"assets": assets, "pairs": pairs}
