"""Kraken Derivatives (Futures) REST: the endpoint table and pure request building.

Nothing here does I/O. :data:`DERIV_ENDPOINTS` (base :class:`~krakenkit.rest._base.Endpoint` rows)
is the one table that drives the client: for every method of
:class:`~krakenkit.rest.derivatives.DerivativesClient` it names the verb, the path (with
``{placeholders}``, filled from keyword arguments of the same name), whether the call is signed, its
cost (:func:`cost_of`; pool: :func:`pool_of`), its retry class (``OperationKind``: order entry is
never resent blindly), its parameters (kinds drive validation) and where they travel. The typed
methods are generated from it (:mod:`krakenkit.rest._codegen`).

Wire rules (``kraken-reference/README.md``):

* GET / PUT / DELETE: parameters in the query string. POST: a form body
  (``application/x-www-form-urlencoded``); ``batchorder`` (and ``portfolio-margining/simulate``)
  send one form field ``json=<JSON text>``; the two RFQ offer calls send a JSON body (OpenAPI spec).
* The text we sign is the text we send: :func:`encode_pairs` builds the URL-encoded string once
  and the client sends exactly those bytes.
* ``Authent = b64(HMAC-SHA512(b64decode(secret), SHA256(post_data + nonce + endpoint_path)))`` where
  ``endpoint_path`` drops a leading ``/derivatives`` (:func:`krakenkit._core.signing.futures_authent`).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal

from .._core.errors import ValidationError
from .._core.ids import validate_futures_cli_ord_id
from .._core.jsonutil import JSONDecodeError, dumps, loads
from .._core.signing import futures_authent
from .._core.symbols import validate_derivatives_symbol
from .._core.validation import validate
from .._core.validation_values import check_amount, format_amount
from ._base import Endpoint, OperationKind, Param, ParamKind

__all__ = [
    "DERIV_ENDPOINTS",
    "REQUEST_METHODS",
    "DerivRequest",
    "build_deriv_request",
    "convert_param",
    "cost_of",
    "deriv_auth_headers",
    "encode_pairs",
    "normalize_batch_instructions",
    "path_param_names",
    "pool_of",
    "request_endpoint",
    "request_params",
]

_V3 = "/derivatives/api/v3"

R = OperationKind.READ
# Idempotent settings (PUT the same value twice = same state) are retried like reads.
IDEMPOTENT_SET = OperationKind.READ


def P(
    name: str, kind: ParamKind = "str", required: bool = False, wire: str = "", doc: str = "", py_type: str = ""
) -> Param:
    return Param(name, kind, required, wire, doc, py_type)


def _path(name: str, doc: str = "") -> Param:
    """A ``{placeholder}`` of the path (required; filled in, percent-encoded, by the request builder)."""
    return Param(name, "str", True, "", doc or "path parameter", "str")


_SYM = P("symbol", "pair", True, doc="instrument, e.g. 'PF_XBTUSD'")
_PROCESS_BEFORE = P("processBefore", doc="reject unless processed before this time (ISO 8601)")
_HIST = (
    P("since", "int", doc="from this time (ms since epoch)"),
    P("before", "int", doc="before this time (ms since epoch)"),
    P("sort", doc="'asc' or 'desc'"),
    P("continuation_token", doc="token from the previous page"),
    P("count", "int", doc="maximum number of events"),
)
_OPEN_CLOSED = (P("opened", "bool"), P("closed", "bool"))
_CONTRACT_TYPES = P("contractType", "str_list", doc="filter by contract type(s)")


def _ep(
    python_method: str,
    method: str,
    path: str,
    auth: bool,
    *params: Param,
    kind: OperationKind = R,
    cost: int = 1,
    body: Literal["query", "form", "json"] | None = None,
    response_type: str = "DerivResult",
    doc: str = "",
    schema: str = "",
) -> Endpoint:
    if body is None:
        body = "form" if method == "POST" else "query"
    return Endpoint(
        name=python_method,
        method=method,
        path=path,
        auth=auth,
        python_method=python_method,
        kind=kind,
        cost=cost,
        body=body,
        params=tuple(params),
        response_type=response_type,
        doc=doc,
        schema=schema,
    )


OE = OperationKind.ORDER_ENTRY
AM = OperationKind.AMEND
CX = OperationKind.CANCEL
WR = OperationKind.WRITE

_TABLE: tuple[Endpoint, ...] = (
    # --- market data (public) ---
    _ep(
        "get_trade_history",
        "GET",
        f"{_V3}/history",
        False,
        _SYM,
        P("lastTime", doc="ISO 8601 time"),
        response_type="DerivList[PublicTrade]",
        doc="Recent public trades of one instrument.",
    ),
    _ep(
        "get_orderbook",
        "GET",
        f"{_V3}/orderbook",
        False,
        _SYM,
        response_type="OrderBook",
        doc="The full order book of one instrument.",
    ),
    _ep(
        "get_tickers",
        "GET",
        f"{_V3}/tickers",
        False,
        _CONTRACT_TYPES,
        response_type="DerivList[Ticker]",
        doc="Tickers of every instrument (and index).",
    ),
    _ep(
        "get_ticker",
        "GET",
        f"{_V3}/tickers/{{symbol}}",
        False,
        _path("symbol", "instrument, e.g. 'PF_XBTUSD'"),
        response_type="Ticker",
        doc="The ticker of one instrument.",
    ),
    _ep(
        "get_instruments",
        "GET",
        f"{_V3}/instruments",
        False,
        _CONTRACT_TYPES,
        response_type="DerivList[Instrument]",
        doc="Every listed instrument with its specification.",
    ),
    _ep(
        "get_instrument_status_list",
        "GET",
        f"{_V3}/instruments/status",
        False,
        _CONTRACT_TYPES,
        response_type="DerivList[InstrumentStatus]",
        doc="Price dislocation / volatility status of every instrument.",
    ),
    _ep(
        "get_instrument_status",
        "GET",
        f"{_V3}/instruments/{{symbol}}/status",
        False,
        _path("symbol"),
        response_type="InstrumentStatus",
        doc="Price dislocation / volatility status of one instrument.",
    ),
    _ep("get_fee_schedules", "GET", f"{_V3}/feeschedules", False, doc="All fee schedules."),
    _ep(
        "get_historical_funding_rates",
        "GET",
        f"{_V3}/historical-funding-rates",
        False,
        _SYM,
        response_type="DerivList[FundingRate]",
        doc="Funding rate history of one perpetual.",
    ),
    _ep("get_open_rfqs", "GET", f"{_V3}/rfqs", False, doc="All open RFQs."),
    _ep("get_open_rfq", "GET", f"{_V3}/rfqs/{{rfqUid}}", False, _path("rfqUid"), doc="One open RFQ."),
    # --- order management ---
    _ep(
        "submit_order",
        "POST",
        f"{_V3}/sendorder",
        True,
        P("orderType", required=True, doc="lmt | post | ioc | mkt | stp | take_profit | trailing_stop | fok"),
        _SYM,
        P("side", required=True, doc="buy | sell"),
        P("size", "money", True, doc="order size in contracts"),
        P("limitPrice", "money"),
        P("stopPrice", "money"),
        P("cliOrdId", "cl_ord_id", doc="your unique order id (up to 100 chars); enables outcome recovery"),
        P("triggerSignal", doc="mark | index | last"),
        P("reduceOnly", "bool"),
        P("trailingStopMaxDeviation", "money"),
        P("trailingStopDeviationUnit", doc="PERCENT | QUOTE_CURRENCY"),
        P("limitPriceOffsetValue", "money", doc="may be negative (a trigger order's limit offset)"),
        P("limitPriceOffsetUnit", doc="QUOTE_CURRENCY | PERCENT"),
        P("broker"),
        _PROCESS_BEFORE,
        kind=OE,
        cost=10,
        response_type="SendOrderResult",
        doc="Send an order. Raises the OrderRejectedError subclass of a sendStatus other than placed.",
        schema="derivatives.sendorder",
    ),
    _ep(
        "edit_order",
        "POST",
        f"{_V3}/editorder",
        True,
        P("orderId"),
        P("cliOrdId", "cl_ord_id"),
        P("size", "money"),
        P("limitPrice", "money"),
        P("stopPrice", "money"),
        P("trailingStopMaxDeviation", "money"),
        P("trailingStopDeviationUnit"),
        P("qtyMode", doc="ABSOLUTE | RELATIVE"),
        _PROCESS_BEFORE,
        kind=AM,
        cost=10,
        response_type="EditOrderResult",
        doc="Edit an open order (by orderId or cliOrdId). Raises unless editStatus is edited.",
        schema="derivatives.editorder",
    ),
    _ep(
        "cancel_order",
        "POST",
        f"{_V3}/cancelorder",
        True,
        P("order_id"),
        P("cliOrdId", "cl_ord_id"),
        _PROCESS_BEFORE,
        kind=CX,
        cost=10,
        response_type="CancelOrderResult",
        doc="Cancel an open order (by order_id or cliOrdId). Raises unless cancelStatus is cancelled.",
        schema="derivatives.cancelorder",
    ),
    _ep(
        "batch_order_management",
        "POST",
        f"{_V3}/batchorder",
        True,
        P(
            "batchOrder",
            "json",
            True,
            wire="json",
            py_type="Sequence[Mapping[str, Any]]",
            doc="1..491 instructions: {'order': 'send'|'edit'|'cancel', ...wire fields}; send instructions get "
            "order_tag = their index unless given",
        ),
        _PROCESS_BEFORE,
        kind=WR,
        cost=9,
        response_type="BatchOrderResult",
        doc="Send, edit and cancel in one request. Returns each instruction's own outcome (no raise).",
        schema="derivatives.batchorder",
    ),
    _ep(
        "cancel_all_orders",
        "POST",
        f"{_V3}/cancelallorders",
        True,
        P("symbol", "pair"),
        kind=CX,
        cost=25,
        response_type="CancelAllOrdersResult",
        doc="Cancel all open orders (of one instrument).",
        schema="derivatives.cancelallorders",
    ),
    _ep(
        "cancel_all_orders_after",
        "POST",
        f"{_V3}/cancelallordersafter",
        True,
        P("timeout", "int", doc="seconds; 0 turns the switch off"),
        kind=CX,
        cost=25,
        response_type="DeadManSwitchResult",
        doc="Dead man's switch.",
        schema="derivatives.cancelallordersafter",
    ),
    _ep(
        "get_open_orders",
        "GET",
        f"{_V3}/openorders",
        True,
        cost=2,
        response_type="DerivList[OpenOrder]",
        doc="Your open orders.",
    ),
    _ep(
        "get_order_status",
        "POST",
        f"{_V3}/orders/status",
        True,
        P("orderIds", "str_list"),
        P("cliOrdIds", "str_list"),
        response_type="OrderStatusResult",
        doc="Status of orders that are open or were filled/cancelled in the last 5 seconds.",
    ),
    # --- account ---
    _ep("get_pnl_preferences", "GET", f"{_V3}/pnlpreferences", True),
    _ep(
        "set_pnl_preference",
        "PUT",
        f"{_V3}/pnlpreferences",
        True,
        _SYM,
        P("pnlPreference", required=True),
        kind=IDEMPOTENT_SET,
    ),
    _ep("get_leverage_settings", "GET", f"{_V3}/leveragepreferences", True),
    _ep(
        "set_leverage_settings",
        "PUT",
        f"{_V3}/leveragepreferences",
        True,
        _SYM,
        P("maxLeverage", "money"),
        kind=IDEMPOTENT_SET,
    ),
    _ep(
        "get_accounts",
        "GET",
        f"{_V3}/accounts",
        True,
        cost=2,
        response_type="AccountsResult",
        doc="Balances and margin of every wallet.",
    ),
    _ep(
        "get_open_positions",
        "GET",
        f"{_V3}/openpositions",
        True,
        cost=2,
        response_type="DerivList[OpenPosition]",
        doc="Your open positions.",
    ),
    _ep("get_position_percentile", "GET", f"{_V3}/unwindqueue", True),
    _ep("get_portfolio_margin_parameters", "GET", f"{_V3}/portfolio-margining/parameters", True),
    _ep(
        "simulate_margin_requirements",
        "POST",
        f"{_V3}/portfolio-margining/simulate",
        True,
        P("json", "json", True, py_type="Mapping[str, Any]", doc="the portfolio to simulate"),
    ),
    _ep("get_assignment_programs", "GET", f"{_V3}/assignmentprogram/current", True),
    _ep(
        "add_assignment_preference",
        "POST",
        f"{_V3}/assignmentprogram/add",
        True,
        P("contractType", required=True),
        P("contract", "pair"),
        P("maxSize", "money"),
        P("maxPosition", "money"),
        P("acceptLong", "bool", True),
        P("acceptShort", "bool", True),
        P("timeFrame", required=True),
        P("enabled", "bool", True),
        kind=WR,
    ),
    _ep("delete_assignment_preference", "POST", f"{_V3}/assignmentprogram/delete", True, P("id", "int", True), kind=CX),
    _ep("get_assignment_preferences_history", "GET", f"{_V3}/assignmentprogram/history", True),
    _ep("get_fee_schedule_volumes", "GET", f"{_V3}/feeschedules/volumes", True),
    _ep("get_notifications", "GET", f"{_V3}/notifications", True),
    _ep(
        "get_fills",
        "GET",
        f"{_V3}/fills",
        True,
        P("lastFillTime", doc="ISO 8601; fills before this time"),
        cost=2,
        response_type="DerivList[Fill]",
        doc="Your last 100 fills (before lastFillTime).",
    ),
    _ep("get_self_trade_strategy", "GET", f"{_V3}/self-trade-strategy", True),
    _ep(
        "update_self_trade_strategy",
        "PUT",
        f"{_V3}/self-trade-strategy",
        True,
        P("strategy", required=True, doc="REJECT_TAKER | CANCEL_MAKER_SELF | CANCEL_MAKER_CHILD | CANCEL_MAKER_ANY"),
        kind=IDEMPOTENT_SET,
    ),
    _ep(
        "get_subaccount_trading_status",
        "GET",
        f"{_V3}/subaccount/{{subaccountUid}}/trading-enabled",
        True,
        _path("subaccountUid"),
    ),
    _ep(
        "update_subaccount_trading_status",
        "PUT",
        f"{_V3}/subaccount/{{subaccountUid}}/trading-enabled",
        True,
        _path("subaccountUid"),
        P("tradingEnabled", "bool", True),
        kind=IDEMPOTENT_SET,
    ),
    _ep("get_subaccounts", "GET", f"{_V3}/subaccounts", True),
    _ep(
        "submit_wallet_transfer",
        "POST",
        f"{_V3}/transfer",
        True,
        P("fromAccount", required=True),
        P("toAccount", required=True),
        P("unit", required=True),
        P("amount", "money", True),
        kind=WR,
    ),
    _ep(
        "submit_subaccount_transfer",
        "POST",
        f"{_V3}/transfer/subaccount",
        True,
        P("fromUser", required=True),
        P("toUser", required=True),
        P("fromAccount", required=True),
        P("toAccount", required=True),
        P("unit", required=True),
        P("amount", "money", True),
        kind=WR,
    ),
    _ep(
        "submit_transfer_to_spot",
        "POST",
        f"{_V3}/withdrawal",
        True,
        P("currency", required=True),
        P("amount", "money", True),
        P("sourceWallet"),
        kind=WR,
    ),
    _ep("get_trading_instruments", "GET", f"{_V3}/trading/instruments", True),
    _ep("get_rfq_assignment_max_leverage", "GET", f"{_V3}/rfq-assignment/max-leverage", True),
    _ep(
        "set_rfq_assignment_max_leverage",
        "PUT",
        f"{_V3}/rfq-assignment/max-leverage",
        True,
        P("maxLeverage", "money"),
        kind=IDEMPOTENT_SET,
    ),
    _ep("delete_rfq_assignment_max_leverage", "DELETE", f"{_V3}/rfq-assignment/max-leverage", True, kind=CX),
    # --- RFQ offers (JSON bodies per the OpenAPI spec) ---
    _ep("get_rfq_open_offers", "GET", f"{_V3}/rfqs/open-offers", True),
    _ep(
        "submit_rfq_new_offer",
        "POST",
        f"{_V3}/rfqs/{{rfqUid}}/place-offer",
        True,
        _path("rfqUid"),
        P("bid", "money"),
        P("ask", "money"),
        kind=WR,
        body="json",
    ),
    _ep(
        "update_rfq_open_offer",
        "PUT",
        f"{_V3}/rfqs/{{rfqUid}}/replace-offer",
        True,
        _path("rfqUid"),
        P("bid", "money"),
        P("ask", "money"),
        kind=AM,
        body="json",
    ),
    _ep("cancel_rfq_offer", "DELETE", f"{_V3}/rfqs/{{rfqUid}}/cancel-offer", True, _path("rfqUid"), kind=CX),
    # --- history (own token pool) ---
    _ep("get_execution_events", "GET", "/api/history/v3/executions", True, *_HIST, P("tradeable", "pair")),
    _ep("get_order_events", "GET", "/api/history/v3/orders", True, *_HIST, P("tradeable", "pair"), *_OPEN_CLOSED),
    _ep("get_trigger_events", "GET", "/api/history/v3/triggers", True, *_HIST, P("tradeable", "pair"), *_OPEN_CLOSED),
    _ep(
        "get_position_events",
        "GET",
        "/api/history/v3/positions",
        True,
        *_HIST,
        *_OPEN_CLOSED,
        P("increased", "bool"),
        P("decreased", "bool"),
        P("reversed", "bool"),
        P("no_change", "bool"),
        P("trades", "bool"),
        P("funding_realization", "bool"),
        P("settlement", "bool"),
        P("tradeable", "pair"),
    ),
    _ep(
        "get_account_log",
        "GET",
        "/api/history/v3/account-log",
        True,
        P("since", "int"),
        P("before", "int"),
        P("from_", "int", wire="from", doc="first log id"),
        P("to", "int", doc="last log id"),
        P("sort"),
        P("info", doc="entry type filter"),
        P("count", "int"),
        P("conversion_details", "bool"),
    ),
    _ep(
        "get_account_log_csv",
        "GET",
        "/api/history/v3/accountlogcsv",
        True,
        P("conversion_details", "bool"),
        response_type="str",
        doc="The account log as CSV text.",
    ),
    _ep(
        "get_public_execution_events",
        "GET",
        "/api/history/v3/market/{tradeable}/executions",
        False,
        _path("tradeable"),
        *_HIST,
    ),
    _ep(
        "get_public_order_events", "GET", "/api/history/v3/market/{tradeable}/orders", False, _path("tradeable"), *_HIST
    ),
    _ep(
        "get_public_mark_price_events",
        "GET",
        "/api/history/v3/market/{tradeable}/price",
        False,
        _path("tradeable"),
        *_HIST,
    ),
    # --- charts ---
    _ep("get_tick_types", "GET", "/api/charts/v1/", False, doc="['spot', 'mark', 'trade']"),
    _ep("get_markets_for_tick_type", "GET", "/api/charts/v1/{tickType}", False, _path("tickType")),
    _ep("get_resolutions", "GET", "/api/charts/v1/{tickType}/{symbol}", False, _path("tickType"), _path("symbol")),
    _ep(
        "get_candles",
        "GET",
        "/api/charts/v1/{tickType}/{symbol}/{resolution}",
        False,
        _path("tickType", "spot | mark | trade"),
        _path("symbol"),
        _path("resolution", "1m 5m 15m 30m 1h 4h 12h 1d 1w"),
        P("from_", "int", wire="from", doc="epoch seconds"),
        P("to", "int", doc="epoch seconds"),
        P("count", "int"),
    ),
    _ep(
        "get_liquidity_pool_statistic",
        "GET",
        "/api/charts/v1/analytics/liquidity-pool",
        False,
        P("since", "int", True),
        P("interval", "int", True),
        P("to", "int"),
    ),
    _ep(
        "get_market_analytics",
        "GET",
        "/api/charts/v1/analytics/{symbol}/{analyticsType}",
        False,
        _path("symbol"),
        _path("analyticsType"),
        P("since", "int", True),
        P("interval", "int", True),
        P("to", "int"),
    ),
    # --- auth / stats ---
    _ep("check_api_key_v3", "GET", "/api/auth/v1/api-keys/v3/check", True),
    _ep("get_account_market_share", "GET", "/api/stats/v1/rebates/self-market-share", True),
)

DERIV_ENDPOINTS: Final[Mapping[str, Endpoint]] = MappingProxyType({e.name: e for e in _TABLE})


def path_param_names(endpoint: Endpoint) -> tuple[str, ...]:
    """The ``{placeholders}`` of an endpoint's path, in order."""
    return tuple(part[1:-1] for part in endpoint.path.split("/") if part.startswith("{") and part.endswith("}"))


