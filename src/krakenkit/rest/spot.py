"""Spot REST clients: :class:`SpotClient` (blocking) and :class:`AsyncSpotClient` (asyncio).

Both are the same :class:`~krakenkit.rest._spot_core.SpotCore` (all logic) plus a driver (the send
loop and the sleep) plus the generated typed methods::

    with SpotClient(api_key, api_secret) as client:
        ticker = client.get_ticker(pair="XBTUSD")
        placed = client.submit_order(ordertype="limit", type="buy", volume="0.01", pair="XBTUSD",
                                     price="30000", cl_ord_id=client.generate_new_order_id())

    async with AsyncSpotClient(api_key, api_secret) as client:
        balance = await client.get_account_balance()

Constructor (both): ``api_key=None, api_secret=None, *, base_url, environment, timeout, max_retries,
network_options, http_client, otp, nonce_source, rate_limiter, symbol_check=True`` (see SpotCore).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from ._base import AsyncDriver, SyncDriver
from ._spot_core import SpotCore
from ._spot_methods import AsyncSpotMethods, SpotMethods

__all__ = ["AsyncSpotClient", "SpotClient"]


class SpotClient(SyncDriver, SpotCore, SpotMethods):
    """Blocking Kraken Spot REST client (``httpx.Client``). Use as a context manager or call ``close()``.

    ``SpotClient.from_env()`` reads the key from ``API_SPOT_KEY`` / ``API_SPOT_SECRET`` (names overridable).
    """

    _http_class: ClassVar[type[Any]] = httpx.Client


class AsyncSpotClient(AsyncDriver, SpotCore, AsyncSpotMethods):
    """Asyncio Kraken Spot REST client (``httpx.AsyncClient``): ``async with AsyncSpotClient(...) as c:``."""

    _http_class: ClassVar[type[Any]] = httpx.AsyncClient
