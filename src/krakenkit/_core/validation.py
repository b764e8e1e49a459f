"""The one validation layer: every order, amend and cancel of every entry point is checked here.

REST Spot and Derivatives, WebSocket trading, the toolkit and the CLI all call the same functions,
so the same input gets the same verdict everywhere, before a byte leaves the process. Bad input
raises :class:`~krakenkit.ValidationError` (or its subclass :class:`~krakenkit.SymbolFormatError`)
naming the field and the fix; nothing here raises a bare ``TypeError``/``ValueError``/``KeyError``.

API
---

``validate(operation, params, *, extra_params=None) -> dict``
    Check the caller's parameters (Python keyword names; the wire names are accepted too; ``None``
    means "not given") and return the **wire parameters**: wire names, values in the wire form of
    the operation's transport. ``operation`` is a schema name (``"spot_rest.AddOrder"``), a client
    method alias (``"spot_rest.submit_order"``) or a :class:`Schema`::

        wire = validate("spot_rest.AddOrder", {"ordertype": "limit", "type": "buy", "volume": "1.25",
                                               "pair": "XBTUSD", "price": Decimal("27500.0")})
        # {'ordertype': 'limit', 'type': 'buy', 'volume': '1.25', 'pair': 'XBTUSD', 'price': '27500'}

    Wire forms: ``form`` (Spot REST form bodies, Derivatives REST: every value a ``str``, bools
    ``"true"``/``"false"``, ``close_ordertype`` -> ``close[ordertype]``); ``json`` (Spot REST JSON
    bodies, i.e. AddOrderBatch / CancelOrderBatch: amounts as ``str``, bools and ints native, a
    batch order's ``close`` nested); ``ws`` (Spot WebSocket v2 params and the Derivatives
    ``batchOrder`` list: amounts as exact ``Decimal``, which :func:`krakenkit._core.jsonutil.dumps`
    writes as JSON numbers; bools and ints native). The nonce, otp and WS token are never part of
    it: the transport adds them. For ``derivatives.batchorder`` the transport sends
    ``json=<dumps({"batchOrder": wire["batchOrder"]})>`` (plus ``processBefore``).

``validate_values(operation, params) -> dict``
    The same checks, returning the canonical values by Python name (``Decimal`` amounts,
    :class:`RelativePrice` texts, ints, bools, enum strings, flag tuples) instead of wire values.

``merge_extra_params(operation, wire, extra_params) -> dict``
    The ``extra_params`` policy: extra fields may **add** parameters krakenkit does not know (a field
    Kraken added last week), never override a checked one or a reserved one (``nonce``, ``otp``,
    ``token``...). Values must be ``str``/``int``/``bool``/``Decimal`` (no float, no control
    characters). ``validate(..., extra_params=...)`` applies it.

``check_credentials(api_key, api_secret, *, product="spot") -> None``
    Construction-time check: the key printable ASCII without whitespace, the secret valid base64.
    A message shows the key only shortened (``'AbCd...***'``) and never any part of the secret;
    neither value is left in the frame locals of the raised error's traceback.

``schema_for(operation) -> Schema`` and :data:`SCHEMAS`
    The schemas themselves (one per operation, see :mod:`krakenkit._core.validation_ops`), for
    generating docs, method signatures and tests.

Policies (``docs/validation.md`` has the per-operation table of what is checked here and what is
left to Kraken):

* **Floats are refused for money** with the fix in the message (``volume='0.3'`` or
  ``Decimal('0.3')``): a float cannot hold most decimal amounts (``0.1 + 0.2`` is
  ``0.30000000000000004``). The same on REST and WebSocket. ``int`` is fine.
* **Amounts** are finite, positive (zero only where Kraken documents it: ``volume=0`` closes a
  margin position), at most 20 digits before and 18 after the point, judged from the number's
  digits and exponent before anything formats it (``'1e999999999'`` is refused at once).
  Strings are plain ASCII decimals (no whitespace, no ``_``, no other scripts' digits).
* **Relative prices** (Spot REST ``price``/``price2``: ``+``, ``-``, ``#`` prefixes, ``%`` suffix;
  AmendOrder ``+``/``-``) are checked and kept as Kraken's text; trailing stops must use them.
* **Enums** are Kraken's exact spellings; a wrong one names the right one (``'LIMIT'`` -> use
  ``'limit'``, ``'lmt'`` on Spot -> ``'limit'``, ``'cancel_both'`` on REST -> ``'cancel-both'``).
* **Unknown keywords** are refused naming the nearest valid one (``post_onyl`` -> "did you mean
  post_only?") or the other API's name for it (``order_qty`` on REST -> ``volume``).
* **Symbols and ids** match their whole text (a trailing newline is refused) and symbols are upper case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from .errors import MissingCredentialsError, ValidationError
from .secrets import Secret
from .validation_ops import SCHEMA_ALIASES, SCHEMAS
from .validation_schema import Context, Encoding, Field, Schema, TypeRule, _unknown, encode, run
from .validation_values import RelativePrice, key_problem, mask, secret_problem

__all__ = [
    "ALWAYS_RESERVED",
    "SCHEMAS",
    "SCHEMA_ALIASES",
    "Context",
    "Field",
    "RelativePrice",
    "Schema",
    "TypeRule",
    "check_credentials",
    "check_extra_params",
    "merge_extra_params",
    "schema_for",
    "unknown_parameter",
    "validate",
    "validate_values",
]

_EXTRA_KEY_RE = re.compile(r"[A-Za-z0-9_.\[\]]{1,64}")
#: Names no ``extra_params`` may carry on any operation (credentials and the request's own envelope).
ALWAYS_RESERVED = frozenset({"nonce", "otp", "token", "api-sign", "api_sign", "apikey", "authent", "req_id", "method"})
_MAX_EXTRA = 32


def schema_for(operation: str | Schema) -> Schema:
    """The schema of ``operation`` (a name in :data:`SCHEMAS` or :data:`SCHEMA_ALIASES`, or a Schema)."""
    if isinstance(operation, Schema):
        return operation
    if isinstance(operation, str):
        schema = SCHEMAS.get(SCHEMA_ALIASES.get(operation, operation))
        if schema is not None:
            return schema
    raise ValidationError(f"unknown operation {operation!r}; known: {', '.join(SCHEMAS)}", field="operation")


def unknown_parameter(operation: str | Schema, key: str) -> ValidationError:
    """The error for a keyword ``operation`` does not take: the nearest valid name, or the other API's name
    for it (``post_onyl`` -> "did you mean post_only?"), as :func:`validate` says it."""
    schema = schema_for(operation)
    return _unknown(schema, key, key)


def validate_values(operation: str | Schema, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check ``params``; return the canonical values by Python name (see the module docstring)."""
    return run(schema_for(operation), {} if params is None else params)


