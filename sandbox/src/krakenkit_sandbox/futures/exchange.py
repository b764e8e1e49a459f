"""``FuturesExchange``: the Derivatives half of the sandbox, plugged into the shared aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from ._context import SandboxContextLike, system_status
from ._util import iso_ms, num
from .engine import Engine, Event
from .ratelimit import RateLimiter
from .rest import FuturesRest
from .ws import FuturesWsConnection, new_ws_response

__all__ = ["FuturesExchange"]

log = logging.getLogger("krakenkit.sandbox.futures")


class FuturesExchange:
    """Kraken Derivatives (Futures) REST + WebSocket v1, backed by a deterministic engine.

    Routes: ``/derivatives/api/v3/*``, ``/api/history/v3/*``, ``/api/charts/v1/*``,
    ``/api/auth/v1/*``, ``/api/stats/v1/*`` and the WebSocket at ``/ws/v1``.
    """

    def __init__(self, ctx: SandboxContextLike) -> None:
        self.ctx = ctx
        self.engine = Engine(seed=ctx.seed, now=ctx.now, system_status=lambda: system_status(ctx))
        self.limiter = RateLimiter(ctx.now)
        self.rest = FuturesRest(self)
        self.connections: set[FuturesWsConnection] = set()
        self.ws_rng = random.Random(f"krakenkit-futures-ws-{ctx.seed}")
        self.rfq_offers: dict[str, dict[str, dict[str, Any]]] = {}
        self.rfq_max_leverage: dict[str, Decimal] = {}
        self.subaccounts: dict[str, dict[str, Any]] = {}
        self._dead_man: dict[str, asyncio.TimerHandle] = {}
        self._market_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        fast = bool(getattr(ctx, "fast_mode", False))
        self.feed_interval = 0.25 if fast else 1.0
        self.market_interval = 0.1 if fast else 0.5
        self.engine.listeners.append(self._dispatch)

    # ------------------------------------------------------------------ plug-in contract
    def add_routes(self, app: web.Application) -> None:
        self.rest.add_routes(app)
        app.router.add_get("/ws/v1", self._ws_handler)

    def create_key(self, balances: Mapping[str, Any] | None = None, nonce_window: int = 0) -> tuple[str, str]:
        """A new Derivatives API key with a flex (multi-collateral) account; default 100000 USD.
        ``nonce_window``: see :meth:`~.engine.Account.accept_nonce` (0: strictly increasing)."""
        return self.engine.create_account(balances, nonce_window)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if getattr(self.ctx, "market", False) and self._market_task is None:
            self._market_task = asyncio.ensure_future(self._market_loop())

    async def stop(self) -> None:
        if self._market_task is not None:
            self._market_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._market_task
            self._market_task = None
        for handle in self._dead_man.values():
            handle.cancel()
        self._dead_man.clear()
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close()

    def orders(self, api_key: str) -> list[dict[str, Any]]:
        """Every order of the key (open and closed) in REST ``orders/status`` shape."""
        acct = self.engine.accounts.get(api_key)
        if acct is None:
            return []
        return [self.engine.order_status(acct, o) for o in acct.orders.values()]

    def positions(self, api_key: str) -> list[dict[str, Any]]:
        acct = self.engine.accounts.get(api_key)
        if acct is None:
            return []
        out = []
        for p in acct.positions.values():
            if p.size == 0:
                continue
            st = self.engine.markets[p.symbol]
            out.append(
                {
                    "symbol": p.symbol,
                    "side": "long" if p.size > 0 else "short",
                    "size": num(abs(p.size)),
                    "price": num(p.entry),
                    "fillTime": iso_ms(p.fill_time),
                    "unrealizedPnl": num(self.engine.upnl(p, st.mark)),
                }
            )
        return out

    # ------------------------------------------------------------------ extras (admin / tests)
    def balances(self, api_key: str) -> dict[str, str]:
        acct = self.engine.accounts.get(api_key)
        return {} if acct is None else {k: str(v) for k, v in acct.balances.items()}

    def set_mark_price(self, symbol: str, price: str | Decimal) -> None:
        """Move a market's mark/index price (fires stop / take-profit triggers)."""
        self.engine.set_mark(symbol.upper(), Decimal(str(price)))

    def suspend_market(self, symbol: str, suspended: bool = True) -> None:
        self.engine.markets[symbol.upper()].suspended = suspended

    def step_market(self, n: int = 1) -> None:
        """Advance the simulated other participants by ``n`` steps (deterministic per seed)."""
        for _ in range(n):
            self.engine.tick()

    def add_notification(self, note: str, type_: str = "general", priority: str = "low") -> None:
        n = {
            "id": len(self.engine.notifications) + 1,
            "type": type_,
            "priority": priority,
            "note": note,
            "time": self.ctx.now(),
        }
        self.engine.notifications.append(n)
        self.engine.emit(Event("notification", data=n))

    def notify_balance(self, key: str) -> None:
        self.engine.emit(Event("balance", key))

    # ------------------------------------------------------------------ dead man's switch
    def set_dead_man(self, key: str, timeout: int) -> None:
        old = self._dead_man.pop(key, None)
        if old is not None:
            old.cancel()
        if timeout <= 0:
            return
        loop = self._loop or asyncio.get_running_loop()
        self._dead_man[key] = loop.call_later(timeout, self._fire_dead_man, key)

    def _fire_dead_man(self, key: str) -> None:
        self._dead_man.pop(key, None)
        log.info("dead man's switch fired for a futures key")
        self.engine.cancel_all(key, dead_man=True)

    # ------------------------------------------------------------------ internals
    async def _market_loop(self) -> None:
        while True:
            await asyncio.sleep(self.market_interval)
            try:
                self.engine.tick()
            except Exception:  # pragma: no cover - keep the venue alive
                log.exception("futures market step failed")

    def _dispatch(self, ev: Event) -> None:
        for conn in list(self.connections):
            conn.on_event(ev)

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        ws = new_ws_response()  # pings answered by the connection itself (silent while stalled)
        await ws.prepare(request)
        conn = FuturesWsConnection(self, request, ws)
        registry = getattr(self.ctx, "ws_registry", None)
        self.connections.add(conn)
        if registry is not None:
            registry.register(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
            if registry is not None:
                registry.unregister(conn)
            with contextlib.suppress(Exception):
                await ws.close()
        return ws
