"""The validation layer's API: schemas, wire forms, extra_params, credentials, JSON depth."""

from __future__ import annotations

import time
import traceback
from decimal import Decimal

import pytest

from krakenkit._core import jsonutil
from krakenkit._core.errors import InvalidResponseError, MissingCredentialsError, SymbolFormatError, ValidationError
from krakenkit._core.secrets import Secret
from krakenkit._core.validation import (
    SCHEMA_ALIASES,
    SCHEMAS,
    RelativePrice,
    check_credentials,
    merge_extra_params,
    schema_for,
    validate,
    validate_values,
)

UUID = "6d1b345e-2821-40e2-ad83-4ecb18a06876"
LIMIT = {"ordertype": "limit", "type": "buy", "volume": "1.25", "pair": "XBTUSD", "price": "27500.0"}


def test_spot_rest_add_order_kwargs_to_wire_params() -> None:
    wire = validate("spot_rest.AddOrder", {**LIMIT, "cl_ord_id": UUID, "oflags": ("post",), "validate": True})
    assert wire == {
        "ordertype": "limit",
        "type": "buy",
        "volume": "1.25",
        "pair": "XBTUSD",
        "price": "27500",
        "cl_ord_id": UUID,
        "oflags": "post",
        "validate": "true",
    }
    assert list(wire) == ["ordertype", "type", "volume", "pair", "price", "cl_ord_id", "oflags", "validate"]


def test_method_aliases_and_schema_objects_name_the_same_operation() -> None:
    schema = SCHEMAS["spot_rest.AddOrder"]
    assert schema_for("spot_rest.submit_order") is schema
    assert schema_for(schema) is schema
    assert validate(schema, LIMIT) == validate("spot_rest.submit_order", LIMIT)
    for alias, target in SCHEMA_ALIASES.items():
        assert schema_for(alias) is SCHEMAS[target]
    with pytest.raises(ValidationError, match="unknown operation"):
        schema_for("spot_rest.Nope")


def test_canonical_values_keep_their_types() -> None:
    values = validate_values("spot_rest.AddOrder", {**LIMIT, "ordertype": "stop-loss", "price": "#5%", "userref": 3})
    assert values["volume"] == Decimal("1.25") and isinstance(values["volume"], Decimal)
    price = values["price"]
    assert isinstance(price, RelativePrice)
    assert (price, price.prefix, price.offset, price.percent) == ("#5%", "#", Decimal(5), True)
    assert values["userref"] == 3


def test_none_means_not_given_and_wire_names_are_accepted() -> None:
    wire = validate(
        "spot_rest.AddOrder",
        {**LIMIT, "price2": None, "close[ordertype]": "limit", "close_price": "30000", "userref": None},
    )
    assert "price2" not in wire and "userref" not in wire
    assert wire["close[ordertype]"] == "limit" and wire["close[price]"] == "30000"
    with pytest.raises(ValidationError, match="given twice") as info:
        validate("spot_rest.AddOrder", {**LIMIT, "close_ordertype": "limit", "close[ordertype]": "limit"})
    assert info.value.field == "close_ordertype"


def test_batch_close_fields_nest_and_exclude_each_other() -> None:
    item = {"ordertype": "limit", "type": "buy", "volume": "1", "price": "1"}
    wire = validate(
        "spot_rest.AddOrderBatch",
        {"pair": "XBTUSD", "orders": [{**item, "close_ordertype": "limit", "close_price": "2"}, item]},
    )
    assert wire["orders"][0]["close"] == {"ordertype": "limit", "price": "2"}
    with pytest.raises(ValidationError, match="cannot be combined") as info:
        validate(
            "spot_rest.AddOrderBatch",
            {
                "pair": "XBTUSD",
                "orders": [{**item, "close": {"ordertype": "limit", "price": "2"}, "close_price": "3"}, item],
            },
        )
    assert info.value.field == "orders[0].close_price"


