"""The one exception tree of krakenkit.

Every failure a user sees is a :class:`KrakenError`. Lower-layer exceptions (httpx, websockets,
JSON decoding) are wrapped with ``raise ... from exc`` so the cause stays chained.

::

    KrakenError
    ├── ValidationError (also ValueError)      bad input, refused before anything is sent
    │   ├── SymbolFormatError                    symbol in the wrong form for its context
    │   └── MissingCredentialsError              no key/secret (or only one of them)
    ├── APIConnectionError                       transport failed; request may not have arrived
    │   └── APITimeoutError                      no answer in time; outcome unknown for writes
    ├── InvalidResponseError                     non-JSON / malformed body (Cloudflare HTML, empty 502)
    ├── KrakenAPIError                           Kraken answered with an error string
    │   ├── AuthenticationError
    │   │   ├── InvalidKeyError                  EAPI:Invalid key / authenticationError
    │   │   ├── InvalidSignatureError            EAPI:Invalid signature
    │   │   ├── InvalidNonceError                EAPI:Invalid nonce / nonceBelowThreshold / nonceDuplicate
    │   │   ├── PermissionDeniedError            EGeneral:Permission denied / EAccount:Invalid permissions
    │   │   └── AccountError                     EAuth:Account temporary disabled / unconfirmed, accountInactive
    │   ├── RateLimitError                       EAPI:Rate limit exceeded, EOrder:Rate limit exceeded, apiLimitExceeded
    │   │   └── TemporaryLockoutError            EGeneral:Temporary lockout
    │   ├── ServiceUnavailableError              EService:Unavailable / Busy, Unavailable
    │   │   └── MarketModeError                  EService:Market in cancel_only / post_only mode
    │   ├── InternalServerError                  EGeneral:Internal error, Server Error, unknownError
    │   ├── DeadlineElapsedError                 EService:Deadline elapsed
    │   ├── InvalidArgumentsError                EGeneral:Invalid arguments[:...], invalidArgument, ...
    │   ├── UnknownAssetPairError                EQuery:Unknown asset pair
    │   ├── NotFoundError                        notFound
    │   └── OrderError                           an order was refused
    │       ├── UnknownOrderError                EOrder:Unknown order
    │       ├── InsufficientFundsError           EOrder:Insufficient funds / margin, insufficientFunds
    │       ├── OrderMinimumError                EOrder:Order minimum not met / Cost minimum not met
    │       ├── InvalidPriceError                EOrder:Tick size check failed / Invalid price
    │       ├── OrderLimitError                  EOrder:Orders limit exceeded / Positions limit exceeded ...
    │       ├── PositionError                    EOrder:Cannot open position / Reduce only ...
    │       └── OrderRejectedError               Derivatives sendStatus/editStatus/cancelStatus != success
    │           ├── OrderInsufficientFundsError  insufficientAvailableFunds
    │           ├── DuplicateClientOrderIdError  clientOrderIdAlreadyExist
    │           ├── PostWouldExecuteError        postWouldExecute
    │           └── MarketSuspendedError         marketSuspended
    ├── OrderOutcomeUnknownError                 order request sent, no way to tell if it was placed
    │   └── ConnectionLostError                  WS request in flight when the socket dropped
    ├── OrderNotPlacedError                      outcome was unknown; deadline passed, look-up proved absence
    ├── TradingPausedError                       the reconnect gate is closed
    ├── ChecksumMismatchError                    local book disagrees with Kraken's checksum
    └── SequenceGapError                         a Derivatives book skipped a sequence number

    UserWarning
    └── InsecureTransportWarning                 TLS certificate verification turned off (once per client)

Each error carries ``endpoint`` (the path or WS method), ``errors`` (Kraken's strings, verbatim)
and ``retry_safe``: True when Kraken certainly did not act on the request, so sending it again
cannot double anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AccountError",
    "AuthenticationError",
    "ChecksumMismatchError",
    "ConnectionLostError",
    "DeadlineElapsedError",
    "DuplicateClientOrderIdError",
    "InsecureTransportWarning",
    "InsufficientFundsError",
    "InternalServerError",
    "InvalidArgumentsError",
    "InvalidKeyError",
    "InvalidNonceError",
    "InvalidPriceError",
    "InvalidResponseError",
    "InvalidSignatureError",
    "KrakenAPIError",
    "KrakenError",
    "MarketModeError",
    "MarketSuspendedError",
    "MissingCredentialsError",
    "NotFoundError",
    "OrderError",
    "OrderInsufficientFundsError",
    "OrderLimitError",
    "OrderMinimumError",
    "OrderNotPlacedError",
    "OrderOutcomeUnknownError",
    "OrderRejectedError",
    "PermissionDeniedError",
    "PositionError",
    "PostWouldExecuteError",
    "RateLimitError",
    "SequenceGapError",
    "ServiceUnavailableError",
    "SymbolFormatError",
    "TemporaryLockoutError",
    "TradingPausedError",
    "UnknownAssetPairError",
    "UnknownOrderError",
    "ValidationError",
    "error_from_futures",
    "error_from_futures_status",
    "error_from_spot",
    "is_definitive_rejection",
    "is_outcome_unknown_error",
]


class KrakenError(Exception):
    """Root of every krakenkit error."""

    retry_safe: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        endpoint: str | None = None,
        errors: Sequence[str] | None = None,
        retry_safe: bool | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.errors: list[str] = list(errors or [])
        if retry_safe is not None:
            self.retry_safe = retry_safe
        self.context: dict[str, Any] = dict(context)
        for name, value in context.items():
            if not hasattr(self, name):
                setattr(self, name, value)

    def __str__(self) -> str:
        parts = [self.message] if self.message else []
        if self.endpoint:
            parts.append(f"(endpoint {self.endpoint})")
        return " ".join(parts) or self.__class__.__name__

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.message!r}, endpoint={self.endpoint!r}, errors={self.errors!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt without calling __init__ (subclasses take keyword-only arguments): a pickled error
        # (multiprocessing, a task queue) comes back whole, with its attributes.
        return (_rebuild_error, (type(self), self.args), self.__dict__)


def _rebuild_error(cls: type[KrakenError], args: tuple[Any, ...]) -> KrakenError:
    error = cls.__new__(cls)
    error.args = args
    return error


class InsecureTransportWarning(UserWarning):
    """TLS certificate verification is turned off (``network_options={"verify": False}``, or an
    ``ssl.SSLContext`` with ``verify_mode=CERT_NONE``): anyone on the network path can read and change
    what is sent, API keys and orders included. Emitted once per client, and logged at WARNING.

    Filter it like any warning: ``warnings.filterwarnings("ignore", category=InsecureTransportWarning)``.
    """


# --- local, before sending -------------------------------------------------------------------


class ValidationError(KrakenError, ValueError):
    """Bad input, refused before anything was sent. Names the field and the fix."""

    retry_safe = True

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        self.field = field
        super().__init__(message, **kwargs)


class SymbolFormatError(ValidationError):
    """A symbol in the wrong notation for the product or channel it was used with."""


class MissingCredentialsError(ValidationError):
    """A private call without credentials, or a client given only one of key and secret."""


# --- transport ---------------------------------------------------------------------------------


class APIConnectionError(KrakenError):
    """The transport failed (connection refused, reset, TLS, proxy)."""


class APITimeoutError(APIConnectionError):
    """No answer in time. For writes the outcome is unknown: the request may have been acted on."""


class InvalidResponseError(KrakenError):
    """The body was not the JSON Kraken sends (an HTML page from Cloudflare, an empty 502, ...)."""

    def __init__(self, message: str, *, status_code: int | None = None, body_excerpt: str = "", **kw: Any):
        self.status_code = status_code
        self.body_excerpt = body_excerpt
        super().__init__(message, **kw)


# --- Kraken said no ----------------------------------------------------------------------------


class KrakenAPIError(KrakenError):
    """Kraken answered with one or more error strings (an unknown string lands here).

    ``from_envelope`` is True when the error was read from Kraken's own answer (the Spot ``error`` list, a
    Derivatives ``result: error`` or order status); False for an HTTP status without such an answer (a
    proxy or CDN may have produced it), which for an order call leaves the outcome unknown.
    """

    from_envelope: bool = False

    def __init__(
        self, message: str = "", *, status_code: int | None = None, from_envelope: bool | None = None, **kwargs: Any
    ) -> None:
        self.status_code = status_code
        if from_envelope is not None:
            self.from_envelope = from_envelope
        super().__init__(message, **kwargs)


class AuthenticationError(KrakenAPIError):
    retry_safe = True


class InvalidKeyError(AuthenticationError):
    pass


class InvalidSignatureError(AuthenticationError):
    pass


class InvalidNonceError(AuthenticationError):
    """Kraken rejected the nonce before acting on the request: a re-signed resend is safe."""


class PermissionDeniedError(AuthenticationError):
    pass


class AccountError(AuthenticationError):
    pass


class RateLimitError(KrakenAPIError):
    """Over a rate counter. Kraken did not act on the request."""

    retry_safe = True

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class TemporaryLockoutError(RateLimitError):
    pass


class ServiceUnavailableError(KrakenAPIError):
    """Kraken is unavailable or busy. Safe to retry reads; an order's outcome is unknown."""


