"""Value checks of the validation layer: one function per kind of value, pure, no I/O.

Every function takes the user's value and the field's name (a path such as ``orders[2].price``) and
returns the canonical value, or raises :class:`~krakenkit.ValidationError` naming the field and the
fix. Nothing here ever raises a bare ``TypeError``/``ValueError``, and nothing expands a number
before its size is known (``'1e999999999'`` is refused from its exponent, in microseconds).

See :mod:`krakenkit._core.validation` for the layer as a whole and ``docs/validation.md`` for the
policies (floats, bounds, relative prices).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import SymbolFormatError, ValidationError

__all__ = [
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
    "MAX_NUMBER_TEXT",
    "RelativePrice",
    "check_amount",
    "check_bool",
    "check_enum",
    "check_flags",
    "check_int",
    "check_iso_time",
    "check_opaque_id",
    "check_price",
    "check_rfc3339",
    "check_text",
    "check_unix_time",
    "format_amount",
    "mask",
    "suggest",
]

#: Largest number of digits before the decimal point (amounts below 10**20).
MAX_INTEGER_DIGITS = 20
#: Largest number of digits after the decimal point once trailing zeros are dropped.
MAX_FRACTION_DIGITS = 18
#: Longest text accepted for one number, checked before anything parses it.
MAX_NUMBER_TEXT = 64

_NUMBER_RE = re.compile(r"(?P<sign>[+-]?)(?P<body>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,18})?)")
_PLAIN_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_RFC3339_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_UNIX_TIME_RE = re.compile(r"(?P<rel>\+?)(?P<n>[0-9]{1,12})(?:\.[0-9]{1,9})?")
_PRINTABLE_RE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
_PRINTABLE_SPACE_RE = re.compile(r"[\x20-\x7e]+")


# --- messages ----------------------------------------------------------------------------------


def _shown(value: Any, limit: int = 60) -> str:
    """``repr`` of a user value, cut short so a giant value never lands whole in a message."""
    try:
        text = repr(value)
    except Exception:  # a user object whose __repr__ fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mask(value: str, keep: int = 4) -> str:
    """A credential as shown in messages: its first ``keep`` characters of a long value, never more."""
    return (value[:keep] + "..." if len(value) > 2 * keep else "") + "***"


def suggest(given: str, options: Iterable[str]) -> str | None:
    """The option closest to ``given``: its exact spelling when only case (or ``-``/``_``) differs,
    else difflib's nearest match (ratio >= 0.6), else None."""
    opts = list(options)
    folded = {_fold(o): o for o in opts}
    hit = folded.get(_fold(given))
    if hit is not None:
        return hit
    close = difflib.get_close_matches(given, opts, n=1, cutoff=0.6)
    if close:
        return close[0]
    close = difflib.get_close_matches(given.lower(), [o.lower() for o in opts], n=1, cutoff=0.6)
    if close:
        return next(o for o in opts if o.lower() == close[0])
    return None


def _fold(text: str) -> str:
    return text.lower().replace("-", "_").replace(" ", "_")


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError(message, field=field)


# --- numbers -----------------------------------------------------------------------------------


def _bounded(dec: Decimal, field: str, shown: str) -> Decimal:
    """Refuse a finite Decimal with too many digits or an exponent out of range, judged from its tuple
    only (nothing is expanded first). Returns the canonical form: no exponent above zero, no trailing
    zeros after the point (``Decimal('3E+4')`` -> ``Decimal('30000')``, ``'1.50'`` -> ``Decimal('1.5')``)."""
    sign, digits, exponent = dec.as_tuple()
    if not isinstance(exponent, int):  # 'n', 'N', 'F': NaN / infinity
        raise _fail(field, f"{field}={shown} is not a finite number; pass e.g. '1.25'")
    n = len(digits)
    if n > MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS + 2:
        raise _fail(field, f"{field}={shown} has too many digits (at most {MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS})")
    # drop trailing zeros of the coefficient (1.500 -> 15E-1) without any arithmetic
    while n > 1 and digits[n - 1] == 0:
        n -= 1
        exponent += 1
    if n == 1 and digits[0] == 0:
        return Decimal(0)
    if n + exponent > MAX_INTEGER_DIGITS:
        raise _fail(field, f"{field}={shown} is too large (at most {MAX_INTEGER_DIGITS} digits before the point)")
    if exponent < -MAX_FRACTION_DIGITS:
        raise _fail(field, f"{field}={shown} has too many decimals (at most {MAX_FRACTION_DIGITS} after the point)")
    if exponent > 0:  # bounded above: at most 20 digits in all
        return Decimal((sign, (*digits[:n], *(0,) * exponent), 0))
    return Decimal((sign, digits[:n], exponent))


