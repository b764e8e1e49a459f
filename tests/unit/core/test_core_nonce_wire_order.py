"""The per-key wire turn (FIFO across threads and asyncio tasks) and the host-wide nonce file."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from krakenkit._core import nonce as N
from krakenkit._core import transport as T


def wait_for(predicate: object, timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.001)
    return False


# --- the turnstile ------------------------------------------------------------------------------


def test_turnstile_serves_blocking_waiters_in_arrival_order() -> None:
    gate = T.Turnstile()
    assert gate.acquire(0)
    order: list[int] = []

    def waiter(i: int) -> None:
        assert gate.acquire(5)
        order.append(i)
        gate.release()

    threads = []
    for i in range(8):
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        threads.append(t)
        assert wait_for(lambda i=i: gate.waiting == i + 1)  # queued in this order
    gate.release()
    for t in threads:
        t.join(5)
    assert order == list(range(8))
    assert gate.acquire(0)  # free again


def test_turnstile_timeout_leaves_the_queue_and_the_turn_moves_on() -> None:
    gate = T.Turnstile()
    assert gate.acquire(0)
    start = time.monotonic()
    assert gate.acquire(0.05) is False
    assert 0.04 <= time.monotonic() - start < 1
    assert gate.waiting == 0
    got = threading.Event()
    t = threading.Thread(target=lambda: gate.acquire(5) and got.set())
    t.start()
    assert wait_for(lambda: gate.waiting == 1)
    gate.release()
    assert got.wait(2)
    t.join(2)


async def test_turnstile_async_waiters_do_not_block_the_loop_and_keep_fifo_with_threads() -> None:
    gate = T.Turnstile()
    assert gate.acquire(0)  # held by "another thread"
    order: list[str] = []
    ticks = 0

    async def task(name: str) -> None:
        assert await gate.acquire_async(5)
        order.append(name)
        gate.release()

    async def ticker() -> None:
        nonlocal ticks
        while len(order) < 3:
            ticks += 1
            await asyncio.sleep(0.001)

    tick = asyncio.create_task(ticker())
    a = asyncio.create_task(task("a"))
    await asyncio.sleep(0.01)
    thread = threading.Thread(target=lambda: (gate.acquire(5), order.append("thread"), gate.release()))
    thread.start()
    assert await asyncio.to_thread(wait_for, lambda: gate.waiting == 2)
    b = asyncio.create_task(task("b"))
    await asyncio.sleep(0.02)
    assert ticks > 5  # the loop kept running while the tasks waited for the turn
    await asyncio.to_thread(gate.release)  # released from another thread: woken with call_soon_threadsafe
    await asyncio.wait_for(asyncio.gather(a, b, tick), 5)
    thread.join(2)
    assert order == ["a", "thread", "b"]


async def test_turnstile_cancelled_waiter_leaves_no_trace_and_passes_a_granted_turn_on() -> None:
    gate = T.Turnstile()
    assert gate.acquire(0)
    waiting = asyncio.create_task(gate.acquire_async(5))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gate.waiting == 0
    # granted and cancelled at once: the turn must not be lost
    second = asyncio.create_task(gate.acquire_async(5))
    await asyncio.sleep(0.01)
    gate.release()  # grants "second" (wake scheduled)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await gate.acquire_async(0.5)  # the turn came back


def test_wire_order_is_one_per_key_and_names_no_key() -> None:
    a, b = T.wire_order_for("key-one"), T.wire_order_for("key-one")
    assert a is b and a is not T.wire_order_for("key-two")
    assert "key-one" not in a.ident and len(a.ident) == 64


def test_ticket_release_is_idempotent() -> None:
    order = T.WireOrder("x")
    ticket = order.acquire(None)
    assert ticket is not None
    ticket.release()
    ticket.release()  # second release must not free someone else's turn
    first = order.acquire(None)
    assert first is not None
    assert order.acquire(time.monotonic() + 0.02) is None  # still held by "first"
    first.release()


def test_turn_tracker_releases_at_body_written_or_on_a_fresh_connection_at_the_answer() -> None:
    released: list[str] = []
    scheduled: list[float] = []
    warm = T.TurnTracker(lambda: released.append("warm"), lambda s, fn: scheduled.append(s))
    warm.event("http11.send_request_headers.started")
    assert warm.sending and released == []
    warm.event("http11.send_request_body.complete")
    assert released == ["warm"]
    fresh = T.TurnTracker(lambda: released.append("fresh"), lambda s, fn: scheduled.append(s))
    fresh.event("connection.connect_tcp.complete")
    fresh.event("http11.send_request_body.complete")
    assert released == ["warm"] and scheduled == [T.FRESH_CONNECTION_HOLD]
    fresh.event("http11.receive_response_headers.complete")
    assert released == ["warm", "fresh"]


# --- the nonce file -------------------------------------------------------------------------------


def test_nonce_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KRAKENKIT_NONCE_DIR", str(tmp_path / "n"))
    assert N.nonce_dir() == tmp_path / "n"
    monkeypatch.delenv("KRAKENKIT_NONCE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert N.nonce_dir() == tmp_path / "cache" / "krakenkit" / "nonce"


def test_nonce_file_takes_above_the_last_value_and_writes_it_back(tmp_path: Path) -> None:
    path = tmp_path / "k.lock"
    path.write_text(str(10**30))  # another process went far ahead
    f = N.NonceFile(path)
    assert f.lock(None)
    source = N.NonceSource()
    first = f.take(source)
    f.unlock()
    assert first == 10**30 + 1 and int(path.read_text()) == first
    assert source() > first  # the in-process source moved past it too
    assert f.lock(None)
    assert f.take(lambda: 5) == first + 1  # a custom provider below the file's value is lifted
    f.unlock()
    fresh = N.NonceFile(tmp_path / "new" / "k.lock")
    assert fresh.lock(None)
    fresh.unlock()
    assert os.stat(fresh.path).st_mode & 0o777 == 0o600
    assert os.stat(fresh.path.parent).st_mode & 0o777 == 0o700


def test_nonce_file_name_is_the_key_hash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KRAKENKIT_NONCE_DIR", str(tmp_path))
    f = N.nonce_file_for("my-secret-looking-key")
    assert f is not None and f.path.parent == tmp_path
    assert "my-secret" not in f.path.name and f.path.name.endswith(".lock")


def _hold_lock(path: str, locked: object, release: object) -> None:
    f = N.NonceFile(Path(path))
    assert f.lock(None)
    locked.set()  # type: ignore[attr-defined]
    release.wait(5)  # type: ignore[attr-defined]
    f.unlock()


def test_nonce_file_lock_excludes_another_process_and_times_out(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    locked, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path / "k.lock"), locked, release))
    proc.start()
    try:
        assert locked.wait(10)
        mine = N.NonceFile(tmp_path / "k.lock")
        start = time.monotonic()
        assert mine.lock(time.monotonic() + 0.1) is False and mine.usable
        assert 0.05 <= time.monotonic() - start < 1
        release.set()
        assert mine.lock(time.monotonic() + 5)
        mine.unlock()
    finally:
        release.set()
        proc.join(10)


async def test_nonce_file_async_lock_polls_without_blocking_the_loop(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    locked, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path / "k.lock"), locked, release))
    proc.start()
    try:
        assert await asyncio.to_thread(locked.wait, 10)
        mine = N.NonceFile(tmp_path / "k.lock")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            for _ in range(20):
                ticks += 1
                await asyncio.sleep(0.002)

        tick = asyncio.create_task(ticker())
        assert await mine.lock_async(time.monotonic() + 0.06) is False
        await tick
        assert ticks >= 10
        release.set()
        assert await mine.lock_async(time.monotonic() + 5)
        mine.unlock()
    finally:
        release.set()
        proc.join(10)


def test_unusable_directory_falls_back_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    f = N.NonceFile(blocker / "sub" / "k.lock")
    with caplog.at_level(logging.WARNING, logger="krakenkit.nonce"):
        assert f.lock(None) is False
        assert f.lock(None) is False
    assert not f.usable
    warnings = [r for r in caplog.records if "not shared with other processes" in r.getMessage()]
    assert len(warnings) == 1
    order = T.WireOrder("fallback")
    ticket = order.acquire(None, f)  # the turn still works, without the file
    assert ticket is not None
    assert ticket.take_nonce(lambda: 42) == 42
    ticket.release()
