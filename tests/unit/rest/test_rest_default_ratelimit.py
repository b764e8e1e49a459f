"""Rate limiting is on by default, one limiter per API key shared by every client of the key."""

from __future__ import annotations

import base64

from krakenkit._core.ratelimit import DerivativesRateLimiter, NoRateLimit, SpotRateLimiter
from krakenkit.rest.derivatives import DerivativesClient
from krakenkit.rest.spot import AsyncSpotClient, SpotClient

SECRET = base64.b64encode(b"x" * 64).decode()


def test_spot_clients_of_one_key_share_one_limiter() -> None:
    a = SpotClient("key-a", SECRET)
    b = AsyncSpotClient("key-a", SECRET)
    other = SpotClient("key-b", SECRET)
    assert isinstance(a.rate_limiter, SpotRateLimiter)
    assert a.rate_limiter is b.rate_limiter
    assert other.rate_limiter is not a.rate_limiter


def test_public_client_and_explicit_opt_out_have_no_limiter() -> None:
    assert isinstance(SpotClient().rate_limiter, NoRateLimit)
    off = NoRateLimit()
    assert SpotClient("key-a", SECRET, rate_limiter=off).rate_limiter is off


def test_derivatives_default_limiter_is_per_key() -> None:
    a = DerivativesClient("fkey", SECRET)
    b = DerivativesClient("fkey", SECRET)
    assert isinstance(a.rate_limiter, DerivativesRateLimiter)
    assert a.rate_limiter is b.rate_limiter