def test_symbol_errors_keep_their_class_and_name_the_operation() -> None:
    with pytest.raises(SymbolFormatError) as info:
        validate("spot_ws.add_order", {"order_type": "market", "side": "buy", "order_qty": "1", "symbol": "btc/usd"})
    assert str(info.value).startswith("add_order: symbol='btc/usd'")
    assert info.value.endpoint == "add_order"
    assert info.value.retry_safe


def test_ws_amounts_stay_exact_decimals_and_go_out_as_plain_json_numbers() -> None:
    wire = validate(
        "spot_ws.add_order",
        {"order_type": "limit", "side": "buy", "symbol": "SHIB/XBT", "order_qty": "1E+6", "limit_price": "0.00000012"},
    )
    assert wire["order_qty"] == Decimal(1000000) and wire["limit_price"] == Decimal("0.00000012")
    text = jsonutil.dumps(wire)
    assert b'"order_qty":1000000' in text and b'"limit_price":0.00000012' in text
    assert b"E" not in text.replace(b"SHIB", b"").replace(b"XBT", b"")


def test_huge_exponent_is_refused_at_once() -> None:
    start = time.perf_counter()
    for value in ("1e999999999", Decimal("1e999999999"), "9" * 64, 10**10000):
        with pytest.raises(ValidationError):
            validate("spot_rest.AddOrder", {**LIMIT, "volume": value})
    assert time.perf_counter() - start < 0.5  # no billion-digit string was built


def test_decimal_helpers_are_bounded_too() -> None:
    from krakenkit._core.decimals import format_decimal, to_decimal, wire_decimal

    start = time.perf_counter()
    with pytest.raises(ValidationError, match="too large"):
        wire_decimal("1e999999999", "volume")
    with pytest.raises(ValidationError, match="too large"):
        format_decimal(Decimal("1E+999999999"))
    assert time.perf_counter() - start < 0.5
    with pytest.raises(ValidationError, match="not a number"):
        to_decimal("1_000", "volume")
    assert to_decimal(0.1, "volume") == Decimal("0.1")  # the old lenient helper keeps its float rule


# --- extra_params ----------------------------------------------------------------------------------


def test_extra_params_add_but_never_override() -> None:
    wire = validate("spot_rest.AddOrder", LIMIT, extra_params={"new_flag": True, "new_amount": Decimal("0.50")})
    assert wire["new_flag"] == "true" and wire["new_amount"] == "0.5"
    for key in ("volume", "pair", "close[price]", "close_price", "nonce", "otp", "NONCE"):
        with pytest.raises(ValidationError) as info:
            validate("spot_rest.AddOrder", LIMIT, extra_params={key: "1"})
        assert info.value.field == key
    with pytest.raises(ValidationError, match="checked add_order field"):
        validate(
            "spot_ws.add_order",
            {"order_type": "market", "side": "buy", "order_qty": "1", "symbol": "BTC/USD"},
            extra_params={"order_qty": "9"},
        )
    with pytest.raises(ValidationError, match="set by krakenkit"):
        merge_extra_params("spot_ws.add_order", {}, {"token": "t"})


def test_extra_params_on_ws_keep_json_types() -> None:
    wire = validate(
        "spot_ws.add_order",
        {"order_type": "market", "side": "buy", "order_qty": "1", "symbol": "BTC/USD"},
        extra_params={"new_num": Decimal("2.5"), "new_int": 3, "new_bool": False},
    )
    assert wire["new_num"] == Decimal("2.5") and wire["new_int"] == 3 and wire["new_bool"] is False


# --- credentials -------------------------------------------------------------------------------------

KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEfGhIjKlMnOpQrSt"
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="


def _frames(exc: BaseException) -> str:
    assert exc.__traceback__ is not None
    inner = exc.with_traceback(exc.__traceback__.tb_next)  # the library's frames, not this test's
    return "".join(traceback.TracebackException.from_exception(inner, capture_locals=True).format())


def test_good_credentials_and_none_pass() -> None:
    check_credentials(KEY, SECRET)
    check_credentials(Secret(KEY), Secret(SECRET), product="futures")
    check_credentials(None, None)