def pool_of(endpoint: Endpoint) -> Literal["derivatives", "history", "public"]:
    """Rate-limit pool: ``derivatives`` (500 units / 10 s per key), ``history`` (100 tokens / 10 min),
    ``public`` (not counted per key)."""
    if not endpoint.auth:
        return "public"
    if endpoint.path.startswith("/api/history/"):
        return "history"
    if endpoint.path.startswith("/derivatives/"):
        return "derivatives"
    return "public"


def cost_of(endpoint: Endpoint, wire_params: Mapping[str, Any] | None = None) -> int:
    """Documented cost of one call (``batchorder`` 9 + n instructions, ``fills`` with lastFillTime 25)."""
    params = wire_params or {}
    if endpoint.name == "batch_order_management":
        text = params.get("json")
        n = 1
        if isinstance(text, str):
            try:
                n = len(loads(text).get("batchOrder") or []) or 1
            except (JSONDecodeError, AttributeError):
                n = 1
        return 9 + n
    if endpoint.name == "get_fills" and params.get("lastFillTime") is not None:
        return 25
    return endpoint.cost


# Parameter names that carry instruments (checked before sending, path placeholders included).
_SYMBOL_PARAMS: Final = frozenset({"symbol", "tradeable", "contract"})


# --- converting user values to wire values (pure) --------------------------------------------------


