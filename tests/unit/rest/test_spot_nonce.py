"""Nonces: strictly increasing and unique under heavy concurrency (threads and asyncio)."""

from __future__ import annotations

import asyncio
import base64
import threading
import urllib.parse

import httpx

from krakenkit._core.nonce import NonceSource, nonce_source_for
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, SpotClient

SECRET = base64.b64encode(b"nonce-secret-" * 5).decode()
TOTAL = 100_000


def test_no_duplicates_across_threads() -> None:
    source = NonceSource()
    threads_n = 8
    per = TOTAL // threads_n
    results: list[list[int]] = [[] for _ in range(threads_n)]
    start = threading.Barrier(threads_n)

    def work(i: int) -> None:
        out = results[i]
        start.wait()
        for _ in range(per):
            out.append(source())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [n for r in results for n in r]
    assert len(flat) == TOTAL and len(set(flat)) == TOTAL
    for r in results:
        assert r == sorted(r) and len(set(r)) == len(r)  # increasing per thread


async def test_no_duplicates_across_tasks_and_threads() -> None:
    source = NonceSource()
    got: list[int] = []

    async def task(n: int) -> None:
        for i in range(n):
            got.append(source())
            if i % 100 == 0:
                await asyncio.sleep(0)

    thread_out: list[int] = []

    def in_thread() -> None:
        for _ in range(TOTAL // 2):
            thread_out.append(source())

    t = threading.Thread(target=in_thread)
    t.start()
    await asyncio.gather(*(task(TOTAL // 2 // 50) for _ in range(50)))
    await asyncio.to_thread(t.join)
    every = got + thread_out
    assert len(every) == TOTAL and len(set(every)) == TOTAL


def test_default_source_is_shared_per_key() -> None:
    assert nonce_source_for("same-key") is nonce_source_for("same-key")
    a = SpotClient("shared-key", SECRET)
    b = AsyncSpotClient("shared-key", SECRET)
    assert a._nonce is b._nonce is nonce_source_for("shared-key")


async def test_client_sends_unique_nonces_concurrently() -> None:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(int(dict(urllib.parse.parse_qsl(request.content.decode()))["nonce"]))
        return httpx.Response(200, json={"error": [], "result": {}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncSpotClient("concurrent-key", SECRET, http_client=http, rate_limiter=NoRateLimit()) as client:
        await asyncio.gather(*(client.get_account_balance() for _ in range(300)))
    await http.aclose()
    sync_client = SpotClient(
        "concurrent-key",
        SECRET,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        rate_limiter=NoRateLimit(),
    )
    threads = [threading.Thread(target=sync_client.get_account_balance) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 350 and len(set(seen)) == 350
