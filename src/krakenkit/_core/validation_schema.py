"""The engine of the validation layer: operation schemas as data, and the one function that runs them.

A :class:`Schema` lists an operation's fields (:class:`Field`: Python keyword, wire name, kind of
value, required or not, enum values, bounds), its per-order-type rules (:class:`TypeRule`: which
fields an order type needs and which it must not have), its groups (exactly one of, at least one
of, at most one of, all or none) and any further named rules (plain functions of a
:class:`Context`). :func:`run` checks a mapping of user parameters against it and returns the
canonical values; :func:`encode` writes them in the wire form of the schema's transport.

Nothing here does I/O and nothing raises anything but :class:`~krakenkit.ValidationError` (or its
subclass :class:`~krakenkit.SymbolFormatError`) for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from .errors import SymbolFormatError, ValidationError
from .ids import validate_futures_cli_ord_id, validate_spot_cl_ord_id
from .symbols import SymbolContext, check_symbol
from .validation_values import (
    RelativePrice,
    check_amount,
    check_bool,
    check_enum,
    check_flags,
    check_int,
    check_iso_time,
    check_opaque_id,
    check_price,
    check_rfc3339,
    check_text,
    check_unix_time,
    format_amount,
    suggest,
)

__all__ = [
    "Context",
    "Encoding",
    "Field",
    "Kind",
    "Rule",
    "Schema",
    "TypeRule",
    "encode",
    "run",
]

#: ``form``: every value a str (Spot/Derivatives REST form bodies and queries; bools ``true``/``false``);
#: ``json``: Spot REST JSON bodies (amounts as str, bools and ints native);
#: ``ws``: JSON with amounts as exact ``Decimal`` (written as JSON numbers), bools and ints native.
Encoding = Literal["form", "json", "ws"]

Kind = Literal[
    "amount",  # Decimal > 0 (allow_zero / signed widen it)
    "price",  # Spot REST price: amount, or relative text with prefixes / '%'
    "int",
    "bool",
    "enum",
    "flags",  # a set of enum values, comma-joined on the wire
    "symbol",  # context: spot_rest | spot_ws | derivatives
    "cl_ord_id",  # Spot client order id
    "cli_ord_id",  # Derivatives client order id
    "id",  # an id Kraken assigned (int_ok: or an int32 user reference)
    "text",
    "rfc3339",
    "iso_time",
    "unix_time",  # Spot REST starttm / expiretm
    "leverage",  # Spot REST leverage: int >= 1 or 'N' / 'N:1'
    "object",  # a nested mapping checked by ``schema``
    "list",  # a list (or one scalar) of ``item`` values
    "objects",  # a list of mappings, each checked by ``schema`` (or ``variants`` by ``discriminator``)
]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Field:
    """One parameter of an operation."""

    name: str  # Python keyword
    kind: Kind
    wire: str = ""  # wire name ('.' nests: 'close.ordertype' -> {"close": {"ordertype": ...}})
    required: bool = False
    values: tuple[str, ...] = ()  # enum / flags values, Kraken's exact spellings
    aliases: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # known wrong spellings -> the right one
    note: str = ""  # said after an alias hint (e.g. "the Derivatives spelling")
    lo: int | None = None  # int bounds
    hi: int | None = None
    allow_zero: bool = False  # amounts
    signed: bool = False  # amounts: negative allowed
    prefixes: str = "+-#"  # price: relative prefixes allowed
    absolute: bool = True  # price: absolute values allowed
    max_len: int = 64  # text / id
    spaces: bool = False  # text: spaces allowed
    int_ok: bool = False  # id: an int user reference is also fine
    context: str = ""  # symbol context
    schema: Schema | None = None  # object / objects
    variants: Mapping[str, Schema] = field(default_factory=dict)  # objects: schema per discriminator value
    discriminator: str = ""
    item: Field | None = None  # list item
    min_items: int = 0  # list / objects
    max_items: int | None = None
    doc: str = ""

    @property
    def wire_name(self) -> str:
        return self.wire or self.name


@dataclass(frozen=True, slots=True)
class TypeRule:
    """What one order type needs (``required``) and must not have (``forbidden``)."""

    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()


Rule = Callable[["Context"], None]


@dataclass(frozen=True, slots=True)
class Schema:
    """One operation: its fields and rules, as data."""

    name: str  # registry key: "spot_rest.AddOrder"
    title: str  # shown in messages: "AddOrder"
    endpoint: str  # "/0/private/AddOrder", "add_order", "/derivatives/api/v3/sendorder"
    encoding: Encoding
    fields: tuple[Field, ...]
    type_field: str | None = None
    type_rules: Mapping[str, TypeRule] = field(default_factory=dict)
    exactly_one: tuple[tuple[str, ...], ...] = ()
    at_least_one: tuple[tuple[str, ...], ...] = ()
    exclusive: tuple[tuple[str, ...], ...] = ()  # at most one of
    together: tuple[tuple[str, ...], ...] = ()  # all or none
    rules: tuple[Rule, ...] = ()
    hints: Mapping[str, str] = field(default_factory=dict)  # unknown keyword -> advice
    reserved: tuple[str, ...] = ("nonce",)  # set by krakenkit, never by the caller
    doc: str = ""

    def get_field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(slots=True)
class Context:
    """What a rule sees: the canonical values (by Python name) and how to name a field in a message."""

    schema: Schema
    values: dict[str, Any]
    prefix: str = ""
    parent: Context | None = None

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def fail(self, name: str, message: str) -> ValidationError:
        """The error to raise for field ``name`` (``message`` is said after the operation's title and,
        inside a batch or nested dict, after where: ``batchorder: batchOrder[2]: size is required``)."""
        where = f"{self.prefix.rstrip('.')}: " if self.prefix and not message.startswith(self.prefix) else ""
        return ValidationError(
            f"{self.schema.title}: {where}{message}", field=self.path(name), endpoint=self.schema.endpoint
        )


# --- running a schema ---------------------------------------------------------------------------


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a user object with a broken __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _retitle(exc: ValidationError, schema: Schema) -> ValidationError:
    cls = SymbolFormatError if isinstance(exc, SymbolFormatError) else ValidationError
    message = exc.message if exc.message.startswith(schema.title + ":") else f"{schema.title}: {exc.message}"
    return cls(message, field=exc.field, endpoint=schema.endpoint)


def _unknown(schema: Schema, key: str, path: str) -> ValidationError:
    hint = schema.hints.get(key)
    if hint is None:
        best = suggest(key, (*schema.names, *schema.hints))
        if best is not None and best in schema.hints and best not in schema.names:
            hint = f"did you mean {best}? {schema.hints[best]}"  # 'post_onyl' on REST: post_only -> oflags
        elif best is not None:
            hint = f"did you mean {best}?"
        else:
            hint = "known fields: " + ", ".join(schema.names)
    return ValidationError(f"{schema.title}: unknown parameter {path!r}; {hint}", field=path, endpoint=schema.endpoint)


def _convert(f: Field, value: Any, path: str, parent: Context) -> Any:
    kind = f.kind
    if kind == "amount":
        return check_amount(value, path, allow_zero=f.allow_zero, signed=f.signed, name=f.name)
    if kind == "price":
        return check_price(value, path, prefixes=f.prefixes, allow_absolute=f.absolute)
    if kind == "int":
        return check_int(value, path, lo=f.lo, hi=f.hi)
    if kind == "bool":
        return check_bool(value, path)
    if kind == "enum":
        return check_enum(value, path, f.values, aliases=f.aliases, note=f.note)
    if kind == "flags":
        return check_flags(value, path, f.values, aliases=f.aliases)
    if kind == "symbol":
        ctx: SymbolContext = (
            "spot_ws" if f.context == "spot_ws" else "derivatives" if f.context == "derivatives" else "spot_rest"
        )
        return check_symbol(value, ctx, path)
    if kind == "cl_ord_id":
        return validate_spot_cl_ord_id(value, path)
    if kind == "cli_ord_id":
        return validate_futures_cli_ord_id(value, path)
    if kind == "id":
        return check_opaque_id(value, path, max_len=f.max_len, int_ok=f.int_ok)
    if kind == "text":
        return check_text(value, path, max_len=f.max_len, spaces=f.spaces)
    if kind == "rfc3339":
        return check_rfc3339(value, path)
    if kind == "iso_time":
        return check_iso_time(value, path)
    if kind == "unix_time":
        return check_unix_time(value, path, min_relative=f.lo or 0)
    if kind == "leverage":
        return _leverage(value, path)
    if kind == "object":
        assert f.schema is not None
        if not isinstance(value, Mapping):
            raise ValidationError(
                f"{path} must be a dict of {f.schema.title} fields (got {type(value).__name__})", field=path
            )
        return _run(f.schema, value, path + ".", parent)
    if kind == "list":
        return _list(f, value, path, parent)
    if kind == "objects":
        return _objects(f, value, path, parent)
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover - schemas are static data


def _leverage(value: Any, path: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(check_int(value, path, lo=1, hi=100))
    if isinstance(value, str):
        text = value[:-2] if value.endswith(":1") else value
        if text.isascii() and text.isdigit() and len(text) <= 3 and int(text) >= 1:
            return value
    raise ValidationError(
        f"{path}={_show(value)} is not a leverage; pass an int such as 2 or a str such as '2' or '2:1'", field=path
    )


def _as_items(value: Any, path: str, what: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, set, frozenset)):
        raise ValidationError(f"{path} must be a list of {what} (got {type(value).__name__})", field=path)
    return list(value)


def _count(f: Field, n: int, path: str) -> None:
    if n < f.min_items:
        raise ValidationError(
            f"{path} has {n} entr{'y' if n == 1 else 'ies'}; Kraken needs at least {f.min_items}", field=path
        )
    if f.max_items is not None and n > f.max_items:
        raise ValidationError(f"{path} has {n} entries; Kraken takes at most {f.max_items}", field=path)


def _list(f: Field, value: Any, path: str, parent: Context) -> list[Any]:
    assert f.item is not None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        items: list[Any] = [value]  # one id given bare
    else:
        items = _as_items(value, path, "values")
    _count(f, len(items), path)
    return [_convert(f.item, v, f"{path}[{i}]", parent) for i, v in enumerate(items)]


def _objects(f: Field, value: Any, path: str, parent: Context) -> list[dict[str, Any]]:
    items = _as_items(value, path, "dicts")
    _count(f, len(items), path)
    out = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(f"{where} must be a dict (got {type(item).__name__})", field=where)
        schema = f.schema
        if f.variants:
            kind = item.get(f.discriminator)
            options = tuple(f.variants)
            if not isinstance(kind, str) or kind not in f.variants:
                kind = check_enum(kind, f"{where}.{f.discriminator}", options)
            schema = f.variants[kind]
        assert schema is not None
        out.append(_run(schema, item, where + ".", parent, index=i))
    return out


def _run(
    schema: Schema, params: Mapping[str, Any], prefix: str, parent: Context | None, index: int = -1
) -> dict[str, Any]:
    by_name = {f.name: f for f in schema.fields}
    by_wire = {f.wire_name: f for f in schema.fields if f.wire_name != f.name}
    values: dict[str, Any] = {}
    ctx = Context(schema, values, prefix, parent)
    given_as: dict[str, str] = {}
    nested: list[tuple[Field, Any]] = []
    for key, value in params.items():
        if not isinstance(key, str):
            raise ValidationError(
                f"{schema.title}: parameter names must be str (got {type(key).__name__} {_show(key)})",
                field=prefix.rstrip(".") or None,
                endpoint=schema.endpoint,
            )
        if value is None:
            continue  # None means "not given", as for keyword arguments
        f = by_name.get(key) or by_wire.get(key)
        if f is None:
            if key in schema.reserved:
                raise ValidationError(
                    f"{schema.title}: {key!r} is set by krakenkit and cannot be passed",
                    field=prefix + key,
                    endpoint=schema.endpoint,
                )
            raise _unknown(schema, key, prefix + key)
        if f.name in given_as:
            raise ValidationError(
                f"{schema.title}: {f.name} given twice (as {given_as[f.name]!r} and {key!r})",
                field=prefix + f.name,
                endpoint=schema.endpoint,
            )
        given_as[f.name] = key
        if f.kind in ("object", "objects"):
            nested.append((f, value))  # after the scalars: nested rules may look at them
            values[f.name] = None  # keeps the caller's order
            continue
        try:
            values[f.name] = _convert(f, value, prefix + f.name, ctx)
        except ValidationError as exc:
            raise _retitle(exc, schema) from None
    for f, value in nested:
        try:
            values[f.name] = _convert(f, value, prefix + f.name, ctx)
        except ValidationError as exc:
            raise _retitle(exc, schema) from None
    for f in schema.fields:
        if f.required and f.name not in values:
            raise ctx.fail(f.name, f"{f.name} is required")
    if schema.type_field is not None and schema.type_field in values:
        tval = values[schema.type_field]
        rule = schema.type_rules.get(tval)
        if rule is not None:
            for name in rule.required:
                if name not in values:
                    raise ctx.fail(name, f"{name} is required for {schema.type_field}={tval!r}")
            for name in rule.forbidden:
                if name in values:
                    raise ctx.fail(name, f"{name} is not used by {schema.type_field}={tval!r}; leave it out")
    for group in schema.exactly_one:
        present = [n for n in group if n in values]
        if len(present) != 1:
            names = " or ".join(f"{n}=" for n in group)
            if present:
                raise ctx.fail(present[1], f"pass exactly one of {names} (got {', '.join(present)})")
            raise ctx.fail(group[0], f"needs {names}")
    for group in schema.at_least_one:
        if not any(n in values for n in group):
            raise ctx.fail(group[0], "needs at least one of " + ", ".join(f"{n}=" for n in group))
    for group in schema.exclusive:
        present = [n for n in group if n in values]
        if len(present) > 1:
            raise ctx.fail(present[1], f"{' and '.join(present)} cannot be combined; pass only one")
    for group in schema.together:
        present = [n for n in group if n in values]
        if present and len(present) != len(group):
            missing = [n for n in group if n not in values]
            raise ctx.fail(missing[0], f"{present[0]} needs {', '.join(missing)} as well")
    if index >= 0:
        values.setdefault("__index__", index)
    try:
        for rule_fn in schema.rules:
            rule_fn(ctx)
    except ValidationError as exc:
        raise _retitle(exc, schema) from None
    values.pop("__index__", None)
    return values


def run(schema: Schema, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``params`` (Python names or wire names; ``None`` values are left out) against ``schema``.

    Returns the canonical values keyed by Python name, in the order given (defaults a rule adds come
    last): ``Decimal`` amounts, :class:`RelativePrice` text, ints, bools, enum strings, flag tuples,
    nested dicts and lists. Raises :class:`ValidationError` naming the field and the fix.
    """
    if not isinstance(params, Mapping):
        raise ValidationError(
            f"{schema.title}: parameters must be a dict (got {type(params).__name__})", endpoint=schema.endpoint
        )
    return _run(schema, params, "", None)


