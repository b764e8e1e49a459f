"""API keys, permissions and request signature checks of the sandbox's Spot REST API.

The signature rule is implemented here independently of ``krakenkit._core.signing`` on purpose: a
sandbox that verified with the client's own signer would prove nothing.

``API-Sign = base64(HMAC-SHA512(base64decode(secret), uri_path + SHA256(nonce + post_data)))``
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
import struct
import time
from dataclasses import dataclass, field
from random import Random

__all__ = ["ALL_PERMISSIONS", "DEFAULT_PERMISSIONS", "ApiKey", "KeyStore", "expected_signature", "totp"]

ALL_PERMISSIONS = frozenset(
    {
        "query_funds",
        "query_open",
        "query_closed",
        "trade",
        "cancel",
        "withdraw",
        "export",
        "websocket",
        "deposit",
        "query_ledger",
        "earn",
    }
)
DEFAULT_PERMISSIONS = ALL_PERMISSIONS - {"withdraw"}
TOKEN_TTL = 900.0


def expected_signature(secret_b64: str, uri_path: str, nonce: str, post_data: bytes) -> str:
    sha = hashlib.sha256(nonce.encode() + post_data).digest()
    mac = hmac.new(base64.b64decode(secret_b64), uri_path.encode() + sha, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def totp(secret: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (SHA1) of a base32 secret, as used by Kraken 2FA keys."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off : off + 4])[0] & 0x7FFFFFFF) % (10**digits)
    return str(code).zfill(digits)


@dataclass
class ApiKey:
    key: str
    secret: str
    account: str
    permissions: frozenset[str]
    tier: str = "intermediate"
    otp: str | None = None  # a static password, or "totp:<base32>" for a TOTP secret
    last_nonce: int = 0
    nonce_window: int = 0  # like Kraken's per-key setting: nonces this far below the highest seen still pass
    tokens: dict[str, float] = field(default_factory=dict)
    recent_nonces: set[int] = field(default_factory=set)  # nonces seen inside the window (no reuse)

    def accept_nonce(self, nonce: int) -> bool:
        """Kraken's rule: strictly increasing, or, with a nonce window, not below ``highest - window`` and
        never used before. Records an accepted nonce."""
        if nonce >= 2**64 or nonce <= 0:
            return False
        if nonce > self.last_nonce:
            self.last_nonce = nonce
        elif self.nonce_window <= 0 or nonce <= self.last_nonce - self.nonce_window or nonce in self.recent_nonces:
            return False
        self.recent_nonces.add(nonce)
        if self.nonce_window > 0:
            floor = self.last_nonce - self.nonce_window
            if len(self.recent_nonces) > 4096:
                self.recent_nonces = {n for n in self.recent_nonces if n > floor}
        else:
            self.recent_nonces.clear()
        return True

    def check_otp(self, given: str | None, now: float) -> bool:
        if self.otp is None:
            return True
        if not given:
            return False
        theirs = given.encode("utf-8", "surrogatepass")  # compare bytes: a non-ASCII otp is just a wrong one
        if self.otp.startswith("totp:"):
            sec = self.otp[5:]
            return any(_secrets.compare_digest(theirs, totp(sec, now + d).encode()) for d in (-30, 0, 30))
        return _secrets.compare_digest(theirs, self.otp.encode())


class KeyStore:
    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self.keys: dict[str, ApiKey] = {}
        self.tokens: dict[str, tuple[ApiKey, float, bool]] = {}

    def create(
        self,
        account: str,
        permissions: frozenset[str],
        tier: str = "intermediate",
        otp: str | None = None,
        nonce_window: int = 0,
    ) -> ApiKey:
        key = base64.b64encode(self._rng.randbytes(42)).decode()
        secret = base64.b64encode(self._rng.randbytes(64)).decode()
        k = ApiKey(key, secret, account, permissions, tier, otp, nonce_window=nonce_window)
        self.keys[key] = k
        return k

    def new_token(self, k: ApiKey, now: float) -> str:
        tok = base64.b64encode(self._rng.randbytes(32)).decode().rstrip("=")
        self.tokens[tok] = (k, now + TOKEN_TTL, False)
        return tok

    def use_token(self, token: str, now: float) -> ApiKey | None:
        """The key of a valid token, marking it used (a used token no longer expires)."""
        ent = self.tokens.get(token)
        if ent is None:
            return None
        k, expires, used = ent
        if not used and now > expires:
            del self.tokens[token]
            return None
        if not used:
            self.tokens[token] = (k, expires, True)
        return k
