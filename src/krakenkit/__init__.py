"""krakenkit: production-grade Python SDK for the Kraken exchange.

Clients and tools are imported lazily on first use, so ``import krakenkit`` stays cheap. ``Sandbox``
comes from the separate krakenkit-sandbox distribution (``krakenkit_sandbox``), re-exported here when it
is installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._core.environment import LIVE, TESTNET, WS_KEY_MAP, Environment
from ._core.errors import *  # noqa: F403 - the exception tree is public API
from ._core.errors import __all__ as _errors_all

if TYPE_CHECKING:
    from ._core.credentials import Credentials, CredentialStore
    from ._core.jsonutil import JSONNestingError
    from ._core.ratelimit import (
        DerivativesRateLimiter,
        NoRateLimit,
        RateLimiter,
        SpotRateLimiter,
        derivatives_rate_limiter,
        shared_derivatives_rate_limiter,
        shared_spot_rate_limiter,
        spot_rate_limiter,
    )
    from ._core.secrets import Secret
    from ._core.symbol_mapper import SymbolMapper, UnknownSymbolError
    from .books import DerivativesBook, SpotBook, SpotL3Book
    from .rest import RetryPolicy
    from .rest.derivatives import AsyncDerivativesClient, DerivativesClient, KrakenDeprecationWarning
    from .rest.spot import AsyncSpotClient, SpotClient
    from .sandbox import Sandbox
    from .toolkit import (
        AccountState,
        AsyncSafeOrderSubmitter,
        DeadMansSwitch,
        FillRecorder,
        JournalError,
        OrderJournal,
        OrderWithdrawnError,
        ReconnectGate,
        SafeOrderSubmitter,
    )
    from .ws import StreamOverflowError, WebsocketAPIClient, WebsocketClient

__version__ = "0.1.0"

# name -> the module it is imported from on first use. Every name here is public API (pinned by
# tests/unit/test_public_api.py); the docs and examples import only from these paths.
_LAZY: dict[str, str] = {
    # clients
    "SpotClient": "krakenkit.rest.spot",
    "AsyncSpotClient": "krakenkit.rest.spot",
    "DerivativesClient": "krakenkit.rest.derivatives",
    "AsyncDerivativesClient": "krakenkit.rest.derivatives",
    "RetryPolicy": "krakenkit.rest",
    "WebsocketClient": "krakenkit.ws",
    "WebsocketAPIClient": "krakenkit.ws",
    # books
    "SpotBook": "krakenkit.books",
    "SpotL3Book": "krakenkit.books",
    "DerivativesBook": "krakenkit.books",
    # the sandbox (krakenkit-sandbox distribution)
    "Sandbox": "krakenkit.sandbox",
    # credentials and symbols
    "Credentials": "krakenkit._core.credentials",
    "CredentialStore": "krakenkit._core.credentials",
    "Secret": "krakenkit._core.secrets",
    "SymbolMapper": "krakenkit._core.symbol_mapper",
    # rate limits
    "RateLimiter": "krakenkit._core.ratelimit",
    "NoRateLimit": "krakenkit._core.ratelimit",
    "SpotRateLimiter": "krakenkit._core.ratelimit",
    "DerivativesRateLimiter": "krakenkit._core.ratelimit",
    "spot_rate_limiter": "krakenkit._core.ratelimit",
    "derivatives_rate_limiter": "krakenkit._core.ratelimit",
    "shared_spot_rate_limiter": "krakenkit._core.ratelimit",
    "shared_derivatives_rate_limiter": "krakenkit._core.ratelimit",
    # toolkit
    "OrderJournal": "krakenkit.toolkit",
    "SafeOrderSubmitter": "krakenkit.toolkit",
    "AsyncSafeOrderSubmitter": "krakenkit.toolkit",
    "ReconnectGate": "krakenkit.toolkit",
    "AccountState": "krakenkit.toolkit",
    "DeadMansSwitch": "krakenkit.toolkit",
    "FillRecorder": "krakenkit.toolkit",
    # exceptions and warnings defined outside _core.errors (the rest come eagerly from there)
    "KrakenDeprecationWarning": "krakenkit.rest.derivatives",
    "JSONNestingError": "krakenkit._core.jsonutil",
    "UnknownSymbolError": "krakenkit._core.symbol_mapper",
    "StreamOverflowError": "krakenkit.ws",
    "JournalError": "krakenkit.toolkit",
    "OrderWithdrawnError": "krakenkit.toolkit",
}

__all__ = ["LIVE", "TESTNET", "WS_KEY_MAP", "Environment", "__version__", *_errors_all, *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'krakenkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
