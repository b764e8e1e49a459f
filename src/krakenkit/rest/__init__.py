"""Kraken REST clients.

* Spot: :class:`SpotClient` / :class:`AsyncSpotClient` (``krakenkit.rest.spot``)
* Derivatives: ``krakenkit.rest.derivatives`` (built on the same base, ``krakenkit.rest._base``)
"""

from __future__ import annotations

from . import spot_types
from ._base import Endpoint, OperationKind, RetryPolicy
from .spot import AsyncSpotClient, SpotClient
from .spot_types import *  # noqa: F403
from .spot_types import __all__ as _types_all

__all__ = ["AsyncSpotClient", "Endpoint", "OperationKind", "RetryPolicy", "SpotClient", "spot_types", *_types_all]
