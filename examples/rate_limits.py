"""Client-side rate limiting: the limiter books each call's cost against Kraken's counters and the
client sleeps when needed, so a burst never earns ``EAPI:Rate limit exceeded``.

Spot: one limiter per API key (REST counter by tier + per-pair trading counters with order ages).
Derivatives: 500 cost units / 10 s and the history pool."""

from __future__ import annotations

import time

from _target import target

from krakenkit import derivatives_rate_limiter, spot_rate_limiter
from krakenkit.rest import SpotClient
from krakenkit.rest.derivatives import DerivativesClient

TIER = "pro"  # your verification tier: starter | intermediate | pro

with target() as t:
    if t.sandbox is not None:
        t.spot_key, t.spot_secret = t.sandbox.create_key(tier=TIER)
    limiter = spot_rate_limiter(TIER, mode="wait")
    with SpotClient(t.spot_key, t.spot_secret, environment=t.environment, rate_limiter=limiter) as client:
        start = time.monotonic()
        for _ in range(21):  # 19 go at once (1 unit of headroom), then one per second (pro decays 1/s)
            client.get_account_balance()
        print(
            f"21 Balance calls in {time.monotonic() - start:.1f}s, no rate-limit error; "
            f"counter now {limiter.rest_level():.1f}/20"
        )
        cl = client.generate_new_order_id()
        client.submit_order(ordertype="limit", type="buy", pair="XBTUSD", volume="0.0001", price="10000", cl_ord_id=cl)
        print("cancelling a 0 s old order costs", limiter.costs("CancelOrder", {"cl_ord_id": cl}))
        client.cancel_order(cl_ord_id=cl)
    with DerivativesClient(
        t.futures_key, t.futures_secret, environment=t.environment, rate_limiter=derivatives_rate_limiter()
    ) as deriv:
        deriv.get_accounts()
        print("Derivatives accounts call costs", deriv.rate_limiter.cost("/derivatives/api/v3/accounts"))
    print("OK rate limits")
