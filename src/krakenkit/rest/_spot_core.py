"""Spot specifics on top of :mod:`krakenkit.rest._base`: credentials, API-Sign, the
``{"error": [...], "result": ...}`` envelope, parameter validation, order ``deadline`` and order recovery by
``cl_ord_id``. Pure (no I/O): the sync/async twins in ``spot.py`` add only the driver.

Deadlines: AddOrder, AddOrderBatch, AmendOrder and EditOrder (not ``validate=True``) go out with Kraken's
``deadline``: the caller's own (checked against Kraken's now + 2..60 s on the estimated server clock), else
``order_deadline`` seconds (default 10) from the moment the request is signed, written in Kraken's time
(:class:`krakenkit._core.deadline.ServerClock`, fed by the ``Date`` header of every answer and by ``Time``).
A resend after a proven absence carries a new deadline; a caller's own deadline is never resent past.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import msgspec

from .._core.deadline import DEFAULT_ORDER_DEADLINE, check_deadline_seconds, parse_deadline
from .._core.deadline import order_deadline as deadline_for
from .._core.decimals import format_decimal, to_decimal
from .._core.environment import NO_SPOT_TESTNET, NO_SPOT_TESTNET_URL, TESTNET, Environment
from .._core.errors import (
    InvalidResponseError,
    KrakenAPIError,
    KrakenError,
    MissingCredentialsError,
    OrderError,
    ValidationError,
    error_from_spot,
)
from .._core.ids import generate_spot_order_id, validate_spot_cl_ord_id
from .._core.jsonutil import dumps
from .._core.nonce import NonceProvider
from .._core.ratelimit import NoRateLimit, RateLimiter, shared_spot_rate_limiter
from .._core.secrets import REDACTED, Secret, redact_mapping
from .._core.signing import spot_api_sign
from .._core.symbols import validate_spot_rest_symbol
from .._core.validation_values import check_amount, check_price, format_amount
from ._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Call,
    Endpoint,
    Flow,
    OperationKind,
    Param,
    RestCore,
    RetryPolicy,
    as_secret,
    as_secret_key,
    decode_json_body,
    hide,
    mask_key,
)
from .spot_endpoints import SPOT_ENDPOINTS, SPOT_ENDPOINTS_BY_PATH
from .spot_types import (
    AddOrderBatchResult,
    AddOrderResult,
    ClosedOrders,
    KrakenResult,
    OpenOrders,
    RawResult,
    ServerTime,
)

__all__ = ["DEFAULT_SPOT_URL", "SpotCore"]

DEFAULT_SPOT_URL = "https://api.kraken.com"
ENV_KEY = "API_SPOT_KEY"
ENV_SECRET = "API_SPOT_SECRET"  # noqa: S105 - the variable's name, not a secret

_log = logging.getLogger("krakenkit.rest.spot")
_DEBUG = logging.DEBUG
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_DEADLINE_ENDPOINTS = frozenset({"AddOrder", "AddOrderBatch", "AmendOrder", "EditOrder"})
_LOOKUP_ENDPOINTS = frozenset({"AddOrder", "AddOrderBatch"})
_SEND_SLACK = 0.5  # between planning an attempt and signing it (the wire turn, a connect)


class SpotCore(RestCore):
    """Everything Spot that is not I/O. Constructor arguments: see :class:`krakenkit.rest.SpotClient`."""

    endpoints: ClassVar[Mapping[str, Endpoint]] = SPOT_ENDPOINTS
    product: ClassVar[str] = "spot"
    logger: ClassVar[logging.Logger] = _log
    env_key: ClassVar[str] = ENV_KEY
    env_secret: ClassVar[str] = ENV_SECRET

    def __init__(
        self,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        environment: Environment | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        network_options: Mapping[str, Any] | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        otp: str | Secret | Callable[[], str] | None = None,
        nonce_source: NonceProvider | None = None,
        rate_limiter: RateLimiter | None = None,
        symbol_check: bool = True,
        retry_policy: RetryPolicy | None = None,
        order_deadline: float = DEFAULT_ORDER_DEADLINE,
        shared_nonce: bool | None = None,
        attempt_timeout: float | None = None,
    ) -> None:
        api_key, api_secret, otp = hide(api_key), hide(api_secret), hide(otp)  # first: no frame holds them plain
        api_key, api_secret = as_secret_key(api_key), as_secret(api_secret)
        otp = _checked_otp(otp)
        if environment is not None and base_url is None:
            base_url = environment.spot_rest_url
            if environment is TESTNET or environment.name == "testnet":
                raise ValidationError(NO_SPOT_TESTNET, field="environment")
        if base_url == NO_SPOT_TESTNET_URL:
            raise ValidationError(NO_SPOT_TESTNET, field="base_url")
        self._environment = environment
        self._order_deadline = check_deadline_seconds(order_deadline)
        self._init_core(
            api_key=api_key,
            api_secret=api_secret,
            base_url=base_url or DEFAULT_SPOT_URL,
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
        self._otp: Secret | Callable[[], str] | None = otp
        self._symbol_check = symbol_check

    # --- construction helpers -------------------------------------------------------------------

    @staticmethod
    def generate_new_order_id() -> str:
        """A fresh random ``cl_ord_id`` (UUID4)."""
        return generate_spot_order_id()

    @property
    def order_deadline(self) -> float:
        """Seconds after signing that Kraken's engine rejects an order request sent without ``deadline=``."""
        return self._order_deadline

    # --- request building (hooks) ------------------------------------------------------------

    _reserved_params: ClassVar[tuple[str, ...]] = ("nonce", "otp")

    def _validated(self, endpoint: Endpoint, params: Mapping[str, Any], wire: dict[str, Any]) -> dict[str, Any]:
        """A caller's ``deadline``, once the layer passed its form: Kraken's now + 2..60 s on the estimated
        server clock, written as given (a ``datetime`` in Kraken's millisecond form)."""
        if "deadline" in wire:
            wire["deadline"] = self._caller_deadline(params.get("deadline", wire["deadline"]), "deadline")
        return wire

    def _caller_deadline(self, value: Any, field: str) -> str:
        """A caller's own deadline, checked against Kraken's now + 2..60 s on the server clock, as sent."""
        return deadline_for(self._server_clock, value, self._order_deadline, field)[0]

    def _convert_param(self, endpoint: Endpoint, spec: Param, value: Any) -> Any:
        """One value of a call without a validation-layer schema (market data, account, funding...). Amounts
        follow the layer's rules (floats refused with the fix in the message)."""
        kind = spec.kind
        field = spec.name
        if kind == "money":
            return format_amount(check_amount(value, field, allow_zero=True))
        if kind == "price":
            price = check_price(value, field)
            return price if isinstance(price, str) else format_amount(price)
        if kind == "pair":
            return validate_spot_rest_symbol(value, field) if self._symbol_check else value
        if kind == "cl_ord_id":
            return validate_spot_cl_ord_id(value, field)
        if kind == "deadline":
            return self._caller_deadline(value, field)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValidationError(f"{field} must be True or False", field=field)
            return "true" if value else "false"
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"{field} must be an int (got {type(value).__name__})", field=field)
            return str(value)
        if kind == "number":
            if isinstance(value, bool):
                raise ValidationError(f"{field} must be a number or str", field=field)
            if isinstance(value, (Decimal, float)):
                return format_decimal(to_decimal(value, field, allow_negative=True))
            return str(value)
        if kind == "str_list":
            if isinstance(value, str):
                return value
            if isinstance(value, Sequence):
                return ",".join(str(v) for v in value)
            raise ValidationError(f"{field} must be a str or a list of str", field=field)
        if kind == "json":
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise ValidationError(f"{field} must be a list", field=field)
            return list(value)
        if kind == "str":
            if not isinstance(value, str):
                raise ValidationError(f"{field} must be a str (got {type(value).__name__})", field=field)
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    def _otp_value(self) -> str | None:
        """The otp of this attempt (a provider is asked each time; what it returns is checked before signing)."""
        otp = self._otp
        if otp is None:
            return None
        if isinstance(otp, Secret):
            return otp.get_secret_value()
        value = otp()
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"the otp provider returned a {type(value).__name__}, not a str", field="otp")
        problem = _otp_problem(value) if value else None
        if problem is not None:
            del value
            raise ValidationError(f"the otp provider's otp {problem}", field="otp")
        return value or None

    def _places_order(self, call: Call) -> bool:
        return call.endpoint.name in _DEADLINE_ENDPOINTS and call.params.get("validate") not in ("true", True)

    def _attempt_deadline_param(self, call: Call) -> dict[str, str]:
        """The ``deadline`` this attempt goes out with (recorded on the call), or nothing."""
        if not self._places_order(call):
            return {}
        given = call.params.get("deadline")
        if given is not None:
            ts = parse_deadline(given)
            text = str(given)
            call.extra["caller_deadline"] = True
        else:
            text, ts = self._server_clock.deadline_after(self._order_deadline)
        call.order_deadlines.append(ts)
        call.deadline_text = text
        return {"deadline": text}

    def _build_request(self, call: Call, nonce: int | None) -> httpx.Request:
        endpoint = call.endpoint
        url = self._base_url + endpoint.path
        debug = _log.isEnabledFor(_DEBUG)
        if not endpoint.auth:
            if debug:
                _log.debug("-> %s %s %s", endpoint.method, endpoint.path, call.params)
            return self._http_request(endpoint.method, url, params=call.params or None, timeout=call.timeout)
        creds = self._credentials
        if creds is None:  # pragma: no cover - _prepare_params refuses earlier
            raise MissingCredentialsError("private call without credentials", endpoint=endpoint.path)
        if nonce is None:
            nonce = self._nonce()
        otp = self._otp_value()
        params = {**call.params, **self._attempt_deadline_param(call)}
        if endpoint.body == "json":
            payload: dict[str, Any] = {"nonce": nonce, **params}
            if otp:
                payload["otp"] = otp
            body = dumps(payload)
            content_type = _JSON
        else:
            items = [("nonce", str(nonce)), *params.items()]
            if otp:
                items.append(("otp", otp))
            body = urllib.parse.urlencode(items).encode()
            content_type = _FORM
        headers = {
            "API-Key": creds.key,
            "API-Sign": creds.sign(spot_api_sign, endpoint.path, nonce, body),
            "Content-Type": content_type,
        }
        if debug:
            shown = {"nonce": nonce, **params, **({"otp": otp} if otp else {})}
            _log.debug(
                "-> %s %s %s headers=%s",
                endpoint.method,
                endpoint.path,
                redact_mapping(shown),
                {"API-Key": mask_key(creds.key), "API-Sign": REDACTED},
            )
        return self._http_request("POST", url, content=body, headers=headers, timeout=call.timeout)

    # --- response parsing (hook) ---------------------------------------------------------------

    def _parse_response(self, call: Call, response: httpx.Response) -> Any:
        path = call.endpoint.path
        status = response.status_code
        data = decode_json_body(response, path)
        if _log.isEnabledFor(_DEBUG):
            _log.debug("<- %s %s HTTP %d %s", call.endpoint.method, path, status, _short(redact_mapping(data)))
        if not isinstance(data, dict):
            raise InvalidResponseError(
                f"expected a JSON object, got {type(data).__name__} (HTTP {status})", status_code=status, endpoint=path
            )
        messages = data.get("error") or []
        if not isinstance(messages, list):
            messages = [str(messages)]
        warnings = [m for m in messages if isinstance(m, str) and m.startswith("W")]
        errors = [str(m) for m in messages if not (isinstance(m, str) and m.startswith("W"))]
        if errors:
            raise error_from_spot(errors, endpoint=path, status_code=status)
        if status >= 400:
            raise KrakenAPIError(
                f"HTTP {status} without Kraken error strings", endpoint=path, status_code=status, from_envelope=False
            )
        if "result" not in data:
            raise InvalidResponseError(
                f"no 'result' in the answer (HTTP {status})",
                status_code=status,
                endpoint=path,
                body_excerpt=_short(data),
            )
        raw = data["result"]
        parse = call.endpoint.response or RawResult.parse
        try:
            result: KrakenResult = parse(raw)
        except (msgspec.ValidationError, TypeError, ValueError, RecursionError) as exc:
            err = InvalidResponseError(
                f"unexpected result shape for {call.endpoint.name}: {exc}"
                + ("; the request was processed: inspect .raw" if call.endpoint.kind is not OperationKind.READ else ""),
                status_code=status,
                endpoint=path,
                body_excerpt=_short(raw),
                raw=raw,
            )
            raise err from exc
        if self._places_order(call) and not _placed_shape(result):
            raise InvalidResponseError(
                f"{call.endpoint.name} answered without the order ids it placed (HTTP {status}); "
                "the request may have been processed",
                status_code=status,
                endpoint=path,
                body_excerpt=_short(raw),
                raw=raw,
            )
        if warnings:
            result.warnings = warnings
            _log.warning("Kraken warning on %s: %s", path, "; ".join(warnings))
        return result

    def _on_success(self, call: Call, result: Any) -> Any:
        if isinstance(result, ServerTime):
            sent, got = call.extra.get("sent_at"), call.extra.get("received_at")
            if isinstance(sent, float) and isinstance(got, float) and result.unixtime:
                self._server_clock.observe(float(result.unixtime), sent, got, resolution=1.0)
        if isinstance(result, AddOrderResult) and result.cl_ord_id is None:
            cl_ord_id = call.params.get("cl_ord_id")
            result.cl_ord_id = cl_ord_id if isinstance(cl_ord_id, str) else None
        return result

    # --- retry semantics (hooks) ---------------------------------------------------------------

    def _operation_kind(self, call: Call) -> OperationKind:
        kind = call.endpoint.kind
        if kind is not OperationKind.READ and call.params.get("validate") in ("true", True):
            return OperationKind.READ  # validate-only: nothing is placed
        return kind

    def _default_rate_limiter(self) -> RateLimiter:
        """Kraken's Spot counters (intermediate tier) for this key, shared with every client of the key."""
        if self._credentials is None:
            return NoRateLimit()
        return shared_spot_rate_limiter(self._credentials.key, "intermediate")

    def _client_order_ids(self, call: Call) -> list[str]:
        name = call.endpoint.name
        if name in ("AddOrder", "AmendOrder", "CancelOrder"):
            value = call.params.get("cl_ord_id")
            return [value] if isinstance(value, str) else []
        if name == "AddOrderBatch":
            return [str(o["cl_ord_id"]) for o in call.params.get("orders", ()) if o.get("cl_ord_id")]
        if name == "CancelOrderBatch":
            return [str(c) for c in call.params.get("cl_ord_ids", ())]
        return []

    def _can_look_up(self, call: Call) -> bool:
        name = call.endpoint.name
        if name not in _LOOKUP_ENDPOINTS:
            return False
        ids = self._client_order_ids(call)
        return bool(ids) and (name == "AddOrder" or len(ids) == len(call.params.get("orders", ())))

    def _order_attempt_cap(self, call: Call) -> float | None:
        clock = self._server_clock
        slack = clock.uncertainty + self._retry_policy.deadline_settle + _SEND_SLACK
        given = call.params.get("deadline")
        if given is not None:
            return max(0.0, parse_deadline(given) - clock.now()) + slack
        return self._order_deadline + slack

    def _may_resend(self, call: Call) -> bool:
        # a caller's own deadline has passed once absence is proven: resending would break it
        return not call.extra.get("caller_deadline")

    def _order_context(self, call: Call) -> dict[str, Any]:
        txid = call.params.get("txid")
        return {"txid": txid} if txid else {}

    def _is_duplicate_client_id_error(self, call: Call, error: KrakenError) -> bool:
        if not isinstance(error, OrderError):
            return False
        text = " ".join(error.errors).lower()
        return "duplicate" in text or ("already" in text and ("cl_ord_id" in text or "client" in text))

    def _find(self, call: Call, cl_ord_id: str, opened: OpenOrders | None) -> Flow:
        """``(txid, order, raw_order)`` of the order with ``cl_ord_id`` (open, else closed), or None."""
        if opened is None:
            opened = yield from self._subcall("OpenOrders", {"cl_ord_id": cl_ord_id}, call)
        found = _match(opened.open, opened.raw, "open", cl_ord_id)
        if found is None:
            closed: ClosedOrders = yield from self._subcall("ClosedOrders", {"cl_ord_id": cl_ord_id}, call)
            found = _match(closed.closed, closed.raw, "closed", cl_ord_id)
        return found

    def _resolve_outcome(self, call: Call, error: KrakenError, final: bool) -> Flow:
        """Look the order(s) up by ``cl_ord_id``: OpenOrders, then ClosedOrders.

        AddOrderBatch: every order of the batch; all found -> the recovered batch; none -> None; some ->
        None before the deadline passed (``final=False``), the batch as it stands after it (the missing
        orders carry an ``error`` saying they do not exist)."""
        ids = self._client_order_ids(call)
        if not self._can_look_up(call):
            return None
        if call.endpoint.name == "AddOrder":
            found = yield from self._find(call, ids[0], None)
            if found is None:
                return None
            txid, order, raw_order = found
            return AddOrderResult.recovered_from(txid, order, raw_order, ids[0])
        everything: OpenOrders = yield from self._subcall("OpenOrders", {}, call)
        results: dict[str, tuple[str, Any, Any] | None] = {}
        for cl_ord_id in ids:
            results[cl_ord_id] = yield from self._find(call, cl_ord_id, everything)
        present = [c for c, f in results.items() if f is not None]
        call.extra["found_cl_ord_ids"] = present
        if not present or (len(present) < len(ids) and not final):
            return None
        return AddOrderBatchResult.recovered_from(
            [(c, results[c]) for c in ids],
            missing_error="not placed: no order with this cl_ord_id exists after the batch's deadline passed",
        )

    # --- generic access ------------------------------------------------------------------------

    def _endpoint_for(self, method: str, path: str) -> Endpoint:
        if not path.startswith("/"):
            path = "/" + path
        known = SPOT_ENDPOINTS_BY_PATH.get(path)
        method = method.upper()
        if known is not None and known.method == method:
            return known
        private = path.startswith("/0/private/")
        return Endpoint(
            path.rsplit("/", 1)[-1],
            method,
            path,
            private,
            "request",
            OperationKind.WRITE if private else OperationKind.READ,
            1,
            "form" if method == "POST" else "query",
            (),
            RawResult.parse,
            "RawResult",
        )


