"""krakenkit: production-grade Python SDK for the Kraken exchange."""

from __future__ import annotations

from ._core.environment import LIVE, TESTNET, WS_KEY_MAP, Environment
from ._core.errors import *  # noqa: F403 - the exception tree is public API
from ._core.errors import __all__ as _errors_all

__version__ = "0.1.0"

__all__ = ["LIVE", "TESTNET", "WS_KEY_MAP", "Environment", "__version__", *_errors_all]
