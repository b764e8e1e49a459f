"""Rollout layer 3: private WebSocket. Authenticated with a fresh token; executions and balances
snapshots arrive."""

from __future__ import annotations

import asyncio

from _target import target

from krakenkit import WS_KEY_MAP
from krakenkit.ws.client import WebsocketClient

KEY = WS_KEY_MAP.spotPrivateV2


async def main() -> None:
    with target() as t:
        if t.spot_key is None:
            raise SystemExit("set API_SPOT_KEY and API_SPOT_SECRET")
        got: dict[str, object] = {}
        ws = WebsocketClient(t.spot_key, t.spot_secret, environment=t.environment)
        ws.on("authenticated", lambda ev: print("authenticated:", ev.ws_key, ev.method))
        ws.on("message", lambda ev: got.setdefault(str(ev.channel), ev.data))
        async with ws:
            await ws.subscribe({"topic": "executions", "payload": {"snap_orders": True}}, KEY)
            await ws.subscribe("balances", KEY)
            while not {"executions", "balances"} <= got.keys():
                await asyncio.sleep(0.05)
            balances = {row["asset"]: row["balance"] for row in got["balances"]["data"]}  # type: ignore[index]
            print("balances snapshot:", balances)
            print("executions snapshot:", len(got["executions"]["data"]), "open order(s)")  # type: ignore[index]
    print("OK layer 3 private WS")


asyncio.run(main())
