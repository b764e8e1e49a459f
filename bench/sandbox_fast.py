"""Fast mode throughput: one WS connection subscribed to a book, counting update messages per second."""

from __future__ import annotations

import asyncio
import time

import websockets

from krakenkit.sandbox import Sandbox


async def main(seconds: float = 3.0) -> None:
    async with Sandbox(seed=1, market=False, fast_mode=True) as sb:
        async with websockets.connect(sb.ws_urls["spotPublicV2"], max_queue=None) as ws:
            await ws.send('{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"]}}')
            n = 0
            t0 = time.perf_counter()
            start = None
            while time.perf_counter() - t0 < seconds + 1:
                msg = await ws.recv()
                if '"update"' in msg:
                    if start is None:
                        start = time.perf_counter()
                    n += 1
                    if time.perf_counter() - start >= seconds:
                        break
            dt = time.perf_counter() - (start or t0)
            print(f"fast mode: {n} book updates in {dt:.2f} s = {n / dt:,.0f} msgs/s on one connection")


if __name__ == "__main__":
    asyncio.run(main())