def _placed_shape(result: Any) -> bool:
    """An order call that placed something names it: AddOrder a txid, a batch one entry per order."""
    if isinstance(result, AddOrderResult):
        return bool(result.txid)
    if isinstance(result, AddOrderBatchResult):
        return bool(result.orders)
    return True


def _match(orders: Mapping[str, Any], raw: Any, key: str, cl_ord_id: str) -> tuple[str, Any, Any] | None:
    for txid, order in orders.items():
        if order.cl_ord_id == cl_ord_id:
            raw_order = raw.get(key, {}).get(txid) if isinstance(raw, dict) else None
            return txid, order, raw_order
    return None


_OTP_MAX = 64


def _otp_problem(otp: str) -> str | None:
    """Why an otp text cannot be sent (never quoting it), or None."""
    if len(otp) > _OTP_MAX:
        return f"is longer than {_OTP_MAX} characters"
    if not otp.isascii() or not otp.isprintable() or any(ch.isspace() for ch in otp):
        return "contains whitespace or a character that is not printable ASCII"
    return None


def _checked_otp(otp: Any) -> Secret | Callable[[], str] | None:
    """The ``otp`` constructor argument as a Secret (a provider callable as is), checked now."""
    if otp is None or otp == "":
        return None
    if callable(otp) and not isinstance(otp, (str, Secret)):
        provider: Callable[[], str] = otp
        return provider
    if isinstance(otp, str):
        otp = Secret(otp)
    if not isinstance(otp, Secret):
        raise ValidationError(
            f"otp must be a str, a Secret or a callable returning the current otp (got {type(otp).__name__})",
            field="otp",
        )
    problem = _otp_problem(otp.get_secret_value())
    if problem is not None:
        raise ValidationError(f"otp {problem}; pass the code as Kraken's app shows it", field="otp")
    return otp if otp else None


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
