"""DeadMansSwitch: keep ``cancel_all_orders_after`` armed while the bot is alive.

Kraken cancels all open orders of the account when the countdown set by ``CancelAllOrdersAfter``
(Spot REST), ``cancelallordersafter`` (Derivatives REST) or ``cancel_all_orders_after`` (Spot WS API) runs
out. The switch arms it with ``timeout`` (e.g. 60 s) and re-arms it every ``interval`` (e.g. 15 s): if the
process hangs or dies, the orders go within ``timeout``. A clean shutdown disarms it (timeout 0) so resting
orders stay.

::

    async with DeadMansSwitch(client, timeout=60, interval=15):     # AsyncSpotClient, WS API client, ...
        await run_bot()

    with DeadMansSwitch(sync_client, timeout=60, interval=15):       # SpotClient / DerivativesClient (thread)
        run_bot()

A failed re-arm is logged and retried after ``retry_interval``; ``on_error(exc)`` is told. If no re-arm
succeeds before the countdown ends, Kraken cancels the orders: the switch fails safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .._core.errors import ValidationError
from ._util import call_any, call_sync

__all__ = ["DeadMansSwitch"]

log = logging.getLogger("krakenkit.toolkit.deadman")

_METHOD_NAMES = ("cancel_all_orders_after", "cancel_all_spot_orders_after")


class DeadMansSwitch:
    def __init__(
        self,
        client: Any,
        *,
        timeout: int = 60,
        interval: float = 15.0,
        retry_interval: float = 1.0,
        on_error: Callable[[BaseException], Any] | None = None,
        method: str | None = None,
    ) -> None:
        if not 0 < timeout < 86400:
            raise ValidationError("timeout must be between 1 and 86399 seconds", field="timeout")
        if not 0 < interval < timeout:
            raise ValidationError(
                "interval must be positive and shorter than timeout (e.g. timeout/4)", field="interval"
            )
        self.client = client
        self.timeout = int(timeout)
        self.interval = interval
        self.retry_interval = min(retry_interval, interval)
        self.on_error = on_error
        name = method or next((n for n in _METHOD_NAMES if callable(getattr(client, n, None))), None)
        if name is None:
            raise ValidationError(f"{type(client).__name__} has no cancel_all_orders_after method", field="client")
        self._fn: Callable[..., Any] = getattr(client, name)
        # WebsocketAPIClient.cancel_all_spot_orders_after(timeout_seconds, *, timeout=<request timeout>)
        self._positional = name == "cancel_all_spot_orders_after"
        self.arms = 0
        self.failures = 0
        self.armed_until: float | None = None  # time.monotonic() when Kraken would fire
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return (self._task is not None and not self._task.done()) or (
            self._thread is not None and self._thread.is_alive()
        )

    def _armed(self, t0: float) -> None:
        self.arms += 1
        self.armed_until = t0 + self.timeout

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        left = None if self.armed_until is None else self.armed_until - time.monotonic()
        log.warning(
            "dead man's switch: re-arm failed (%r); %s",
            exc,
            f"{left:.1f}s left before Kraken cancels all orders" if left is not None else "not armed",
        )
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:
                log.exception("dead man's switch on_error failed")

    def _args(self, seconds: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((seconds,), {}) if self._positional else ((), {"timeout": seconds})

    # --- asyncio ------------------------------------------------------------------------------------------
    async def arm(self) -> None:
        """Arm once now (raises on failure)."""
        t0 = time.monotonic()
        args, kwargs = self._args(self.timeout)
        await call_any(self._fn, *args, **kwargs)
        self._armed(t0)

    async def disarm(self) -> None:
        args, kwargs = self._args(0)
        await call_any(self._fn, *args, **kwargs)
        self.armed_until = None

    async def start(self) -> None:
        """Arm (raises if the first arm fails) and keep re-arming in a task."""
        await self.arm()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="krakenkit-deadmans-switch")

    async def _loop(self) -> None:
        delay = self.interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self.arm()
                delay = self.interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                delay = self.retry_interval

    async def stop(self, *, disarm: bool = True) -> None:
        """Stop re-arming; with ``disarm`` (clean shutdown) turn the countdown off (timeout 0)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if disarm:
            await self.disarm()

    async def __aenter__(self) -> DeadMansSwitch:
        await self.start()
        return self

    async def __aexit__(self, exc_type: object, *rest: object) -> None:
        # also disarm when the bot body raised: the process is alive and exiting in an orderly way.
        await self.stop(disarm=True)

    # --- threads (blocking clients) -----------------------------------------------------------------------
    def arm_sync(self) -> None:
        t0 = time.monotonic()
        args, kwargs = self._args(self.timeout)
        call_sync(self._fn, *args, **kwargs)
        self._armed(t0)

    def disarm_sync(self) -> None:
        args, kwargs = self._args(0)
        call_sync(self._fn, *args, **kwargs)
        self.armed_until = None

    def start_sync(self) -> None:
        self.arm_sync()
        self._stop.clear()
        self._thread = threading.Thread(target=self._thread_loop, name="krakenkit-deadmans-switch", daemon=True)
        self._thread.start()

    def _thread_loop(self) -> None:
        delay = self.interval
        while not self._stop.wait(delay):
            try:
                self.arm_sync()
                delay = self.interval
            except Exception as exc:
                self._failed(exc)
                delay = self.retry_interval

    def stop_sync(self, *, disarm: bool = True) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        if disarm:
            self.disarm_sync()

    def __enter__(self) -> DeadMansSwitch:
        self.start_sync()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_sync(disarm=True)
