"""The secret never shows: repr/str, errors, logs at DEBUG, tracebacks with locals."""

from __future__ import annotations

import base64
import logging
import pickle
import traceback
from typing import Any

import httpx
import pytest

import krakenkit._core.errors as E
from krakenkit.rest import RetryPolicy, SpotClient

RAW = b"\x8f\x13super-secret-bytes-\x00\xff-for-tests-only-" * 2
SECRET = base64.b64encode(RAW).decode()
OTP = "987654"


def forbidden() -> list[str]:
    return [SECRET, SECRET[:24], repr(RAW)[2:30], RAW.hex()[:32], OTP]


def assert_clean(text: str) -> None:
    for needle in forbidden():
        assert needle not in text, f"leaked {needle[:10]}..."


def client(handler: Any, **kw: Any) -> SpotClient:
    policy = RetryPolicy(base_delay=0, max_delay=0, outcome_grace=0)
    return SpotClient(
        "public-key-abcdef",
        SECRET,
        otp=OTP,
        retry_policy=policy,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **kw,
    )


def test_client_repr_str_vars_and_pickle() -> None:
    c = client(lambda r: httpx.Response(200, json={}))
    text = repr(c) + str(c) + repr(vars(c)) + repr(c._credentials) + f"{c}"
    assert_clean(text)
    with pytest.raises(TypeError):
        pickle.dumps(c)
    with pytest.raises(TypeError):
        pickle.dumps(c._credentials)


def test_debug_logs_redact_signature_otp_and_secret(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"error": [], "result": {"token": "ws-token-value", "expires": 900}})

    c = client(handler)
    with caplog.at_level(logging.DEBUG):
        token = c.get_web_sockets_token()
        c.get_server_time()
    text = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    assert "/0/private/GetWebSocketsToken" in text  # the request was logged
    assert_clean(text)
    assert seen[0].headers["API-Sign"] not in text
    assert "ws-token-value" not in text
    assert "ws-token-value" not in repr(token) and token.token == "ws-token-value"


def test_errors_and_tracebacks_with_locals_are_clean(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if request.url.path.endswith("AddOrder"):
            raise httpx.ReadTimeout("timed out")
        return httpx.Response(200, json={"error": ["EAPI:Invalid key"]})

    c = client(handler)
    formatted = []
    for action in (
        lambda: c.submit_order(ordertype="limit", type="buy", volume="1", pair="XBTUSD", price="1"),
        lambda: c.get_account_balance(),
        lambda: c.submit_order(ordertype="limit", type="buy", volume="1", pair="XBTUSD", price="1", cl_ord_id="abc"),
    ):
        with caplog.at_level(logging.DEBUG):
            try:
                action()
            except E.KrakenError as exc:
                formatted.append(repr(exc) + str(exc) + repr(exc.__dict__) + repr(getattr(exc, "request", "")))
                formatted.append(traceback.format_exc())
                formatted.append(
                    "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
                )
    assert len(formatted) == 9
    assert_clean("\n".join(formatted) + caplog.text)


def test_constructor_failures_do_not_leak_the_secret_in_locals() -> None:
    texts = []
    for args in (("key", "not-base64-but-secret-text!!"), (None, SECRET)):
        try:
            SpotClient(*args)
        except E.KrakenError as exc:
            library_frames = exc.__traceback__.tb_next if exc.__traceback__ else None  # skip this test's frame
            assert library_frames is not None
            texts.append(
                "".join(traceback.TracebackException(type(exc), exc, library_frames, capture_locals=True).format())
            )
    assert len(texts) == 2
    assert "api_secret = Secret('***')" in texts[0]  # the constructor frame was captured, secret wrapped
    assert "not-base64-but-secret-text" not in texts[0]
    assert_clean(texts[1])


def test_otp_not_in_outcome_unknown_request() -> None:
    c = client(lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("x")))
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        c.submit_order(ordertype="limit", type="buy", volume="1", pair="XBTUSD", price="1")
    assert_clean(repr(info.value.request))
    assert "otp" not in info.value.request["params"]
