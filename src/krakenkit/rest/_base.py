"""Shared, product-generic REST machinery: endpoint tables, retry decisions, the call flow.

Everything here is pure except the two tiny drivers at the bottom (:class:`SyncDriver`,
:class:`AsyncDriver`), which only move bytes and sleep. A product client (Spot, Derivatives) is::

    class SpotClient(SyncDriver, SpotCore, _SpotSyncMethods): ...       # sync twin
    class AsyncSpotClient(AsyncDriver, SpotCore, _SpotAsyncMethods): ...  # async twin

How a call runs
---------------
``method(...)`` -> ``self._call(name, params, max_retries)`` (driver) ->
``self._run(self._flow(self._make_call(...)))``. :meth:`RestCore._flow` is a *generator* (sans-IO):
it yields :class:`Send` (an ``httpx.Request``, freshly signed for every attempt) or :class:`Sleep`
steps and receives back an ``httpx.Response`` or the ``httpx.HTTPError`` the transport raised. All
decisions (validation, signing, rate-limit waits, parsing, error mapping, retries, outcome
resolution) happen inside the generator; the drivers never decide anything.

Extension points (a product subclasses :class:`RestCore`)
---------------------------------------------------------
Class attributes:

* ``endpoints: Mapping[str, Endpoint]``   the product's endpoint table (data; see :class:`Endpoint`)
* ``product: str``                        "spot" / "derivatives" (used in messages and logs)
* ``logger: logging.Logger``

Hooks (override; all pure):

* ``_prepare_params(endpoint, params) -> dict``   validate + normalise user params to wire values.
  The default implementation is data-driven by ``Endpoint.params`` (:class:`Param` kinds) and calls
  ``_convert_param`` for each; override ``_convert_param`` for product-specific kinds.
* ``_build_request(call) -> httpx.Request``   encode and sign one attempt (fresh nonce each time).
  Helper ``_http_request(method, url, ...)`` builds it through the user's httpx client.
* ``_parse_response(call, response) -> Any``   envelope check + typed result; raise a KrakenError.
  Helpers: :func:`decode_json_body` (non-JSON -> InvalidResponseError) and
  ``Endpoint.response`` (raw result -> typed result).
* ``_operation_kind(call) -> OperationKind``   defaults to ``call.endpoint.kind`` (Spot maps
  ``validate=true`` orders to READ).
* ``_client_order_id(call) -> str | None``     the client order id of an order-entry call.
* ``_resolve_outcome(call, error) -> Flow``    a sub-flow (generator) that looks the order up by
  its client id; return the recovered result, or ``None`` when the exchange shows no such order.
  Run reads inside it with ``result = yield from self._subcall(name, params)``.
* ``_is_duplicate_client_id_error(call, error) -> bool``  a resend hit "client id already used":
  the first attempt landed, so resolve again instead of raising.
* ``_redacted_request(call) -> dict``          the request as shown in OrderOutcomeUnknownError/logs.

Pure functions usable by any product: :func:`decide_retry`, :func:`backoff_delay`,
:func:`map_transport_error`, :func:`decode_json_body`, :func:`body_excerpt`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Concatenate, Literal, ParamSpec, Self, TypeVar, cast

import httpx

from .._core.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    InvalidNonceError,
    InvalidResponseError,
    KrakenAPIError,
    KrakenError,
    MissingCredentialsError,
    OrderOutcomeUnknownError,
    RateLimitError,
    ServiceUnavailableError,
    TemporaryLockoutError,
    ValidationError,
    is_outcome_unknown_error,
)
from .._core.jsonutil import JSONDecodeError, loads
from .._core.nonce import NonceProvider, NonceSource, nonce_source_for
from .._core.ratelimit import NoRateLimit, RateLimiter
from .._core.secrets import REDACTED, Secret, redact_mapping
from .._core.signing import decode_secret

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncDriver",
    "Call",
    "Credentials",
    "Decision",
    "Endpoint",
    "Flow",
    "OperationKind",
    "Param",
    "RestCore",
    "RetryPolicy",
    "Send",
    "Sleep",
    "SyncDriver",
    "as_secret",
    "backoff_delay",
    "body_excerpt",
    "decide_retry",
    "decode_json_body",
    "make_credentials",
    "map_transport_error",
    "mask_key",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 3


# ----------------------------------------------------------------------------------------------
# Endpoint tables (data)
# ----------------------------------------------------------------------------------------------


class OperationKind(enum.Enum):
    """What a resend could do; drives every retry decision."""

    READ = "read"  # idempotent: resend freely on transient failures
    CANCEL = "cancel"  # cancelling twice is harmless: retry like a read
    ORDER_ENTRY = "order_entry"  # never resend blindly: resolve by client order id first
    AMEND = "amend"  # not idempotent, no client-id lookup: outcome unknown -> raise
    WRITE = "write"  # other non-idempotent writes (withdraw, transfer, ...): like AMEND


ParamKind = Literal[
    "str",
    "int",
    "bool",
    "money",
    "price",
    "pair",
    "cl_ord_id",
    "str_list",
    "json",
    "any",
    "number",
]


@dataclass(frozen=True, slots=True)
class Param:
    """One keyword argument of an endpoint method.

    ``name`` is the Python keyword; ``wire`` the field Kraken expects (``from_`` -> ``from``,
    ``close_ordertype`` -> ``close[ordertype]``); ``kind`` selects validation/encoding.
    """

    name: str
    kind: ParamKind = "str"
    required: bool = False
    wire: str = ""
    doc: str = ""
    py_type: str = ""  # annotation used by the method generator (default derived from kind)

    @property
    def wire_name(self) -> str:
        return self.wire or self.name


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST operation: everything the engine needs to know, as data."""

    name: str  # table key, e.g. "AddOrder"
    method: str  # "GET" | "POST" | "PUT" | "DELETE"
    path: str  # "/0/private/AddOrder"
    auth: bool  # needs a signature
    python_method: str = ""  # "submit_order"
    kind: OperationKind = OperationKind.READ
    cost: int = 1  # rate-limit cost hint (the limiter has the final say)
    body: Literal["query", "form", "json"] = "query"
    params: tuple[Param, ...] = ()
    response: Callable[[Any], Any] | None = None  # raw ``result`` -> typed result
    response_type: str = "Any"  # annotation used by the method generator
    doc: str = ""

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}


