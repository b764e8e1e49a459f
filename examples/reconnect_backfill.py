"""Handle reconnects: pause on ``reconnecting``, backfill over REST on ``reconnected``, then resume.

The WebsocketClient reconnects, re-authenticates and resubscribes by itself; the application keeps
its state coherent across the gap: no new orders while the private stream is down, then open orders
and recent fills fetched over REST before trading resumes. (``krakenkit.toolkit.ReconnectGate``
packages this pattern.)
"""

from __future__ import annotations

import asyncio
import time

from _target import target

from krakenkit import WS_KEY_MAP
from krakenkit.rest import AsyncSpotClient
from krakenkit.ws.client import WebsocketClient

KEY = WS_KEY_MAP.spotPrivateV2


async def main() -> None:
    with target() as t:
        rest = AsyncSpotClient(t.spot_key, t.spot_secret, environment=t.environment)
        ws = WebsocketClient(t.spot_key, t.spot_secret, environment=t.environment, rest_client=rest)
        trading_allowed = asyncio.Event()
        resumed = asyncio.Event()
        open_orders: dict[str, object] = {}

        @ws.on("reconnecting")
        def on_reconnecting(event):  # type: ignore[no-untyped-def]
            if event.ws_key == KEY:
                trading_allowed.clear()
                print(f"reconnecting ({event.reason}): trading paused")

        @ws.on("reconnected")
        async def on_reconnected(event):  # type: ignore[no-untyped-def]
            if event.ws_key != KEY:
                return
            print(f"reconnected after {event.downtime:.2f}s; backfilling over REST")
            orders = await rest.get_open_orders()
            open_orders.clear()
            open_orders.update(orders.raw.get("open", {}))
            trades = await rest.get_trades_history(start=int(time.time()) - 3600)
            print(f"backfill: {len(open_orders)} open orders, {len(trades.raw.get('trades', {}))} recent fills")
            trading_allowed.set()
            resumed.set()
            print("resumed trading after backfill")

        async with rest, ws:
            await ws.subscribe({"topic": "executions", "payload": {"snap_orders": True}}, KEY)
            await ws.connect(KEY)
            trading_allowed.set()
            print("private stream up: trading allowed")
            if t.sandbox is not None:
                t.sandbox.faults.drop_ws_connections(KEY)  # simulate a network drop
            else:
                ws.connection(KEY).abort_for_test()
            await asyncio.wait_for(resumed.wait(), 20)
            assert trading_allowed.is_set()
    print("OK reconnect handled")


asyncio.run(main())