# --- writing the wire form ----------------------------------------------------------------------


def _encode_value(f: Field, value: Any, encoding: Encoding) -> Any:
    if isinstance(value, RelativePrice):
        return str(value)
    if isinstance(value, bool):
        return ("true" if value else "false") if encoding == "form" else value
    if isinstance(value, Decimal):
        return value if encoding == "ws" else format_amount(value)
    if isinstance(value, int):
        return str(value) if encoding == "form" else value
    if isinstance(value, tuple):  # flags
        return ",".join(value)
    if isinstance(value, dict):
        schema = f.schema
        if f.variants:
            schema = f.variants.get(str(value.get(f.discriminator, "")), schema)
        assert schema is not None
        return encode(schema, value, encoding)
    if isinstance(value, list):
        if f.kind == "objects":
            return [_encode_value(f, v, encoding) for v in value]
        assert f.item is not None
        return [_encode_value(f.item, v, encoding) for v in value]
    return value


def encode(schema: Schema, values: Mapping[str, Any], encoding: Encoding | None = None) -> dict[str, Any]:
    """The wire form of canonical ``values``: wire names, values per ``encoding`` (default: the schema's)."""
    enc: Encoding = encoding or schema.encoding
    by_name = {f.name: f for f in schema.fields}
    out: dict[str, Any] = {}
    for name, value in values.items():
        f = by_name[name]
        wire = _encode_value(f, value, enc)
        if "." in f.wire_name:
            head, tail = f.wire_name.split(".", 1)
            nested = out.setdefault(head, {})
            nested[tail] = wire
        else:
            out[f.wire_name] = wire
    return out
