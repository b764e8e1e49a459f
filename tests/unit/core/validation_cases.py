"""The table of typical user mistakes (and of inputs that must pass), with the expected verdict.

One row per (mistake, API): ``operation`` names the schema of :mod:`krakenkit._core.validation`
(``spot_rest.AddOrder`` = ``SpotClient.submit_order``, ``spot_ws.add_order`` =
``WebsocketAPIClient.submit_spot_order``, ``derivatives.sendorder`` = ``DerivativesClient.submit_order``
...), ``params`` are the keyword arguments a user passes. ``mistake`` groups the rows of one mistake
across APIs, so a parity test can run the same table through REST, WebSocket and the CLI and expect
the same verdict everywhere:

* ``ok=False``: refused locally with ``error`` (a ValidationError subclass), ``field`` is the field
  the error names, ``fragment`` a piece of its message (the fix).
* ``ok=True``: accepted; ``wire`` (when given) is the exact wire form that must result.

Nothing here imports the clients: it is data (plus :func:`cases_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from krakenkit._core.errors import SymbolFormatError, ValidationError

__all__ = ["CASES", "Case", "cases_for", "mistakes"]


@dataclass(frozen=True)
class Case:
    id: str
    operation: str
    params: Mapping[str, Any]
    ok: bool
    fragment: str = ""
    field: str | None = None
    error: type[ValidationError] = ValidationError
    wire: Mapping[str, Any] | None = None
    extra_params: Mapping[str, Any] | None = None
    mistake: str = ""
    note: str = ""

    def __str__(self) -> str:
        return self.id


UUID = "6d1b345e-2821-40e2-ad83-4ecb18a06876"
DUUID = "e35d61dd-8a30-4d5f-a574-b5593ef0c050"

REST = "spot_rest.AddOrder"
WS = "spot_ws.add_order"
DRV = "derivatives.sendorder"

REST_LIMIT: dict[str, Any] = {"ordertype": "limit", "type": "buy", "volume": "0.01", "pair": "XBTUSD", "price": "30000"}
WS_LIMIT: dict[str, Any] = {
    "order_type": "limit",
    "side": "buy",
    "order_qty": "0.01",
    "symbol": "BTC/USD",
    "limit_price": "30000",
}
DRV_LIMIT: dict[str, Any] = {
    "orderType": "lmt",
    "symbol": "PF_XBTUSD",
    "side": "buy",
    "size": "1",
    "limitPrice": "30000",
}
REST_MARKET: dict[str, Any] = {"ordertype": "market", "type": "buy", "volume": "0.01", "pair": "XBTUSD"}
WS_MARKET: dict[str, Any] = {"order_type": "market", "side": "buy", "order_qty": "0.01", "symbol": "BTC/USD"}
DRV_MARKET: dict[str, Any] = {"orderType": "mkt", "symbol": "PF_XBTUSD", "side": "buy", "size": "1"}

BASE = {REST: REST_LIMIT, WS: WS_LIMIT, DRV: DRV_LIMIT}
QTY = {REST: "volume", WS: "order_qty", DRV: "size"}
PRICE = {REST: "price", WS: "limit_price", DRV: "limitPrice"}
TYPE = {REST: "ordertype", WS: "order_type", DRV: "orderType"}
SIDE = {REST: "type", WS: "side", DRV: "side"}
SYM = {REST: "pair", WS: "symbol", DRV: "symbol"}
CLID = {REST: "cl_ord_id", WS: "cl_ord_id", DRV: "cliOrdId"}


def _with(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


_DROP = object()
_rows: list[Case] = []


def bad(
    id: str,
    operation: str,
    params: Mapping[str, Any],
    field: str | None,
    fragment: str,
    *,
    mistake: str = "",
    **kw: Any,
) -> None:
    _rows.append(Case(id, operation, params, False, fragment, field, mistake=mistake or id, **kw))


def good(id: str, operation: str, params: Mapping[str, Any], wire: Mapping[str, Any] | None = None, **kw: Any) -> None:
    _rows.append(Case(id, operation, params, True, wire=wire, mistake=kw.pop("mistake", id), **kw))


def each_api(
    mistake: str, fragment_by_api: Mapping[str, str], make: Any, *, error: type[ValidationError] = ValidationError
) -> None:
    """One row per API for a mistake: ``make(op)`` -> (params, field)."""
    for op, fragment in fragment_by_api.items():
        params, fld = make(op)
        bad(f"{mistake}[{op.split('.')[0]}]", op, params, fld, fragment, mistake=mistake, error=error)


ALL3 = (REST, WS, DRV)


def _same(fragment: str, apis: tuple[str, ...] = ALL3) -> dict[str, str]:
    return dict.fromkeys(apis, fragment)


# --- unknown / misspelled keywords ------------------------------------------------------------------

each_api(
    "typo_post_only",
    _same("did you mean post_only?"),
    lambda op: ({**BASE[op], "post_onyl": True}, "post_onyl"),
)
bad("rest_post_only_is_oflags", REST, {**REST_LIMIT, "post_only": True}, "post_only", "oflags='post'")
bad("rest_symbol_keyword", REST, _with(REST_LIMIT, pair=_DROP, symbol="XBTUSD"), "symbol", "pair=")
bad("rest_order_qty_keyword", REST, _with(REST_LIMIT, volume=_DROP, order_qty="1"), "order_qty", "volume=")
bad("rest_side_keyword", REST, _with(REST_LIMIT, type=_DROP, side="buy"), "side", "type=")
bad("ws_pair_keyword", WS, _with(WS_LIMIT, symbol=_DROP, pair="BTC/USD"), "pair", "symbol=")
bad("ws_volume_keyword", WS, _with(WS_LIMIT, order_qty=_DROP, volume="1"), "volume", "order_qty=")
bad("ws_leverage", WS, {**WS_LIMIT, "leverage": 2}, "leverage", "margin=True")
bad("ws_timeinforce_keyword", WS, {**WS_LIMIT, "timeinforce": "gtc"}, "timeinforce", "time_in_force=")
bad("drv_volume_keyword", DRV, _with(DRV_LIMIT, size=_DROP, volume="1"), "volume", "size=")
bad("drv_cl_ord_id_keyword", DRV, {**DRV_LIMIT, "cl_ord_id": "x"}, "cl_ord_id", "cliOrdId=")
bad("drv_reduce_only_keyword", DRV, {**DRV_LIMIT, "reduce_only": True}, "reduce_only", "reduceOnly=")
bad(
    "rest_typo_ordertype_key",
    REST,
    _with(REST_LIMIT, ordertype=_DROP, ordertyp="limit"),
    "ordertyp",
    "did you mean ordertype?",
)
bad("ws_typo_limit_price_key", WS, _with(WS_LIMIT, limit_price=_DROP, limitprice="1"), "limitprice", "limit_price")
bad("rest_nonce_param", REST, {**REST_LIMIT, "nonce": 1}, "nonce", "set by krakenkit")
bad("ws_token_param", WS, {**WS_LIMIT, "token": "abc"}, "token", "set by krakenkit")

# --- enum spellings ---------------------------------------------------------------------------------

each_api(
    "type_upper_case",
    {REST: "use 'limit'", WS: "use 'limit'", DRV: "use 'lmt'"},
    lambda op: ({**BASE[op], TYPE[op]: "LIMIT" if op != DRV else "LMT"}, TYPE[op]),
)
each_api(
    "type_other_api_spelling",
    {REST: "use 'limit'", WS: "use 'limit'", DRV: "use 'lmt'"},
    lambda op: ({**BASE[op], TYPE[op]: "lmt" if op != DRV else "limit"}, TYPE[op]),
)
each_api(
    "type_stop_loss_underscore",
    {REST: "use 'stop-loss'", WS: "use 'stop-loss'", DRV: "use 'stp'"},
    lambda op: ({**BASE[op], TYPE[op]: "stop_loss" if op != DRV else "stop-loss"}, TYPE[op]),
)
each_api("side_long", _same("use 'buy'"), lambda op: ({**BASE[op], SIDE[op]: "long"}, SIDE[op]))
each_api("side_upper_case", _same("use 'buy'"), lambda op: ({**BASE[op], SIDE[op]: "BUY"}, SIDE[op]))
each_api("side_not_a_str", _same("must be a str"), lambda op: ({**BASE[op], SIDE[op]: 1}, SIDE[op]))
bad("rest_tif_lower_case", REST, {**REST_LIMIT, "timeinforce": "gtc"}, "timeinforce", "use 'GTC'")
bad("ws_tif_upper_case", WS, {**WS_LIMIT, "time_in_force": "GTC"}, "time_in_force", "use 'gtc'")
bad("rest_tif_unknown", REST, {**REST_LIMIT, "timeinforce": "GTX"}, "timeinforce", "'GTC'")
bad("rest_oflags_bogus", REST, {**REST_LIMIT, "oflags": "post,maker"}, "oflags", "not valid")
bad("rest_oflags_post_only_spelling", REST, {**REST_LIMIT, "oflags": "post_only"}, "oflags", "use 'post'")
bad("rest_oflags_empty_entry", REST, {**REST_LIMIT, "oflags": "post,,fciq"}, "oflags", "empty entry")
bad("rest_oflags_fcib_fciq", REST, {**REST_LIMIT, "oflags": ["fcib", "fciq"]}, "oflags", "exclude each other")
bad("rest_stptype_ws_spelling", REST, {**REST_LIMIT, "stptype": "cancel_both"}, "stptype", "use 'cancel-both'")
bad("ws_stp_type_rest_spelling", WS, {**WS_LIMIT, "stp_type": "cancel-both"}, "stp_type", "use 'cancel_both'")
bad("rest_trigger_mark", REST, {**REST_LIMIT, "ordertype": "stop-loss", "trigger": "mark"}, "trigger", "use 'index'")
bad(
    "drv_trigger_upper",
    DRV,
    {**DRV_LIMIT, "orderType": "stp", "stopPrice": "29000", "triggerSignal": "MARK"},
    "triggerSignal",
    "use 'mark'",
)
bad(
    "drv_deviation_unit_lower",
    DRV,
    _with(DRV_MARKET, orderType="trailing_stop", trailingStopMaxDeviation="5", trailingStopDeviationUnit="percent"),
    "trailingStopDeviationUnit",
    "use 'PERCENT'",
)
bad("drv_post_only_type_spelling", DRV, {**DRV_LIMIT, "orderType": "post_only"}, "orderType", "use 'post'")

# --- amounts ----------------------------------------------------------------------------------------

each_api("zero_quantity", _same("greater than zero"), lambda op: ({**BASE[op], QTY[op]: "0"}, QTY[op]))
each_api("zero_quantity_int", _same("greater than zero"), lambda op: ({**BASE[op], QTY[op]: 0}, QTY[op]))
each_api("zero_price", _same("greater than zero"), lambda op: ({**BASE[op], PRICE[op]: "0"}, PRICE[op]))
each_api("negative_quantity", _same("negative"), lambda op: ({**BASE[op], QTY[op]: "-1"}, QTY[op]))
each_api("float_quantity", _same("is a float"), lambda op: ({**BASE[op], QTY[op]: 0.1 + 0.2}, QTY[op]))
each_api("float_price", _same("Decimal('30000.5')"), lambda op: ({**BASE[op], PRICE[op]: 30000.5}, PRICE[op]))
each_api("huge_exponent", _same("too large"), lambda op: ({**BASE[op], QTY[op]: "1e999999999"}, QTY[op]))
each_api(
    "huge_exponent_decimal", _same("too large"), lambda op: ({**BASE[op], QTY[op]: Decimal("1e999999999")}, QTY[op])
)
each_api("huge_int", _same("too large"), lambda op: ({**BASE[op], QTY[op]: 10**30}, QTY[op]))
each_api(
    "too_many_decimals",
    _same("too many decimals"),
    lambda op: ({**BASE[op], QTY[op]: "0.0000000000000000001"}, QTY[op]),
)
each_api("nan_text", _same("not a number"), lambda op: ({**BASE[op], QTY[op]: "NaN"}, QTY[op]))
each_api("nan_decimal", _same("not a finite number"), lambda op: ({**BASE[op], PRICE[op]: Decimal("NaN")}, PRICE[op]))
each_api("infinity", _same("not a finite number"), lambda op: ({**BASE[op], QTY[op]: Decimal("Infinity")}, QTY[op]))
each_api("not_a_number", _same("not a number"), lambda op: ({**BASE[op], QTY[op]: "abc"}, QTY[op]))
each_api("comma_decimal", _same("not a number"), lambda op: ({**BASE[op], PRICE[op]: "30000,5"}, PRICE[op]))
each_api("underscore_number", _same("not a number"), lambda op: ({**BASE[op], QTY[op]: "1_000"}, QTY[op]))
each_api("arabic_digits", _same("not a number"), lambda op: ({**BASE[op], QTY[op]: "\u0661\u0662"}, QTY[op]))
each_api("whitespace_number", _same("contains whitespace"), lambda op: ({**BASE[op], QTY[op]: " 1.5"}, QTY[op]))
each_api("newline_number", _same("contains whitespace"), lambda op: ({**BASE[op], QTY[op]: "1.5\n"}, QTY[op]))
each_api("bool_amount", _same("not a bool"), lambda op: ({**BASE[op], QTY[op]: True}, QTY[op]))
each_api("empty_amount", _same("empty"), lambda op: ({**BASE[op], QTY[op]: ""}, QTY[op]))
each_api("list_amount", _same("must be a Decimal, str or int"), lambda op: ({**BASE[op], QTY[op]: [1]}, QTY[op]))

# --- required / forbidden per order type ------------------------------------------------------------

each_api("none_price_on_limit", _same("is required for"), lambda op: ({**BASE[op], PRICE[op]: None}, PRICE[op]))
each_api(
    "missing_quantity",
    {REST: "volume is required", WS: "needs order_qty= or cash_order_qty=", DRV: "size is required"},
    lambda op: (_with(BASE[op], **{QTY[op]: _DROP}), QTY[op]),
)
each_api("missing_symbol", _same("is required"), lambda op: (_with(BASE[op], **{SYM[op]: _DROP}), SYM[op]))
each_api("missing_side", _same("is required"), lambda op: (_with(BASE[op], **{SIDE[op]: _DROP}), SIDE[op]))
each_api(
    "price_on_market",
    _same("not used by"),
    lambda op: ({**{REST: REST_MARKET, WS: WS_MARKET, DRV: DRV_MARKET}[op], PRICE[op]: "30000"}, PRICE[op]),
)
bad("rest_price2_on_limit", REST, {**REST_LIMIT, "price2": "29000"}, "price2", "not used by")
bad("rest_stop_limit_without_price2", REST, {**REST_LIMIT, "ordertype": "stop-loss-limit"}, "price2", "is required for")
bad("rest_displayvol_on_limit", REST, {**REST_LIMIT, "displayvol": "0.001"}, "displayvol", "not used by")
bad(
    "rest_iceberg_display_too_small",
    REST,
    {**REST_LIMIT, "ordertype": "iceberg", "volume": "15", "displayvol": "0.5"},
    "displayvol",
    "1/15",
)
bad(
    "rest_iceberg_display_above_volume",
    REST,
    {**REST_LIMIT, "ordertype": "iceberg", "displayvol": "1"},
    "displayvol",
    "larger than volume",
)
bad("ws_stop_without_triggers", WS, _with(WS_MARKET, order_type="stop-loss"), "triggers", "is required for")
bad(
    "ws_cash_qty_on_limit",
    WS,
    _with(WS_LIMIT, order_qty=_DROP, cash_order_qty="100"),
    "cash_order_qty",
    "market orders only",
)
bad("ws_both_quantities", WS, {**WS_MARKET, "cash_order_qty": "100"}, "cash_order_qty", "exactly one")
bad("drv_stp_without_stop_price", DRV, {**DRV_LIMIT, "orderType": "stp"}, "stopPrice", "is required for")
bad(
    "drv_trailing_without_deviation",
    DRV,
    _with(DRV_MARKET, orderType="trailing_stop"),
    "trailingStopMaxDeviation",
    "is required for",
)
bad(
    "drv_trailing_deviation_range",
    DRV,
    _with(DRV_MARKET, orderType="trailing_stop", trailingStopMaxDeviation="60", trailingStopDeviationUnit="PERCENT"),
    "trailingStopMaxDeviation",
    "0.1 to 50",
)
bad(
    "drv_offset_without_unit",
    DRV,
    {**_with(DRV_LIMIT, limitPrice=_DROP), "orderType": "stp", "stopPrice": "29000", "limitPriceOffsetValue": "-5"},
    "limitPriceOffsetUnit",
    "needs limitPriceOffsetUnit",
)
bad(
    "drv_offset_on_limit",
    DRV,
    {**DRV_LIMIT, "limitPriceOffsetValue": "-5", "limitPriceOffsetUnit": "PERCENT"},
    "limitPriceOffsetValue",
    "not used by",
)

# --- relative prices ----------------------------------------------------------------------------------

bad("rest_percent_without_prefix", REST, {**REST_LIMIT, "price": "5%"}, "price", "needs a '+', '-' or '#' prefix")
bad("rest_relative_garbage", REST, {**REST_LIMIT, "price": "+abc"}, "price", "not a relative price")
bad("rest_relative_zero", REST, {**REST_LIMIT, "price": "+0"}, "price", "zero offset")
bad(
    "rest_trailing_absolute_price",
    REST,
    {**REST_MARKET, "ordertype": "trailing-stop", "type": "sell", "price": "30000"},
    "price",
    "'+' prefix",
)
bad(
    "rest_trailing_minus_price",
    REST,
    {**REST_MARKET, "ordertype": "trailing-stop", "type": "sell", "price": "-50"},
    "price",
    "'+' prefix",
)
bad(
    "amend_hash_prefix",
    "spot_rest.AmendOrder",
    {"cl_ord_id": UUID, "limit_price": "#5"},
    "limit_price",
    "not allowed here",
)
bad(
    "ws_trailing_static",
    WS,
    {**WS_MARKET, "order_type": "trailing-stop", "triggers": {"price": "50", "price_type": "static"}},
    "triggers.price_type",
    "'pct' or 'quote'",
)
bad(
    "ws_static_negative_trigger",
    WS,
    {**WS_MARKET, "order_type": "stop-loss", "triggers": {"price": "-2"}},
    "triggers.price",
    "greater than zero",
)

# --- symbols ------------------------------------------------------------------------------------------

each_api(
    "symbol_lower_case",
    {REST: "use 'XBTUSD'", WS: "use 'BTC/USD'", DRV: "use 'PF_XBTUSD'"},
    lambda op: ({**BASE[op], SYM[op]: {REST: "xbtusd", WS: "btc/usd", DRV: "pf_xbtusd"}[op]}, SYM[op]),
    error=SymbolFormatError,
)
each_api(
    "symbol_trailing_newline",
    _same("whitespace"),
    lambda op: ({**BASE[op], SYM[op]: {REST: "XBTUSD\n", WS: "BTC/USD\n", DRV: "PF_XBTUSD\n"}[op]}, SYM[op]),
    error=SymbolFormatError,
)
each_api(
    "symbol_other_api_form",
    {REST: "'XBTUSD'", WS: "'BTC/USD'", DRV: "'PF_XBTUSD'"},
    lambda op: ({**BASE[op], SYM[op]: {REST: "BTC/USD", WS: "XBTUSD", DRV: "XBTUSD"}[op]}, SYM[op]),
    error=SymbolFormatError,
)
bad(
    "rest_pair_list_on_order",
    REST,
    {**REST_LIMIT, "pair": "XBTUSD,ETHUSD"},
    "pair",
    "one pair name",
    error=SymbolFormatError,
)
each_api(
    "symbol_not_a_str", _same("non-empty str"), lambda op: ({**BASE[op], SYM[op]: 42}, SYM[op]), error=SymbolFormatError
)

# --- client ids ---------------------------------------------------------------------------------------

each_api(
    "client_id_trailing_newline",
    {REST: "whitespace", WS: "whitespace", DRV: "did you mean 'my-order-1'?"},
    lambda op: ({**BASE[op], CLID[op]: "my-order-1\n"}, CLID[op]),
)
bad("rest_cl_ord_id_too_long", REST, {**REST_LIMIT, "cl_ord_id": "x" * 19}, "cl_ord_id", "up to 18 printable ASCII")
bad(
    "ws_cl_ord_id_not_ascii",
    WS,
    {**WS_LIMIT, "cl_ord_id": "caf\u00e9"},
    "cl_ord_id",
    "not a valid Kraken client order id",
)
bad("drv_cli_ord_id_too_long", DRV, {**DRV_LIMIT, "cliOrdId": "x" * 101}, "cliOrdId", "at most 100")
bad(
    "rest_cl_ord_id_with_userref",
    REST,
    {**REST_LIMIT, "cl_ord_id": UUID, "userref": 7},
    "userref",
    "cannot be combined",
)
bad(
    "ws_cl_ord_id_with_userref",
    WS,
    {**WS_LIMIT, "cl_ord_id": UUID, "order_userref": 7},
    "order_userref",
    "cannot be combined",
)

# --- ints, bools, times ---------------------------------------------------------------------------------

bad("rest_userref_str", REST, {**REST_LIMIT, "userref": "123"}, "userref", "must be an int")
bad("rest_userref_overflow", REST, {**REST_LIMIT, "userref": 2**31}, "userref", "above the maximum")
bad("rest_leverage_garbage", REST, {**REST_LIMIT, "leverage": "abc"}, "leverage", "not a leverage")
bad("rest_leverage_float", REST, {**REST_LIMIT, "leverage": 2.5}, "leverage", "not a leverage")
bad("rest_validate_str", REST, {**REST_LIMIT, "validate": "true"}, "validate", "True or False")
bad("drv_reduce_only_int", DRV, {**DRV_LIMIT, "reduceOnly": 1}, "reduceOnly", "True or False")
bad("rest_deadline_not_rfc3339", REST, {**REST_LIMIT, "deadline": "2024-07-21 09:53:59"}, "deadline", "RFC 3339")
bad("rest_gtd_without_expiretm", REST, {**REST_LIMIT, "timeinforce": "GTD"}, "expiretm", "needs expiretm")
bad("rest_expiretm_too_soon", REST, {**REST_LIMIT, "timeinforce": "GTD", "expiretm": "+2"}, "expiretm", "+5 seconds")
bad("rest_fok_on_market", REST, {**REST_MARKET, "timeinforce": "FOK"}, "timeinforce", "limit-priced")
bad(
    "rest_ioc_post_only",
    REST,
    {**REST_LIMIT, "timeinforce": "IOC", "oflags": "post"},
    "timeinforce",
    "cannot be post-only",
)
bad("rest_post_on_market", REST, {**REST_MARKET, "oflags": "post"}, "oflags", "post-only")
bad("rest_viqc_on_sell", REST, {**REST_MARKET, "type": "sell", "oflags": "viqc"}, "oflags", "viqc")
bad("ws_gtd_without_expire_time", WS, {**WS_LIMIT, "time_in_force": "gtd"}, "expire_time", "needs expire_time")
bad(
    "ws_expire_time_without_gtd",
    WS,
    {**WS_LIMIT, "expire_time": "2030-01-01T00:00:00Z"},
    "expire_time",
    "time_in_force='gtd'",
)
bad("ws_reduce_only_without_margin", WS, {**WS_LIMIT, "reduce_only": True}, "reduce_only", "margin=True")
bad("rest_reduce_only_without_leverage", REST, {**REST_LIMIT, "reduce_only": True}, "reduce_only", "leverage=")

# --- conditional close ------------------------------------------------------------------------------------

bad(
    "rest_close_price_without_type",
    REST,
    {**REST_LIMIT, "close_price": "31000"},
    "close_price",
    "needs close_ordertype",
)
bad(
    "rest_close_type_without_price",
    REST,
    {**REST_LIMIT, "close_ordertype": "limit"},
    "close_price",
    "needs close_price",
)
bad(
    "ws_conditional_without_trigger",
    WS,
    {**WS_LIMIT, "conditional": {"order_type": "stop-loss"}},
    "conditional.trigger_price",
    "needs trigger_price",
)

# --- extra_params -------------------------------------------------------------------------------------------

bad(
    "extra_overrides_checked_field",
    REST,
    REST_LIMIT,
    "volume",
    "checked AddOrder field",
    extra_params={"volume": "abc"},
)
bad("extra_second_nonce", REST, REST_LIMIT, "nonce", "set by krakenkit", extra_params={"nonce": 1})
bad("extra_float_value", REST, REST_LIMIT, "newfield", "is a float", extra_params={"newfield": 0.5})
bad("extra_newline_value", REST, REST_LIMIT, "newfield", "control character", extra_params={"newfield": "a\nb"})
bad(
    "ws_extra_overrides_checked",
    WS,
    WS_LIMIT,
    "limit_price",
    "checked add_order field",
    extra_params={"limit_price": 1},
)
bad("drv_extra_overrides_checked", DRV, DRV_LIMIT, "side", "checked sendorder field", extra_params={"side": "sell"})

# --- batches and cancels ------------------------------------------------------------------------------------

_REST_ITEM = {"ordertype": "limit", "type": "buy", "volume": "0.01", "price": "30000"}
_WS_ITEM = {"order_type": "limit", "side": "buy", "order_qty": "0.01", "limit_price": "30000"}
bad(
    "rest_batch_one_order",
    "spot_rest.AddOrderBatch",
    {"pair": "XBTUSD", "orders": [_REST_ITEM]},
    "orders",
    "at least 2",
)
bad(
    "rest_batch_16_orders",
    "spot_rest.AddOrderBatch",
    {"pair": "XBTUSD", "orders": [_REST_ITEM] * 16},
    "orders",
    "at most 15",
)
bad("ws_batch_16_orders", "spot_ws.batch_add", {"symbol": "BTC/USD", "orders": [_WS_ITEM] * 16}, "orders", "at most 15")
bad(
    "rest_batch_pair_per_order",
    "spot_rest.AddOrderBatch",
    {"pair": "XBTUSD", "orders": [_REST_ITEM, {**_REST_ITEM, "pair": "XBTUSD"}]},
    "orders[1].pair",
    "given once",
)
bad(
    "rest_batch_duplicate_cl_ord_id",
    "spot_rest.AddOrderBatch",
    {"pair": "XBTUSD", "orders": [{**_REST_ITEM, "cl_ord_id": UUID}, {**_REST_ITEM, "cl_ord_id": UUID}]},
    "orders[1].cl_ord_id",
    "unique",
)
bad(
    "rest_batch_bad_item_float",
    "spot_rest.AddOrderBatch",
    {"pair": "XBTUSD", "orders": [_REST_ITEM, {**_REST_ITEM, "price": 1.5}]},
    "orders[1].price",
    "is a float",
)
bad("ws_batch_cancel_one_id", "spot_ws.batch_cancel", {"orders": ["OAAAAA-BBBBB-CCCCCC"]}, "orders", "2 to 50")
bad(
    "ws_batch_cancel_51_ids", "spot_ws.batch_cancel", {"cl_ord_id": [f"id-{i}" for i in range(51)]}, "orders", "2 to 50"
)
bad(
    "rest_cancel_batch_51_ids",
    "spot_rest.CancelOrderBatch",
    {"orders": [f"O{i}" for i in range(51)]},
    "orders",
    "1 to 50",
)
bad(
    "ws_cancel_mixed_ids",
    "spot_ws.cancel_order",
    {"order_id": ["OAAAAA-BBBBB-CCCCCC"], "cl_ord_id": [UUID]},
    "cl_ord_id",
    "exactly one",
)
bad(
    "rest_amend_both_ids",
    "spot_rest.AmendOrder",
    {"txid": "OAAAAA-BBBBB-CCCCCC", "cl_ord_id": UUID, "order_qty": "1"},
    "cl_ord_id",
    "exactly one",
)
bad("rest_amend_no_change", "spot_rest.AmendOrder", {"cl_ord_id": UUID}, "order_qty", "at least one")
bad(
    "rest_amend_post_only_alone",
    "spot_rest.AmendOrder",
    {"cl_ord_id": UUID, "order_qty": "1", "post_only": True},
    "post_only",
    "limit_price",
)
bad(
    "ws_edit_cl_ord_id",
    "spot_ws.edit_order",
    {"order_id": "OAAAAA-BBBBB-CCCCCC", "symbol": "BTC/USD", "cl_ord_id": UUID},
    "cl_ord_id",
    "not supported",
)
bad("rest_cancel_after_too_long", "spot_rest.CancelAllOrdersAfter", {"timeout": 86400}, "timeout", "above the maximum")
bad("ws_cancel_after_negative", "spot_ws.cancel_all_orders_after", {"timeout": -1}, "timeout", "below the minimum")
bad("rest_cancel_after_str", "spot_rest.CancelAllOrdersAfter", {"timeout": "60"}, "timeout", "must be an int")
bad("drv_cancel_both_ids", "derivatives.cancelorder", {"order_id": DUUID, "cliOrdId": "c-1"}, "cliOrdId", "exactly one")
bad("drv_edit_no_id", "derivatives.editorder", {"size": "2"}, "orderId", "at least one")
bad(
    "drv_batch_unknown_kind",
    "derivatives.batchorder",
    {"batchOrder": [{"order": "modify", "order_id": DUUID}]},
    "batchOrder[0].order",
    "not valid",
)
bad(
    "drv_batch_send_missing_size",
    "derivatives.batchorder",
    {"batchOrder": [{"order": "send", "orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "limitPrice": "1"}]},
    "batchOrder[0].size",
    "size is required",
)
bad("drv_batch_empty", "derivatives.batchorder", {"batchOrder": []}, "batchOrder", "at least 1")
bad("params_not_a_dict", REST, ["ordertype", "limit"], None, "must be a dict")  # type: ignore[arg-type]
bad("param_name_not_a_str", REST, {**REST_LIMIT, 1: "x"}, None, "must be str")

# --- inputs that must pass, with their exact wire form -----------------------------------------------------

good(
    "rest_limit_decimal",
    REST,
    {**REST_LIMIT, "volume": Decimal("0.30"), "price": Decimal("27500.0")},
    {"ordertype": "limit", "type": "buy", "volume": "0.3", "pair": "XBTUSD", "price": "27500"},
)
good(
    "rest_int_and_exponent",
    REST,
    {**REST_LIMIT, "volume": 2, "price": Decimal("1E+3")},
    {**REST_LIMIT, "volume": "2", "price": "1000"},
)
good("rest_small_volume", REST, {**REST_LIMIT, "volume": "1e-8"}, {**REST_LIMIT, "volume": "0.00000001"})
good(
    "rest_fok_limit",
    REST,
    {**REST_LIMIT, "timeinforce": "FOK", "cl_ord_id": UUID},
    {**REST_LIMIT, "timeinforce": "FOK", "cl_ord_id": UUID},
    mistake="fok_time_in_force",
)
good(
    "rest_stop_loss_limit_relative",
    REST,
    {**REST_LIMIT, "ordertype": "stop-loss-limit", "type": "sell", "price": "#5%", "price2": "-10", "trigger": "index"},
    {**REST_LIMIT, "ordertype": "stop-loss-limit", "type": "sell", "price": "#5%", "price2": "-10", "trigger": "index"},
)
good(
    "rest_trailing_stop_limit",
    REST,
    {**REST_MARKET, "ordertype": "trailing-stop-limit", "type": "sell", "price": "+1.50%", "price2": "+0"},
    {**REST_MARKET, "ordertype": "trailing-stop-limit", "type": "sell", "price": "+1.5%", "price2": "+0"},
)
good(
    "rest_post_gtd_close",
    REST,
    {
        **REST_LIMIT,
        "oflags": ["post", "fciq"],
        "timeinforce": "GTD",
        "expiretm": "+60",
        "close_ordertype": "stop-loss-limit",
        "close_price": "29000",
        "close_price2": "28900",
        "deadline": "2024-07-21T09:53:59.050Z",
        "validate": True,
    },
    {
        **REST_LIMIT,
        "oflags": "post,fciq",
        "timeinforce": "GTD",
        "expiretm": "+60",
        "close[ordertype]": "stop-loss-limit",
        "close[price]": "29000",
        "close[price2]": "28900",
        "deadline": "2024-07-21T09:53:59.050Z",
        "validate": "true",
    },
)
good(
    "rest_margin_close_zero_volume",
    REST,
    {**REST_MARKET, "volume": "0", "leverage": 2},
    {**REST_MARKET, "volume": "0", "leverage": "2"},
)
good("rest_extra_new_field", REST, REST_LIMIT, {**REST_LIMIT, "newfield": "x"}, extra_params={"newfield": "x"})
good(
    "rest_batch",
    "spot_rest.AddOrderBatch",
    {
        "pair": "XBTUSD",
        "orders": [
            {
                **_REST_ITEM,
                "close": {"ordertype": "stop-loss-limit", "price": "37000", "price2": "36000"},
                "cl_ord_id": UUID,
            },
            {
                **_REST_ITEM,
                "type": "sell",
                "price": "42000",
                "timeinforce": "GTC",
                "close_ordertype": "limit",
                "close_price": "41000",
            },
        ],
        "validate": False,
    },
    {
        "pair": "XBTUSD",
        "orders": [
            {
                **_REST_ITEM,
                "close": {"ordertype": "stop-loss-limit", "price": "37000", "price2": "36000"},
                "cl_ord_id": UUID,
            },
            {
                **_REST_ITEM,
                "type": "sell",
                "price": "42000",
                "timeinforce": "GTC",
                "close": {"ordertype": "limit", "price": "41000"},
            },
        ],
        "validate": False,
    },
)
good(
    "rest_amend_relative",
    "spot_rest.AmendOrder",
    {"cl_ord_id": UUID, "limit_price": "+5%", "post_only": True},
    {"cl_ord_id": UUID, "limit_price": "+5%", "post_only": "true"},
)
good("rest_cancel_userref", "spot_rest.CancelOrder", {"txid": 7}, {"txid": "7"})
good(
    "rest_cancel_batch",
    "spot_rest.CancelOrderBatch",
    {"orders": ["OAAAAA-BBBBB-CCCCCC", 7], "cl_ord_ids": [UUID]},
    {"orders": ["OAAAAA-BBBBB-CCCCCC", 7], "cl_ord_ids": [UUID]},
)
good("rest_cancel_after", "spot_rest.CancelAllOrdersAfter", {"timeout": 60}, {"timeout": "60"})
good(
    "ws_limit",
    WS,
    {**WS_LIMIT, "order_qty": Decimal("1.20"), "limit_price": 26500, "order_userref": 100054, "post_only": True},
    {
        **WS_LIMIT,
        "order_qty": Decimal("1.2"),
        "limit_price": Decimal(26500),
        "order_userref": 100054,
        "post_only": True,
    },
)
good(
    "ws_fok",
    WS,
    {**WS_LIMIT, "time_in_force": "fok"},
    {**WS_LIMIT, "order_qty": Decimal("0.01"), "limit_price": Decimal(30000), "time_in_force": "fok"},
    mistake="fok_time_in_force",
)
good(
    "ws_stop_loss_pct",
    WS,
    {
        "order_type": "stop-loss",
        "side": "sell",
        "order_qty": 100,
        "symbol": "MATIC/USD",
        "triggers": {"reference": "last", "price": "-2.0", "price_type": "pct"},
    },
    {
        "order_type": "stop-loss",
        "side": "sell",
        "order_qty": Decimal(100),
        "symbol": "MATIC/USD",
        "triggers": {"reference": "last", "price": Decimal(-2), "price_type": "pct"},
    },
)
good(
    "ws_oto",
    WS,
    {**WS_LIMIT, "conditional": {"order_type": "stop-loss-limit", "trigger_price": "28410", "limit_price": "28400"}},
    {
        **WS_LIMIT,
        "order_qty": Decimal("0.01"),
        "limit_price": Decimal(30000),
        "conditional": {
            "order_type": "stop-loss-limit",
            "trigger_price": Decimal(28410),
            "limit_price": Decimal(28400),
        },
    },
)
good(
    "ws_batch_add",
    "spot_ws.batch_add",
    {
        "symbol": "BTC/USD",
        "orders": [_WS_ITEM, {**_WS_ITEM, "side": "sell", "stp_type": "cancel_both"}],
        "validate": False,
    },
    {
        "symbol": "BTC/USD",
        "orders": [
            {**_WS_ITEM, "order_qty": Decimal("0.01"), "limit_price": Decimal(30000)},
            {
                **_WS_ITEM,
                "side": "sell",
                "order_qty": Decimal("0.01"),
                "limit_price": Decimal(30000),
                "stp_type": "cancel_both",
            },
        ],
        "validate": False,
    },
)
good(
    "ws_amend_limit_only",
    "spot_ws.amend_order",
    {"order_id": "OAIYAU-LGI3M-PFM5VW", "limit_price": "61031.3", "post_only": True},
    {"order_id": "OAIYAU-LGI3M-PFM5VW", "limit_price": Decimal("61031.3"), "post_only": True},
)
good(
    "ws_cancel_scalar",
    "spot_ws.cancel_order",
    {"order_id": "OM5CRX-N2HAL-GFGWE9"},
    {"order_id": ["OM5CRX-N2HAL-GFGWE9"]},
)
good(
    "ws_batch_cancel",
    "spot_ws.batch_cancel",
    {"orders": [1, "2", "ORDERX-IDXXX-XXXXX3"]},
    {"orders": ["1", "2", "ORDERX-IDXXX-XXXXX3"]},
)
good(
    "drv_limit",
    DRV,
    {**DRV_LIMIT, "size": Decimal("0.0100"), "limitPrice": "0.1", "cliOrdId": "my id/1", "reduceOnly": False},
    {**DRV_LIMIT, "size": "0.01", "limitPrice": "0.1", "cliOrdId": "my id/1", "reduceOnly": "false"},
)
good(
    "drv_stop_offset",
    DRV,
    {
        **_with(DRV_LIMIT, limitPrice=_DROP),
        "orderType": "stp",
        "stopPrice": "29000",
        "triggerSignal": "mark",
        "limitPriceOffsetValue": Decimal("-5"),
        "limitPriceOffsetUnit": "QUOTE_CURRENCY",
    },
    {
        **_with(DRV_LIMIT, limitPrice=_DROP),
        "orderType": "stp",
        "stopPrice": "29000",
        "triggerSignal": "mark",
        "limitPriceOffsetValue": "-5",
        "limitPriceOffsetUnit": "QUOTE_CURRENCY",
    },
)
good(
    "drv_trailing",
    DRV,
    {
        **DRV_MARKET,
        "orderType": "trailing_stop",
        "trailingStopMaxDeviation": "0.5",
        "trailingStopDeviationUnit": "PERCENT",
    },
    {
        **DRV_MARKET,
        "orderType": "trailing_stop",
        "trailingStopMaxDeviation": "0.5",
        "trailingStopDeviationUnit": "PERCENT",
    },
)
good(
    "drv_batch",
    "derivatives.batchorder",
    {
        "batchOrder": [
            {
                "order": "send",
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": 1,
                "limitPrice": Decimal("0.5"),
            },
            {"order": "cancel", "order_id": "o-9"},
        ]
    },
    {
        "batchOrder": [
            {
                "order": "send",
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": Decimal(1),
                "limitPrice": Decimal("0.5"),
                "order_tag": "0",
            },
            {"order": "cancel", "order_id": "o-9"},
        ]
    },
)
good(
    "drv_edit",
    "derivatives.editorder",
    {"orderId": "o-1", "size": "2", "limitPrice": "30000.5", "qtyMode": "ABSOLUTE"},
    {"orderId": "o-1", "size": "2", "limitPrice": "30000.5", "qtyMode": "ABSOLUTE"},
)
good("drv_cancel_all_after", "derivatives.cancelallordersafter", {"timeout": 60}, {"timeout": "60"})

CASES: tuple[Case, ...] = tuple(_rows)

_ids = [c.id for c in CASES]
assert len(_ids) == len(set(_ids)), "case ids must be unique"


def cases_for(prefix: str) -> list[Case]:
    """The rows of one API (``'spot_rest'``, ``'spot_ws'``, ``'derivatives'``)."""
    return [c for c in CASES if c.operation.startswith(prefix + ".")]


def mistakes() -> dict[str, list[Case]]:
    """Rows grouped by mistake: the same mistake on several APIs (for a parity test)."""
    out: dict[str, list[Case]] = {}
    for c in CASES:
        out.setdefault(c.mistake, []).append(c)
    return out
