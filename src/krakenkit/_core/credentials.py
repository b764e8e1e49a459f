"""API credentials from the environment (and an optional ``.env`` file), kept out of every log.

::

    creds = Credentials.from_env("spot")                      # API_SPOT_KEY / API_SPOT_SECRET
    creds = Credentials.from_env("futures", env_file=".env")  # API_FUTURES_KEY / API_FUTURES_SECRET
    client = SpotClient(api_key=creds.api_key, api_secret=creds.secret_value())

The secret lives in a :class:`~krakenkit._core.secrets.Secret`: ``repr``/``str``/f-strings show
``***`` and the key is shown shortened, so a ``Credentials`` object can be logged or end up in a
traceback without leaking anything. A missing variable raises
:class:`~krakenkit.MissingCredentialsError` naming it.

Variables already set in the process environment win over the ``.env`` file. The ``.env`` format
is the usual subset: ``KEY=VALUE`` lines, ``export KEY=VALUE``, ``#`` comments (whole-line, or after
an unquoted value preceded by a space), single quotes (literal) and double quotes (``\\n``, ``\\"``
escapes), blank lines ignored.

Key rotation without downtime: :class:`CredentialStore` holds the current credentials; clients
that read ``store.current()`` for every signed request switch to a new key on the next request
after :meth:`CredentialStore.rotate`. See ``docs/credentials.md``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import MissingCredentialsError
from .secrets import Secret

__all__ = [
    "ENV_NAMES",
    "CredentialStore",
    "Credentials",
    "Product",
    "parse_env_file",
    "parse_env_text",
]

Product = Literal["spot", "futures"]

#: Environment variable names per product: (key, secret).
ENV_NAMES: Mapping[str, tuple[str, str]] = {
    "spot": ("API_SPOT_KEY", "API_SPOT_SECRET"),
    "futures": ("API_FUTURES_KEY", "API_FUTURES_SECRET"),
}
_PRODUCT_ALIASES = {"spot": "spot", "futures": "futures", "derivatives": "futures"}

_LINE_RE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_DQ_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_env_text(text: str) -> dict[str, str]:
    """Parse ``.env`` text into a dict (no variable expansion, no new dependency)."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE_RE.match(raw)
        if not m:
            continue  # not KEY=VALUE: ignored, like python-dotenv does
        name, rest = m.group(1), m.group(2).strip()
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            # a quoted value may span lines until the closing quote
            while _closing_quote(body, quote) < 0 and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            end = _closing_quote(body, quote)
            value = body if end < 0 else body[:end]
            if quote == '"':
                value = re.sub(r"\\(.)", lambda mm: _DQ_ESCAPES.get(mm.group(1), "\\" + mm.group(1)), value)
            out[name] = value
        else:
            hash_at = _inline_comment(rest)
            out[name] = (rest[:hash_at] if hash_at >= 0 else rest).strip()
    return out


def _closing_quote(body: str, quote: str) -> int:
    j = 0
    while j < len(body):
        ch = body[j]
        if ch == "\\" and quote == '"':
            j += 2
            continue
        if ch == quote:
            return j
        j += 1
    return -1


def _inline_comment(value: str) -> int:
    for j, ch in enumerate(value):
        if ch == "#" and (j == 0 or value[j - 1] in " \t"):
            return j
    return -1


def parse_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``.env`` file; a missing file gives ``{}``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_env_text(text)


def _mask(key: str) -> str:
    if len(key) <= 8:
        return "***"
    return f"{key[:4]}…{key[-4:]}"


