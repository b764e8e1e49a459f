"""Rollout layer 5: a small live trade. Buy the pair's minimum at market, see the fill on the
executions stream, reconcile order and balances with REST. Live only with KRAKENKIT_CONFIRM_TRADE=1."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal

from _target import target

from krakenkit import WS_KEY_MAP
from krakenkit.rest import AsyncSpotClient
from krakenkit.ws.client import WebsocketClient

KEY = WS_KEY_MAP.spotPrivateV2


async def main() -> None:
    with target() as t:
        if t.live and os.environ.get("KRAKENKIT_CONFIRM_TRADE") != "1":
            raise SystemExit("refusing to trade live without KRAKENKIT_CONFIRM_TRADE=1")
        rest = AsyncSpotClient(t.spot_key, t.spot_secret, environment=t.environment)
        ws = WebsocketClient(t.spot_key, t.spot_secret, environment=t.environment, rest_client=rest)
        filled = asyncio.Event()
        fills: list[dict] = []
        cl_ord_id = rest.generate_new_order_id()

        def on_message(ev):  # type: ignore[no-untyped-def]
            if ev.channel == "executions":
                for row in ev.data["data"]:
                    if row.get("cl_ord_id") == cl_ord_id and row.get("exec_type") == "trade":
                        fills.append(row)
                        if row.get("order_status") == "filled":
                            filled.set()

        ws.on("message", on_message)
        async with rest, ws:
            await ws.subscribe({"topic": "executions", "payload": {"snap_orders": False}}, KEY)
            pair = (await rest.get_asset_pairs(pair="XBTUSD")).raw["XXBTZUSD"]
            volume = Decimal(str(pair["ordermin"]))
            before = (await rest.get_account_balance()).raw
            placed = await rest.submit_order(
                ordertype="market", type="buy", pair="XBTUSD", volume=str(volume), cl_ord_id=cl_ord_id
            )
            await asyncio.wait_for(filled.wait(), 20)
            streamed = sum(Decimal(str(f["last_qty"])) for f in fills)
            order = (await rest.get_orders(txid=placed.txid[0])).raw[placed.txid[0]]
            after = (await rest.get_account_balance()).raw
            gained = Decimal(str(after["XXBT"])) - Decimal(str(before["XXBT"]))
            print(
                f"filled {streamed} on the stream; REST: {order['status']} vol_exec {order['vol_exec']}; "
                f"BTC balance +{gained}"
            )
            assert streamed == Decimal(str(order["vol_exec"])) == gained == volume
            await rest.submit_order(ordertype="market", type="sell", pair="XBTUSD", volume=str(volume))
            print("sold it back")
    print("OK layer 5 small live trade reconciled")


asyncio.run(main())
