"""The Spot exchange of the sandbox: engine + keys + rate limits + dead man's switch, shared by REST
and WebSocket front ends. Runs inside the server's event loop (no locking)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..context import SandboxContext
from .auth import ALL_PERMISSIONS, DEFAULT_PERMISSIONS, ApiKey, KeyStore
from .engine import Engine, Event, Order, OrderError
from .market import ASSETS, Pair, find_asset
from .ratelimit import RestLimiter, TradingLimiter, amend_cost, cancel_cost, edit_cost, max_rate_count

__all__ = ["SpotExchange"]

log = logging.getLogger("krakenkit.sandbox")

DEFAULT_BALANCES = {"ZUSD": "100000", "XXBT": "10"}


class SpotExchange:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.engine = Engine(seed=ctx.seed, clock=ctx.now)
        self.keys = KeyStore(ctx.rng)
        self.rest_limiter = RestLimiter(ctx.now)
        self.trading_limiter = TradingLimiter(ctx.now)
        self.listeners: list[Callable[[list[Event]], None]] = []
        self._dms: dict[str, tuple[asyncio.TimerHandle, float]] = {}
        self._accounts = 0
        self.exports: dict[str, dict[str, Any]] = {}
        ctx.faults.add_status_listener(self._on_status)
        self.engine.trading_status = ctx.faults.system_status

    def _on_status(self, status: str) -> None:
        self.engine.trading_status = status

    # keys --------------------------------------------------------------------------------------------
    def create_key(
        self,
        permissions: Any = None,
        balances: dict[str, Any] | None = None,
        tier: str = "intermediate",
        otp: str | None = None,
        nonce_window: int = 0,
    ) -> ApiKey:
        perms = DEFAULT_PERMISSIONS if permissions is None else frozenset(permissions)
        unknown = perms - ALL_PERMISSIONS
        if unknown:
            raise ValueError(f"unknown permissions {sorted(unknown)}; use {sorted(ALL_PERMISSIONS)}")
        if tier not in ("starter", "intermediate", "pro"):
            raise ValueError("tier must be starter, intermediate or pro")
        self._accounts += 1
        account = f"AA{self._accounts:04d}"
        bals: dict[str, Decimal] = {}
        for name, amount in (DEFAULT_BALANCES if balances is None else balances).items():
            asset = find_asset(name)
            bals[asset.key if asset else name] = Decimal(str(amount))
        self.engine.add_account(account, bals, tier=tier)
        return self.keys.create(account, perms, tier, otp, nonce_window)

    # publish -----------------------------------------------------------------------------------------
    def publish(self) -> None:
        events = self.engine.drain()
        if not events:
            return
        for fn in list(self.listeners):
            try:
                fn(events)
            except Exception:  # pragma: no cover
                log.exception("event listener failed")

    # trading (shared by REST and WS) -----------------------------------------------------------------
    def _spend(self, key: ApiKey, pair: Pair, cost: float) -> None:
        if not self.ctx.rate_limits:
            # not enforced, but still counted: the executions channel reports the counter (``ratecount``)
            self.trading_limiter.add(key.account, pair.key, key.tier, cost)
        elif not self.trading_limiter.try_spend(key.account, pair.key, key.tier, cost):
            raise OrderError("EOrder:Rate limit exceeded")

    def rate_count(self, key: ApiKey, pair: Pair) -> float:
        """The key's current trading rate counter on ``pair`` (per account and pair, decayed to now)."""
        return self.trading_limiter.current(key.account, pair.key, key.tier)

    @staticmethod
    def max_rate_count(key: ApiKey) -> int:
        return max_rate_count(key.tier)

    def add_order(self, key: ApiKey, pair: Pair, **kw: Any) -> Order:
        validate = bool(kw.get("validate"))
        if not validate:
            self._spend(key, pair, 1)
        try:
            return self.engine.add_order(key.account, pair, **kw)
        except OrderError:
            if not validate:
                self.trading_limiter.refund(key.account, pair.key, key.tier, 1)
            raise
        finally:
            self.publish()

    def cancel(self, key: ApiKey, txid: str | None = None, cl_ord_id: str | None = None) -> Order:
        order = self.engine.find_open(key.account, txid, cl_ord_id)
        self._spend(key, order.pair, cancel_cost(self.ctx.now() - order.opentm))
        try:
            return self.engine.cancel_order(key.account, order.txid)
        finally:
            self.publish()

    def cancel_userref(self, key: ApiKey, userref: int) -> int:
        try:
            return self.engine.cancel_userref(key.account, userref)
        finally:
            self.publish()

    def cancel_all(self, key: ApiKey) -> int:
        try:
            return self.engine.cancel_all(key.account)
        finally:
            self.publish()

    def amend(self, key: ApiKey, txid: str | None, cl_ord_id: str | None, **kw: Any) -> tuple[Order, str]:
        order = self.engine.find_open(key.account, txid, cl_ord_id)
        self._spend(key, order.pair, amend_cost(self.ctx.now() - order.opentm))
        try:
            return self.engine.amend_order(key.account, order.txid, **kw)
        finally:
            self.publish()

    def edit(self, key: ApiKey, txid: str, **kw: Any) -> tuple[Order, Order]:
        order = self.engine.find_open(key.account, txid)
        if not kw.get("validate"):
            self._spend(key, order.pair, edit_cost(self.ctx.now() - order.opentm))
        try:
            return self.engine.edit_order(key.account, order.txid, **kw)
        finally:
            self.publish()

    # dead man's switch -------------------------------------------------------------------------------
    def cancel_all_after(self, key: ApiKey, timeout: int) -> tuple[float, float]:
        """Arm (timeout > 0) or disarm (0) the account's timer; returns (current, trigger) times."""
        now = self.ctx.now()
        old = self._dms.pop(key.account, None)
        if old is not None:
            old[0].cancel()
        if timeout <= 0:
            return now, 0.0
        loop = self.ctx.loop or asyncio.get_running_loop()
        handle = loop.call_later(timeout, self._fire_dms, key.account)
        self._dms[key.account] = (handle, now + timeout)
        return now, now + timeout

    def _fire_dms(self, account: str) -> None:
        self._dms.pop(account, None)
        log.info("dead man's switch fired for %s", account)
        try:
            self.engine.cancel_all(account)
        except OrderError:
            pass
        self.publish()

    def stop(self) -> None:
        for handle, _ in self._dms.values():
            handle.cancel()
        self._dms.clear()

    # inspection --------------------------------------------------------------------------------------
    def balances_of(self, key: ApiKey) -> dict[str, Decimal]:
        acc = self.engine.account(key.account)
        return {a: v for a, v in acc.balances.items()}

    def holds_of(self, key: ApiKey) -> dict[str, Decimal]:
        acc = self.engine.account(key.account)
        return {a: v for a, v in acc.holds.items() if v}


def asset_decimals(asset: str) -> int:
    a = ASSETS.get(asset)
    return a.decimals if a else 8
