"""Shared by the examples: run against the built-in sandbox unless KRAKENKIT_LIVE=1.

Live mode reads the keys from the environment (API_SPOT_KEY / API_SPOT_SECRET,
API_FUTURES_KEY / API_FUTURES_SECRET), exactly as production code should.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from krakenkit import LIVE, Credentials, Environment


@dataclass
class Target:
    environment: Environment
    spot_key: str | None
    spot_secret: str | None
    futures_key: str | None
    futures_secret: str | None
    sandbox: Any = None  # krakenkit.sandbox.Sandbox, or None when live

    @property
    def live(self) -> bool:
        return self.sandbox is None


def is_live() -> bool:
    return os.environ.get("KRAKENKIT_LIVE") == "1"


@contextlib.contextmanager
def target() -> Iterator[Target]:
    if is_live():
        spot = Credentials.maybe_from_env("spot")
        fut = Credentials.maybe_from_env("futures")
        yield Target(
            LIVE,
            spot.api_key if spot else None,
            spot.secret_value() if spot else None,
            fut.api_key if fut else None,
            fut.secret_value() if fut else None,
        )
        return
    from krakenkit.sandbox import Sandbox

    with Sandbox(seed=7) as sb:
        key, secret = sb.create_key()
        fkey, fsecret = sb.create_futures_key()
        print(f"(running against the sandbox at {sb.rest_url}; KRAKENKIT_LIVE=1 for Kraken)")
        yield Target(sb.environment, key, secret, fkey, fsecret, sb)