class MarketModeError(ServiceUnavailableError):
    """The market is in cancel_only or post_only mode; the order was refused."""

    retry_safe = True


class InternalServerError(KrakenAPIError):
    """Kraken failed internally. For orders the outcome is unknown."""


class DeadlineElapsedError(KrakenAPIError):
    retry_safe = True


class InvalidArgumentsError(KrakenAPIError):
    retry_safe = True


class UnknownAssetPairError(InvalidArgumentsError):
    pass


class NotFoundError(KrakenAPIError):
    retry_safe = True


class OrderError(KrakenAPIError):
    """Kraken refused an order request."""

    retry_safe = True


class UnknownOrderError(OrderError):
    pass


class InsufficientFundsError(OrderError):
    pass


class OrderMinimumError(OrderError):
    pass


class InvalidPriceError(OrderError):
    pass


class OrderLimitError(OrderError):
    pass


class PositionError(OrderError):
    pass


class OrderRejectedError(OrderError):
    """Derivatives: ``result: success`` but the order status says it was not placed/edited/cancelled."""

    def __init__(self, message: str = "", *, status: str | None = None, **kwargs: Any) -> None:
        self.status = status
        super().__init__(message, **kwargs)


class OrderInsufficientFundsError(OrderRejectedError, InsufficientFundsError):
    pass


