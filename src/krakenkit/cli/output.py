"""The CLI's output layer: human text on stdout, or one JSON document with ``--json``; progress on
stderr only when stderr is a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

__all__ = ["Check", "Output", "Progress", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Plain JSON data: ``Decimal`` as strings (exact), mappings and sequences recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raw = getattr(value, "raw", None)
    if raw is not None:
        return to_jsonable(dict(raw) if hasattr(raw, "items") else raw)
    return str(value)


@dataclass
class Check:
    """One thing a command checked: what, whether it held, details, how long it took."""

    name: str
    status: str  # PASS | FAIL | WARN | SKIP
    detail: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "FAIL"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
        }
        if self.data:
            out["data"] = to_jsonable(self.data)
        return out


class Progress:
    """A spinner on stderr while something slow runs; silent unless stderr is a TTY (and not --json)."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else enabled

    @contextlib.asynccontextmanager
    async def running(self, label: str) -> AsyncIterator[None]:
        if not self.enabled:
            yield
            return
        stop = asyncio.Event()

        async def spin() -> None:
            start = time.monotonic()
            for ch in itertools.cycle("|/-\\"):
                self.stream.write(f"\r{ch} {label} {time.monotonic() - start:4.1f}s ")
                self.stream.flush()
                try:
                    await asyncio.wait_for(stop.wait(), 0.1)
                    return
                except TimeoutError:
                    continue

        task = asyncio.create_task(spin())
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await task
            self.stream.write("\r" + " " * (len(label) + 12) + "\r")
            self.stream.flush()

    @contextlib.contextmanager
    def note(self, label: str) -> Iterator[None]:
        """For sync code: print ``label ...`` then clear it."""
        if self.enabled:
            self.stream.write(f"{label} ...")
            self.stream.flush()
        try:
            yield
        finally:
            if self.enabled:
                self.stream.write("\r" + " " * (len(label) + 4) + "\r")
                self.stream.flush()


class Output:
    """Where a command writes. In JSON mode nothing but the final document reaches stdout."""

    def __init__(self, json_mode: bool = False, stream: TextIO | None = None, err: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.progress = Progress(self.err, enabled=None if not json_mode else False)
        if json_mode:
            self.progress.enabled = False

    def line(self, text: str = "") -> None:
        if not self.json_mode:
            self.stream.write(text + "\n")
            self.stream.flush()

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def check(self, check: Check, indent: str = "  ") -> None:
        mark = {"PASS": "ok", "FAIL": "FAIL", "WARN": "warn", "SKIP": "skip"}.get(check.status, check.status)
        detail = f": {check.detail}" if check.detail else ""
        self.line(f"{indent}[{mark:>4}] {check.name}{detail} ({_ms(check.seconds)})")

    def document(self, doc: dict[str, Any]) -> None:
        if self.json_mode:
            self.stream.write(json.dumps(to_jsonable(doc), indent=2, sort_keys=False) + "\n")
            self.stream.flush()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
