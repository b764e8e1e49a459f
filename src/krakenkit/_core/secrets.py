"""Secrets that never show: not in repr, str, logs, exception messages or tracebacks."""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["REDACTED", "RedactingFilter", "Secret", "drop_tracebacks", "exception_chain", "redact_mapping", "reveal"]

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


def reveal(value: Secret | str) -> str:
    """The plain text of a :class:`Secret` (a ``str`` as is): for the call that puts it on the wire, inline,
    never into a local variable of a long-lived frame."""
    return value.get_secret_value() if isinstance(value, Secret) else value


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception of its ``__cause__``/``__context__`` chain, each once."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is o for o in out):
            continue
        out.append(e)
        todo.extend((e.__cause__, e.__context__))
    return out


def drop_tracebacks(exc: BaseException) -> BaseException:
    """``exc`` with the tracebacks of it and its whole ``__cause__``/``__context__`` chain removed, and the
    same exception returned (to raise again or chain from).

    For an error that passed through frames holding a plain secret (a third-party ``send(message)`` whose
    message carries a token): its frames, which a reporter capturing locals would show, are gone; its type
    and message stay. Re-raised from the caller, its traceback starts at the caller's frame."""
    for e in exception_chain(exc):
        e.__traceback__ = None
    return exc


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