def convert_param(endpoint: Endpoint, spec: Param, value: Any) -> Any:
    """One user value of a call without a validation-layer schema -> its wire text (a ``str``; ``str_list`` ->
    ``list[str]``). Raises :class:`ValidationError` / :class:`SymbolFormatError` naming the parameter. Amounts
    follow the layer's rules (floats refused with the fix in the message)."""
    kind = spec.kind
    name = spec.name
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValidationError(f"{name} must be True or False", field=name, endpoint=endpoint.path)
        return "true" if value else "false"
    if kind in ("money", "price", "number"):
        # money / price: positive amounts (zero allowed); number: signed
        return format_amount(check_amount(value, name, allow_zero=True, signed=kind == "number"))
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                f"{name} must be an int (got {type(value).__name__})", field=name, endpoint=endpoint.path
            )
        return str(value)
    if kind == "pair":
        return validate_derivatives_symbol(value, name)
    if kind == "cl_ord_id":
        return validate_futures_cli_ord_id(value, name)
    if kind == "str_list":
        if not isinstance(value, (str, list, tuple)):
            raise ValidationError(
                f"{name} must be a str or a list of str (got {type(value).__name__})",
                field=name,
                endpoint=endpoint.path,
            )
        items = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(v, str) and v for v in items):
            raise ValidationError(f"{name} must be a list of non-empty str", field=name, endpoint=endpoint.path)
        if name == "cliOrdIds":
            for item in items:
                validate_futures_cli_ord_id(item, name)
        return items
    if kind == "json":
        if endpoint.name == "batch_order_management":
            return dumps({"batchOrder": normalize_batch_instructions(value)}).decode()
        if not isinstance(value, Mapping):
            raise ValidationError(f"{name} must be a mapping", field=name, endpoint=endpoint.path)
        return dumps(_json_ready(value)).decode()
    # str
    if name in _SYMBOL_PARAMS:
        return validate_derivatives_symbol(value, name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise ValidationError(f"{name} must be a non-empty str", field=name, endpoint=endpoint.path)
    return str(value)


_MAX_PAYLOAD_DEPTH: Final = 32


def _json_ready(value: Any, name: str = "", depth: int = 0) -> Any:
    """Copy of a JSON payload with amounts as exact Decimals (floats refused, as everywhere) and symbols checked."""
    if depth > _MAX_PAYLOAD_DEPTH:
        raise ValidationError(
            f"{name or 'json'} is nested more than {_MAX_PAYLOAD_DEPTH} levels deep", field=name or "json"
        )
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v, name, depth + 1) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (float, Decimal)):
        return check_amount(value, name or "value", allow_zero=True, signed=True)
    if name in _SYMBOL_PARAMS and isinstance(value, str):
        return validate_derivatives_symbol(value, name)
    return value


