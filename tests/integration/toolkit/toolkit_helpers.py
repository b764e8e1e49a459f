"""Helpers for the toolkit integration tests: waiting on a condition, and a Spot account A behind a
ReconnectGate (REST client, private WebSocket, journal, AccountState) with a taker account B that trades
against A's resting orders."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from krakenkit import KrakenError, OrderOutcomeUnknownError
from krakenkit.rest import AsyncSpotClient, SpotClient
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import (
    AccountState,
    AsyncSafeOrderSubmitter,
    OrderJournal,
    OrderNotPlacedError,
    ReconnectGate,
    SpotBackfill,
)
from krakenkit.ws import WebsocketClient


async def wait_until(pred: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


class GatedSpotAccount:
    """Account A (10 BTC to sell) behind a gate on ``spotPrivateV2`` and taker B (USD to buy with).

    ``async with GatedSpotAccount(sb, journal_path) as acct:`` closes everything on exit;
    :meth:`close_streams` ends the gate, the socket and the journal earlier (a "restart") and leaves the
    REST clients open.
    """

    def __init__(self, sb: Sandbox, journal: str | Path) -> None:
        self.sb = sb
        self.key_a, sec_a = sb.create_key(balances={"XXBT": "10", "ZUSD": "1000000"})
        key_b, sec_b = sb.create_key(balances={"ZUSD": "10000000"})
        self.rest_a = AsyncSpotClient(self.key_a, sec_a, environment=sb.environment, timeout=5.0)
        self.taker = SpotClient(key_b, sec_b, environment=sb.environment, timeout=5.0)
        self.ws = WebsocketClient(self.key_a, sec_a, environment=sb.environment)
        self.journal = OrderJournal.open(journal)
        self.state = AccountState()
        self.gate = ReconnectGate(
            self.ws, backfill=SpotBackfill(self.rest_a), state=self.state, keys=("spotPrivateV2",), wait_timeout=20
        )
        self._streams_open = True

    async def __aenter__(self) -> GatedSpotAccount:
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close_streams()
        finally:
            await self.rest_a.aclose()
            self.taker.close()

    async def close_streams(self) -> None:
        if not self._streams_open:
            return
        self._streams_open = False
        await self.gate.aclose()
        await self.ws.close()
        await asyncio.to_thread(self.journal.close)

    async def submitter(self, owner: str, **kw: Any) -> AsyncSafeOrderSubmitter:
        """A started submitter for A through the gate and the journal."""
        sub = AsyncSafeOrderSubmitter.spot_rest(self.rest_a, self.journal, gate=self.gate, owner=owner, **kw)
        await sub.start()
        return sub

    def take(self, volume: str = "0.01", price: str = "65000.0") -> None:
        """B buys ``volume`` immediate-or-cancel at ``price``: fills A's resting sells there."""
        self.taker.submit_order(
            pair="XBTUSD", type="buy", ordertype="limit", volume=volume, price=price, timeinforce="IOC"
        )

    def sent_by_a(self, method: str) -> list[dict[str, Any]]:
        """The Spot REST requests of A to ``method`` (``AddOrder``, ``TradesHistory`` ...) the sandbox received."""
        return [r for r in self.sb.requests if r["path"].endswith(method) and r.get("api_key") == self.key_a]


async def count_outcome(outcomes: Counter[str], submit: Awaitable[Any], unknown: str = "unknown") -> None:
    """Await one safe submit and count how it ended (the chaos tests' tally). A not-placed or unknown
    outcome must name the order's client id."""
    try:
        r = await submit
        outcomes["acknowledged_recovered" if r.recovered else "acknowledged"] += 1
    except OrderNotPlacedError as exc:
        assert exc.cl_ord_id, exc
        outcomes["not_placed"] += 1
    except OrderOutcomeUnknownError as exc:
        assert exc.cl_ord_id, exc
        outcomes[unknown] += 1
    except KrakenError as exc:
        outcomes[f"error:{type(exc).__name__}"] += 1
