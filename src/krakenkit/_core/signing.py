"""Request signatures, exactly as Kraken documents them.

* Spot REST: ``API-Sign = b64(HMAC-SHA512(b64decode(secret), uri_path + SHA256(nonce + post_data)))``
* Derivatives REST: ``Authent = b64(HMAC-SHA512(b64decode(secret), SHA256(post_data + nonce + path)))``
  where ``path`` drops a leading ``/derivatives``.
* Derivatives WS challenge: ``b64(HMAC-SHA512(b64decode(secret), SHA256(challenge)))``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from .errors import ValidationError

__all__ = [
    "decode_secret",
    "futures_authent",
    "futures_endpoint_path",
    "sign_futures_challenge",
    "spot_api_sign",
]


def decode_secret(secret: str | bytes, *, field: str = "api_secret") -> bytes:
    """Base64-decode an API secret once. The secret's value never enters the message."""
    try:
        return base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            f"{field} is not valid base64: copy the private key exactly as Kraken showed it",
            field=field,
        ) from None


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else decode_secret(secret)


def spot_api_sign(secret: str | bytes, uri_path: str, nonce: str | int, post_data: str | bytes) -> str:
    """``API-Sign`` for a Spot private call. ``secret`` is the base64 text or its decoded bytes."""
    body = post_data.encode() if isinstance(post_data, str) else post_data
    sha = hashlib.sha256(str(nonce).encode() + body).digest()
    mac = hmac.new(_secret_bytes(secret), uri_path.encode() + sha, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def futures_endpoint_path(path: str) -> str:
    """The path Kraken signs: ``/derivatives/api/v3/x`` -> ``/api/v3/x``; others unchanged."""
    if path.startswith("/derivatives/"):
        return path[len("/derivatives") :]
    return path


def futures_authent(secret: str | bytes, path: str, nonce: str | int | None, post_data: str) -> str:
    """``Authent`` for a Derivatives call; ``post_data`` is the query or body exactly as sent."""
    message = post_data + ("" if nonce is None else str(nonce)) + futures_endpoint_path(path)
    sha = hashlib.sha256(message.encode()).digest()
    mac = hmac.new(_secret_bytes(secret), sha, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def sign_futures_challenge(secret: str | bytes, challenge: str) -> str:
    """``signed_challenge`` for Derivatives WebSocket v1 private feeds."""
    sha = hashlib.sha256(challenge.encode()).digest()
    mac = hmac.new(_secret_bytes(secret), sha, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()
