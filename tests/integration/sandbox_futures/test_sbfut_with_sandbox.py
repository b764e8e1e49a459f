"""The Futures plug-in inside the shared Sandbox: same base URL, shared faults and ws registry."""

from __future__ import annotations

from typing import Any

import pytest
from sbfut_helpers import FutClient, WsClient, sign_challenge

sandbox_mod = pytest.importorskip("krakenkit_sandbox")

D = "/derivatives/api/v3"


async def test_futures_inside_sandbox() -> None:
    sb: Any = sandbox_mod.Sandbox(seed=5, market=False, rate_limits=False)
    await sb.start()
    try:
        assert sb.futures is not None
        key, secret = sb.create_futures_key({"USD": 5000})
        c = FutClient(sb.rest_url, key, secret)
        try:
            r = await c.get(D + "/accounts")
            assert r.json()["accounts"]["flex"]["currencies"]["USD"]["quantity"] == 5000.0
            # REST faults from the shared middleware reach the futures paths
            sb.faults.fail_next(D + "/openorders", error="Unavailable")
            r = await c.get(D + "/openorders")
            assert r.json()["result"] == "error" and r.json()["error"] == "Unavailable"
            assert (await c.get(D + "/openorders")).json()["result"] == "success"
            # system status drives order entry
            sb.faults.set_system_status("maintenance")
            r = await c.post(
                D + "/sendorder",
                {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "0.001", "limitPrice": "1000"},
            )
            assert r.json()["sendStatus"]["status"] == "marketSuspended"
            sb.faults.set_system_status("online")
            # WS faults reach derivatives connections through the shared registry
            ws = await WsClient.connect(sb.ws_urls["derivativesPrivateV1"])
            await ws.event("info")
            await ws.send({"event": "challenge", "api_key": key})
            ch = await ws.event("challenge")
            await ws.send(
                {
                    "event": "subscribe",
                    "feed": "open_orders",
                    "api_key": key,
                    "original_challenge": ch["message"],
                    "signed_challenge": sign_challenge(secret, ch["message"]),
                }
            )
            await ws.event("subscribed")
            await ws.feed("open_orders_snapshot")
            sb.faults.send_non_json("derivativesPrivateV1")
            assert (await ws.next_where(lambda m: "_raw" in m))["_raw"]
            sb.faults.drop_ws_connections("derivativesPrivateV1")
            dropped = False
            try:
                await ws.next_where(lambda m: False, timeout=3)
            except AssertionError:
                raise
            except Exception:
                dropped = True
            assert dropped
        finally:
            await c.aclose()
    finally:
        await sb.stop()
