"""Rollout layer 2: public WebSocket. Ticker and a checksum-verified book flow; a forced reconnect
is survived (subscriptions restored, data flows again)."""

from __future__ import annotations

import asyncio

from _target import target

from krakenkit import WS_KEY_MAP
from krakenkit.ws.client import WebsocketClient

KEY = WS_KEY_MAP.spotPublicV2


async def main() -> None:
    with target() as t:
        tickers: list[object] = []
        reconnected = asyncio.Event()
        ws = WebsocketClient(environment=t.environment)
        ws.on("message", lambda ev: tickers.append(ev.data) if ev.channel == "ticker" else None)
        ws.on("reconnected", lambda ev: reconnected.set())
        async with ws:
            book = ws.book("BTC/USD", depth=10)  # verified against Kraken's checksum on every update
            await ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, KEY)
            await book.ready(15)
            print(f"book ready: best bid {book.best_bid[0]}, best ask {book.best_ask[0]}")
            while not tickers:
                await asyncio.sleep(0.05)
            print("ticker flowing:", len(tickers), "message(s)")
            seen = len(tickers)
            if t.sandbox is not None:
                t.sandbox.faults.drop_ws_connections(KEY)
            else:
                ws.connection(KEY).abort_for_test()
            await asyncio.wait_for(reconnected.wait(), 20)
            while len(tickers) <= seen:
                await asyncio.sleep(0.05)
            await book.ready(15)
            print("reconnected: subscriptions restored, ticker and book flowing again")
    print("OK layer 2 public WS")


asyncio.run(main())