def normalize_batch_instructions(instructions: Any) -> list[dict[str, Any]]:
    """A ``batchOrder`` list checked by the validation layer (``derivatives.batchorder``: each instruction by
    its ``order`` as sendorder / editorder / cancelorder, 1..491 of them, unique ``cliOrdId``s and
    ``order_tag``s) and written for the wire: amounts as exact Decimals (JSON numbers), ``order_tag`` filled in
    with the instruction's index where it is missing."""
    wire = validate("derivatives.batchorder", {"batchOrder": instructions})
    batch: list[dict[str, Any]] = wire["batchOrder"]
    return batch


# --- encoding and the prepared request -------------------------------------------------------------


def _quote(text: str) -> str:
    # Everything except RFC 3986 unreserved characters is percent-encoded (space -> %20).
    return urllib.parse.quote(text, safe="-_.~")


def encode_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """``k=v&k2=v2`` with both sides percent-encoded: the exact text that is sent and signed."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)


def _pairs(wire_params: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in wire_params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            pairs.extend((name, _text(v)) for v in value)
        else:
            pairs.append((name, _text(value)))
    return pairs


def _text(value: Any) -> str:
    """Wire text of a pass-through value (a ``request()`` field of an unknown path, an ``extra_params`` entry)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, float)):
        return format_amount(check_amount(value, "value", allow_zero=True, signed=True))
    return str(value)


