"""Nonces, decimals, ids, symbols, error mapping, secrets."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest

from kraken_errors import FUTURES_ERROR_CLASSES, SPOT_ERROR_CLASSES
from krakenkit._core import errors as E
from krakenkit._core.decimals import format_decimal, to_decimal, wire_decimal
from krakenkit._core.ids import (
    generate_futures_order_id,
    generate_spot_order_id,
    validate_futures_cli_ord_id,
    validate_spot_cl_ord_id,
)
from krakenkit._core.jsonutil import dumps, loads
from krakenkit._core.nonce import NonceSource, nonce_source_for
from krakenkit._core.secrets import Secret, redact_mapping
from krakenkit._core.symbols import (
    classify_symbol,
    validate_derivatives_symbol,
    validate_spot_rest_symbol,
    validate_spot_ws_symbol,
)


def test_nonce_strictly_increasing_across_threads_and_tasks() -> None:
    src = NonceSource(clock=lambda: 5)  # a frozen clock forces the +1 path
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        local = [src() for _ in range(10_000)]
        with lock:
            seen.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()

    async def task() -> list[int]:
        out = []
        for _ in range(1000):
            out.append(src())
            await asyncio.sleep(0)
        return out

    async def many() -> list[list[int]]:
        return await asyncio.gather(*(task() for _ in range(50)))

    for chunk in asyncio.run(many()):
        seen.extend(chunk)
    for t in threads:
        t.join()
    assert len(seen) == 100_000
    assert len(set(seen)) == 100_000


def test_nonce_source_shared_per_key_and_monotonic() -> None:
    a = nonce_source_for("key-1")
    assert a is nonce_source_for("key-1")
    assert a is not nonce_source_for("key-2")
    first = a()
    a.bump(first + 1_000_000)
    assert a() > first + 1_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.50"), Decimal("1.50")),
        ("0.1", Decimal("0.1")),
        (3, Decimal(3)),
        (0.1, Decimal("0.1")),
        (1e-7, Decimal("1e-7")),
    ],
)
def test_to_decimal_accepts(value: object, expected: Decimal) -> None:
    assert to_decimal(value, "volume") == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "-1", "", "abc", True, None, [1]])
def test_to_decimal_refuses_with_field_name(value: object) -> None:
    with pytest.raises(E.ValidationError) as info:
        to_decimal(value, "volume")
    assert "volume" in str(info.value)
    assert info.value.field == "volume"


def test_wire_decimal_never_uses_exponent() -> None:
    assert wire_decimal(1e-7, "price") == "0.0000001"
    assert format_decimal(Decimal("1E+3")) == "1000"
    assert format_decimal(Decimal("37500.000")) == "37500"


def test_json_numbers_are_exact_decimals_both_ways() -> None:
    data = loads(b'{"price": 0.1, "qty": 1e-8, "n": 3}')
    assert data == {"price": Decimal("0.1"), "qty": Decimal("1e-8"), "n": 3}
    assert dumps({"p": Decimal("0.10")}) == b'{"p":0.10}'


def test_generated_ids_are_valid_and_unique() -> None:
    ids = {generate_spot_order_id() for _ in range(1000)}
    assert len(ids) == 1000
    for i in list(ids)[:10]:
        assert validate_spot_cl_ord_id(i) == i
    assert validate_futures_cli_ord_id(generate_futures_order_id())


@pytest.mark.parametrize("good", ["6d1b345e-2821-40e2-ad83-4ecb18a06876", "a" * 32, "my-order-1"])
def test_spot_cl_ord_id_accepts(good: str) -> None:
    assert validate_spot_cl_ord_id(good) == good


@pytest.mark.parametrize("bad", ["x" * 19, "", "g" * 32 + "x", "caf\u00e9", 12])
def test_spot_cl_ord_id_refuses(bad: object) -> None:
    with pytest.raises(E.ValidationError, match="cl_ord_id"):
        validate_spot_cl_ord_id(bad)


def test_futures_cli_ord_id_limits() -> None:
    with pytest.raises(E.ValidationError):
        validate_futures_cli_ord_id("x" * 101)


def test_symbol_contexts() -> None:
    assert classify_symbol("XBTUSD") == "spot_rest"
    assert classify_symbol("BTC/USD") == "spot_ws"
    assert classify_symbol("PF_XBTUSD") == "derivatives"
    assert validate_spot_rest_symbol("XBTUSD,ETHUSD") == "XBTUSD,ETHUSD"
    with pytest.raises(E.SymbolFormatError, match="'XBTUSD'"):
        validate_spot_rest_symbol("BTC/USD")
    with pytest.raises(E.SymbolFormatError, match="DerivativesClient"):
        validate_spot_rest_symbol("PF_XBTUSD")
    with pytest.raises(E.SymbolFormatError, match="'BTC/USD'"):
        validate_spot_ws_symbol("XBTUSD")
    with pytest.raises(E.SymbolFormatError, match="'PF_XBTUSD'"):
        validate_derivatives_symbol("BTC/USD")
    with pytest.raises(E.SymbolFormatError, match="PF_"):
        validate_derivatives_symbol("XBTUSD")


REFERENCE_SPOT_ERRORS = SPOT_ERROR_CLASSES


@pytest.mark.parametrize(("text", "cls"), sorted(REFERENCE_SPOT_ERRORS.items()))
def test_every_reference_spot_error_maps(text: str, cls: type[E.KrakenAPIError]) -> None:
    err = E.error_from_spot([text], endpoint="/0/private/AddOrder")
    assert type(err) is cls
    assert err.errors == [text]
    assert err.endpoint == "/0/private/AddOrder"


def test_unknown_spot_error_still_raises_generic() -> None:
    err = E.error_from_spot(["ENew:Something"], endpoint="/x")
    assert type(err) is E.KrakenAPIError
    assert isinstance(err, E.KrakenError)


def test_throttled_carries_retry_after() -> None:
    err = E.error_from_spot(["EService: Throttled: 1700000000"])
    assert isinstance(err, E.RateLimitError)
    assert err.retry_after == 1700000000.0


FUTURES = FUTURES_ERROR_CLASSES


@pytest.mark.parametrize(("text", "cls"), sorted(FUTURES.items()))
def test_every_futures_error_maps(text: str, cls: type[E.KrakenAPIError]) -> None:
    assert type(E.error_from_futures(text)) is cls


def test_futures_status_mapping() -> None:
    err = E.error_from_futures_status("insufficientAvailableFunds")
    assert isinstance(err, E.InsufficientFundsError) and err.status == "insufficientAvailableFunds"
    assert type(E.error_from_futures_status("clientOrderIdAlreadyExist")) is E.DuplicateClientOrderIdError
    assert type(E.error_from_futures_status("somethingNew")) is E.OrderRejectedError


def test_outcome_unknown_classification() -> None:
    assert E.is_outcome_unknown_error(E.APITimeoutError("t"))
    assert not E.is_outcome_unknown_error(E.APITimeoutError("connect timeout", retry_safe=True))
    assert not E.is_outcome_unknown_error(E.APIConnectionError("refused", retry_safe=True))
    assert E.is_outcome_unknown_error(E.error_from_spot(["EService:Unavailable"]))
    assert E.is_outcome_unknown_error(E.error_from_spot(["EGeneral:Internal error"]))
    assert not E.is_outcome_unknown_error(E.error_from_spot(["EOrder:Insufficient funds"]))
    assert E.is_outcome_unknown_error(E.InvalidResponseError("html", status_code=502))
    assert E.is_outcome_unknown_error(E.error_from_futures("Server Error"))


def test_secret_never_shows() -> None:
    s = Secret("super-secret-value")
    assert "super-secret-value" not in repr(s) + str(s) + f"{s}" + repr([s])
    assert s.get_secret_value() == "super-secret-value"
    assert redact_mapping({"otp": "123", "a": [{"API-Sign": "x"}]}) == {"otp": "***", "a": [{"API-Sign": "***"}]}


def test_derivatives_hint_unwraps_legacy_pair_names() -> None:
    with pytest.raises(E.SymbolFormatError, match="'PF_XBTUSD'"):
        validate_derivatives_symbol("XXBTZUSD")


@pytest.mark.parametrize(
    "bad", ["6d1b345e-2821-40e2-ad83-4ecb18a06876\n", "a" * 32 + "\n", "my-order-1\n", "abc\r\n", "\nabc"]
)
def test_spot_cl_ord_id_refuses_a_trailing_newline(bad: str) -> None:
    """``$`` matched before a trailing newline: 'id\\n' used to pass and reach the wire."""
    with pytest.raises(E.ValidationError, match=r"did you mean|not a valid"):
        validate_spot_cl_ord_id(bad)


def test_futures_cli_ord_id_refuses_control_characters() -> None:
    with pytest.raises(E.ValidationError, match="did you mean 'c-1'"):
        validate_futures_cli_ord_id("c-1\n")
    assert validate_futures_cli_ord_id("my id/1") == "my id/1"  # spaces are printable ASCII


@pytest.mark.parametrize(
    ("symbol", "validator"),
    [
        ("XBTUSD\n", validate_spot_rest_symbol),
        ("XBTUSD,ETHUSD\n", validate_spot_rest_symbol),
        ("BTC/USD\n", validate_spot_ws_symbol),
        ("PF_XBTUSD\n", validate_derivatives_symbol),
        (" PF_XBTUSD", validate_derivatives_symbol),
    ],
)
def test_symbols_refuse_whitespace_everywhere(symbol: str, validator: Any) -> None:
    with pytest.raises(E.SymbolFormatError, match="whitespace"):
        validator(symbol)
    assert classify_symbol(symbol) is None


def test_strict_symbols_refuse_lower_case_with_the_exact_fix() -> None:
    assert validate_derivatives_symbol("pf_xbtusd") == "pf_xbtusd"  # lenient by default (existing callers)
    with pytest.raises(E.SymbolFormatError, match="use 'PF_XBTUSD'"):
        validate_derivatives_symbol("pf_xbtusd", strict=True)
    with pytest.raises(E.SymbolFormatError, match="use 'BTC/USD'"):
        validate_spot_ws_symbol("btc/usd", strict=True)
    with pytest.raises(E.SymbolFormatError, match="use 'XBTUSD'"):
        validate_spot_rest_symbol("xbtusd", strict=True)
    assert validate_spot_ws_symbol("AAPLx/USD", strict=True) == "AAPLx/USD"  # tokenized asset suffix
    assert validate_spot_rest_symbol("AAPLxUSD", strict=True) == "AAPLxUSD"


def test_dumps_writes_decimals_in_plain_notation() -> None:
    assert dumps({"q": Decimal("1E-8"), "p": Decimal("3E+4"), "s": "1E-8"}) == b'{"q":0.00000001,"p":30000,"s":"1E-8"}'
