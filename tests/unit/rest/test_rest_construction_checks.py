"""What a REST client refuses or warns about when it is made: credentials (printable ASCII key without
whitespace, base64 secret, an otp Kraken can read), testnet Spot (there is none: never live), TLS
verification turned off (InsecureTransportWarning, once per client, and a WARNING log)."""

from __future__ import annotations

import base64
import logging
import ssl
import traceback
import warnings
from typing import Any

import httpx
import pytest

import krakenkit
import krakenkit._core.errors as E
from krakenkit import TESTNET, AsyncDerivativesClient, AsyncSpotClient, DerivativesClient, SpotClient
from krakenkit._core.secrets import Secret

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")

KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopqrst"
SECRET = base64.b64encode(b"construction-test-secret-" * 3).decode()
CLIENTS = [SpotClient, AsyncSpotClient, DerivativesClient, AsyncDerivativesClient]


def _seen(exc: BaseException) -> str:
    """What a reporter capturing locals shows of ``exc`` (the test's own frame left out)."""
    tb = exc.__traceback__.tb_next if exc.__traceback__ else None
    return "".join(traceback.TracebackException(type(exc), exc, tb, capture_locals=True).format())


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (KEY + " ", "leading or trailing whitespace"),
        (" " + KEY, "leading or trailing whitespace"),
        (KEY + "\n", "leading or trailing whitespace"),
        (KEY[:20] + " " + KEY[20:], "contains whitespace"),
        ("k\u00e9y" + KEY[3:], "not printable ASCII"),
    ],
)
def test_an_unusable_key_is_refused_at_construction_showing_it_only_shortened(
    cls: type[Any], key: str, problem: str
) -> None:
    with pytest.raises(E.ValidationError, match=problem) as info:
        cls(key, SECRET)
    err = info.value
    assert err.field == "api_key" and not isinstance(err, E.APIConnectionError)
    shown = _seen(err) + repr(err) + str(err)
    assert KEY[:12] not in shown and KEY[-12:] not in shown and SECRET[:12] not in shown
    env = "API_FUTURES_KEY" if "Derivatives" in cls.__name__ else "API_SPOT_KEY"
    assert env in str(err)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("secret", ["not-base64!!!", SECRET + " ", "s\u00e9cret", SECRET[:-2] + "\t="])
def test_an_unusable_secret_is_refused_without_any_part_of_it(cls: type[Any], secret: str) -> None:
    with pytest.raises(E.ValidationError) as info:
        cls(KEY, secret)
    assert info.value.field == "api_secret"
    assert secret[:8] not in _seen(info.value) + str(info.value)


@pytest.mark.parametrize("cls", CLIENTS)
def test_credentials_from_the_environment_are_checked_too(cls: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    key_var, secret_var = cls.env_key, cls.env_secret
    monkeypatch.setenv(key_var, KEY + " ")
    monkeypatch.setenv(secret_var, SECRET)
    with pytest.raises(E.ValidationError, match="whitespace") as info:
        cls.from_env()
    assert KEY[:12] not in _seen(info.value)


def test_nothing_is_sent_for_a_key_with_a_trailing_space() -> None:
    sent: list[httpx.Request] = []
    with pytest.raises(E.ValidationError):
        SpotClient(KEY + " ", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(sent.append)))
    assert sent == []


@pytest.mark.parametrize("otp", ["\u00f6tp-246810", "2468 10", "246810\n", "x" * 65])
def test_an_otp_kraken_cannot_read_is_refused_at_construction(otp: str) -> None:
    with pytest.raises(E.ValidationError, match="otp") as info:
        SpotClient(KEY, SECRET, otp=otp)
    assert info.value.field == "otp" and otp not in _seen(info.value) + str(info.value)


