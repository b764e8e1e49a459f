"""Proxy and network options. REST clients take ``network_options`` (passed to httpx: ``proxy``,
``timeout``, ``verify``, ``trust_env``...); the WebsocketClient takes ``network_options`` with
``proxy`` (REST token calls and sockets), ``ws_proxy`` (sockets only), ``open_timeout``...

Set KRAKENKIT_PROXY=http://user:pass@proxy:3128 to route through a proxy; without it the example
connects directly (and shows how to switch off the HTTPS_PROXY environment for the sandbox)."""

from __future__ import annotations

import asyncio
import os

from _target import target

from krakenkit import WS_KEY_MAP
from krakenkit.rest import SpotClient
from krakenkit.ws.client import WebsocketClient

proxy = os.environ.get("KRAKENKIT_PROXY")
rest_options: dict[str, object] = {"timeout": 10.0}
ws_options: dict[str, object] = {"open_timeout": 10.0}
if proxy:
    rest_options["proxy"] = proxy
    ws_options["proxy"] = proxy
else:
    rest_options["trust_env"] = False  # ignore HTTPS_PROXY / ALL_PROXY for this client
    ws_options["proxy"] = None  # and for the sockets
print("proxy:", proxy or "none (direct)")


async def ws_check(t: object) -> None:
    async with WebsocketClient(environment=t.environment, network_options=ws_options) as ws:  # type: ignore[attr-defined]
        await ws.connect(WS_KEY_MAP.spotPublicV2)
        print("WebSocket connected through", proxy or "a direct connection")


with target() as t:
    with SpotClient(environment=t.environment, network_options=rest_options) as client:
        print("REST server time:", client.get_server_time().unixtime)
    asyncio.run(ws_check(t))
    print("OK proxy options")
