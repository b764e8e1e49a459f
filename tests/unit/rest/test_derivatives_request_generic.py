"""``DerivativesClient.request`` / ``AsyncDerivativesClient.request``: the generic escape hatch runs the
flow of the generated methods (signing, error mapping, limiter, retries), checked on the wire through
httpx.MockTransport."""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import itertools
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
import pytest
from rest_testkit import NO_WAIT, Handler, deriv_client, replying

from krakenkit._core import errors as E
from krakenkit._core.ratelimit import NoRateLimit, shared_derivatives_rate_limiter
from krakenkit._core.signing import futures_authent
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.rest.derivatives_models import AccountsResult, DerivResult, SendOrderResult, Ticker

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

SECRET = base64.b64encode(bytes(range(64))).decode()
FORM = "application/x-www-form-urlencoded"
OK: dict[str, Any] = {"result": "success", "serverTime": "2024-01-01T00:00:00.000Z"}


class RecordingLimiter:
    """A limiter that never waits and records what the flow told it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        self.calls.append(("reserve", endpoint, dict(params or {})))
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        self.calls.append(("on_response", endpoint, dict(params or {})))

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        self.calls.append(("on_rate_limited", endpoint, dict(params or {})))


def _client(handler: Handler, *, key: str | None = "KEY", **kw: Any) -> DerivativesClient:
    return deriv_client(handler, key, SECRET if key else None, first_nonce=1_000, **kw)


def _signed_path(req: httpx.Request) -> str:
    return req.url.raw_path.decode().split("?")[0]


def _post_data(req: httpx.Request) -> str:
    return req.content.decode() if req.method == "POST" else req.url.query.decode()


def _assert_signed(req: httpx.Request, signs: str) -> None:
    """Authent is Kraken's formula over the bytes that went out; ``signs`` is the path it must cover."""
    assert req.headers["APIKey"] == "KEY"
    nonce = req.headers["Nonce"]
    assert req.headers["Authent"] == futures_authent(SECRET, _signed_path(req), nonce, _post_data(req))
    # and the formula itself: /derivatives dropped, /api/history kept
    message = _post_data(req) + nonce + signs
    mac = hmac.new(base64.b64decode(SECRET), hashlib.sha256(message.encode()).digest(), hashlib.sha512)
    assert req.headers["Authent"] == base64.b64encode(mac.digest()).decode()


# --- on the wire -----------------------------------------------------------------------------------------


def test_unknown_get_puts_params_in_the_signed_query() -> None:
    handler, seen = replying({**OK, "things": [1, 2]})
    with _client(handler) as client:
        res = client.request(
            "GET",
            "/derivatives/api/v3/brand-new",
            {"a": "x y", "n": 3, "flag": True, "ids": ["p", "q"], "amount": Decimal("0.10")},
        )
    assert isinstance(res, DerivResult) and res["things"] == [1, 2] and res.server_time == OK["serverTime"]
    (req,) = seen
    assert req.method == "GET" and req.content == b""
    assert _signed_path(req) == "/derivatives/api/v3/brand-new"
    assert req.url.query.decode() == "a=x%20y&n=3&flag=true&ids=p&ids=q&amount=0.1"
    assert "content-type" not in req.headers
    _assert_signed(req, "/api/v3/brand-new")


def test_unknown_post_sends_a_signed_form_body() -> None:
    handler, seen = replying(OK)
    with _client(handler) as client:
        client.request("post", "/derivatives/api/v3/brand-new", {"text": "a&b=c", "size": Decimal("1.50")})
    (req,) = seen
    assert req.method == "POST" and req.url.query == b""
    assert req.content == b"text=a%26b%3Dc&size=1.5"
    assert req.headers["content-type"] == FORM
    _assert_signed(req, "/api/v3/brand-new")


@pytest.mark.parametrize("verb", ["PUT", "DELETE"])
def test_put_and_delete_use_the_query(verb: str) -> None:
    handler, seen = replying(OK)
    with _client(handler) as client:
        client.request(verb, "/derivatives/api/v3/brand-new/x1", {"v": "1"})
    (req,) = seen
    assert req.method == verb and req.url.query == b"v=1" and req.content == b""
    _assert_signed(req, "/api/v3/brand-new/x1")


def test_history_paths_sign_their_full_path() -> None:
    handler, seen = replying({**OK, "elements": []})
    with _client(handler) as client:
        res = client.request("GET", "/api/history/v3/orders", {"count": 5, "sort": "asc"})
    assert isinstance(res, DerivResult) and res["elements"] == []
    (req,) = seen
    assert req.url.query == b"count=5&sort=asc"
    _assert_signed(req, "/api/history/v3/orders")


