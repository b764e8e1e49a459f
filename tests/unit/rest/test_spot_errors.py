"""Error mapping, non-JSON bodies, transport failures, warnings: every README error string."""

from __future__ import annotations

import base64
import logging
import re
from typing import Any

import httpx
import pytest

import krakenkit._core.errors as E
from kraken_errors import SPOT_ERROR_CLASSES
from kraken_reference import REFERENCE
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import RetryPolicy, SpotClient

README = (REFERENCE / "README.md").read_text()
SECRET = base64.b64encode(b"err-secret-" * 6).decode()
NO_WAIT = RetryPolicy(base_delay=0, max_delay=0, outcome_grace=0)


def readme_spot_errors() -> list[str]:
    section = README.split("## Errors (Spot)", 1)[1].split("Derivatives `error` values", 1)[0]
    found = re.findall(r"`([^`]+)`", section)
    out = []
    for s in found:
        s = s.replace("[:detail]", ":some detail").replace(":*", ":open position")
        out.append(s)
    return out


SPOT_ERRORS = readme_spot_errors()

EXPECTED = SPOT_ERROR_CLASSES


def test_readme_list_is_fully_covered() -> None:
    assert len(SPOT_ERRORS) >= 40
    missing = [s for s in SPOT_ERRORS if s not in EXPECTED]
    assert not missing, missing


def client_answering(*answers: Any, max_retries: int = 0) -> tuple[SpotClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return httpx.Response(200, json=item)

    client = SpotClient(
        "k",
        SECRET,
        max_retries=max_retries,
        retry_policy=NO_WAIT,
        rate_limiter=NoRateLimit(),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return client, seen


@pytest.mark.parametrize("error", list(EXPECTED), ids=list(EXPECTED))
def test_every_error_string_maps_to_its_class(error: str) -> None:
    client, _ = client_answering({"error": [error]})
    with pytest.raises(E.KrakenAPIError) as info:
        client.get_account_balance(max_retries=0)
    exc = info.value
    assert type(exc) is EXPECTED[error]
    assert exc.errors == [error]
    assert exc.endpoint == "/0/private/Balance"
    assert error in str(exc)
    assert isinstance(exc.retry_safe, bool)


def test_unknown_error_string_still_raises() -> None:
    client, _ = client_answering({"error": ["EBrandNew:Something odd"]})
    with pytest.raises(E.KrakenAPIError) as info:
        client.get_server_time()
    assert type(info.value) is E.KrakenAPIError
    assert info.value.errors == ["EBrandNew:Something odd"]


def test_rate_limit_error_is_retry_safe_and_internal_error_is_not() -> None:
    client, _ = client_answering({"error": ["EAPI:Rate limit exceeded"]})
    with pytest.raises(E.RateLimitError) as info:
        client.get_account_balance()
    assert info.value.retry_safe is True
    client, _ = client_answering({"error": ["EGeneral:Internal error"]})
    with pytest.raises(E.InternalServerError) as info2:
        client.get_account_balance()
    assert info2.value.retry_safe is False


CLOUDFLARE = "<html><head><title>502 Bad Gateway</title></head><body><center>cloudflare</center></body></html>"


@pytest.mark.parametrize(
    ("status", "body", "needle"),
    [
        (502, CLOUDFLARE, "502 Bad Gateway"),
        (502, "", "empty body"),
        (503, "", "empty body"),
        (200, "not json at all", "not json"),
    ],
)
def test_non_json_bodies(status: int, body: str, needle: str) -> None:
    client, _ = client_answering(httpx.Response(status, text=body))
    with pytest.raises(E.InvalidResponseError) as info:
        client.get_server_time()
    exc = info.value
    assert exc.status_code == status
    assert needle in str(exc)
    if body:
        assert len(exc.body_excerpt) <= 203 and exc.body_excerpt


def test_http_error_status_with_json_but_no_errors() -> None:
    client, _ = client_answering(httpx.Response(500, json={"error": []}))
    with pytest.raises(E.KrakenAPIError) as info:
        client.get_server_time()
    assert info.value.status_code == 500


def test_missing_result_is_invalid_response() -> None:
    client, _ = client_answering({"error": []})
    with pytest.raises(E.InvalidResponseError):
        client.get_server_time()


def test_wrong_result_shape_is_invalid_response_with_raw() -> None:
    client, _ = client_answering({"error": [], "result": {"unixtime": "not-an-int"}})
    with pytest.raises(E.InvalidResponseError) as info:
        client.get_server_time()
    assert info.value.context["raw"] == {"unixtime": "not-an-int"}


@pytest.mark.parametrize(
    ("exc", "cls", "retry_safe"),
    [
        (httpx.ConnectError("refused"), E.APIConnectionError, True),
        (httpx.ConnectTimeout("slow connect"), E.APITimeoutError, True),
        (httpx.ReadTimeout("slow read"), E.APITimeoutError, False),
        (httpx.WriteTimeout("slow write"), E.APITimeoutError, False),
        (httpx.RemoteProtocolError("server disconnected"), E.APIConnectionError, False),
        (httpx.ReadError("reset"), E.APIConnectionError, False),
    ],
)
def test_transport_failures_are_wrapped_with_cause(exc: Exception, cls: type[E.KrakenError], retry_safe: bool) -> None:
    client, _ = client_answering(exc)
    with pytest.raises(E.KrakenError) as info:
        client.get_server_time()
    err = info.value
    assert type(err) is cls
    assert err.retry_safe is retry_safe
    # the cause is a scrubbed copy: same type and text, no request (headers, body) and no traceback to leak
    cause = err.__cause__
    assert type(cause) is type(exc) and str(cause) == str(exc) and cause is not exc
    assert cause.__traceback__ is None and cause.__context__ is None and cause.__cause__ is None
    with pytest.raises(RuntimeError):
        cause.request  # httpx raises when no request is attached
    assert err.endpoint == "/0/public/Time"


def test_warnings_are_logged_and_on_the_result(caplog: pytest.LogCaptureFixture) -> None:
    client, _ = client_answering({"error": ["WGeneral:Deprecated endpoint"], "result": {"unixtime": 5, "rfc1123": "x"}})
    with caplog.at_level(logging.WARNING, logger="krakenkit.rest.spot"):
        result = client.get_server_time()
    assert result.unixtime == 5
    assert result.warnings == ["WGeneral:Deprecated endpoint"]
    assert "WGeneral:Deprecated endpoint" in caplog.text


def test_warning_and_error_together_raise_the_error_only() -> None:
    client, _ = client_answering({"error": ["WSome:warning", "EOrder:Insufficient funds"]})
    with pytest.raises(E.InsufficientFundsError) as info:
        client.get_account_balance()
    assert info.value.errors == ["EOrder:Insufficient funds"]
