"""Nonce load against the sandbox with Kraken's default nonce window (0: strictly increasing): 16 threads on one
client, 16 clients, 16 asyncio tasks (200 calls each) and 4 processes x 200 calls on one key, Spot and
Derivatives. No invalid nonce may reach the caller (before the wire order: 9% to 42% of the calls failed).

``server_nonce_rejections`` (recorded per test) counts the invalid-nonce answers the client absorbed by
re-signing; with the wire turn it is 0 in our runs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import krakenkit._core.errors as E
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, SpotClient
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

THREADS, CALLS, PROCESSES = 16, 200, 4
PRODUCTS = ["spot", "derivatives"]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, market=False, rate_limits=False) as sandbox:
        yield sandbox


class NonceRetries(logging.Handler):
    """Counts the invalid-nonce answers the clients re-signed (logged by the retry path)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "InvalidNonceError" in record.getMessage():
            self.count += 1


@pytest.fixture
def retries(record_property: Callable[[str, Any], None]) -> Iterator[NonceRetries]:
    handler = NonceRetries()
    logger = logging.getLogger("krakenkit.rest")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)
    record_property("server_nonce_rejections", handler.count)


def key_for(sb: Sandbox, product: str) -> tuple[str, str]:
    return sb.create_key() if product == "spot" else sb.create_futures_key()


def sync_client(sb: Sandbox, product: str, key: str, secret: str) -> Any:
    cls = SpotClient if product == "spot" else DerivativesClient
    return cls(key, secret, environment=sb.environment, rate_limiter=NoRateLimit())


def private_read(client: Any) -> Any:
    return client.get_account_balance() if isinstance(client, SpotClient) else client.get_accounts()


def run_calls(call: Callable[[], Any], n: int) -> tuple[int, int]:
    """(invalid nonces, other failures) of ``n`` calls."""
    nonce = other = 0
    for _ in range(n):
        try:
            call()
        except E.InvalidNonceError:
            nonce += 1
        except E.KrakenError:
            other += 1
    return nonce, other


def total(results: list[tuple[int, int]]) -> tuple[int, int]:
    return sum(r[0] for r in results), sum(r[1] for r in results)


@pytest.mark.parametrize("product", PRODUCTS)
def test_16_threads_on_one_client(sb: Sandbox, product: str, retries: NonceRetries) -> None:
    key, secret = key_for(sb, product)
    with sync_client(sb, product, key, secret) as client, ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: run_calls(lambda: private_read(client), CALLS), range(THREADS)))
    assert total(results) == (0, 0)


@pytest.mark.parametrize("product", PRODUCTS)
def test_16_clients_on_one_key(sb: Sandbox, product: str, retries: NonceRetries) -> None:
    key, secret = key_for(sb, product)
    clients = [sync_client(sb, product, key, secret) for _ in range(THREADS)]
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(lambda c: run_calls(lambda: private_read(c), CALLS), clients))
    finally:
        for c in clients:
            c.close()
    assert total(results) == (0, 0)


@pytest.mark.parametrize("product", PRODUCTS)
async def test_16_tasks_on_one_async_client(sb: Sandbox, product: str, retries: NonceRetries) -> None:
    key, secret = key_for(sb, product)
    cls: Any = AsyncSpotClient if product == "spot" else AsyncDerivativesClient
    async with cls(key, secret, environment=sb.environment, rate_limiter=NoRateLimit()) as client:
        read = client.get_account_balance if product == "spot" else client.get_accounts

        async def task() -> tuple[int, int]:
            nonce = other = 0
            for _ in range(CALLS):
                try:
                    await read()
                except E.InvalidNonceError:
                    nonce += 1
                except E.KrakenError:
                    other += 1
            return nonce, other

        results = await asyncio.gather(*(task() for _ in range(THREADS)))
    assert total(list(results)) == (0, 0)


CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import krakenkit._core.errors as E
from krakenkit._core.environment import Environment
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import SpotClient
from krakenkit.rest.derivatives import DerivativesClient
product, url, key, secret, n = sys.argv[1:6]
cls = SpotClient if product == "spot" else DerivativesClient
nonce = other = 0
with cls(key, secret, environment=Environment(url, url), rate_limiter=NoRateLimit()) as client:
    read = client.get_account_balance if product == "spot" else client.get_accounts
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(n)):
        try:
            read()
        except E.InvalidNonceError:
            nonce += 1
        except E.KrakenError:
            other += 1
print(json.dumps([nonce, other]), flush=True)
"""


@pytest.mark.parametrize("product", PRODUCTS)
def test_4_processes_on_one_key_share_the_nonce_file(sb: Sandbox, product: str) -> None:
    key, secret = key_for(sb, product)
    env = dict(os.environ)  # KRAKENKIT_NONCE_DIR: the session's private directory, shared by the children
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, product, sb.rest_url, key, secret, str(CALLS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for p in procs:  # all started: then all go at once
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [tuple(json.loads(p.communicate(timeout=60)[0])) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert total([(int(a), int(b)) for a, b in results]) == (0, 0)
    assert all(p.returncode == 0 for p in procs)
