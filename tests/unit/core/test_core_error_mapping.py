"""Kraken's error strings mapped by their known part (the detail Kraken appends after a ':' does not hide
it), the key hints (a Spot key on Derivatives and the reverse), and errors that survive a pickle."""

from __future__ import annotations

import base64
import pickle
import warnings

import httpx
import pytest

import krakenkit
import krakenkit._core.errors as E
from krakenkit import DerivativesClient, SpotClient

KEY = "SpotKeyOnDerivatives0123456789abcdefghijklmnopqrstuvwxy"
SECRET = base64.b64encode(b"error-mapping-secret-" * 3).decode()


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ("EOrder:Invalid price", E.InvalidPriceError),
        ("EOrder:Invalid price:Invalid price precision", E.InvalidPriceError),
        ("EOrder:Invalid price: Tick size check failed", E.InvalidPriceError),
        ("EOrder:Tick size check failed:XBTUSD", E.InvalidPriceError),
        ("EOrder:Insufficient funds:ZUSD", E.InsufficientFundsError),
        ("EOrder:Order minimum not met:volume minimum is 0.0001", E.OrderMinimumError),
        ("EOrder:Unknown order:OABCDE", E.UnknownOrderError),
        ("EAPI:Invalid nonce:too low", E.InvalidNonceError),
        ("EGeneral:Invalid arguments:volume", E.InvalidArgumentsError),
        ("EService:Market in post_only mode:XBTUSD", E.MarketModeError),
        ("EOrder:Something new:detail", E.OrderError),
        ("EService: Throttled: 1700000000", E.RateLimitError),
        ("ENew:Unheard of", E.KrakenAPIError),
    ],
)
def test_spot_strings_are_mapped_by_their_known_part(error: str, cls: type[E.KrakenAPIError]) -> None:
    exc = E.error_from_spot([error], endpoint="/0/private/AddOrder")
    assert type(exc) is cls and exc.errors == [error] and exc.from_envelope


@pytest.mark.parametrize("error", ["EService:Unavailable:maintenance", "EGeneral:Internal error:try again"])
def test_an_outcome_unknown_string_with_a_detail_still_leaves_the_outcome_unknown(error: str) -> None:
    exc = E.error_from_spot([error])
    assert not E.is_definitive_rejection(exc) and E.is_outcome_unknown_error(exc)


def test_an_invalid_price_with_its_detail_through_the_client_is_an_invalid_price_error() -> None:
    answer = {"error": ["EOrder:Invalid price:Invalid price precision"]}
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer)))
    client = SpotClient(KEY, SECRET, http_client=http)
    with pytest.raises(E.InvalidPriceError) as info:
        client.submit_order(ordertype="limit", type="buy", volume="1", pair="XBTUSD", price="1.123456789")
    assert info.value.errors == answer["error"]


def test_a_spot_key_on_derivatives_says_derivatives_take_their_own_key() -> None:
    answer = {"result": "error", "error": "authenticationError", "serverTime": "2026-01-01T00:00:00Z"}
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", krakenkit.KrakenDeprecationWarning)
        client = DerivativesClient(KEY, SECRET, http_client=http)
    with pytest.raises(E.AuthenticationError) as info:
        client.get_accounts()
    text = str(info.value)
    assert "API_FUTURES_KEY" in text and "Spot key" in text and info.value.errors == ["authenticationError"]
    assert KEY[:8] not in text + repr(info.value)


def test_a_derivatives_key_on_spot_says_spot_takes_its_own_key() -> None:
    exc = E.error_from_spot(["EAPI:Invalid key"])
    assert isinstance(exc, E.InvalidKeyError) and "API_SPOT_KEY" in str(exc)


@pytest.mark.parametrize(
    "exc",
    [
        E.ValidationError("bad", field="price", endpoint="/0/private/AddOrder"),
        E.OrderNotPlacedError("not placed", cl_ord_id="c-1", deadline="2026-01-01T00:00:00Z"),
        E.OrderOutcomeUnknownError("unknown", cl_ord_id="c-2", request={"path": "/x"}),
        E.InvalidResponseError("html", status_code=502, body_excerpt="<html>"),
        E.RateLimitError("slow down", retry_after=2.5),
        E.ConnectionLostError("dropped", cl_ord_id="c-3", req_id=7),
    ],
)
def test_errors_survive_a_pickle_whole(exc: E.KrakenError) -> None:
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is type(exc) and str(again) == str(exc) and vars(again) == vars(exc)


def test_insecure_transport_warning_is_public() -> None:
    assert krakenkit.InsecureTransportWarning is E.InsecureTransportWarning
    assert issubclass(E.InsecureTransportWarning, UserWarning) and "InsecureTransportWarning" in krakenkit.__all__
