"""Rollout layer 4: validated orders. Spot ``validate=True`` checks an order without placing it.
Derivatives has no validate flag: exercise order entry on the sandbox (place far away, cancel)."""

from __future__ import annotations

from _target import target

from krakenkit.rest import SpotClient
from krakenkit.rest.derivatives import DerivativesClient

with target() as t:
    with SpotClient(t.spot_key, t.spot_secret, environment=t.environment) as spot:
        result = spot.submit_order(
            ordertype="limit", type="buy", pair="XBTUSD", volume="0.0001", price="10000", validate=True
        )
        print("Spot validated:", result.descr.order, "| txid:", result.txid or "none (not placed)")
        assert not result.txid
    if t.live:
        print("Derivatives: no validate-only mode; run this example against the sandbox to exercise it")
    else:
        with DerivativesClient(t.futures_key, t.futures_secret, environment=t.environment) as deriv:
            cli = deriv.generate_new_order_id()
            sent = deriv.submit_order(
                orderType="post", symbol="PF_XBTUSD", side="buy", size="0.001", limitPrice="10000", cliOrdId=cli
            )
            print("Derivatives order on the sandbox:", sent.status, sent.order_id)
            print("cancelled:", deriv.cancel_order(cliOrdId=cli).status)
    print("OK layer 4 validated orders")
