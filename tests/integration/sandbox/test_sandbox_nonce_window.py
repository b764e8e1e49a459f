"""Kraken's per-key nonce window: out-of-order nonces pass within the window, reuse never does."""

from __future__ import annotations

from sandbox_testkit import Raw

from krakenkit.sandbox import Sandbox


def test_strict_key_refuses_any_out_of_order_nonce() -> None:
    with Sandbox(seed=3, market=False) as sb:
        key, secret = sb.create_key()
        raw = Raw(sb.rest_url, key, secret)
        assert raw.post("Balance", nonce="1000")["error"] == []
        assert raw.post("Balance", nonce="999")["error"] == ["EAPI:Invalid nonce"]
        assert raw.post("Balance", nonce="1000")["error"] == ["EAPI:Invalid nonce"]


def test_nonce_window_accepts_late_arrivals_once() -> None:
    with Sandbox(seed=3, market=False) as sb:
        key, secret = sb.create_key(nonce_window=100)
        raw = Raw(sb.rest_url, key, secret)
        assert raw.post("Balance", nonce="1000")["error"] == []
        assert raw.post("Balance", nonce="950")["error"] == []  # late, inside the window
        assert raw.post("Balance", nonce="950")["error"] == ["EAPI:Invalid nonce"]  # reused
        assert raw.post("Balance", nonce="1000")["error"] == ["EAPI:Invalid nonce"]  # reused
        assert raw.post("Balance", nonce="900")["error"] == ["EAPI:Invalid nonce"]  # below the window
        assert raw.post("Balance", nonce="1001")["error"] == []
