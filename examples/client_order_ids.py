"""Use client-generated order ids (Spot ``cl_ord_id``, Futures ``cliOrdId``).

The id is made before the request leaves the process, so a timed-out request can be looked up by
it instead of guessed at, and it correlates REST replies, WS executions and your own records.
"""

from __future__ import annotations

from _target import target

from krakenkit.rest import SpotClient
from krakenkit.rest.derivatives import DerivativesClient

with target() as t:
    if t.live:
        raise SystemExit("this example places resting orders; run it against the sandbox")

    # --- Spot ---
    spot = SpotClient(t.spot_key, t.spot_secret, environment=t.environment)
    spot_order_id = spot.generate_new_order_id()
    spot_result = spot.submit_order(
        ordertype="limit", type="buy", pair="XBTUSD", volume="0.0001", price="10000", cl_ord_id=spot_order_id
    )  # your reference, survives retries
    print("Spot order placed, cl_ord_id:", spot_order_id, "txid:", spot_result.txid)
    found = spot.get_open_orders(cl_ord_id=spot_order_id)
    print("found by cl_ord_id:", list(found.raw["open"]))
    spot.cancel_order(cl_ord_id=spot_order_id)

    # --- Futures ---
    futures = DerivativesClient(t.futures_key, t.futures_secret, environment=t.environment)
    futures_order_id = futures.generate_new_order_id()
    futures_result = futures.submit_order(
        orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01", limitPrice="10000", cliOrdId=futures_order_id
    )
    print("Futures order placed, cliOrdId:", futures_order_id, "status:", futures_result.status)
    futures.cancel_order(cliOrdId=futures_order_id)
    spot.close()
    futures.close()
    print("OK client order ids")