def _decimal_from(value: Any, field: str, what: str) -> Decimal:
    """A bounded Decimal from Decimal / int / str; floats and everything else refused."""
    if isinstance(value, bool):
        raise _fail(field, f"{field} must be a number, not a bool; pass e.g. {what}='1.5'")
    if isinstance(value, float):
        text = repr(value)
        raise _fail(
            field,
            f"{field}={text} is a float; floats cannot hold most decimal amounts exactly "
            f"(0.1 + 0.2 == 0.30000000000000004), so krakenkit does not send them. "
            f"Pass a str or Decimal instead: {what}={_float_hint(value)!r} or Decimal({_float_hint(value)!r})",
        )
    if isinstance(value, Decimal):
        return _bounded(value, field, _shown(value))
    if isinstance(value, int):
        limit = 10**MAX_INTEGER_DIGITS
        if not -limit < value < limit:
            raise _fail(field, f"{field} is too large (at most {MAX_INTEGER_DIGITS} digits before the point)")
        return Decimal(value)
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT:
            raise _fail(field, f"{field} is {len(value)} characters long; a number takes at most {MAX_NUMBER_TEXT}")
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise _fail(field, f"{field}={_shown(value)} contains whitespace; pass {value.strip()!r}")
        if not value:
            raise _fail(field, f"{field} is empty; pass a number such as '1.25'")
        if not _NUMBER_RE.fullmatch(value):
            raise _fail(field, f"{field}={_shown(value)} is not a number; pass e.g. '1.25'")
        try:
            dec = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise _fail(field, f"{field}={_shown(value)} is not a number; pass e.g. '1.25'") from None
        return _bounded(dec, field, _shown(value))
    raise _fail(
        field,
        f"{field} must be a Decimal, str or int (got {type(value).__name__}); pass e.g. {what}=Decimal('1.25')",
    )


def _float_hint(value: float) -> str:
    """What the user most likely meant by a float: its value to 15 significant digits, in plain text
    (``0.1 + 0.2`` -> ``'0.3'``, ``1e-07`` -> ``'0.0000001'``)."""
    dec = Decimal(format(value, ".15g"))
    _, digits, exponent = dec.as_tuple()
    if not isinstance(exponent, int) or not -30 < exponent + len(digits) < 30 or exponent < -30:
        return "1.25"
    return format_amount(dec)


def check_amount(
    value: Any, field: str, *, allow_zero: bool = False, signed: bool = False, name: str | None = None
) -> Decimal:
    """A money amount: ``Decimal``, ``int`` or a plain decimal ``str``; positive (``allow_zero``/``signed``
    widen it), finite, at most 20 digits before and 18 after the point. Floats are refused (see
    ``docs/validation.md``)."""
    if not signed and isinstance(value, str) and value.startswith("+"):
        raise _fail(field, f"{field}={_shown(value)}: write the amount without a sign, e.g. {value[1:]!r}")
    dec = _decimal_from(value, field, name or field.rsplit(".", 1)[-1])
    if dec < 0 and not signed:
        raise _fail(field, f"{field}={_shown(value)} is negative; pass a positive amount")
    if dec == 0 and not allow_zero:
        raise _fail(field, f"{field} must be greater than zero (got {_shown(value)})")
    return dec


