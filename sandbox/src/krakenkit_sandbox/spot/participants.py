"""Seeded simulated market participants: market makers keeping a realistic book and takers trading
against it (so trades, ticker and OHLC move)."""

from __future__ import annotations

import asyncio
import logging
import random
from decimal import ROUND_DOWN, Decimal

from .engine import INTERNAL, OrderError
from .exchange import SpotExchange
from .market import PAIRS, Pair

__all__ = ["MarketSimulator"]

log = logging.getLogger("krakenkit.sandbox")

D = Decimal
LEVELS = 40


class MarketSimulator:
    def __init__(self, ex: SpotExchange, rng: random.Random) -> None:
        self.ex = ex
        self.rng = rng

    def _qty(self, pair: Pair, price: Decimal) -> Decimal:
        usd = D(str(round(self.rng.uniform(200, 12000), 2)))
        q = (usd / price).quantize(pair.lot_step, ROUND_DOWN)
        return max(q, pair.ordermin * 2)

    def _place(self, pair: Pair, side: str, price: Decimal) -> None:
        if price <= 0:
            return
        try:
            self.ex.engine.add_order(INTERNAL, pair, side, "limit", self._qty(pair, price), price)
        except OrderError:
            pass

    def seed_books(self) -> None:
        eng = self.ex.engine
        for pair in PAIRS.values():
            mid = pair.start_price
            half = pair.spread_ticks // 2 or 1
            for i in range(LEVELS):
                gap = (half + i * (1 + self.rng.randrange(3))) * pair.tick_size
                self._place(pair, "buy", mid - gap)
                self._place(pair, "sell", mid + gap)
        eng.drain()

    def _mid(self, pair: Pair) -> Decimal:
        b = self.ex.engine.books[pair.key]
        bid, ask = b.best_bid(), b.best_ask()
        if bid is not None and ask is not None:
            return ((bid + ask) / 2).quantize(pair.tick_size)
        return b.last_price

    def tick(self) -> None:
        """One round of activity on every pair."""
        eng = self.ex.engine
        rng = self.rng
        for pair in PAIRS.values():
            book = eng.books[pair.key]
            r = rng.random()
            if r < 0.35:
                side = "buy" if rng.random() < 0.5 else "sell"
                qty = self._qty(pair, book.last_price) / 3
                qty = max(qty.quantize(pair.lot_step, ROUND_DOWN), pair.ordermin)
                try:
                    eng.add_order(INTERNAL, pair, side, "market", qty)
                except OrderError:
                    pass
            mid = self._mid(pair)
            half = pair.spread_ticks // 2 or 1
            # refill the inside and keep the book deep
            for side, levels in (("buy", book.bids), ("sell", book.asks)):
                sign = -1 if side == "buy" else 1
                if len(levels) < LEVELS or rng.random() < 0.5:
                    gap = (half + rng.randrange(0, 8)) * pair.tick_size
                    self._place(pair, side, mid + sign * gap)
                if len(levels) > LEVELS + 10:
                    worst = levels.prices[0] if side == "buy" else levels.prices[-1]
                    for o in list(levels.levels[worst].orders.values()):
                        try:
                            eng.cancel_order(INTERNAL, o.txid, reason="User requested")
                        except OrderError:
                            pass
            # occasionally pull a random resting order near the top
            if rng.random() < 0.3:
                side_book = book.bids if rng.random() < 0.5 else book.asks
                top = side_book.top(5)
                if top:
                    lvl = top[rng.randrange(len(top))]
                    o = next(iter(lvl.orders.values()))
                    try:
                        eng.cancel_order(INTERNAL, o.txid)
                    except OrderError:
                        pass
            b = book
            bid, ask = b.best_bid(), b.best_ask()
            if bid is not None and ask is not None and b.last_spread != (bid, ask):
                b.last_spread = (bid, ask)
                b.spreads.append((eng.clock(), bid, ask))
        self.ex.publish()

    async def run(self, interval: float = 0.25) -> None:
        while True:
            await asyncio.sleep(interval * (0.5 + self.rng.random()))
            if self.ex.engine.trading_status not in ("online",):
                continue
            try:
                self.tick()
            except Exception:  # pragma: no cover - keep the market alive
                log.exception("market simulator tick failed")