@dataclass(frozen=True)
class Credentials:
    """An API key and its secret for one product. Never shows the secret."""

    api_key: str
    api_secret: Secret = field(repr=False)
    product: Product = "spot"
    source: str = "arguments"

    def __post_init__(self) -> None:
        if not isinstance(self.api_secret, Secret):
            object.__setattr__(self, "api_secret", Secret(str(self.api_secret)))
        if not self.api_key:
            raise MissingCredentialsError("api_key is empty", field="api_key")
        if not self.api_secret:
            raise MissingCredentialsError("api_secret is empty", field="api_secret")

    def secret_value(self) -> str:
        """The secret in clear, for the signer only."""
        return self.api_secret.get_secret_value()

    @property
    def masked_key(self) -> str:
        return _mask(self.api_key)

    def __repr__(self) -> str:
        return (
            f"Credentials(product={self.product!r}, api_key={self.masked_key!r}, "
            f"api_secret=Secret('***'), source={self.source!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("Credentials cannot be pickled")

    @classmethod
    def from_env(
        cls,
        product: Product | str = "spot",
        env_file: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        key_var: str | None = None,
        secret_var: str | None = None,
    ) -> Credentials:
        """Read ``API_SPOT_KEY``/``API_SPOT_SECRET`` (``product="spot"``) or ``API_FUTURES_KEY``/
        ``API_FUTURES_SECRET`` (``"futures"``) from the environment, then ``env_file`` if given.

        Raises :class:`~krakenkit.MissingCredentialsError` naming each missing variable.
        """
        prod = _PRODUCT_ALIASES.get(str(product).lower())
        if prod is None:
            raise ValueError(f"product must be 'spot' or 'futures', not {product!r}")
        default_key, default_secret = ENV_NAMES[prod]
        kv, sv = key_var or default_key, secret_var or default_secret
        env = dict(os.environ if environ is None else environ)
        file_values: dict[str, str] = {}
        if env_file is not None:
            file_values = parse_env_file(env_file)
        key = env.get(kv) or file_values.get(kv) or ""
        secret = env.get(sv) or file_values.get(sv) or ""
        missing = [name for name, value in ((kv, key), (sv, secret)) if not value.strip()]
        if missing:
            where = "the environment" + (f" or {os.fspath(env_file)}" if env_file is not None else "")
            raise MissingCredentialsError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set in {where}; "
                f"set {kv} and {sv} to your Kraken {prod} API key and secret",
                field=missing[0],
            )
        source_parts = []
        if env.get(kv) or env.get(sv):
            source_parts.append("env")
        if env_file is not None and (kv in file_values or sv in file_values):
            source_parts.append(os.fspath(env_file))
        return cls(key.strip(), Secret(secret.strip()), prod, "+".join(source_parts) or "env")  # type: ignore[arg-type]

    @classmethod
    def maybe_from_env(
        cls,
        product: Product | str = "spot",
        env_file: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Credentials | None:
        """Like :meth:`from_env` but ``None`` when nothing is set (public-only use)."""
        try:
            return cls.from_env(product, env_file, environ=environ)
        except MissingCredentialsError:
            return None


class CredentialStore:
    """A thread-safe holder of the current credentials, for rotating keys without a restart.

    Clients (or your signing hook) call :meth:`current` for each signed request; :meth:`rotate`
    swaps in the new key atomically, so requests already signed finish with the old key and every
    later one uses the new key. Listeners (``on_rotate``) hear of each swap, e.g. to reconnect private
    WebSockets with the new key.
    """

    def __init__(self, credentials: Credentials) -> None:
        self._lock = threading.Lock()
        self._current = credentials
        self._previous: Credentials | None = None
        self._listeners: list[Callable[[Credentials, Credentials], None]] = []

    def current(self) -> Credentials:
        with self._lock:
            return self._current

    @property
    def previous(self) -> Credentials | None:
        """The credentials replaced by the last rotation (to revoke once nothing uses them)."""
        with self._lock:
            return self._previous

    def on_rotate(self, listener: Callable[[Credentials, Credentials], None]) -> None:
        self._listeners.append(listener)

    def rotate(self, new: Credentials) -> Credentials:
        """Make ``new`` current; return the old credentials."""
        if new.product != self.current().product:
            raise ValueError(f"cannot rotate a {self.current().product} key to a {new.product} key")
        with self._lock:
            old, self._current, self._previous = self._current, new, self._current
        for fn in list(self._listeners):
            fn(old, new)
        return old

    def reload_from_env(
        self, env_file: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> bool:
        """Re-read the environment / ``.env``; rotate if the key changed. Returns True on a swap."""
        cur = self.current()
        fresh = Credentials.from_env(cur.product, env_file, environ=environ)
        if fresh.api_key == cur.api_key and fresh.api_secret == cur.api_secret:
            return False
        self.rotate(fresh)
        return True

    def __repr__(self) -> str:
        return f"CredentialStore(current={self.current()!r})"
