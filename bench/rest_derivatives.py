"""Benchmark: the Derivatives REST client (build + sign + parse, and round trips to the sandbox).

Run: ``.venv/bin/python bench/rest_derivatives.py [--n 2000]`` (also called from ``bench/rest.py``).

Rows:
* ``build+sign sendorder``: the pure part of one call (parameter validation, URL-encoding, Authent).
* ``mock sendorder``: a whole sync call through ``httpx.MockTransport`` (no sockets): build, sign,
  send, JSON decode (Decimal), status check, typed result.
* ``sandbox get_tickers`` / ``sandbox sendorder+cancel``: real loopback round trips, sync and async.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from krakenkit._core.ratelimit import NoRateLimit  # measure client overhead, not waiting

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx

from krakenkit.rest._base import Call
from krakenkit.rest.derivatives import (
    AsyncDerivativesClient,
    DerivativesClient,
    KrakenDeprecationWarning,
)

warnings.simplefilter("ignore", KrakenDeprecationWarning)

SECRET = base64.b64encode(bytes(range(64))).decode()
ORDER: dict[str, Any] = {
    "orderType": "lmt",
    "symbol": "PF_XBTUSD",
    "side": "buy",
    "size": "0.01",
    "limitPrice": "30000.5",
    "cliOrdId": "bench-order",
}
PLACED = (
    b'{"result":"success","serverTime":"2024-01-01T00:00:00.000Z","sendStatus":{"status":"placed",'
    b'"order_id":"179f9af8-e45e-469d-b3e9-2fd4675cb7d0","receivedTime":"2024-01-01T00:00:00.000Z",'
    b'"orderEvents":[{"type":"PLACE","order":{"orderId":"179f9af8-e45e-469d-b3e9-2fd4675cb7d0",'
    b'"type":"lmt","symbol":"PF_XBTUSD","side":"buy","quantity":0.01,"filled":0,"limitPrice":30000.5,'
    b'"reduceOnly":false,"timestamp":"2024-01-01T00:00:00.000Z",'
    b'"lastUpdateTimestamp":"2024-01-01T00:00:00.000Z"}}]}}'
)


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _row(name: str, samples: list[float]) -> tuple[str, float, float, float]:
    samples = sorted(samples)
    p50 = statistics.median(samples) * 1e6
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e6
    return name, p50, p99, len(samples) / sum(samples)


def bench_derivatives(n: int = 2000) -> list[tuple[str, float, float, float]]:
    """Rows of (name, p50 us, p99 us, calls/s)."""
    rows = []
    mock = DerivativesClient(
        "K",
        SECRET,
        rate_limiter=NoRateLimit(),
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=PLACED))),
    )

    def build_sign() -> None:
        call: Call = mock._make_call("submit_order", ORDER)
        mock._build_request(call)

    rows.append(_row("build+sign sendorder", _time(build_sign, n)))
    rows.append(_row("mock sendorder (sync, no socket)", _time(lambda: mock.submit_order(**ORDER), n)))
    mock.close()

    from krakenkit.sandbox import Sandbox

    rounds = max(50, n // 20)
    with Sandbox(seed=1) as sb:
        key, secret = sb.create_futures_key()
        with DerivativesClient(key, secret, environment=sb.environment) as client:
            rows.append(_row("sandbox get_tickers (sync)", _time(client.get_tickers, rounds)))
            price = (client.get_orderbook(symbol="PF_XBTUSD").bids[0][0] * 8 / 10).quantize(1)

            def place_cancel() -> None:
                placed = client.submit_order(
                    orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice=price
                )
                client.cancel_order(order_id=placed.order_id)

            rows.append(_row("sandbox sendorder+cancel (sync)", _time(place_cancel, rounds)))

        async def run_async() -> list[float]:
            async with AsyncDerivativesClient(key, secret, environment=sb.environment) as aclient:
                samples = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    await aclient.get_tickers()
                    samples.append(time.perf_counter() - t0)
                return samples

        rows.append(_row("sandbox get_tickers (async)", asyncio.run(run_async())))
    return rows


# --- rows for bench/rest.py (same server, same table) -------------------------------------------

#: Bodies the bench/rest.py server answers on Derivatives paths.
DERIVATIVES_BODIES: dict[str, bytes] = {
    "/derivatives/api/v3/sendorder": PLACED,
    "/derivatives/api/v3/tickers": (
        b'{"result":"success","serverTime":"2024-01-01T00:00:00.000Z","tickers":['
        b'{"symbol":"PF_XBTUSD","markPrice":30209.9,"bid":30200.5,"ask":30210,'
        b'"vol24h":15304,"suspended":false,"postOnly":false}]}'
    ),
}

Row = tuple[str, float, str, str]  # (name, calls/s, baseline, note) = bench/rest.py's Result fields


def overhead_rows(url: str, seconds: float, measure_sync: Callable[[Callable[[], object], float], float]) -> list[Row]:
    """Raw httpx vs DerivativesClient on the same two requests (public GET, signed POST)."""
    from krakenkit._core.jsonutil import loads

    form = "orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=30000.5&cliOrdId=bench-order"
    with httpx.Client() as raw:
        raw_get = measure_sync(lambda: loads(raw.get(url + "/derivatives/api/v3/tickers").content), seconds)
        raw_post = measure_sync(
            lambda: loads(
                raw.post(
                    url + "/derivatives/api/v3/sendorder",
                    content=form.encode(),
                    headers={
                        "APIKey": "k",
                        "Authent": "x",
                        "Nonce": "1",
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                ).content
            ),
            seconds,
        )
    with DerivativesClient("bench-key", SECRET, base_url=url, max_retries=0, rate_limiter=NoRateLimit()) as client:
        typed_get = measure_sync(client.get_tickers, seconds)
        typed_post = measure_sync(lambda: client.submit_order(**ORDER), seconds)
    return [
        ("raw httpx GET /derivatives/api/v3/tickers", raw_get, "raw-deriv-get", ""),
        ("raw httpx POST /derivatives/api/v3/sendorder", raw_post, "raw-deriv-post", ""),
        ("krakenkit DerivativesClient.get_tickers", typed_get, "raw-deriv-get", "typed Decimals"),
        ("krakenkit DerivativesClient.submit_order", typed_post, "raw-deriv-post", "Authent, status check"),
    ]


def print_rows(rows: list[tuple[str, float, float, float]]) -> None:
    print(f"{'Derivatives REST':<36} {'p50 us':>10} {'p99 us':>10} {'calls/s':>10}")
    for name, p50, p99, rate in rows:
        print(f"{name:<36} {p50:>10.1f} {p99:>10.1f} {rate:>10.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args(argv)
    print_rows(bench_derivatives(args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
