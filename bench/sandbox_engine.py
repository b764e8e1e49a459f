"""Throughput of the sandbox matching engine (no I/O). Prints orders/s."""

from __future__ import annotations

import random
import time
from decimal import Decimal

from krakenkit_sandbox.spot.engine import Engine, OrderError
from krakenkit_sandbox.spot.market import PAIRS


def run(n: int = 100_000) -> None:
    eng = Engine(seed=1)
    eng.emit = True
    eng.add_account("A", {"ZUSD": Decimal("1e12"), "XXBT": Decimal("1e6")})
    eng.add_account("B", {"ZUSD": Decimal("1e12"), "XXBT": Decimal("1e6")})
    pair = PAIRS["XXBTZUSD"]
    rng = random.Random(1)
    prices = [Decimal(65000) + Decimal(i) / 10 for i in range(-200, 201)]
    vols = [Decimal(v) / 1000 for v in range(1, 200)]
    accs = ("A", "B")
    t0 = time.perf_counter()
    fills = 0
    cancels = 0
    open_ids: list[tuple[str, str]] = []
    for i in range(n):
        acc = accs[i & 1]
        side = "buy" if rng.random() < 0.5 else "sell"
        try:
            if i % 10 == 9 and open_ids:
                a, txid = open_ids.pop(rng.randrange(len(open_ids)))
                try:
                    eng.cancel_order(a, txid)
                    cancels += 1
                except OrderError:
                    pass
            else:
                o = eng.add_order(acc, pair, side, "limit", rng.choice(vols), rng.choice(prices))
                if o.trades:
                    fills += len(o.trades)
                if o.is_open:
                    open_ids.append((acc, o.txid))
                    if len(open_ids) > 70:
                        a, txid = open_ids.pop(0)
                        try:
                            eng.cancel_order(a, txid)
                        except OrderError:
                            pass
        except OrderError:
            pass
        eng.drain()
    dt = time.perf_counter() - t0
    print(
        f"engine: {n} order operations in {dt:.2f} s = {n / dt:,.0f} orders/s ({fills} taker fills, {cancels} cancels)"
    )


if __name__ == "__main__":
    run()