def test_an_otp_provider_is_checked_before_signing_and_nothing_is_sent() -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, json={})))
    client = SpotClient(KEY, SECRET, http_client=http, otp=lambda: "\u00f6tp-1357")
    with pytest.raises(E.ValidationError, match="otp provider") as info:
        client.get_account_balance()
    assert info.value.field == "otp" and sent == []
    assert "1357" not in _seen(info.value) and info.value.__context__ is None and info.value.__cause__ is None
    client = SpotClient(KEY, SECRET, http_client=http, otp=lambda: 1234)  # type: ignore[arg-type,return-value]
    with pytest.raises(E.ValidationError, match="not a str"):
        client.get_account_balance()
    assert sent == []


def test_a_failing_otp_provider_is_a_kraken_error_without_its_text() -> None:
    def broken() -> str:
        raise RuntimeError("provider down: secret-state-9876")

    client = SpotClient(KEY, SECRET, otp=broken, http_client=httpx.Client(transport=httpx.MockTransport(lambda r: 1)))
    with pytest.raises(E.ValidationError, match="could not be built \\(RuntimeError\\)") as info:
        client.get_account_balance()
    assert "secret-state-9876" not in _seen(info.value) + repr(info.value)


def test_secrets_given_as_secret_objects_are_accepted() -> None:
    client = SpotClient(Secret(KEY), Secret(SECRET), otp=Secret("246810"))
    assert client.api_key == KEY and KEY not in repr(client) and "246810" not in repr(client)


# --- testnet means never live -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SpotClient, AsyncSpotClient])
@pytest.mark.parametrize(
    "kwargs", [{"environment": TESTNET}, {"base_url": TESTNET.spot_rest_url}], ids=["environment", "base_url"]
)
def test_spot_on_testnet_is_refused_pointing_to_validate_and_the_sandbox(cls: type[Any], kwargs: Any) -> None:
    with pytest.raises(E.ValidationError) as info:
        cls(KEY, SECRET, **kwargs)
    text = str(info.value)
    assert "no Spot test environment" in text and "validate=True" in text and "sandbox" in text
    assert "api.kraken.com" not in TESTNET.spot_rest_url and TESTNET.spot_rest_url.endswith(".invalid")


def test_spot_with_testnet_and_an_explicit_url_goes_there() -> None:
    assert SpotClient(environment=TESTNET, base_url="http://127.0.0.1:9").base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize("cls", [DerivativesClient, AsyncDerivativesClient])
def test_derivatives_testnet_keeps_the_demo_host(cls: type[Any]) -> None:
    assert cls(testnet=True).base_url == "https://demo-futures.kraken.com"
    assert cls(environment=TESTNET).base_url == "https://demo-futures.kraken.com"
    with pytest.raises(E.ValidationError, match="True or False"):
        cls(testnet="yes")


# --- TLS verification off warns ---------------------------------------------------------------------------------


def _cert_none() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "make",
    [
        lambda http: {"network_options": {"verify": False}},
        lambda http: {"network_options": {"verify": _cert_none()}},
        lambda http: {"http_client": http(verify=False)},
    ],
    ids=["verify=False", "CERT_NONE", "own-client"],
)
def test_tls_verification_off_warns_once_per_client_and_logs(
    cls: type[Any], make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    http = httpx.AsyncClient if cls.__name__.startswith("Async") else httpx.Client
    assert issubclass(krakenkit.InsecureTransportWarning, UserWarning)
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING, logger="krakenkit"):
        warnings.simplefilter("always")
        client = cls(KEY, SECRET, **make(http))
        client.base_url
    mine = [w for w in seen if issubclass(w.category, krakenkit.InsecureTransportWarning)]
    assert len(mine) == 1 and client.tls_verification_off is True
    assert "verification is turned off" in str(mine[0].message) and mine[0].filename == __file__
    assert next(r for r in caplog.records if "verification is turned off" in r.getMessage()).levelno == logging.WARNING
    assert KEY[:12] not in str(mine[0].message)


@pytest.mark.parametrize("cls", CLIENTS)
def test_verified_tls_is_silent(cls: type[Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", krakenkit.InsecureTransportWarning)
        client = cls(KEY, SECRET, network_options={"verify": ssl.create_default_context()})
    assert client.tls_verification_off is False