@dataclass(slots=True)
class Call:
    """One logical call (all attempts of it). ``params`` are wire-ready strings/values, no nonce."""

    endpoint: Endpoint
    params: dict[str, Any]
    max_retries: int
    timeout: float | httpx.Timeout | None = None
    attempt: int = 0  # sends so far that counted against max_retries
    nonce_resends: int = 0  # re-signed resends after EAPI:Invalid nonce
    resolves: int = 0  # outcome resolutions run
    unknown_outcome: bool = False  # some earlier attempt may have acted
    last_error: KrakenError | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Steps the flow yields to a driver
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Reply = httpx.Response | httpx.HTTPError | None
Flow = Generator[Step, Reply, Any]


# ----------------------------------------------------------------------------------------------
# Pure decisions
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped, jittered exponential backoff: ``uniform(d/2, d)`` with ``d = min(cap, base * 2**n)``."""

    base_delay: float = 0.25
    max_delay: float = 8.0
    nonce_resends: int = 1  # extra re-signed sends after EAPI:Invalid nonce (raise it when many
    # concurrent sends on one key can reach Kraken out of order)
    outcome_grace: float = 1.0  # an order of unknown outcome may still be reaching the book: after a
    # lookup finds nothing, wait this long and look once more before resending


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failed attempt."""

    action: Literal["retry", "resolve", "raise"]
    delay: float = 0.0
    counts: bool = True  # retry counts against max_retries (False for the invalid-nonce resend)
    reason: str = ""


