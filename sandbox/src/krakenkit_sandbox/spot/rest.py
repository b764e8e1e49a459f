"""Spot REST API of the sandbox (``/0/public/*`` and ``/0/private/*``)."""

from __future__ import annotations

import json
import logging
import secrets as _secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from ..faults import ERRORS_KEY
from . import rest_extra
from .auth import ApiKey, expected_signature
from .engine import (
    CLOSE_ORDER_TYPES,
    OHLC_INTERVALS,
    CloseSpec,
    LedgerEntry,
    Order,
    OrderError,
    TradeRecord,
    check_price,
    to_decimal,
)
from .exchange import SpotExchange
from .market import ASSETS, PAIRS, Pair, find_asset, find_pair

__all__ = ["SpotRest", "close_text", "fmt", "order_descr", "parse_close", "rfc3339"]

log = logging.getLogger("krakenkit.sandbox")

D = Decimal
Params = dict[str, Any]
_T = TypeVar("_T")
PrivateHandler = Callable[[ApiKey, Params], Awaitable[Any] | Any]

PERMS: dict[str, tuple[str, ...]] = {  # endpoint -> any of these permissions
    "Balance": ("query_funds",),
    "BalanceEx": ("query_funds",),
    "CreditLines": ("query_funds",),
    "TradeBalance": ("query_funds",),
    "OpenOrders": ("query_open",),
    "ClosedOrders": ("query_closed",),
    "QueryOrders": ("query_open", "query_closed"),
    "OrderAmends": ("query_open", "query_closed"),
    "TradesHistory": ("query_closed",),
    "QueryTrades": ("query_closed",),
    "OpenPositions": ("query_open",),
    "Ledgers": ("query_ledger", "query_funds"),
    "QueryLedgers": ("query_ledger", "query_funds"),
    "TradeVolume": ("query_funds",),
    "AddExport": ("export",),
    "ExportStatus": ("export",),
    "RetrieveExport": ("export",),
    "RemoveExport": ("export",),
    "AddOrder": ("trade",),
    "AddOrderBatch": ("trade",),
    "AmendOrder": ("trade", "cancel"),
    "EditOrder": ("trade",),
    "CancelOrder": ("cancel", "trade"),
    "CancelOrderBatch": ("cancel", "trade"),
    "CancelAll": ("cancel", "trade"),
    "CancelAllOrdersAfter": ("cancel", "trade"),
    "GetWebSocketsToken": ("websocket",),
    "DepositMethods": ("deposit",),
    "DepositAddresses": ("deposit",),
    "DepositStatus": ("deposit",),
    "WithdrawMethods": ("withdraw",),
    "WithdrawAddresses": ("withdraw",),
    "WithdrawInfo": ("withdraw",),
    "Withdraw": ("withdraw",),
    "WithdrawStatus": ("withdraw",),
    "WithdrawCancel": ("withdraw",),
    "WalletTransfer": ("withdraw",),
    "CreateSubaccount": ("trade",),
    "AccountTransfer": ("withdraw",),
    "Earn/Allocate": ("earn",),
    "Earn/Deallocate": ("earn",),
    "Earn/AllocateStatus": ("earn",),
    "Earn/DeallocateStatus": ("earn",),
    "Earn/Strategies": (),
    "Earn/Allocations": ("earn",),
    "Level3": ("websocket",),
    "GetApiKeyInfo": (),
    "ListWalletAccounts": ("query_funds",),
}


def fmt(value: Decimal | int | None, places: int) -> str:
    if value is None:
        value = D(0)
    return format(D(value), f".{places}f")


def rfc3339(ts: float, micro: bool = False) -> str:
    if micro:
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
        return f"{base}.{int((ts % 1) * 1_000_000):06d}Z"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def rfc1123(ts: float) -> str:
    """Kraken's ``Time.rfc1123``: two-digit year, day padded with a space (``Wed,  9 Jan 19 01:50:54 +0000``)."""
    t = time.gmtime(ts)
    day = time.strftime("%a", t)
    mon = time.strftime("%b", t)
    return f"{day}, {t.tm_mday:2d} {mon} {t.tm_year % 100:02d} {time.strftime('%H:%M:%S', t)} +0000"


def _t4(ts: float) -> float:
    return round(ts, 4)


def order_descr(o: Order) -> str:
    pair = o.pair
    pd = pair.pair_decimals
    head = f"{o.side} {fmt(o.vol, pair.lot_decimals)} {pair.altname} @ "
    if o.ordertype == "market":
        return head + "market"
    if o.ordertype == "limit":
        return head + f"limit {fmt(o.price, pd)}"
    words = o.ordertype.replace("-limit", "").replace("-", " ")
    text = head + f"{words} {fmt(o.price, pd)}"
    if o.ordertype.endswith("-limit"):
        text += f" -> limit {fmt(o.price2, pd)}"
    return text


CLOSE_TYPES = CLOSE_ORDER_TYPES


def parse_close(params: Params, pair: Pair) -> tuple[CloseSpec | None, str]:
    """The conditional close of an AddOrder (``close[ordertype]``, ``close[price]``, ``close[price2]``
    form fields, or a ``close`` object in a JSON body) and its ``descr.close`` text; ``(None, "")``
    without one. ``close[price]`` is the limit price of a ``limit`` close, else its trigger price;
    ``close[price2]`` the limit price of a ``*-limit`` close."""
    close = params.get("close")
    if isinstance(close, dict):
        ctype, cp, cp2 = close.get("ordertype"), close.get("price"), close.get("price2")
    else:
        ctype = params.get("close[ordertype]")
        cp, cp2 = params.get("close[price]"), params.get("close[price2]")
    if ctype in (None, ""):
        return None, ""
    ctype = str(ctype)
    if ctype not in CLOSE_TYPES:
        raise OrderError("EGeneral:Invalid arguments:close[ordertype]")

    def price(v: Any, what: str) -> Decimal:
        if v in (None, ""):
            raise OrderError(f"EGeneral:Invalid arguments:{what}")
        return to_decimal(v, what)

    p1 = price(cp, "close[price]")
    p2 = price(cp2, "close[price2]") if ctype.endswith("-limit") and ctype != "limit" else None
    check_price(pair, p1, "close[price]")
    if p2 is not None:
        check_price(pair, p2, "close[price2]")
    if ctype == "limit":
        spec = CloseSpec(ctype, limit_price=p1)
    else:
        spec = CloseSpec(ctype, trigger_price=p1, limit_price=p2)
    return spec, close_text(spec, pair)