class DuplicateClientOrderIdError(OrderRejectedError):
    pass


class PostWouldExecuteError(OrderRejectedError):
    pass


class MarketSuspendedError(OrderRejectedError):
    pass


# --- higher level --------------------------------------------------------------------------------


class OrderOutcomeUnknownError(KrakenError):
    """An order request was sent and its outcome cannot be told (timeout, 5xx, EService:Unavailable).

    ``request`` holds the parameters that were sent (without secrets) so the caller can reconcile;
    ``cl_ord_id`` the client id when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        request: Mapping[str, Any] | None = None,
        cl_ord_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.request = dict(request or {})
        self.cl_ord_id = cl_ord_id
        super().__init__(message, **kwargs)


class OrderNotPlacedError(KrakenError):
    """Proven not placed: the order's outcome was unknown at first, then Kraken's ``deadline`` for it passed
    on Kraken's clock and a look-up by client id found no order. The engine rejects a request after its
    deadline, so nothing of it can still reach the book: placing it anew (with a new deadline) is safe.
    ``cl_ord_id``: the client id looked up; ``deadline``: the deadline it was sent with (RFC 3339)."""

    retry_safe = True

    def __init__(self, message: str, *, cl_ord_id: str, **kw: Any) -> None:
        self.cl_ord_id = cl_ord_id
        super().__init__(message, **kw)


class ConnectionLostError(OrderOutcomeUnknownError):
    """The WebSocket dropped while a request was in flight: its outcome is unknown (an
    :class:`OrderOutcomeUnknownError`, so one ``except`` catches every unknown order outcome)."""

    def __init__(self, message: str, *, cl_ord_id: str | None = None, req_id: int | None = None, **kw: Any):
        self.req_id = req_id
        super().__init__(message, cl_ord_id=cl_ord_id, **kw)


class TradingPausedError(KrakenError):
    """Order actions are paused (reconnect backfill in progress, or the market is in maintenance)."""

    retry_safe = True


class ChecksumMismatchError(KrakenError):
    """A local order book disagrees with the checksum Kraken sent."""

    def __init__(
        self,
        message: str = "",
        *,
        symbol: str | None = None,
        expected: int | None = None,
        actual: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.symbol = symbol
        self.expected = expected
        self.actual = actual
        super().__init__(message, **kwargs)


class SequenceGapError(KrakenError):
    """A sequenced feed skipped a number: the local state may be missing updates."""

    def __init__(
        self,
        message: str = "",
        *,
        symbol: str | None = None,
        expected: int | None = None,
        actual: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.symbol = symbol
        self.expected = expected
        self.actual = actual
        super().__init__(message, **kwargs)


# --- mapping Kraken's strings --------------------------------------------------------------------

_SPOT_EXACT: dict[str, type[KrakenAPIError]] = {
    "EGeneral:Temporary lockout": TemporaryLockoutError,
    "EGeneral:Permission denied": PermissionDeniedError,
    "EGeneral:Internal error": InternalServerError,
    "EGeneral:Too many requests": RateLimitError,
    "EService:Unavailable": ServiceUnavailableError,
    "EService:Busy": ServiceUnavailableError,
    "EService:Market in cancel_only mode": MarketModeError,
    "EService:Market in post_only mode": MarketModeError,
    "EService:Deadline elapsed": DeadlineElapsedError,
    "EAPI:Invalid key": InvalidKeyError,
    "EAPI:Invalid signature": InvalidSignatureError,
    "EAPI:Invalid nonce": InvalidNonceError,
    "EAPI:Rate limit exceeded": RateLimitError,
    "EQuery:Unknown asset pair": UnknownAssetPairError,
    "EOrder:Unknown order": UnknownOrderError,
    "EOrder:Insufficient funds": InsufficientFundsError,
    "EOrder:Insufficient margin": InsufficientFundsError,
    "EOrder:Order minimum not met": OrderMinimumError,
    "EOrder:Cost minimum not met": OrderMinimumError,
    "EOrder:Tick size check failed": InvalidPriceError,
    "EOrder:Invalid price": InvalidPriceError,
    "EOrder:Orders limit exceeded": OrderLimitError,
    "EOrder:Rate limit exceeded": RateLimitError,
    "EOrder:Domain rate limit exceeded": RateLimitError,
    "EOrder:Positions limit exceeded": OrderLimitError,
    "EOrder:Margin allowance exceeded": InsufficientFundsError,
    "EOrder:Margin level too low": InsufficientFundsError,
    "EOrder:Cannot open position": PositionError,
    "EOrder:Cannot open opposing position": PositionError,
    "EOrder:Scheduled orders limit exceeded": OrderLimitError,
    "EOrder:Unknown position": PositionError,
    "EAccount:Invalid permissions": PermissionDeniedError,
    "EAuth:Account temporary disabled": AccountError,
    "EAuth:Account unconfirmed": AccountError,
    "EAuth:Rate limit exceeded": RateLimitError,
    "EAuth:Too many requests": RateLimitError,
    "ETrade:Invalid request": InvalidArgumentsError,
    "EBM:limit exceeded:CAL": OrderLimitError,
    "EFunding:Max fee exceeded": InvalidArgumentsError,
}

# Prefixes for strings that carry details after the known part.
_SPOT_PREFIX: tuple[tuple[str, type[KrakenAPIError]], ...] = (
    ("EGeneral:Invalid arguments", InvalidArgumentsError),
    ("EOrder:Reduce only", PositionError),
    ("EService: Throttled", RateLimitError),
    ("EService:Throttled", RateLimitError),
    ("EQuery:Unknown asset pair", UnknownAssetPairError),
    ("EOrder:", OrderError),
    ("EAPI:Rate limit", RateLimitError),
)

_FUTURES_ERRORS: dict[str, type[KrakenAPIError]] = {
    "accountInactive": AccountError,
    "apiLimitExceeded": RateLimitError,
    "authenticationError": AuthenticationError,
    "insufficientFunds": InsufficientFundsError,
    "invalidAccount": AccountError,
    "invalidAmount": InvalidArgumentsError,
    "invalidArgument": InvalidArgumentsError,
    "invalidUnit": InvalidArgumentsError,
    "Json Parse Error": InvalidArgumentsError,
    "marketUnavailable": ServiceUnavailableError,
    "nonceBelowThreshold": InvalidNonceError,
    "nonceDuplicate": InvalidNonceError,
    "notFound": NotFoundError,
    "requiredArgumentMissing": InvalidArgumentsError,
    "Server Error": InternalServerError,
    "Unavailable": ServiceUnavailableError,
    "unknownError": InternalServerError,
}

_FUTURES_STATUS: dict[str, type[OrderRejectedError]] = {
    "insufficientAvailableFunds": OrderInsufficientFundsError,
    "clientOrderIdAlreadyExist": DuplicateClientOrderIdError,
    "postWouldExecute": PostWouldExecuteError,
    "marketSuspended": MarketSuspendedError,
    "marketInactive": MarketSuspendedError,
}

_OUTCOME_UNKNOWN_SPOT = frozenset({"EService:Unavailable", "EGeneral:Internal error", "EService:Busy"})
_OUTCOME_UNKNOWN_FUTURES = frozenset({"Server Error", "unknownError", "Unavailable"})


def _heads(error: str) -> list[str]:
    """``error`` and the known part before each ``:<detail>`` Kraken appends, longest first:
    ``'EOrder:Invalid price:Invalid price precision'`` -> itself, ``'EOrder:Invalid price'``, ``'EOrder'``."""
    out = [error]
    head = error
    while ":" in head:
        head = head.rsplit(":", 1)[0].rstrip()
        out.append(head)
    return out


def _spot_class(error: str) -> type[KrakenAPIError]:
    for head in _heads(error):
        cls = _SPOT_EXACT.get(head)
        if cls is not None:
            return cls
    for prefix, pcls in _SPOT_PREFIX:
        if error.startswith(prefix):
            return pcls
    return KrakenAPIError


def error_from_spot(
    errors: Iterable[str], *, endpoint: str | None = None, status_code: int | None = None
) -> KrakenAPIError:
    """Map Kraken Spot error strings (``EOrder:Insufficient funds`` ...) to one exception."""
    errs = [e for e in errors if not e.startswith("W")]
    first = errs[0] if errs else "unknown error"
    cls = _spot_class(first)
    retry_after: float | None = None
    if cls is RateLimitError and "Throttled" in first:
        try:
            retry_after = float(first.rsplit(":", 1)[-1].strip())
        except ValueError:
            retry_after = None
    message = "; ".join(errs) or first
    if cls is InvalidKeyError:
        message += SPOT_KEY_HINT
    if issubclass(cls, RateLimitError):
        return cls(
            message,
            endpoint=endpoint,
            errors=errs,
            status_code=status_code,
            retry_after=retry_after,
            from_envelope=True,
        )
    return cls(message, endpoint=endpoint, errors=errs, status_code=status_code, from_envelope=True)


#: Said after a Derivatives ``authenticationError`` (a Spot key is the usual cause).
FUTURES_KEY_HINT = (
    "; Kraken refused the key: Derivatives take their own API key, made on the Derivatives (Futures) side "
    "of the account (API_FUTURES_KEY / API_FUTURES_SECRET); a Spot key is refused there"
)
#: Said after a Spot ``EAPI:Invalid key``.
SPOT_KEY_HINT = (
    "; Kraken does not know this key: Spot takes a Spot API key (API_SPOT_KEY / API_SPOT_SECRET); "
    "a Derivatives key is refused there"
)


def error_from_futures(
    error: str, *, endpoint: str | None = None, status_code: int | None = None, payload: Mapping[str, Any] | None = None
) -> KrakenAPIError:
    """Map a Derivatives ``{"result": "error", "error": ...}`` value to one exception."""
    cls = _FUTURES_ERRORS.get(error, KrakenAPIError)
    return cls(
        error + (FUTURES_KEY_HINT if error == "authenticationError" else ""),
        endpoint=endpoint,
        errors=[error],
        status_code=status_code,
        payload=dict(payload or {}),
        from_envelope=True,
    )


def error_from_futures_status(
    status: str, *, kind: str = "sendStatus", endpoint: str | None = None, payload: Mapping[str, Any] | None = None
) -> OrderRejectedError:
    """A Derivatives order status other than success (``insufficientAvailableFunds`` ...)."""
    cls = _FUTURES_STATUS.get(status, OrderRejectedError)
    return cls(
        f"{kind}: {status}",
        status=status,
        endpoint=endpoint,
        errors=[status],
        payload=dict(payload or {}),
        from_envelope=True,
    )


def _unknown_strings(exc: KrakenAPIError) -> bool:
    return any(h in _OUTCOME_UNKNOWN_SPOT or h in _OUTCOME_UNKNOWN_FUTURES for e in exc.errors for h in _heads(e))


def is_definitive_rejection(exc: BaseException) -> bool:
    """True when Kraken itself answered that it did not act: its error envelope (Spot ``error`` strings, a
    Derivatives ``result: error``) or an order status rejection, other than the strings that leave the
    outcome unknown (``EService:Unavailable``/``Busy``, ``EGeneral:Internal error``, ``Server Error``,
    ``unknownError``, ``Unavailable``)."""
    return isinstance(exc, KrakenAPIError) and exc.from_envelope and not _unknown_strings(exc)


def is_outcome_unknown_error(exc: BaseException) -> bool:
    """True when an order request failed in a way that leaves its outcome unknown.

    Unknown: :class:`OrderOutcomeUnknownError` (and :class:`ConnectionLostError`); a transport failure after
    the connection was made (timeouts, resets); any answer that cannot be read (:class:`InvalidResponseError`,
    whatever its HTTP status: an HTML page or a truncated body on HTTP 200 may follow a placed order); an
    outcome-unknown error string; an HTTP 5xx without Kraken's envelope. Known: everything refused before
    sending, Kraken's own rejections (:func:`is_definitive_rejection`), :class:`OrderNotPlacedError`.
    """
    if isinstance(exc, OrderOutcomeUnknownError):
        return True
    if isinstance(exc, APIConnectionError):  # timeouts included: a connect timeout sent nothing
        # A connection that was never established (retry_safe) carried nothing to Kraken.
        return not exc.retry_safe
    if isinstance(exc, InvalidResponseError):
        return True
    if isinstance(exc, KrakenAPIError):
        if _unknown_strings(exc):
            return True
        if exc.from_envelope:
            return False
        return exc.status_code is not None and exc.status_code >= 500
    return False
