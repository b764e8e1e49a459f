"""Shared, product-generic REST machinery: endpoint tables, retry decisions, the call flow.

Everything here is pure except the two drivers at the bottom (:class:`SyncDriver`, :class:`AsyncDriver`),
which only move bytes and sleep. A product client (Spot, Derivatives) is::

    class SpotClient(SyncDriver, SpotCore, _SpotSyncMethods): ...       # sync twin
    class AsyncSpotClient(AsyncDriver, SpotCore, _SpotAsyncMethods): ...  # async twin

How a call runs
---------------
``method(...)`` (generated, wrapped by :func:`keyword_guard`: a keyword that does not fit is a ValidationError) ->
``self._call(name, params, max_retries, timeout)`` (driver) ->
``self._run(self._flow(self._make_call(...)))``. :meth:`RestCore._flow` is a *generator* (sans-IO): it
yields :class:`Send` or :class:`Sleep` steps and receives back an ``httpx.Response`` or the
``httpx.HTTPError`` the transport raised. All decisions (validation, signing, rate-limit waits, parsing,
error mapping, retries, outcome resolution, the call's time budget) happen inside the generator; the drivers
never decide anything.

A :class:`Send` carries a *builder*, not a finished request: the driver takes the key's wire turn
(:mod:`krakenkit._core.transport`), then the builder takes the nonce and signs, and the turn passes on once
the body is written. So nonces reach Kraken in the order they were taken, whatever the number of clients,
threads and tasks using the key.

Time
----
``timeout`` (client default, or per call) is the call's **total** budget: every attempt, backoff sleep,
rate-limit wait and look-up of the call ends by ``start + timeout``. ``attempt_timeout`` (client option,
default none) bounds each attempt on its own, leaving the rest of the budget for retries and look-ups. Each
attempt's socket operations are clamped to the time left (:func:`krakenkit._core.transport.call_deadline`;
``asyncio.timeout`` for async).

Order safety
------------
An order call either succeeds, is refused by Kraken itself (:func:`krakenkit._core.errors.is_definitive_rejection`),
or its outcome is unknown (timeouts, resets, 5xx, unreadable answers, ``EService:Unavailable`` ...). An
unknown outcome of an order that can be looked up by client id is resolved (:meth:`RestCore._resolve_unknown`):
look it up; not found and the product has a deadline (Spot ``deadline``): wait until that deadline has
certainly passed on Kraken's clock, look again; still absent -> proven not placed: resend (same client id,
new deadline) when ``max_retries`` and the time budget allow, else :class:`OrderNotPlacedError`. Whatever
cannot be concluded raises :class:`OrderOutcomeUnknownError` carrying the client id.

Extension points (a product subclasses :class:`RestCore`)
---------------------------------------------------------
Class attributes: ``endpoints``, ``product``, ``logger``.

Hooks (override; all pure):

* ``_prepare_params(endpoint, params, extra) -> dict``   validate + normalise user params (and ``extra_params``)
  to wire values: an order / amend / cancel (``Endpoint.schema``) through the validation layer
  (:func:`krakenkit._core.validation.validate`, then ``_validated``), other calls data-driven by
  ``Endpoint.params`` (``_convert_param`` per kind). Nothing is sent before it passes.
* ``_validated(endpoint, params, wire) -> dict``   what only the product can check once the layer passed.
* ``_build_request(call, nonce) -> httpx.Request``   encode and sign one attempt with the given nonce
  (``None`` for public calls). Helper ``_http_request(method, url, ...)``.
* ``_parse_response(call, response) -> Any``   envelope check + typed result; raise a KrakenError.
* ``_operation_kind(call) -> OperationKind``   defaults to ``call.endpoint.kind``.
* ``_client_order_ids(call) -> list[str]``   the client ids of an order call (error context, look-ups).
* ``_can_look_up(call) -> bool``   an unknown outcome of this call can be resolved by ``_resolve_outcome``.
* ``_resolve_outcome(call, error, final) -> Flow``   look the order up; return the recovered result or
  ``None``. ``final``: the look-up runs after the order's deadline passed (a partial find is then final).
* ``_order_deadline_wait(call) -> float | None``   seconds until every deadline this call sent has
  certainly passed on the exchange's clock; ``None`` when the product has none (nothing ever proves
  absence: no resend).
* ``_may_resend(call) -> bool``   a proven-absent order may be sent again.
* ``_is_duplicate_client_id_error(call, error) -> bool``  a resend hit "client id already used".
* ``_redacted_request(call) -> dict``   the request as shown in errors/logs.

Pure functions usable by any product: :func:`decide_retry`, :func:`backoff_delay`,
:func:`map_transport_error`, :func:`decode_json_body`, :func:`body_excerpt`.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import logging
import os
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Concatenate, Literal, NoReturn, ParamSpec, Self, TypeVar, cast

import httpx

from .._core.deadline import ServerClock, shared_server_clock
from .._core.environment import warn_if_tls_off
from .._core.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    InvalidNonceError,
    InvalidResponseError,
    KrakenAPIError,
    KrakenError,
    MissingCredentialsError,
    OrderNotPlacedError,
    OrderOutcomeUnknownError,
    RateLimitError,
    ServiceUnavailableError,
    TemporaryLockoutError,
    ValidationError,
    is_definitive_rejection,
)
from .._core.jsonutil import MAX_DEPTH, JSONDecodeError, JSONNestingError, loads
from .._core.nonce import NonceFile, NonceProvider, NonceSource, nonce_file_for, nonce_source_for
from .._core.ratelimit import NoRateLimit, RateLimiter
from .._core.secrets import REDACTED, Secret, redact_mapping, reveal
from .._core.signing import decode_secret
from .._core.transport import (
    TurnTracker,
    WireOrder,
    WireTicket,
    call_deadline,
    clamp_timeouts,
    install_deadline_backend,
    later_in_thread,
    wire_order_for,
)
from .._core.validation import check_credentials, check_extra_params, unknown_parameter, validate, validate_values
from .._core.validation_values import suggest

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
    "as_secret_key",
    "backoff_delay",
    "body_excerpt",
    "decide_retry",
    "decode_json_body",
    "hide",
    "keyword_guard",
    "make_credentials",
    "map_transport_error",
    "mask_key",
]

DEFAULT_TIMEOUT = 10.0  # seconds: the total of one call (all attempts, waits and look-ups)
DEFAULT_MAX_RETRIES = 3
_MIN_SEND = 0.05  # no attempt is started with less time than this left


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
    "deadline",
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
    #: The validation-layer schema of an order / amend / cancel (``spot_rest.AddOrder``): its checks replace the
    #: per-kind conversion, and ``params`` must name exactly the schema's fields (a test holds them equal).
    schema: str = ""

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}


@dataclass(slots=True)
class Call:
    """One logical call (all attempts of it). ``params`` are wire-ready strings/values, no nonce."""

    endpoint: Endpoint
    params: dict[str, Any]
    max_retries: int
    timeout: float | httpx.Timeout | None = None  # the per-call override as given (per-operation caps)
    deadline: float | None = None  # time.monotonic() by which the whole call ends (None: unbounded)
    attempt: int = 0  # sends so far that counted against max_retries
    nonce_resends: int = 0  # re-signed resends after EAPI:Invalid nonce
    resolves: int = 0  # outcome resolutions run
    unknown_outcome: bool = False  # some attempt may have acted and was not proven absent since
    proven_absent: bool = False  # a look-up after the order's deadline found nothing
    last_error: KrakenError | None = None
    order_deadlines: list[float] = field(default_factory=list)  # exchange-clock deadlines sent (unix s)
    deadline_text: str | None = None  # the deadline of the latest attempt, as sent
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Steps the flow yields to a driver
# ----------------------------------------------------------------------------------------------


class Send:
    """Send one attempt. ``build(nonce)`` makes the signed request; the driver calls it inside the key's
    wire turn (``wire``), with the nonce it took there (``nonce``: the client's provider; ``nonce_file``:
    the host-wide nonce file, when shared). ``deadline`` (``time.monotonic()``) bounds the attempt, and
    ``relative`` seconds counted from the moment it is signed.

    The driver records ``sent_at`` / ``received_at`` (unix time) and whether any byte of the request may
    have left (``may_have_sent``)."""

    __slots__ = (
        "_build",
        "_request",
        "deadline",
        "nonce",
        "nonce_file",
        "received_at",
        "relative",
        "sent_at",
        "tracker",
        "wire",
    )

    def __init__(
        self,
        build: Callable[[int | None], httpx.Request],
        *,
        deadline: float | None = None,
        relative: float | None = None,
        wire: WireOrder | None = None,
        nonce: NonceProvider | None = None,
        nonce_file: NonceFile | None = None,
    ) -> None:
        self._build = build
        self._request: httpx.Request | None = None
        self.deadline = deadline
        self.relative = relative
        self.wire = wire
        self.nonce = nonce
        self.nonce_file = nonce_file
        self.sent_at: float | None = None
        self.received_at: float | None = None
        self.tracker: TurnTracker | None = None  # what the transport's trace told about this attempt

    def make(self, nonce: int | None) -> httpx.Request:
        """Build (and sign, with ``nonce``) the request of this attempt."""
        self._request = self._build(nonce)
        return self._request

    @property
    def request(self) -> httpx.Request:
        """The request; built on first access with a nonce straight from the provider (for code that drives a
        flow by hand; the drivers call :meth:`make` inside the wire turn)."""
        if self._request is None:
            self.make(self.nonce() if self.nonce is not None else None)
        assert self._request is not None
        return self._request

    @property
    def may_have_sent(self) -> bool:
        """False only when the transport's trace shows that no byte of the request went out."""
        tracker = self.tracker
        return tracker is None or tracker.sending or not tracker.traced


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
    """Capped, jittered exponential backoff: ``uniform(d/2, d)`` with ``d = min(cap, base * 2**n)``.

    * ``nonce_resends``: re-signed resends after ``EAPI:Invalid nonce`` / ``nonceBelowThreshold`` per call
      (also bounded by the call's timeout; Kraken refuses such a request before acting on it).
    * ``lookup_reserve``: seconds of an order call's budget kept for looking the order up when the answer
      is lost (the attempt itself gets the rest).
    * ``deadline_settle``: after an order's deadline has certainly passed on Kraken's clock, wait this much
      more before the look-up that proves it absent.
    * ``outcome_grace``: no longer used (a second look-up after a fixed grace could not prove anything; the
      order's ``deadline`` does); kept so existing code constructing a policy keeps working.
    """

    base_delay: float = 0.25
    max_delay: float = 8.0
    nonce_resends: int = 5
    outcome_grace: float = 0.0
    lookup_reserve: float = 1.5
    deadline_settle: float = 0.25


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failed attempt: ``retry``, ``resolve`` (look the order up), ``raise`` the error, or
    ``unknown`` (raise :class:`OrderOutcomeUnknownError`)."""

    action: Literal["retry", "resolve", "raise", "unknown"]
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
        # Kraken's own error string says what happened (whatever the HTTP status); without one, 5xx/429 pass
        return (
            not exc.from_envelope and exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429)
        )
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
    """Pure retry decision for one failed attempt (the caller also checks the call's time budget).

    * ``EAPI:Invalid nonce`` (any kind): Kraken refused before acting -> re-sign and resend
      (``counts=False``), at most ``policy.nonce_resends`` times per call.
    * READ: transient failures (transport, 5xx, EService:Unavailable/Busy, EGeneral:Internal error, rate
      limits) retry with backoff within ``max_retries``; everything else raises.
    * CANCEL / ORDER_ENTRY / AMEND / WRITE, by what is known of the attempt:

      - Kraken refused it (:func:`is_definitive_rejection`) or nothing was sent (``retry_safe``): a
        transient one that certainly did not act (rate limited, connection never made) retries within
        ``max_retries``; the rest raises.
      - otherwise the outcome is **unknown**: a cancel is retried (idempotent) within ``max_retries``, then
        ``unknown``; order entry with a client id to look up is ``resolve``; anything else ``unknown``
        (never resent: an amend or a write could act twice).
    """
    if isinstance(exc, InvalidNonceError):
        if nonce_resends < policy.nonce_resends:
            return Decision("retry", 0.0, counts=False, reason="invalid nonce: re-sign and resend")
        return Decision("raise", reason="invalid nonce again after re-signing")
    transient = is_transient(exc)
    retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
    can_retry = attempt < max_retries
    if kind is OperationKind.READ:
        if transient and can_retry:
            return Decision("retry", backoff_delay(attempt, policy, rng, retry_after), reason=type(exc).__name__)
        return Decision("raise", reason="not transient" if not transient else "retries exhausted")
    if exc.retry_safe or isinstance(exc, ValidationError) or is_definitive_rejection(exc):
        if exc.retry_safe and transient and can_retry:
            return Decision(
                "retry", backoff_delay(attempt, policy, rng, retry_after), reason=f"{type(exc).__name__} (not acted on)"
            )
        if transient and exc.retry_safe:
            return Decision("raise", reason="retries exhausted (nothing was acted on)")
        return Decision("raise", reason="refused by Kraken")
    # the request may have been acted on, and nothing Kraken said tells whether it was
    if kind is OperationKind.CANCEL:
        if can_retry:
            return Decision(
                "retry", backoff_delay(attempt, policy, rng, retry_after), reason=f"{type(exc).__name__} (cancel again)"
            )
        return Decision("unknown", reason="outcome unknown and retries exhausted")
    if kind is OperationKind.ORDER_ENTRY and has_client_id:
        return Decision("resolve", reason="outcome unknown: look the order up by client id")
    if kind is OperationKind.ORDER_ENTRY:
        return Decision("unknown", reason="outcome unknown and no client id to look the order up by")
    return Decision("unknown", reason="outcome unknown; not resent (it could act twice)")


_CONNECT_FAILURES = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def _scrubbed(exc: httpx.HTTPError, text: str) -> httpx.HTTPError:
    """A copy of an httpx failure holding only its type and ``text``: not the request it carries (headers with
    the API key and signature, a body with the otp), nor its traceback and chain (httpcore frames holding those
    headers as locals). What a pickle, a reporter or ``capture_locals`` sees of the cause is then harmless."""
    try:
        copy = type(exc)(text)
    except Exception:  # an httpx error whose constructor wants more (none of the transport errors does)
        copy = httpx.TransportError(text)
    return copy


def map_transport_error(exc: httpx.HTTPError, endpoint: str) -> KrakenError:
    """Wrap an httpx failure. ``retry_safe`` only when no byte of the request can have arrived. The error's
    ``__cause__`` is a scrubbed copy of ``exc`` (see :func:`_scrubbed`); a local protocol error's text, which
    quotes the request's own headers, is left out."""
    never_sent = isinstance(exc, _CONNECT_FAILURES)
    text = (
        "the HTTP layer refused a header or the body of the request"
        if isinstance(exc, httpx.LocalProtocolError)
        else str(exc)
    )
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    error: KrakenError
    if isinstance(exc, httpx.TimeoutException):
        if never_sent:
            error = APITimeoutError(
                f"timed out before the request was sent ({detail})", endpoint=endpoint, retry_safe=True
            )
        else:
            error = APITimeoutError(
                f"no answer in time, the request may have been processed ({detail})",
                endpoint=endpoint,
                retry_safe=False,
            )
    elif never_sent:
        error = APIConnectionError(f"could not connect ({detail})", endpoint=endpoint, retry_safe=True)
    else:
        error = APIConnectionError(f"connection failed after sending ({detail})", endpoint=endpoint, retry_safe=False)
    error.__cause__ = _scrubbed(exc, text)
    return error


def body_excerpt(content: bytes, limit: int = 200) -> str:
    text = content[: limit * 2].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def decode_json_body(response: httpx.Response, endpoint: str) -> Any:
    """Decode a JSON body (money exact as Decimal); anything else -> :class:`InvalidResponseError`
    (non-JSON, truncated, nested too deeply to decode)."""
    content = response.content
    status = response.status_code
    if not content.strip():
        raise InvalidResponseError(
            f"empty body with HTTP {status}", status_code=status, endpoint=endpoint, retry_safe=False
        )
    try:
        return loads(content)
    except (JSONDecodeError, RecursionError, ValueError) as exc:
        excerpt = body_excerpt(content)
        what = (
            f"JSON nested deeper than {MAX_DEPTH} levels"
            if isinstance(exc, (RecursionError, JSONNestingError))
            else "non-JSON body"
        )
        err = InvalidResponseError(
            f"{what} with HTTP {status}: {excerpt!r}",
            status_code=status,
            body_excerpt=excerpt,
            endpoint=endpoint,
            retry_safe=False,
        )
    raise err


def total_seconds(timeout: Any, field: str = "timeout") -> float | None:
    """A call's total budget from a ``timeout`` value: seconds (> 0), ``None`` (unbounded), or an
    ``httpx.Timeout`` (its largest operation limit)."""
    if timeout is None:
        return None
    if isinstance(timeout, httpx.Timeout):
        values = [v for v in (timeout.connect, timeout.read, timeout.write, timeout.pool) if v is not None]
        return max(values) if values else None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValidationError(
            f"{field} must be a number of seconds > 0 (the whole call's time budget), or None", field=field
        )
    return float(timeout)


# ----------------------------------------------------------------------------------------------
# Keyword arguments of the generated methods
# ----------------------------------------------------------------------------------------------

_P = ParamSpec("_P")
_R = TypeVar("_R")


def keyword_guard(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Refuse a call that does not fit the method's keywords with a :class:`ValidationError` instead of Python's
    bare ``TypeError``: an unknown keyword names the nearest valid one (``post_onyl`` -> "did you mean
    post_only?"), a missing required one is named, positional arguments are refused. The typed signature stays
    what a type checker sees. The checks themselves are the client's (:meth:`RestCore._refuse_call`: for an
    order, amend or cancel the validation layer's own verdict)."""
    parameters = list(inspect.signature(fn).parameters.values())[1:]  # after self
    names = frozenset(p.name for p in parameters)
    required = tuple(p.name for p in parameters if p.default is inspect.Parameter.empty)
    method = fn.__name__

    def fits(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
        return len(args) == 1 and names.issuperset(kwargs) and all(n in kwargs for n in required)

    target: Any = fn
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            if not fits(args, kwargs):
                args[0]._refuse_call(method, args[1:], kwargs, names)
            return await target(*args, **kwargs)

        return cast(Callable[_P, _R], guarded_async)

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not fits(args, kwargs):
            args[0]._refuse_call(method, args[1:], kwargs, names)
        return target(*args, **kwargs)

    return cast(Callable[_P, _R], guarded)


# ----------------------------------------------------------------------------------------------
# Credentials (shared by every product)
# ----------------------------------------------------------------------------------------------


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


class _BytesSecret(Secret):
    """A credential given as ``bytes`` (hidden like any other; refused where a ``str`` is required)."""

    __slots__ = ()


def hide(value: Any) -> Any:
    """A constructor's very first step, for every credential argument at once: text becomes a :class:`Secret`
    (so no frame holds it plain from here on, whatever is checked and raised next); anything else is returned
    as it is, for the checks to refuse. Never raises."""
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, bytes):
        return _BytesSecret(value.decode("ascii", "replace"))
    return value


def as_secret(value: str | Secret | bytes | None, field: str = "api_secret") -> Secret | None:
    """A credential as a :class:`Secret` (``None`` when not given); a value of another type is refused naming
    only its type. Call :func:`hide` first, so the caller's frame holds no plain text either."""
    value = hide(value)
    if value is None or value == b"":
        return None
    if isinstance(value, Secret):
        return value if value.get_secret_value() else None
    raise ValidationError(f"{field} must be a str (got {type(value).__name__})", field=field)


def as_secret_key(value: str | Secret | None) -> Secret | None:
    """The API key as a :class:`Secret` (like :func:`as_secret`): a traceback's frame locals then show
    ``Secret('***')``, never the key."""
    if isinstance(value, (bytes, _BytesSecret)):
        raise ValidationError("api_key must be a str (got bytes)", field="api_key")
    return as_secret(value, "api_key")


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


def make_credentials(api_key: Secret | str | None, secret: Secret | None, product: str = "spot") -> Credentials | None:
    """Both or neither: ``None`` for a public-only client. Checked first
    (:func:`krakenkit._core.validation.check_credentials`: printable ASCII key without whitespace, base64
    secret); the errors show the key only shortened and never any part of the secret. ``api_key`` and
    ``secret`` come from :func:`as_secret_key` / :func:`as_secret` (so no frame holds the plain text)."""
    if isinstance(api_key, str):
        api_key = as_secret_key(api_key)
    check_credentials(api_key, secret, product=product)
    if api_key is None or secret is None:
        return None
    return Credentials(reveal(api_key), _decode_secret_checked(secret))


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
        api_key: Secret | None,
        api_secret: Secret | None,
        base_url: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        rate_limiter: RateLimiter | None,
        retry_policy: RetryPolicy | None,
        nonce_source: NonceProvider | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        network_options: Mapping[str, Any] | None,
        shared_nonce: bool | None = None,
        attempt_timeout: float | None = None,
    ) -> None:
        """The constructor steps every product shares: credentials (checked first), config, limiter,
        nonce source and wire order, and last the HTTP client (nothing to close if an earlier check raises).
        ``api_key`` / ``api_secret`` are already wrapped by :func:`as_secret_key` / :func:`as_secret` (the
        constructor's first line), so no frame here holds them in plain text."""
        self._credentials = make_credentials(api_key, api_secret, self.product)
        del api_key, api_secret
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValidationError("max_retries must be an int >= 0", field="max_retries")
        if http_client is not None and not isinstance(http_client, self._http_class):
            raise ValidationError(
                f"http_client must be an {self._http_class.__module__}.{self._http_class.__name__} "
                f"for {type(self).__name__}",
                field="http_client",
            )
        if shared_nonce is not None and not isinstance(shared_nonce, bool):
            raise ValidationError("shared_nonce must be True, False or None", field="shared_nonce")
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._total_timeout = total_seconds(timeout)
        self._attempt_timeout = None if attempt_timeout is None else total_seconds(attempt_timeout, "attempt_timeout")
        self._max_retries = max_retries
        # Rate limiting is on by default: one limiter per API key, shared in the process. Pass
        # rate_limiter=NoRateLimit() to switch it off, or e.g. spot_rate_limiter("pro") for another tier.
        self._rate_limiter: RateLimiter = rate_limiter if rate_limiter is not None else self._default_rate_limiter()
        self._retry_policy = retry_policy or RetryPolicy()
        self._rng: Callable[[float, float], float] = random.uniform
        self._monotonic: Callable[[], float] = time.monotonic
        self._server_clock: ServerClock = shared_server_clock(self._base_url)
        creds = self._credentials
        if shared_nonce is None:
            shared_nonce = nonce_source is None
        if nonce_source is None:
            nonce_source = nonce_source_for(creds.key) if creds is not None else NonceSource()
        self._nonce: NonceProvider = nonce_source
        self._wire: WireOrder | None = wire_order_for(creds.key) if creds is not None else None
        self._nonce_file: NonceFile | None = nonce_file_for(creds.key) if creds is not None and shared_nonce else None
        self.tls_verification_off = warn_if_tls_off(type(self).__name__, self.logger, network_options, http_client)
        if http_client is not None:
            self._http = http_client
            self._owns_http = False
        else:
            options = dict(network_options or {})
            options.setdefault("timeout", timeout)
            self._http = self._http_class(**options)
            self._owns_http = True
            if isinstance(self._http, httpx.Client):
                install_deadline_backend(self._http)

    @classmethod
    def _credentials_from_env(cls, key_var: str | None = None, secret_var: str | None = None) -> tuple[Secret, Secret]:
        key_var = key_var or cls.env_key
        secret_var = secret_var or cls.env_secret
        key = as_secret_key(os.environ.get(key_var))  # Secrets from the start: no frame holds the plain text
        secret = as_secret(os.environ.get(secret_var))
        missing = [name for name, value in ((key_var, key), (secret_var, secret)) if value is None]
        if missing:
            raise MissingCredentialsError(
                f"environment variable{'s' if len(missing) > 1 else ''} {' and '.join(missing)} "
                f"{'are' if len(missing) > 1 else 'is'} not set (expected the {cls.product.capitalize()} API key "
                f"in {key_var} and its private key in {secret_var})",
                field=missing[0],
            )
        assert key is not None and secret is not None
        return key, secret

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

    @property
    def server_clock(self) -> ServerClock:
        """The estimate of the exchange's clock this client writes deadlines in (shared per host)."""
        return self._server_clock

    # --- hooks ---------------------------------------------------------------------------------

    #: Body fields the client sets on every signed request: never taken from ``request()`` params.
    _reserved_params: ClassVar[tuple[str, ...]] = ()

    def _prepare_params(
        self, endpoint: Endpoint, params: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Validate user params (Python or wire names, None = not given) plus ``extra_params`` and return the
        wire params. An order / amend / cancel (``endpoint.schema``) goes through the validation layer
        (:func:`krakenkit._core.validation.validate`: the same verdict as every other entry point, then
        :meth:`_validated`); other calls through the per-kind conversion (:meth:`_convert_param`). Either way
        ``extra`` may only add fields the call does not know (:func:`check_extra_params`)."""
        if endpoint.schema:
            return self._validated(endpoint, params, validate(endpoint.schema, params, extra_params=extra))
        pmap = endpoint.param_map
        out: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            spec = pmap.get(name)
            if spec is None:
                if name in self._reserved_params:
                    raise ValidationError(
                        f"{name} is set by krakenkit for every request and cannot be passed",
                        field=name,
                        endpoint=endpoint.path,
                    )
                out[name] = value  # request(): a field of an endpoint newer than this SDK, passed through
                continue
            out[spec.wire_name] = self._convert_param(endpoint, spec, value)
        for spec in endpoint.params:
            if spec.required and spec.wire_name not in out:
                raise ValidationError(
                    f"{endpoint.python_method or endpoint.name}() needs {spec.name}=",
                    field=spec.name,
                    endpoint=endpoint.path,
                )
        if extra:
            checked = {p.name: p.name for p in endpoint.params} | {p.wire_name: p.name for p in endpoint.params}
            out.update(
                check_extra_params(
                    extra,
                    checked=checked,
                    reserved=self._reserved_params,
                    encoding="json" if endpoint.body == "json" else "form",
                    title=f"a parameter of {endpoint.python_method or endpoint.name}()",
                    endpoint=endpoint.path,
                )
            )
        return out

    def _validated(self, endpoint: Endpoint, params: Mapping[str, Any], wire: dict[str, Any]) -> dict[str, Any]:
        """The wire params of an order / amend / cancel once the validation layer passed them (products add
        what only they can check, e.g. a caller's deadline against the exchange's clock)."""
        return wire

    def _refuse_call(
        self, method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], names: frozenset[str]
    ) -> NoReturn:
        """The ValidationError of a method call that does not fit its keywords (see :func:`keyword_guard`)."""
        endpoint = next((e for e in self.endpoints.values() if e.python_method == method), None)
        if args:
            raise ValidationError(
                f"{method}() takes keyword arguments only (got {len(args)} positional)",
                field=None,
                endpoint=endpoint.path if endpoint else None,
            )
        unknown = [k for k in kwargs if k not in names]
        if endpoint is not None and endpoint.schema:
            fields = {p.name for p in endpoint.params}
            # the layer's own verdict: unknown names with the nearest one (or the other API's name), missing fields
            validate_values(endpoint.schema, {k: v for k, v in kwargs.items() if k in fields or k not in names})
            if unknown:  # given as None (which the layer reads as "not given"): still not a keyword of the method
                raise unknown_parameter(endpoint.schema, unknown[0])
        if unknown:
            best = suggest(unknown[0], sorted(names))
            hint = f"did you mean {best}?" if best else "known: " + ", ".join(sorted(names))
            raise ValidationError(
                f"{method}(): unknown parameter {unknown[0]!r}; {hint}",
                field=unknown[0],
                endpoint=endpoint.path if endpoint else None,
            )
        params = endpoint.params if endpoint is not None else ()
        missing = next((p.name for p in params if p.required and p.name not in kwargs), "")
        raise ValidationError(
            f"{method}() needs {missing}=", field=missing, endpoint=endpoint.path if endpoint else None
        )

    def _convert_param(self, endpoint: Endpoint, spec: Param, value: Any) -> Any:
        return value

    def _build_request(self, call: Call, nonce: int | None) -> httpx.Request:
        raise NotImplementedError

    def _parse_response(self, call: Call, response: httpx.Response) -> Any:
        raise NotImplementedError

    def _operation_kind(self, call: Call) -> OperationKind:
        return call.endpoint.kind

    def _client_order_ids(self, call: Call) -> list[str]:
        return []

    def _client_order_id(self, call: Call) -> str | None:
        ids = self._client_order_ids(call)
        return ids[0] if ids else None

    def _can_look_up(self, call: Call) -> bool:
        return False

    def _order_deadline_wait(self, call: Call) -> float | None:
        """Seconds until every deadline this call sent has certainly passed on the exchange's clock (plus
        ``deadline_settle``); None when the call sent none."""
        if not call.order_deadlines:
            return None
        latest = max(call.order_deadlines) + self._retry_policy.deadline_settle
        return self._server_clock.seconds_until_passed(latest)

    def _may_resend(self, call: Call) -> bool:
        return False

    def _order_context(self, call: Call) -> dict[str, Any]:
        """Extra fields for OrderOutcomeUnknownError / OrderNotPlacedError (order ids, ...)."""
        return {}

    @classmethod
    def _public_name(cls) -> str:
        """The client class a user would name in a message (``SpotClient``, ``DerivativesClient``)."""
        return cls.__name__.removeprefix("Async")

    def _default_rate_limiter(self) -> RateLimiter:
        """The limiter used when the caller passes none (products override: per-key shared limiter)."""
        return NoRateLimit()

    def _resolve_outcome(self, call: Call, error: KrakenError, final: bool) -> Flow:
        """Look an order of unknown outcome up; return the recovered result or None (not found)."""
        return None
        yield  # pragma: no cover  (makes this a generator)

    def _is_duplicate_client_id_error(self, call: Call, error: KrakenError) -> bool:
        return False

    def _redacted_request(self, call: Call) -> dict[str, Any]:
        params = dict(call.params)
        if call.deadline_text and "deadline" not in params:
            params["deadline"] = call.deadline_text
        redacted = redact_mapping(params)
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
        *,
        deadline: float | None = None,
    ) -> Call:
        """Validate a call before anything is sent. ``extra`` (``extra_params``, wire names) may only add fields.
        ``timeout``: this call's total budget (else the client's); ``deadline`` (monotonic) instead fixes
        its end (look-ups inside a call inherit the call's end)."""
        if isinstance(name, Endpoint):
            endpoint = name
        else:
            try:
                endpoint = self.endpoints[name]
            except KeyError:
                raise ValidationError(f"unknown {self.product} endpoint {name!r}", field="endpoint") from None
        if max_retries is not None and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
        ):
            raise ValidationError("max_retries must be an int >= 0", field="max_retries")
        total = total_seconds(timeout) if timeout is not None else self._total_timeout
        wire = self._prepare_params(endpoint, params, extra)
        if endpoint.auth and self._credentials is None:
            # Input errors first (above): they are the caller's to fix whatever key the client holds.
            raise MissingCredentialsError(
                f"{endpoint.python_method or endpoint.name}() is private: create the client with api_key and "
                f"api_secret (or {self._public_name()}.from_env() with {self.env_key}/{self.env_secret})",
                endpoint=endpoint.path,
                field="api_key",
            )
        if deadline is None and total is not None:
            deadline = self._monotonic() + total
        return Call(
            endpoint,
            wire,
            self._max_retries if max_retries is None else max_retries,
            timeout,
            deadline,
        )

    def _subcall(self, name: str, params: Mapping[str, Any], parent: Call, max_retries: int | None = None) -> Flow:
        """Run another endpoint inside a flow, within the parent's time budget
        (``result = yield from self._subcall(name, params, call)``)."""
        result = yield from self._flow(self._make_call(name, params, max_retries, deadline=parent.deadline))
        return result

    # --- time ----------------------------------------------------------------------------------

    def _left(self, call: Call) -> float | None:
        return None if call.deadline is None else call.deadline - self._monotonic()

    def _fits(self, call: Call, seconds: float) -> bool:
        """``seconds`` of waiting still leave time for an attempt within the call's budget."""
        left = self._left(call)
        return left is None or seconds + _MIN_SEND <= left

    def _lookup_reserve(self, call: Call) -> float:
        left = self._left(call)
        reserve = self._retry_policy.lookup_reserve
        return reserve if left is None else min(reserve, max(left, 0.0) / 2)

    def _order_attempt_cap(self, call: Call) -> float | None:
        """Seconds after which waiting for an order's answer is pointless: its deadline has certainly passed, so
        a look-up tells the outcome for sure. None: no such bound (no deadline)."""
        return None

    def _attempt_deadline(self, call: Call) -> tuple[float | None, float | None]:
        """When this attempt must end: ``(absolute, relative)``. Absolute (monotonic): the call's end, less the
        look-up reserve for an order whose lost answer can be resolved. Relative (seconds from signing, so the
        wait for the key's turn does not count): ``attempt_timeout``, and for such an order the moment its
        deadline has certainly passed (a look-up then tells the outcome for sure)."""
        end = call.deadline
        relative = self._attempt_timeout
        if self._operation_kind(call) is not OperationKind.ORDER_ENTRY or not self._can_look_up(call):
            return end, relative
        if end is not None:
            end -= self._lookup_reserve(call)
        cap = self._order_attempt_cap(call)
        if cap is not None:
            relative = cap if relative is None else min(relative, cap)
        return end, relative

    def _observe_clock(self, call: Call, step: Send, reply: Reply) -> None:
        if isinstance(reply, httpx.Response) and step.sent_at is not None and step.received_at is not None:
            self._server_clock.observe_date_header(reply.headers.get("date"), step.sent_at, step.received_at)
            call.extra["sent_at"] = step.sent_at
            call.extra["received_at"] = step.received_at

    # --- the flow ------------------------------------------------------------------------------

    def _flow(self, call: Call) -> Flow:
        """All attempts of one call. Yields Send/Sleep; returns the typed result or raises."""
        endpoint = call.endpoint
        limiter = self._rate_limiter
        private = endpoint.auth and self._credentials is not None
        while True:
            if not self._fits(call, 0.0):
                self._give_up(
                    call,
                    APITimeoutError(
                        f"the call's timeout passed before {'a retry' if call.attempt else 'the request'} was sent",
                        endpoint=endpoint.path,
                        retry_safe=True,
                    ),
                    "the call's timeout passed",
                )
            wait = limiter.reserve(endpoint.path, call.params)
            if wait > 0:
                if not self._fits(call, wait):
                    limited = RateLimitError(
                        f"the rate limiter needs {wait:.2f}s before this call, more than its timeout leaves",
                        endpoint=endpoint.path,
                        retry_after=wait,
                        retry_safe=True,
                    )
                    self._give_up(call, limited, "rate limited beyond the call's timeout")
                yield Sleep(wait)
            end, relative = self._attempt_deadline(call)
            step = Send(
                lambda nonce: self._build_attempt(call, nonce),
                deadline=end,
                relative=relative,
                wire=self._wire if private else None,
                nonce=self._nonce if private else None,
                nonce_file=self._nonce_file if private else None,
            )
            reply = yield step
            self._observe_clock(call, step, reply)
            error: KrakenError
            if isinstance(reply, httpx.Response):
                try:
                    result = self._parse_response(call, reply)
                except KrakenError as exc:
                    error = exc
                except Exception as exc:  # a parser tripped over an answer of a shape nobody expected
                    error = InvalidResponseError(
                        f"could not read the answer ({type(exc).__name__}: {str(exc)[:200]})",
                        status_code=reply.status_code,
                        endpoint=endpoint.path,
                    )
                    # the parser's frames hold the answer (a token, say): chained without them
                    error.__cause__ = exc.with_traceback(None)
                else:
                    limiter.on_response(endpoint.path, call.params, result)
                    return self._on_success(call, result)
            elif isinstance(reply, httpx.HTTPError):
                error = map_transport_error(reply, endpoint.path)  # chains a scrubbed copy of the httpx error
            else:  # pragma: no cover - drivers always reply
                raise RuntimeError("driver sent no reply")
            if isinstance(error, RateLimitError):
                limiter.on_rate_limited(endpoint.path, call.params)
            result = yield from self._after_failure(call, error)
            if result is not _RETRY:
                return result

    def _build_attempt(self, call: Call, nonce: int | None) -> httpx.Request:
        """:meth:`_build_request`, and nothing but a KrakenError out of it: the frames of a failing build hold the
        signed headers and body (key, signature, otp), so the error raised carries neither them (no traceback
        from there) nor the failure's own text (a ``UnicodeEncodeError`` quotes the text it could not encode)."""
        refused: KrakenError | None = None
        failure = ""
        try:
            return self._build_request(call, nonce)
        except KrakenError as exc:  # our own check (an otp that is not printable ASCII...)
            refused = exc.with_traceback(None)
            refused.__context__ = None
        except Exception as exc:
            failure = type(exc).__name__
        if refused is not None:
            raise refused
        raise ValidationError(
            f"{call.endpoint.name}: the request could not be built ({failure}); nothing was sent",
            endpoint=call.endpoint.path,
        )

    def _acted_unknown(self, error: KrakenError) -> bool:
        """This failed attempt may have acted (for a call that can act at all)."""
        return not (error.retry_safe or isinstance(error, ValidationError) or is_definitive_rejection(error))

    def _after_failure(self, call: Call, error: KrakenError) -> Flow:
        kind = self._operation_kind(call)
        if kind is not OperationKind.READ and self._acted_unknown(error) and not isinstance(error, InvalidNonceError):
            call.unknown_outcome = True
        if (
            call.resolves > 0
            and kind is OperationKind.ORDER_ENTRY
            and self._can_look_up(call)
            and self._is_duplicate_client_id_error(call, error)
        ):
            decision = Decision("resolve", reason="the resend says the client id is taken: the first attempt landed")
            call.unknown_outcome = True
        else:
            decision = decide_retry(
                kind,
                error,
                attempt=call.attempt,
                max_retries=call.max_retries,
                nonce_resends=call.nonce_resends,
                has_client_id=self._can_look_up(call),
                policy=self._retry_policy,
                rng=self._rng,
            )
        log = self.logger
        if decision.action == "retry":
            if not self._fits(call, decision.delay):
                self._give_up(call, error, "no time left for a retry within the call's timeout")
            if decision.counts:
                call.attempt += 1
            else:
                call.nonce_resends += 1
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
            result = yield from self._resolve_unknown(call, error)
            return result
        if decision.action == "unknown":
            raise self._outcome_unknown(call, error, decision.reason) from error
        self._give_up(call, error, decision.reason)

    def _give_up(self, call: Call, error: KrakenError, why: str) -> NoReturn:
        """Raise the call's final error: OrderOutcomeUnknownError when an attempt of a call that can act may
        have acted and nothing settled it; otherwise ``error`` itself."""
        kind = self._operation_kind(call)
        if kind is not OperationKind.READ and call.endpoint.kind is not OperationKind.READ:
            if self._acted_unknown(error) and not isinstance(error, InvalidNonceError):
                call.unknown_outcome = True
            if call.unknown_outcome:
                if kind is OperationKind.CANCEL and is_definitive_rejection(error):
                    error.context["earlier_attempt_outcome_unknown"] = True
                    error.message += " (an earlier attempt's outcome is unknown; it may already have acted)"
                    raise error
                raise self._outcome_unknown(call, error, why) from error
        raise error

    def _look_up(self, call: Call, error: KrakenError, final: bool) -> Flow:
        try:
            found = yield from self._resolve_outcome(call, error, final)
        except KrakenError as lookup_error:
            raise self._outcome_unknown(
                call, error, f"looking the order up by client id failed ({type(lookup_error).__name__}: {lookup_error})"
            ) from lookup_error
        return found

    def _resolve_unknown(self, call: Call, error: KrakenError) -> Flow:
        """Settle an order call whose outcome is unknown (see the module docstring, "Order safety")."""
        log = self.logger
        ids = self._client_order_ids(call)
        shown = ", ".join(ids)
        call.unknown_outcome = True
        call.resolves += 1
        if call.resolves > call.max_retries + 2:
            raise self._outcome_unknown(call, error, "gave up after repeated unknown outcomes") from error
        log.warning(
            "%s %s outcome unknown (%s); looking the order up by client id %s",
            self.product,
            call.endpoint.path,
            error.__class__.__name__,
            shown,
        )
        found = yield from self._look_up(call, error, False)
        if found is not None:
            log.warning(
                "%s %s: recovered order %s after %s", self.product, call.endpoint.path, shown, type(error).__name__
            )
            return found
        while True:
            wait = self._order_deadline_wait(call)
            if wait is None:
                raise self._outcome_unknown(
                    call,
                    error,
                    "no order with this client id was found, and nothing stops the request from still reaching the "
                    "exchange (no deadline on this call): look it up again before placing it anew",
                    lookup_found=False,
                ) from error
            if wait <= 0:
                break
            if not self._fits(call, wait + self._lookup_reserve(call)):
                raise self._outcome_unknown(
                    call,
                    error,
                    f"no order with this client id was found yet; Kraken rejects the request after its deadline "
                    f"{call.deadline_text}, which has not passed within the call's timeout: look it up by client id "
                    "after that time (or give the call a timeout longer than its deadline)",
                    lookup_found=False,
                ) from error
            log.info(
                "%s %s: no order %s yet; waiting %.2fs for its deadline %s to pass",
                self.product,
                call.endpoint.path,
                shown,
                wait,
                call.deadline_text,
            )
            yield Sleep(wait)
        found = yield from self._look_up(call, error, True)
        if found is not None:
            log.warning("%s %s: recovered order %s after its deadline", self.product, call.endpoint.path, shown)
            return found
        call.unknown_outcome = False
        call.proven_absent = True
        if self._may_resend(call) and call.attempt < call.max_retries and self._fits(call, 0.0):
            call.attempt += 1
            call.last_error = error
            log.warning(
                "%s %s: no order %s exists after its deadline %s passed; resending (%d/%d) with a new deadline",
                self.product,
                call.endpoint.path,
                shown,
                call.deadline_text,
                call.attempt,
                call.max_retries,
            )
            return _RETRY
        raise self._not_placed(call, error) from error

    def _outcome_unknown(self, call: Call, error: KrakenError, why: str, **context: Any) -> OrderOutcomeUnknownError:
        ids = self._client_order_ids(call)
        extra: dict[str, Any] = {**self._order_context(call), **context}
        if len(ids) > 1:
            extra.setdefault("cl_ord_ids", ids)
        if call.deadline_text:
            extra.setdefault("deadline", call.deadline_text)
        return OrderOutcomeUnknownError(
            f"{call.endpoint.name}: outcome unknown after {type(error).__name__} ({error.message}); {why}",
            request=self._redacted_request(call),
            cl_ord_id=ids[0] if ids else None,
            endpoint=call.endpoint.path,
            errors=error.errors,
            retry_safe=False,
            **extra,
        )

    def _not_placed(self, call: Call, error: KrakenError) -> OrderNotPlacedError:
        ids = self._client_order_ids(call)
        why = (
            "max_retries is exhausted"
            if call.attempt >= call.max_retries
            else "the call's timeout leaves no time to send it again"
            if self._may_resend(call)
            else "it is not resent past the caller's own deadline"
        )
        extra: dict[str, Any] = dict(self._order_context(call))
        if len(ids) > 1:
            extra["cl_ord_ids"] = ids
        return OrderNotPlacedError(
            f"{call.endpoint.name}: not placed: the outcome was unknown after {type(error).__name__}, then its "
            f"deadline {call.deadline_text} passed on Kraken's clock and no order with client id {', '.join(ids)} "
            f"exists; not sent again because {why}. Placing it anew is safe.",
            cl_ord_id=ids[0] if ids else "",
            deadline=call.deadline_text,
            request=self._redacted_request(call),
            endpoint=call.endpoint.path,
            errors=error.errors,
            **extra,
        )


_RETRY: Any = object()


# ----------------------------------------------------------------------------------------------
# Drivers: the only I/O. Twins own the send loop and the sleep, nothing else.
# ----------------------------------------------------------------------------------------------

_TURN_TIMEOUT = "the call's timeout passed while waiting for this API key's turn to send"
_LATE = "the call's timeout passed before the request was sent"


def _tracker(step: Send, ticket: WireTicket | None, later: Any) -> TurnTracker:
    tracker = TurnTracker(ticket.release if ticket is not None else None, later)
    step.tracker = tracker
    return tracker


def _trace_sync(step: Send, ticket: WireTicket | None, inner: Any) -> Callable[[str, dict[str, Any]], None]:
    tracker = _tracker(step, ticket, later_in_thread)

    def trace(name: str, info: dict[str, Any]) -> None:
        tracker.event(name)
        if inner is not None:
            inner(name, info)

    return trace


def _trace_async(step: Send, ticket: WireTicket | None, inner: Any) -> Callable[[str, dict[str, Any]], Any]:
    tracker = _tracker(step, ticket, asyncio.get_running_loop().call_later)

    async def trace(name: str, info: dict[str, Any]) -> None:
        tracker.event(name)
        if inner is not None:
            await inner(name, info)

    return trace


def _prepare(step: Send, ticket: WireTicket | None, trace: Callable[..., Any]) -> httpx.Request | None:
    """Take the nonce (inside the turn), build, attach the trace that passes the turn on; None when the
    attempt's deadline already passed. From here on ``step.deadline`` is the attempt's end (its relative bound
    counts from now)."""
    nonce: int | None = None
    if step.nonce is not None:
        nonce = ticket.take_nonce(step.nonce) if ticket is not None else step.nonce()
    request = step.make(nonce)
    if step.relative is not None:
        own = time.monotonic() + step.relative
        step.deadline = own if step.deadline is None else min(step.deadline, own)
    left = None if step.deadline is None else step.deadline - time.monotonic()
    if left is not None and left <= 0:
        return None
    request.extensions["timeout"] = clamp_timeouts(request.extensions.get("timeout"), left)
    request.extensions["trace"] = trace(step, ticket, request.extensions.get("trace"))
    step.sent_at = time.time()
    return request


class SyncDriver:
    """Runs flows with a blocking ``httpx.Client``."""

    _http: httpx.Client
    _owns_http: bool

    def _send(self, step: Send) -> Reply:
        ticket: WireTicket | None = None
        if step.wire is not None:
            ticket = step.wire.acquire(step.deadline, step.nonce_file)
            if ticket is None:
                return httpx.PoolTimeout(_TURN_TIMEOUT)
        try:
            request = _prepare(step, ticket, _trace_sync)
            if request is None:
                return httpx.PoolTimeout(_LATE)
            try:
                with call_deadline(step.deadline):
                    reply: Reply = self._http.send(request)
            except httpx.HTTPError as exc:
                reply = exc
            step.received_at = time.time()
            return reply
        finally:
            if ticket is not None:
                ticket.release()

    def _run(self, flow: Flow) -> Any:
        reply: Reply = None
        try:
            while True:
                step = flow.send(reply)
                if type(step) is Send:
                    reply = self._send(step)
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
    """Runs flows with an ``httpx.AsyncClient`` (``async with``). Each attempt is bounded by
    ``asyncio.timeout`` (the call's true deadline, whatever the server trickles)."""

    _http: httpx.AsyncClient
    _owns_http: bool

    async def _send(self, step: Send) -> Reply:
        ticket: WireTicket | None = None
        if step.wire is not None:
            ticket = await step.wire.acquire_async(step.deadline, step.nonce_file)
            if ticket is None:
                return httpx.PoolTimeout(_TURN_TIMEOUT)
        try:
            request = _prepare(step, ticket, _trace_async)
            if request is None:
                return httpx.PoolTimeout(_LATE)
            left = None if step.deadline is None else max(0.0, step.deadline - time.monotonic())
            reply: Reply
            try:
                async with asyncio.timeout(left):
                    reply = await self._http.send(request)
            except httpx.HTTPError as exc:
                reply = exc
            except TimeoutError:
                reply = (
                    httpx.ReadTimeout("the call's timeout passed", request=request)
                    if step.may_have_sent
                    else httpx.PoolTimeout(_LATE)
                )
            step.received_at = time.time()
            return reply
        finally:
            if ticket is not None:
                ticket.release()

    async def _run(self, flow: Flow) -> Any:
        reply: Reply = None
        try:
            while True:
                step = flow.send(reply)
                if type(step) is Send:
                    reply = await self._send(step)
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
