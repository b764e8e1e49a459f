"""Client-side models of Kraken's rate counters (pure: no sleeping here).

A limiter books the cost of a call and says how long to wait first; the sync client sleeps with
``time.sleep``, the async one with ``asyncio.sleep``. See :class:`RateLimiter`.
(The full models are filled in by the rate-limit work; this module defines the contract.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["NoRateLimit", "RateLimiter"]


class RateLimiter(Protocol):
    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        """Book the call's cost; return the seconds to wait before sending (0.0 = send now).

        Raises :class:`krakenkit.RateLimitError` instead when configured to raise.
        """
        ...

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        """Learn from a successful response (e.g. Spot trading counter hints)."""
        ...

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        """Kraken said we are over: resynchronise (assume the counter is full)."""
        ...


class NoRateLimit:
    """A limiter that never waits."""

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        return None

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        return None