def close_descr(params: Params, pair: Pair) -> str:
    """``descr.close`` of an AddOrder with a conditional close; "" without one."""
    return parse_close(params, pair)[1]


def _by_ids(params: Params, field: str, table: Mapping[str, _T], info: Callable[[_T], Any]) -> dict[str, Any]:
    """QueryTrades / QueryLedgers: the records named by a comma-separated ``field``, each as ``info``
    gives it, keyed by its id; an unknown id is ``EGeneral:Invalid arguments:<field>``."""
    out: dict[str, Any] = {}
    for raw in str(params.get(field, "")).split(","):
        ident = raw.strip()
        rec = table.get(ident)
        if rec is None:
            raise OrderError(f"EGeneral:Invalid arguments:{field}")
        out[ident] = info(rec)
    return out


def check_deadline(params: Any, now: float, default: float | None = None) -> None:
    """Kraken's ``deadline`` (RFC 3339) on order requests, REST and WS alike, judged at ``now`` (when the
    engine processes the request, which a ``late_arrival`` fault puts after its receipt). ``default``: the
    deadline (unix seconds) of a request that gives none (WS v2: 5 s after receipt)."""
    dl = params.get("deadline")
    if dl:
        try:
            when = datetime.fromisoformat(str(dl).replace("Z", "+00:00"))
        except ValueError as exc:
            raise OrderError("EGeneral:Invalid arguments:deadline") from exc
        ts = (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()
    elif default is not None:
        ts = default
    else:
        return
    if ts < now:
        raise OrderError("EService:Deadline elapsed")


def close_text(spec: CloseSpec, pair: Pair) -> str:
    """Kraken's summary of a conditional close (official AddOrder example:
    ``close position @ stop loss 22000.0 -> limit 21000.0``)."""
    pd = pair.pair_decimals

    def px(v: Decimal | None, kind: str) -> str:
        if v is None:
            return fmt(0, pd)
        if kind == "static":
            return fmt(v, pd)
        return format(v.normalize(), "+f") + ("%" if kind == "pct" else "")

    if spec.ordertype == "limit":
        return f"close position @ limit {px(spec.limit_price, spec.limit_price_type)}"
    words = spec.ordertype.replace("-limit", "").replace("-", " ")
    text = f"close position @ {words} {px(spec.trigger_price, spec.trigger_price_type)}"
    if spec.ordertype.endswith("-limit"):
        text += f" -> limit {px(spec.limit_price, spec.limit_price_type)}"
    return text


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("true", "1", "yes")


def _int(v: Any, what: str) -> int:
    try:
        return int(str(v).strip())
    except ValueError as exc:
        raise OrderError(f"EGeneral:Invalid arguments:{what}") from exc


def _parse_time(v: Any, now: float) -> float:
    s = str(v).strip()
    if not s or s == "0":
        return 0.0
    if s.startswith("+"):
        return now + float(s[1:])
    try:
        return float(s)
    except ValueError:
        pass
    try:
        from datetime import datetime

        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise OrderError("EGeneral:Invalid arguments:expiretm") from exc


class SpotRest:
    def __init__(self, ex: SpotExchange) -> None:
        self.ex = ex
        self.ctx = ex.ctx
        self.private: dict[str, PrivateHandler] = {
            "Balance": self.balance,
            "BalanceEx": self.balance_ex,
            "CreditLines": self.credit_lines,
            "TradeBalance": self.trade_balance,
            "OpenOrders": self.open_orders,
            "ClosedOrders": self.closed_orders,
            "QueryOrders": self.query_orders,
            "OrderAmends": self.order_amends,
            "TradesHistory": self.trades_history,
            "QueryTrades": self.query_trades,
            "OpenPositions": self.open_positions,
            "Ledgers": self.ledgers,
            "QueryLedgers": self.query_ledgers,
            "TradeVolume": self.trade_volume,
            "AddExport": self.add_export,
            "ExportStatus": self.export_status,
            "RetrieveExport": self.retrieve_export,
            "RemoveExport": self.remove_export,
            "AddOrder": self.add_order,
            "AddOrderBatch": self.add_order_batch,
            "AmendOrder": self.amend_order,
            "EditOrder": self.edit_order,
            "CancelOrder": self.cancel_order,
            "CancelOrderBatch": self.cancel_order_batch,
            "CancelAll": self.cancel_all,
            "CancelAllOrdersAfter": self.cancel_all_after,
            "GetWebSocketsToken": self.ws_token,
            "GetApiKeyInfo": self.api_key_info,
            "Level3": self.level3,
            "ListWalletAccounts": self.wallet_accounts,
        }
        self.private.update(rest_extra.handlers(ex))
        self.public: dict[str, Callable[[Params], Any]] = {
            "Time": self.time,
            "SystemStatus": self.system_status,
            "Assets": self.assets,
            "AssetPairs": self.asset_pairs,
            "Ticker": self.ticker,
            "OHLC": self.ohlc,
            "Depth": self.depth,
            "Trades": self.trades,
            "Spread": self.spread,
            "GroupedBook": self.grouped_book,
            "MaintenanceSchedule": lambda p: {"maintenances": []},
            "PreTrade": self.pre_trade,
            "PostTrade": self.post_trade,
        }

    def add_routes(self, app: web.Application) -> None:
        for method in ("GET", "POST"):  # Kraken's public endpoints answer GET and POST only
            app.router.add_route(method, "/0/public/{name}", self.handle_public)
        app.router.add_route("POST", "/0/private/{name:.+}", self.handle_private)

    # plumbing ----------------------------------------------------------------------------------------
    @staticmethod
    def ok(result: Any) -> web.Response:
        return web.Response(
            text=json.dumps({"error": [], "result": result}, default=str), content_type="application/json"
        )

    @staticmethod
    def err(request: web.Request, *errors: str) -> web.Response:
        request[ERRORS_KEY] = list(errors)
        return web.Response(text=json.dumps({"error": list(errors)}), content_type="application/json")

    async def handle_public(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fn = self.public.get(name)
        if fn is None:
            return self.err(request, "EGeneral:Unknown method")
        params: Params = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            raw = await request.read()
            params.update(_parse_params(raw, request.content_type)[0])
        await self.ctx.faults.process_late(request.path)
        try:
            return self.ok(fn(params))
        except OrderError as exc:
            return self.err(request, exc.error)
        except (ValueError, ArithmeticError, KeyError, TypeError, AttributeError):
            return self.err(request, "EGeneral:Invalid arguments")

    async def handle_private(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fn = self.private.get(name)
        if fn is None:
            return self.err(request, "EGeneral:Unknown method")
        raw = await request.read()
        api_key = request.headers.get("API-Key", "")
        key = self.ex.keys.keys.get(api_key)
        if key is None:
            return self.err(request, "EAPI:Invalid key")
        try:
            params, nonce_text = _parse_params(raw, request.content_type)
        except ValueError:
            return self.err(request, "EGeneral:Invalid arguments")
        if nonce_text is None:
            return self.err(request, "EAPI:Invalid nonce")
        sign = request.headers.get("API-Sign", "")
        try:
            good = expected_signature(key.secret, request.path, nonce_text, raw)
        except Exception:  # pragma: no cover - secret is ours, always valid
            good = ""
        if not sign or not _secrets.compare_digest(sign.encode(), good.encode()):
            return self.err(request, "EAPI:Invalid signature")
        try:
            nonce = int(nonce_text)
        except ValueError:
            return self.err(request, "EAPI:Invalid nonce")
        if not key.accept_nonce(nonce):
            return self.err(request, "EAPI:Invalid nonce")
        # Kraken answers a missing or wrong one-time password with "EAPI:Invalid key" (there is no
        # dedicated otp error string); the sandbox does the same.
        if not key.check_otp(None if params.get("otp") is None else str(params.get("otp")), self.ctx.now()):
            return self.err(request, "EAPI:Invalid key")
        if self.ctx.rate_limits and not self.ex.rest_limiter.try_spend(key.key, key.tier, name):
            return self.err(request, "EAPI:Rate limit exceeded")
        need = PERMS.get(name, ())
        if need and not any(p in key.permissions for p in need):
            return self.err(request, "EGeneral:Permission denied")
        # everything above is checked on receipt; a late_arrival fault delays what follows (processing)
        await self.ctx.faults.process_late(request.path)
        try:
            result = fn(key, params)
            if hasattr(result, "__await__"):
                result = await result
        except OrderError as exc:
            return self.err(request, exc.error)
        except (ValueError, ArithmeticError, KeyError, TypeError, AttributeError):
            log.debug("bad arguments for %s", name, exc_info=True)
            return self.err(request, "EGeneral:Invalid arguments")
        return self.ok(result)

    # public ------------------------------------------------------------------------------------------
    def _pairs(self, params: Params, default_all: bool = True) -> list[Pair]:
        raw = params.get("pair")
        if raw in (None, ""):
            if default_all:
                return list(PAIRS.values())
            raise OrderError("EGeneral:Invalid arguments:pair")
        out = []
        for name in str(raw).split(","):
            p = find_pair(name)
            if p is None:
                raise OrderError("EQuery:Unknown asset pair")
            out.append(p)
        return out

    def _pair(self, params: Params) -> Pair:
        raw = params.get("pair")
        if raw in (None, ""):
            raise OrderError("EGeneral:Invalid arguments:pair")
        p = find_pair(str(raw))
        if p is None:
            raise OrderError("EQuery:Unknown asset pair")
        return p

    def time(self, params: Params) -> Any:
        now = self.ctx.now()
        return {"unixtime": int(now), "rfc1123": rfc1123(now)}

    def system_status(self, params: Params) -> Any:
        return {"status": self.ctx.faults.system_status, "timestamp": rfc3339(self.ctx.now())}

    def assets(self, params: Params) -> Any:
        wanted = params.get("asset")
        assets = list(ASSETS.values())
        if wanted:
            assets = []
            for n in str(wanted).split(","):
                a = find_asset(n)
                if a is None:
                    raise OrderError("EQuery:Unknown asset")
                assets.append(a)
        out: dict[str, Any] = {}
        for a in assets:
            info: dict[str, Any] = {
                "aclass": "currency",
                "altname": a.altname,
                "decimals": a.decimals,
                "display_decimals": a.display_decimals,
            }
            if a.collateral_value is not None:  # Kraken leaves the field out for non-collateral assets
                info["collateral_value"] = float(a.collateral_value)
            info["status"] = "enabled"
            out[a.key] = info
        return out

    def asset_pairs(self, params: Params) -> Any:
        info_kind = params.get("info", "info")
        out: dict[str, Any] = {}
        for p in self._pairs(params):
            if info_kind == "leverage":
                out[p.key] = {"leverage_buy": [], "leverage_sell": []}
                continue
            if info_kind == "fees":
                out[p.key] = {"fees": FEES, "fee_volume_currency": "ZUSD"}
                continue
            if info_kind == "margin":
                out[p.key] = {"margin_call": 80, "margin_stop": 40}
                continue
            out[p.key] = {
                "altname": p.altname,
                "wsname": p.wsname,
                "aclass_base": "currency",
                "base": p.base,
                "aclass_quote": "currency",
                "quote": p.quote,
                "lot": "unit",
                "cost_decimals": p.cost_decimals,
                "pair_decimals": p.pair_decimals,
                "lot_decimals": p.lot_decimals,
                "lot_multiplier": 1,
                "leverage_buy": [],
                "leverage_sell": [],
                "fees": FEES,
                "fees_maker": FEES_MAKER,
                "fee_volume_currency": "ZUSD",
                "margin_call": 80,
                "margin_stop": 40,
                "ordermin": format(p.ordermin, "f"),
                "costmin": format(p.costmin, "f"),
                "tick_size": format(p.tick_size, "f"),
                "status": p.status,
                "long_position_limit": 0,
                "short_position_limit": 0,
            }
        return out

    def ticker(self, params: Params) -> Any:
        out: dict[str, Any] = {}
        eng = self.ex.engine
        for p in self._pairs(params):
            b = eng.books[p.key]
            pd, ld = p.pair_decimals, p.lot_decimals
            ask = b.asks.best()
            bid = b.bids.best()
            last = b.trades[-1] if b.trades else None
            vwap = b.vwap_num / b.volume if b.volume else b.last_price
            ask_lot = ask.qty.to_integral_value() if ask else D(0)
            bid_lot = bid.qty.to_integral_value() if bid else D(0)
            out[p.key] = {
                "a": [fmt(ask.price if ask else 0, pd), str(ask_lot), fmt(ask.qty if ask else 0, 3)],
                "b": [fmt(bid.price if bid else 0, pd), str(bid_lot), fmt(bid.qty if bid else 0, 3)],
                "c": [fmt(b.last_price, pd), fmt(last.qty if last else 0, ld)],
                "v": [fmt(b.volume, ld), fmt(b.volume, ld)],
                "p": [fmt(vwap, pd + 4), fmt(vwap, pd + 4)],
                "t": [b.trade_count, b.trade_count],
                "l": [fmt(b.low, pd), fmt(b.low, pd)],
                "h": [fmt(b.high, pd), fmt(b.high, pd)],
                "o": fmt(b.open_price, pd),
            }
        return out

    def ohlc(self, params: Params) -> Any:
        p = self._pair(params)
        interval = _int(params.get("interval", 1), "interval")
        if interval not in OHLC_INTERVALS:
            raise OrderError("EGeneral:Invalid arguments:interval")
        since = float(params.get("since", 0) or 0)
        b = self.ex.engine.books[p.key]
        pd, ld = p.pair_decimals, p.lot_decimals
        rows = []
        for c in b.candles[interval]:
            if c[0] < since:
                continue
            vwap = c[5] / c[6] if c[6] else c[4]
            rows.append(
                [c[0], fmt(c[1], pd), fmt(c[2], pd), fmt(c[3], pd), fmt(c[4], pd), fmt(vwap, pd), fmt(c[6], ld), c[7]]
            )
        last = rows[-1][0] if rows else int(self.ctx.now() // (interval * 60)) * interval * 60
        return {p.key: rows, "last": last}

    def depth(self, params: Params) -> Any:
        p = self._pair(params)
        count = _int(params.get("count", 100) or 100, "count")
        count = max(1, min(count, 500))
        b = self.ex.engine.books[p.key]
        pd, ld = p.pair_decimals, p.lot_decimals

        def rows(levels: list[Any]) -> list[list[Any]]:
            out = []
            for lvl in levels:
                ts = int(max(o.opentm for o in lvl.orders.values()))
                out.append([fmt(lvl.price, pd), fmt(lvl.qty, ld), ts])
            return out

        return {p.key: {"asks": rows(b.asks.top(count)), "bids": rows(b.bids.top(count))}}

    def grouped_book(self, params: Params) -> Any:
        p = self._pair(params)
        depth = self.depth({"pair": p.key, "count": params.get("depth", 10)})[p.key]
        return {
            "pair": p.wsname,
            "grouping": 1,
            "bids": [{"price": r[0], "qty": r[1]} for r in depth["bids"]],
            "asks": [{"price": r[0], "qty": r[1]} for r in depth["asks"]],
        }

    def trades(self, params: Params) -> Any:
        p = self._pair(params)
        since = int(params.get("since", 0) or 0)
        count = _int(params.get("count", 1000) or 1000, "count")
        b = self.ex.engine.books[p.key]
        pd, ld = p.pair_decimals, p.lot_decimals
        rows = []
        for t in b.trades:
            ts_ns = int(t.time * 1e9)
            if ts_ns <= since:
                continue
            rows.append(
                [
                    fmt(t.price, pd),
                    fmt(t.qty, ld),
                    round(t.time, 4),
                    t.side[0],
                    "m" if t.ordertype == "market" else "l",
                    "",
                    t.trade_id,
                ]
            )
        rows = rows[-count:]
        last = str(int(b.trades[-1].time * 1e9)) if b.trades else str(since)
        return {p.key: rows, "last": last}

    def spread(self, params: Params) -> Any:
        p = self._pair(params)
        since = int(params.get("since", 0) or 0)
        b = self.ex.engine.books[p.key]
        pd = p.pair_decimals
        rows = [[int(t), fmt(bid, pd), fmt(ask, pd)] for t, bid, ask in b.spreads if t > since]
        last = rows[-1][0] if rows else int(self.ctx.now())
        return {p.key: rows, "last": last}

    def pre_trade(self, params: Params) -> Any:
        p = self._pair({"pair": params.get("symbol", params.get("pair", ""))})
        d = self.depth({"pair": p.key, "count": 10})[p.key]
        return {
            "symbol": p.symbol,
            "description": p.wsname,
            "base_asset": p.base_ws,
            "quote_asset": p.quote_ws,
            "bids": [{"price": r[0], "qty": r[1]} for r in d["bids"]],
            "asks": [{"price": r[0], "qty": r[1]} for r in d["asks"]],
        }

    def post_trade(self, params: Params) -> Any:
        out = []
        for p in PAIRS.values():
            for t in list(self.ex.engine.books[p.key].trades)[-20:]:
                out.append(
                    {
                        "symbol": p.symbol,
                        "price": fmt(t.price, p.pair_decimals),
                        "quantity": fmt(t.qty, p.lot_decimals),
                        "trade_id": str(t.trade_id),
                        "trade_ts": rfc3339(t.time, micro=True),
                    }
                )
        return {"trades": out, "count": len(out)}

    # private: account --------------------------------------------------------------------------------
    def balance(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        return {a: fmt(v, _dec(a)) for a, v in sorted(acc.balances.items())}

    def balance_ex(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        return {
            a: {"balance": fmt(v, _dec(a)), "hold_trade": fmt(acc.holds.get(a, D(0)), _dec(a))}
            for a, v in sorted(acc.balances.items())
        }

    def credit_lines(self, key: ApiKey, params: Params) -> Any:
        return {
            "asset_details": {},
            "limits_monitor": {
                "total_credit_usd": "0.0000",
                "total_credit_used_usd": "0.0000",
                "total_collateral_value_usd": "0.0000",
                "equity_usd": "0.0000",
                "ongoing_balance": "0.0000",
                "debt_to_equity": "0.0000",
            },
        }

    def _usd_value(self, asset: str, amount: Decimal) -> Decimal:
        if asset == "ZUSD":
            return amount
        for p in PAIRS.values():
            if p.base == asset and p.quote == "ZUSD":
                return amount * self.ex.engine.books[p.key].last_price
        if asset == "ZEUR":
            return amount * D("1.08")
        return D(0)

    def trade_balance(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        eb = sum((self._usd_value(a, v) for a, v in acc.balances.items()), D(0))
        tb = eb
        z = "0.0000"
        return {
            "eb": fmt(eb, 4),
            "tb": fmt(tb, 4),
            "m": z,
            "n": z,
            "c": z,
            "v": z,
            "e": fmt(eb, 4),
            "mf": fmt(tb, 4),
            "ml": "0.00",
            "uv": z,
        }

    def trade_volume(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        vol = sum((self._usd_value(t.pair.quote, t.cost) for t in acc.trades.values()), D(0))
        out: dict[str, Any] = {"currency": "ZUSD", "volume": fmt(vol, 4)}
        pairs = self._pairs(params, default_all=False) if params.get("pair") else []
        if pairs:
            out["fees"] = {p.key: _fee_info("0.2600", "0.1000", "0.2600", "0.2400", "50000.0000") for p in pairs}
            out["fees_maker"] = {p.key: _fee_info("0.1600", "0.0000", "0.1600", "0.1400", "50000.0000") for p in pairs}
        return out

    def api_key_info(self, key: ApiKey, params: Params) -> Any:
        return {
            "api_key_name": "sandbox",
            "api_key": key.key[:8] + "...",
            "nonce": str(key.last_nonce),
            "nonce_window": key.nonce_window,
            "permissions": sorted(key.permissions),
            "iban": "AA00 SAND BOX0",
            "valid_until": "0",
            "query_from": "0",
            "query_to": "0",
            "created_time": "0",
            "modified_time": "0",
            "ip_allowlist": [],
            "last_used": str(int(self.ctx.now())),
        }

    def wallet_accounts(self, key: ApiKey, params: Params) -> Any:
        return {"accounts": [{"id": "main", "type": "spot", "name": "Main"}]}

    # orders ------------------------------------------------------------------------------------------
    def order_info(self, o: Order, with_trades: bool = False) -> dict[str, Any]:
        p = o.pair
        pd, ld, cd = p.pair_decimals, p.lot_decimals, p.cost_decimals
        flags = ["fciq"]
        if o.post_only:
            flags.append("post")
        info: dict[str, Any] = {
            "refid": o.refid,  # the primary order, for a conditional close's secondary order
            "userref": o.userref if o.userref is not None else 0,
        }
        if o.cl_ord_id is not None:
            info["cl_ord_id"] = o.cl_ord_id
        status = o.status if o.status != "pending" else "pending"
        info["status"] = status
        if not o.is_open:
            info["reason"] = o.reason
        info["opentm"] = _t4(o.opentm)
        if not o.is_open:
            info["closetm"] = _t4(o.closetm or o.opentm)
        info.update(
            {
                "starttm": 0,
                "expiretm": _t4(o.expiretm) if o.expiretm else 0,
                "descr": {
                    "pair": p.altname,
                    "type": o.side,
                    "ordertype": o.ordertype,
                    "price": fmt(o.price, pd) if o.price is not None else "0",
                    "price2": fmt(o.price2, pd) if o.price2 is not None else "0",
                    "leverage": "none",
                    "order": order_descr(o),
                    "close": o.close_descr,
                },
                "vol": fmt(o.vol, ld),
                "vol_exec": fmt(o.vol_exec, ld),
                "cost": fmt(o.cost, cd),
                "fee": fmt(o.fee, cd),
                "price": fmt(o.avg_price, pd + 4 if o.vol_exec else cd),
                "stopprice": fmt(o.stopprice, cd),
                "limitprice": fmt(o.limit_price if o.triggered and o.limit_price is not None else 0, cd),
                "misc": "",
                "oflags": ",".join(flags),
                "timeinforce": o.timeinforce,
            }
        )
        info["trigger"] = "last"
        if with_trades and o.trades:
            info["trades"] = list(o.trades)
        return info

    def _filter(self, orders: list[Order], params: Params) -> list[Order]:
        if params.get("userref") not in (None, ""):
            ur = _int(params["userref"], "userref")
            orders = [o for o in orders if o.userref == ur]
        if params.get("cl_ord_id") not in (None, ""):
            cid = str(params["cl_ord_id"])
            orders = [o for o in orders if o.cl_ord_id == cid]
        return orders

    def open_orders(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        trades = _bool(params.get("trades", False))
        orders = self._filter(sorted(acc.open_orders.values(), key=lambda o: o.seq), params)
        return {"open": {o.txid: self.order_info(o, trades) for o in orders}}

    def open_positions(self, key: ApiKey, params: Params) -> Any:
        """No margin trading in the sandbox (no pair has leverage), so never a position; but the shape
        follows Kraken: an object keyed by position txid, or with ``consolidation=market`` a list of
        per-pair consolidated positions."""
        self.ex.engine.account(key.account)
        consolidation = str(params.get("consolidation", "") or "")
        if consolidation not in ("", "market"):
            raise OrderError("EGeneral:Invalid arguments:consolidation")
        _bool(params.get("docalcs", False))
        if consolidation == "market":
            return []
        return {}

    def closed_orders(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        trades = _bool(params.get("trades", False))
        closed = [o for o in acc.orders.values() if not o.is_open]
        closed = self._filter(closed, params)
        start = float(params.get("start", 0) or 0)
        end = float(params.get("end", 0) or 0)
        if start:
            closed = [o for o in closed if (o.closetm or 0) > start]
        if end:
            closed = [o for o in closed if (o.closetm or 0) <= end]
        closed.sort(key=lambda o: (o.closetm or 0, o.seq), reverse=True)
        ofs = int(params.get("ofs", 0) or 0)
        page = closed[ofs : ofs + 50]
        return {"closed": {o.txid: self.order_info(o, trades) for o in page}, "count": len(closed)}

    def query_orders(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        trades = _bool(params.get("trades", False))
        txids = [t.strip() for t in str(params.get("txid", "") or "").split(",") if t.strip()]
        if txids:
            if len(txids) > 50:
                raise OrderError("EGeneral:Invalid arguments:txid")
            found = []
            for t in txids:
                o = acc.orders.get(t)
                if o is None:
                    raise OrderError("EOrder:Unknown order")
                found.append(o)
            orders = self._filter(found, params)
        elif params.get("cl_ord_id") not in (None, "") or params.get("userref") not in (None, ""):
            orders = self._filter(sorted(acc.orders.values(), key=lambda o: o.seq), params)
        else:
            raise OrderError("EGeneral:Invalid arguments:txid")
        return {o.txid: self.order_info(o, trades) for o in orders}

    def order_amends(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        o = acc.orders.get(str(params.get("order_id", "")))
        if o is None:
            raise OrderError("EOrder:Unknown order")
        p = o.pair
        rows = o.amends or [self.ex.engine._amend_rec(o, "original", o.opentm)]
        out = []
        for a in rows:
            r = {
                "amend_id": a["amend_id"],
                "amend_type": a["amend_type"],
                "order_qty": fmt(a["order_qty"], p.lot_decimals),
                "remaining_qty": fmt(a["remaining_qty"], p.lot_decimals),
            }
            if a.get("limit_price") is not None:
                r["limit_price"] = fmt(a["limit_price"], p.pair_decimals)
            if a.get("trigger_price") is not None:
                r["trigger_price"] = fmt(a["trigger_price"], p.pair_decimals)
            r["timestamp"] = a["timestamp"]
            out.append(r)
        return {"amends": out, "count": len(out)}

    def trade_info(self, t: TradeRecord, with_ledgers: bool = False) -> dict[str, Any]:
        p = t.pair
        info: dict[str, Any] = {
            "ordertxid": t.ordertxid,
            "postxid": t.postxid,
            "pair": p.key,
            "time": _t4(t.time),
            "type": t.type,
            "ordertype": t.ordertype,
            "price": fmt(t.price, p.pair_decimals),
            "cost": fmt(t.cost, p.cost_decimals),
            "fee": fmt(t.fee, p.cost_decimals),
            "vol": fmt(t.vol, p.lot_decimals),
            "margin": fmt(0, p.cost_decimals),
            "leverage": "0",
            "misc": "",
            "trade_id": t.trade_id,
            "maker": t.maker,
        }
        if with_ledgers:
            info["ledgers"] = list(t.ledgers)
        return info

    def trades_history(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        rows = sorted(acc.trades.values(), key=lambda t: t.time, reverse=True)
        start = float(params.get("start", 0) or 0)
        end = float(params.get("end", 0) or 0)
        if start:
            rows = [t for t in rows if t.time > start]
        if end:
            rows = [t for t in rows if t.time <= end]
        ofs = int(params.get("ofs", 0) or 0)
        led = _bool(params.get("ledgers", False))
        return {"trades": {t.txid: self.trade_info(t, led) for t in rows[ofs : ofs + 50]}, "count": len(rows)}

    def query_trades(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        return _by_ids(params, "txid", acc.trades, self.trade_info)

    @staticmethod
    def ledger_info(e: LedgerEntry) -> dict[str, Any]:
        d = _dec(e.asset)
        return {
            "refid": e.refid,
            "time": _t4(e.time),
            "type": e.type,
            "subtype": e.subtype,
            "aclass": "currency",
            "asset": e.asset,
            "amount": fmt(e.amount, d),
            "fee": fmt(e.fee, d),
            "balance": fmt(e.balance, d),
        }

    def ledgers(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        rows = sorted(acc.ledger.values(), key=lambda e: e.time, reverse=True)
        if params.get("asset") not in (None, "", "all"):
            wanted = set()
            for n in str(params["asset"]).split(","):
                a = find_asset(n)
                wanted.add(a.key if a else n)
            rows = [e for e in rows if e.asset in wanted]
        if params.get("type") not in (None, "", "all"):
            rows = [e for e in rows if e.type == params["type"]]
        ofs = int(params.get("ofs", 0) or 0)
        return {"ledger": {e.id: self.ledger_info(e) for e in rows[ofs : ofs + 50]}, "count": len(rows)}

    def query_ledgers(self, key: ApiKey, params: Params) -> Any:
        acc = self.ex.engine.account(key.account)
        return _by_ids(params, "id", acc.ledger, self.ledger_info)

    # exports -----------------------------------------------------------------------------------------
    def add_export(self, key: ApiKey, params: Params) -> Any:
        if params.get("report") not in ("trades", "ledgers") or not params.get("description"):
            raise OrderError("EGeneral:Invalid arguments")
        rid = self.ex.engine.new_id("").replace("-", "")[:4]
        now = self.ctx.now()
        self.ex.exports[rid] = {
            "owner": key.account,
            "id": rid,
            "descr": str(params["description"]),
            "format": params.get("format", "CSV"),
            "report": params["report"],
            "subtype": "all",
            "status": "Processed",
            "flags": "0",
            "fields": "all",
            "createdtm": str(int(now)),
            "expiretm": str(int(now) + 86400 * 14),
            "starttm": str(int(now)),
            "completedtm": str(int(now)),
            "datastarttm": str(int(params.get("starttm", now - 86400) or 0)),
            "dataendtm": str(int(params.get("endtm", now) or now)),
            "aclass": "forex",
            "asset": "all",
        }
        return {"id": rid}

    def export_status(self, key: ApiKey, params: Params) -> Any:
        return [
            {k: v for k, v in e.items() if k != "owner"}
            for e in self.ex.exports.values()
            if e["owner"] == key.account and e["report"] == params.get("report", e["report"])
        ]

    def retrieve_export(self, key: ApiKey, params: Params) -> Any:
        e = self.ex.exports.get(str(params.get("id", "")))
        if e is None or e["owner"] != key.account:
            raise OrderError("EQuery:Unknown export")
        import base64
        import io
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(f"{e['report']}.csv", "txid,time\n")
        return {"report": base64.b64encode(buf.getvalue()).decode()}

    def remove_export(self, key: ApiKey, params: Params) -> Any:
        rid = str(params.get("id", ""))
        e = self.ex.exports.get(rid)
        if e is None or e["owner"] != key.account:
            raise OrderError("EQuery:Unknown export")
        del self.ex.exports[rid]
        return {"delete": True} if params.get("type") == "delete" else {"cancel": True}

    # trading -----------------------------------------------------------------------------------------
    def _order_kwargs(self, params: Params, pair: Pair) -> dict[str, Any]:
        oflags = [f.strip() for f in str(params.get("oflags", "") or "").split(",") if f.strip()]
        now = self.ctx.now()
        userref = params.get("userref")
        cl = params.get("cl_ord_id")
        return {
            "side": str(params.get("type", "")),
            "ordertype": str(params.get("ordertype", "")),
            "volume": params.get("volume"),
            "price": params.get("price"),
            "price2": params.get("price2"),
            "post_only": "post" in oflags,
            "timeinforce": str(params.get("timeinforce", "GTC") or "GTC"),
            "expiretm": _parse_time(params.get("expiretm", 0), now),
            "userref": None if userref in (None, "") else _int(userref, "userref"),
            "cl_ord_id": None if cl in (None, "") else str(cl),
            "oflags": ",".join(oflags),
        }

    def add_order(self, key: ApiKey, params: Params) -> Any:
        pair = self._pair(params)
        check_deadline(params, self.ctx.now())
        validate = _bool(params.get("validate", False))
        kw = self._order_kwargs(params, pair)
        spec, close = parse_close(params, pair)
        o = self.ex.add_order(key, pair, validate=validate, close=spec, close_descr=close, **kw)
        descr: dict[str, Any] = {"order": order_descr(o)}
        if close:
            descr["close"] = close
        res: dict[str, Any] = {"descr": descr}
        if not validate:
            res["txid"] = [o.txid]
        return res

    def add_order_batch(self, key: ApiKey, params: Params) -> Any:
        pair = self._pair(params)
        orders = params.get("orders")
        if not isinstance(orders, list) or not 2 <= len(orders) <= 15:
            raise OrderError("EGeneral:Invalid arguments:orders")
        check_deadline(params, self.ctx.now())
        validate = _bool(params.get("validate", False))
        kws = [self._order_kwargs(o if isinstance(o, dict) else {}, pair) for o in orders]
        cids = [k["cl_ord_id"] for k in kws if k["cl_ord_id"] is not None]
        if len(set(cids)) != len(cids):
            raise OrderError("EGeneral:Invalid arguments:cl_ord_id")
        closes = [parse_close(o if isinstance(o, dict) else {}, pair) for o in orders]
        descrs: list[dict[str, Any]] = []
        for kw, (_spec, c) in zip(kws, closes, strict=True):  # the whole batch is validated before any is placed
            d: dict[str, Any] = {"order": order_descr(self.ex.engine.add_order(key.account, pair, validate=True, **kw))}
            if c:
                d["close"] = c
            descrs.append(d)
        out: list[dict[str, Any]] = []
        for kw, d, (spec, c) in zip(kws, descrs, closes, strict=True):
            if validate:
                out.append({"descr": d})
                continue
            try:
                o = self.ex.add_order(key, pair, close=spec, close_descr=c, **kw)
                out.append({"txid": o.txid, "descr": d})
            except OrderError as exc:
                out.append({"error": exc.error})
        return {"orders": out}

    def amend_order(self, key: ApiKey, params: Params) -> Any:
        txid = params.get("txid")
        cl = params.get("cl_ord_id")
        if not txid and not cl:
            raise OrderError("EGeneral:Invalid arguments:txid")
        check_deadline(params, self.ctx.now())
        _o, amend_id = self.ex.amend(
            key,
            str(txid) if txid else None,
            None if txid else str(cl),
            order_qty=params.get("order_qty"),
            limit_price=params.get("limit_price"),
            trigger_price=params.get("trigger_price"),
            post_only=_bool(params.get("post_only", False)),
        )
        return {"amend_id": amend_id}

    def edit_order(self, key: ApiKey, params: Params) -> Any:
        txid = str(params.get("txid", ""))
        self.ex.engine.find_order(key.account, txid, self._pair(params))
        check_deadline(params, self.ctx.now())
        validate = _bool(params.get("validate", False))
        oflags = str(params.get("oflags", "") or "")
        old, new = self.ex.edit(
            key,
            txid,
            volume=params.get("volume"),
            price=params.get("price"),
            price2=params.get("price2"),
            userref=None if params.get("userref") in (None, "") else _int(params["userref"], "userref"),
            post_only=("post" in oflags) if oflags else None,
            validate=validate,
        )
        p = new.pair
        return {
            "status": "ok",
            "txid": new.txid if not validate else "",
            "originaltxid": old.txid,
            "volume": fmt(new.vol, p.lot_decimals),
            "price": fmt(new.price, p.pair_decimals),
            "price2": fmt(new.price2 or 0, p.pair_decimals),
            "orders_cancelled": 0 if validate else 1,
            "descr": {"order": order_descr(new)},
        }

    def cancel_order(self, key: ApiKey, params: Params) -> Any:
        txid = params.get("txid")
        cl = params.get("cl_ord_id")
        if txid in (None, "") and cl in (None, ""):
            raise OrderError("EGeneral:Invalid arguments:txid")
        if txid not in (None, ""):
            t = str(txid)
            if t.lstrip("-").isdigit():
                return {"count": self.ex.cancel_userref(key, int(t))}
            self.ex.cancel(key, t)
        else:
            self.ex.cancel(key, None, str(cl))
        return {"count": 1}

    def cancel_order_batch(self, key: ApiKey, params: Params) -> Any:
        ids = params.get("orders") or []
        cids = params.get("cl_ord_ids") or []
        if not isinstance(ids, list) or not isinstance(cids, list) or not (ids or cids) or len(ids) + len(cids) > 50:
            raise OrderError("EGeneral:Invalid arguments:orders")
        n = 0
        for item in ids:
            t = item.get("txid") if isinstance(item, dict) else item
            try:
                if str(t).lstrip("-").isdigit():
                    n += self.ex.cancel_userref(key, int(str(t)))
                else:
                    self.ex.cancel(key, str(t))
                    n += 1
            except OrderError:
                continue
        for item in cids:
            c = item.get("cl_ord_id") if isinstance(item, dict) else item
            try:
                self.ex.cancel(key, None, str(c))
                n += 1
            except OrderError:
                continue
        return {"count": n}

    def cancel_all(self, key: ApiKey, params: Params) -> Any:
        return {"count": self.ex.cancel_all(key)}

    def cancel_all_after(self, key: ApiKey, params: Params) -> Any:
        timeout = _int(params.get("timeout", ""), "timeout")
        if timeout < 0 or timeout >= 86400:
            raise OrderError("EGeneral:Invalid arguments:timeout")
        now, trig = self.ex.cancel_all_after(key, timeout)
        return {"currentTime": rfc3339(now), "triggerTime": rfc3339(trig) if trig else "0"}

    def ws_token(self, key: ApiKey, params: Params) -> Any:
        return {"token": self.ex.keys.new_token(key, self.ctx.now()), "expires": 900}

    def level3(self, key: ApiKey, params: Params) -> Any:
        p = self._pair(params)
        depth = int(params.get("depth", 100) or 100)
        eng = self.ex.engine
        pd, ld = p.pair_decimals, p.lot_decimals

        def side(s: str) -> list[dict[str, Any]]:
            out = []
            for _lvl, orders in eng.l3_orders(p.key, s, depth):
                for o in orders:
                    out.append(
                        {
                            "price": fmt(o.limit_price, pd),
                            "qty": fmt(o.remaining, ld),
                            "order_id": o.txid,
                            "timestamp": int(o.opentm * 1e9),
                        }
                    )
            return out

        return {"pair": p.wsname, "bids": side("buy"), "asks": side("sell")}


FEES = [
    [0, 0.26],
    [50000, 0.24],
    [100000, 0.22],
    [250000, 0.2],
    [500000, 0.18],
    [1000000, 0.16],
    [2500000, 0.14],
    [5000000, 0.12],
    [10000000, 0.1],
]
FEES_MAKER = [
    [0, 0.16],
    [50000, 0.14],
    [100000, 0.12],
    [250000, 0.1],
    [500000, 0.08],
    [1000000, 0.06],
    [2500000, 0.04],
    [5000000, 0.02],
    [10000000, 0],
]


def _fee_info(fee: str, minfee: str, maxfee: str, nextfee: str, nextvolume: str) -> dict[str, Any]:
    return {
        "fee": fee,
        "minfee": minfee,
        "maxfee": maxfee,
        "nextfee": nextfee,
        "nextvolume": nextvolume,
        "tiervolume": "0.0000",
    }


def _dec(asset: str) -> int:
    a = ASSETS.get(asset)
    return a.decimals if a else 8


def _parse_params(raw: bytes, content_type: str) -> tuple[Params, str | None]:
    """Parse a form or JSON body; returns (params, nonce exactly as sent)."""
    text = raw.decode("utf-8")
    if not text.strip():
        return {}, None
    if "json" in content_type or text.lstrip().startswith("{"):
        val = json.loads(text, parse_float=Decimal)
        if not isinstance(val, dict):
            raise ValueError("json body must be an object")
        nonce = val.get("nonce")
        return val, None if nonce is None else str(nonce)
    parsed = urllib.parse.parse_qs(text, keep_blank_values=True)
    params: Params = {}
    for k, v in parsed.items():
        params[k] = v[0] if len(v) == 1 else v
    nonce = params.get("nonce")
    return params, None if nonce is None else str(nonce)


_ = to_decimal
