"""DeadMansSwitch with fake clients: arm, re-arm on the interval, disarm on clean exit, retry on failure."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from krakenkit import ServiceUnavailableError, ValidationError
from krakenkit.toolkit import DeadMansSwitch


class SyncClient:
    def __init__(self, fail_at: set[int] | None = None) -> None:
        self.calls: list[int] = []
        self.fail_at = fail_at or set()
        self.cond = threading.Condition()

    def cancel_all_orders_after(self, *, timeout: int) -> dict[str, Any]:
        with self.cond:
            n = len(self.calls)
            self.calls.append(timeout)
            self.cond.notify_all()
        if n in self.fail_at:
            raise ServiceUnavailableError("EService:Unavailable")
        return {"currentTime": "now", "triggerTime": "later"}

    def wait_calls(self, n: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.calls) >= n, 5)


class AsyncWsApi:
    """The WS API client's method name."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.changed = asyncio.Event()

    async def cancel_all_spot_orders_after(
        self, timeout_seconds: int, *, timeout: float | None = None
    ) -> dict[str, Any]:
        assert timeout is None  # the request timeout is left alone
        self.calls.append(timeout_seconds)
        self.changed.set()
        return {}


def test_validation() -> None:
    with pytest.raises(ValidationError):
        DeadMansSwitch(SyncClient(), timeout=0)
    with pytest.raises(ValidationError):
        DeadMansSwitch(SyncClient(), timeout=60, interval=60)
    with pytest.raises(ValidationError, match="no cancel_all_orders_after"):
        DeadMansSwitch(object(), timeout=60, interval=15)


def test_sync_rearms_and_disarms_on_exit() -> None:
    c = SyncClient()
    with DeadMansSwitch(c, timeout=60, interval=0.01) as dms:
        assert c.wait_calls(4)
        assert dms.running and dms.armed_until is not None
    assert not dms.running
    assert c.calls[-1] == 0 and set(c.calls[:-1]) == {60}
    assert dms.arms >= 4


def test_sync_failure_is_retried_and_reported() -> None:
    c = SyncClient(fail_at={1})
    errors: list[BaseException] = []
    dms = DeadMansSwitch(c, timeout=60, interval=0.01, retry_interval=0.01, on_error=errors.append)
    dms.start_sync()
    assert c.wait_calls(3)
    dms.stop_sync(disarm=False)
    assert dms.failures == 1 and isinstance(errors[0], ServiceUnavailableError)
    assert 0 not in c.calls  # not disarmed: stop(disarm=False) leaves the countdown running


async def test_async_ws_api_client() -> None:
    ws = AsyncWsApi()
    async with DeadMansSwitch(ws, timeout=30, interval=0.01) as dms:
        while len(ws.calls) < 3:
            ws.changed.clear()
            await asyncio.wait_for(ws.changed.wait(), 5)
        assert dms.running
    assert ws.calls[0] == 30 and ws.calls[-1] == 0


async def test_async_with_sync_client_runs_in_thread() -> None:
    c = SyncClient()
    dms = DeadMansSwitch(c, timeout=10, interval=5)
    await dms.start()
    await dms.stop()
    assert c.calls == [10, 0]
