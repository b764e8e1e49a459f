"""Property-based checks of the validation layer over every operation schema.

* any generated input either passes or raises ValidationError (never TypeError / ValueError /
  KeyError / RecursionError / anything else);
* a value that is bad for its kind of field is always refused, naming that field;
* good amounts in every accepted form give the exact decimal on the wire (no exponent, no float
  artefact, no trailing zeros);
* unknown keywords, and extra_params that would override checked or reserved fields, are refused.
"""

from __future__ import annotations

import re
import string
import traceback
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from krakenkit._core.errors import KrakenError, ValidationError
from krakenkit._core.jsonutil import MAX_DEPTH, JSONDecodeError, JSONNestingError, dumps, loads
from krakenkit._core.symbols import check_symbol
from krakenkit._core.validation import ALWAYS_RESERVED, SCHEMAS, Schema, check_credentials, validate
from krakenkit._core.validation_schema import Field

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UUID = "6d1b345e-2821-40e2-ad83-4ecb18a06876"
DUUID = "e35d61dd-8a30-4d5f-a574-b5593ef0c050"
_REST_ITEM = {"ordertype": "limit", "type": "buy", "volume": "0.01", "price": "30000"}
_WS_ITEM = {"order_type": "limit", "side": "buy", "order_qty": "0.01", "limit_price": "30000"}

#: One known-good parameter set per schema (the base every mutation starts from).
GOOD: dict[str, dict[str, Any]] = {
    "spot_rest.AddOrder": {
        "ordertype": "limit",
        "type": "buy",
        "volume": "0.01",
        "pair": "XBTUSD",
        "price": "30000",
        "cl_ord_id": UUID,
        "oflags": "post",
        "timeinforce": "GTC",
        "stptype": "cancel-newest",
        "validate": True,
    },
    "spot_rest.AddOrderBatch": {"pair": "XBTUSD", "orders": [_REST_ITEM, {**_REST_ITEM, "type": "sell"}]},
    "spot_rest.AmendOrder": {"txid": "OAAAAA-BBBBB-CCCCCC", "order_qty": "1", "limit_price": "30000"},
    "spot_rest.EditOrder": {"txid": "OAAAAA-BBBBB-CCCCCC", "pair": "XBTUSD", "volume": "1", "price": "30000"},
    "spot_rest.CancelOrder": {"cl_ord_id": UUID},
    "spot_rest.CancelAll": {},
    "spot_rest.CancelAllOrdersAfter": {"timeout": 60},
    "spot_rest.CancelOrderBatch": {"orders": ["OAAAAA-BBBBB-CCCCCC"], "cl_ord_ids": [UUID]},
    "spot_ws.add_order": {
        "order_type": "limit",
        "side": "buy",
        "symbol": "BTC/USD",
        "order_qty": "0.01",
        "limit_price": "30000",
        "cl_ord_id": UUID,
        "time_in_force": "gtc",
        "post_only": True,
        "stp_type": "cancel_both",
    },
    "spot_ws.batch_add": {"symbol": "BTC/USD", "orders": [_WS_ITEM, {**_WS_ITEM, "side": "sell"}]},
    "spot_ws.amend_order": {"cl_ord_id": UUID, "order_qty": "1", "limit_price": "30000"},
    "spot_ws.edit_order": {"order_id": "OAAAAA-BBBBB-CCCCCC", "symbol": "BTC/USD", "order_qty": "1"},
    "spot_ws.cancel_order": {"order_id": ["OAAAAA-BBBBB-CCCCCC"]},
    "spot_ws.cancel_all": {},
    "spot_ws.batch_cancel": {"orders": ["OAAAAA-BBBBB-CCCCCC", "7"]},
    "spot_ws.cancel_all_orders_after": {"timeout": 60},
    "derivatives.sendorder": {
        "orderType": "lmt",
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "size": "1",
        "limitPrice": "30000",
        "cliOrdId": "my-order",
        "reduceOnly": False,
    },
    "derivatives.batchorder": {
        "batchOrder": [
            {"order": "send", "orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "1", "limitPrice": "1"},
            {"order": "edit", "order_id": DUUID, "size": "2"},
            {"order": "cancel", "order_id": DUUID},
        ]
    },
    "derivatives.editorder": {"orderId": DUUID, "size": "2"},
    "derivatives.cancelorder": {"order_id": DUUID},
    "derivatives.cancelallorders": {"symbol": "PF_XBTUSD"},
    "derivatives.cancelallordersafter": {"timeout": 60},
}


def test_every_schema_has_a_good_base_that_passes() -> None:
    assert set(GOOD) == set(SCHEMAS)
    for name, params in GOOD.items():
        validate(name, params)


# --- strategies ---------------------------------------------------------------------------------------

SPECIAL_TEXT = [
    "",
    " ",
    "\n",
    "1e999999999",
    "-1e999999999",
    "1e-999999999",
    "NaN",
    "inf",
    "-0",
    "0",
    "+5%",
    "#",
    "%",
    "+",
    "1_000",
    "\u0661",
    "XBTUSD\n",
    "xbtusd",
    "btc/usd",
    "pf_xbtusd",
    "limit",
    "LIMIT",
    "buy",
    "\x00",
    "9" * 80,
    UUID + "\n",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=30),
    st.text(max_size=30),
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(SPECIAL_TEXT),
    st.binary(max_size=8),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=4),
    ),
    max_leaves=8,
)