@dataclass(frozen=True, slots=True)
class DerivRequest:
    """One encoded request. ``query``/``body`` are the exact texts sent ('' when none);
    ``post_data`` is what Authent hashes."""

    method: str
    path: str
    query: str
    body: str
    content_type: str | None

    @property
    def post_data(self) -> str:
        """The body for POST (and for any request with a body), else the query string."""
        return self.body if (self.method == "POST" or self.body) else self.query

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def build_deriv_request(endpoint: Endpoint, wire_params: Mapping[str, Any]) -> DerivRequest:
    """Encode one call: fill the path, put parameters in the query (GET/PUT/DELETE), a form body
    (POST) or a JSON body (RFQ offers). Pure; the result is what goes on the wire."""
    params = {k: v for k, v in wire_params.items() if v is not None}
    path = endpoint.path
    for name in path_param_names(endpoint):
        value = params.pop(name, None)
        if value is None or value == "":
            raise ValidationError(f"{endpoint.python_method}() needs {name}=", field=name, endpoint=endpoint.path)
        path = path.replace("{" + name + "}", _quote(str(value)))
    if endpoint.body == "json":
        pmap = {p.wire_name: p for p in endpoint.params}
        payload = {
            k: (Decimal(v) if k in pmap and pmap[k].kind in ("money", "price", "number") else v)
            for k, v in params.items()
        }
        body = dumps(payload).decode() if payload else ""
        return DerivRequest(endpoint.method, path, "", body, "application/json" if body else None)
    encoded = encode_pairs(_pairs(params))
    if endpoint.method == "POST":
        return DerivRequest(endpoint.method, path, "", encoded, "application/x-www-form-urlencoded")
    return DerivRequest(endpoint.method, path, encoded, "", None)


