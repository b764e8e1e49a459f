"""REST integration tests: no test inherits another's clock estimate; nonce files go to a private directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from krakenkit._core import deadline


@pytest.fixture(autouse=True, scope="session")
def _private_nonce_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("nonce")
    old = os.environ.get("KRAKENKIT_NONCE_DIR")
    os.environ["KRAKENKIT_NONCE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KRAKENKIT_NONCE_DIR", None)
    else:
        os.environ["KRAKENKIT_NONCE_DIR"] = old


@pytest.fixture(autouse=True)
def _fresh_server_clocks() -> Iterator[None]:
    deadline._clocks.clear()
    yield
    deadline._clocks.clear()