def _keys(schema: Schema) -> list[str]:
    return [f.name for f in schema.fields] + [f.wire_name for f in schema.fields if f.wire_name != f.name]


def _call(name: str, params: Any, extra: Any = None) -> Any:
    """Run validate; only a ValidationError may come out (returned, for the caller to inspect)."""
    try:
        return validate(name, params, extra_params=extra)
    except ValidationError as exc:
        assert isinstance(exc, KrakenError)
        assert exc.message  # a message that says what is wrong
        return exc


NAMES = sorted(SCHEMAS)


# --- no raw exceptions, whatever the input ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_any_mutation_passes_or_raises_validation_error(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    params = dict(GOOD[name])
    keys = [*_keys(schema), "post_onyl", "nonce", "token", "extra"]
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["set", "drop", "add"]))
        if action == "set" and params:
            params[data.draw(st.sampled_from(sorted(params)))] = data.draw(junk)
        elif action == "drop" and params:
            params.pop(data.draw(st.sampled_from(sorted(params))))
        else:
            params[data.draw(st.one_of(st.sampled_from(keys), st.text(max_size=10)))] = data.draw(junk)
    _call(name, params)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(params=st.one_of(junk, st.dictionaries(st.text(max_size=12), junk, max_size=6)))
def test_random_params_pass_or_raise_validation_error(name: str, params: Any) -> None:
    _call(name, params)


@pytest.mark.parametrize("name", ["spot_rest.AddOrderBatch", "spot_ws.batch_add", "derivatives.batchorder"])
@FUZZ
@given(data=st.data())
def test_batch_item_mutations_pass_or_raise_validation_error(name: str, data: st.DataObject) -> None:
    params = {k: (list(v) if isinstance(v, list) else v) for k, v in GOOD[name].items()}
    list_key = "batchOrder" if name.startswith("derivatives") else "orders"
    items = [dict(i) for i in params[list_key]]
    i = data.draw(st.integers(0, len(items) - 1))
    keys = [*sorted(items[i]), "close", "triggers", "conditional", "order", "cl_ord_id", "cliOrdId"]
    items[i][data.draw(st.sampled_from(keys))] = data.draw(junk)
    params[list_key] = items
    _call(name, params)


# --- a bad value for its kind of field is always refused, naming the field ----------------------------------


