"""Kraken Derivatives (Futures) REST clients: :class:`DerivativesClient` and :class:`AsyncDerivativesClient`.

.. deprecated::
   Kraken decommissions the Derivatives REST API (and Derivatives WebSocket v1) on **2027-03-01**;
   the Unified WebSocket replaces them. Creating a client warns once per process with
   :class:`KrakenDeprecationWarning`; see ``docs/migration-unified-ws.md``.

Both twins share :class:`DerivativesCore` (request building, Authent signing, envelope parsing,
order-status checks, outcome recovery) on top of :class:`krakenkit.rest._base.RestCore`; they only
differ in the driver that sends bytes. Methods are generated from the endpoint table
(:mod:`krakenkit.rest.derivatives_endpoints`) and take Kraken's wire parameter names::

    with DerivativesClient(api_key, api_secret) as client:
        placed = client.submit_order(orderType="lmt", symbol="PF_XBTUSD", side="buy", size="0.01",
                                     limitPrice="30000", cliOrdId=client.generate_new_order_id())

``client.request(method, path, params, auth=...)`` calls any endpoint by verb and path through the
same flow (a path of the table runs as its method; others return a :class:`DerivResult`).

What a call raises:

* ``result: error`` -> :func:`krakenkit._core.errors.error_from_futures` (``apiLimitExceeded`` ->
  RateLimitError, ``authenticationError`` -> AuthenticationError, ``nonceBelowThreshold`` ->
  InvalidNonceError, ...).
* ``result: success`` with ``sendStatus`` / ``editStatus`` / ``cancelStatus`` other than success ->
  :func:`~krakenkit._core.errors.error_from_futures_status` (an OrderRejectedError subclass with
  ``.status``). ``batchorder`` never raises for one instruction: see :class:`BatchOrderResult`.
* ``sendorder`` whose outcome is unknown (timeout, reset, 5xx, ``Server Error``, an unreadable answer...):
  with a ``cliOrdId`` the order is looked up (``orders/status``, ``openorders``, ``fills``) and returned
  with ``recovered=True`` when found; otherwise, and without a ``cliOrdId``,
  :class:`~krakenkit._core.errors.OrderOutcomeUnknownError` carrying the id and the request. A Derivatives
  order of unknown outcome is **never sent again by the client**: nothing in Kraken's documentation
  guarantees that a late first request is refused (see ``docs/reliability.md``).
* ``editorder`` / ``batchorder`` of unknown outcome: OrderOutcomeUnknownError (never resent);
  ``cancelorder``: retried (idempotent), then OrderOutcomeUnknownError.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Generator, Mapping
from typing import Any, ClassVar

import httpx

from .._core.environment import LIVE, TESTNET, Environment, user_stacklevel
from .._core.errors import (
    FUTURES_KEY_HINT,
    AuthenticationError,
    DuplicateClientOrderIdError,
    InternalServerError,
    InvalidArgumentsError,
    InvalidResponseError,
    KrakenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
    error_from_futures,
    error_from_futures_status,
)
from .._core.ids import generate_futures_order_id
from .._core.jsonutil import JSONDecodeError, dumps, loads
from .._core.nonce import NonceProvider
from .._core.ratelimit import NoRateLimit, RateLimiter, shared_derivatives_rate_limiter
from .._core.secrets import Secret
from ._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncDriver,
    Call,
    Endpoint,
    Flow,
    Param,
    RestCore,
    RetryPolicy,
    SyncDriver,
    as_secret,
    as_secret_key,
    body_excerpt,
    decode_json_body,
    hide,
)
from .derivatives_endpoints import (
    DERIV_ENDPOINTS,
    build_deriv_request,
    convert_param,
    deriv_auth_headers,
    request_endpoint,
    request_params,
)
from .derivatives_methods import _DerivativesAsyncMethods, _DerivativesSyncMethods
from .derivatives_models import (
    CANCEL_ALL_SUCCESS,
    CANCEL_SUCCESS,
    EDIT_SUCCESS,
    SEND_SUCCESS,
    AccountsResult,
    BatchInstructionResult,
    BatchOrderResult,
    CancelAllOrdersResult,
    CancelOrderResult,
    DeadManSwitchResult,
    DerivList,
    DerivResult,
    EditOrderResult,
    Fill,
    FundingRate,
    Instrument,
    InstrumentStatus,
    OpenOrder,
    OpenPosition,
    OrderBook,
    OrderStatusResult,
    PublicTrade,
    SendOrderResult,
    Ticker,
)

__all__ = [
    "DERIVATIVES_SUNSET",
    "AsyncDerivativesClient",
    "DerivativesClient",
    "DerivativesCore",
    "KrakenDeprecationWarning",
]

log = logging.getLogger("krakenkit.rest.derivatives")

DERIVATIVES_SUNSET = "2027-03-01"
ENV_KEY = "API_FUTURES_KEY"
ENV_SECRET = "API_FUTURES_SECRET"  # noqa: S105 - a variable name, not a secret


# ------------------------------------------------------------------------------------------------
# Deprecation
# ------------------------------------------------------------------------------------------------


class KrakenDeprecationWarning(DeprecationWarning):
    """A Kraken API that krakenkit wraps is being retired by Kraken.

    Filter it like any warning: ``warnings.filterwarnings("ignore", category=KrakenDeprecationWarning)``.
    """


_DEPRECATION_MESSAGE = (
    f"Kraken retires the Derivatives REST API and Derivatives WebSocket v1 on {DERIVATIVES_SUNSET}; "
    "the Unified WebSocket (wss://uws.kraken.com/v2) replaces them. "
    "See docs/migration-unified-ws.md for what changes and what krakenkit offers."
)
_deprecation_lock = threading.Lock()
_deprecation_warned = False


def _warn_deprecated_once() -> None:
    global _deprecation_warned
    with _deprecation_lock:
        if _deprecation_warned:
            return
        _deprecation_warned = True
    # user_stacklevel counts from its caller (this function); warn() counts from here too.
    warnings.warn(_DEPRECATION_MESSAGE, KrakenDeprecationWarning, stacklevel=user_stacklevel())


def _reset_deprecation_warning() -> None:
    """For tests: let the next client creation warn again."""
    global _deprecation_warned
    with _deprecation_lock:
        _deprecation_warned = False


# ------------------------------------------------------------------------------------------------
# Response parsing (pure)
# ------------------------------------------------------------------------------------------------


def _items(doc: Any, key: str) -> list[Mapping[str, Any]]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _status_block(doc: Mapping[str, Any], key: str, endpoint: str) -> Mapping[str, Any]:
    block = doc.get(key)
    if not isinstance(block, Mapping) or "status" not in block:
        raise InvalidResponseError(
            f"{key} missing from a successful response", endpoint=endpoint, body_excerpt=str(doc)[:200]
        )
    return block


def _checked(doc: Mapping[str, Any], key: str, ok: frozenset[str], endpoint: str) -> Mapping[str, Any]:
    block = _status_block(doc, key, endpoint)
    status = str(block.get("status"))
    if status not in ok:
        raise error_from_futures_status(status, kind=key, endpoint=endpoint, payload=doc)
    return block


def _parse_send(doc: Mapping[str, Any], call: Call, path: str) -> SendOrderResult:
    return SendOrderResult.from_status(_checked(doc, "sendStatus", SEND_SUCCESS, path), doc)


def _parse_edit(doc: Mapping[str, Any], call: Call, path: str) -> EditOrderResult:
    return EditOrderResult.from_status(_checked(doc, "editStatus", EDIT_SUCCESS, path), doc)


def _parse_cancel(doc: Mapping[str, Any], call: Call, path: str) -> CancelOrderResult:
    return CancelOrderResult.from_status(_checked(doc, "cancelStatus", CANCEL_SUCCESS, path), doc)


def _parse_cancel_all(doc: Mapping[str, Any], call: Call, path: str) -> CancelAllOrdersResult:
    return CancelAllOrdersResult.from_status(_checked(doc, "cancelStatus", CANCEL_ALL_SUCCESS, path), doc)


def _parse_batch(doc: Mapping[str, Any], call: Call, path: str) -> BatchOrderResult:
    if not isinstance(doc.get("batchStatus"), list):
        raise InvalidResponseError("batchStatus missing from a successful response", endpoint=path)
    results = [BatchInstructionResult.from_json(item, endpoint=path) for item in _items(doc, "batchStatus")]
    server_time = doc.get("serverTime")
    return BatchOrderResult(results, None if server_time is None else str(server_time), doc)


_PARSERS: dict[str, Any] = {
    "get_trade_history": lambda d, c, p: DerivList([PublicTrade.from_json(x) for x in _items(d, "history")], d),
    "get_orderbook": lambda d, c, p: OrderBook.from_json(str(c.params.get("symbol", "")), d),
    "get_tickers": lambda d, c, p: DerivList([Ticker.from_json(x) for x in _items(d, "tickers")], d),
    "get_ticker": lambda d, c, p: Ticker.from_json(d.get("ticker") or {}),
    "get_instruments": lambda d, c, p: DerivList([Instrument.from_json(x) for x in _items(d, "instruments")], d),
    "get_instrument_status_list": lambda d, c, p: DerivList(
        [InstrumentStatus.from_json(x) for x in _items(d, "instrumentStatus")], d
    ),
    "get_instrument_status": lambda d, c, p: InstrumentStatus.from_json(d),
    "get_historical_funding_rates": lambda d, c, p: DerivList(
        [FundingRate.from_json(x) for x in _items(d, "rates")], d
    ),
    "submit_order": _parse_send,
    "edit_order": _parse_edit,
    "cancel_order": _parse_cancel,
    "batch_order_management": _parse_batch,
    "cancel_all_orders": _parse_cancel_all,
    "cancel_all_orders_after": lambda d, c, p: DeadManSwitchResult.from_json(d),
    "get_open_orders": lambda d, c, p: DerivList([OpenOrder.from_json(x) for x in _items(d, "openOrders")], d),
    "get_order_status": lambda d, c, p: OrderStatusResult.from_json(d),
    "get_accounts": lambda d, c, p: AccountsResult.from_json(d),
    "get_open_positions": lambda d, c, p: DerivList([OpenPosition.from_json(x) for x in _items(d, "openPositions")], d),
    "get_fills": lambda d, c, p: DerivList([Fill.from_json(x) for x in _items(d, "fills")], d),
}


def _retry_after(response: httpx.Response) -> float | None:
    for header in ("rate-limit-reset", "retry-after"):
        value = response.headers.get(header)
        if value:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def error_from_http_status(response: httpx.Response, endpoint: str, detail: str = "") -> KrakenError:
    """An HTTP error without a Derivatives envelope (history/charts/auth APIs, proxies)."""
    status = response.status_code
    text = detail or body_excerpt(response.content) or response.reason_phrase
    msg = f"HTTP {status}: {text}"
    if status == 429:  # a rate limiter in front of Kraken refused it: nothing was acted on
        return RateLimitError(
            msg, endpoint=endpoint, status_code=status, retry_after=_retry_after(response), errors=[text]
        )
    # Without Kraken's envelope nobody can say whether the request reached the engine: not retry_safe (an order
    # call raises OrderOutcomeUnknownError for these).
    kw: dict[str, Any] = {"endpoint": endpoint, "status_code": status, "errors": [text], "retry_safe": False}
    if status == 401:
        return AuthenticationError(msg + FUTURES_KEY_HINT, **kw)
    if status == 403:
        return PermissionDeniedError(msg, **kw)
    if status == 404:
        return NotFoundError(msg, **kw)
    if status in (503, 502, 504):
        return ServiceUnavailableError(msg, **kw)
    if status >= 500:
        return InternalServerError(msg, **kw)
    if status >= 400:
        return InvalidArgumentsError(msg, **kw)
    return InvalidResponseError(msg, endpoint=endpoint, status_code=status)


def parse_deriv_response(call: Call, response: httpx.Response) -> Any:
    """Envelope check, status check and typed result for one response (pure)."""
    endpoint = call.endpoint
    path = endpoint.path
    status = response.status_code
    if endpoint.name == "get_account_log_csv" and status < 400:
        return response.text
    try:
        doc = decode_json_body(response, path)
    except InvalidResponseError as exc:
        if 400 <= status < 500:
            raise error_from_http_status(response, path) from exc
        raise
    if isinstance(doc, Mapping):
        result = doc.get("result")
        if result == "error" or (result is None and isinstance(doc.get("error"), str) and status >= 400):
            error = doc.get("error")
            if not isinstance(error, str):
                errors = doc.get("errors")
                error = str(errors[0]) if isinstance(errors, list) and errors else "unknownError"
            api_error = error_from_futures(error, endpoint=path, status_code=status, payload=doc)
            if isinstance(api_error, RateLimitError) and api_error.retry_after is None:
                api_error.retry_after = _retry_after(response)
            raise api_error
    if status >= 400:
        raise error_from_http_status(response, path, detail=str(doc)[:200])
    parser = _PARSERS.get(endpoint.name)
    if parser is None:
        return DerivResult(doc)
    if not isinstance(doc, Mapping):
        raise InvalidResponseError(
            f"expected a JSON object, got {type(doc).__name__}", endpoint=path, status_code=status
        )
    return parser(doc, call, path)


# ------------------------------------------------------------------------------------------------
# The shared core
# ------------------------------------------------------------------------------------------------


def _resolve_environment(base_url: str | None, environment: Environment | None, testnet: bool) -> str:
    if testnet and environment is not None and environment.futures_rest_url != TESTNET.futures_rest_url:
        raise ValidationError("testnet=True conflicts with environment=...; pass one of them", field="testnet")
    if base_url:
        return base_url
    if environment is not None:
        return environment.futures_rest_url
    return (TESTNET if testnet else LIVE).futures_rest_url


class DerivativesCore(RestCore):
    """Everything the Derivatives twins share (pure: no I/O). Constructor: see :class:`DerivativesClient`."""

    endpoints: ClassVar[Mapping[str, Endpoint]] = DERIV_ENDPOINTS
    product: ClassVar[str] = "derivatives"
    logger: ClassVar[logging.Logger] = log
    env_key: ClassVar[str] = ENV_KEY
    env_secret: ClassVar[str] = ENV_SECRET

    def __init__(
        self,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        environment: Environment | None = None,
        testnet: bool = False,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        network_options: Mapping[str, Any] | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        nonce_source: NonceProvider | None = None,
        rate_limiter: RateLimiter | None = None,
        retry_policy: RetryPolicy | None = None,
        shared_nonce: bool | None = None,
        attempt_timeout: float | None = None,
    ) -> None:
        api_key, api_secret = hide(api_key), hide(api_secret)  # first: no frame holds them plain
        api_key, api_secret = as_secret_key(api_key), as_secret(api_secret)
        if not isinstance(testnet, bool):
            raise ValidationError("testnet must be True or False", field="testnet")
        self._testnet = testnet
        self._init_core(
            api_key=api_key,
            api_secret=api_secret,
            base_url=_resolve_environment(base_url, environment, testnet),
            timeout=timeout,
            max_retries=max_retries,
            rate_limiter=rate_limiter,
            retry_policy=retry_policy,
            nonce_source=nonce_source,
            http_client=http_client,
            network_options=network_options,
            shared_nonce=shared_nonce,
            attempt_timeout=attempt_timeout,
        )
        _warn_deprecated_once()

    @staticmethod
    def generate_new_order_id() -> str:
        """A fresh random ``cliOrdId`` (a UUID). Pass it to ``submit_order`` so an unknown outcome can
        be resolved by looking the order up instead of sending it twice."""
        return generate_futures_order_id()

    # --- hooks ---------------------------------------------------------------------------------

    def _convert_param(self, endpoint: Endpoint, spec: Param, value: Any) -> Any:
        return convert_param(endpoint, spec, value)

    def _prepare_params(
        self, endpoint: Endpoint, params: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if endpoint.schema == "derivatives.batchorder" and "json" in params and "batchOrder" not in params:
            params = _batch_from_json_field(params)  # request("POST", ".../batchorder", {"json": "<text>"})
        return super()._prepare_params(endpoint, params, extra)

    def _validated(self, endpoint: Endpoint, params: Mapping[str, Any], wire: dict[str, Any]) -> dict[str, Any]:
        """``batchorder`` goes out as one form field ``json=<{"batchOrder": [...]}>`` (amounts as JSON numbers)."""
        if "batchOrder" in wire:
            batch = wire.pop("batchOrder")
            return {"json": dumps({"batchOrder": batch}).decode(), **wire}
        return wire

    def _build_request(self, call: Call, nonce: int | None) -> httpx.Request:
        req = build_deriv_request(call.endpoint, call.params)
        headers = {"Accept": "application/json"}
        if req.content_type:
            headers["Content-Type"] = req.content_type
        creds = self._credentials
        if call.endpoint.auth:
            assert creds is not None  # _make_call refuses a private call without credentials
            value = self._nonce() if nonce is None else nonce
            headers.update(creds.sign(lambda secret: deriv_auth_headers(creds.key, secret, req, value)))
        # The URL carries our own encoded query, the body our own encoded text: the bytes signed are
        # the bytes sent (httpx leaves already percent-encoded text alone).
        return self._http_request(
            call.endpoint.method,
            self._base_url + req.target,
            content=req.body.encode() if req.body else None,
            headers=headers,
            timeout=call.timeout if call.timeout is not None else self._timeout,
        )

    def _parse_response(self, call: Call, response: httpx.Response) -> Any:
        return parse_deriv_response(call, response)

    def _default_rate_limiter(self) -> RateLimiter:
        """Kraken's Derivatives cost budgets for this key, shared with every client of the key."""
        if self._credentials is None:
            return NoRateLimit()
        return shared_derivatives_rate_limiter(self._credentials.key)

    def _client_order_ids(self, call: Call) -> list[str]:
        name = call.endpoint.name
        if name in ("submit_order", "edit_order", "cancel_order"):
            value = call.params.get("cliOrdId")
            return [str(value)] if value else []
        if name == "batch_order_management":
            text = call.params.get("json")
            try:
                batch = loads(text) if isinstance(text, (str, bytes)) else text
            except JSONDecodeError:
                return []
            items = batch.get("batchOrder", ()) if isinstance(batch, Mapping) else ()
            return [
                str(i["cliOrdId"])
                for i in items
                if isinstance(i, Mapping) and i.get("cliOrdId") and i.get("order") == "send"
            ]
        return []

    def _can_look_up(self, call: Call) -> bool:
        return call.endpoint.name == "submit_order" and bool(self._client_order_ids(call))

    def _order_context(self, call: Call) -> dict[str, Any]:
        for name in ("orderId", "order_id"):
            value = call.params.get(name)
            if value:
                return {"order_id": str(value)}
        return {}

    def _is_duplicate_client_id_error(self, call: Call, error: KrakenError) -> bool:
        return isinstance(error, DuplicateClientOrderIdError)

    # --- generic access (``request``) ---------------------------------------------------------

    def _endpoint_for(self, method: str, path: str, auth: bool | None = None) -> Endpoint:
        """The endpoint ``request(method, path, auth=...)`` runs as (see :func:`request_endpoint`)."""
        return request_endpoint(method, path, auth, has_credentials=self._credentials is not None)

    @staticmethod
    def _request_params(endpoint: Endpoint, params: Mapping[str, Any] | None) -> dict[str, Any]:
        return request_params(endpoint, params)

    def _resolve_outcome(self, call: Call, error: KrakenError, final: bool) -> Flow:
        """Find a ``sendorder`` of unknown outcome by its cliOrdId: ``orders/status`` (open orders
        and those closed in the last 5 s), ``openorders``, then ``fills`` (for one that filled and aged
        out). Not found proves nothing (no deadline): the flow raises OrderOutcomeUnknownError."""
        return self._find_order_by_cli_ord_id(call)

    def _find_order_by_cli_ord_id(self, call: Call) -> Generator[Any, Any, SendOrderResult | None]:
        cli_ord_id = self._client_order_id(call)
        if cli_ord_id is None:
            return None
        status: OrderStatusResult = yield from self._subcall("get_order_status", {"cliOrdIds": [cli_ord_id]}, call)
        detail = status.by_cli_ord_id(cli_ord_id)
        if detail is not None and detail.status != "REJECTED":
            return _recovered("placed", detail.order_id, cli_ord_id, None, detail.raw)
        opened: DerivList[OpenOrder] = yield from self._subcall("get_open_orders", {}, call)
        for order in opened:
            if order.cli_ord_id == cli_ord_id:
                return _recovered("placed", order.order_id, cli_ord_id, order.received_time, order.raw)
        fills: DerivList[Fill] = yield from self._subcall("get_fills", {}, call)
        for fill in fills:
            if fill.cli_ord_id == cli_ord_id:
                return _recovered("filled", fill.order_id, cli_ord_id, fill.fill_time, fill.raw)
        return None


