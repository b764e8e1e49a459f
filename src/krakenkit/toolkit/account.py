"""AccountState: open orders, balances, positions and fills, from the private streams plus REST backfill.

Pure (no I/O): feed it WebSocket frames (:meth:`AccountState.apply_ws`) and REST results
(``apply_spot_open_orders``, ``apply_spot_trades``, ``apply_futures_fills``, ...). Everything is keyed so
that nothing counts twice when the same execution arrives from the stream *and* from a backfill:

* fills by their id: Spot ``exec_id`` (WS executions, ``exec_type == "trade"``) = the trade id that keys
  ``TradesHistory``; Derivatives ``fill_id`` (WS ``fills`` feed and REST ``fills``);
* balance ledger updates by ``ledger_id``;
* stream frames by ``sequence`` / ``seq`` per channel: a frame at or below the last sequence seen on that
  channel is dropped, a jump is counted in :attr:`AccountState.sequence_gaps` (a snapshot restarts the count,
  as every new connection does);
* orders by ``order_id`` with monotonic merging: the filled quantity never goes down and a final state
  (closed / canceled / expired) never goes back to open, so a REST answer that is older than a stream update
  cannot undo it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from .._core.symbol_mapper import ws_asset_name
from ._util import as_mapping, dec, dec0, to_epoch, unwrap_result

__all__ = ["AccountState", "Fill", "OrderView", "Position"]

log = logging.getLogger("krakenkit.toolkit.account")

FINAL_ORDER_STATES = frozenset({"closed", "canceled", "expired", "rejected"})

_SPOT_WS_STATUS = {
    "pending_new": "pending",
    "new": "open",
    "partially_filled": "open",
    "filled": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "expired",
}
_FUTURES_STATUS = {
    "untouched": "open",
    "partiallyfilled": "open",
    "entered_book": "open",
    "placed": "open",
    "fully_executed": "closed",
    "filled": "closed",
    "cancelled": "canceled",
    "canceled": "canceled",
    "rejected": "rejected",
    "trigger_placed": "open",
    "trigger_activated": "open",
}


@dataclass(frozen=True)
class Fill:
    fill_id: str
    order_id: str | None
    cl_ord_id: str | None
    symbol: str | None
    side: str | None
    qty: Decimal
    price: Decimal
    fee: Decimal | None = None
    fee_asset: str | None = None
    ts: float | None = None
    product: str = "spot"
    source: str = "ws"  # "ws" | "rest"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class OrderView:
    order_id: str
    cl_ord_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    qty: Decimal | None = None
    filled: Decimal = Decimal(0)
    limit_price: Decimal | None = None
    status: str = "open"  # pending | open | closed | canceled | expired | rejected | inactive
    updated_at: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.status in ("pending", "open")


@dataclass(frozen=True)
class Position:
    symbol: str
    size: Decimal  # signed: positive long, negative short
    entry_price: Decimal | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class AccountState:
    """The account as seen from the private streams and backfills, de-duplicated (thread-safe)."""

    def __init__(self, *, product: str = "spot", clock: Callable[[], float] = time.time) -> None:
        self.product = product
        self._clock = clock
        self._lock = threading.RLock()
        self.orders: dict[str, OrderView] = {}
        self.fills: dict[str, Fill] = {}
        self.balances: dict[str, Decimal] = {}
        self.positions: dict[str, Position] = {}
        self.futures_balances: dict[str, Any] = {}
        self._ledger_ids: set[str] = set()
        self._sequences: dict[str, int] = {}
        self.sequence_gaps = 0
        self.duplicates_dropped = 0
        self.last_fill_ts: float | None = None
        # stream writes are numbered so a REST snapshot requested before one of them cannot undo it
        self._stream_gen = 0
        self._positions_gen = 0
        self._balance_gen: dict[str, int] = {}
        self.stale_snapshots_skipped = 0
        self._fill_listeners: list[Callable[[Fill], None]] = []
        self._order_listeners: list[Callable[[OrderView], None]] = []

    # --- listeners ------------------------------------------------------------------------------------
    def on_fill(self, fn: Callable[[Fill], None]) -> None:
        """``fn(fill)`` once per new fill (never for a duplicate)."""
        self._fill_listeners.append(fn)

    def on_order(self, fn: Callable[[OrderView], None]) -> None:
        """``fn(order)`` whenever an order's view changes."""
        self._order_listeners.append(fn)

    def off_fill(self, fn: Callable[[Fill], None]) -> None:
        """Stop calling ``fn`` for new fills (no error when it was not registered)."""
        with self._lock:
            if fn in self._fill_listeners:
                self._fill_listeners.remove(fn)

    def off_order(self, fn: Callable[[OrderView], None]) -> None:
        with self._lock:
            if fn in self._order_listeners:
                self._order_listeners.remove(fn)

    def snapshot(self) -> tuple[list[Fill], list[OrderView]]:
        """The fills and order views held now (a consistent copy)."""
        with self._lock:
            return list(self.fills.values()), list(self.orders.values())

    # --- views ----------------------------------------------------------------------------------------
    @property
    def open_orders(self) -> dict[str, OrderView]:
        with self._lock:
            return {k: v for k, v in self.orders.items() if v.is_open}

    def order_by_cl_ord_id(self, cl_ord_id: str) -> OrderView | None:
        with self._lock:
            for o in self.orders.values():
                if o.cl_ord_id == cl_ord_id:
                    return o
        return None

    def fills_for(self, order_id: str) -> list[Fill]:
        with self._lock:
            return [f for f in self.fills.values() if f.order_id == order_id]

    def stream_mark(self) -> int:
        """A marker to take right before requesting a REST snapshot (positions, balances) and pass to its
        ``apply_*``: what the stream wrote after the mark is newer than the snapshot and is kept."""
        with self._lock:
            return self._stream_gen

    def reset_sequences(self, channel: str | None = None) -> None:
        """Forget the last sequence seen (call when a connection is replaced)."""
        with self._lock:
            if channel is None:
                self._sequences.clear()
            else:
                self._sequences.pop(channel, None)

    # --- core mutations ---------------------------------------------------------------------------------
    def add_fill(self, fill: Fill) -> bool:
        """Record a fill once. Returns True when it was new."""
        with self._lock:
            if fill.fill_id in self.fills:
                self.duplicates_dropped += 1
                prev = self.fills[fill.fill_id]
                if (prev.cl_ord_id is None and fill.cl_ord_id) or (prev.order_id is None and fill.order_id):
                    self.fills[fill.fill_id] = replace(
                        prev, cl_ord_id=prev.cl_ord_id or fill.cl_ord_id, order_id=prev.order_id or fill.order_id
                    )
                return False
            self.fills[fill.fill_id] = fill
            if fill.ts is not None and (self.last_fill_ts is None or fill.ts > self.last_fill_ts):
                self.last_fill_ts = fill.ts
        for fn in list(self._fill_listeners):
            try:
                fn(fill)
            except Exception:
                log.exception("fill listener failed")
        return True

    def upsert_order(self, order: OrderView) -> OrderView:
        """Merge an order update monotonically (filled never decreases; a final state sticks)."""
        with self._lock:
            old = self.orders.get(order.order_id)
            if old is None:
                merged = order
            else:
                status = order.status
                if old.status in FINAL_ORDER_STATES and status not in FINAL_ORDER_STATES:
                    status = old.status
                elif old.status == "open" and status == "pending":
                    status = old.status
                merged = OrderView(
                    order_id=order.order_id,
                    cl_ord_id=order.cl_ord_id or old.cl_ord_id,
                    symbol=order.symbol or old.symbol,
                    side=order.side or old.side,
                    order_type=order.order_type or old.order_type,
                    qty=order.qty if order.qty is not None else old.qty,
                    filled=max(order.filled, old.filled),
                    limit_price=order.limit_price if order.limit_price is not None else old.limit_price,
                    status=status,
                    updated_at=max(order.updated_at, old.updated_at),
                )
                if merged == old:
                    return old
            self.orders[order.order_id] = merged
        for fn in list(self._order_listeners):
            try:
                fn(merged)
            except Exception:
                log.exception("order listener failed")
        return merged

    def _replace_open_set(self, seen_open: Iterable[str], as_of: float | None) -> int:
        """Orders we think are open but a full open-orders snapshot does not list are no longer open.
        Only those not updated after ``as_of`` (the snapshot request time) are touched."""
        seen = set(seen_open)
        changed = 0
        with self._lock:
            stale = [
                o
                for oid, o in self.orders.items()
                if o.is_open and oid not in seen and (as_of is None or o.updated_at <= as_of)
            ]
        for o in stale:
            self.upsert_order(replace(o, status="inactive"))
            changed += 1
        return changed

    def _check_sequence(self, channel: str, seq: Any, is_snapshot: bool) -> bool:
        """True when the frame is new. Snapshots restart the count for their channel."""
        if not isinstance(seq, int) or isinstance(seq, bool):
            return True
        with self._lock:
            last = self._sequences.get(channel)
            if is_snapshot or last is None:
                self._sequences[channel] = seq
                return True
            if seq <= last:
                self.duplicates_dropped += 1
                return False
            if seq != last + 1:
                self.sequence_gaps += 1
                log.warning("%s: sequence gap %s -> %s", channel, last, seq)
            self._sequences[channel] = seq
            return True

    # --- WebSocket frames ------------------------------------------------------------------------------
    def apply_ws(self, frame: Any) -> int:
        """Apply one private-stream frame (Spot v2 ``executions`` / ``balances``; Derivatives v1 ``fills``,
        ``open_orders``, ``open_positions``, ``balances``). Returns how many new fills it carried."""
        msg = as_mapping(frame)
        channel = msg.get("channel")
        if channel == "executions":
            return self._apply_spot_executions(msg)
        if channel == "balances":
            self._apply_spot_balances_ws(msg)
            return 0
        feed = msg.get("feed")
        if not isinstance(feed, str):
            return 0
        if feed in ("fills", "fills_snapshot"):
            key = "fills"
            if not self._check_sequence("fut:" + key, msg.get("seq"), feed.endswith("_snapshot")):
                return 0
            fills = [self._futures_ws_fill(f) for f in msg.get("fills") or [] if isinstance(f, Mapping)]
            return sum(self.add_fill(f) for f in fills)
        if feed in ("open_orders", "open_orders_snapshot", "open_orders_verbose", "open_orders_verbose_snapshot"):
            self._apply_futures_open_orders_ws(msg, snapshot=feed.endswith("_snapshot"))
            return 0
        if feed == "open_positions":
            self._replace_positions(
                (self._futures_position(p) for p in msg.get("positions") or [] if isinstance(p, Mapping)),
                stream=True,
            )
            return 0
        if feed in ("balances", "balances_snapshot"):
            with self._lock:
                for k in ("holding", "futures", "flex_futures"):
                    if k in msg:
                        self.futures_balances[k] = msg[k]
            return 0
        return 0

    def _apply_spot_executions(self, msg: Mapping[str, Any]) -> int:
        is_snapshot = msg.get("type") == "snapshot"
        if not self._check_sequence("executions", msg.get("sequence"), is_snapshot):
            return 0
        now = self._clock()
        new_fills = 0
        open_in_snapshot: list[str] = []
        for rep in msg.get("data") or []:
            if not isinstance(rep, Mapping):
                continue
            oid = rep.get("order_id")
            if not isinstance(oid, str):
                continue
            exec_type = rep.get("exec_type")
            ts = to_epoch(rep.get("timestamp")) or now
            if exec_type == "trade" and rep.get("exec_id"):
                fees = rep.get("fees") or []
                first = fees[0] if fees and isinstance(fees[0], Mapping) else None
                fee = dec(first.get("qty")) if first else dec(rep.get("fee_usd_equiv"))
                fee_asset = first.get("asset") if first else None
                new_fills += self.add_fill(
                    Fill(
                        fill_id=str(rep["exec_id"]),
                        order_id=oid,
                        cl_ord_id=rep.get("cl_ord_id"),
                        symbol=rep.get("symbol"),
                        side=rep.get("side"),
                        qty=dec0(rep.get("last_qty")),
                        price=dec0(rep.get("last_price")),
                        fee=fee,
                        fee_asset=fee_asset,
                        ts=ts,
                        product="spot",
                        source="ws",
                        raw=dict(rep),
                    )
                )
            raw_status = rep.get("order_status") or ("new" if exec_type == "new" else None)
            status = _SPOT_WS_STATUS.get(str(raw_status), "open") if raw_status else None
            if is_snapshot and exec_type not in ("trade",):
                status = status or "open"
                if status in ("open", "pending"):
                    open_in_snapshot.append(oid)
            view = OrderView(
                order_id=oid,
                cl_ord_id=rep.get("cl_ord_id"),
                symbol=rep.get("symbol"),
                side=rep.get("side"),
                order_type=rep.get("order_type"),
                qty=dec(rep.get("order_qty")),
                filled=dec0(rep.get("cum_qty")),
                limit_price=dec(rep.get("limit_price")),
                status=status or self._status_of(oid),
                updated_at=ts,
            )
            self.upsert_order(view)
        if is_snapshot and msg.get("data") is not None:
            snapshot_orders = [
                r for r in msg.get("data") or [] if isinstance(r, Mapping) and r.get("exec_type") != "trade"
            ]
            if snapshot_orders or not msg.get("data"):
                self._replace_open_set(open_in_snapshot, now)
        return new_fills

    def _status_of(self, order_id: str) -> str:
        with self._lock:
            o = self.orders.get(order_id)
            return o.status if o else "open"

    def _apply_spot_balances_ws(self, msg: Mapping[str, Any]) -> None:
        is_snapshot = msg.get("type") == "snapshot"
        if not self._check_sequence("balances", msg.get("sequence"), is_snapshot):
            return
        with self._lock:
            for item in msg.get("data") or []:
                if not isinstance(item, Mapping) or not isinstance(item.get("asset"), str):
                    continue
                lid = item.get("ledger_id")
                if isinstance(lid, str):
                    if lid in self._ledger_ids:
                        self.duplicates_dropped += 1
                        continue
                    self._ledger_ids.add(lid)
                bal = dec(item.get("balance"))
                if bal is not None:
                    self._stream_gen += 1
                    self._balance_gen[item["asset"]] = self._stream_gen
                    self.balances[item["asset"]] = bal

    def _futures_ws_fill(self, f: Mapping[str, Any]) -> Fill:
        buy = f.get("buy")
        return Fill(
            fill_id=str(f.get("fill_id")),
            order_id=f.get("order_id"),
            cl_ord_id=f.get("cli_ord_id"),
            symbol=f.get("instrument"),
            side="buy" if buy is True else "sell" if buy is False else None,
            qty=dec0(f.get("qty")),
            price=dec0(f.get("price")),
            fee=dec(f.get("fee_paid")),
            fee_asset=f.get("fee_currency"),
            ts=to_epoch(f.get("time")),
            product="futures",
            source="ws",
            raw=dict(f),
        )

    def _apply_futures_open_orders_ws(self, msg: Mapping[str, Any], *, snapshot: bool) -> None:
        now = self._clock()
        if snapshot:
            seen: list[str] = []
            for o in msg.get("orders") or []:
                if isinstance(o, Mapping):
                    view = self._futures_ws_order(o, now)
                    self.upsert_order(view)
                    seen.append(view.order_id)
            self._replace_open_set(seen, now)
            return
        if msg.get("is_cancel"):
            oid = msg.get("order_id")
            if isinstance(oid, str):
                with self._lock:
                    old = self.orders.get(oid)
                reason = str(msg.get("reason") or "")
                status = "closed" if "full_fill" in reason or "filled" in reason else "canceled"
                self.upsert_order(
                    replace(old, status=status, updated_at=now)
                    if old
                    else OrderView(order_id=oid, status=status, updated_at=now)
                )
            return
        o = msg.get("order")
        if isinstance(o, Mapping):
            self.upsert_order(self._futures_ws_order(o, now))

    @staticmethod
    def _futures_ws_order(o: Mapping[str, Any], now: float) -> OrderView:
        direction = o.get("direction")
        remaining = dec(o.get("qty"))  # on the v1 open_orders feed ``qty`` is what is still open
        filled = dec0(o.get("filled"))
        qty = None if remaining is None else remaining + filled  # the order's full size
        return OrderView(
            order_id=str(o.get("order_id")),
            cl_ord_id=o.get("cli_ord_id"),
            symbol=o.get("instrument"),
            side="buy" if direction == 0 else "sell" if direction == 1 else None,
            order_type=o.get("type"),
            qty=qty,
            filled=filled,
            limit_price=dec(o.get("limit_price")),
            status="open",
            updated_at=to_epoch(o.get("last_update_time")) or now,
        )

    @staticmethod
    def _futures_position(p: Mapping[str, Any]) -> Position:
        size = dec0(p.get("balance") if "balance" in p else p.get("size"))
        if p.get("side") == "short" and size > 0:
            size = -size
        return Position(
            symbol=str(p.get("instrument") or p.get("symbol")),
            size=size,
            entry_price=dec(p.get("entry_price") if "entry_price" in p else p.get("price")),
            raw=dict(p),
        )

    def _replace_positions(
        self, positions: Iterable[Position], *, stream: bool = False, mark: int | None = None
    ) -> int:
        new = {p.symbol: p for p in positions if p.size != 0}
        with self._lock:
            if stream:
                self._stream_gen += 1
                self._positions_gen = self._stream_gen
            elif mark is not None and self._positions_gen > mark:
                # the stream sent the full position set after this snapshot was requested: it is newer
                self.stale_snapshots_skipped += 1
                log.info("positions snapshot older than the stream's last update; kept the stream's")
                return len(self.positions)
            self.positions = new
        return len(new)

    # --- REST backfill ---------------------------------------------------------------------------------
    def apply_spot_open_orders(self, result: Any, *, as_of: float | None = None) -> int:
        """``OpenOrders`` result (``{"open": {txid: order}}``): the full open set. Returns orders listed."""
        seen = self._apply_spot_order_map(result, "open")
        self._replace_open_set(seen, as_of)
        return len(seen)

    def apply_spot_orders(self, result: Any) -> int:
        """``ClosedOrders`` (``{"closed": {...}}``) or ``QueryOrders`` (``{txid: order}``) results."""
        return len(self._apply_spot_order_map(result, "closed", need_status=True))

    def _apply_spot_order_map(self, result: Any, key: str, *, need_status: bool = False) -> list[str]:
        """Upsert every order of ``{key: {txid: order}}`` (or a bare ``{txid: order}``); their txids."""
        res = unwrap_result(result)
        inner = res.get(key)
        orders = inner if isinstance(inner, Mapping) else res
        seen: list[str] = []
        for txid, o in orders.items():
            if isinstance(o, Mapping) and (not need_status or "status" in o):
                self.upsert_order(self._spot_rest_order(str(txid), o))
                seen.append(str(txid))
        return seen

    def _spot_rest_order(self, txid: str, o: Mapping[str, Any]) -> OrderView:
        descr = o.get("descr") if isinstance(o.get("descr"), Mapping) else {}
        assert isinstance(descr, Mapping)
        status = str(o.get("status") or "open")
        status = {"cancelled": "canceled"}.get(status, status)
        ts = max(filter(None, (to_epoch(o.get(k)) for k in ("opentm", "closetm", "starttm"))), default=0.0)
        return OrderView(
            order_id=txid,
            cl_ord_id=o.get("cl_ord_id"),
            symbol=descr.get("pair"),
            side=descr.get("type"),
            order_type=descr.get("ordertype"),
            qty=dec(o.get("vol")),
            filled=dec0(o.get("vol_exec")),
            limit_price=dec(descr.get("price")),
            status=status,
            updated_at=ts,
        )

    def apply_spot_trades(self, result: Any) -> int:
        """``TradesHistory`` / ``QueryTrades`` result (``{"trades": {trade_id: trade}}``). Returns new fills."""
        res = unwrap_result(result)
        trades = res.get("trades")
        items = trades if isinstance(trades, Mapping) else res
        new = 0
        for tid, t in items.items():
            if not isinstance(t, Mapping) or "ordertxid" not in t:
                continue
            new += self.add_fill(
                Fill(
                    fill_id=str(tid),
                    order_id=t.get("ordertxid"),
                    cl_ord_id=t.get("cl_ord_id"),
                    symbol=t.get("pair"),
                    side=t.get("type"),
                    qty=dec0(t.get("vol")),
                    price=dec0(t.get("price")),
                    fee=dec(t.get("fee")),
                    ts=to_epoch(t.get("time")),
                    product="spot",
                    source="rest",
                    raw=dict(t),
                )
            )
        return new

    def apply_spot_balances(self, result: Any, *, mark: int | None = None) -> int:
        """``Balance`` (``{"ZUSD": "1.0"}``) or ``BalanceEx`` (``{"ZUSD": {"balance": ...}}``), stored under the
        WS v2 asset names the ``balances`` stream uses (``ZUSD`` -> ``USD``, ``XXBT`` -> ``BTC``). With ``mark``
        (:meth:`stream_mark` taken before the request) an asset the stream updated since keeps that value."""
        res = unwrap_result(result)
        with self._lock:
            for asset, val in res.items():
                if isinstance(val, Mapping):
                    val = val.get("balance")
                d = dec(val)
                if d is None:
                    continue
                name = ws_asset_name(str(asset))  # one name per asset: the stream's (BTC, USD), not XXBT/ZUSD
                if mark is not None and self._balance_gen.get(name, 0) > mark:
                    self.stale_snapshots_skipped += 1
                    continue
                self.balances[name] = d
        return len(res)

    def apply_futures_open_orders(self, result: Any, *, as_of: float | None = None) -> int:
        """REST ``openorders`` (``{"openOrders": [...]}`` or the client's list): the full open set."""
        seen: list[str] = []
        for o in _items(result, "openOrders", "open_orders"):
            oid = str(o.get("order_id") or o.get("orderId"))
            filled = dec0(o.get("filledSize") or o.get("filled"))
            unfilled = dec(o.get("unfilledSize"))
            self.upsert_order(
                OrderView(
                    order_id=oid,
                    cl_ord_id=o.get("cliOrdId") or o.get("cli_ord_id"),
                    symbol=o.get("symbol"),
                    side=o.get("side"),
                    order_type=o.get("orderType"),
                    qty=(filled + unfilled) if unfilled is not None else None,
                    filled=filled,
                    limit_price=dec(o.get("limitPrice")),
                    status="open",
                    updated_at=to_epoch(o.get("lastUpdateTime") or o.get("receivedTime")) or 0.0,
                )
            )
            seen.append(oid)
        self._replace_open_set(seen, as_of)
        return len(seen)

    def apply_futures_fills(self, result: Any) -> int:
        """REST ``fills`` (``{"fills": [...]}``). Returns new fills."""
        new = 0
        for f in _items(result, "fills"):
            new += self.add_fill(
                Fill(
                    fill_id=str(f.get("fill_id") or f.get("fillId")),
                    order_id=f.get("order_id") or f.get("orderId"),
                    cl_ord_id=f.get("cliOrdId") or f.get("cli_ord_id"),
                    symbol=f.get("symbol"),
                    side=f.get("side"),
                    qty=dec0(f.get("size")),
                    price=dec0(f.get("price")),
                    ts=to_epoch(f.get("fillTime")),
                    product="futures",
                    source="rest",
                    raw=dict(f),
                )
            )
        return new

    def apply_futures_positions(self, result: Any, *, mark: int | None = None) -> int:
        """REST ``openpositions`` (``{"openPositions": [...]}``): the full set. Returns positions held. With
        ``mark`` (:meth:`stream_mark` taken before the request) it is dropped when the stream's
        ``open_positions`` (a full set too) arrived after the mark: that one is newer."""
        return self._replace_positions((self._futures_position(p) for p in _items(result, "openPositions")), mark=mark)


def _items(result: Any, *keys: str) -> list[Mapping[str, Any]]:
    """The records of a list result: a bare list (typed client results, each with ``.raw``) or a mapping
    holding the list under one of ``keys``."""
    if isinstance(result, (list, tuple)):
        raw_items: Any = result
    else:
        res = as_mapping(result)
        raw_items = next((res[k] for k in keys if isinstance(res.get(k), list)), [])
    out = []
    for item in raw_items:
        m = as_mapping(item)
        if m:
            out.append(m)
    return out