def _bad_values(f: Field, base_value: Any) -> st.SearchStrategy[Any]:
    """Values that are wrong for field ``f`` whatever the other fields say."""
    not_str = st.one_of(st.integers(), st.floats(), st.lists(st.integers(), max_size=2), st.booleans())
    if f.kind == "amount":
        options = [
            st.floats(allow_nan=True),
            st.booleans(),
            st.text(alphabet="abcxyz,_ \n", min_size=1, max_size=8),
            st.sampled_from(["1e999999999", "NaN", "Infinity", "1_0", " 1", "1\n", "", "0x10", "\u0661"]),
            st.just(Decimal("NaN")),
            st.integers(min_value=10**20, max_value=10**40),
            st.decimals(min_value=Decimal("1e21"), max_value=Decimal("1e40"), allow_nan=False),
        ]
        if not f.signed:
            options.append(st.decimals(max_value=Decimal("-0.0001"), min_value=Decimal("-1e6"), places=4))
        if not f.allow_zero:
            options.append(st.sampled_from([0, "0", Decimal(0), "0.000"]))
        return st.one_of(*options)
    if f.kind == "price":
        return st.one_of(
            st.floats(),
            st.booleans(),
            st.sampled_from(["5%", "+", "+%", "++5", "+5%%", "+abc", "1e999999999", "0", "-0", "NaN", "+5 ", "\n5"]),
        )
    if f.kind == "enum":
        return st.one_of(not_str, st.text(max_size=12).filter(lambda t: t not in f.values))
    if f.kind == "flags":
        return st.one_of(st.integers(), st.sampled_from(["", ",", "post,", "post, fciq", "bogus", "POST"]), st.just([]))
    if f.kind == "bool":
        return st.one_of(st.integers(), st.text(max_size=5), st.floats(), st.lists(st.booleans(), max_size=1))
    if f.kind == "int":
        out = [st.floats(), st.text(max_size=6), st.booleans(), st.decimals(allow_nan=False, allow_infinity=False)]
        if f.hi is not None:
            out.append(st.integers(min_value=f.hi + 1, max_value=f.hi + 10**12))
        if f.lo is not None:
            out.append(st.integers(max_value=f.lo - 1, min_value=f.lo - 10**12))
        return st.one_of(*out)
    if f.kind == "symbol":
        assert isinstance(base_value, str)
        return st.one_of(
            st.integers(),
            st.sampled_from([base_value + "\n", base_value + " ", " " + base_value, base_value.lower(), ""]),
        )
    if f.kind == "cl_ord_id":
        return st.one_of(
            st.integers(),
            st.sampled_from([UUID + "\n", "abc\n", "x" * 19, "caf\u00e9", "", UUID[:-1] + "g\t"]),
        )
    if f.kind == "cli_ord_id":
        return st.one_of(st.integers(), st.sampled_from(["x" * 101, "abc\n", "", "\x00"]))
    if f.kind in ("rfc3339", "iso_time"):
        return st.one_of(
            st.integers(), st.sampled_from(["2024-13-01T00:00:00Z", "yesterday", "", "2024-07-21T09:53:59Z\n"])
        )
    if f.kind == "text" or f.kind == "id":
        return st.one_of(
            st.floats(), st.lists(st.integers(), max_size=1), st.sampled_from(["", "a\nb", "\t", "x" * 1000])
        )
    raise NotImplementedError(f.kind)


SCALAR_KINDS = {
    "amount",
    "price",
    "enum",
    "flags",
    "bool",
    "int",
    "symbol",
    "cl_ord_id",
    "cli_ord_id",
    "rfc3339",
    "iso_time",
    "text",
    "id",
}
FIELD_CASES = [
    (name, f.name) for name in NAMES for f in SCHEMAS[name].fields if f.name in GOOD[name] and f.kind in SCALAR_KINDS
]