def backoff_delay(
    attempt: int,
    policy: RetryPolicy,
    rng: Callable[[float, float], float] = random.uniform,
    retry_after: float | None = None,
    now: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based); honours a server ``retry_after``.

    ``retry_after`` above 1e9 is read as a unix timestamp (``EService: Throttled: <ts>``).
    """
    if retry_after is not None and retry_after > 0:
        wait = retry_after
        if retry_after > 1e9:
            wait = retry_after - (time.time() if now is None else now)
        return max(0.0, min(policy.max_delay, wait))
    ceiling = min(policy.max_delay, policy.base_delay * (2**attempt))
    return rng(ceiling / 2, ceiling)


def is_transient(exc: BaseException) -> bool:
    """Failures where trying again later may succeed (the exchange or the network hiccupped)."""
    if isinstance(exc, TemporaryLockoutError):
        return False
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, InvalidResponseError):
        return exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429
    if isinstance(exc, RateLimitError):
        return True
    if isinstance(exc, ServiceUnavailableError):
        return type(exc) is ServiceUnavailableError  # not MarketModeError
    if isinstance(exc, InternalServerError):
        return True
    if isinstance(exc, KrakenAPIError):
        return exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429)
    return False


def decide_retry(
    kind: OperationKind,
    exc: KrakenError,
    *,
    attempt: int,
    max_retries: int,
    nonce_resends: int = 0,
    has_client_id: bool = False,
    policy: RetryPolicy = RetryPolicy(),
    rng: Callable[[float, float], float] = random.uniform,
) -> Decision:
    """Pure retry decision for one failed attempt.

    * ``EAPI:Invalid nonce``: Kraken refused before acting -> re-sign and resend (``counts=False``),
      at most ``policy.nonce_resends`` times per call.
    * READ / CANCEL: transient failures (transport, 5xx, EService:Unavailable/Busy, EGeneral:Internal
      error, EGeneral:Too many requests, EAPI:Rate limit exceeded) retry with backoff within
      ``max_retries``; everything else raises.
    * ORDER_ENTRY / AMEND / WRITE: a transient failure where Kraken certainly did not act
      (``retry_safe``: connection never made, rate limited) retries within ``max_retries``. An unknown
      outcome (timeout, 5xx, EService:Unavailable, EGeneral:Internal error) is ``resolve`` for order
      entry that carries a client id, else ``raise`` (the caller wraps it in OrderOutcomeUnknownError).
    """
    if isinstance(exc, InvalidNonceError):
        if nonce_resends < policy.nonce_resends:
            return Decision("retry", 0.0, counts=False, reason="invalid nonce: re-sign and resend")
        return Decision("raise", reason="invalid nonce again after re-signing")
    transient = is_transient(exc)
    retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
    if kind in (OperationKind.READ, OperationKind.CANCEL):
        if transient and attempt < max_retries:
            return Decision("retry", backoff_delay(attempt, policy, rng, retry_after), reason=type(exc).__name__)
        return Decision("raise", reason="not transient" if not transient else "retries exhausted")
    # order entry / amend / write
    if exc.retry_safe:
        if transient and attempt < max_retries:
            return Decision(
                "retry", backoff_delay(attempt, policy, rng, retry_after), reason=f"{type(exc).__name__} (not acted on)"
            )
        return Decision("raise", reason="refused by Kraken" if not transient else "retries exhausted")
    if is_outcome_unknown_error(exc):
        if kind is OperationKind.ORDER_ENTRY and has_client_id:
            return Decision("resolve", reason="outcome unknown: look the order up by client id")
        return Decision("raise", reason="outcome unknown and nothing to look it up by")
    return Decision("raise", reason="refused by Kraken")


_CONNECT_FAILURES = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def map_transport_error(exc: httpx.HTTPError, endpoint: str) -> KrakenError:
    """Wrap an httpx failure. ``retry_safe`` only when no byte of the request can have arrived."""
    never_sent = isinstance(exc, _CONNECT_FAILURES)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        if never_sent:
            return APITimeoutError(
                f"timed out before the request was sent ({detail})", endpoint=endpoint, retry_safe=True
            )
        return APITimeoutError(
            f"no answer in time, the request may have been processed ({detail})", endpoint=endpoint, retry_safe=False
        )
    if never_sent:
        return APIConnectionError(f"could not connect ({detail})", endpoint=endpoint, retry_safe=True)
    return APIConnectionError(f"connection failed after sending ({detail})", endpoint=endpoint, retry_safe=False)


def body_excerpt(content: bytes, limit: int = 200) -> str:
    text = content[: limit * 2].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def decode_json_body(response: httpx.Response, endpoint: str) -> Any:
    """Decode a JSON body (money exact as Decimal); anything else -> :class:`InvalidResponseError`."""
    content = response.content
    status = response.status_code
    if not content.strip():
        raise InvalidResponseError(
            f"empty body with HTTP {status}", status_code=status, endpoint=endpoint, retry_safe=False
        )
    try:
        return loads(content)
    except JSONDecodeError:
        excerpt = body_excerpt(content)
        err = InvalidResponseError(
            f"non-JSON body with HTTP {status}: {excerpt!r}",
            status_code=status,
            body_excerpt=excerpt,
            endpoint=endpoint,
            retry_safe=False,
        )
    raise err


# ----------------------------------------------------------------------------------------------
# Credentials (shared by every product)
# ----------------------------------------------------------------------------------------------

_P = ParamSpec("_P")
_R = TypeVar("_R")


def mask_key(key: str) -> str:
    """An API key as shown in reprs and logs: the first 4 characters of a long key, never the rest."""
    return (key[:4] + "..." if len(key) > 8 else "") + REDACTED


class Credentials:
    """API key + decoded secret. Neither value shows in repr/str; the base64 text is not kept; the
    secret only leaves through :meth:`sign`, handed straight to a signing function."""

    __slots__ = ("_key", "_secret")

    def __init__(self, key: str, secret: bytes) -> None:
        self._key = key
        self._secret = secret

    @property
    def key(self) -> str:
        return self._key

    def sign(self, fn: Callable[Concatenate[bytes, _P], _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """``fn(secret_bytes, *args, **kwargs)``: e.g. ``creds.sign(spot_api_sign, path, nonce, body)``."""
        return fn(self._secret, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<credentials key={mask_key(self._key)} secret={REDACTED}>"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("credentials cannot be pickled")


def as_secret(value: str | Secret | bytes | None) -> Secret | None:
    """A constructor's first step: from here on its frame holds a Secret, never the plain text."""
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, Secret):
        return value if value.get_secret_value() else None
    if isinstance(value, bytes):
        return Secret(value.decode("ascii", "replace"))
    if isinstance(value, str):
        return Secret(value)
    raise ValidationError("api_secret must be a str", field="api_secret")


