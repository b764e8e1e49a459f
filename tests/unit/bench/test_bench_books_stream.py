"""bench/books.py's stream is Kraken-shaped and its checksums are right: the benchmark measures
verified books, not a path that gives up early. Small sizes only; speed is never asserted here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from krakenkit.books import SpotBook

BENCH = Path(__file__).resolve().parents[3] / "bench" / "books.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_books", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("depth", [10, 40])
def test_every_frame_verifies_in_krakenkit_and_in_the_plain_reference(bench: ModuleType, depth: int) -> None:
    frames = bench.make_stream(depth, 400, seed=3)
    assert len(frames) == 401
    step, book = bench.run_krakenkit(frames[0], depth)
    ref_step, _ = bench.run_reference(frames[0], depth)
    for frame in frames[1:]:
        step(frame)  # raises ChecksumMismatchError on a wrong frame
        ref_step(frame)  # raises RuntimeError on a wrong frame
    assert isinstance(book, SpotBook) and book.is_valid
    last = json.loads(frames[-1])["data"][0]
    assert book.checksum() == last["checksum"]
    assert len(book.bids()) == depth and len(book.asks()) == depth


def test_frames_change_deep_levels_and_the_top(bench: ModuleType) -> None:
    # the stream must exercise both paths of the book: changes inside and below the top 10
    depth = 60
    frames = bench.make_stream(depth, 300, seed=5)
    book = SpotBook(bench.SYMBOL, depth, bench.PRICE_PRECISION, bench.QTY_PRECISION)
    book.apply(frames[0])
    top_changes = deep_changes = 0
    for frame in frames[1:]:
        before = book.checksum()
        book.apply(frame)
        if book.checksum() == before:
            deep_changes += 1
        else:
            top_changes += 1
    assert top_changes > 50 and deep_changes > 50


def test_measure_reports_time_per_update(bench: ModuleType) -> None:
    frames = bench.make_stream(10, 50, seed=1)
    assert bench.measure(bench.run_krakenkit, frames, 10, 1) > 0
