"""Fixtures of the chaos tests: a fresh sandbox per test (Kraken's rate limits off, so that only the injected
faults fail requests; prices move only on trades), quiet client logs, and the figures of every run printed
at the end of the session (they are the measured figures of docs/reliability.md and issue 12)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from krakenkit.sandbox import Sandbox

FIGURES: list[str] = []


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=12, rate_limits=False, market=False) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _quiet_clients(caplog: pytest.LogCaptureFixture) -> None:
    """Thousands of expected warnings (outcome unknown, looking the order up ...): keep only errors, which
    also keeps the run fast."""
    caplog.set_level(logging.ERROR, logger="krakenkit")
    caplog.set_level(logging.ERROR, logger="krakenkit_sandbox")


@pytest.fixture
def figures() -> list[str]:
    """Append a run's summary here: printed in the terminal summary, whatever the capture mode."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("chaos figures")
        for text in FIGURES:
            terminalreporter.write_line(text)