@pytest.mark.parametrize(("name", "field_name"), FIELD_CASES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_bad_value_is_refused_naming_its_field(name: str, field_name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    f = schema.get_field(field_name)
    params = dict(GOOD[name])
    value = data.draw(_bad_values(f, params[field_name]))
    assume(value is not None)
    params[field_name] = value
    with pytest.raises(ValidationError) as info:
        validate(name, params)
    assert info.value.field is not None and info.value.field.startswith(field_name), (info.value.field, str(info.value))


@pytest.mark.parametrize("name", [n for n in NAMES if SCHEMAS[n].fields])
@FUZZ
@given(data=st.data())
def test_misspelled_keyword_is_refused_naming_it(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    real = data.draw(st.sampled_from([f.name for f in schema.fields]))
    i = data.draw(st.integers(0, len(real)))
    edit = data.draw(st.sampled_from(["insert", "delete", "swap", "upper"]))
    if edit == "insert":
        typo = real[:i] + data.draw(st.sampled_from("aeoxz_")) + real[i:]
    elif edit == "delete" and len(real) > 1:
        typo = real[: min(i, len(real) - 1)] + real[min(i, len(real) - 1) + 1 :]
    elif edit == "swap" and len(real) > 2:
        j = min(i, len(real) - 2)
        typo = real[:j] + real[j + 1] + real[j] + real[j + 2 :]
    else:
        typo = real.upper()
    assume(typo not in _keys(schema) and typo not in schema.reserved)
    params = {**GOOD[name], typo: data.draw(scalars.filter(lambda v: v is not None))}
    with pytest.raises(ValidationError) as info:
        validate(name, params)
    assert info.value.field is not None and info.value.field.endswith(typo)
    assert "unknown parameter" in str(info.value)


# --- good amounts: the exact decimal on the wire ---------------------------------------------------------------

AMOUNT_FIELDS = [
    ("spot_rest.AddOrder", "volume"),
    ("spot_rest.AddOrder", "price"),
    ("spot_rest.AmendOrder", "order_qty"),
    ("spot_rest.EditOrder", "price"),
    ("spot_ws.add_order", "order_qty"),
    ("spot_ws.add_order", "limit_price"),
    ("spot_ws.amend_order", "limit_price"),
    ("derivatives.sendorder", "size"),
    ("derivatives.sendorder", "limitPrice"),
    ("derivatives.editorder", "size"),
]
good_decimals = st.decimals(
    min_value=Decimal("0.000000000000000001"), max_value=Decimal("99999999999999999999"), allow_nan=False, places=18
).filter(lambda d: d > 0)


def _forms(d: Decimal) -> st.SearchStrategy[Any]:
    """The same number as Decimal, int, plain text, exponent text and an exponent Decimal (all exact:
    ``normalize()`` would round to 28 digits)."""
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    sci = ("-" if sign else "") + "".join(map(str, digits)) + f"E{exponent}"
    forms: list[Any] = [d, str(d), format(d, "f"), sci, Decimal(sci)]
    if d == d.to_integral_value():
        forms.append(int(d))
    return st.sampled_from(forms)


PLAIN = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


@pytest.mark.parametrize(("name", "field_name"), AMOUNT_FIELDS)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_good_amount_gives_the_exact_decimal_on_the_wire(name: str, field_name: str, data: st.DataObject) -> None:
    d = data.draw(good_decimals)
    value = data.draw(_forms(d))
    assume(len(str(value)) <= 64)
    params = {**GOOD[name], field_name: value}
    wire = validate(name, params)
    sent = wire[field_name]
    if SCHEMAS[name].encoding == "ws":
        assert isinstance(sent, Decimal) and sent == d
        text = dumps({"v": sent}).decode()[5:-1]  # what goes over the socket
    else:
        assert isinstance(sent, str)
        text = sent
    assert PLAIN.fullmatch(text), text  # no exponent, no trailing zeros, no float artefacts
    assert Decimal(text) == d


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_amount_is_refused_with_the_fix(value: float) -> None:
    with pytest.raises(ValidationError, match="is a float") as info:
        validate("spot_ws.add_order", {**GOOD["spot_ws.add_order"], "order_qty": value})
    assert "Decimal(" in str(info.value)


# --- extra_params -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_extra_params_never_override_a_checked_or_reserved_field(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    protected = _keys(schema) + list(schema.reserved) + sorted(ALWAYS_RESERVED)
    key = data.draw(st.sampled_from(protected))
    value = data.draw(st.one_of(st.text(alphabet=string.ascii_letters, max_size=5), st.integers(0, 9)))
    with pytest.raises(ValidationError) as info:
        validate(name, GOOD[name], extra_params={key: value})
    assert info.value.field == key


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(
    key=st.text(alphabet=string.ascii_lowercase + "_", min_size=3, max_size=12),
    value=st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits + "-./:", max_size=20), st.integers(0, 10**6)
    ),
)
def test_extra_params_may_add_unknown_fields(name: str, key: str, value: Any) -> None:
    schema = SCHEMAS[name]
    assume(key not in _keys(schema) and key not in schema.reserved and key not in ALWAYS_RESERVED)
    assume(not any(f.wire_name.startswith(key + ".") for f in schema.fields))
    wire = validate(name, GOOD[name], extra_params={key: value})
    expected = str(value) if schema.encoding == "form" else value
    assert wire[key] == expected
    assert {k: v for k, v in wire.items() if k != key} == validate(name, GOOD[name])


# --- symbols, credentials, JSON ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=20), st.sampled_from(["XBTUSD", "BTC/USD", "PF_XBTUSD", "AAPLx/USD"])))
def test_symbol_check_accepts_only_exact_forms(text: str) -> None:
    for context in ("spot_rest", "spot_ws", "derivatives"):
        try:
            out = check_symbol(text, context)  # type: ignore[arg-type]
        except ValidationError:
            continue
        assert out == text
        assert not any(ch.isspace() for ch in out) and out.isascii()
        assert "," not in out


@settings(max_examples=200, deadline=None)
@given(
    key=st.one_of(st.text(max_size=60), st.text(alphabet=string.ascii_letters + " \n\t", max_size=60)),
    secret=st.one_of(st.text(max_size=60), st.sampled_from(["c2VjcmV0", "c2VjcmV0 ", "not base64!", "", "===="])),
)
def test_credentials_check_never_shows_the_secret(key: str, secret: str) -> None:
    try:
        check_credentials(key, secret)
    except ValidationError as exc:
        text = str(exc) + repr(exc)
        # the library's frames only (the first frame is this test's own, which holds the inputs)
        assert exc.__traceback__ is not None
        inner = exc.with_traceback(exc.__traceback__.tb_next)
        frames = "".join(traceback.TracebackException.from_exception(inner, capture_locals=True).format())
        if len(secret.strip()) >= 6:
            assert secret.strip() not in text and secret.strip() not in frames
        if len(key.strip()) > 8:
            assert key.strip() not in text and key.strip() not in frames


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(1, 3000), kind=st.sampled_from(["[]", "{}"]))
def test_json_depth_bound(depth: int, kind: str) -> None:
    if kind == "[]":
        text = "[" * depth + "]" * depth
    else:
        text = '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)
    if depth > MAX_DEPTH:
        with pytest.raises(JSONNestingError):
            loads(text.encode())
    else:
        loads(text.encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet='[]{}",:0123456789.eE-tfnrul ', max_size=200))
