"""Derivatives REST: ``/derivatives/api/v3/*``, ``/api/history/v3/*``, ``/api/charts/v1/*``,
``/api/auth/v1/*`` and ``/api/stats/v1/*`` on top of the :class:`~.engine.Engine`."""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aiohttp import web

from .._json import dumps
from ._util import ZERO, fnum, iso_ms, ms, num, parse_bool, parse_decimal, quant, seeded_uuid
from .auth import endpoint_path, verify_authent
from .engine import Account, EngineError, Order, OrderRequest
from .ratelimit import derivatives_cost, history_cost

if TYPE_CHECKING:
    from .venue import FuturesVenue

__all__ = ["FuturesRest"]

Params = dict[str, list[str]]
Handler = Callable[["Call"], Awaitable[web.StreamResponse]]

RESOLUTIONS = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "12h": 43200,
    "1d": 86400,
    "1w": 604800,
}
FEE_TIERS = [
    (Decimal("0.02"), Decimal("0.05"), Decimal("0.0")),
    (Decimal("0.015"), Decimal("0.04"), Decimal("100000.0")),
    (Decimal("0.0125"), Decimal("0.03"), Decimal("1000000.0")),
    (Decimal("0.01"), Decimal("0.025"), Decimal("5000000.0")),
    (Decimal("0.0075"), Decimal("0.02"), Decimal("10000000.0")),
    (Decimal("0.005"), Decimal("0.015"), Decimal("20000000.0")),
    (Decimal("0.0025"), Decimal("0.0125"), Decimal("50000000.0")),
    (Decimal("0.0"), Decimal("0.01"), Decimal("100000000.0")),
]


@dataclass
class Call:
    request: web.Request
    params: Params
    match: dict[str, str]
    acct: Account | None
    body: bytes

    def get(self, name: str) -> str | None:
        vals = self.params.get(name)
        return vals[-1] if vals else None

    def getlist(self, name: str) -> list[str]:
        return list(self.params.get(name, [])) + list(self.params.get(name + "[]", []))

    @property
    def account(self) -> Account:
        assert self.acct is not None
        return self.acct


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool
    family: str  # derivatives | history | charts | auth | stats
    name: str


