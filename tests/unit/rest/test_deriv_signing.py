"""Derivatives Authent as it goes on the wire, recomputed independently with hashlib/hmac."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from typing import Any

import httpx
import pytest

from krakenkit.rest.derivatives import DerivativesClient

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

SECRET = base64.b64encode(bytes(range(1, 65))).decode()
OK: dict[str, Any] = {"result": "success", "sendStatus": {"status": "placed"}, "elements": [], "len": 0}


def independent_authent(secret_b64: str, post_data: str, nonce: str, signed_path: str) -> str:
    digest = hashlib.sha256((post_data + nonce + signed_path).encode("utf-8")).digest()
    mac = hmac.new(base64.b64decode(secret_b64), digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def _capture(**kw: Any) -> tuple[DerivativesClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    nonces = itertools.count(1_700_000_000_000)
    client = DerivativesClient(
        "PUBKEY",
        SECRET,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        nonce_source=lambda: next(nonces),
        **kw,
    )
    return client, seen


def test_get_signs_query_and_strips_derivatives_prefix() -> None:
    client, seen = _capture()
    client.get_fills(lastFillTime="2024-01-01T00:00:00.000Z")
    req = seen[0]
    query = req.url.query.decode()
    assert query == "lastFillTime=2024-01-01T00%3A00%3A00.000Z"
    nonce = req.headers["Nonce"]
    assert req.headers["APIKey"] == "PUBKEY"
    assert req.headers["Authent"] == independent_authent(SECRET, query, nonce, "/api/v3/fills")
    # the full path would be a different (wrong) signature
    assert req.headers["Authent"] != independent_authent(SECRET, query, nonce, "/derivatives/api/v3/fills")


def test_get_without_params_signs_empty_post_data() -> None:
    client, seen = _capture()
    client.get_accounts()
    req = seen[0]
    assert req.url.query == b""
    assert req.headers["Authent"] == independent_authent(SECRET, "", req.headers["Nonce"], "/api/v3/accounts")


def test_post_signs_body_with_url_encoded_characters() -> None:
    client, seen = _capture()
    client.submit_order(
        orderType="lmt", symbol="PF_XBTUSD", side="buy", size="1", limitPrice="100.5", cliOrdId="hello world&x=1/?#+"
    )
    req = seen[0]
    body = req.content.decode()
    expected_body = (
        "orderType=lmt&symbol=PF_XBTUSD&side=buy&size=1&limitPrice=100.5&cliOrdId=hello%20world%26x%3D1%2F%3F%23%2B"
    )
    assert body == expected_body
    assert req.headers["Authent"] == independent_authent(
        SECRET, expected_body, req.headers["Nonce"], "/api/v3/sendorder"
    )
    # hashing the decoded text would not match: the signed bytes are the encoded bytes sent
    decoded = "orderType=lmt&symbol=PF_XBTUSD&side=buy&size=1&limitPrice=100.5&cliOrdId=hello world&x=1/?#+"
    assert req.headers["Authent"] != independent_authent(SECRET, decoded, req.headers["Nonce"], "/api/v3/sendorder")


def test_history_signs_full_path() -> None:
    client, seen = _capture()
    client.get_order_events(since=1, tradeable="PF_XBTUSD")
    req = seen[0]
    assert req.url.path == "/api/history/v3/orders"
    assert req.headers["Authent"] == independent_authent(
        SECRET, "since=1&tradeable=PF_XBTUSD", req.headers["Nonce"], "/api/history/v3/orders"
    )


def test_auth_api_signs_full_path() -> None:
    client, seen = _capture()
    client.check_api_key_v3()
    req = seen[0]
    assert req.headers["Authent"] == independent_authent(
        SECRET, "", req.headers["Nonce"], "/api/auth/v1/api-keys/v3/check"
    )


def test_put_signs_query_string() -> None:
    client, seen = _capture()
    client.set_leverage_settings(symbol="PF_ETHUSD", maxLeverage="10")
    req = seen[0]
    assert req.method == "PUT" and req.content == b""
    assert req.headers["Authent"] == independent_authent(
        SECRET, "symbol=PF_ETHUSD&maxLeverage=10", req.headers["Nonce"], "/api/v3/leveragepreferences"
    )


def test_public_endpoints_are_not_signed() -> None:
    client, seen = _capture()
    client.get_orderbook(symbol="PF_XBTUSD")
    assert "authent" not in seen[0].headers and "apikey" not in seen[0].headers


def test_each_send_gets_a_fresh_increasing_nonce() -> None:
    client, seen = _capture()
    for _ in range(3):
        client.get_open_positions()
    nonces = [int(r.headers["Nonce"]) for r in seen]
    assert nonces == sorted(nonces) and len(set(nonces)) == 3
    assert len({r.headers["Authent"] for r in seen}) == 3


def test_default_nonce_source_is_shared_per_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    a = DerivativesClient("SHARED", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    b = DerivativesClient("SHARED", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    for _ in range(5):
        a.get_accounts()
        b.get_accounts()
    nonces = [int(r.headers["Nonce"]) for r in seen]
    assert nonces == sorted(nonces) and len(set(nonces)) == 10
