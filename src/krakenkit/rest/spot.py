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
network_options, http_client, otp, nonce_source, rate_limiter, symbol_check=True, retry_policy,
order_deadline=10, shared_nonce=None, attempt_timeout=None``:

* ``timeout``: seconds, the **total** time of one call (every attempt, wait and look-up); every method also
  takes ``timeout=`` for one call. Default 10.
* ``attempt_timeout``: seconds one attempt may take (default: what is left of ``timeout``).
* ``order_deadline``: seconds after signing that Kraken rejects an order sent without ``deadline=``
  (AddOrder, AddOrderBatch, AmendOrder, EditOrder), 2.25 to 60. Default 10.
* ``shared_nonce``: share one nonce sequence per key with the other processes of the host (a lock file in
  the cache directory, ``KRAKENKIT_NONCE_DIR`` moves it). Default: on, unless you pass ``nonce_source``.

Checked at construction: the key (printable ASCII, no whitespace) and secret (base64), an otp, and the
environment (``krakenkit.TESTNET`` is refused: Kraken has no Spot test environment). Orders, amends and cancels
go through the validation layer before anything is sent (``docs/validation.md``).
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