def test_known_path_sends_the_same_bytes_and_returns_the_typed_result() -> None:
    accounts = {**OK, "accounts": {"flex": {"type": "multiCollateralMarginAccount", "availableMargin": 12.5}}}
    handler, seen = replying(accounts, accounts)
    with _client(handler) as client:
        typed = client.get_accounts()
        generic = client.request("GET", "/derivatives/api/v3/accounts")
    assert isinstance(generic, AccountsResult) and type(generic) is type(typed)
    a, b = seen
    assert (a.method, a.url.raw_path, a.content) == (b.method, b.url.raw_path, b.content)
    _assert_signed(b, "/api/v3/accounts")


def test_known_order_entry_keeps_its_parameter_checks_and_status_check() -> None:
    sent = {**OK, "sendStatus": {"status": "placed", "order_id": "o-1", "cliOrdId": "c-1"}}
    handler, seen = replying(sent, {**OK, "sendStatus": {"status": "insufficientAvailableFunds"}})
    params = {
        "orderType": "lmt",
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "size": Decimal("0.0100"),
        "limitPrice": 30000,
        "cliOrdId": "c-1",
    }
    with _client(handler) as client:
        res = client.request("POST", "/derivatives/api/v3/sendorder", params)
        assert isinstance(res, SendOrderResult) and res.order_id == "o-1" and res.cli_ord_id == "c-1"
        with pytest.raises(E.OrderInsufficientFundsError):
            client.request("POST", "/derivatives/api/v3/sendorder", params)
        with pytest.raises(E.SymbolFormatError):  # the method's own checks: refused before sending
            client.request("POST", "/derivatives/api/v3/sendorder", {**params, "symbol": "BTC/USD"})
        with pytest.raises(E.ValidationError, match="size"):
            client.request("POST", "/derivatives/api/v3/sendorder", {k: v for k, v in params.items() if k != "size"})
    assert len(seen) == 2
    assert seen[0].content == (b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=30000&cliOrdId=c-1")


def test_templated_path_runs_as_its_method() -> None:
    ticker = {**OK, "ticker": {"symbol": "PF_XBTUSD", "markPrice": 30000.5}}
    handler, seen = replying(ticker, ticker)
    with _client(handler) as client:
        via_method = client.get_ticker(symbol="PF_XBTUSD")
        generic = client.request("GET", "/derivatives/api/v3/tickers/PF_XBTUSD")
        assert isinstance(generic, Ticker) and generic.mark_price == via_method.mark_price == Decimal("30000.5")
        # the placeholder is checked like the keyword argument: nothing is sent
        with pytest.raises(E.SymbolFormatError):
            client.request("GET", "/derivatives/api/v3/tickers/XBTUSD")
    assert [r.url.raw_path for r in seen] == [b"/derivatives/api/v3/tickers/PF_XBTUSD"] * 2
    assert all("authent" not in r.headers for r in seen)  # public as the table says, though the client has a key


# --- auth ------------------------------------------------------------------------------------------------


def test_unknown_path_is_signed_when_the_client_has_a_key_and_public_otherwise() -> None:
    handler, seen = replying(OK, OK, OK)
    with _client(handler) as client:
        client.request("GET", "/derivatives/api/v3/new-public")
        client.request("GET", "/derivatives/api/v3/new-public", auth=False)
    with _client(handler, key=None) as public:
        public.request("GET", "/api/charts/v1/new-chart")
    assert ["authent" in r.headers for r in seen] == [True, False, False]
    assert ["apikey" in r.headers for r in seen] == [True, False, False]


def test_auth_true_without_a_key_is_refused_before_sending() -> None:
    handler, seen = replying()
    with _client(handler, key=None) as public, pytest.raises(E.MissingCredentialsError, match=r"request\(\)"):
        public.request("GET", "/derivatives/api/v3/new-private", auth=True)
    with _client(handler, key=None) as public, pytest.raises(E.MissingCredentialsError):
        public.request("GET", "/derivatives/api/v3/accounts")  # private in the table
    assert seen == []


def test_auth_can_force_signing_a_known_public_path() -> None:
    handler, seen = replying({**OK, "tickers": []})
    with _client(handler) as client:
        client.request("GET", "/derivatives/api/v3/tickers", auth=True)
    _assert_signed(seen[0], "/api/v3/tickers")


# --- bad input: refused before anything is sent or booked ---------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    ({"method": "PATCH"}, "method"),
    ({"method": "FETCH"}, "method"),
    ({"method": ""}, "method"),
    ({"method": None}, "method"),
    ({"path": "derivatives/api/v3/accounts"}, "path"),
    ({"path": ""}, "path"),
    ({"path": "https://futures.kraken.com/derivatives/api/v3/accounts"}, "path"),
    ({"path": "/0/private/Balance"}, "path"),
    ({"path": "/derivatives/api/v3/accounts?x=1"}, "path"),
    ({"path": "/derivatives/api/v3/a b"}, "path"),
    ({"path": "/derivatives/api/v3/../v4/accounts"}, "path"),
    ({"path": "/derivatives/api/v3/caf\u00e9"}, "path"),
    ({"path": None}, "path"),
    ({"params": [("a", "b")]}, "params"),
    ({"params": {"a": {"nested": 1}}}, "a"),
    ({"params": {"a": [1, {"x": 2}]}}, "a"),
    ({"params": {1: "x"}}, "params"),
    ({"auth": "yes"}, "auth"),
    ({"max_retries": -1}, "max_retries"),
]


