"""Nonces that never repeat or go backwards, per API key, across threads and asyncio tasks.

Kraken wants an always increasing unsigned 64-bit integer per key. :class:`NonceSource` hands out
``max(last + 1, now_in_ns)`` under a lock, so concurrent callers in one process get distinct,
strictly increasing values even within one nanosecond tick. Sources are shared per key through
:func:`nonce_source_for`, so two clients built with the same key cannot collide either.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["NonceProvider", "NonceSource", "nonce_source_for"]


class NonceProvider(Protocol):
    def __call__(self) -> int: ...


class NonceSource:
    """Strictly increasing integers; thread-safe and asyncio-safe (never awaits while locked)."""

    __slots__ = ("_clock", "_last", "_lock")

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            now = self._clock()
            nxt = now if now > self._last else self._last + 1
            self._last = nxt
            return nxt

    def bump(self, at_least: int) -> None:
        """Make the next nonce larger than ``at_least`` (after Kraken said ours was too small)."""
        with self._lock:
            if at_least > self._last:
                self._last = at_least


_registry: dict[str, NonceSource] = {}
_registry_lock = threading.Lock()


def nonce_source_for(api_key: str) -> NonceSource:
    """The process-wide nonce source of one API key (keyed by a hash, not the key itself)."""
    ident = hashlib.sha256(api_key.encode()).hexdigest()
    with _registry_lock:
        src = _registry.get(ident)
        if src is None:
            src = _registry[ident] = NonceSource()
        return src
