"""Secrets that never show: not in repr, str, logs, exception messages or tracebacks."""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["REDACTED", "RedactingFilter", "Secret", "redact_mapping"]

REDACTED: Final = "***"

# Header and body field names whose values must never be logged.
SENSITIVE_FIELDS: Final = frozenset(
    {"api-sign", "authent", "otp", "api_secret", "secret", "apisecret", "signed_challenge", "token", "password"}
)


class Secret:
    """Holds a secret string. ``repr``/``str``/``format`` show only ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "Secret('***')"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> str:  # refuse pickling the value by accident
        raise TypeError("Secret cannot be pickled")


def redact_mapping(data: object) -> object:
    """Copy of a mapping (recursively) with sensitive values replaced by ``***``."""
    if isinstance(data, dict):
        return {
            k: (REDACTED if isinstance(k, str) and k.lower() in SENSITIVE_FIELDS else redact_mapping(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact_mapping(v) for v in data]
    return data


class RedactingFilter(logging.Filter):
    """A logging filter that masks the given secret strings wherever they appear in a record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._patterns = [re.compile(re.escape(s)) for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        changed = False
        for pat in self._patterns:
            if pat.search(msg):
                msg = pat.sub(REDACTED, msg)
                changed = True
        if changed:
            record.msg = msg
            record.args = None
        return True