@pytest.mark.parametrize(("bad", "field"), BAD)
def test_bad_input_is_a_validation_error_before_sending(bad: dict[str, Any], field: str) -> None:
    handler, seen = replying()
    limiter = RecordingLimiter()
    args: dict[str, Any] = {"method": "POST", "path": "/derivatives/api/v3/brand-new", "params": {"a": "b"}, **bad}
    with _client(handler, rate_limiter=limiter) as client, pytest.raises(E.ValidationError) as info:
        client.request(args.pop("method"), args.pop("path"), args.pop("params"), **args)
    assert info.value.field == field
    assert seen == [] and limiter.calls == []


async def test_async_bad_input_is_refused_before_sending() -> None:
    handler, seen = replying()
    async with AsyncDerivativesClient(
        "KEY", SECRET, rate_limiter=NoRateLimit(), http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    ) as c:
        with pytest.raises(E.ValidationError, match="start with '/'"):
            await c.request("GET", "derivatives/api/v3/accounts")
        with pytest.raises(E.ValidationError, match="GET, POST, PUT, DELETE"):
            await c.request("HEAD", "/derivatives/api/v3/accounts")
    assert seen == []


# --- errors, retries, limiter ----------------------------------------------------------------------------------


def test_result_error_maps_to_the_exception_tree() -> None:
    handler, seen = replying(
        {"result": "error", "error": "authenticationError"}, {"result": "error", "error": "invalidArgument"}
    )
    with _client(handler) as client:
        with pytest.raises(E.AuthenticationError) as auth:
            client.request("GET", "/derivatives/api/v3/brand-new")
        with pytest.raises(E.KrakenAPIError) as bad:
            client.request("POST", "/derivatives/api/v3/brand-new", {"x": "1"})
    assert auth.value.errors == ["authenticationError"] and auth.value.endpoint == "/derivatives/api/v3/brand-new"
    assert bad.value.errors == ["invalidArgument"]
    assert len(seen) == 2  # neither retried: not transient


def test_reads_are_retried_and_the_limiter_hears_of_the_rate_limit() -> None:
    handler, seen = replying(
        {"result": "error", "error": "apiLimitExceeded"}, httpx.Response(502, text="<html/>"), {**OK, "x": 1}
    )
    limiter = RecordingLimiter()
    with _client(handler, rate_limiter=limiter) as client:
        res = client.request("GET", "/derivatives/api/v3/brand-new", {"q": "1"})
    assert res["x"] == 1 and len(seen) == 3
    path = "/derivatives/api/v3/brand-new"
    assert limiter.calls == [
        ("reserve", path, {"q": "1"}),
        ("on_rate_limited", path, {"q": "1"}),
        ("reserve", path, {"q": "1"}),
        ("reserve", path, {"q": "1"}),
        ("on_response", path, {"q": "1"}),
    ]
    assert len({r.headers["Nonce"] for r in seen}) == 3  # every attempt freshly signed


def test_max_retries_override_per_call() -> None:
    handler, seen = replying(*[{"result": "error", "error": "Unavailable"}] * 3)
    with _client(handler) as client, pytest.raises(E.ServiceUnavailableError):
        client.request("GET", "/derivatives/api/v3/brand-new", max_retries=1)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("held"), httpx.Response(500, text="oops"), {"result": "error", "error": "Server Error"}],
)
@pytest.mark.parametrize("verb", ["POST", "PUT", "DELETE"])
def test_unknown_writes_are_never_resent_after_an_unknown_outcome(verb: str, failure: Any) -> None:
    handler, seen = replying(failure, OK, OK)
    with _client(handler) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        client.request(verb, "/derivatives/api/v3/brand-new", {"amount": "5"})
    assert len(seen) == 1
    assert info.value.request == {"method": verb, "path": "/derivatives/api/v3/brand-new", "params": {"amount": "5"}}