def deriv_auth_headers(api_key: str, secret: bytes | str, request: DerivRequest, nonce: int | str) -> dict[str, str]:
    """``APIKey`` / ``Nonce`` / ``Authent`` for one send (a fresh nonce for every attempt)."""
    return {
        "APIKey": api_key,
        "Nonce": str(nonce),
        "Authent": futures_authent(secret, request.path, str(nonce), request.post_data),
    }


# --- the generic request(method, path, params) (pure) -----------------------------------------------

#: The verbs Kraken's Derivatives REST APIs use.
REQUEST_METHODS: Final = ("GET", "POST", "PUT", "DELETE")
_REQUEST_PREFIXES: Final = ("/derivatives/", "/api/")
# RFC 3986 path characters (unreserved, sub-delims, ':', '@', '/') and %XX escapes: text httpx sends
# unchanged, so the path Authent signs is the path that goes out.
_PATH_TEXT: Final = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})+")
_SCALARS: Final = (str, int, Decimal)


def _template(endpoint: Endpoint) -> re.Pattern[str]:
    return re.compile(
        "/".join(
            f"(?P<{seg[1:-1]}>[^/]+)" if seg.startswith("{") and seg.endswith("}") else re.escape(seg)
            for seg in endpoint.path.split("/")
        )
    )


