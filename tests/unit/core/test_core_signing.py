"""Golden vectors and the signing rules of the reference README."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from kraken_reference import REFERENCE
from krakenkit._core.errors import ValidationError
from krakenkit._core.signing import (
    futures_authent,
    futures_endpoint_path,
    sign_futures_challenge,
    spot_api_sign,
)

REF = REFERENCE
VECTORS = json.loads((REF / "vectors.json").read_text())


@pytest.mark.parametrize("vec", VECTORS["spot_rest_api_sign"])
def test_spot_api_sign_official_vector(vec: dict[str, str]) -> None:
    assert spot_api_sign(vec["secret"], vec["uri_path"], vec["nonce"], vec["post_data"]) == vec["api_sign"]


def test_spot_api_sign_changes_with_one_bit() -> None:
    vec = VECTORS["spot_rest_api_sign"][0]
    flipped = vec["post_data"].replace("1.25", "1.24")
    assert spot_api_sign(vec["secret"], vec["uri_path"], vec["nonce"], flipped) != vec["api_sign"]


@pytest.mark.parametrize("vec", VECTORS["futures_ws_challenge"])
def test_futures_challenge_official_vector(vec: dict[str, str]) -> None:
    assert sign_futures_challenge(vec["api_secret"], vec["challenge"]) == vec["signed_challenge"]


def _independent_authent(secret: str, signed_path: str, nonce: str, post: str) -> str:
    digest = hashlib.sha256((post + nonce + signed_path).encode()).digest()
    return base64.b64encode(hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()).decode()


SECRET = base64.b64encode(bytes(range(64))).decode()


def test_futures_authent_strips_derivatives_prefix() -> None:
    got = futures_authent(SECRET, "/derivatives/api/v3/sendorder", "1700000000000", "orderType=lmt&size=1")
    assert got == _independent_authent(SECRET, "/api/v3/sendorder", "1700000000000", "orderType=lmt&size=1")


def test_futures_authent_history_signs_full_path() -> None:
    assert futures_endpoint_path("/api/history/v3/orders") == "/api/history/v3/orders"
    got = futures_authent(SECRET, "/api/history/v3/orders", None, "since=1")
    assert got == _independent_authent(SECRET, "/api/history/v3/orders", "", "since=1")


def test_futures_authent_hashes_encoded_body() -> None:
    encoded = "greeting=hello%20world"
    assert futures_authent(SECRET, "/derivatives/api/v3/x", "1", encoded) == _independent_authent(
        SECRET, "/api/v3/x", "1", encoded
    )
    assert futures_authent(SECRET, "/derivatives/api/v3/x", "1", "greeting=hello world") != _independent_authent(
        SECRET, "/api/v3/x", "1", encoded
    )


def test_bad_secret_is_a_clear_error_without_the_secret() -> None:
    with pytest.raises(ValidationError) as info:
        spot_api_sign("not base64!!", "/0/private/Balance", 1, "nonce=1")
    assert "not base64!!" not in str(info.value)
    assert info.value.field == "api_secret"