def test_unknown_writes_are_resent_when_kraken_certainly_did_not_act() -> None:
    handler, seen = replying(httpx.ConnectError("refused"), {"result": "error", "error": "apiLimitExceeded"}, OK)
    with _client(handler) as client:
        client.request("POST", "/derivatives/api/v3/brand-new", {"amount": "5"})
    assert len(seen) == 3
    assert seen[1].content == seen[2].content == b"amount=5"


def test_known_send_order_of_unknown_outcome_is_looked_up_not_resent() -> None:
    status = {
        **OK,
        "orders": [
            {
                "order": {
                    "orderId": "o-42",
                    "cliOrdId": "c-9",
                    "type": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "quantity": 1,
                    "filled": 0,
                    "limitPrice": 10,
                },
                "status": "ENTERED_BOOK",
            }
        ],
    }
    handler, seen = replying(httpx.ReadTimeout("held"), status)
    with _client(handler) as client:
        res = client.request(
            "POST",
            "/derivatives/api/v3/sendorder",
            {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": 1, "limitPrice": 10, "cliOrdId": "c-9"},
        )
    assert isinstance(res, SendOrderResult) and res.recovered and res.order_id == "o-42"
    assert [r.url.path for r in seen] == ["/derivatives/api/v3/sendorder", "/derivatives/api/v3/orders/status"]


def test_default_limiter_is_the_keys_shared_one_and_counts_documented_costs() -> None:
    sent = {**OK, "sendStatus": {"status": "placed", "order_id": "o-1"}}
    handler, seen = replying(sent, {**OK, "x": 1}, {**OK, "elements": []}, {**OK, "tickers": []})
    shared = shared_derivatives_rate_limiter("KEY")
    nonces = itertools.count(1)
    with DerivativesClient(
        "KEY",
        SECRET,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        nonce_source=lambda: next(nonces),
        retry_policy=NO_WAIT,
    ) as client:
        assert client.rate_limiter is shared
        client.request(
            "POST",
            "/derivatives/api/v3/sendorder",
            {"orderType": "mkt", "symbol": "PF_XBTUSD", "side": "buy", "size": 1},
        )
        assert shared.budget_used() == 10  # sendorder
        client.request("GET", "/derivatives/api/v3/brand-new")
        assert shared.budget_used() == 11  # an unknown private endpoint: 1
        client.request("GET", "/api/history/v3/orders")
        assert shared.history_used() == pytest.approx(1, abs=0.01) and shared.budget_used() == 11
        client.request("GET", "/derivatives/api/v3/tickers")
        assert shared.budget_used() == 11  # public: not on the key's budget
    assert len(seen) == 4


# --- the async twin ----------------------------------------------------------------------------------------


def test_sync_and_async_request_signatures_agree() -> None:
    sync_sig = inspect.signature(DerivativesClient.request)
    assert inspect.iscoroutinefunction(AsyncDerivativesClient.request)
    assert not inspect.iscoroutinefunction(DerivativesClient.request)
    assert sync_sig == inspect.signature(AsyncDerivativesClient.request)
    assert list(sync_sig.parameters) == ["self", "method", "path", "params", "auth", "max_retries", "timeout"]
    assert sync_sig.parameters["auth"].kind is inspect.Parameter.KEYWORD_ONLY


async def test_async_client_sends_the_same_bytes_and_maps_errors() -> None:
    sync_handler, sync_seen = replying(OK)
    with _client(sync_handler) as client:
        client.request("POST", "/derivatives/api/v3/brand-new", {"a": "1 2", "b": Decimal("3.0")})
    seen: list[httpx.Request] = []
    replies = iter(
        [httpx.Response(200, json=OK), httpx.Response(200, json={"result": "error", "error": "apiLimitExceeded"})]
    )

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(replies)

    nonces = itertools.count(1_000)
    async with AsyncDerivativesClient(
        "KEY",
        SECRET,
        rate_limiter=NoRateLimit(),
        nonce_source=lambda: next(nonces),
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    ) as c:
        res = await c.request("POST", "/derivatives/api/v3/brand-new", {"a": "1 2", "b": Decimal("3.0")})
        assert isinstance(res, DerivResult)
        with pytest.raises(E.RateLimitError):
            await c.request("GET", "/derivatives/api/v3/brand-new", max_retries=0)
    assert seen[0].content == sync_seen[0].content == b"a=1%202&b=3"
    assert seen[0].headers["Authent"] == sync_seen[0].headers["Authent"]  # same nonce, same bytes, same signature
    assert urllib.parse.unquote(seen[0].content.decode()) == "a=1 2&b=3"
