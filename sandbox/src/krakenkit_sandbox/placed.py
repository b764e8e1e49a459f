"""Inspection for tests: every order the sandbox placed (Spot and Derivatives), with its fills.

One shape for both products, so a chaos test can count how often a client order id was executed::

    {"product": "spot" | "derivatives", "api_key", "order_id", "cl_ord_id", "symbol", "side",
     "order_type", "status", "volume", "filled", "time", "refid", "fills": [{"fill_id", "price", "qty",
     "time"}]}

Amounts are ``Decimal``; times unix seconds. Only orders the engine accepted are listed (a Spot request
refused with an error, or a Derivatives ``sendStatus`` other than ``placed``, placed nothing); orders of
the simulated market participants are left out. ``refid``: the primary order of a Spot conditional-close
secondary, else None.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spot.exchange import SpotExchange

__all__ = ["duplicate_ids", "futures_placed", "spot_placed"]

PlacedOrder = dict[str, Any]


def spot_placed(ex: SpotExchange, api_key: str | None = None) -> list[PlacedOrder]:
    """Every Spot order placed (of ``api_key``'s account, or of all keys), oldest first."""
    key_of = {k.account: k.key for k in ex.keys.keys.values()}
    out: list[PlacedOrder] = []
    for acc in ex.engine.accounts.values():
        key = key_of.get(acc.id)
        if acc.internal or (api_key is not None and key != api_key):
            continue
        for o in sorted(acc.orders.values(), key=lambda o: o.seq):
            trades = [acc.trades[t] for t in o.trades if t in acc.trades]
            out.append(
                {
                    "product": "spot",
                    "api_key": key,
                    "order_id": o.txid,
                    "cl_ord_id": o.cl_ord_id,
                    "symbol": o.pair.symbol,
                    "side": o.side,
                    "order_type": o.ordertype,
                    "status": o.status,
                    "volume": o.vol,
                    "filled": o.vol_exec,
                    "time": o.opentm,
                    "refid": o.refid,
                    "fills": [{"fill_id": t.txid, "price": t.price, "qty": t.vol, "time": t.time} for t in trades],
                }
            )
    return out


def futures_placed(futures: Any, api_key: str | None = None) -> list[PlacedOrder]:
    """Every Derivatives order placed (of ``api_key``, or of all keys), oldest first."""
    out: list[PlacedOrder] = []
    for key, acct in futures.engine.accounts.items():
        if api_key is not None and key != api_key:
            continue
        fills: dict[str, list[Any]] = {}
        for f in acct.fills:
            fills.setdefault(f.order_id, []).append(f)
        for o in sorted(acct.orders.values(), key=lambda o: o.received):
            if o.state == "rejected":
                continue
            out.append(
                {
                    "product": "derivatives",
                    "api_key": key,
                    "order_id": o.order_id,
                    "cl_ord_id": o.cli_ord_id,
                    "symbol": o.symbol,
                    "side": o.side,
                    "order_type": o.order_type,
                    "status": o.state,
                    "volume": o.qty,
                    "filled": o.filled,
                    "time": o.received,
                    "refid": None,
                    "fills": [
                        {"fill_id": f.fill_id, "price": f.price, "qty": f.size, "time": f.time}
                        for f in fills.get(o.order_id, [])
                    ],
                }
            )
    return out


def duplicate_ids(orders: list[PlacedOrder], filled_only: bool = False) -> dict[str, int]:
    """Client order ids placed more than once (per product and key), with how many times; with
    ``filled_only``, only counting orders that have fills (executed twice)."""
    counts: Counter[tuple[str, Any, str]] = Counter(
        (o["product"], o["api_key"], o["cl_ord_id"])
        for o in orders
        if o["cl_ord_id"] is not None and (o["fills"] or not filled_only)
    )
    return {cl: n for (_product, _key, cl), n in counts.items() if n > 1}
