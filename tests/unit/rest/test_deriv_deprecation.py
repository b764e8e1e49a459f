"""The Derivatives deprecation warning: once per process, filterable, pointing at the user's line."""

from __future__ import annotations

import warnings

import pytest

from krakenkit.rest import derivatives
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient, KrakenDeprecationWarning


@pytest.fixture(autouse=True)
def _fresh_process_state() -> None:
    derivatives._reset_deprecation_warning()


def test_warns_once_per_process_across_sync_and_async() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DerivativesClient()
        DerivativesClient(testnet=True)
        AsyncDerivativesClient()
    mine = [w for w in caught if issubclass(w.category, KrakenDeprecationWarning)]
    assert len(mine) == 1
    text = str(mine[0].message)
    assert "2027-03-01" in text and "docs/migration-unified-ws.md" in text and "Unified WebSocket" in text


def test_warning_points_at_the_user_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DerivativesClient()
    assert caught[0].filename == __file__


def test_warning_from_from_env_points_at_the_user_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_FUTURES_KEY", "k")
    monkeypatch.setenv("API_FUTURES_SECRET", "AAAA")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DerivativesClient.from_env()
    assert caught[0].filename == __file__


def test_category_is_a_filterable_deprecation_warning() -> None:
    assert issubclass(KrakenDeprecationWarning, DeprecationWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=KrakenDeprecationWarning)
        DerivativesClient()
    assert caught == []


def test_migration_doc_exists() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[3] / "docs" / "migration-unified-ws.md"
    text = doc.read_text()
    assert "2027-03-01" in text and "uws.kraken.com" in text
