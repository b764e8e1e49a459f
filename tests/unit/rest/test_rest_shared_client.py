"""What Spot and Derivatives share through the base: constructor checks, input errors before the missing
key, repr, secrets kept out of error paths, extra_params precedence. Every test runs on both products."""

from __future__ import annotations

import asyncio
import base64
import re
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import krakenkit._core.errors as E
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient, RetryPolicy, SpotClient
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

RAW = b"\x8f\x13shared-secret-bytes-\x00\xff-for-tests-only-" * 2
SECRET = base64.b64encode(RAW).decode()
KEY = "public-key-abcdef-0123"
NO_WAIT = RetryPolicy(base_delay=0, max_delay=0, outcome_grace=0)

SYNC = [SpotClient, DerivativesClient]
ASYNC = [AsyncSpotClient, AsyncDerivativesClient]
ALL = SYNC + ASYNC


def assert_clean(text: str) -> None:
    for needle in (SECRET, SECRET[:24], repr(RAW)[2:30], RAW.hex()[:32]):
        assert needle not in text, f"leaked {needle[:10]}..."


class Recorder:
    def __init__(self, respond: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.sent: list[httpx.Request] = []
        self.respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if self.respond is not None:
            return self.respond(request)
        return httpx.Response(200, json={"error": [], "result": {}})


def make(cls: type[Any], rec: Recorder, *args: Any, **kw: Any) -> Any:
    transport = httpx.MockTransport(rec)
    http = httpx.AsyncClient(transport=transport) if cls in ASYNC else httpx.Client(transport=transport)
    return cls(*args, http_client=http, retry_policy=NO_WAIT, rate_limiter=NoRateLimit(), **kw)


def call(client: Any, name: str, **kwargs: Any) -> Any:
    result = getattr(client, name)(**kwargs)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


# A valid order for each product, and the same order broken in one input at a time.
VALID: dict[str, dict[str, Any]] = {
    "spot": {
        "ordertype": "limit",
        "type": "buy",
        "volume": "0.01",
        "pair": "XBTUSD",
        "price": "30000",
        "cl_ord_id": "2f1d9bb2-6d6e-4a52-9d63-2d0b3c1e2a7f",
    },
    "derivatives": {
        "orderType": "lmt",
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "size": "0.01",
        "limitPrice": "30000",
        "cliOrdId": "my-order-1",
    },
}
BROKEN: dict[str, list[tuple[str, Any, type[E.ValidationError]]]] = {
    "spot": [
        ("pair", "XBT/USD", E.SymbolFormatError),
        ("volume", "-1", E.ValidationError),
        ("volume", "abc", E.ValidationError),
        ("cl_ord_id", "x" * 80, E.ValidationError),
        ("ordertype", None, E.ValidationError),
    ],
    "derivatives": [
        ("symbol", "XBT/USD", E.SymbolFormatError),
        ("symbol", "XBTUSD", E.SymbolFormatError),
        ("size", "-1", E.ValidationError),
        ("limitPrice", "abc", E.ValidationError),
        ("cliOrdId", "x" * 200, E.ValidationError),
        ("orderType", None, E.ValidationError),
    ],
}


def product(cls: type[Any]) -> str:
    return "spot" if "Spot" in cls.__name__ else "derivatives"


@pytest.mark.parametrize("cls", ALL)
def test_keyless_client_reports_input_errors_before_the_missing_key(cls: type[Any]) -> None:
    rec = Recorder()
    client = make(cls, rec)
    for field, value, error in BROKEN[product(cls)]:
        args = {**VALID[product(cls)], field: value}
        with pytest.raises(error) as info:
            call(client, "submit_order", **args)
        assert not isinstance(info.value, E.MissingCredentialsError), (field, value)
    # valid inputs: now the missing key is the only thing wrong
    with pytest.raises(E.MissingCredentialsError, match=r"submit_order\(\) is private") as missing:
        call(client, "submit_order", **VALID[product(cls)])
    assert cls.__name__.removeprefix("Async") + ".from_env()" in str(missing.value)
    assert rec.sent == []


@pytest.mark.parametrize("cls", SYNC)
def test_input_errors_do_not_depend_on_the_key(cls: type[Any]) -> None:
    """The same bad input gives the same error with and without a key (nothing is sent either way)."""
    rec = Recorder()
    keyless, keyed = make(cls, rec), make(cls, rec, KEY, SECRET)
    for field, value, _ in BROKEN[product(cls)]:
        args = {**VALID[product(cls)], field: value}
        errors = []
        for client in (keyless, keyed):
            with pytest.raises(E.ValidationError) as info:
                call(client, "submit_order", **args)
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]
    assert rec.sent == []


