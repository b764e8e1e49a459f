"""Derivatives authentication, verified with the sandbox's own code (not the client's signer).

REST: ``Authent = base64(HMAC-SHA512(base64decode(secret), SHA256(post_data + nonce + endpoint_path)))``
where ``endpoint_path`` drops a leading ``/derivatives`` (``/api/history/...`` and
``/api/charts/...`` keep their full path) and ``post_data`` is the URL-encoded query string or
form body exactly as sent.

WS v1: ``signed_challenge = base64(HMAC-SHA512(base64decode(secret), SHA256(challenge)))``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["authent", "endpoint_path", "sign_challenge", "verify_authent", "verify_challenge"]


def endpoint_path(raw_path: str) -> str:
    """The path that goes into the signature for a request to ``raw_path``."""
    if raw_path.startswith("/derivatives/"):
        return raw_path[len("/derivatives") :]
    return raw_path


def _hmac(secret: str, message: bytes) -> str | None:
    try:
        key = base64.b64decode(secret, validate=False)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(hmac.new(key, message, hashlib.sha512).digest()).decode()


def authent(secret: str, post_data: str, nonce: str, path: str) -> str:
    digest = hashlib.sha256((post_data + nonce + path).encode()).digest()
    out = _hmac(secret, digest)
    return out or ""


def sign_challenge(secret: str, challenge: str) -> str:
    out = _hmac(secret, hashlib.sha256(challenge.encode()).digest())
    return out or ""


def verify_authent(secret: str, given: str, candidates: list[str], nonce: str, path: str) -> bool:
    """True if ``given`` signs one of the candidate ``post_data`` strings."""
    for post_data in candidates:
        expected = authent(secret, post_data, nonce, path)
        if expected and hmac.compare_digest(expected.encode(), given.strip().encode()):
            return True
    return False


def verify_challenge(secret: str, challenge: str, signed: str) -> bool:
    expected = sign_challenge(secret, challenge)
    return bool(expected) and hmac.compare_digest(expected.encode(), signed.encode())
