"""``krakenkit doctor`` tells whether the Spot key has a nonce window (two reads signed out of order)."""

from __future__ import annotations

from krakenkit._core.secrets import Secret
from krakenkit.cli.doctor import HAS_WINDOW, NO_WINDOW, probe_nonce_window
from krakenkit.sandbox import Sandbox


async def test_doctor_probe_finds_a_strict_key_and_a_key_with_a_window() -> None:
    async with Sandbox(seed=6, market=False) as sb:
        strict_key, strict_secret = sb.create_key()
        window_key, window_secret = sb.create_key(nonce_window=1000)
        strict = await probe_nonce_window(strict_key, Secret(strict_secret), sb.environment)
        window = await probe_nonce_window(window_key, Secret(window_secret), sb.environment)
        # reads only: two Balance calls per key, one refused for its nonce on the strict key
        calls = [
            (r["api_key"], r["path"], r["errors"]) for r in sb.requests if r["api_key"] in (strict_key, window_key)
        ]
    assert strict == ("PASS", NO_WINDOW)
    assert window == ("PASS", HAS_WINDOW)
    assert [c[1] for c in calls] == ["/0/private/Balance"] * 4
    assert [c[2] for c in calls if c[0] == strict_key] == [[], ["EAPI:Invalid nonce"]]
    assert [c[2] for c in calls if c[0] == window_key] == [[], []]