def _decode_secret_checked(secret: Secret) -> bytes:
    """Decode without letting the plain secret reach a traceback's frame locals or messages."""
    try:
        decoded = decode_secret(secret.get_secret_value())
    except ValidationError:
        decoded = b""
    if not decoded:
        raise ValidationError(
            "api_secret is not valid base64: copy the private key exactly as Kraken showed it", field="api_secret"
        )
    return decoded


def make_credentials(api_key: str | None, secret: Secret | None) -> Credentials | None:
    """Both or neither: ``None`` for a public-only client; the errors never carry the secret.
    ``secret`` comes from :func:`as_secret` (so no frame of the constructor holds the plain text)."""
    if bool(api_key) != bool(secret):
        missing = "api_secret" if api_key else "api_key"
        raise MissingCredentialsError(
            f"{missing} is missing: pass both api_key and api_secret (or neither for public data only)", field=missing
        )
    if api_key is not None and not isinstance(api_key, str):
        raise ValidationError("api_key must be a str", field="api_key")
    if not api_key or secret is None:
        return None
    return Credentials(api_key, _decode_secret_checked(secret))


# ----------------------------------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------------------------------


class RestCore:
    """Product-generic base: config, the call flow, and overridable hooks (see module docstring)."""

    endpoints: ClassVar[Mapping[str, Endpoint]] = {}
    product: ClassVar[str] = "generic"
    logger: ClassVar[logging.Logger] = logging.getLogger("krakenkit.rest")

    env_key: ClassVar[str] = ""  # environment variables read by from_env()
    env_secret: ClassVar[str] = ""
    _http_class: ClassVar[type[Any]] = httpx.Client  # the driver's client class (sync or async)

    _http: Any
    _owns_http: bool
    _credentials: Credentials | None

    def _init_core(
        self,
        *,
        api_key: str | None,
        api_secret: Secret | None,
        base_url: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        rate_limiter: RateLimiter | None,
        retry_policy: RetryPolicy | None,
        nonce_source: NonceProvider | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        network_options: Mapping[str, Any] | None,
    ) -> None:
        """The constructor steps every product shares: credentials (checked first), config, limiter,
        nonce source, and last the HTTP client (nothing to close if an earlier check raises).
        ``api_secret`` is already wrapped by :func:`as_secret` (the constructor's first line)."""
        self._credentials = make_credentials(api_key, api_secret)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValidationError("max_retries must be an int >= 0", field="max_retries")
        if http_client is not None and not isinstance(http_client, self._http_class):
            raise ValidationError(
                f"http_client must be an {self._http_class.__module__}.{self._http_class.__name__} "
                f"for {type(self).__name__}",
                field="http_client",
            )
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._max_retries = max_retries
        # Rate limiting is on by default: one limiter per API key, shared in the process. Pass
        # rate_limiter=NoRateLimit() to switch it off, or e.g. spot_rate_limiter("pro") for another tier.
        self._rate_limiter: RateLimiter = rate_limiter if rate_limiter is not None else self._default_rate_limiter()
        self._retry_policy = retry_policy or RetryPolicy()
        self._rng: Callable[[float, float], float] = random.uniform
        if nonce_source is None:
            nonce_source = nonce_source_for(api_key) if self._credentials and api_key else NonceSource()
        self._nonce: NonceProvider = nonce_source
        if http_client is not None:
            self._http = http_client
            self._owns_http = False
        else:
            options = dict(network_options or {})
            options.setdefault("timeout", timeout)
            self._http = self._http_class(**options)
            self._owns_http = True

    @classmethod
    def _credentials_from_env(cls, key_var: str | None = None, secret_var: str | None = None) -> tuple[str, Secret]:
        key_var = key_var or cls.env_key
        secret_var = secret_var or cls.env_secret
        key = os.environ.get(key_var)
        secret = os.environ.get(secret_var)
        missing = [name for name, value in ((key_var, key), (secret_var, secret)) if not value]
        if missing:
            raise MissingCredentialsError(
                f"environment variable{'s' if len(missing) > 1 else ''} {' and '.join(missing)} "
                f"{'are' if len(missing) > 1 else 'is'} not set (expected the {cls.product.capitalize()} API key "
                f"in {key_var} and its private key in {secret_var})",
                field=missing[0],
            )
        assert key is not None and secret is not None
        return key, Secret(secret)

    @classmethod
    def from_env(cls, key_var: str | None = None, secret_var: str | None = None, **kwargs: Any) -> Self:
        """A client with the key from the product's environment variables (``env_key`` / ``env_secret``,
        names overridable); other keyword arguments go to the constructor."""
        key, secret = cls._credentials_from_env(key_var, secret_var)
        factory: Callable[..., Any] = cls
        return cast(Self, factory(key, secret, **kwargs))

    @property
    def has_credentials(self) -> bool:
        return getattr(self, "_credentials", None) is not None

    @property
    def api_key(self) -> str | None:
        creds = getattr(self, "_credentials", None)
        return creds.key if creds else None

    def __repr__(self) -> str:
        # getattr: robust while __init__ is still running (e.g. a repr in a debugger or a log line)
        creds = getattr(self, "_credentials", None)
        limiter = getattr(self, "_rate_limiter", None)
        return (
            f"{type(self).__name__}(base_url={getattr(self, '_base_url', None)!r}, "
            f"api_key={mask_key(creds.key) if creds else None!r}, "
            f"rate_limiter={type(limiter).__name__ if limiter is not None else None})"
        )

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError(f"{type(self).__name__} cannot be pickled")

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def rate_limiter(self) -> RateLimiter:
        return self._rate_limiter

    # --- hooks ---------------------------------------------------------------------------------

    def _prepare_params(self, endpoint: Endpoint, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate user params (Python names) and return wire params (wire names, None dropped)."""
        pmap = endpoint.param_map
        out: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            spec = pmap.get(name)
            if spec is None:
                out[name] = value  # extra_params / request(): passed through as given
                continue
            out[spec.wire_name] = self._convert_param(endpoint, spec, value)
        for spec in endpoint.params:
            if spec.required and spec.wire_name not in out:
                raise ValidationError(
                    f"{endpoint.python_method or endpoint.name}() needs {spec.name}=",
                    field=spec.name,
                    endpoint=endpoint.path,
                )
        return out

    def _convert_param(self, endpoint: Endpoint, spec: Param, value: Any) -> Any:
        return value

    def _build_request(self, call: Call) -> httpx.Request:
        raise NotImplementedError

    def _parse_response(self, call: Call, response: httpx.Response) -> Any:
        raise NotImplementedError

    def _operation_kind(self, call: Call) -> OperationKind:
        return call.endpoint.kind

    def _client_order_id(self, call: Call) -> str | None:
        return None

    @classmethod
    def _public_name(cls) -> str:
        """The client class a user would name in a message (``SpotClient``, ``DerivativesClient``)."""
        return cls.__name__.removeprefix("Async")

    def _default_rate_limiter(self) -> RateLimiter:
        """The limiter used when the caller passes none (products override: per-key shared limiter)."""
        return NoRateLimit()

    def _resolve_outcome(self, call: Call, error: KrakenError) -> Flow:
        """Look an order of unknown outcome up; return the recovered result or None (not found)."""
        return None
        yield  # pragma: no cover  (makes this a generator)

    def _is_duplicate_client_id_error(self, call: Call, error: KrakenError) -> bool:
        return False

    def _redacted_request(self, call: Call) -> dict[str, Any]:
        redacted = redact_mapping(dict(call.params))
        assert isinstance(redacted, dict)
        return {"method": call.endpoint.method, "path": call.endpoint.path, "params": redacted}

    def _on_success(self, call: Call, result: Any) -> Any:
        return result

    # --- helpers -------------------------------------------------------------------------------

    def _http_request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = None,
    ) -> httpx.Request:
        """Build through the user's client so its default headers/cookies apply."""
        kwargs: dict[str, Any] = {}
        if params is not None:
            kwargs["params"] = params
        if content is not None:
            kwargs["content"] = content
        if headers is not None:
            kwargs["headers"] = headers
        if timeout is not None:
            kwargs["timeout"] = timeout
        request: httpx.Request = self._http.build_request(method, url, **kwargs)
        return request

    def _make_call(
        self,
        name: str | Endpoint,
        params: Mapping[str, Any],
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Call:
        """Validate a call before anything is sent. ``extra`` (wire names) is merged under ``params``."""
        if isinstance(name, Endpoint):
            endpoint = name
        else:
            try:
                endpoint = self.endpoints[name]
            except KeyError:
                raise ValidationError(f"unknown {self.product} endpoint {name!r}", field="endpoint") from None
        if max_retries is not None and (isinstance(max_retries, bool) or max_retries < 0):
            raise ValidationError("max_retries must be an int >= 0", field="max_retries")
        if extra:
            params = {**extra, **{k: v for k, v in params.items() if v is not None}}
        wire = self._prepare_params(endpoint, params)
        if endpoint.auth and self._credentials is None:
            # Input errors first (above): they are the caller's to fix whatever key the client holds.
            raise MissingCredentialsError(
                f"{endpoint.python_method or endpoint.name}() is private: create the client with api_key and "
                f"api_secret (or {self._public_name()}.from_env() with {self.env_key}/{self.env_secret})",
                endpoint=endpoint.path,
                field="api_key",
            )
        return Call(endpoint, wire, self._max_retries if max_retries is None else max_retries, timeout)

    def _subcall(self, name: str, params: Mapping[str, Any], max_retries: int | None = None) -> Flow:
        """Run another endpoint inside a flow (``result = yield from self._subcall(...)``)."""
        result = yield from self._flow(self._make_call(name, params, max_retries))
        return result

    # --- the flow ------------------------------------------------------------------------------

    def _flow(self, call: Call) -> Flow:
        """All attempts of one call. Yields Send/Sleep; returns the typed result or raises."""
        endpoint = call.endpoint
        limiter = self._rate_limiter
        while True:
            wait = limiter.reserve(endpoint.path, call.params)
            if wait > 0:
                yield Sleep(wait)
            request = self._build_request(call)
            reply = yield Send(request)
            error: KrakenError
            if isinstance(reply, httpx.Response):
                try:
                    result = self._parse_response(call, reply)
                except KrakenError as exc:
                    error = exc
                else:
                    limiter.on_response(endpoint.path, call.params, result)
                    return self._on_success(call, result)
            elif isinstance(reply, httpx.HTTPError):
                error = map_transport_error(reply, endpoint.path)
                error.__cause__ = reply
            else:  # pragma: no cover - drivers always reply
                raise RuntimeError("driver sent no reply")
            if isinstance(error, RateLimitError):
                limiter.on_rate_limited(endpoint.path, call.params)
            result = yield from self._after_failure(call, error)
            if result is not _RETRY:
                return result

    def _after_failure(self, call: Call, error: KrakenError) -> Flow:
        kind = self._operation_kind(call)
        client_id = self._client_order_id(call)
        if (
            call.unknown_outcome
            and kind is OperationKind.ORDER_ENTRY
            and client_id
            and self._is_duplicate_client_id_error(call, error)
        ):
            decision = Decision("resolve", reason="resend says the client id is taken: the first attempt landed")
        else:
            decision = decide_retry(
                kind,
                error,
                attempt=call.attempt,
                max_retries=call.max_retries,
                nonce_resends=call.nonce_resends,
                has_client_id=client_id is not None,
                policy=self._retry_policy,
                rng=self._rng,
            )
        log = self.logger
        if decision.action == "retry":
            if decision.counts:
                call.attempt += 1
            else:
                call.nonce_resends += 1
            if is_outcome_unknown_error(error) and not error.retry_safe:
                call.unknown_outcome = True
            call.last_error = error
            log.info(
                "%s %s failed (%s); retry %d/%d in %.2fs",
                self.product,
                call.endpoint.path,
                error.__class__.__name__,
                call.attempt,
                call.max_retries,
                decision.delay,
            )
            if decision.delay > 0:
                yield Sleep(decision.delay)
            return _RETRY
        if decision.action == "resolve":
            call.unknown_outcome = True
            call.resolves += 1
            log.warning(
                "%s %s outcome unknown (%s); looking the order up by client id %s",
                self.product,
                call.endpoint.path,
                error.__class__.__name__,
                client_id,
            )
            try:
                found = yield from self._resolve_outcome(call, error)
                if found is None and self._retry_policy.outcome_grace > 0:
                    log.info(
                        "%s %s: no order with client id %s yet; looking again in %.2fs",
                        self.product,
                        call.endpoint.path,
                        client_id,
                        self._retry_policy.outcome_grace,
                    )
                    yield Sleep(self._retry_policy.outcome_grace)
                    found = yield from self._resolve_outcome(call, error)
            except KrakenError as lookup_error:
                raise self._outcome_unknown(
                    call, error, f"lookup by client id failed: {lookup_error}"
                ) from lookup_error
            if found is not None:
                log.warning(
                    "%s %s: recovered order %s after %s",
                    self.product,
                    call.endpoint.path,
                    client_id,
                    error.__class__.__name__,
                )
                return found
            if call.attempt < call.max_retries:
                call.attempt += 1
                delay = backoff_delay(call.attempt - 1, self._retry_policy, self._rng)
                log.warning(
                    "%s %s: no order with client id %s exists; resending (%d/%d) in %.2fs",
                    self.product,
                    call.endpoint.path,
                    client_id,
                    call.attempt,
                    call.max_retries,
                    delay,
                )
                if delay > 0:
                    yield Sleep(delay)
                return _RETRY
            raise self._outcome_unknown(
                call,
                error,
                "no order with this client id was found, and max_retries is exhausted so it was "
                "not resent; query it again before placing it anew",
                lookup_found=False,
            ) from error
        # raise
        if (
            call.endpoint.kind is not OperationKind.READ
            and kind is not OperationKind.READ
            and kind is not OperationKind.CANCEL
            and is_outcome_unknown_error(error)
            and not error.retry_safe
        ):
            raise self._outcome_unknown(call, error, decision.reason) from error
        if call.unknown_outcome and kind is OperationKind.CANCEL:
            error.context["earlier_attempt_outcome_unknown"] = True
            error.message += " (an earlier attempt's outcome is unknown; it may already have acted)"
        raise error

    def _outcome_unknown(self, call: Call, error: KrakenError, why: str, **context: Any) -> OrderOutcomeUnknownError:
        client_id = self._client_order_id(call)
        return OrderOutcomeUnknownError(
            f"{call.endpoint.name}: outcome unknown after {type(error).__name__} ({error.message}); {why}",
            request=self._redacted_request(call),
            cl_ord_id=client_id,
            endpoint=call.endpoint.path,
            errors=error.errors,
            retry_safe=False,
            **context,
        )


_RETRY: Any = object()


# ----------------------------------------------------------------------------------------------
# Drivers: the only I/O. Twins own the send loop and the sleep, nothing else.
# ----------------------------------------------------------------------------------------------


class SyncDriver:
    """Runs flows with a blocking ``httpx.Client``."""

    _http: httpx.Client
    _owns_http: bool

    def _run(self, flow: Flow) -> Any:
        send = self._http.send
        reply: Reply = None
        try:
            while True:
                step = flow.send(reply)
                if type(step) is Send:
                    try:
                        reply = send(step.request)
                    except httpx.HTTPError as exc:
                        reply = exc
                else:
                    assert isinstance(step, Sleep)
                    time.sleep(step.seconds)
                    reply = None
        except StopIteration as stop:
            return stop.value
        finally:
            flow.close()

    def _call(
        self,
        endpoint: str | Endpoint,
        params: Mapping[str, Any],
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        core: Any = self
        return self._run(core._flow(core._make_call(endpoint, params, max_retries, timeout, extra)))

    def close(self) -> None:
        """Close the HTTP client (only when the client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncDriver:
    """Runs flows with an ``httpx.AsyncClient`` (``async with``)."""

    _http: httpx.AsyncClient
    _owns_http: bool

    async def _run(self, flow: Flow) -> Any:
        send = self._http.send
        reply: Reply = None
        try:
            while True:
                step = flow.send(reply)
                if type(step) is Send:
                    try:
                        reply = await send(step.request)
                    except httpx.HTTPError as exc:
                        reply = exc
                else:
                    assert isinstance(step, Sleep)
                    await asyncio.sleep(step.seconds)
                    reply = None
        except StopIteration as stop:
            return stop.value
        finally:
            flow.close()

    async def _call(
        self,
        endpoint: str | Endpoint,
        params: Mapping[str, Any],
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        core: Any = self
        return await self._run(core._flow(core._make_call(endpoint, params, max_retries, timeout, extra)))

    async def aclose(self) -> None:
        """Close the HTTP client (only when the client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
