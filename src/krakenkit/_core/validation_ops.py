"""The order operations of every Kraken API as data: one :class:`Schema` per operation.

Sources: Kraken's OpenAPI specs (Spot REST, Futures REST), the Spot WebSocket v2 pages and
examples on docs.kraken.com, Kraken's changelog (``FOK`` on AddOrder/AddOrderBatch and ``broker``,
May 2026) and Kraken's own SDK where the pages are silent. Where they disagree, the choice is noted
next to the field and in ``docs/validation.md``.

Enum values are Kraken's exact spellings; a wrong spelling is refused naming the right one (the
``aliases`` tables hold the spellings of the *other* APIs that users carry over: ``lmt`` on Spot,
``stop-loss`` on Derivatives, ``cancel_both`` on REST...).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from .validation_schema import Context, Field, Rule, Schema, TypeRule
from .validation_values import RelativePrice

__all__ = ["SCHEMAS", "SCHEMA_ALIASES"]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# --- enums ---------------------------------------------------------------------------------------

SPOT_ORDER_TYPES = (
    "market",
    "limit",
    "iceberg",
    "stop-loss",
    "take-profit",
    "stop-loss-limit",
    "take-profit-limit",
    "trailing-stop",
    "trailing-stop-limit",
    "settle-position",
)
SPOT_CLOSE_TYPES = (  # REST close[ordertype]
    "limit",
    "iceberg",
    "stop-loss",
    "take-profit",
    "stop-loss-limit",
    "take-profit-limit",
    "trailing-stop",
    "trailing-stop-limit",
)
WS_CONDITIONAL_TYPES = (
    "limit",
    "stop-loss",
    "stop-loss-limit",
    "take-profit",
    "take-profit-limit",
    "trailing-stop",
    "trailing-stop-limit",
)
SIDES = ("buy", "sell")
REST_TIF = ("GTC", "IOC", "GTD", "FOK")  # FOK: Kraken changelog, 12 May 2026
WS_TIF = ("gtc", "gtd", "ioc", "fok")  # lower case on WS v2 (fok: Kraken's own SDK sends it)
REST_STP = ("cancel-newest", "cancel-oldest", "cancel-both")
WS_STP = ("cancel_newest", "cancel_oldest", "cancel_both")
REST_TRIGGER = ("index", "last")
OFLAGS = ("post", "fcib", "fciq", "nompp", "viqc")
EDIT_OFLAGS = ("post",)  # EditOrder: "Only these flags can be changed: post"
PRICE_TYPES = ("static", "pct", "quote")
FEE_PREFERENCE = ("base", "quote")
ASSET_CLASS = ("tokenized_asset",)
DERIV_ORDER_TYPES = ("lmt", "post", "ioc", "mkt", "stp", "take_profit", "trailing_stop", "fok")
DERIV_TRIGGER = ("mark", "index", "last")
DERIV_DEVIATION_UNIT = ("PERCENT", "QUOTE_CURRENCY")
DERIV_QTY_MODE = ("ABSOLUTE", "RELATIVE")

_LIMIT_PRICED = frozenset({"limit", "iceberg", "stop-loss-limit", "take-profit-limit", "trailing-stop-limit"})
_TRIGGERED = frozenset(
    {"stop-loss", "take-profit", "stop-loss-limit", "take-profit-limit", "trailing-stop", "trailing-stop-limit"}
)
_TRAILING = frozenset({"trailing-stop", "trailing-stop-limit"})
_POSTABLE = frozenset({"limit", "iceberg"})


def _m(**items: str) -> Mapping[str, str]:
    return MappingProxyType(dict(items))


def _only(aliases: Mapping[str, str], values: tuple[str, ...]) -> Mapping[str, str]:
    """The aliases that point at one of ``values`` (an alias never suggests a value the field refuses)."""
    return MappingProxyType({k: v for k, v in aliases.items() if v in values and k not in values})


_SPOT_TYPE_ALIASES = MappingProxyType(
    {
        "lmt": "limit",
        "mkt": "market",
        "stp": "stop-loss",
        "stop": "stop-loss",
        "stop-limit": "stop-loss-limit",
        "stop_limit": "stop-loss-limit",
        "stoplimit": "stop-loss-limit",
        "stoploss": "stop-loss",
        "takeprofit": "take-profit",
        "tp": "take-profit",
        "trailing": "trailing-stop",
        "post": "limit",
        "ioc": "limit",
        "fok": "limit",
    }
)
_SPOT_TYPE_NOTE = (
    "lmt, mkt, stp, post, ioc and fok are Derivatives order types; on Spot a post-only, IOC or FOK "
    "order is a limit order with the post flag or time in force set"
)
_SIDE_ALIASES = _m(long="buy", short="sell", bid="buy", ask="sell", b="buy", s="sell", purchase="buy")
_SIDE_NOTE = "Kraken's order side is 'buy' or 'sell'"
_DERIV_TYPE_ALIASES = MappingProxyType(
    {
        "limit": "lmt",
        "market": "mkt",
        "stop": "stp",
        "stop-loss": "stp",
        "stop_loss": "stp",
        "stop-loss-limit": "stp",
        "stop_limit": "stp",
        "take-profit": "take_profit",
        "take-profit-limit": "take_profit",
        "takeprofit": "take_profit",
        "trailing-stop": "trailing_stop",
        "trailing-stop-limit": "trailing_stop",
        "post_only": "post",
        "post-only": "post",
        "postonly": "post",
    }
)
_DERIV_TYPE_NOTE = (
    "Spot spelling; Derivatives order types are lmt, post, ioc, mkt, stp, take_profit, trailing_stop, fok"
)
_OFLAG_ALIASES = _m(post_only="post", postonly="post", post_only_="post")
_DEV_UNIT_ALIASES = _m(pct="PERCENT", percentage="PERCENT", quote="QUOTE_CURRENCY", quote_ccy="QUOTE_CURRENCY")

# --- shared rules ---------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _check_trailing_prices(ctx: Context, otype: str | None, price_name: str, price2_name: str) -> None:
    """Trailing stops on Spot REST: ``price`` must be ``+<offset>`` (the direction follows the side),
    ``price2`` (trailing-stop-limit) ``+<offset>`` or ``-<offset>`` from the trigger."""
    if otype not in _TRAILING:
        return
    price = ctx.get(price_name)
    if price is not None and not (isinstance(price, RelativePrice) and price.prefix == "+"):
        raise ctx.fail(
            price_name,
            f"{price_name}={str(price)!r}: a {otype} order takes a relative trailing offset with the '+' prefix "
            f"(e.g. '+50' or '+1.5%'); Kraken picks the direction from the side",
        )
    if isinstance(price, RelativePrice) and price.offset == 0:
        raise ctx.fail(price_name, f"{price_name}='+0' is a zero trailing offset; pass a positive offset")
    price2 = ctx.get(price2_name)
    if otype == "trailing-stop-limit" and price2 is not None:
        if not (isinstance(price2, RelativePrice) and price2.prefix in "+-"):
            raise ctx.fail(
                price2_name,
                f"{price2_name}={str(price2)!r}: trailing-stop-limit takes the limit as an offset from the "
                f"trigger with '+' or '-' (e.g. '+0' or '-5')",
            )


def _rest_order_rules(ctx: Context) -> None:
    """AddOrder (and each AddOrderBatch order): the rules beyond the per-type table."""
    otype = ctx.get("ordertype")
    side = ctx.get("type")
    leverage = ctx.get("leverage")
    volume = _dec(ctx.get("volume"))
    # zero volume: documented only for closing margin positions
    if volume is not None and volume == 0 and leverage is None:
        raise ctx.fail(
            "volume",
            "volume must be greater than zero (Kraken takes volume=0 only to close a margin position, "
            "with leverage=...)",
        )
    if otype == "settle-position" and leverage is None:
        raise ctx.fail("leverage", "ordertype='settle-position' settles a margin position and needs leverage=")
    if ctx.get("reduce_only") is True and leverage is None:
        raise ctx.fail(
            "reduce_only", "reduce_only=True needs a margin order (leverage=...): only margin positions reduce"
        )
    _check_trailing_prices(ctx, otype, "price", "price2")
    for name in ("price", "price2"):
        value = ctx.get(name)
        if isinstance(value, RelativePrice) and value.offset == 0 and not (name == "price2" and otype in _TRAILING):
            raise ctx.fail(name, f"{name}={str(value)!r} is a zero offset; pass a non-zero offset or an absolute price")
    # trigger only means something for triggered orders (or their conditional close)
    if ctx.has("trigger") and otype not in _TRIGGERED and not (ctx.has("close_ordertype") or ctx.has("close")):
        raise ctx.fail("trigger", f"trigger is only used by stop/take-profit/trailing orders, not ordertype={otype!r}")
    # flags
    flags: tuple[str, ...] = ctx.get("oflags") or ()
    if "post" in flags and otype not in _POSTABLE:
        raise ctx.fail("oflags", f"oflags 'post' (post-only) needs ordertype='limit' or 'iceberg', not {otype!r}")
    if "fcib" in flags and "fciq" in flags:
        raise ctx.fail("oflags", "oflags 'fcib' and 'fciq' exclude each other; choose the fee currency once")
    if "viqc" in flags and (otype != "market" or side != "buy" or leverage is not None):
        raise ctx.fail(
            "oflags", "oflags 'viqc' (volume in quote currency) is for buy market orders without leverage only"
        )
    # time in force
    tif = ctx.get("timeinforce")
    if tif == "GTD" and ctx.get("expiretm") in (None, "0"):
        raise ctx.fail("expiretm", "timeinforce='GTD' needs expiretm= (a unix time or '+<seconds>')")
    if tif in ("IOC", "FOK") and "post" in flags:
        raise ctx.fail("timeinforce", f"timeinforce={tif!r} never rests in the book, so it cannot be post-only")
    if tif == "FOK" and otype not in _LIMIT_PRICED:
        raise ctx.fail("timeinforce", f"timeinforce='FOK' is for limit-priced orders, not ordertype={otype!r}")
    # iceberg display volume: 1/15 of the volume at least, never more than the volume
    display = _dec(ctx.get("displayvol"))
    if display is not None and volume is not None and volume > 0:
        if display > volume:
            raise ctx.fail("displayvol", f"displayvol={display} is larger than volume={volume}")
        if display * 15 < volume:
            raise ctx.fail("displayvol", f"displayvol={display} is below Kraken's minimum of 1/15 of volume ({volume})")
    _close_rules(ctx)


def _close_rules(ctx: Context) -> None:
    """The conditional close (``close[ordertype]``/``close[price]``/``close[price2]`` or a batch order's
    ``close`` dict / ``close_*`` fields)."""
    nested = ctx.get("close")
    if isinstance(nested, dict):
        ctype, price, price2 = nested.get("ordertype"), nested.get("price"), nested.get("price2")
        names = ("close.ordertype", "close.price", "close.price2")
    else:
        ctype, price, price2 = ctx.get("close_ordertype"), ctx.get("close_price"), ctx.get("close_price2")
        names = ("close_ordertype", "close_price", "close_price2")
    if ctype is None:
        for value, name in ((price, names[1]), (price2, names[2])):
            if value is not None:
                raise ctx.fail(name, f"{name} needs {names[0]}= (the conditional close order's type)")
        return
    if price is None:
        raise ctx.fail(names[1], f"{names[0]}={ctype!r} needs {names[1]}=")
    needs2 = ctype.endswith("-limit")
    if needs2 and price2 is None:
        raise ctx.fail(names[2], f"{names[0]}={ctype!r} needs {names[2]}= (its limit price)")
    if not needs2 and price2 is not None:
        raise ctx.fail(names[2], f"{names[2]} is not used by {names[0]}={ctype!r}; leave it out")
    if ctype in _TRAILING:
        if not (isinstance(price, RelativePrice) and price.prefix == "+" and price.offset > 0):
            raise ctx.fail(names[1], f"{names[0]}={ctype!r} takes a '+<offset>' trailing offset in {names[1]}")
        if price2 is not None and not (isinstance(price2, RelativePrice) and price2.prefix in "+-"):
            raise ctx.fail(names[2], f"{names[0]}={ctype!r} takes '+<offset>' or '-<offset>' in {names[2]}")


def _unique_within_batch(list_field: str, key: str) -> Rule:
    def rule(ctx: Context) -> None:
        seen: dict[Any, int] = {}
        for i, item in enumerate(ctx.get(list_field) or ()):
            value = item.get(key) if isinstance(item, dict) else None
            if value is None:
                continue
            if value in seen:
                raise ctx.fail(
                    f"{list_field}[{i}].{key}",
                    f"{list_field}[{i}].{key}={value!r} repeats {list_field}[{seen[value]}].{key}; each must be unique",
                )
            seen[value] = i

    rule.__name__ = f"unique_{list_field}_{key}"
    return rule


def _total_ids(names: tuple[str, ...], lo: int, hi: int) -> Rule:
    def rule(ctx: Context) -> None:
        n = sum(len(ctx.get(name) or ()) for name in names)
        if not lo <= n <= hi:
            joined = " + ".join(names)
            raise ctx.fail(names[0], f"{joined} hold {n} ids in all; Kraken takes {lo} to {hi} per request")

    rule.__name__ = "total_ids"
    return rule


def _post_only_needs_limit_price(ctx: Context) -> None:
    if ctx.has("post_only") and not ctx.has("limit_price"):
        raise ctx.fail("post_only", "post_only applies to a limit_price amend; pass limit_price= as well")


def _amend_relative_zero(ctx: Context) -> None:
    for name in ("limit_price", "trigger_price"):
        value = ctx.get(name)
        if isinstance(value, RelativePrice) and value.offset == 0:
            raise ctx.fail(name, f"{name}={str(value)!r} is a zero offset; pass a non-zero offset or an absolute price")


def _edit_display(ctx: Context) -> None:
    display, volume = _dec(ctx.get("displayvol")), _dec(ctx.get("volume"))
    if display is not None and volume is not None and display > volume:
        raise ctx.fail("displayvol", f"displayvol={display} is larger than volume={volume}")
    for name in ("price", "price2"):
        value = ctx.get(name)
        if isinstance(value, RelativePrice) and value.offset == 0:
            raise ctx.fail(name, f"{name}={str(value)!r} is a zero offset; pass a non-zero offset or an absolute price")


# --- Spot REST ------------------------------------------------------------------------------------

_REST_TYPE_RULES = {
    "market": TypeRule(forbidden=("price", "price2", "displayvol")),
    "limit": TypeRule(required=("price",), forbidden=("price2", "displayvol")),
    "iceberg": TypeRule(required=("price",), forbidden=("price2",)),
    "stop-loss": TypeRule(required=("price",), forbidden=("price2", "displayvol")),
    "take-profit": TypeRule(required=("price",), forbidden=("price2", "displayvol")),
    "stop-loss-limit": TypeRule(required=("price", "price2"), forbidden=("displayvol",)),
    "take-profit-limit": TypeRule(required=("price", "price2"), forbidden=("displayvol",)),
    "trailing-stop": TypeRule(required=("price",), forbidden=("price2", "displayvol")),
    "trailing-stop-limit": TypeRule(required=("price", "price2"), forbidden=("displayvol",)),
    "settle-position": TypeRule(forbidden=("price", "price2", "displayvol")),
}

# WebSocket v2 / Derivatives names a Spot REST user may carry over, with the REST way.
_REST_HINTS = {
    "order_type": "Spot REST calls it ordertype=",
    "side": "Spot REST calls the side type= ('buy' or 'sell')",
    "symbol": "Spot REST calls it pair= (e.g. 'XBTUSD')",
    "order_qty": "Spot REST calls it volume=",
    "qty": "Spot REST calls it volume=",
    "quantity": "Spot REST calls it volume=",
    "size": "Spot REST calls it volume=",
    "amount": "Spot REST calls it volume=",
    "limit_price": "Spot REST calls it price= (and price2= for the limit of stop-loss-limit orders)",
    "limitPrice": "Spot REST calls it price=",
    "trigger_price": "Spot REST calls it price= (the trigger of stop orders)",
    "stopPrice": "Spot REST calls it price= (the trigger of stop orders)",
    "time_in_force": "Spot REST calls it timeinforce= ('GTC', 'IOC', 'GTD', 'FOK')",
    "post_only": "on Spot REST post-only is oflags='post'",
    "postonly": "on Spot REST post-only is oflags='post'",
    "stp_type": "Spot REST calls it stptype= ('cancel-newest', 'cancel-oldest', 'cancel-both')",
    "order_userref": "Spot REST calls it userref=",
    "display_qty": "AddOrder calls it displayvol=",
    "cliOrdId": "Spot calls it cl_ord_id=",
    "client_order_id": "Spot calls it cl_ord_id=",
    "reduceOnly": "Spot REST calls it reduce_only=",
    "expire_time": "Spot REST calls it expiretm= (with timeinforce='GTD')",
    "effective_time": "Spot REST calls it starttm=",
    "conditional": "Spot REST takes a conditional close as close_ordertype=, close_price=, close_price2=",
    "margin": "Spot REST takes leverage= (e.g. 2) for a margin order",
}

_ORDER_FIELDS: tuple[Field, ...] = (
    Field(
        "ordertype", "enum", required=True, values=SPOT_ORDER_TYPES, aliases=_SPOT_TYPE_ALIASES, note=_SPOT_TYPE_NOTE
    ),
    Field("type", "enum", required=True, values=SIDES, aliases=_SIDE_ALIASES, note=_SIDE_NOTE, doc="side"),
    Field("volume", "amount", required=True, allow_zero=True, doc="base asset; 0 only to close a margin position"),
    Field("price", "price", doc="limit / trigger price; '+', '-', '#' offsets and '%' suffix"),
    Field("price2", "price", doc="limit price of *-limit orders; trailing-stop-limit: '+'/'-' offset"),
    Field("cl_ord_id", "cl_ord_id"),
    Field("userref", "int", lo=INT32_MIN, hi=INT32_MAX),
    Field("displayvol", "amount", doc="iceberg only; at least 1/15 of volume"),
    Field("trigger", "enum", values=REST_TRIGGER, aliases=_m(mark="index"), note="Spot triggers are 'index' or 'last'"),
    Field("leverage", "leverage"),
    Field("reduce_only", "bool"),
    Field("stptype", "enum", values=REST_STP),
    Field("oflags", "flags", values=OFLAGS, aliases=_OFLAG_ALIASES),
    Field("timeinforce", "enum", values=REST_TIF),
    Field("starttm", "unix_time"),
    Field("expiretm", "unix_time", lo=5, doc="'+<n>' at least 5 seconds"),
)

SPOT_REST_ADD_ORDER = Schema(
    name="spot_rest.AddOrder",
    title="AddOrder",
    endpoint="/0/private/AddOrder",
    encoding="form",
    fields=(
        *_ORDER_FIELDS[:3],
        Field("pair", "symbol", required=True, context="spot_rest"),
        *_ORDER_FIELDS[3:],
        Field(
            "close_ordertype",
            "enum",
            wire="close[ordertype]",
            values=SPOT_CLOSE_TYPES,
            aliases=_only(_SPOT_TYPE_ALIASES, SPOT_CLOSE_TYPES),
        ),
        Field("close_price", "price", wire="close[price]"),
        Field("close_price2", "price", wire="close[price2]"),
        Field("deadline", "rfc3339"),
        Field("validate", "bool"),
        Field("asset_class", "enum", values=ASSET_CLASS),
        Field("broker", "text", max_len=64, doc="qualified API partners (May 2026)"),
    ),
    type_field="ordertype",
    type_rules=_REST_TYPE_RULES,
    exclusive=(("cl_ord_id", "userref"),),
    rules=(_rest_order_rules,),
    hints=_REST_HINTS,
    reserved=("nonce", "otp"),
)

_CLOSE_SCHEMA = Schema(
    name="spot_rest.AddOrderBatch.close",
    title="AddOrderBatch",
    endpoint="/0/private/AddOrderBatch",
    encoding="json",
    fields=(
        Field(
            "ordertype",
            "enum",
            required=True,
            values=SPOT_CLOSE_TYPES,
            aliases=_only(_SPOT_TYPE_ALIASES, SPOT_CLOSE_TYPES),
        ),
        Field("price", "price", required=True),
        Field("price2", "price"),
    ),
)

_BATCH_ORDER_SCHEMA = Schema(
    name="spot_rest.AddOrderBatch.order",
    title="AddOrderBatch",
    endpoint="/0/private/AddOrderBatch",
    encoding="json",
    fields=(
        *_ORDER_FIELDS,
        Field("close", "object", schema=_CLOSE_SCHEMA, doc="{'ordertype', 'price', 'price2'}"),
        Field(
            "close_ordertype",
            "enum",
            wire="close.ordertype",
            values=SPOT_CLOSE_TYPES,
            aliases=_only(_SPOT_TYPE_ALIASES, SPOT_CLOSE_TYPES),
        ),
        Field("close_price", "price", wire="close.price"),
        Field("close_price2", "price", wire="close.price2"),
    ),
    type_field="ordertype",
    type_rules=_REST_TYPE_RULES,
    exclusive=(
        ("cl_ord_id", "userref"),
        ("close", "close_ordertype"),
        ("close", "close_price"),
        ("close", "close_price2"),
    ),
    rules=(_rest_order_rules,),
    hints={
        **_REST_HINTS,
        "pair": "the batch's pair is given once, as submit_batch_orders(pair=...)",
        "validate": "validate= is given once for the whole batch",
        "deadline": "deadline= is given once for the whole batch",
    },
)

SPOT_REST_ADD_ORDER_BATCH = Schema(
    name="spot_rest.AddOrderBatch",
    title="AddOrderBatch",
    endpoint="/0/private/AddOrderBatch",
    encoding="json",
    fields=(
        Field("orders", "objects", required=True, schema=_BATCH_ORDER_SCHEMA, min_items=2, max_items=15),
        Field("pair", "symbol", required=True, context="spot_rest"),
        Field("deadline", "rfc3339"),
        Field("validate", "bool"),
        Field("asset_class", "enum", values=ASSET_CLASS),
        Field("broker", "text", max_len=64),
    ),
    rules=(_unique_within_batch("orders", "cl_ord_id"),),
    hints={"symbol": "Spot REST calls it pair= (e.g. 'XBTUSD')"},
    reserved=("nonce", "otp"),
)

SPOT_REST_AMEND_ORDER = Schema(
    name="spot_rest.AmendOrder",
    title="AmendOrder",
    endpoint="/0/private/AmendOrder",
    encoding="form",
    fields=(
        Field("txid", "id"),
        Field("cl_ord_id", "cl_ord_id"),
        Field("order_qty", "amount"),
        Field("display_qty", "amount"),
        Field("limit_price", "price", prefixes="+-", doc="'+'/'-' offsets and '%' allowed (no '#')"),
        Field("trigger_price", "price", prefixes="+-"),
        Field("pair", "symbol", context="spot_rest", doc="needed for xStocks"),
        Field("post_only", "bool"),
        Field("deadline", "rfc3339"),
    ),
    exactly_one=(("txid", "cl_ord_id"),),
    at_least_one=(("order_qty", "display_qty", "limit_price", "trigger_price"),),
    rules=(_post_only_needs_limit_price, _amend_relative_zero),
    hints={
        "volume": "AmendOrder calls it order_qty=",
        "price": "AmendOrder calls it limit_price= (or trigger_price= for stop orders)",
        "price2": "AmendOrder calls the limit price limit_price=",
        "order_id": "Spot REST calls it txid=",
        "displayvol": "AmendOrder calls it display_qty=",
        "oflags": "AmendOrder takes post_only=True instead of oflags",
    },
    reserved=("nonce", "otp"),
)

SPOT_REST_EDIT_ORDER = Schema(
    name="spot_rest.EditOrder",
    title="EditOrder",
    endpoint="/0/private/EditOrder",
    encoding="form",
    fields=(
        Field("txid", "id", required=True, int_ok=True, doc="txid or userref"),
        Field("pair", "symbol", required=True, context="spot_rest"),
        Field("userref", "int", lo=INT32_MIN, hi=INT32_MAX),
        Field("volume", "amount"),
        Field("displayvol", "amount"),
        Field("price", "price"),
        Field("price2", "price"),
        Field("oflags", "flags", values=EDIT_OFLAGS, aliases=_OFLAG_ALIASES),
        Field("deadline", "rfc3339"),
        Field("cancel_response", "bool"),
        Field("validate", "bool"),
        Field("asset_class", "enum", values=ASSET_CLASS),
    ),
    at_least_one=(("volume", "displayvol", "price", "price2", "oflags", "userref"),),
    rules=(_edit_display,),
    hints={
        "cl_ord_id": "EditOrder identifies the order by txid= (or its userref); amend_order takes cl_ord_id=",
        "order_id": "Spot REST calls it txid=",
        "order_qty": "EditOrder calls it volume=",
        "limit_price": "EditOrder calls it price=",
        "post_only": "EditOrder takes oflags='post'",
    },
    reserved=("nonce", "otp"),
)

SPOT_REST_CANCEL_ORDER = Schema(
    name="spot_rest.CancelOrder",
    title="CancelOrder",
    endpoint="/0/private/CancelOrder",
    encoding="form",
    fields=(Field("txid", "id", int_ok=True, doc="txid or userref"), Field("cl_ord_id", "cl_ord_id")),
    exactly_one=(("txid", "cl_ord_id"),),
    hints={"order_id": "Spot REST calls it txid=", "userref": "CancelOrder takes a userref as txid="},
    reserved=("nonce", "otp"),
)

SPOT_REST_CANCEL_ALL = Schema(
    name="spot_rest.CancelAll",
    title="CancelAll",
    endpoint="/0/private/CancelAll",
    encoding="form",
    fields=(),
    reserved=("nonce", "otp"),
)

SPOT_REST_CANCEL_ALL_AFTER = Schema(
    name="spot_rest.CancelAllOrdersAfter",
    title="CancelAllOrdersAfter",
    endpoint="/0/private/CancelAllOrdersAfter",
    encoding="form",
    fields=(Field("timeout", "int", required=True, lo=0, hi=86399, doc="seconds, < 86400; 0 disarms"),),
    reserved=("nonce", "otp"),
)

SPOT_REST_CANCEL_ORDER_BATCH = Schema(
    name="spot_rest.CancelOrderBatch",
    title="CancelOrderBatch",
    endpoint="/0/private/CancelOrderBatch",
    encoding="json",
    fields=(
        Field("orders", "list", item=Field("orders", "id", int_ok=True), min_items=1, doc="txids or userrefs"),
        Field("cl_ord_ids", "list", item=Field("cl_ord_ids", "cl_ord_id"), min_items=1),
    ),
    at_least_one=(("orders", "cl_ord_ids"),),
    rules=(_total_ids(("orders", "cl_ord_ids"), 1, 50),),
    hints={"cl_ord_id": "CancelOrderBatch calls the list cl_ord_ids=", "txid": "CancelOrderBatch takes orders=[...]"},
    reserved=("nonce", "otp"),
)

# --- Spot WebSocket v2 ----------------------------------------------------------------------------


def _ws_price_sign(ctx: Context, price_name: str, type_name: str, *, otype: str | None = None) -> None:
    """A WS price with ``*_price_type`` ``static`` (the default) is an absolute price (> 0); ``pct`` and
    ``quote`` make it an offset (any sign; zero only as a trailing-stop-limit's limit offset)."""
    value = _dec(ctx.get(price_name))
    if value is None:
        return
    ptype = ctx.get(type_name, "static")
    if ptype == "static":
        if value <= 0:
            raise ctx.fail(
                price_name,
                f"{price_name}={value}: a price must be greater than zero (for an offset set {type_name}='pct' or "
                "'quote')",
            )
    elif value == 0 and otype != "trailing-stop-limit":
        raise ctx.fail(
            price_name, f"{price_name}=0 with {type_name}={ptype!r} is a zero offset; pass a non-zero offset"
        )


def _ws_triggers_rule(ctx: Context) -> None:
    """``triggers``: the price's sign follows ``price_type``; trailing orders need an offset."""
    owner = ctx.parent
    otype = owner.get("order_type") if owner is not None else None
    price = _dec(ctx.get("price"))
    ptype = ctx.get("price_type", "static")
    if otype in _TRAILING:
        if ptype == "static":
            raise ctx.fail(
                "price_type", f"a {otype} order trails by an offset: set price_type='pct' or 'quote' (not 'static')"
            )
        if price is not None and price <= 0:
            raise ctx.fail("price", f"price={price}: a trailing offset is positive (the direction follows the side)")
        return
    _ws_price_sign(ctx, "price", "price_type")


_WS_TRIGGERS = Schema(
    name="spot_ws.triggers",
    title="add_order",
    endpoint="add_order",
    encoding="ws",
    fields=(
        Field("reference", "enum", values=REST_TRIGGER, aliases=_m(mark="index")),
        Field("price", "amount", required=True, signed=True, allow_zero=True),
        Field("price_type", "enum", values=PRICE_TYPES, aliases=_m(percent="pct", absolute="static", relative="quote")),
    ),
    rules=(_ws_triggers_rule,),
    hints={"trigger_price": "the trigger's price is triggers={'price': ...}", "type": "the key is price_type="},
)


def _ws_conditional_rule(ctx: Context) -> None:
    ctype = ctx.get("order_type")
    trig = "trigger_price" if ctx.has("trigger_price") else "stop_price" if ctx.has("stop_price") else None
    has_limit = ctx.has("limit_price")
    if ctype == "limit":
        if not has_limit:
            raise ctx.fail("limit_price", "order_type='limit' needs limit_price=")
        if trig:
            raise ctx.fail(trig, f"{trig} is not used by order_type='limit'; leave it out")
    else:
        if trig is None:
            raise ctx.fail("trigger_price", f"order_type={ctype!r} needs trigger_price=")
        if ctype is not None and ctype.endswith("-limit") and not has_limit:
            raise ctx.fail("limit_price", f"order_type={ctype!r} needs limit_price= (its limit)")
        if ctype is not None and not ctype.endswith("-limit") and has_limit:
            raise ctx.fail("limit_price", f"limit_price is not used by order_type={ctype!r}; leave it out")
    _ws_price_sign(ctx, "limit_price", "limit_price_type", otype=ctype)
    if trig:
        _ws_price_sign(ctx, trig, "trigger_price_type")


_WS_CONDITIONAL = Schema(
    name="spot_ws.conditional",
    title="add_order",
    endpoint="add_order",
    encoding="ws",
    fields=(
        Field(
            "order_type",
            "enum",
            required=True,
            values=WS_CONDITIONAL_TYPES,
            aliases=_only(_SPOT_TYPE_ALIASES, WS_CONDITIONAL_TYPES),
        ),
        Field("limit_price", "amount", signed=True, allow_zero=True),
        Field("limit_price_type", "enum", values=PRICE_TYPES),
        Field("trigger_price", "amount", signed=True, allow_zero=True),
        Field("trigger_price_type", "enum", values=PRICE_TYPES),
        Field("stop_price", "amount", signed=True, allow_zero=True, doc="deprecated name of trigger_price"),
    ),
    exclusive=(("trigger_price", "stop_price"),),
    rules=(_ws_conditional_rule,),
)

_WS_TYPE_RULES = {
    "market": TypeRule(forbidden=("limit_price", "limit_price_type", "triggers", "display_qty")),
    "limit": TypeRule(required=("limit_price",), forbidden=("triggers", "display_qty")),
    "iceberg": TypeRule(required=("limit_price",), forbidden=("triggers",)),
    "stop-loss": TypeRule(required=("triggers",), forbidden=("limit_price", "limit_price_type", "display_qty")),
    "take-profit": TypeRule(required=("triggers",), forbidden=("limit_price", "limit_price_type", "display_qty")),
    "trailing-stop": TypeRule(required=("triggers",), forbidden=("limit_price", "limit_price_type", "display_qty")),
    "stop-loss-limit": TypeRule(required=("triggers", "limit_price"), forbidden=("display_qty",)),
    "take-profit-limit": TypeRule(required=("triggers", "limit_price"), forbidden=("display_qty",)),
    "trailing-stop-limit": TypeRule(required=("triggers", "limit_price"), forbidden=("display_qty",)),
    "settle-position": TypeRule(
        forbidden=("limit_price", "limit_price_type", "triggers", "display_qty", "cash_order_qty")
    ),
}


def _ws_order_rules(ctx: Context) -> None:
    """add_order (and each batch_add order): the rules beyond the per-type table."""
    otype = ctx.get("order_type")
    margin = ctx.get("margin") is True
    qty = _dec(ctx.get("order_qty"))
    if qty is not None and qty == 0 and not margin:
        raise ctx.fail("order_qty", "order_qty must be greater than zero (zero only closes a margin position)")
    if ctx.has("cash_order_qty") and otype != "market":
        raise ctx.fail("cash_order_qty", f"cash_order_qty is for market orders only, not order_type={otype!r}")
    ltype = ctx.get("limit_price_type", "static")
    if ltype != "static" and otype != "trailing-stop-limit":
        raise ctx.fail(
            "limit_price_type",
            f"limit_price_type={ltype!r} (an offset limit) is only available on trailing-stop-limit orders",
        )
    _ws_price_sign(ctx, "limit_price", "limit_price_type", otype=otype)
    if ctx.get("reduce_only") is True and not margin:
        raise ctx.fail(
            "reduce_only", "reduce_only=True needs a margin order (margin=True): only margin positions reduce"
        )
    if ctx.get("post_only") is True and otype not in _POSTABLE:
        raise ctx.fail("post_only", f"post_only=True needs order_type='limit' or 'iceberg', not {otype!r}")
    tif = ctx.get("time_in_force")
    if tif == "gtd" and not ctx.has("expire_time"):
        raise ctx.fail("expire_time", "time_in_force='gtd' needs expire_time= (RFC 3339)")
    if ctx.has("expire_time") and tif != "gtd":
        raise ctx.fail("expire_time", "expire_time applies to time_in_force='gtd' orders; set time_in_force='gtd'")
    if tif in ("ioc", "fok") and ctx.get("post_only") is True:
        raise ctx.fail("time_in_force", f"time_in_force={tif!r} never rests in the book, so it cannot be post-only")
    if tif == "fok" and otype not in _LIMIT_PRICED:
        raise ctx.fail("time_in_force", f"time_in_force='fok' is for limit-priced orders, not order_type={otype!r}")
    display = _dec(ctx.get("display_qty"))
    if display is not None and qty is not None and qty > 0:
        if display > qty:
            raise ctx.fail("display_qty", f"display_qty={display} is larger than order_qty={qty}")
        if display * 15 < qty:
            raise ctx.fail(
                "display_qty", f"display_qty={display} is below Kraken's minimum of 1/15 of order_qty ({qty})"
            )


_WS_HINTS = {
    "ordertype": "WebSocket v2 calls it order_type=",
    "type": "WebSocket v2 calls the side side= ('buy' or 'sell')",
    "pair": "WebSocket v2 calls it symbol= (e.g. 'BTC/USD')",
    "volume": "WebSocket v2 calls it order_qty=",
    "qty": "WebSocket v2 calls it order_qty=",
    "size": "WebSocket v2 calls it order_qty=",
    "price": "WebSocket v2 calls it limit_price= (triggers={'price': ...} for stop orders)",
    "price2": "WebSocket v2 calls the limit of stop-limit orders limit_price=",
    "trigger_price": "add_order takes triggers={'price': ..., 'price_type': ...}",
    "stop_price": "add_order takes triggers={'price': ...}",
    "trigger": "add_order takes triggers={'reference': 'index' | 'last', ...}",
    "timeinforce": "WebSocket v2 calls it time_in_force= ('gtc', 'gtd', 'ioc', 'fok')",
    "oflags": "WebSocket v2 has post_only=, fee_preference= and cash_order_qty= instead of oflags",
    "stptype": "WebSocket v2 calls it stp_type= ('cancel_newest', 'cancel_oldest', 'cancel_both')",
    "userref": "WebSocket v2 calls it order_userref=",
    "displayvol": "WebSocket v2 calls it display_qty=",
    "leverage": "WebSocket v2 has no leverage; margin=True funds at the pair's maximum leverage "
    "(or place it over REST with leverage=)",
    "starttm": "WebSocket v2 calls it effective_time= (RFC 3339)",
    "expiretm": "WebSocket v2 calls it expire_time= (RFC 3339, with time_in_force='gtd')",
    "close": "WebSocket v2 calls the conditional close conditional={...}",
    "close_ordertype": "WebSocket v2 takes conditional={'order_type': ...}",
    "cliOrdId": "Spot calls it cl_ord_id=",
    "client_order_id": "Spot calls it cl_ord_id=",
    "reduceOnly": "WebSocket v2 calls it reduce_only=",
    "postOnly": "WebSocket v2 calls it post_only=",
}

_WS_ORDER_FIELDS: tuple[Field, ...] = (
    Field(
        "order_type", "enum", required=True, values=SPOT_ORDER_TYPES, aliases=_SPOT_TYPE_ALIASES, note=_SPOT_TYPE_NOTE
    ),
    Field("side", "enum", required=True, values=SIDES, aliases=_SIDE_ALIASES, note=_SIDE_NOTE),
    Field("order_qty", "amount", allow_zero=True),
    Field("cash_order_qty", "amount", doc="market orders: quantity in quote currency"),
    Field("limit_price", "amount", signed=True, allow_zero=True, doc="> 0 unless limit_price_type is pct/quote"),
    Field("limit_price_type", "enum", values=PRICE_TYPES),
    Field("triggers", "object", schema=_WS_TRIGGERS),
    Field("time_in_force", "enum", values=WS_TIF),
    Field("margin", "bool"),
    Field("post_only", "bool"),
    Field("reduce_only", "bool"),
    Field("effective_time", "rfc3339"),
    Field("expire_time", "rfc3339"),
    Field("cl_ord_id", "cl_ord_id"),
    Field("order_userref", "int", lo=INT32_MIN, hi=INT32_MAX),
    Field("conditional", "object", schema=_WS_CONDITIONAL),
    Field("display_qty", "amount"),
    Field("fee_preference", "enum", values=FEE_PREFERENCE),
    Field("no_mpp", "bool", doc="deprecated by Kraken (18 Sep 2025)"),
    Field("stp_type", "enum", values=WS_STP),
    Field("sender_sub_id", "text", max_len=64),
)

SPOT_WS_ADD_ORDER = Schema(
    name="spot_ws.add_order",
    title="add_order",
    endpoint="add_order",
    encoding="ws",
    fields=(
        *_WS_ORDER_FIELDS[:2],
        Field("symbol", "symbol", required=True, context="spot_ws"),
        *_WS_ORDER_FIELDS[2:],
        Field("deadline", "rfc3339"),
        Field("validate", "bool"),
    ),
    type_field="order_type",
    type_rules=_WS_TYPE_RULES,
    exactly_one=(("order_qty", "cash_order_qty"),),
    exclusive=(("cl_ord_id", "order_userref"),),
    rules=(_ws_order_rules,),
    hints=_WS_HINTS,
    reserved=("token", "req_id", "method"),
)

_WS_BATCH_ORDER = Schema(
    name="spot_ws.batch_add.order",
    title="batch_add",
    endpoint="batch_add",
    encoding="ws",
    fields=_WS_ORDER_FIELDS,
    type_field="order_type",
    type_rules=_WS_TYPE_RULES,
    exactly_one=(("order_qty", "cash_order_qty"),),
    exclusive=(("cl_ord_id", "order_userref"),),
    rules=(_ws_order_rules,),
    hints={
        **_WS_HINTS,
        "symbol": "the batch's symbol is given once, as batch_add(symbol=...)",
        "validate": "validate= is given once for the whole batch",
        "deadline": "deadline= is given once for the whole batch",
    },
)

SPOT_WS_BATCH_ADD = Schema(
    name="spot_ws.batch_add",
    title="batch_add",
    endpoint="batch_add",
    encoding="ws",
    fields=(
        Field("symbol", "symbol", required=True, context="spot_ws"),
        Field("orders", "objects", required=True, schema=_WS_BATCH_ORDER, min_items=2, max_items=15),
        Field("deadline", "rfc3339"),
        Field("validate", "bool"),
    ),
    rules=(_unique_within_batch("orders", "cl_ord_id"),),
    hints={"pair": "WebSocket v2 calls it symbol= (e.g. 'BTC/USD')"},
    reserved=("token", "req_id", "method"),
)


def _ws_amend_rules(ctx: Context) -> None:
    _post_only_needs_limit_price(ctx)
    _ws_price_sign(ctx, "limit_price", "limit_price_type")
    _ws_price_sign(ctx, "trigger_price", "trigger_price_type")


SPOT_WS_AMEND_ORDER = Schema(
    name="spot_ws.amend_order",
    title="amend_order",
    endpoint="amend_order",
    encoding="ws",
    fields=(
        Field("order_id", "id"),
        Field("cl_ord_id", "cl_ord_id"),
        Field("order_qty", "amount"),
        Field("display_qty", "amount"),
        Field("limit_price", "amount", signed=True, allow_zero=True),
        Field("limit_price_type", "enum", values=PRICE_TYPES),
        Field("post_only", "bool"),
        Field("trigger_price", "amount", signed=True, allow_zero=True),
        Field("trigger_price_type", "enum", values=PRICE_TYPES),
        Field("deadline", "rfc3339"),
        Field("symbol", "symbol", context="spot_ws", doc="needed for xStocks"),
    ),
    exactly_one=(("order_id", "cl_ord_id"),),
    # The docs mark order_qty required, Kraken's own example amends only limit_price: one change suffices.
    at_least_one=(("order_qty", "display_qty", "limit_price", "trigger_price"),),
    rules=(_ws_amend_rules,),
    hints={
        "txid": "WebSocket v2 calls it order_id=",
        "volume": "amend_order calls it order_qty=",
        "price": "amend_order calls it limit_price= (or trigger_price=)",
        "triggers": "amend_order takes trigger_price= and trigger_price_type= (not triggers)",
    },
    reserved=("token", "req_id", "method"),
)


def _ws_edit_rules(ctx: Context) -> None:
    limit = _dec(ctx.get("limit_price"))
    if limit is not None and limit <= 0:
        raise ctx.fail("limit_price", f"limit_price={limit}: a price must be greater than zero")
    display, qty = _dec(ctx.get("display_qty")), _dec(ctx.get("order_qty"))
    if display is not None and qty is not None and display > qty:
        raise ctx.fail("display_qty", f"display_qty={display} is larger than order_qty={qty}")
    if ctx.get("reduce_only") is True:
        pass  # the edited order keeps its own margin setting; Kraken judges it


SPOT_WS_EDIT_ORDER = Schema(
    name="spot_ws.edit_order",
    title="edit_order",
    endpoint="edit_order",
    encoding="ws",
    fields=(
        Field("order_id", "id", required=True),
        Field("symbol", "symbol", required=True, context="spot_ws"),
        Field("order_qty", "amount"),
        Field("limit_price", "amount", signed=True, allow_zero=True),
        Field("display_qty", "amount"),
        Field("triggers", "object", schema=_WS_TRIGGERS),
        Field("post_only", "bool"),
        Field("reduce_only", "bool"),
        Field("fee_preference", "enum", values=FEE_PREFERENCE),
        Field("no_mpp", "bool"),
        Field("order_userref", "int", lo=INT32_MIN, hi=INT32_MAX),
        Field("deadline", "rfc3339"),
        Field("validate", "bool"),
    ),
    at_least_one=(
        (
            "order_qty",
            "limit_price",
            "display_qty",
            "triggers",
            "post_only",
            "reduce_only",
            "fee_preference",
            "order_userref",
        ),
    ),
    rules=(_ws_edit_rules,),
    hints={
        "cl_ord_id": "edit_order does not take cl_ord_id (Kraken: not supported); use amend_order(cl_ord_id=...)",
        "txid": "WebSocket v2 calls it order_id=",
        "volume": "edit_order calls it order_qty=",
        "price": "edit_order calls it limit_price=",
    },
    reserved=("token", "req_id", "method"),
)

SPOT_WS_CANCEL_ORDER = Schema(
    name="spot_ws.cancel_order",
    title="cancel_order",
    endpoint="cancel_order",
    encoding="ws",
    fields=(
        Field("order_id", "list", item=Field("order_id", "id"), min_items=1),
        Field("cl_ord_id", "list", item=Field("cl_ord_id", "cl_ord_id"), min_items=1),
        Field("order_userref", "list", item=Field("order_userref", "int", lo=INT32_MIN, hi=INT32_MAX), min_items=1),
    ),
    # "Cannot be combined with cl_ord_id or order_userref in the same request" (each of the three)
    exactly_one=(("order_id", "cl_ord_id", "order_userref"),),
    hints={"txid": "WebSocket v2 calls it order_id=", "orders": "cancel_order takes order_id=[...]"},
    reserved=("token", "req_id", "method"),
)

SPOT_WS_CANCEL_ALL = Schema(
    name="spot_ws.cancel_all",
    title="cancel_all",
    endpoint="cancel_all",
    encoding="ws",
    fields=(),
    reserved=("token", "req_id", "method"),
)


def _batch_cancel_strings(ctx: Context) -> None:
    """``orders`` is ``string[]`` on the wire: an int user reference is sent as its text."""
    orders = ctx.get("orders")
    if orders:
        ctx.values["orders"] = [str(o) for o in orders]


SPOT_WS_BATCH_CANCEL = Schema(
    name="spot_ws.batch_cancel",
    title="batch_cancel",
    endpoint="batch_cancel",
    encoding="ws",
    fields=(
        Field("orders", "list", item=Field("orders", "id", int_ok=True), doc="order ids or order_userrefs"),
        Field("cl_ord_id", "list", item=Field("cl_ord_id", "cl_ord_id")),
    ),
    at_least_one=(("orders", "cl_ord_id"),),
    rules=(_total_ids(("orders", "cl_ord_id"), 2, 50), _batch_cancel_strings),
    hints={"order_id": "batch_cancel takes orders=[...] (ids or order_userrefs)"},
    reserved=("token", "req_id", "method"),
)

SPOT_WS_CANCEL_ALL_AFTER = Schema(
    name="spot_ws.cancel_all_orders_after",
    title="cancel_all_orders_after",
    endpoint="cancel_all_orders_after",
    encoding="ws",
    fields=(Field("timeout", "int", required=True, lo=0, hi=86399),),
    reserved=("token", "req_id", "method"),
)

# --- Derivatives REST ------------------------------------------------------------------------------

_TRAIL = ("trailingStopMaxDeviation", "trailingStopDeviationUnit")
_OFFSET = ("limitPriceOffsetValue", "limitPriceOffsetUnit")

_DERIV_TYPE_RULES = {
    **{
        t: TypeRule(required=("limitPrice",), forbidden=("stopPrice", "triggerSignal", *_TRAIL, *_OFFSET))
        for t in ("lmt", "post", "ioc", "fok")
    },
    "mkt": TypeRule(forbidden=("limitPrice", "stopPrice", "triggerSignal", *_TRAIL, *_OFFSET)),
    "stp": TypeRule(required=("stopPrice",), forbidden=_TRAIL),
    "take_profit": TypeRule(required=("stopPrice",), forbidden=_TRAIL),
    "trailing_stop": TypeRule(required=_TRAIL, forbidden=("limitPrice", "stopPrice")),
}


def _deriv_trailing_range(ctx: Context) -> None:
    dev = _dec(ctx.get("trailingStopMaxDeviation"))
    if dev is not None and ctx.get("trailingStopDeviationUnit") == "PERCENT" and not Decimal("0.1") <= dev <= 50:
        raise ctx.fail(
            "trailingStopMaxDeviation",
            f"trailingStopMaxDeviation={dev} is outside Kraken's range for PERCENT (0.1 to 50)",
        )


_DERIV_HINTS = {
    "order_type": "Derivatives call it orderType= ('lmt', 'mkt', ...)",
    "ordertype": "Derivatives call it orderType= ('lmt', 'mkt', ...)",
    "type": "Derivatives call the side side= and the order type orderType=",
    "pair": "Derivatives call it symbol= (e.g. 'PF_XBTUSD')",
    "volume": "Derivatives call it size=",
    "order_qty": "Derivatives call it size=",
    "qty": "Derivatives call it size=",
    "quantity": "Derivatives call it size=",
    "price": "Derivatives call it limitPrice= (stopPrice= for the trigger)",
    "limit_price": "Derivatives call it limitPrice=",
    "stop_price": "Derivatives call it stopPrice=",
    "trigger_price": "Derivatives call it stopPrice=",
    "price2": "Derivatives call the limit of a stop order limitPrice=",
    "cl_ord_id": "Derivatives call it cliOrdId=",
    "client_order_id": "Derivatives call it cliOrdId=",
    "reduce_only": "Derivatives call it reduceOnly=",
    "post_only": "on Derivatives a post-only order is orderType='post'",
    "time_in_force": "on Derivatives time in force is the order type: orderType='ioc' or 'fok'",
    "timeinforce": "on Derivatives time in force is the order type: orderType='ioc' or 'fok'",
    "trigger": "Derivatives call it triggerSignal= ('mark', 'index', 'last')",
    "trigger_signal": "Derivatives call it triggerSignal=",
    "leverage": "Derivatives set leverage per market (set_leverage_preferences), not per order",
    "oflags": "Derivatives have no oflags: post-only is orderType='post', reduce-only is reduceOnly=True",
}

_DERIV_SEND_COMMON: tuple[Field, ...] = (
    Field(
        "orderType", "enum", required=True, values=DERIV_ORDER_TYPES, aliases=_DERIV_TYPE_ALIASES, note=_DERIV_TYPE_NOTE
    ),
    Field("symbol", "symbol", required=True, context="derivatives"),
    Field("side", "enum", required=True, values=SIDES, aliases=_SIDE_ALIASES, note=_SIDE_NOTE),
    Field("size", "amount", required=True, doc="contracts"),
    Field("limitPrice", "amount"),
    Field("stopPrice", "amount"),
    Field("cliOrdId", "cli_ord_id"),
    Field("triggerSignal", "enum", values=DERIV_TRIGGER, aliases=_m(mark_price="mark", index_price="index")),
    Field("reduceOnly", "bool"),
    Field("trailingStopMaxDeviation", "amount"),
    Field("trailingStopDeviationUnit", "enum", values=DERIV_DEVIATION_UNIT, aliases=_DEV_UNIT_ALIASES),
)

DERIV_SEND_ORDER = Schema(
    name="derivatives.sendorder",
    title="sendorder",
    endpoint="/derivatives/api/v3/sendorder",
    encoding="form",
    fields=(
        *_DERIV_SEND_COMMON,
        Field("limitPriceOffsetValue", "amount", signed=True, allow_zero=True, doc="may be negative"),
        Field("limitPriceOffsetUnit", "enum", values=("QUOTE_CURRENCY", "PERCENT"), aliases=_DEV_UNIT_ALIASES),
        Field("broker", "text", max_len=100),
        Field("processBefore", "iso_time"),
    ),
    type_field="orderType",
    type_rules=_DERIV_TYPE_RULES,
    together=(_OFFSET,),
    exclusive=(("limitPrice", "limitPriceOffsetValue"),),
    rules=(_deriv_trailing_range,),
    hints=_DERIV_HINTS,
)


def _default_order_tag(ctx: Context) -> None:
    """``order_tag`` maps each instruction to its result; it defaults to the instruction's index."""
    if not ctx.has("order_tag"):
        ctx.values["order_tag"] = str(ctx.values.get("__index__", 0))


_DERIV_BATCH_SEND = Schema(
    name="derivatives.batchorder.send",
    title="batchorder",
    endpoint="/derivatives/api/v3/batchorder",
    encoding="ws",
    fields=(
        Field("order", "enum", required=True, values=("send",)),
        Field("order_tag", "text", max_len=100, doc="defaults to the instruction's index"),
        *_DERIV_SEND_COMMON,
    ),
    type_field="orderType",
    type_rules={
        t: TypeRule(r.required, tuple(n for n in r.forbidden if n not in _OFFSET)) for t, r in _DERIV_TYPE_RULES.items()
    },
    rules=(_deriv_trailing_range, _default_order_tag),
    hints={
        **_DERIV_HINTS,
        "limitPriceOffsetValue": "not documented for batchorder; place the order with sendorder",
        "processBefore": "processBefore= is given once for the whole batch",
    },
)

_DERIV_EDIT_FIELDS: tuple[Field, ...] = (
    Field("size", "amount"),
    Field("limitPrice", "amount"),
    Field("stopPrice", "amount"),
    Field("trailingStopMaxDeviation", "amount"),
    Field("trailingStopDeviationUnit", "enum", values=DERIV_DEVIATION_UNIT, aliases=_DEV_UNIT_ALIASES),
    Field("qtyMode", "enum", values=DERIV_QTY_MODE),
)

_DERIV_BATCH_EDIT = Schema(
    name="derivatives.batchorder.edit",
    title="batchorder",
    endpoint="/derivatives/api/v3/batchorder",
    encoding="ws",
    fields=(
        Field("order", "enum", required=True, values=("edit",)),
        Field("order_id", "id", max_len=100),
        Field("cliOrdId", "cli_ord_id"),
        *_DERIV_EDIT_FIELDS,
    ),
    at_least_one=(("order_id", "cliOrdId"), ("size", "limitPrice", "stopPrice", "trailingStopMaxDeviation")),
    rules=(_deriv_trailing_range,),
    hints={"orderId": "batchorder instructions call it order_id="},
)

_DERIV_BATCH_CANCEL = Schema(
    name="derivatives.batchorder.cancel",
    title="batchorder",
    endpoint="/derivatives/api/v3/batchorder",
    encoding="ws",
    fields=(
        Field("order", "enum", required=True, values=("cancel",)),
        Field("order_id", "id", max_len=100),
        Field("cliOrdId", "cli_ord_id"),
    ),
    exactly_one=(("order_id", "cliOrdId"),),
    hints={"orderId": "batchorder instructions call it order_id="},
)


def _batch_cli_ids_unique(ctx: Context) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(ctx.get("batchOrder") or ()):
        if item.get("order") != "send":
            continue
        for key in ("cliOrdId", "order_tag"):
            value = item.get(key)
            if value is None:
                continue
            mark = f"{key}:{value}"
            if mark in seen:
                raise ctx.fail(
                    f"batchOrder[{i}].{key}",
                    f"batchOrder[{i}].{key}={value!r} repeats batchOrder[{seen[mark]}].{key}; each must be unique",
                )
            seen[mark] = i


DERIV_BATCH_ORDER = Schema(
    name="derivatives.batchorder",
    title="batchorder",
    endpoint="/derivatives/api/v3/batchorder",
    encoding="ws",
    fields=(
        Field(
            "batchOrder",
            "objects",
            required=True,
            variants=MappingProxyType(
                {"send": _DERIV_BATCH_SEND, "edit": _DERIV_BATCH_EDIT, "cancel": _DERIV_BATCH_CANCEL}
            ),
            discriminator="order",
            min_items=1,
            # No documented maximum; a batch costs 9 + n of the 500 units per 10 s, so more than 491
            # instructions could never be sent at all.
            max_items=491,
        ),
        Field("processBefore", "iso_time"),
    ),
    rules=(_batch_cli_ids_unique,),
    hints={"orders": "batchorder calls the list batchOrder=", "instructions": "batchorder calls the list batchOrder="},
)

DERIV_EDIT_ORDER = Schema(
    name="derivatives.editorder",
    title="editorder",
    endpoint="/derivatives/api/v3/editorder",
    encoding="form",
    fields=(
        Field("orderId", "id", max_len=100),
        Field("cliOrdId", "cli_ord_id"),
        *_DERIV_EDIT_FIELDS,
        Field("processBefore", "iso_time"),
    ),
    at_least_one=(("orderId", "cliOrdId"), ("size", "limitPrice", "stopPrice", "trailingStopMaxDeviation")),
    rules=(_deriv_trailing_range,),
    hints={
        "order_id": "editorder calls it orderId= (cancelorder and batchorder say order_id)",
        "cl_ord_id": "Derivatives call it cliOrdId=",
        "volume": "Derivatives call it size=",
        "price": "Derivatives call it limitPrice=",
    },
)

DERIV_CANCEL_ORDER = Schema(
    name="derivatives.cancelorder",
    title="cancelorder",
    endpoint="/derivatives/api/v3/cancelorder",
    encoding="form",
    fields=(Field("order_id", "id", max_len=100), Field("cliOrdId", "cli_ord_id"), Field("processBefore", "iso_time")),
    exactly_one=(("order_id", "cliOrdId"),),
    hints={"orderId": "cancelorder calls it order_id=", "cl_ord_id": "Derivatives call it cliOrdId="},
)

DERIV_CANCEL_ALL = Schema(
    name="derivatives.cancelallorders",
    title="cancelallorders",
    endpoint="/derivatives/api/v3/cancelallorders",
    encoding="form",
    fields=(Field("symbol", "symbol", context="derivatives"),),
    hints={"pair": "Derivatives call it symbol= (e.g. 'PF_XBTUSD')"},
)

DERIV_CANCEL_ALL_AFTER = Schema(
    name="derivatives.cancelallordersafter",
    title="cancelallordersafter",
    endpoint="/derivatives/api/v3/cancelallordersafter",
    encoding="form",
    fields=(Field("timeout", "int", lo=0, hi=2**32 - 1, doc="seconds (uint32); 0 disarms"),),
)

#: Every operation schema, by name (``<api>.<operation>``).
SCHEMAS: Mapping[str, Schema] = MappingProxyType(
    {
        s.name: s
        for s in (
            SPOT_REST_ADD_ORDER,
            SPOT_REST_ADD_ORDER_BATCH,
            SPOT_REST_AMEND_ORDER,
            SPOT_REST_EDIT_ORDER,
            SPOT_REST_CANCEL_ORDER,
            SPOT_REST_CANCEL_ALL,
            SPOT_REST_CANCEL_ALL_AFTER,
            SPOT_REST_CANCEL_ORDER_BATCH,
            SPOT_WS_ADD_ORDER,
            SPOT_WS_BATCH_ADD,
            SPOT_WS_AMEND_ORDER,
            SPOT_WS_EDIT_ORDER,
            SPOT_WS_CANCEL_ORDER,
            SPOT_WS_CANCEL_ALL,
            SPOT_WS_BATCH_CANCEL,
            SPOT_WS_CANCEL_ALL_AFTER,
            DERIV_SEND_ORDER,
            DERIV_BATCH_ORDER,
            DERIV_EDIT_ORDER,
            DERIV_CANCEL_ORDER,
            DERIV_CANCEL_ALL,
            DERIV_CANCEL_ALL_AFTER,
        )
    }
)

#: The client method names of those operations (``SpotClient.submit_order`` -> ``spot_rest.AddOrder``...).
SCHEMA_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "spot_rest.submit_order": "spot_rest.AddOrder",
        "spot_rest.submit_batch_orders": "spot_rest.AddOrderBatch",
        "spot_rest.amend_order": "spot_rest.AmendOrder",
        "spot_rest.edit_order": "spot_rest.EditOrder",
        "spot_rest.cancel_order": "spot_rest.CancelOrder",
        "spot_rest.cancel_all_orders": "spot_rest.CancelAll",
        "spot_rest.cancel_all_orders_after": "spot_rest.CancelAllOrdersAfter",
        "spot_rest.cancel_batch_orders": "spot_rest.CancelOrderBatch",
        "spot_ws.submit_spot_order": "spot_ws.add_order",
        "spot_ws.batch_submit_spot_orders": "spot_ws.batch_add",
        "spot_ws.amend_spot_order": "spot_ws.amend_order",
        "spot_ws.edit_spot_order": "spot_ws.edit_order",
        "spot_ws.cancel_spot_order": "spot_ws.cancel_order",
        "spot_ws.cancel_all_spot_orders": "spot_ws.cancel_all",
        "spot_ws.batch_cancel_spot_orders": "spot_ws.batch_cancel",
        "spot_ws.cancel_all_spot_orders_after": "spot_ws.cancel_all_orders_after",
        "derivatives.submit_order": "derivatives.sendorder",
        "derivatives.batch_order_management": "derivatives.batchorder",
        "derivatives.edit_order": "derivatives.editorder",
        "derivatives.cancel_order": "derivatives.cancelorder",
        "derivatives.cancel_all_orders": "derivatives.cancelallorders",
        "derivatives.cancel_all_orders_after": "derivatives.cancelallordersafter",
    }
)