_BY_ROUTE: Final[Mapping[tuple[str, str], Endpoint]] = MappingProxyType(
    {(e.method, e.path): e for e in _TABLE if not path_param_names(e)}
)
# most literal segments first: /api/charts/v1/analytics/{symbol}/{analyticsType} before
# /api/charts/v1/{tickType}/{symbol}/{resolution}
_TEMPLATES: Final[tuple[tuple[Endpoint, re.Pattern[str]], ...]] = tuple(
    (e, _template(e))
    for e in sorted(
        (e for e in _TABLE if path_param_names(e)), key=lambda e: -(e.path.count("/") + 1 - len(path_param_names(e)))
    )
)


def _known(verb: str, path: str) -> Endpoint | None:
    """The table row a concrete path belongs to; a templated row comes back with the path filled in
    (its placeholders checked like the method's keyword arguments, and no longer parameters)."""
    exact = _BY_ROUTE.get((verb, path))
    if exact is not None:
        return exact
    for endpoint, pattern in _TEMPLATES:
        match = pattern.fullmatch(path) if endpoint.method == verb else None
        if match is None:
            continue
        names = path_param_names(endpoint)
        specs = endpoint.param_map
        for name in names:
            convert_param(endpoint, specs[name], urllib.parse.unquote(match.group(name)))
        return replace(endpoint, path=path, params=tuple(p for p in endpoint.params if p.name not in names))
    return None