def test_json_garbage_is_a_decode_error_only(data: bytes | str) -> None:
    try:
        loads(data)
    except JSONDecodeError:
        pass


def test_json_nesting_error_is_both_invalid_response_and_decode_error() -> None:
    from krakenkit._core.errors import InvalidResponseError

    with pytest.raises(JSONDecodeError) as info:
        loads(b"[" * 100_000)
    assert isinstance(info.value, InvalidResponseError)


def _mapping_types(value: Any) -> set[type]:
    if isinstance(value, Mapping):
        return {dict} | set().union(*(_mapping_types(v) for v in value.values()))
    if isinstance(value, list):
        return {list} | set().union(*(_mapping_types(v) for v in value))
    return {type(value)}


@pytest.mark.parametrize("name", NAMES)
def test_wire_values_are_plain_json_types(name: str) -> None:
    wire = validate(name, GOOD[name])
    allowed = {str, int, bool, dict, list} if SCHEMAS[name].encoding != "form" else {str, list, dict}
    if SCHEMAS[name].encoding == "ws":
        allowed |= {Decimal}
    assert _mapping_types(wire) - {dict} <= allowed, _mapping_types(wire)
    dumps(wire)  # encodable as it is


def _true_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_true_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_true_depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet='[]{}"\\ab\n,:\u00e9', max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(0, 6), as_text=st.booleans(), ascii_only=st.booleans())
def test_depth_scan_of_the_text_matches_the_real_depth(value: Any, limit: int, as_text: bool, ascii_only: bool) -> None:
    """The C-speed text scan (brackets and quotes inside strings included) agrees with a real walk."""
    import json

    from krakenkit._core.jsonutil import _too_deep_text

    text = json.dumps(value, ensure_ascii=ascii_only)
    data: bytes | str = text if as_text else text.encode()
    assert _too_deep_text(data, limit) == (_true_depth(value) > limit)