def _batch_from_json_field(params: Mapping[str, Any]) -> dict[str, Any]:
    """``{"json": '{"batchOrder": [...]}'}`` (the wire form, as ``request()`` may get it) as the validation
    layer's ``{"batchOrder": [...]}``."""
    text = params["json"]
    try:
        doc = loads(text) if isinstance(text, (str, bytes)) else text
    except (JSONDecodeError, ValueError, RecursionError):
        raise ValidationError("json is not JSON text; pass batchOrder=[...] instead", field="json") from None
    if not isinstance(doc, Mapping) or set(doc) - {"batchOrder"}:
        raise ValidationError('json must be {"batchOrder": [...]}; pass batchOrder=[...] instead', field="json")
    return {**{k: v for k, v in params.items() if k != "json"}, "batchOrder": doc.get("batchOrder")}


def _recovered(
    status: str, order_id: str | None, cli_ord_id: str, received: str | None, raw: Mapping[str, Any]
) -> SendOrderResult:
    return SendOrderResult(
        status=status,
        order_id=order_id,
        cli_ord_id=cli_ord_id,
        received_time=received,
        order_events=[],
        recovered=True,
        raw=raw,
    )


class DerivativesClient(SyncDriver, DerivativesCore, _DerivativesSyncMethods):
    """Blocking Kraken Derivatives REST client (deprecated by Kraken on 2027-03-01).

    Args:
        api_key, api_secret: a Derivatives API key (both, or neither for public endpoints).
        base_url: override the REST host (e.g. a proxy); wins over ``environment`` / ``testnet``.
        environment: an :class:`~krakenkit.Environment` (``sandbox.environment``, ``LIVE``, ``TESTNET``).
        testnet: use Kraken's demo host ``https://demo-futures.kraken.com`` (Derivatives only: Kraken has no Spot
            test environment, so ``krakenkit.TESTNET`` refuses Spot clients).
        timeout: seconds, the total time of one call (every attempt, wait and look-up; every method also
            takes ``timeout=``). Default 10.
        attempt_timeout: seconds one attempt may take (default: what is left of ``timeout``).
        max_retries: resends of a failed call where resending is safe.
        network_options: extra ``httpx.Client`` keyword arguments (``proxy``, ``verify``, ``limits``...); turning
            verification off warns (:class:`~krakenkit.InsecureTransportWarning`).
        http_client: your own ``httpx.Client`` (you close it).
        nonce_source: a callable giving strictly increasing ints (default: shared per API key).
        rate_limiter: a :class:`~krakenkit._core.ratelimit.RateLimiter` (default: the per-key shared limiter;
            pass ``NoRateLimit()`` to switch it off).
        retry_policy: backoff settings (:class:`~krakenkit.rest._base.RetryPolicy`).
        shared_nonce: share one nonce sequence per key with the other processes of the host (a lock file in
            the cache directory; ``KRAKENKIT_NONCE_DIR`` moves it). Default: on, unless ``nonce_source`` is given.

    ``DerivativesClient.from_env()`` reads the key from ``API_FUTURES_KEY`` / ``API_FUTURES_SECRET``
    (names overridable).
    """

    _http_class: ClassVar[type[Any]] = httpx.Client

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        auth: bool | None = None,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Any:
        """Call any Derivatives endpoint by verb and path, e.g. one newer than this SDK::

            client.request("GET", "/derivatives/api/v3/accounts")
            client.request("POST", "/derivatives/api/v3/sendorder", {"orderType": "lmt", ...})
            client.request("GET", "/api/history/v3/orders", {"count": 10})

        ``params`` use Kraken's wire names: the query string for GET / PUT / DELETE, a form body for
        POST (signed exactly as sent). The call runs the flow of the typed methods: Authent signing,
        ``result: error`` mapped to the exception tree, the key's shared rate limiter, retries.

        A verb and path of the endpoint table (templated paths included, e.g.
        ``/derivatives/api/v3/tickers/PF_XBTUSD``) behave exactly like that method: its checks, typed
        result, retry class (``sendorder`` with a ``cliOrdId`` is looked up, never blindly resent).
        Other paths return a :class:`DerivResult` (``.raw``); GET is retried like a read, POST / PUT /
        DELETE are writes that are never resent after an unknown outcome.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: starts with ``/``: ``/derivatives/api/v3/...``, ``/api/history/v3/...``,
                ``/api/charts/v1/...`` ...; no query string (use ``params``).
            params: wire fields (str, int, bool, Decimal or lists of them for unknown paths).
            auth: sign the call. ``None``: as the table says for a known path; for other paths signed
                when the client has a key. ``True`` without a key raises MissingCredentialsError.
            max_retries: override the client's max_retries for this call.
            timeout: this call's total time budget in seconds (default: the client's timeout).

        Raises:
            ValidationError: bad method, path or params (before anything is sent).
        """
        endpoint = self._endpoint_for(method, path, auth)
        return self._call(endpoint, self._request_params(endpoint, params), max_retries, timeout)


class AsyncDerivativesClient(AsyncDriver, DerivativesCore, _DerivativesAsyncMethods):
    """asyncio Kraken Derivatives REST client (deprecated by Kraken on 2027-03-01).

    Same options as :class:`DerivativesClient`; ``http_client`` is an ``httpx.AsyncClient``.
    Use ``async with AsyncDerivativesClient(...) as client:`` or ``await client.aclose()``.
    """

    _http_class: ClassVar[type[Any]] = httpx.AsyncClient

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        auth: bool | None = None,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Any:
        """Async twin of :meth:`DerivativesClient.request` (same arguments, same behaviour)."""
        endpoint = self._endpoint_for(method, path, auth)
        return await self._call(endpoint, self._request_params(endpoint, params), max_retries, timeout)
