"""Small shared helpers of the toolkit: response shapes, timestamps, decimals, sync/async calls."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

T = TypeVar("T")


def as_mapping(obj: Any) -> Mapping[str, Any]:
    """A response as a plain mapping: dicts as they are; typed results through their raw JSON
    (``.raw``), ``msgspec.Struct`` / dataclasses converted. Anything else gives ``{}``."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return obj
    raw = getattr(obj, "raw", None)
    if isinstance(raw, Mapping):
        return raw
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    try:
        import msgspec

        if isinstance(obj, msgspec.Struct):
            built = msgspec.to_builtins(obj)
            if isinstance(built, Mapping):
                return built
    except ImportError:  # pragma: no cover
        pass
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        val = to_dict()
        if isinstance(val, Mapping):
            return val
    return {}


def unwrap_result(obj: Any) -> Mapping[str, Any]:
    """Spot envelopes carry the payload in ``result``; clients usually strip it already."""
    m = as_mapping(obj)
    inner = m.get("result")
    if isinstance(inner, Mapping) and "error" in m:
        return inner
    return m


def dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return default
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


def dec0(value: Any) -> Decimal:
    d = dec(value)
    return d if d is not None else Decimal(0)


def to_epoch(value: Any) -> float | None:
    """Seconds since the epoch from Kraken's many forms: float seconds, int milliseconds, RFC 3339 text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        v = float(value)
        return v / 1000.0 if v > 1e11 else v
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_epoch(Decimal(text))
        except InvalidOperation:
            pass
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


async def call_any(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call a sync or async client method from asyncio: coroutine functions are awaited, plain
    functions run in a worker thread (a sync httpx client must not block the event loop)."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):  # noqa: B004
        return await fn(*args, **kwargs)
    result = await asyncio.to_thread(fn, *args, **kwargs)
    return await maybe_await(result)


def call_sync(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()
        raise TypeError(
            f"{getattr(fn, '__qualname__', fn)!r} is async: use the async toolkit class with an async client"
        )
    return result
