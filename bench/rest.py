"""REST client overhead benchmark: calls/s against a minimal local aiohttp server.

    .venv/bin/python bench/rest.py [--seconds 2] [--concurrency 50]

Prints one table: raw httpx (GET and signed-style POST), krakenkit Spot sync (public + private),
krakenkit Spot async with N concurrent calls, and python-kraken-sdk / ccxt when installed, each as
calls/s and as a ratio to raw httpx doing the same request. The server answers instantly with a
fixed Kraken-style body, so the numbers measure client overhead per call.

Adding a product: append a ``Case`` to ``cases()`` (see ``DERIVATIVES_CASES`` hook below); the
server already answers any path with ``BODIES`` (add the product's paths there).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from aiohttp import web

from krakenkit._core.ratelimit import NoRateLimit  # measure client overhead, not waiting
from krakenkit.rest import AsyncSpotClient, SpotClient

KEY = "bench-key"
SECRET = base64.b64encode(b"bench-secret-" * 5).decode()
TIME_BODY = b'{"error":[],"result":{"unixtime":1700000000,"rfc1123":"Tue, 14 Nov 23 22:13:20 +0000"}}'
BALANCE_BODY = b'{"error":[],"result":{"ZUSD":"100000.0000","XXBT":"10.0000000000","XETH":"5.5"}}'
BODIES: dict[str, bytes] = {
    "/0/public/Time": TIME_BODY,
    "/0/private/Balance": BALANCE_BODY,
}


# --- server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _serve(port: int) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        body = BODIES.get(request.path, b'{"error":[],"result":{}}')
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def start_server() -> tuple[str, Callable[[], None]]:
    """The server runs in its own process so it does not compete with the clients for the GIL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("bench server did not start")

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    return f"http://127.0.0.1:{port}", stop


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    calls_per_s: float
    baseline: str
    note: str = ""


def measure_sync(fn: Callable[[], object], seconds: float) -> float:
    for _ in range(50):
        fn()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(25):
            fn()
        n += 25
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def measure_async(make: Callable[[], Awaitable[object]], seconds: float, concurrency: int) -> float:
    async def run() -> float:
        for _ in range(20):
            await make()
        count = 0
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop_at:
                await make()
                count += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - start)

    return asyncio.run(run())


def raw_httpx(url: str, seconds: float) -> list[Result]:
    from krakenkit._core.jsonutil import loads

    with httpx.Client() as client:

        def get() -> object:
            return loads(client.get(url + "/0/public/Time").content)

        def post() -> object:
            return loads(
                client.post(
                    url + "/0/private/Balance",
                    content=b"nonce=1",
                    headers={"API-Key": KEY, "API-Sign": "x", "Content-Type": "application/x-www-form-urlencoded"},
                ).content
            )

        return [
            Result("raw httpx GET /0/public/Time", measure_sync(get, seconds), "raw-get"),
            Result("raw httpx POST /0/private/Balance", measure_sync(post, seconds), "raw-post"),
        ]


def krakenkit_sync(url: str, seconds: float) -> list[Result]:
    with SpotClient(KEY, SECRET, base_url=url, max_retries=0, rate_limiter=NoRateLimit()) as client:
        public = measure_sync(client.get_server_time, seconds)
        private = measure_sync(client.get_account_balance, seconds)
    return [
        Result("krakenkit SpotClient.get_server_time", public, "raw-get", "typed result"),
        Result("krakenkit SpotClient.get_account_balance", private, "raw-post", "signed, typed Decimals"),
    ]


def raw_httpx_async(url: str, seconds: float, concurrency: int) -> list[Result]:
    from krakenkit._core.jsonutil import loads

    holder: dict[str, httpx.AsyncClient] = {}

    async def call() -> object:
        if "c" not in holder:
            holder["c"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency))
        response = await holder["c"].get(url + "/0/public/Time")
        return loads(response.content)

    rate = measure_async(call, seconds, concurrency)
    return [Result(f"raw httpx async GET x{concurrency}", rate, "raw-async", f"{concurrency} concurrent")]


def krakenkit_async(url: str, seconds: float, concurrency: int) -> list[Result]:
    holder: dict[str, AsyncSpotClient] = {}

    def make() -> Awaitable[object]:
        if "c" not in holder:
            holder["c"] = AsyncSpotClient(
                KEY,
                SECRET,
                base_url=url,
                max_retries=0,
                rate_limiter=NoRateLimit(),
                network_options={"limits": httpx.Limits(max_connections=concurrency)},
            )
        return holder["c"].get_server_time()

    rate = measure_async(make, seconds, concurrency)
    return [
        Result(
            f"krakenkit AsyncSpotClient.get_server_time x{concurrency}", rate, "raw-async", f"{concurrency} concurrent"
        )
    ]


def python_kraken_sdk(url: str, seconds: float) -> list[Result]:
    if importlib.util.find_spec("kraken") is None:
        return [Result("python-kraken-sdk Market.get_system_status", 0.0, "raw-get", "not installed")]
    from kraken.spot import Market

    market = Market(url=url)
    return [
        Result(
            "python-kraken-sdk Market.get_system_status",
            measure_sync(market.get_system_status, seconds),
            "raw-get",
            "SystemStatus (no Time method)",
        )
    ]