def test_trailing_space_in_key_is_a_clear_error_with_the_key_shortened() -> None:
    with pytest.raises(ValidationError) as info:
        check_credentials(KEY + " ", SECRET)
    text = str(info.value)
    assert "whitespace" in text and "AbCd...***" in text and "API_SPOT_KEY" in text
    assert info.value.field == "api_key"
    assert KEY not in text and KEY[:10] not in text
    assert KEY not in _frames(info.value) and SECRET not in _frames(info.value)


@pytest.mark.parametrize("secret", [SECRET + "\n", "not base64!", SECRET[:-3], "caf\u00e9", ""])
def test_bad_secret_never_shows_any_of_it(secret: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_credentials(KEY, secret)
    assert info.value.field == "api_secret"
    frames = _frames(info.value)
    for piece in (SECRET[:8], secret.strip()[:8]):
        if piece:
            assert piece not in str(info.value) + repr(info.value)
            assert piece not in frames
    assert KEY not in frames


def test_only_one_credential_is_missing_credentials() -> None:
    with pytest.raises(MissingCredentialsError, match="api_secret is missing"):
        check_credentials(KEY, None)
    with pytest.raises(MissingCredentialsError, match="API_FUTURES_KEY"):
        check_credentials(None, SECRET, product="derivatives")
    with pytest.raises(ValidationError, match="must be a str"):
        check_credentials(b"key", SECRET)


# --- JSON --------------------------------------------------------------------------------------------


def test_deep_json_is_an_invalid_response_not_a_recursion_error() -> None:
    with pytest.raises(InvalidResponseError) as info:
        jsonutil.loads(b'{"result":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    assert isinstance(info.value, jsonutil.JSONDecodeError)  # handled wherever bad JSON is handled
    assert jsonutil.loads("[" * 512 + "]" * 512) is not None
    with pytest.raises(jsonutil.JSONNestingError):
        jsonutil.loads("[" * 513 + "]" * 513)


def test_wide_but_shallow_json_is_fine() -> None:
    body = b'{"error":[],"result":{"XXBTZUSD":[' + b",".join(b'["1",2,"3"]' for _ in range(5000)) + b"]}}"
    data = jsonutil.loads(body)
    assert len(data["result"]["XXBTZUSD"]) == 5000


def test_every_schema_is_named_and_documented_consistently() -> None:
    for name, schema in SCHEMAS.items():
        assert schema.name == name
        assert name.split(".")[0] in ("spot_rest", "spot_ws", "derivatives")
        names = [f.name for f in schema.fields]
        assert len(names) == len(set(names)), name
        for rule in schema.type_rules.values():
            assert set(rule.required) | set(rule.forbidden) <= set(names), name
        for group in (*schema.exactly_one, *schema.at_least_one, *schema.exclusive, *schema.together):
            assert set(group) <= set(names), (name, group)
        for f in schema.fields:
            if f.kind in ("enum", "flags"):
                assert f.values, (name, f.name)
                for wrong, right in f.aliases.items():
                    assert right in f.values and wrong not in f.values, (name, f.name, wrong)


def test_pathological_values_are_validation_errors() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(20_000):
        child: list[object] = []
        node.append(child)
        node = child

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __str__(self) -> str:
            raise RuntimeError("no str")

    for value in (deep, Hostile(), {"a": deep}, b"1", bytearray(b"1"), object()):
        for field in ("ordertype", "volume", "price", "pair", "cl_ord_id", "userref", "oflags", "validate"):
            with pytest.raises(ValidationError):
                validate("spot_rest.AddOrder", {**LIMIT, field: value})
        with pytest.raises(ValidationError):
            validate(
                "spot_ws.add_order",
                {"order_type": "stop-loss", "side": "buy", "symbol": "BTC/USD", "order_qty": "1", "triggers": value},
            )
        with pytest.raises(ValidationError):
            validate("spot_rest.AddOrder", LIMIT, extra_params={"new": value})
    with pytest.raises(ValidationError):
        validate("spot_rest.AddOrder", LIMIT, extra_params={Hostile(): 1})  # type: ignore[dict-item]