def format_amount(value: Decimal) -> str:
    """Plain wire text of a bounded Decimal: no exponent, no trailing zeros (``1E+3`` -> ``'1000'``)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
        exponent += 1
    body = "".join(map(str, digits[:n]))
    if body == "0":
        return "0"
    if exponent >= 0:
        text = body + "0" * exponent
    elif -exponent >= len(body):
        text = "0." + "0" * (-exponent - len(body)) + body
    else:
        text = body[:exponent] + "." + body[exponent:]
    return ("-" if sign else "") + text


class RelativePrice(str):
    """A Spot REST price written relative to the last trade: ``'+5'``, ``'-1.5%'``, ``'#2'``.

    Kept as the exact (normalised) text Kraken reads; ``prefix``/``offset``/``percent`` give its parts.
    """

    __slots__ = ("offset", "percent", "prefix")

    prefix: str
    offset: Decimal
    percent: bool

    def __new__(cls, prefix: str, offset: Decimal, percent: bool) -> RelativePrice:
        obj = super().__new__(cls, prefix + format_amount(offset) + ("%" if percent else ""))
        obj.prefix = prefix
        obj.offset = offset
        obj.percent = percent
        return obj


def check_price(
    value: Any,
    field: str,
    *,
    prefixes: str = "+-#",
    allow_absolute: bool = True,
    allow_zero_offset: bool = True,
) -> Decimal | RelativePrice:
    """A Spot REST price: an absolute amount (positive), or the relative forms Kraken documents for
    ``price``/``price2`` (prefix ``+``, ``-`` or ``#``, optional ``%`` suffix; AmendOrder: ``+``/``-``).
    A bare ``%`` (``'2%'``) is refused: Kraken reads a percentage only with a prefix."""
    if isinstance(value, str) and value[:1] in "+-#" and value:
        if len(value) > MAX_NUMBER_TEXT:
            raise _fail(field, f"{field} is {len(value)} characters long; a price takes at most {MAX_NUMBER_TEXT}")
        prefix = value[0]
        if prefix not in prefixes:
            allowed = " or ".join(repr(p) for p in prefixes) or "none"
            raise _fail(
                field, f"{field}={_shown(value)}: the {prefix!r} prefix is not allowed here (allowed: {allowed})"
            )
        body = value[1:]
        percent = body.endswith("%")
        if percent:
            body = body[:-1]
        if not _PLAIN_RE.fullmatch(body):
            raise _fail(
                field,
                f"{field}={_shown(value)} is not a relative price; write the prefix, a plain number and an "
                f"optional '%', e.g. '{prefix}25' or '{prefix}1.5%'",
            )
        offset = _bounded(Decimal(body), field, _shown(value))
        if offset == 0 and not allow_zero_offset:
            raise _fail(field, f"{field}={_shown(value)} is a zero offset; pass a non-zero offset")
        if percent and offset > 1000:
            raise _fail(field, f"{field}={_shown(value)}: a percentage offset above 1000% is not a price")
        return RelativePrice(prefix, offset, percent)
    if isinstance(value, str) and value.endswith("%"):
        raise _fail(
            field,
            f"{field}={_shown(value)}: a percentage needs a '+', '-' or '#' prefix "
            f"(e.g. '+{value}' above or '-{value}' below the last trade)",
        )
    if not allow_absolute:
        raise _fail(
            field,
            f"{field}={_shown(value)} must be a relative price here ("
            + " or ".join(f"'{p}<offset>'" for p in prefixes)
            + ", optional '%' suffix)",
        )
    return check_amount(value, field)


def check_int(value: Any, field: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """A Python ``int`` (not bool, not float, not str) within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        hint = ""
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 30:
            hint = f"; pass {field.rsplit('.', 1)[-1]}={value.strip()}"
        raise _fail(field, f"{field} must be an int (got {type(value).__name__} {_shown(value)}){hint}")
    if lo is not None and value < lo:
        raise _fail(field, f"{field}={_shown(value)} is below the minimum {lo}")
    if hi is not None and value > hi:
        raise _fail(field, f"{field}={_shown(value)} is above the maximum {hi}")
    return value


def check_bool(value: Any, field: str) -> bool:
    """``True`` or ``False`` only (no ``'true'``, no ``1``)."""
    if value is True or value is False:
        return bool(value)
    hint = ""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        hint = f"; pass {value.strip().lower() == 'true'}"
    raise _fail(field, f"{field} must be True or False (got {type(value).__name__} {_shown(value)}){hint}")


def check_enum(
    value: Any,
    field: str,
    allowed: Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
    note: str = "",
) -> str:
    """One of ``allowed``, spelled exactly as Kraken documents it. A wrong spelling names the right one:
    case-only differences get the exact spelling, ``aliases`` map known foreign spellings (another
    API's), else difflib's nearest value."""
    if isinstance(value, str) and value in allowed:
        return value
    options = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise _fail(field, f"{field} must be a str, one of {options} (got {type(value).__name__} {_shown(value)})")
    alias = (aliases or {}).get(value) or (aliases or {}).get(value.lower())
    if alias is not None:
        why = f" ({note})" if note else ""
        raise _fail(field, f"{field}={_shown(value)} is not Kraken's spelling here; use {alias!r}{why}")
    best = suggest(value, allowed)
    if best is not None and _fold(best) == _fold(value):
        raise _fail(field, f"{field}={_shown(value)}: use {best!r} (Kraken's spelling, case and punctuation matter)")
    if best is not None:
        raise _fail(field, f"{field}={_shown(value)} is not valid; did you mean {best!r}? (one of {options})")
    raise _fail(field, f"{field}={_shown(value)} is not valid; use one of {options}")


def check_flags(
    value: Any, field: str, allowed: Sequence[str], *, aliases: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """A set of flags (``oflags``): a comma-separated str or a list/tuple/set of str; each one of
    ``allowed``; no empty entries; duplicates dropped, order kept."""
    if isinstance(value, str):
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise _fail(field, f"{field}={_shown(value)} contains whitespace; pass e.g. 'post,fciq'")
        items: list[Any] = value.split(",") if value else []
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
    else:
        raise _fail(field, f"{field} must be a comma-separated str or a list of str (got {type(value).__name__})")
    if not items:
        raise _fail(field, f"{field} is empty; leave it out or pass e.g. 'post'")
    if len(items) > 2 * len(allowed) + 2:
        raise _fail(field, f"{field} has {len(items)} entries; Kraken knows {len(allowed)} flags")
    out: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item == "":
            raise _fail(field, f"{field}={_shown(value)} has an empty entry; pass e.g. 'post,fciq'")
        flag = check_enum(item, f"{field}[{i}]" if not isinstance(value, str) else field, allowed, aliases=aliases)
        if flag not in out:
            out.append(flag)
    return tuple(out)


# --- text, ids and times -----------------------------------------------------------------------


def check_text(value: Any, field: str, *, max_len: int, spaces: bool = False, min_len: int = 1) -> str:
    """Printable ASCII text of ``min_len``..``max_len`` characters (spaces only with ``spaces=True``;
    never tabs or newlines)."""
    if not isinstance(value, str):
        raise _fail(field, f"{field} must be a str (got {type(value).__name__} {_shown(value)})")
    if len(value) > max_len:
        raise _fail(field, f"{field} is {len(value)} characters long; at most {max_len}")
    if len(value) < min_len:
        raise _fail(field, f"{field} is empty" if not value else f"{field} needs at least {min_len} characters")
    if not value:
        return value
    pattern = _PRINTABLE_SPACE_RE if spaces else _PRINTABLE_RE
    if not pattern.fullmatch(value):
        bad = next((ch for ch in value if not pattern.fullmatch(ch)), "")
        what = "whitespace" if bad.isspace() else f"the character {bad!r}"
        fix = f"; did you mean {value.strip()!r}?" if value.strip() != value else ""
        raise _fail(field, f"{field}={_shown(value)} contains {what} (printable ASCII only){fix}")
    return value


def check_opaque_id(value: Any, field: str, *, max_len: int = 64, int_ok: bool = False) -> str | int:
    """An id Kraken assigned (``txid``, ``order_id``): printable ASCII without whitespace, or (with
    ``int_ok``) an ``int`` user reference in int32 range."""
    if int_ok and isinstance(value, int) and not isinstance(value, bool):
        return check_int(value, field, lo=-(2**31), hi=2**31 - 1)
    return check_text(value, field, max_len=max_len)


def check_rfc3339(value: Any, field: str) -> str:
    """An RFC 3339 timestamp with time zone (``2024-07-21T09:53:59.050Z``), or an aware ``datetime``
    (written as RFC 3339, UTC offset kept)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _fail(field, f"{field} is a naive datetime; pass an aware one, e.g. datetime.now(timezone.utc)")
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    if not isinstance(value, str):
        raise _fail(
            field, f"{field} must be an RFC 3339 str such as '2024-07-21T09:53:59Z' (got {type(value).__name__})"
        )
    if len(value) > 40 or not _RFC3339_RE.fullmatch(value):
        raise _fail(field, f"{field}={_shown(value)} is not an RFC 3339 time with zone, e.g. '2024-07-21T09:53:59Z'")
    try:
        datetime.fromisoformat(value[:10] + "T" + value[11:19])
    except ValueError:
        raise _fail(field, f"{field}={_shown(value)} is not a real date and time") from None
    return value


def check_iso_time(value: Any, field: str) -> str:
    """An ISO 8601 timestamp (Derivatives ``processBefore``), time zone optional, or an aware datetime."""
    if isinstance(value, datetime):
        return check_rfc3339(value, field)
    text = check_text(value, field, max_len=40)
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _fail(
            field, f"{field}={_shown(value)} is not an ISO 8601 time, e.g. '2024-07-21T09:53:59.050Z'"
        ) from None
    return text


def check_unix_time(value: Any, field: str, *, min_relative: int = 0) -> str:
    """Spot REST ``starttm``/``expiretm``: ``0``, a unix time, or ``'+<n>'`` seconds from now (an int
    or a str). Returned as wire text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(check_int(value, field, lo=0, hi=10**12))
    if isinstance(value, float):
        raise _fail(field, f"{field}={value!r} is a float; pass an int unix time or a str such as '+60'")
    if not isinstance(value, str):
        raise _fail(field, f"{field} must be an int unix time or a str ('0', '<unix time>', '+<seconds>')")
    m = _UNIX_TIME_RE.fullmatch(value) if len(value) <= 24 else None
    if m is None:
        raise _fail(field, f"{field}={_shown(value)} is not '0', a unix time or '+<seconds>' (e.g. '+60')")
    if m.group("rel") and int(m.group("n")) < min_relative:
        raise _fail(field, f"{field}={_shown(value)}: Kraken's minimum relative time here is +{min_relative} seconds")
    return value


# --- credentials -------------------------------------------------------------------------------


def key_problem(key: str) -> str | None:
    """Why an API key text is unusable (no key text in the answer), or None."""
    if not key:
        return "is empty"
    if key != key.strip():
        return "has leading or trailing whitespace (a copy/paste slip?)"
    if any(ch.isspace() for ch in key):
        return "contains whitespace"
    if not _PRINTABLE_RE.fullmatch(key):
        return "contains a character that is not printable ASCII"
    if len(key) > 256:
        return "is longer than any Kraken key (256+ characters)"
    return None


def secret_problem(secret: str) -> str | None:
    """Why an API secret text is unusable (never quoting it), or None."""
    if not secret:
        return "is empty"
    if secret != secret.strip():
        return "has leading or trailing whitespace (a copy/paste slip?)"
    if any(ch.isspace() for ch in secret):
        return "contains whitespace"
    if not _PRINTABLE_RE.fullmatch(secret):
        return "contains a character that is not printable ASCII"
    if len(secret) > 1024:
        return "is longer than any Kraken secret"
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64 (Kraken secrets are base64 text, as shown when the key was made)"
    if not raw:
        return "decodes to nothing"
    return None


def symbol_error(field: str, message: str) -> SymbolFormatError:
    return SymbolFormatError(message, field=field)
