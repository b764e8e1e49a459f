"""Derivatives rate budgets: 500 cost units per 10 s on /derivatives, 100 history tokens per 10 min."""

from __future__ import annotations

import json

from sbfut_helpers import Venue

D = "/derivatives/api/v3"


async def test_derivatives_budget(limited_venue: Venue) -> None:
    limited_venue.ctx.frozen = limited_venue.ctx.now()
    c = await limited_venue.client()
    other = await limited_venue.client()
    try:
        # cancelallorders costs 25: 20 calls spend the 500 units, the 21st is refused
        results = [(await c.post(D + "/cancelallorders")).json() for _ in range(21)]
        assert all(r["result"] == "success" for r in results[:20])
        assert results[20]["result"] == "error" and results[20]["error"] == "apiLimitExceeded"
        # the budget is per key
        assert (await other.get(D + "/accounts")).json()["result"] == "success"
        # time refills the bucket: 10 s later the full budget is back
        limited_venue.ctx.offset += 10
        assert (await c.post(D + "/cancelallorders")).json()["result"] == "success"
    finally:
        await c.aclose()
        await other.aclose()


async def test_batch_and_fills_costs(limited_venue: Venue) -> None:
    limited_venue.ctx.frozen = limited_venue.ctx.now()
    c = await limited_venue.client()
    try:
        # fills with lastFillTime costs 25, without 2: 20 expensive calls empty the bucket
        for _ in range(20):
            assert (await c.get(D + "/fills", {"lastFillTime": "2030-01-01T00:00:00.000Z"})).json()[
                "result"
            ] == "success"
        assert (await c.get(D + "/fills")).json()["error"] == "apiLimitExceeded"
        # batchorder costs 9 + n: after 1 s (50 units) a 41-instruction batch (50) passes, a 1-instruction one not
        limited_venue.ctx.offset += 1
        batch = json.dumps({"batchOrder": [{"order": "cancel", "order_id": str(i)} for i in range(41)]})
        assert (await c.post(D + "/batchorder", {"json": batch})).json()["result"] == "success"
        one = json.dumps({"batchOrder": [{"order": "cancel", "order_id": "x"}]})
        assert (await c.post(D + "/batchorder", {"json": one})).json()["error"] == "apiLimitExceeded"
    finally:
        await c.aclose()


async def test_history_pool(limited_venue: Venue) -> None:
    limited_venue.ctx.frozen = limited_venue.ctx.now()
    c = await limited_venue.client()
    try:
        for _ in range(100):
            r = await c.get("/api/history/v3/orders")
            assert r.status_code == 200
        r = await c.get("/api/history/v3/orders")
        assert r.status_code == 429 and r.text == "apiLimitExceeded"
        assert int(r.headers["rate-limit-reset"]) >= 1
        # /derivatives has its own budget
        assert (await c.get(D + "/accounts")).json()["result"] == "success"
    finally:
        await c.aclose()


async def test_no_limits_when_disabled(venue: Venue) -> None:
    c = await venue.client()
    try:
        results = [(await c.post(D + "/cancelallorders")).json()["result"] for _ in range(25)]
        assert set(results) == {"success"}
    finally:
        await c.aclose()