def request_endpoint(method: Any, path: Any, auth: Any = None, *, has_credentials: bool = False) -> Endpoint:
    """The :class:`Endpoint` a generic ``request(method, path, params, auth=...)`` runs as.

    A verb and path of the table (templated paths too: ``/derivatives/api/v3/tickers/PF_XBTUSD``)
    run as that method would: its parameter checks, typed result, retry class and cost. Any other
    path gets a :class:`~krakenkit.rest.derivatives_models.DerivResult`; GET is retried like a read,
    POST / PUT / DELETE are writes that are never resent after an unknown outcome. ``auth``:
    ``None`` = the table's word for a known path, else signed when the client has a key; ``True`` /
    ``False`` force it. Bad input raises :class:`ValidationError` (nothing is sent).
    """
    if not isinstance(method, str) or method.upper() not in REQUEST_METHODS:
        raise ValidationError(f"method must be one of {', '.join(REQUEST_METHODS)} (got {method!r})", field="method")
    verb = method.upper()
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValidationError(
            f"path must start with '/', e.g. '/derivatives/api/v3/accounts' (got {path!r})", field="path"
        )
    if "?" in path or "#" in path:
        raise ValidationError(
            "put query parameters in params=, not in the path (they are encoded and signed with the request)",
            field="path",
            endpoint=path,
        )
    if not path.startswith(_REQUEST_PREFIXES):
        raise ValidationError(
            f"{path!r} is not a Derivatives path: they start with /derivatives/api/v3/, "
            "/api/history/v3/, /api/charts/v1/, /api/auth/v1/ or /api/stats/v1/",
            field="path",
            endpoint=path,
        )
    if _PATH_TEXT.fullmatch(path) is None or any(seg in (".", "..") for seg in path.split("/")):
        raise ValidationError(
            f"path {path!r} has characters or '.'/'..' segments that cannot be sent as signed; percent-encode them",
            field="path",
            endpoint=path,
        )
    if auth is not None and not isinstance(auth, bool):
        raise ValidationError(f"auth must be True, False or None (got {auth!r})", field="auth", endpoint=path)
    known = _known(verb, path)
    if known is not None:
        return known if auth is None or auth == known.auth else replace(known, auth=auth)
    return Endpoint(
        name=f"{verb} {path}",
        method=verb,
        path=path,
        auth=has_credentials if auth is None else auth,
        python_method="request",
        kind=R if verb == "GET" else WR,
        body="form" if verb == "POST" else "query",
        response_type="DerivResult",
    )


def request_params(endpoint: Endpoint, params: Any) -> dict[str, Any]:
    """``params`` of a generic request as a dict, checked before anything is sent: names are non-empty
    ``str``; values the endpoint does not convert itself are scalars (str, int, bool, Decimal, float) or
    lists of them (repeated on the wire) unless the body is JSON."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ValidationError(
            f"params must be a mapping of wire names to values (got {type(params).__name__})",
            field="params",
            endpoint=endpoint.path,
        )
    specs = endpoint.param_map
    out: dict[str, Any] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise ValidationError(
                f"params names must be non-empty str (got {name!r})", field="params", endpoint=endpoint.path
            )
        if name not in specs and endpoint.body != "json" and value is not None:
            items = value if isinstance(value, (list, tuple)) else (value,)
            if not all(isinstance(v, _SCALARS) for v in items):
                bad = next(v for v in items if not isinstance(v, _SCALARS))
                if isinstance(bad, float):
                    check_amount(bad, name)  # the float policy's own message, with the text to pass instead
                raise ValidationError(
                    f"params[{name!r}] must be a str, int, bool, Decimal or a list of them (got {type(bad).__name__})",
                    field=name,
                    endpoint=endpoint.path,
                )
        out[name] = value
    return out
