"""Client order ids: generated cryptographically at random, checked before anything is sent."""

from __future__ import annotations

import re
import uuid

from .errors import ValidationError

__all__ = [
    "generate_futures_order_id",
    "generate_spot_order_id",
    "validate_futures_cli_ord_id",
    "validate_spot_cl_ord_id",
]

# Used with fullmatch: ``$`` would also match before a trailing newline ("id\n" slipped through).
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX32_RE = re.compile(r"[0-9a-fA-F]{32}")
_FREE_RE = re.compile(r"[\x20-\x7e]{1,18}")
_FUTURES_RE = re.compile(r"[\x20-\x7e]{1,100}")


def generate_spot_order_id() -> str:
    """A fresh random UUID (36 chars), a ``cl_ord_id`` form Kraken accepts (uuid4 uses os.urandom)."""
    return str(uuid.uuid4())


def generate_futures_order_id() -> str:
    """A fresh random UUID for ``cliOrdId`` (Kraken allows up to 100 chars)."""
    return str(uuid.uuid4())


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 60 else repr(value[:57]) + "..."


def validate_spot_cl_ord_id(value: object, field: str = "cl_ord_id") -> str:
    """Accept a 36-char UUID, 32 hex chars, or printable ASCII up to 18 chars (the whole text: a
    trailing newline is refused)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a str; use generate_new_order_id()", field=field)
    if _UUID_RE.fullmatch(value) or _HEX32_RE.fullmatch(value) or _FREE_RE.fullmatch(value):
        return value
    fix = ""
    stripped = value.strip()
    if stripped != value and (
        _UUID_RE.fullmatch(stripped) or _HEX32_RE.fullmatch(stripped) or _FREE_RE.fullmatch(stripped)
    ):
        fix = f" (it has leading/trailing whitespace; did you mean {_shown(stripped)}?)"
    raise ValidationError(
        f"{field}={_shown(value)} is not a valid Kraken client order id{fix}: use a UUID (36 chars with "
        "dashes), 32 hex characters, or up to 18 printable ASCII characters (generate_new_order_id() makes one)",
        field=field,
    )


def validate_futures_cli_ord_id(value: object, field: str = "cliOrdId") -> str:
    """Accept 1 to 100 printable ASCII characters."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field} must be a non-empty str; use generate_new_order_id()", field=field)
    if not _FUTURES_RE.fullmatch(value):
        fix = ""
        if value.strip() != value and _FUTURES_RE.fullmatch(value.strip()):
            fix = f"; did you mean {_shown(value.strip())}?"
        raise ValidationError(
            f"{field} must be at most 100 printable ASCII characters (got {len(value)} chars: {_shown(value)}){fix}",
            field=field,
        )
    return value
