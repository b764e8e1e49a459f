"""Symbol notations and the checks that keep each in its own context.

=============== ===================== ==========================
context          form                  examples
=============== ===================== ==========================
``spot_rest``    Kraken pair names      ``XBTUSD``, ``XXBTZUSD``, ``ETHUSD``
``spot_ws``      WS v2 ``BASE/QUOTE``   ``BTC/USD``, ``ETH/EUR``
``derivatives``  prefixed instruments   ``PF_XBTUSD``, ``PI_ETHUSD``, ``FF_XBTUSD_260327``
=============== ===================== ==========================

A symbol in the wrong form raises :class:`SymbolFormatError` before anything is sent, naming the
form the context expects and, where it can be told, the right spelling. Every check matches the
whole text (a trailing newline or space is refused, never silently kept).

``strict=True`` (what the order validation layer uses) also refuses lower case, naming the exact
upper-case spelling (``xbtusd`` -> ``'XBTUSD'``; the one lower-case letter Kraken uses, the ``x``
of tokenized assets such as ``AAPLx/USD``, is allowed), and for Spot REST refuses a
comma-separated list unless ``allow_list=True``.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import SymbolFormatError

__all__ = [
    "SymbolContext",
    "check_symbol",
    "classify_symbol",
    "validate_derivatives_symbol",
    "validate_spot_rest_symbol",
    "validate_spot_ws_symbol",
    "validate_symbol",
]

SymbolContext = Literal["spot_rest", "spot_ws", "derivatives"]

# Patterns are used with fullmatch (``$`` would also match before a trailing newline).
_DERIV_RE = re.compile(r"(PF|PI|PV|FF|FI|FV|IN|RR)_[A-Z0-9]+(_[A-Z0-9]+)*", re.IGNORECASE)
_WS_RE = re.compile(r"[A-Za-z0-9.]{1,16}/[A-Za-z0-9.]{1,16}")
_REST_RE = re.compile(r"[A-Za-z0-9.]{2,32}")
_LEGACY_RE = re.compile(r"[XZ][A-Z]{3}[XZ][A-Z]{3}")
# Strict forms (upper case). Kraken's tokenized assets (xStocks) carry one lower-case 'x' after
# the ticker: 'AAPLx/USD' (WS v2), 'AAPLxUSD' (REST).
_STRICT_DERIV_RE = re.compile(r"(PF|PI|PV|FF|FI|FV|IN|RR)_[A-Z0-9]+(_[A-Z0-9]+)*")
_STRICT_WS_RE = re.compile(r"[A-Z0-9.]{1,16}x?/[A-Z0-9.]{1,16}")
_STRICT_REST_RE = re.compile(r"(?=.{2,32}\Z)[A-Z0-9.]+(x[A-Z0-9.]+)?")

# WS v2 / common names -> Kraken REST asset codes, for hints only (the SymbolMapper is exact).
_REST_ALIASES = {"BTC": "XBT", "DOGE": "XDG"}
_WS_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}


def classify_symbol(symbol: str) -> SymbolContext | None:
    """Which notation a symbol is written in, or None when it fits none."""
    if not isinstance(symbol, str):
        return None
    if _DERIV_RE.fullmatch(symbol):
        return "derivatives"
    if _WS_RE.fullmatch(symbol):
        return "spot_ws"
    if _REST_RE.fullmatch(symbol):
        return "spot_rest"
    return None


def _rest_hint(symbol: str) -> str:
    if "/" in symbol:
        base, quote = symbol.split("/", 1)
        return _REST_ALIASES.get(base.upper(), base.upper()) + _REST_ALIASES.get(quote.upper(), quote.upper())
    if "_" in symbol:
        rest = symbol.split("_", 1)[1].split("_")[0].upper()
        return rest
    if _LEGACY_RE.fullmatch(symbol.upper()):  # XXBTZUSD -> XBTUSD
        s = symbol.upper()
        return s[1:4] + s[5:8]
    return symbol


def _ws_hint(symbol: str) -> str:
    s = symbol.upper()
    if "_" in s:
        s = s.split("_", 1)[1].split("_")[0]
    for quote in ("USDT", "USDC", "USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "BTC", "XBT", "ETH"):
        if s.endswith(quote) and len(s) > len(quote):
            base = s[: -len(quote)]
            if len(base) == 4 and base[0] in "XZ" and len(quote) == 3:
                base = base[1:]
            return f"{_WS_ALIASES.get(base, base)}/{_WS_ALIASES.get(quote, quote)}"
    return "BASE/QUOTE"


def _whitespace_error(symbol: str, field: str) -> SymbolFormatError | None:
    if symbol != symbol.strip() or any(ch.isspace() for ch in symbol):
        return SymbolFormatError(
            f"{field}={symbol!r} contains whitespace (a trailing newline or space?); pass {symbol.strip()!r}",
            field=field,
        )
    return None


def _case_error(symbol: str, field: str) -> SymbolFormatError:
    return SymbolFormatError(f"{field}={symbol!r}: Kraken symbols are upper case; use {symbol.upper()!r}", field=field)


def validate_spot_rest_symbol(
    symbol: object, field: str = "pair", *, strict: bool = False, allow_list: bool = True
) -> str:
    """Spot REST wants Kraken pair names (``XBTUSD``); a comma-separated list is allowed (unless
    ``allow_list=False``)."""
    if not isinstance(symbol, str) or not symbol:
        raise SymbolFormatError(f"{field} must be a non-empty str such as 'XBTUSD'", field=field)
    if len(symbol) > 2000:
        raise SymbolFormatError(f"{field} is {len(symbol)} characters long; not a list of pair names", field=field)
    ws_error = _whitespace_error(symbol, field)
    if ws_error is not None:
        raise ws_error
    parts = symbol.split(",")
    if len(parts) > 1 and not allow_list:
        raise SymbolFormatError(
            f"{field}={symbol!r} is a list; this call takes one pair name such as {parts[0]!r}", field=field
        )
    for part in parts:
        kind = classify_symbol(part)
        if kind == "spot_rest":
            if strict and not _STRICT_REST_RE.fullmatch(part):
                raise _case_error(part, field)
            continue
        if kind == "spot_ws":
            raise SymbolFormatError(
                f"{field}={part!r} is in Spot WebSocket v2 form; Spot REST takes Kraken pair names "
                f"such as {_rest_hint(part)!r}",
                field=field,
            )
        if kind == "derivatives":
            raise SymbolFormatError(
                f"{field}={part!r} is a Derivatives instrument; Spot REST takes Kraken pair names "
                f"such as {_rest_hint(part)!r} (use DerivativesClient for {part!r})",
                field=field,
            )
        raise SymbolFormatError(f"{field}={part!r} is not a Kraken pair name such as 'XBTUSD'", field=field)
    return symbol


def validate_spot_ws_symbol(symbol: object, field: str = "symbol", *, strict: bool = False) -> str:
    """Spot WS v2 wants ``BASE/QUOTE`` (``BTC/USD``)."""
    if not isinstance(symbol, str) or not symbol:
        raise SymbolFormatError(f"{field} must be a non-empty str such as 'BTC/USD'", field=field)
    if len(symbol) > 64:
        raise SymbolFormatError(
            f"{field} is {len(symbol)} characters long; not a symbol such as 'BTC/USD'", field=field
        )
    ws_error = _whitespace_error(symbol, field)
    if ws_error is not None:
        raise ws_error
    kind = classify_symbol(symbol)
    if kind == "spot_ws":
        if strict and not _STRICT_WS_RE.fullmatch(symbol):
            raise _case_error(symbol, field)
        return symbol
    if kind == "derivatives":
        raise SymbolFormatError(
            f"{field}={symbol!r} is a Derivatives instrument; Spot WebSocket v2 takes 'BASE/QUOTE' such as "
            f"{_ws_hint(symbol)!r} (Derivatives feeds use the derivativesPublicV1 key)",
            field=field,
        )
    raise SymbolFormatError(
        f"{field}={symbol!r} is not in Spot WebSocket v2 form; use 'BASE/QUOTE' such as {_ws_hint(symbol)!r}",
        field=field,
    )


def validate_derivatives_symbol(symbol: object, field: str = "symbol", *, strict: bool = False) -> str:
    """Derivatives want prefixed instruments (``PF_XBTUSD``)."""
    if not isinstance(symbol, str) or not symbol:
        raise SymbolFormatError(f"{field} must be a non-empty str such as 'PF_XBTUSD'", field=field)
    if len(symbol) > 64:
        raise SymbolFormatError(
            f"{field} is {len(symbol)} characters long; not an instrument such as 'PF_XBTUSD'", field=field
        )
    ws_error = _whitespace_error(symbol, field)
    if ws_error is not None:
        raise ws_error
    if classify_symbol(symbol) == "derivatives":
        if strict and not _STRICT_DERIV_RE.fullmatch(symbol):
            raise _case_error(symbol, field)
        return symbol
    hint = "PF_" + _rest_hint(symbol).upper().replace("BTC", "XBT")
    raise SymbolFormatError(
        f"{field}={symbol!r} is a Spot symbol; Derivatives take prefixed instruments such as {hint!r} "
        "(PF_ perpetual, PI_ inverse perpetual, FF_/FI_ fixed maturity)",
        field=field,
    )


def validate_symbol(symbol: object, context: SymbolContext, field: str = "symbol", *, strict: bool = False) -> str:
    if context == "spot_rest":
        return validate_spot_rest_symbol(symbol, field, strict=strict)
    if context == "spot_ws":
        return validate_spot_ws_symbol(symbol, field, strict=strict)
    return validate_derivatives_symbol(symbol, field, strict=strict)


def check_symbol(symbol: object, context: SymbolContext, field: str = "symbol") -> str:
    """The order layer's check: one symbol, written exactly as ``context`` wants it (upper case, no
    list, no whitespace). Raises :class:`SymbolFormatError` naming the exact fix."""
    if context == "spot_rest":
        return validate_spot_rest_symbol(symbol, field, strict=True, allow_list=False)
    if context == "spot_ws":
        return validate_spot_ws_symbol(symbol, field, strict=True)
    return validate_derivatives_symbol(symbol, field, strict=True)