def ccxt_case(url: str, seconds: float) -> list[Result]:
    if importlib.util.find_spec("ccxt") is None:
        return [Result("ccxt kraken.fetch_time", 0.0, "raw-get", "not installed")]
    import ccxt  # type: ignore[import-untyped]

    exchange = ccxt.kraken({"enableRateLimit": False})
    exchange.urls["api"] = {"public": url + "/0/public", "private": url + "/0/private"}
    return [Result("ccxt kraken.fetch_time", measure_sync(exchange.fetch_time, seconds), "raw-get")]


def in_process_overhead(seconds: float) -> list[tuple[str, float, float]]:
    """Client CPU per call with httpx.MockTransport (no sockets): (name, raw us, krakenkit us)."""
    from krakenkit._core.jsonutil import loads

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=BODIES.get(request.url.path, b'{"error":[],"result":{}}'))

    http = httpx.Client(transport=httpx.MockTransport(handler))
    base = "https://api.kraken.com"
    client = SpotClient(KEY, SECRET, http_client=http, max_retries=0, rate_limiter=NoRateLimit())

    def raw_get() -> object:
        return loads(http.get(base + "/0/public/Time").content)

    def raw_post() -> object:
        return loads(
            http.post(
                base + "/0/private/Balance",
                content=b"nonce=1",
                headers={"API-Key": KEY, "API-Sign": "x", "Content-Type": "application/x-www-form-urlencoded"},
            ).content
        )

    rows = []
    for name, raw, ours in (
        ("public GET Time", raw_get, client.get_server_time),
        ("private POST Balance (signed)", raw_post, client.get_account_balance),
    ):
        r = max(measure_sync(raw, seconds / 2) for _ in range(2))
        k = max(measure_sync(ours, seconds / 2) for _ in range(2))
        rows.append((name, 1e6 / r, 1e6 / k))
    http.close()
    return rows


Case = Callable[[str, float], list[Result]]
# Hook for the Derivatives client: append Cases here (e.g. from bench/rest_derivatives.py) so they
# appear in the same table; give them their own raw baseline rows.
DERIVATIVES_CASES: list[Case] = []


# --- Derivatives (Derivatives REST work; rows built in bench/rest_derivatives.py) ---------------
def _derivatives_case(url: str, seconds: float) -> list[Result]:
    from rest_derivatives import overhead_rows

    return [Result(*row) for row in overhead_rows(url, seconds, measure_sync)]


try:
    from rest_derivatives import DERIVATIVES_BODIES

    BODIES.update(DERIVATIVES_BODIES)
    DERIVATIVES_CASES.append(_derivatives_case)
except ImportError:  # run from elsewhere: Spot rows only
    pass
# --- end Derivatives --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    url, stop = start_server()
    cases: list[Case] = [
        raw_httpx,
        krakenkit_sync,
        lambda u, s: raw_httpx_async(u, s, args.concurrency),
        lambda u, s: krakenkit_async(u, s, args.concurrency),
        python_kraken_sdk,
        ccxt_case,
        *DERIVATIVES_CASES,
    ]
    best: dict[str, Result] = {}
    try:
        # Alternate the cases over several rounds and keep each one's best: fair on a noisy machine.
        for _ in range(args.rounds):
            for case in cases:
                try:
                    got = case(url, args.seconds)
                except Exception as exc:  # a peer failing must not hide the table
                    got = [Result(getattr(case, "__name__", "case"), 0.0, "raw-get", f"failed: {exc!r:.60}")]
                for r in got:
                    if r.name not in best or r.calls_per_s > best[r.name].calls_per_s:
                        best[r.name] = r
    finally:
        stop()
    results = list(best.values())
    baselines = {r.baseline: r.calls_per_s for r in results if r.name.startswith("raw httpx")}
    print(f"{'client':<52} {'calls/s':>10} {'x raw':>7} {'us/call':>9}  note")
    for r in results:
        base = baselines.get(r.baseline, 0.0)
        ratio = f"{base / r.calls_per_s:.2f}" if r.calls_per_s and base else "-"
        per_call = f"{1e6 / r.calls_per_s:.0f}" if r.calls_per_s else "-"
        print(f"{r.name:<52} {r.calls_per_s:>10.0f} {ratio:>7} {per_call:>9}  {r.note}")
    print(
        "x raw = raw httpx calls/s / this client's calls/s for the same request (1.00 = no overhead);"
        " async rows compare to raw httpx async at the same concurrency"
    )
    print()
    print("in-process (httpx.MockTransport, no sockets): client CPU per call")
    print(f"{'request':<40} {'raw httpx us':>13} {'krakenkit us':>13} {'ratio':>6}")
    for name, raw_us, kk_us in in_process_overhead(args.seconds):
        print(f"{name:<40} {raw_us:>13.1f} {kk_us:>13.1f} {kk_us / raw_us:>6.2f}")


if __name__ == "__main__":
    main()