@pytest.mark.parametrize("cls", ALL)
def test_repr_shows_base_url_masked_key_and_limiter_type_only(cls: type[Any]) -> None:
    client = cls(KEY, SECRET, base_url="http://127.0.0.1:9/")
    text = repr(client)
    assert (
        text == f"{cls.__name__}(base_url='http://127.0.0.1:9', api_key='publ...***', "
        f"rate_limiter={type(client.rate_limiter).__name__})"
    )
    assert str(client) == text and KEY not in text
    assert_clean(text)
    keyless = make(cls, Recorder(), base_url="http://127.0.0.1:9")
    assert repr(keyless) == f"{cls.__name__}(base_url='http://127.0.0.1:9', api_key=None, rate_limiter=NoRateLimit)"
    short = cls("K", SECRET)  # a short key shows nothing of itself
    assert "api_key='***'" in repr(short)


@pytest.mark.parametrize("cls", ALL)
def test_constructor_checks_are_shared(cls: type[Any]) -> None:
    with pytest.raises(E.MissingCredentialsError, match="api_secret is missing"):
        cls("key-only")
    with pytest.raises(E.MissingCredentialsError, match="api_key is missing"):
        cls(None, SECRET)
    with pytest.raises(E.ValidationError, match="base64"):
        cls("k", "not-base64!!!")
    with pytest.raises(E.ValidationError, match="whitespace") as spaced:
        cls("k", "not base64 !!!")
    assert spaced.value.field == "api_secret"
    with pytest.raises(E.ValidationError, match="api_key must be a str"):
        cls(b"key", SECRET)
    with pytest.raises(E.ValidationError, match="max_retries"):
        cls(max_retries=-1)
    wrong = httpx.Client() if cls in ASYNC else httpx.AsyncClient()
    with pytest.raises(E.ValidationError, match="http_client must be an httpx"):
        cls(http_client=wrong)
    assert not cls().has_credentials and cls(KEY, SECRET).api_key == KEY


@pytest.mark.parametrize("cls", ALL)
def test_constructor_failures_keep_the_secret_out_of_traceback_locals(cls: type[Any]) -> None:
    texts = []
    for args in ((KEY, "not-base64-but-secret-text!!"), (None, SECRET)):
        with pytest.raises(E.KrakenError) as info:
            cls(*args)
        frames = info.value.__traceback__.tb_next if info.value.__traceback__ else None  # skip this test's frame
        assert frames is not None
        texts.append(
            "".join(traceback.TracebackException(type(info.value), info.value, frames, capture_locals=True).format())
        )
    assert "api_secret = Secret('***')" in texts[0]
    assert "not-base64-but-secret-text" not in texts[0]
    assert_clean(texts[1])


def _fail_401(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        401, json={"result": "error", "error": "authenticationError", "echo": request.headers.get("API-Key", "")}
    )


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


@pytest.mark.parametrize("respond", [_fail_401, _timeout], ids=["rejected", "timeout"])
@pytest.mark.parametrize("cls", SYNC)
def test_error_paths_keep_the_secret_out(cls: type[Any], respond: Callable[[httpx.Request], httpx.Response]) -> None:
    client = make(cls, Recorder(respond), KEY, SECRET, max_retries=0)
    name = "get_account_balance" if cls is SpotClient else "get_accounts"
    args = VALID[product(cls)]
    for method, kwargs in ((name, {}), ("submit_order", args)):
        with pytest.raises(E.KrakenError) as info:
            call(client, method, **kwargs)
        exc = info.value
        text = "".join(traceback.TracebackException(type(exc), exc, exc.__traceback__, capture_locals=True).format())
        assert_clean(text + repr(exc) + str(exc) + repr(exc.__dict__) + repr(getattr(exc, "request", "")))


def test_derivatives_extra_params_add_fields_and_never_set_a_known_one() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json={"result": "success", "tickers": []}))
    client = make(DerivativesClient, rec)
    with pytest.raises(E.ValidationError, match="contractType is a parameter of get_tickers") as info:
        client.get_tickers(contractType=["flexible_futures"], extra_params={"newField": "1", "contractType": "x"})
    assert info.value.field == "contractType" and rec.sent == []
    client.get_tickers(contractType=["flexible_futures"], extra_params={"newField": 1, "flag": True})
    query = dict(re.findall(r"([^&=]+)=([^&]*)", rec.sent[0].url.query.decode()))
    assert query == {"newField": "1", "flag": "true", "contractType": "flexible_futures"}