def validate(
    operation: str | Schema,
    params: Mapping[str, Any] | None = None,
    *,
    extra_params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check ``params`` and return the wire parameters (see the module docstring)."""
    schema = schema_for(operation)
    wire = encode(schema, run(schema, {} if params is None else params))
    if extra_params:
        wire = merge_extra_params(schema, wire, extra_params)
    return wire


def _extra_value(value: Any, key: str, encoding: Encoding) -> Any:
    if isinstance(value, bool):
        return ("true" if value else "false") if encoding == "form" else value
    if isinstance(value, int):
        if abs(value) >= 10**20:
            raise ValidationError(f"extra_params[{key!r}] is too large", field=key)
        return str(value) if encoding == "form" else value
    if isinstance(value, Decimal):
        from .decimals import format_decimal

        text = format_decimal(value)
        return value if encoding == "ws" else text
    if isinstance(value, float):
        raise ValidationError(
            f"extra_params[{key!r}]={value!r} is a float; pass a str or Decimal (floats are not sent)", field=key
        )
    if isinstance(value, str):
        if len(value) > 1000:
            raise ValidationError(f"extra_params[{key!r}] is {len(value)} characters long (at most 1000)", field=key)
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValidationError(
                f"extra_params[{key!r}]={value[:40]!r} contains a control character (newline, tab...)", field=key
            )
        return value
    raise ValidationError(
        f"extra_params[{key!r}] must be a str, int, bool or Decimal (got {type(value).__name__})", field=key
    )


def merge_extra_params(
    operation: str | Schema, wire: Mapping[str, Any], extra_params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``wire`` plus ``extra_params``: new fields only (see the module docstring). Returns a new dict."""
    schema = schema_for(operation)
    checked: dict[str, str] = {}
    for f in schema.fields:
        checked[f.name] = f.name
        checked[f.wire_name] = f.name
        if "." in f.wire_name:
            checked[f.wire_name.split(".", 1)[0]] = f.name
    extra = check_extra_params(
        extra_params,
        checked=checked,
        reserved=schema.reserved,
        encoding=schema.encoding,
        title=f"a checked {schema.title} field",
        endpoint=schema.endpoint,
    )
    out = dict(wire)
    for key, value in extra.items():
        if key in out:  # pragma: no cover - every wire key belongs to a checked field
            raise ValidationError(f"extra_params[{key!r}] would override a checked field", field=key)
        out[key] = value
    return out


def check_extra_params(
    extra_params: Any,
    *,
    checked: Mapping[str, str],
    reserved: Iterable[str] = (),
    encoding: Encoding = "form",
    title: str = "a parameter of this call",
    endpoint: str | None = None,
) -> dict[str, Any]:
    """The ``extra_params`` policy on its own, for any call: the entries checked and written in the wire
    form of ``encoding``. ``checked`` maps every name (Python and wire) the call itself takes to its
    keyword: such a key is refused (pass it as that keyword), as is any ``reserved`` or
    :data:`ALWAYS_RESERVED` name; values are ``str``/``int``/``bool``/``Decimal`` (no float, no control
    characters)."""
    if extra_params is None:
        return {}
    if not isinstance(extra_params, Mapping):
        raise ValidationError(
            f"extra_params must be a dict (got {type(extra_params).__name__})", field="extra_params", endpoint=endpoint
        )
    if len(extra_params) > _MAX_EXTRA:
        raise ValidationError(
            f"extra_params has {len(extra_params)} entries (at most {_MAX_EXTRA})", field="extra_params"
        )
    reserved_names = frozenset(reserved)
    out: dict[str, Any] = {}
    for key, value in extra_params.items():
        if not isinstance(key, str):
            raise ValidationError(f"extra_params keys must be str (got {type(key).__name__})", field="extra_params")
        known = checked.get(key)
        if known is not None:
            raise ValidationError(
                f"extra_params[{key!r}]: {known} is {title}; pass it as {known}=... "
                "(extra_params may only add fields krakenkit does not know)",
                field=key,
                endpoint=endpoint,
            )
        if key in reserved_names or key.lower() in ALWAYS_RESERVED:
            raise ValidationError(
                f"extra_params[{key!r}]: {key} is set by krakenkit for every request and cannot be overridden",
                field=key,
                endpoint=endpoint,
            )
        if not _EXTRA_KEY_RE.fullmatch(key):
            raise ValidationError(f"extra_params key {key[:70]!r} is not a parameter name", field="extra_params")
        out[key] = _extra_value(value, key, encoding)
    return out


def _plain(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Secret):
        return value.get_secret_value()
    return value if isinstance(value, str) else None


def check_credentials(api_key: Any, api_secret: Any, *, product: str = "spot") -> None:
    """Refuse an unusable key or secret at construction time (see the module docstring).

    ``None`` for both means "no credentials" (public calls only) and passes; only one of them raises
    :class:`~krakenkit.MissingCredentialsError`. ``product``: ``spot`` or ``futures``/``derivatives``
    (names the right environment variables in the message).
    """
    names = (
        ("API_FUTURES_KEY", "API_FUTURES_SECRET")
        if product in ("futures", "derivatives")
        else (
            "API_SPOT_KEY",
            "API_SPOT_SECRET",
        )
    )
    key_type = None if api_key is None or isinstance(api_key, (str, Secret)) else type(api_key).__name__
    secret_type = None if api_secret is None or isinstance(api_secret, (str, Secret)) else type(api_secret).__name__
    key = _plain(api_key)
    secret = _plain(api_secret)
    given_key, given_secret = api_key is not None, api_secret is not None
    key_issue = None if key is None else key_problem(key)
    secret_issue = None if secret is None else secret_problem(secret)
    shown = mask(key) if key is not None and key_issue is None else (mask(key.strip()) if key else "")
    # From here on no plain credential is kept in this frame: a traceback's locals show none.
    del api_key, api_secret, key, secret
    if not given_key and not given_secret:
        return
    if given_key != given_secret:
        missing = "api_secret" if given_key else "api_key"
        raise MissingCredentialsError(
            f"{missing} is missing: pass both api_key and api_secret (or neither, for public calls only); "
            f"from the environment: {names[0]} and {names[1]}",
            field=missing,
        )
    if key_type is not None:
        raise ValidationError(f"api_key must be a str (got {key_type})", field="api_key")
    if secret_type is not None:
        raise ValidationError(f"api_secret must be a str (got {secret_type})", field="api_secret")
    if key_issue is not None:
        raise ValidationError(
            f"api_key {shown} {key_issue}; check the key ({names[0]}) as copied from Kraken", field="api_key"
        )
    if secret_issue is not None:
        raise ValidationError(
            f"api_secret {secret_issue}; check the private key ({names[1]}) as copied from Kraken", field="api_secret"
        )