def _parse_time(text: str | None) -> float | None:
    """processBefore and friends: ISO 8601 (with or without Z) or epoch milliseconds."""
    if not text:
        return None
    t = text.strip()
    if t.isdigit():
        return int(t) / 1000.0
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class FuturesRest:
    def __init__(self, exchange: FuturesVenue) -> None:
        self.x = exchange
        self.engine = exchange.engine
        self.routes: list[Route] = []
        d = "/derivatives/api/v3"
        h = "/api/history/v3"
        c = "/api/charts/v1"
        add = self._add
        # ---- public market data
        add("GET", d + "/tickers", self.tickers, False)
        add("GET", d + "/tickers/{symbol}", self.ticker, False)
        add("GET", d + "/instruments", self.instruments, False)
        add("GET", d + "/instruments/status", self.instruments_status, False)
        add("GET", d + "/instruments/{symbol}/status", self.instrument_status, False)
        add("GET", d + "/orderbook", self.orderbook, False)
        add("GET", d + "/history", self.trade_history, False)
        add("GET", d + "/feeschedules", self.fee_schedules, False)
        add("GET", d + "/historical-funding-rates", self.funding_rates, False)
        add("GET", d + "/rfqs", self.rfqs, False)
        # ---- private trading
        add("POST", d + "/sendorder", self.sendorder, True)
        add("POST", d + "/editorder", self.editorder, True)
        add("POST", d + "/cancelorder", self.cancelorder, True)
        add("POST", d + "/batchorder", self.batchorder, True)
        add("POST", d + "/cancelallorders", self.cancelallorders, True)
        add("POST", d + "/cancelallordersafter", self.cancelallordersafter, True)
        add("POST", d + "/orders/status", self.orders_status, True)
        add("GET", d + "/openorders", self.openorders, True)
        add("GET", d + "/openpositions", self.openpositions, True)
        add("GET", d + "/fills", self.fills, True)
        add("GET", d + "/accounts", self.accounts, True)
        add("GET", d + "/leveragepreferences", self.get_leverage, True)
        add("PUT", d + "/leveragepreferences", self.set_leverage, True)
        add("GET", d + "/pnlpreferences", self.get_pnl, True)
        add("PUT", d + "/pnlpreferences", self.set_pnl, True)
        add("GET", d + "/feeschedules/volumes", self.fee_volumes, True)
        add("GET", d + "/notifications", self.notifications, True)
        add("GET", d + "/unwindqueue", self.unwindqueue, True)
        add("GET", d + "/self-trade-strategy", self.get_stp, True)
        add("PUT", d + "/self-trade-strategy", self.set_stp, True)
        add("GET", d + "/subaccounts", self.subaccounts, True)
        add("GET", d + "/subaccount/{uid}/trading-enabled", self.sub_trading, True)
        add("PUT", d + "/subaccount/{uid}/trading-enabled", self.sub_trading, True)
        add("POST", d + "/transfer", self.transfer, True)
        add("POST", d + "/transfer/subaccount", self.transfer, True)
        add("POST", d + "/withdrawal", self.withdrawal, True)
        add("GET", d + "/assignmentprogram/current", self.assignment_current, True)
        add("POST", d + "/assignmentprogram/add", self.assignment_add, True)
        add("POST", d + "/assignmentprogram/delete", self.assignment_delete, True)
        add("GET", d + "/assignmentprogram/history", self.assignment_history, True)
        add("GET", d + "/portfolio-margining/parameters", self.pm_parameters, True)
        add("POST", d + "/portfolio-margining/simulate", self.pm_simulate, True)
        add("GET", d + "/rfqs/open-offers", self.rfq_open_offers, True)
        add("GET", d + "/rfqs/{rfq}", self.rfq, False)
        add("POST", d + "/rfqs/{rfq}/place-offer", self.rfq_place, True)
        add("PUT", d + "/rfqs/{rfq}/replace-offer", self.rfq_ok, True)
        add("DELETE", d + "/rfqs/{rfq}/cancel-offer", self.rfq_ok, True)
        add("GET", d + "/trading/instruments", self.instruments, True)
        add("GET", d + "/rfq-assignment/max-leverage", self.rfq_max_leverage, True)
        add("PUT", d + "/rfq-assignment/max-leverage", self.rfq_max_leverage, True)
        add("DELETE", d + "/rfq-assignment/max-leverage", self.rfq_max_leverage, True)
        # ---- history
        add("GET", h + "/executions", self.h_executions, True)
        add("GET", h + "/orders", self.h_orders, True)
        add("GET", h + "/triggers", self.h_triggers, True)
        add("GET", h + "/positions", self.h_positions, True)
        add("GET", h + "/account-log", self.h_account_log, True)
        add("GET", h + "/accountlogcsv", self.h_account_log_csv, True)
        add("GET", h + "/market/{symbol}/executions", self.h_market_executions, False)
        add("GET", h + "/market/{symbol}/orders", self.h_market_orders, False)
        add("GET", h + "/market/{symbol}/price", self.h_market_price, False)
        # ---- charts
        add("GET", c + "/", self.c_tick_types, False)
        add("GET", c, self.c_tick_types, False)
        add("GET", c + "/analytics/liquidity-pool", self.c_analytics, False)
        add("GET", c + "/analytics/{symbol}/{atype}", self.c_analytics, False)
        add("GET", c + "/{tick}", self.c_markets, False)
        add("GET", c + "/{tick}/{symbol}", self.c_resolutions, False)
        add("GET", c + "/{tick}/{symbol}/{res}", self.c_candles, False)
        # ---- auth / stats
        add("GET", "/api/auth/v1/api-keys/v3/check", self.api_key_check, True)
        add("GET", "/api/stats/v1/rebates/self-market-share", self.market_share, True)

    def _add(self, method: str, path: str, handler: Handler, auth: bool) -> None:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "/?$"
        if path.startswith("/derivatives"):
            family, name = "derivatives", path[len("/derivatives/api/v3/") :]
        elif path.startswith("/api/history"):
            family, name = "history", path[len("/api/history/v3/") :]
        elif path.startswith("/api/charts"):
            family, name = "charts", path
        elif path.startswith("/api/auth"):
            family, name = "auth", path
        else:
            family, name = "stats", path
        self.routes.append(Route(method, re.compile(regex), handler, auth, family, name))

    def add_routes(self, app: web.Application) -> None:
        for prefix in ("/derivatives/api/v3", "/api/history/v3", "/api/charts/v1", "/api/auth/v1", "/api/stats/v1"):
            app.router.add_route("*", prefix + "/{tail:.*}", self.dispatch)
        app.router.add_route("*", "/api/charts/v1", self.dispatch)

    # ------------------------------------------------------------------ plumbing
    def now(self) -> float:
        return self.x.ctx.now()

    def ok(self, payload: dict[str, Any] | None = None, status: int = 200) -> web.Response:
        body: dict[str, Any] = {"result": "success"}
        body.update(payload or {})
        body["serverTime"] = iso_ms(self.now())
        return self.json(body, status)

    def error(self, code: str, status: int = 200) -> web.Response:
        return self.json({"result": "error", "error": code, "serverTime": iso_ms(self.now())}, status)

    @staticmethod
    def json(body: Any, status: int = 200) -> web.Response:
        return web.Response(body=dumps(body), status=status, content_type="application/json")

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        method = request.method.upper()
        route = None
        match: dict[str, str] = {}
        path_known = False
        for r in self.routes:
            m = r.pattern.match(raw_path)
            if m is None:
                continue
            path_known = True
            if r.method == method:
                route, match = r, {k: v for k, v in m.groupdict().items()}
                break
        if route is None:
            if raw_path.startswith("/derivatives") or raw_path.startswith("/api/history"):
                return self.error("notFound", 405 if path_known else 404)
            return self.json({"error": "NOT_FOUND", "message": "not found", "suberror": None}, 404)
        body = await request.read()
        raw_query = request.rel_url.raw_query_string
        params: Params = parse_qs(raw_query, keep_blank_values=True)
        body_text = body.decode("utf-8", errors="replace")
        ctype = request.headers.get("Content-Type", "")
        if body and "json" not in ctype:
            for k, v in parse_qs(body_text, keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        acct: Account | None = None
        if route.auth:
            candidates = [raw_query] if method in ("GET", "DELETE") else []
            if method == "POST":
                candidates = [body_text] + ([raw_query] if raw_query else [])
            elif method == "PUT":
                candidates = [raw_query] + ([body_text] if body_text else [])
            if not candidates:
                candidates = [""]
            acct_or_err = self._authenticate(request, route, candidates)
            if isinstance(acct_or_err, web.Response):
                return acct_or_err
            acct = acct_or_err
            limited = self._rate_limit(route, acct, params)
            if limited is not None:
                return limited
        elif route.family == "derivatives" and request.headers.get("APIKey"):
            # public endpoint called with credentials: accepted, identity ignored
            pass
        call = Call(request=request, params=params, match=match, acct=acct, body=body)
        # authentication, nonce and rate limit are checked on receipt; a late_arrival fault delays the rest
        process_late = getattr(self.x.ctx.faults, "process_late", None)
        if process_late is not None:
            await process_late(request.path)
        try:
            return await route.handler(call)
        except EngineError as exc:
            return self._family_error(route, exc.code)

    def _family_error(self, route: Route, code: str) -> web.Response:
        if route.family == "auth":
            return self.json({"error": code, "message": code, "suberror": None}, 401)
        if route.family in ("history", "charts", "stats") and code == "authenticationError":
            return self.json({"result": "error", "error": code, "serverTime": iso_ms(self.now())}, 401)
        return self.error(code)

    def _authenticate(self, request: web.Request, route: Route, candidates: list[str]) -> Account | web.Response:
        key = request.headers.get("APIKey") or request.headers.get("apikey")
        sig = request.headers.get("Authent") or request.headers.get("authent")
        nonce = request.headers.get("Nonce") or ""
        acct = self.engine.accounts.get(key or "")
        if not key or not sig or acct is None:
            return self._family_error(route, "authenticationError")
        path = endpoint_path(request.rel_url.raw_path)
        if not verify_authent(acct.secret, sig, candidates, nonce, path):
            return self._family_error(route, "authenticationError")
        refused = acct.accept_nonce(nonce)
        if refused is not None:
            return self._family_error(route, refused)
        return acct

    def _rate_limit(self, route: Route, acct: Account, params: Params) -> web.Response | None:
        if not getattr(self.x.ctx, "rate_limits", False):
            return None
        if route.family == "derivatives":
            batch = 0
            if route.name == "batchorder":
                try:
                    batch = len(json.loads((params.get("json") or ["{}"])[-1]).get("batchOrder", []))
                except (ValueError, AttributeError):
                    batch = 0
            cost = derivatives_cost(route.name, params, batch)
            if not self.x.limiter.take(acct.key, "derivatives", cost):
                return self.error("apiLimitExceeded")
        elif route.family == "history":
            cost = history_cost(route.name)
            if not self.x.limiter.take(acct.key, "history", cost):
                wait = max(1, math.ceil(self.x.limiter.retry_after(acct.key, "history", cost)))
                return web.Response(
                    text="apiLimitExceeded",
                    status=429,
                    content_type="text/plain",
                    headers={"rate-limit-reset": str(wait)},
                )
        return None

    # ------------------------------------------------------------------ market data
    def _ticker(self, symbol: str) -> dict[str, Any]:
        st = self.engine.markets[symbol]
        inst = st.inst
        bid = st.best("buy")
        ask = st.best("sell")
        change = (st.last - st.open24h) / st.open24h * 100 if st.open24h else ZERO
        t: dict[str, Any] = {
            "tag": "perpetual",
            "pair": inst.pair,
            "symbol": inst.symbol,
            "markPrice": num(st.mark),
        }
        if bid is not None:
            t["bid"] = num(bid)
            t["bidSize"] = num(st.level_qty("buy", bid))
        if ask is not None:
            t["ask"] = num(ask)
            t["askSize"] = num(st.level_qty("sell", ask))
        t.update(
            {
                "vol24h": num(st.vol24h),
                "volumeQuote": num(quant(st.volume_quote, Decimal("0.01"))),
                "openInterest": num(st.open_interest),
                "open24h": num(st.open24h),
                "high24h": num(st.high24h),
                "low24h": num(st.low24h),
                "indexPrice": num(st.index),
                "last": num(st.last),
                "lastTime": iso_ms(st.last_time),
                "lastSize": num(st.last_size),
                "suspended": st.suspended,
                "fundingRate": num(quant(st.funding_rate, Decimal("0.000000000001"))),
                "fundingRatePrediction": num(quant(st.funding_rate * Decimal("0.9"), Decimal("0.000000000001"))),
                "postOnly": st.post_only,
                "change24h": num(quant(change, Decimal("0.0000000001"))),
            }
        )
        return t

    def _contract_types(self, call: Call) -> set[str]:
        types = set(call.getlist("contractType"))
        return {t for v in types for t in v.split(",") if t}

    async def tickers(self, call: Call) -> web.Response:
        types = self._contract_types(call)
        out = [self._ticker(s) for s, st in self.engine.markets.items() if not types or st.inst.type in types]
        if not types:
            seen = set()
            for st in self.engine.markets.values():
                for sym in (st.inst.index_symbol, st.inst.rr_symbol):
                    if sym not in seen:
                        seen.add(sym)
                        out.append({"symbol": sym, "last": num(st.index), "lastTime": iso_ms(self.now())})
        return self.ok({"tickers": out})

    async def ticker(self, call: Call) -> web.Response:
        st = self.engine.market(call.match["symbol"])
        if st is None:
            return self.json(
                {"result": "error", "error": "notFound", "errors": ["notFound"], "serverTime": iso_ms(self.now())},
                404,
            )
        return self.ok({"ticker": self._ticker(st.inst.symbol)})

    def _instrument(self, symbol: str) -> dict[str, Any]:
        st = self.engine.markets[symbol]
        inst = st.inst
        levels_key = "contracts" if inst.inverse else "numNonContractUnits"
        levels = [
            {levels_key: num(a), "initialMargin": fnum(b), "maintenanceMargin": fnum(c)}
            for a, b, c in inst.margin_levels
        ]
        d: dict[str, Any] = {
            "symbol": inst.symbol,
            "pair": inst.pair,
            "base": inst.base,
            "quote": inst.quote,
            "type": inst.type,
        }
        if inst.underlying:
            d["underlying"] = inst.underlying
        d.update(
            {
                "tickSize": num(inst.tick_size),
                "contractSize": num(inst.contract_size),
                "tradeable": True,
                "impactMidSize": 1,
                "maxPositionSize": num(inst.max_position),
                "openingDate": "2022-01-01T00:00:00.000Z",
                "marginLevels": levels,
                "fundingRateCoefficient": 8,
                "maxRelativeFundingRate": fnum(Decimal("0.001")),
                "isin": inst.isin,
                "contractValueTradePrecision": inst.precision,
                "postOnly": st.post_only,
                "feeScheduleUid": inst.fee_schedule_uid,
                "retailMarginLevels": levels[:1],
                "category": inst.category,
                "tags": [],
                "tradfi": False,
                "mtf": inst.inverse,
            }
        )
        return d

    async def instruments(self, call: Call) -> web.Response:
        types = self._contract_types(call)
        out = [self._instrument(s) for s, st in self.engine.markets.items() if not types or st.inst.type in types]
        return self.ok({"instruments": out})

    def _istatus(self, symbol: str) -> dict[str, Any]:
        return {
            "tradeable": symbol,
            "experiencingDislocation": False,
            "priceDislocationDirection": None,
            "experiencingExtremeVolatility": False,
            "extremeVolatilityInitialMarginMultiplier": 1,
        }

    async def instruments_status(self, call: Call) -> web.Response:
        types = self._contract_types(call)
        out = [self._istatus(s) for s, st in self.engine.markets.items() if not types or st.inst.type in types]
        return self.ok({"instrumentStatus": out})

    async def instrument_status(self, call: Call) -> web.Response:
        st = self.engine.market(call.match["symbol"])
        if st is None:
            return self.error("notFound", 404)
        return self.ok(self._istatus(st.inst.symbol))

    async def orderbook(self, call: Call) -> web.Response:
        sym = call.get("symbol")
        if not sym:
            return self.error("requiredArgumentMissing")
        st = self.engine.market(sym)
        if st is None:
            return self.error("invalidArgument")
        return self.ok(
            {
                "orderBook": {
                    "bids": [[num(p), num(q)] for p, q in st.levels("buy")],
                    "asks": [[num(p), num(q)] for p, q in st.levels("sell")],
                }
            }
        )

    async def trade_history(self, call: Call) -> web.Response:
        sym = call.get("symbol")
        if not sym:
            return self.error("requiredArgumentMissing")
        st = self.engine.market(sym)
        if st is None:
            return self.error("invalidArgument")
        before = _parse_time(call.get("lastTime"))
        trades = [t for t in reversed(st.trades) if before is None or t["time"] <= before][:100]
        out = [
            {
                "time": iso_ms(t["time"]),
                "trade_id": t["seq"],
                "price": num(t["price"]),
                "size": str(t["qty"]),
                "side": t["side"],
                "type": t["type"],
                "uid": t["uid"],
            }
            for t in trades
        ]
        return self.ok({"history": out})

    async def fee_schedules(self, call: Call) -> web.Response:
        tiers = [{"makerFee": fnum(m), "takerFee": fnum(t), "usdVolume": fnum(v)} for m, t, v in FEE_TIERS]
        uids = sorted({st.inst.fee_schedule_uid for st in self.engine.markets.values()})
        return self.ok({"feeSchedules": [{"uid": u, "name": f"fees-{i}", "tiers": tiers} for i, u in enumerate(uids)]})

    async def funding_rates(self, call: Call) -> web.Response:
        sym = call.get("symbol") or ""
        st = self.engine.market(sym)
        if st is None:
            return self.json(
                {
                    "result": "error",
                    "error": "invalidArgument",
                    "errors": ["invalidArgument"],
                    "serverTime": iso_ms(self.now()),
                },
                400,
            )
        return self.ok({"rates": self.engine.funding_history(st.inst.symbol)})

    # ------------------------------------------------------------------ orders
    def _order_request(self, call: Call) -> OrderRequest:
        order_type = call.get("orderType")
        symbol = call.get("symbol")
        side = call.get("side")
        size_text = call.get("size")
        if not order_type or not symbol or not side or size_text is None:
            raise EngineError("requiredArgumentMissing")
        return self._build_request(
            order_type,
            symbol,
            side,
            size_text,
            call.get("limitPrice"),
            call.get("stopPrice"),
            call.get("cliOrdId"),
            call.get("triggerSignal"),
            call.get("reduceOnly"),
            call.get("processBefore"),
        )

    @staticmethod
    def _build_request(
        order_type: str,
        symbol: str,
        side: str,
        size: Any,
        limit: Any,
        stop: Any,
        cli: Any,
        signal: Any,
        reduce_only: Any,
        process_before: Any,
    ) -> OrderRequest:
        def dec(v: Any) -> Decimal | None:
            if v is None:
                return None
            d = parse_decimal(str(v))
            if d is None:
                raise EngineError("invalidArgument")
            return d

        ro = (
            reduce_only
            if isinstance(reduce_only, bool)
            else parse_bool(None if reduce_only is None else str(reduce_only))
        )
        sig = str(signal).lower() if signal else "mark"
        if sig not in ("mark", "index", "last"):
            raise EngineError("invalidArgument")
        return OrderRequest(
            order_type=str(order_type).lower(),
            symbol=str(symbol),
            side=str(side).lower(),
            size=dec(size),
            limit_price=dec(limit),
            stop_price=dec(stop),
            cli_ord_id=None if cli is None or cli == "" else str(cli),
            trigger_signal=sig,
            reduce_only=bool(ro),
            process_before=_parse_time(str(process_before)) if process_before else None,
        )

    async def sendorder(self, call: Call) -> web.Response:
        req = self._order_request(call)
        status = self.engine.place_order(call.account.key, req)
        return self.ok({"sendStatus": status})

    async def editorder(self, call: Call) -> web.Response:
        oid = call.get("orderId") or call.get("order_id")
        cli = call.get("cliOrdId")
        if not oid and not cli:
            return self.error("requiredArgumentMissing")
        qty_mode = (call.get("qtyMode") or "RELATIVE").upper()
        try:
            size = self._dec(call.get("size"))
            limit = self._dec(call.get("limitPrice"))
            stop = self._dec(call.get("stopPrice"))
        except EngineError as exc:
            return self.error(exc.code)
        status = self.engine.edit_order(
            call.account.key, oid, cli, size, limit, stop, qty_mode, _parse_time(call.get("processBefore"))
        )
        return self.ok({"editStatus": status})

    @staticmethod
    def _dec(text: str | None) -> Decimal | None:
        if text is None or text == "":
            return None
        d = parse_decimal(text)
        if d is None:
            raise EngineError("invalidArgument")
        return d

    async def cancelorder(self, call: Call) -> web.Response:
        oid = call.get("order_id") or call.get("orderId")
        cli = call.get("cliOrdId")
        if not oid and not cli:
            return self.error("requiredArgumentMissing")
        return self.ok({"cancelStatus": self.engine.cancel_order(call.account.key, oid, cli)})

    async def cancelallorders(self, call: Call) -> web.Response:
        return self.ok({"cancelStatus": self.engine.cancel_all(call.account.key, call.get("symbol"))})

    async def cancelallordersafter(self, call: Call) -> web.Response:
        text = call.get("timeout")
        try:
            timeout = int(Decimal(text)) if text not in (None, "") else 0
        except ArithmeticError:
            return self.error("invalidArgument")
        if timeout < 0:
            return self.error("invalidArgument")
        now = self.now()
        self.x.set_dead_man(call.account.key, timeout)
        trigger = iso_ms(now + timeout) if timeout > 0 else "0"
        return self.ok({"status": {"currentTime": iso_ms(now), "triggerTime": trigger}})

    async def batchorder(self, call: Call) -> web.Response:
        text = call.get("json")
        if text is None:
            return self.error("requiredArgumentMissing")
        try:
            payload = json.loads(text)
            items = payload["batchOrder"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self.error("Json Parse Error")
        key = call.account.key
        process_before = _parse_time(call.get("ProcessBefore") or call.get("processBefore"))
        now = self.now()
        results: list[dict[str, Any]] = []
        tag_to_id: dict[str, str] = {}
        for item in items:
            if not isinstance(item, dict):
                return self.error("Json Parse Error")
            kind = item.get("order")
            if kind == "send":
                tag = item.get("order_tag")
                base: dict[str, Any] = {"order_tag": None if tag is None else str(tag), "dateTimeReceived": iso_ms(now)}
                try:
                    req = self._build_request(
                        item.get("orderType", ""),
                        item.get("symbol", ""),
                        item.get("side", ""),
                        item.get("size"),
                        item.get("limitPrice"),
                        item.get("stopPrice"),
                        item.get("cliOrdId"),
                        item.get("triggerSignal"),
                        item.get("reduceOnly"),
                        None,
                    )
                    req.process_before = process_before
                    if req.side not in ("buy", "sell"):
                        raise EngineError("invalidSide")
                    if req.order_type not in ("lmt", "post", "ioc", "mkt", "stp", "take_profit", "fok"):
                        raise EngineError("invalidOrderType")
                    if self.engine.market(req.symbol) is None:
                        raise EngineError("marketInactive")
                    st = self.engine.place_order(key, req, batch=True)
                except EngineError as exc:
                    status = {"invalidArgument": "invalidSize", "requiredArgumentMissing": "invalidSize"}.get(
                        exc.code, exc.code
                    )
                    results.append(dict(base, status=status, order_id=None, orderEvents=[]))
                    continue
                entry = dict(base, status=st["status"], order_id=st["order_id"], orderEvents=st["orderEvents"])
                if st.get("cliOrdId"):
                    entry["cliOrdId"] = st["cliOrdId"]
                if tag is not None:
                    tag_to_id[str(tag)] = st["order_id"]
                results.append(entry)
            elif kind == "edit":
                oid = item.get("order_id")
                oid = tag_to_id.get(str(oid), oid) if oid is not None else None
                try:
                    es = self.engine.edit_order(
                        key,
                        oid,
                        item.get("cliOrdId"),
                        self._dec(None if item.get("size") is None else str(item.get("size"))),
                        self._dec(None if item.get("limitPrice") is None else str(item.get("limitPrice"))),
                        self._dec(None if item.get("stopPrice") is None else str(item.get("stopPrice"))),
                        str(item.get("qtyMode") or "RELATIVE").upper(),
                    )
                except EngineError:
                    results.append({"status": "invalidPrice", "order_id": oid, "orderEvents": []})
                    continue
                status = es["status"]
                if status == "orderForEditNotFound":
                    status = "notFound"
                entry = {"status": status, "order_id": es.get("orderId"), "orderEvents": es["orderEvents"]}
                if item.get("cliOrdId"):
                    entry["cliOrdId"] = str(item["cliOrdId"])
                results.append(entry)
            elif kind == "cancel":
                oid = item.get("order_id")
                oid = tag_to_id.get(str(oid), oid) if oid is not None else None
                cs = self.engine.cancel_order(key, oid, item.get("cliOrdId"))
                entry = {
                    "status": cs["status"],
                    "order_id": cs.get("order_id"),
                    "orderEvents": cs.get("orderEvents", []),
                }
                if item.get("cliOrdId"):
                    entry["cliOrdId"] = str(item["cliOrdId"])
                results.append(entry)
            else:
                results.append({"status": "invalidOrderType", "order_id": None, "orderEvents": []})
        return self.ok({"batchStatus": results})

    async def orders_status(self, call: Call) -> web.Response:
        acct = call.account
        ids = self._split_ids(call.getlist("orderIds"), acct.orders)
        clis = self._split_ids(call.getlist("cliOrdIds"), acct.cli_ids)
        seen: set[str] = set()
        out = []
        for oid in ids:
            o = acct.orders.get(oid)
            if o is not None and oid not in seen:
                seen.add(oid)
                out.append(self.engine.order_status(acct, o))
        for cli in clis:
            found = acct.cli_ids.get(cli)
            o = acct.orders.get(found) if found else None
            if o is not None and o.order_id not in seen:
                seen.add(o.order_id)
                out.append(self.engine.order_status(acct, o))
        if not ids and not clis:
            for o in acct.open_orders():
                out.append(self.engine.order_status(acct, o))
        return self.ok({"orders": out})

    @staticmethod
    def _split_ids(values: list[str], known: dict[str, Any]) -> list[str]:
        out: list[str] = []
        for v in values:
            v = v.strip()
            if v.startswith("[") and v.endswith("]"):
                try:
                    parsed = json.loads(v)
                    out.extend(str(x) for x in parsed)
                    continue
                except ValueError:
                    pass
            if v in known or "," not in v:
                out.append(v)
            else:
                out.extend(x for x in v.split(",") if x)
        return out

    def _open_order_entry(self, o: Order) -> dict[str, Any]:
        d: dict[str, Any] = {"order_id": o.order_id}
        if o.cli_ord_id:
            d["cliOrdId"] = o.cli_ord_id
        d.update(
            {
                "symbol": o.symbol,
                "side": o.side,
                "orderType": "stop"
                if o.is_trigger and o.order_type == "stp"
                else ("take_profit" if o.is_trigger else "lmt"),
            }
        )
        if o.limit_price is not None:
            d["limitPrice"] = num(o.limit_price)
        if o.is_trigger and o.stop_price is not None:
            d["stopPrice"] = num(o.stop_price)
            d["triggerSignal"] = o.trigger_signal if o.trigger_signal != "index" else "spot"
        d.update(
            {
                "unfilledSize": num(o.remaining),
                "receivedTime": iso_ms(o.received),
                "status": "partiallyFilled" if o.filled > 0 else "untouched",
                "filledSize": num(o.filled),
                "reduceOnly": o.reduce_only,
                "lastUpdateTime": iso_ms(o.last_update or o.received),
            }
        )
        return d

    async def openorders(self, call: Call) -> web.Response:
        orders = sorted(call.account.open_orders(), key=lambda o: o.received, reverse=True)
        return self.ok({"openOrders": [self._open_order_entry(o) for o in orders]})

    async def openpositions(self, call: Call) -> web.Response:
        acct = call.account
        out = []
        for pos in acct.positions.values():
            if pos.size == 0:
                continue
            inst = self.engine.markets[pos.symbol].inst
            d: dict[str, Any] = {
                "side": "long" if pos.size > 0 else "short",
                "symbol": pos.symbol,
                "price": num(pos.entry),
                "fillTime": iso_ms(pos.fill_time),
                "size": num(abs(pos.size)),
                "unrealizedFunding": fnum(ZERO),
            }
            if not inst.inverse:
                d["pnlCurrency"] = acct.pnl_currency.get(pos.symbol, "USD")
                lev = acct.leverage.get(pos.symbol)
                d["maxFixedLeverage"] = fnum(lev) if lev is not None else None
            out.append(d)
        return self.ok({"openPositions": out})

    async def fills(self, call: Call) -> web.Response:
        acct = call.account
        before = _parse_time(call.get("lastFillTime"))
        fills = [f for f in reversed(acct.fills) if before is None or f.time < before][:100]
        out = []
        for f in fills:
            d: dict[str, Any] = {
                "fill_id": f.fill_id,
                "symbol": f.symbol,
                "side": f.side,
                "order_id": f.order_id,
            }
            if f.cli_ord_id:
                d["cliOrdId"] = f.cli_ord_id
            d.update({"size": num(f.size), "price": num(f.price), "fillTime": iso_ms(f.time), "fillType": f.fill_type})
            out.append(d)
        return self.ok({"fills": out})

    async def accounts(self, call: Call) -> web.Response:
        acct = call.account
        m = self.engine.margin(acct)
        currencies = {
            cur: {
                "quantity": fnum(v["quantity"]),
                "value": fnum(v["value"]),
                "collateral": fnum(v["collateral"]),
                "available": fnum(v["available"]),
            }
            for cur, v in self.engine.currencies(acct).items()
        }
        flex: dict[str, Any] = {"type": "multiCollateralMarginAccount", "currencies": currencies}
        flex.update({k: fnum(v) for k, v in m.items()})
        cash = {"balances": {}, "type": "cashAccount"}
        return self.ok({"accounts": {"cash": cash, "flex": flex}})

    async def get_leverage(self, call: Call) -> web.Response:
        prefs = [{"symbol": s, "maxLeverage": fnum(v)} for s, v in call.account.leverage.items()]
        return self.ok({"leveragePreferences": prefs})

    async def set_leverage(self, call: Call) -> web.Response:
        acct = call.account
        sym = call.get("symbol")
        if not sym:
            return self.error("requiredArgumentMissing")
        st = self.engine.market(sym)
        if st is None or st.inst.inverse:
            return self.error("invalidArgument")
        lev_text = call.get("maxLeverage")
        old = acct.leverage.get(st.inst.symbol)
        if lev_text in (None, ""):
            acct.leverage.pop(st.inst.symbol, None)
        else:
            lev = parse_decimal(lev_text)
            if lev is None or lev <= 0 or lev > st.inst.max_leverage:
                return self.error("invalidArgument")
            acct.leverage[st.inst.symbol] = lev
            m = self.engine.margin(acct)
            if m["availableMargin"] < 0:
                if old is None:
                    acct.leverage.pop(st.inst.symbol, None)
                else:
                    acct.leverage[st.inst.symbol] = old
                return self.error("invalidArgument")
        self.x.notify_balance(acct.key)
        return self.ok()

    async def get_pnl(self, call: Call) -> web.Response:
        prefs = [{"symbol": s, "pnlCurrency": c} for s, c in call.account.pnl_currency.items()]
        return self.ok({"preferences": prefs})

    async def set_pnl(self, call: Call) -> web.Response:
        sym = call.get("symbol")
        cur = call.get("pnlPreference")
        if not sym or not cur:
            return self.error("requiredArgumentMissing")
        st = self.engine.market(sym)
        if st is None or st.inst.inverse or cur.upper() not in ("USD", "EUR", "GBP", "USDC", "USDT", "BTC", "ETH"):
            return self.error("invalidArgument")
        call.account.pnl_currency[st.inst.symbol] = cur.upper()
        return self.ok()

    async def fee_volumes(self, call: Call) -> web.Response:
        vol: dict[str, Decimal] = {}
        for f in call.account.fills:
            inst = self.engine.markets[f.symbol].inst
            vol[inst.fee_schedule_uid] = vol.get(inst.fee_schedule_uid, ZERO) + self.engine.notional(
                inst, f.size, f.price
            )
        return self.ok({"volumesByFeeSchedule": {k: fnum(quant(v, Decimal("0.01"))) for k, v in vol.items()}})

    async def notifications(self, call: Call) -> web.Response:
        out = [
            {
                "type": n["type"],
                "priority": n["priority"],
                "note": n["note"],
                "effectiveTime": iso_ms(n["time"]),
            }
            for n in self.engine.notifications
        ]
        return self.ok({"notifications": out})

    async def unwindqueue(self, call: Call) -> web.Response:
        out = [
            {"symbol": p.symbol, "percentile": 20 + (abs(hash(p.symbol)) % 5) * 20}
            for p in call.account.positions.values()
            if p.size != 0
        ]
        return self.ok({"queue": out})

    async def get_stp(self, call: Call) -> web.Response:
        return self.ok({"strategy": call.account.self_trade_strategy})

    async def set_stp(self, call: Call) -> web.Response:
        strategy = call.get("strategy")
        if strategy not in ("REJECT_TAKER", "CANCEL_MAKER_SELF", "CANCEL_MAKER_CHILD", "CANCEL_MAKER_ANY"):
            return self.error("invalidArgument")
        call.account.self_trade_strategy = strategy
        return self.ok({"strategy": strategy})

    def _subaccount(self, acct: Account) -> dict[str, Any]:
        sub = self.x.subaccounts.get(acct.key)
        if sub is None:
            rng = random.Random(f"{self.engine.seed}-sub-{acct.account_uid}")
            sub = {"uid": seeded_uuid(rng), "trading": True}
            self.x.subaccounts[acct.key] = sub
        return sub

    async def subaccounts(self, call: Call) -> web.Response:
        acct = call.account
        sub = self._subaccount(acct)
        zero = fnum(ZERO)
        flex = {
            "currencies": [
                {"currency": c.lower(), "quantity": zero, "value": zero, "collateral": zero, "available": zero}
                for c in ("USD", "XBT", "ETH")
            ],
            "initialMargin": zero,
            "initialMarginWithOrders": zero,
            "maintenanceMargin": zero,
            "balanceValue": zero,
            "portfolioValue": zero,
            "collateralValue": zero,
            "pnl": zero,
            "unrealizedFunding": zero,
            "totalUnrealized": zero,
            "totalUnrealizedAsMargin": zero,
            "availableMargin": zero,
            "marginEquity": zero,
        }
        entry = {
            "holdingAccounts": [{"currency": "usd", "amount": 0}, {"currency": "xbt", "amount": 0}],
            "futuresAccounts": [{"name": "f-xbt:usd", "availableMargin": zero}],
            "flexAccount": flex,
            "fullName": "Sandbox Subaccount",
            "email": "subaccount@sandbox.invalid",
            "accountUid": sub["uid"],
        }
        return self.ok({"masterAccountUid": acct.account_uid, "subaccounts": [entry]})

    async def sub_trading(self, call: Call) -> web.Response:
        sub = self._subaccount(call.account)
        if call.match["uid"] != sub["uid"]:
            return self.error("notFound", 404)
        if call.request.method == "PUT":
            flag = parse_bool(call.get("tradingEnabled"))
            if flag is None:
                return self.error("requiredArgumentMissing")
            sub["trading"] = flag
        return self.json({"tradingEnabled": bool(sub["trading"])})

    async def transfer(self, call: Call) -> web.Response:
        amount = parse_decimal(call.get("amount"))
        unit = call.get("unit")
        if amount is None or amount <= 0:
            return self.error("invalidAmount")
        if not unit:
            return self.error("requiredArgumentMissing")
        cur = unit.upper()
        cur = "XBT" if cur == "BTC" else cur
        acct = call.account
        if acct.balances.get(cur, ZERO) < amount:
            return self.error("insufficientFunds")
        return self.ok()

    async def withdrawal(self, call: Call) -> web.Response:
        amount = parse_decimal(call.get("amount"))
        currency = call.get("currency")
        if amount is None or amount <= 0 or not currency:
            return self.error("invalidAmount")
        acct = call.account
        cur = currency.upper()
        cur = "XBT" if cur == "BTC" else cur
        have = acct.balances.get(cur, ZERO)
        if have < amount:
            return self.error("insufficientFunds")
        if cur == "USD" and self.engine.margin(acct)["availableMargin"] < amount:
            return self.error("insufficientFunds")
        acct.balances[cur] = have - amount
        self.x.notify_balance(acct.key)
        return self.ok({"uid": seeded_uuid(self.engine.rng)})

    # ---- assignment program
    async def assignment_current(self, call: Call) -> web.Response:
        parts = [{"id": i, "participant": p} for i, p in sorted(call.account.assignment.items())]
        return self.ok({"participants": parts})

    async def assignment_add(self, call: Call) -> web.Response:
        acct = call.account
        ctype = call.get("contractType")
        long_ = parse_bool(call.get("acceptLong"))
        short = parse_bool(call.get("acceptShort"))
        tf = call.get("timeFrame")
        enabled = parse_bool(call.get("enabled"))
        if not ctype or long_ is None or short is None or tf is None or enabled is None:
            return self.error("requiredArgumentMissing")
        if tf not in ("all", "weekdays", "weekends"):
            return self.error("invalidArgument")
        max_size = parse_decimal(call.get("maxSize"))
        max_pos = parse_decimal(call.get("maxPosition"))
        part = {
            "contractType": ctype,
            "contract": call.get("contract"),
            "maxSize": fnum(max_size) if max_size is not None else None,
            "maxPosition": fnum(max_pos) if max_pos is not None else None,
            "acceptLong": long_,
            "acceptShort": short,
            "timeFrame": tf,
            "enabled": enabled,
        }
        new_id = max(acct.assignment, default=0) + 1
        acct.assignment[new_id] = part
        acct.assignment_history.append({"deleted": False, "participant": part, "timestamp": iso_ms(self.now())})
        return self.ok({"id": new_id, "participant": part})

    async def assignment_delete(self, call: Call) -> web.Response:
        acct = call.account
        try:
            pid = int(Decimal(call.get("id") or "x"))
        except ArithmeticError:
            return self.error("requiredArgumentMissing")
        part = acct.assignment.pop(pid, None)
        if part is None:
            return self.error("notFound")
        acct.assignment_history.append({"deleted": True, "participant": part, "timestamp": iso_ms(self.now())})
        return self.ok({"id": pid, "participant": part})

    async def assignment_history(self, call: Call) -> web.Response:
        return self.ok({"participants": list(call.account.assignment_history)})

    # ---- portfolio margining (options) and RFQs: shape-faithful stubs
    async def pm_parameters(self, call: Call) -> web.Response:
        return self.ok(
            {
                "crossAssetNettingFactor": fnum(Decimal("0.3")),
                "extremePriceShockMultiplier": fnum(Decimal("3.0")),
                "volShockMultiplicationFactor": fnum(Decimal("0.15")),
                "volShockExponentFactor": fnum(Decimal("0.5")),
                "optionExpiryTimeShockHours": 24,
                "optionsInitialMarginFactor": fnum(Decimal("1.3")),
                "totalOptionOrdersConsideredInInitialMarginCalc": 10,
                "priceShockLevels": [fnum(Decimal(x)) for x in ("-0.15", "-0.1", "-0.05", "0", "0.05", "0.1", "0.15")],
                "optionsUserLimits": {
                    "maxNetPositionDelta": fnum(Decimal(100)),
                    "limitsPerBaseCurrency": {
                        "BTC": {"maxTotalPositionSize": fnum(Decimal(50)), "maxTotalOpenOrdersSize": fnum(Decimal(50))},
                        "ETH": {
                            "maxTotalPositionSize": fnum(Decimal(500)),
                            "maxTotalOpenOrdersSize": fnum(Decimal(500)),
                        },
                    },
                },
            }
        )

    async def pm_simulate(self, call: Call) -> web.Response:
        text = call.get("json")
        if text is None:
            return self.error("requiredArgumentMissing")
        try:
            json.loads(text)
        except ValueError:
            return self.error("Json Parse Error")
        zero = fnum(ZERO)
        return self.ok(
            {
                "maintenanceMargin": zero,
                "initialMargin": zero,
                "pnl": zero,
                "portfolioMarginBreakdown": {
                    "totalCrossAssetNettedMarketRisk": zero,
                    "totalMarketRisk": zero,
                    "totalScenarioPnls": [],
                    "totalAbsoluteOptionPositionDeltaNotional": zero,
                    "netPortfolioDelta": zero,
                    "totalPremium": zero,
                    "isBuyOnly": True,
                    "futuresMaintenanceMargin": zero,
                },
                "greeks": {},
            }
        )

    def _rfq_list(self) -> list[dict[str, Any]]:
        rng = random.Random(f"{self.engine.seed}-rfq")
        st = self.engine.markets["PF_XBTUSD"]
        uid = seeded_uuid(rng)
        expiry = (math.floor(self.now() / 3600) + 1) * 3600
        return [
            {
                "rfqUid": uid,
                "expiry": iso_ms(expiry),
                "markPrice": fnum(st.mark),
                "legs": [{"symbol": "PF_XBTUSD", "size": fnum(Decimal(1)), "markPrice": fnum(st.mark)}],
            }
        ]

    async def rfqs(self, call: Call) -> web.Response:
        return self.ok({"rfqs": self._rfq_list()})

    async def rfq(self, call: Call) -> web.Response:
        for r in self._rfq_list():
            if r["rfqUid"] == call.match["rfq"]:
                return self.ok({"rfq": r})
        return self.error("notFound", 404)

    async def rfq_open_offers(self, call: Call) -> web.Response:
        offers = self.x.rfq_offers.get(call.account.key, {})
        return self.ok({"openOffers": list(offers.values())})

    async def rfq_place(self, call: Call) -> web.Response:
        rfq_uid = call.match["rfq"]
        if rfq_uid not in {r["rfqUid"] for r in self._rfq_list()}:
            return self.error("notFound", 404)
        try:
            body = json.loads(call.body or b"{}") if call.body.strip().startswith(b"{") else {}
        except ValueError:
            return self.error("Json Parse Error")
        offer_uid = seeded_uuid(self.engine.rng)
        offer: dict[str, Any] = {
            "uid": offer_uid,
            "rfqUid": rfq_uid,
            "placementDate": iso_ms(self.now()),
            "lastUpdateDate": iso_ms(self.now()),
        }
        for side in ("bid", "ask"):
            v = body.get(side) if isinstance(body, dict) else None
            if v is None:
                v = call.get(side)
            if v is not None:
                offer[side] = str(v)
        self.x.rfq_offers.setdefault(call.account.key, {})[rfq_uid] = offer
        return self.ok({"offerUid": offer_uid})

    async def rfq_ok(self, call: Call) -> web.Response:
        offers = self.x.rfq_offers.get(call.account.key, {})
        if call.match["rfq"] not in offers:
            return self.error("notFound", 404)
        if call.request.method == "DELETE":
            offers.pop(call.match["rfq"], None)
        return self.ok()

    async def rfq_max_leverage(self, call: Call) -> web.Response:
        acct_key = call.account.key
        if call.request.method == "PUT":
            lev = parse_decimal(call.get("maxLeverage"))
            if lev is None or lev <= 0:
                return self.error("invalidArgument")
            self.x.rfq_max_leverage[acct_key] = lev
        elif call.request.method == "DELETE":
            self.x.rfq_max_leverage.pop(acct_key, None)
        lev_now = self.x.rfq_max_leverage.get(acct_key)
        return self.ok({"maxLeverage": fnum(lev_now) if lev_now is not None else None})

    # ------------------------------------------------------------------ history API
    def _page(
        self, call: Call, items: list[dict[str, Any]], ts_key: str = "timestamp"
    ) -> tuple[list[dict[str, Any]], str | None]:
        since = call.get("since")
        before = call.get("before")
        sel = items
        if since and since.lstrip("-").isdigit():
            sel = [e for e in sel if e[ts_key] >= int(since)]
        if before and before.lstrip("-").isdigit():
            sel = [e for e in sel if e[ts_key] < int(before)]
        tradeable = call.get("tradeable")
        if tradeable:
            sel = [e for e in sel if _tradeable_of(e) in (None, tradeable.upper())]
        if (call.get("sort") or "desc").lower() == "desc":
            sel = list(reversed(sel))
        offset = 0
        token = call.get("continuation_token") or call.get("continuationToken")
        if token:
            try:
                offset = int(base64.b64decode(token).decode())
            except (ValueError, binascii.Error):
                offset = 0
        count_text = call.get("count")
        count = int(count_text) if count_text and count_text.isdigit() and int(count_text) > 0 else 1000
        page = sel[offset : offset + count]
        nxt = None
        if offset + count < len(sel):
            nxt = base64.b64encode(str(offset + count).encode()).decode()
        return page, nxt

    def _history_response(self, call: Call, items: list[dict[str, Any]], private: bool = True) -> web.Response:
        page, nxt = self._page(call, items)
        body: dict[str, Any] = {}
        if private:
            body["accountUid"] = call.account.account_uid
        body["len"] = len(page)
        body["elements"] = page
        if nxt:
            body["continuationToken"] = nxt
        if private:
            body["serverTime"] = iso_ms(self.now())
        return self.json(body)

    async def h_executions(self, call: Call) -> web.Response:
        return self._history_response(call, call.account.execution_history)

    async def h_orders(self, call: Call) -> web.Response:
        return self._history_response(call, call.account.order_history)

    async def h_triggers(self, call: Call) -> web.Response:
        return self._history_response(call, call.account.trigger_history)

    async def h_positions(self, call: Call) -> web.Response:
        return self._history_response(call, call.account.position_history)

    def _account_logs(self, call: Call) -> list[dict[str, Any]]:
        logs = list(call.account.account_log)
        info = call.get("info")
        if info:
            logs = [e for e in logs if e["info"] == info]
        since = _ms_param(call.get("since"))
        before = _ms_param(call.get("before"))
        if since is not None:
            logs = [e for e in logs if _iso_to_ms(e["date"]) >= since]
        if before is not None:
            logs = [e for e in logs if _iso_to_ms(e["date"]) < before]
        frm = call.get("from")
        to = call.get("to")
        if frm and frm.isdigit():
            logs = [e for e in logs if e["id"] >= int(frm)]
        if to and to.isdigit():
            logs = [e for e in logs if e["id"] <= int(to)]
        if (call.get("sort") or "desc").lower() == "desc":
            logs.reverse()
        count = call.get("count")
        n = int(count) if count and count.isdigit() else 500
        return logs[:n]

    async def h_account_log(self, call: Call) -> web.Response:
        return self.json({"accountUid": call.account.account_uid, "logs": self._account_logs(call)})

    async def h_account_log_csv(self, call: Call) -> web.Response:
        cols = [
            "id",
            "date",
            "asset",
            "info",
            "booking_uid",
            "margin_account",
            "old_balance",
            "new_balance",
            "old_average_entry_price",
            "new_average_entry_price",
            "trade_price",
            "mark_price",
            "realized_pnl",
            "fee",
            "execution",
            "collateral",
            "funding_rate",
            "realized_funding",
            "conversion_spread_percentage",
            "liquidation_fee",
        ]
        lines = [",".join(cols)]
        for e in self._account_logs(call):
            lines.append(",".join("" if e.get(c) is None else str(e.get(c)) for c in cols))
        return web.Response(text="\n".join(lines) + "\n", content_type="text/csv")

    async def h_market_executions(self, call: Call) -> web.Response:
        st = self.engine.market(call.match["symbol"])
        if st is None:
            return self.error("notFound", 404)
        return self._history_response(call, self.engine.public_executions(st.inst.symbol), private=False)

    async def h_market_orders(self, call: Call) -> web.Response:
        st = self.engine.market(call.match["symbol"])
        if st is None:
            return self.error("notFound", 404)
        return self._history_response(call, list(st.order_events), private=False)

    async def h_market_price(self, call: Call) -> web.Response:
        st = self.engine.market(call.match["symbol"])
        if st is None:
            return self.error("notFound", 404)
        items = [{"uid": uid, "timestamp": ms(t), "event": {"price": str(p)}} for t, p, uid in st.price_events]
        if not items:
            items = [
                {
                    "uid": seeded_uuid(random.Random(self.engine.seed)),
                    "timestamp": ms(self.now()),
                    "event": {"price": str(st.mark)},
                }
            ]
        return self._history_response(call, items, private=False)

    # ------------------------------------------------------------------ charts
    async def c_tick_types(self, call: Call) -> web.Response:
        return self.json(["spot", "mark", "trade"])

    async def c_markets(self, call: Call) -> web.Response:
        if call.match["tick"] not in ("spot", "mark", "trade"):
            return self.json({"error": "Invalid tick type"}, 400)
        return self.json(list(self.engine.markets))

    async def c_resolutions(self, call: Call) -> web.Response:
        if call.match["tick"] not in ("spot", "mark", "trade") or self.engine.market(call.match["symbol"]) is None:
            return self.json({"error": "Not found"}, 404)
        return self.json(list(RESOLUTIONS))

    async def c_candles(self, call: Call) -> web.Response:
        tick, sym, res = call.match["tick"], call.match["symbol"], call.match["res"]
        st = self.engine.market(sym)
        if tick not in ("spot", "mark", "trade") or st is None or res not in RESOLUTIONS:
            return self.json({"error": "Not found"}, 404)
        step = RESOLUTIONS[res]
        now = self.now()
        to_s = _float(call.get("to"), now) or now
        frm_s = _float(call.get("from"), None)
        count_text = call.get("count")
        count = int(count_text) if count_text and count_text.isdigit() else None
        end = math.floor(min(to_s, now) / step) * step
        limit = 2000
        if frm_s is None:
            n = count if count is not None else 100
            start = end - (n - 1) * step
        else:
            start = math.ceil(frm_s / step) * step
        times: list[int] = []
        t = start
        while t <= end and len(times) < limit:
            times.append(t)
            t += step
        more = False
        if count is not None and len(times) > count:
            times = times[:count]
            more = True
        candles = [self._candle(st.inst.symbol, tick, step, t, st.index) for t in times]
        return self.json({"candles": candles, "more_candles": more})

    def _candle(self, symbol: str, tick: str, step: int, t: int, ref: Decimal) -> dict[str, Any]:
        rng = random.Random(f"{self.engine.seed}-{symbol}-{tick}-{step}-{t}")
        inst = self.engine.markets[symbol].inst
        drift = Decimal(rng.randint(-200, 200)) / Decimal(10000)
        o = ref * (1 + drift)
        c = o * (1 + Decimal(rng.randint(-30, 30)) / Decimal(10000))
        hi = max(o, c) * (1 + Decimal(rng.randint(0, 20)) / Decimal(10000))
        lo = min(o, c) * (1 - Decimal(rng.randint(0, 20)) / Decimal(10000))

        def fmt(v: Decimal) -> str:
            return str(quant(self.engine._round_tick(inst, v), Decimal("0.00000000001")))

        return {
            "time": int(t) * 1000,
            "open": fmt(o),
            "high": fmt(hi),
            "low": fmt(lo),
            "close": fmt(c),
            "volume": rng.randint(0, 20000) if tick == "trade" else 0,
        }

    async def c_analytics(self, call: Call) -> web.Response:
        since = _float(call.get("since"), None)
        interval_text = call.get("interval")
        if since is None or not interval_text or not interval_text.isdigit():
            return self.json(
                {
                    "result": None,
                    "errors": [
                        {
                            "error_class": "bad_request",
                            "type": "missing_argument",
                            "msg": "since and interval are required",
                            "value": None,
                            "field": "since",
                        }
                    ],
                },
                400,
            )
        interval = int(interval_text)
        to = _float(call.get("to"), None) or self.now()
        stamps: list[int] = []
        t = int(since)
        while t <= to and len(stamps) < 500:
            stamps.append(t)
            t += interval
        rng = random.Random(f"{self.engine.seed}-analytics-{call.match.get('atype', 'pool')}")
        data = [str(Decimal(rng.randint(0, 1_000_000)) / 100) for _ in stamps]
        return self.json({"result": {"timestamp": stamps, "more": False, "data": data}, "errors": []})

    # ------------------------------------------------------------------ auth / stats
    async def api_key_check(self, call: Call) -> web.Response:
        acct = call.account
        return self.json(
            {
                "apiKey": acct.key,
                "accountUid": acct.account_uid,
                "iiban": None,
                "createdAt": iso_ms(acct.created),
                "permissions": {"general": "FULL_ACCESS", "transfer": "FULL_ACCESS"},
            }
        )

    async def market_share(self, call: Call) -> web.StreamResponse:
        acct = call.account
        vol: dict[str, Decimal] = {}
        for f in acct.fills:
            inst = self.engine.markets[f.symbol].inst
            vol[f.symbol] = vol.get(f.symbol, ZERO) + self.engine.notional(inst, f.size, f.price)
        if not vol:
            return web.Response(status=204)
        contracts = {
            s: {"volume": str(quant(v, Decimal("0.01"))), "marketShare": "0.001", "usdRebateCredited": "0.00"}
            for s, v in vol.items()
        }
        return self.json({"contracts": contracts})


def _tradeable_of(e: dict[str, Any]) -> str | None:
    if "tradeable" in e:
        return str(e["tradeable"])
    ev = e.get("event")
    if isinstance(ev, dict):
        for body in ev.values():
            if isinstance(body, dict):
                for k in ("order", "newOrder", "execution", "orderTrigger"):
                    inner = body.get(k)
                    if isinstance(inner, dict):
                        if "tradeable" in inner:
                            return str(inner["tradeable"])
                        taker = inner.get("takerOrder")
                        if isinstance(taker, dict) and "tradeable" in taker:
                            return str(taker["tradeable"])
    return None


def _float(text: str | None, default: float | None) -> float | None:
    if text is None or text == "":
        return default
    try:
        return float(text)
    except ValueError:
        return default


def _ms_param(text: str | None) -> int | None:
    if text and text.lstrip("-").isdigit():
        return int(text)
    return None


def _iso_to_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
