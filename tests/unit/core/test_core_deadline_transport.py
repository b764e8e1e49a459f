"""Kraken's clock estimate and the call deadline on the socket layer (pure parts, no network)."""

from __future__ import annotations

import time
from typing import Any

import httpcore
import httpx
import pytest

from krakenkit._core import transport as T
from krakenkit._core.deadline import (
    MAX_DEADLINE,
    ServerClock,
    check_deadline_seconds,
    format_deadline,
    order_deadline,
    parse_deadline,
)
from krakenkit._core.errors import ValidationError


class Clock:
    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_date_headers_narrow_the_offset_and_deadlines_are_written_in_kraken_time() -> None:
    local = Clock()
    clock = ServerClock(clock=local)
    assert not clock.measured and clock.uncertainty == ServerClock.unknown_uncertainty
    # Kraken is 3.4 s ahead; Date has whole seconds; two answers straddling a second boundary
    clock.observe(float(int(local.now + 3.4)), local.now - 0.01, local.now + 0.01, resolution=1.0)
    local.now += 0.7
    clock.observe(float(int(local.now + 3.4)), local.now - 0.01, local.now + 0.01, resolution=1.0)
    assert clock.measured and clock.uncertainty < 0.4
    assert abs(clock.offset - 3.4) <= clock.uncertainty
    text, ts = clock.deadline_after(10)
    assert parse_deadline(text) == pytest.approx(ts, abs=0.001)
    assert ts == pytest.approx(local.now + 3.4 + 10, abs=0.5)


def test_implausible_observations_are_ignored() -> None:
    local = Clock()
    clock = ServerClock(clock=local)
    clock.observe(1.0, local.now, local.now)  # a test double's "unixtime": 1
    clock.observe_date_header("Thu, 01 Jan 1970 00:00:01 GMT", local.now, local.now)
    assert not clock.measured and clock.offset == 0.0


def test_seconds_until_passed_includes_the_uncertainty() -> None:
    local = Clock()
    clock = ServerClock(clock=local)
    assert clock.seconds_until_passed(local.now + 5) == pytest.approx(5 + ServerClock.unknown_uncertainty)
    assert clock.seconds_until_passed(local.now - 10) == 0.0


def test_caller_deadlines_are_checked_against_krakens_range() -> None:
    local = Clock()
    clock = ServerClock(clock=local)
    given = format_deadline(local.now + 30)
    text, ts = order_deadline(clock, given, 10)
    assert text == given and ts == pytest.approx(local.now + 30, abs=0.001)
    for bad in (local.now + 1, local.now + MAX_DEADLINE + 5):
        with pytest.raises(ValidationError) as info:
            order_deadline(clock, format_deadline(bad), 10)
        assert info.value.field == "deadline"
    with pytest.raises(ValidationError):
        parse_deadline("2026-12-04 18:00:00")  # no zone, no T
    with pytest.raises(ValidationError):
        check_deadline_seconds(1)
    assert check_deadline_seconds(2.25) == 2.25


# --- the socket-level deadline --------------------------------------------------------------------


class RecordingStream(httpcore.NetworkStream):
    def __init__(self) -> None:
        self.timeouts: list[tuple[str, float | None]] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(("read", timeout))
        return b"x"

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.timeouts.append(("write", timeout))

    def close(self) -> None:
        pass

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        self.timeouts.append(("tls", timeout))
        return self


class RecordingBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.stream = RecordingStream()
        self.connects: list[float | None] = []

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, *a: Any, **kw: Any) -> Any:
        self.connects.append(timeout)
        return self.stream


def test_deadline_backend_clamps_every_operation_to_the_time_left() -> None:
    inner = RecordingBackend()
    backend = T.DeadlineBackend(inner)
    stream = backend.connect_tcp("127.0.0.1", 1, timeout=30)  # no deadline: passed through
    assert inner.connects == [30]
    with T.call_deadline(time.monotonic() + 0.5):
        backend.connect_tcp("127.0.0.1", 1, timeout=30)
        stream.read(10, timeout=10)
        stream.write(b"x", timeout=None)
        stream.start_tls(None, timeout=5).read(1, timeout=0.1)  # a smaller bound stays
    assert 0.3 < inner.connects[1] <= 0.5  # type: ignore[operator]
    kinds = [k for k, _ in inner.stream.timeouts]
    values = [v for _, v in inner.stream.timeouts]
    assert kinds == ["read", "write", "tls", "read"]
    assert all(v is not None and 0.3 < v <= 0.5 for v in values[:3]) and values[3] == 0.1
    with T.call_deadline(time.monotonic() - 0.01), pytest.raises(httpcore.ReadTimeout):
        stream.read(1, timeout=10)
    with T.call_deadline(time.monotonic() - 0.01), pytest.raises(httpcore.ConnectTimeout):
        backend.connect_tcp("127.0.0.1", 1)
    assert T.time_left() is None  # the context variable is reset after the block


def test_install_wraps_the_transport_and_proxy_mounts_once() -> None:
    client = httpx.Client(mounts={"http://example.invalid": httpx.HTTPTransport(proxy="http://127.0.0.1:9")})
    try:
        assert T.install_deadline_backend(client) == 2
        assert T.install_deadline_backend(client) == 0  # already wrapped
        pools = [client._transport._pool, *(m._pool for m in client._mounts.values() if m is not None)]  # type: ignore[attr-defined]
        assert all(isinstance(p._network_backend, T.DeadlineBackend) for p in pools)
    finally:
        client.close()
    mocked = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert T.install_deadline_backend(mocked) == 0  # not httpx's own transport: left alone
    mocked.close()


def test_clamp_timeouts_bounds_each_operation() -> None:
    clamped = T.clamp_timeouts({"connect": 5.0, "read": 0.2, "write": None, "pool": 5.0}, 1.0)
    assert clamped == {"connect": 1.0, "read": 0.2, "write": 1.0, "pool": 1.0}
    assert T.clamp_timeouts({"read": 3.0}, None)["read"] == 3.0
