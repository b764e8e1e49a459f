"""Nonces that never repeat or go backwards, per API key: across threads, asyncio tasks and processes.

Kraken wants an always increasing unsigned 64-bit integer per key. :class:`NonceSource` hands out
``max(last + 1, now_in_ns)`` under a lock, so concurrent callers in one process get distinct, strictly
increasing values even within one nanosecond tick. Sources are shared per key through
:func:`nonce_source_for`, so two clients built with the same key cannot collide either.

Increasing values are not enough: they must also *reach Kraken* in increasing order. The REST clients take
the nonce inside the key's wire turn (:mod:`krakenkit._core.transport`) and, with :class:`NonceFile`, inside
a lock shared by every process of the host that uses the key:

* one file per key, named by the SHA-256 of the key (never the key), holding the last nonce taken;
* directory: ``$KRAKENKIT_NONCE_DIR``, else ``$XDG_CACHE_HOME/krakenkit/nonce``, else
  ``~/.cache/krakenkit/nonce`` (created ``0700``; files ``0600``);
* ``fcntl.flock`` is held from taking the nonce until the request body is written; the nonce taken is
  ``max(last_in_file + 1, the process's own next nonce)``;
* where the file cannot be used (no ``fcntl``, a read-only home), krakenkit logs one warning and keeps the
  in-process order only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "NONCE_DIR_ENV",
    "NonceFile",
    "NonceProvider",
    "NonceSource",
    "nonce_dir",
    "nonce_file_for",
    "nonce_source_for",
]

log = logging.getLogger("krakenkit.nonce")

NONCE_DIR_ENV = "KRAKENKIT_NONCE_DIR"


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


def _ident(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def nonce_source_for(api_key: str) -> NonceSource:
    """The process-wide nonce source of one API key (keyed by a hash, not the key itself)."""
    ident = _ident(api_key)
    with _registry_lock:
        src = _registry.get(ident)
        if src is None:
            src = _registry[ident] = NonceSource()
        return src


# ----------------------------------------------------------------------------------------------
# One nonce sequence per key for every process of the host
# ----------------------------------------------------------------------------------------------


def nonce_dir() -> Path:
    """Where the per-key nonce files live (see the module docstring)."""
    override = os.environ.get(NONCE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "krakenkit" / "nonce"


_POLL_FIRST = 0.00005
_POLL_MAX = 0.001


class NonceFile:
    """A lock file shared by the processes of a host that use one key; holds the last nonce taken.

    Use inside the key's in-process turn (one holder per process at a time): :meth:`lock`, :meth:`take`,
    :meth:`unlock`. Fork-safe: a child process opens its own descriptor (an inherited one would share the
    parent's lock).
    """

    __slots__ = ("_fd", "_pid", "_warned", "path", "usable")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._warned = False
        self.usable = fcntl is not None

    def _open(self) -> int | None:
        pid = os.getpid()
        if self._fd is not None and self._pid == pid:
            return self._fd
        self._fd = None  # a descriptor inherited over fork shares the parent's lock: never use it
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            self._disable(f"cannot open {self.path.name} in {self.path.parent}: {exc.strerror or exc}")
            return None
        self._fd, self._pid = fd, pid
        return fd

    def _disable(self, why: str) -> None:
        self.usable = False
        if not self._warned:
            self._warned = True
            log.warning(
                "nonces of this key are not shared with other processes (%s); set %s to a writable directory "
                "or pass shared_nonce=False to silence this",
                why,
                NONCE_DIR_ENV,
            )

    def _try_lock(self) -> bool | None:
        """True: locked; False: held by another process; None: the file cannot be used."""
        if not self.usable or fcntl is None:
            return None
        fd = self._open()
        if fd is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._disable(f"flock failed: {exc.strerror or exc}")
            return None
        return True

    def _poll(self, deadline: float | None, delay: float) -> bool | None:
        """One attempt: True locked, False give up (deadline, or the file is unusable), None wait ``delay``."""
        got = self._try_lock()
        if got is None:
            return False
        if got:
            return True
        if deadline is not None and time.monotonic() + delay > deadline:
            return False
        return None

    def lock(self, deadline: float | None) -> bool:
        """Lock for this process (polling with 0.05 to 1 ms sleeps until ``deadline``, monotonic).
        False when the deadline passed or the file is unusable (see :attr:`usable`)."""
        delay = _POLL_FIRST
        while (got := self._poll(deadline, delay)) is None:
            time.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
        return got

    async def lock_async(self, deadline: float | None) -> bool:
        """Async twin of :meth:`lock`: never blocks the event loop (non-blocking attempts, short sleeps)."""
        delay = _POLL_FIRST
        while (got := self._poll(deadline, delay)) is None:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
        return got

    def take(self, provider: NonceProvider) -> int:
        """Under the lock: the next nonce, above the file's last one; written back. On an I/O error the
        provider's own value is used (and sharing is switched off with a warning)."""
        fd = self._fd
        if fd is None:
            return provider()
        try:
            raw = os.pread(fd, 32, 0)
        except OSError as exc:
            self._disable(f"read failed: {exc.strerror or exc}")
            return provider()
        try:
            last = int(raw.strip() or b"0")
        except ValueError:
            last = 0
        if isinstance(provider, NonceSource):
            provider.bump(last)
            nonce = provider()
        else:
            nonce = max(provider(), last + 1)
        text = str(nonce).encode()
        try:
            os.pwrite(fd, text, 0)
            if len(raw) > len(text):
                os.ftruncate(fd, len(text))
        except OSError as exc:
            self._disable(f"write failed: {exc.strerror or exc}")
        return nonce

    def unlock(self) -> None:
        fd = self._fd
        if fd is None or fcntl is None or self._pid != os.getpid():
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:  # pragma: no cover - only with a broken descriptor
            self._disable(f"unlock failed: {exc.strerror or exc}")


_files: dict[tuple[str, str], NonceFile] = {}
_files_lock = threading.Lock()


def nonce_file_for(api_key: str) -> NonceFile | None:
    """The nonce file of ``api_key`` in the current :func:`nonce_dir` (None where flock is unavailable)."""
    if fcntl is None:  # pragma: no cover
        return None
    ident = _ident(api_key)
    directory = nonce_dir()
    key = (ident, str(directory))
    with _files_lock:
        found = _files.get(key)
        if found is None:
            found = _files[key] = NonceFile(directory / f"{ident}.lock")
        return found
