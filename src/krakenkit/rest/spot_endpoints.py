"""The Spot REST endpoint table: one row per operation, as data.

Drives the generated methods (``_spot_methods.py``, see ``_codegen.py``), parameter validation,
signing choice (``auth``, ``body``), rate-limit cost and retry safety (``kind``).
Python method names follow ``method-names.tsv`` of the reference SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import spot_types as t
from ._base import Endpoint, OperationKind, Param

__all__ = ["SPOT_ENDPOINTS", "SPOT_ENDPOINTS_BY_PATH"]

R = OperationKind.READ
C = OperationKind.CANCEL
O = OperationKind.ORDER_ENTRY  # noqa: E741
A = OperationKind.AMEND
W = OperationKind.WRITE

_REBASE = Param("rebase_multiplier", doc="'rebased' (default) or 'base' for xstocks rebased assets")
_ASSET_CLASS = Param("asset_class", doc="'tokenized_asset' for xstocks pairs")
_ACLASS = Param("aclass", doc="asset class: 'currency' (default) or 'tokenized_asset'")
_BROKER = Param("broker", doc="broker id (qualified API partners only)")
_DEADLINE = Param(
    "deadline",
    "deadline",
    doc="RFC 3339 time (or an aware datetime) after which Kraken's engine rejects the request, now + 2..60 s "
    "on Kraken's clock (default: the client's order_deadline from now)",
    py_type="str | datetime",
)


def _pub(
    name: str, py: str, params: tuple[Param, ...] = (), response: type[t.KrakenResult] = t.RawResult, doc: str = ""
) -> Endpoint:
    return Endpoint(
        name,
        "GET",
        f"/0/public/{name}",
        False,
        py,
        R,
        1,
        "query",
        params,
        response.parse,  # type: ignore[attr-defined]
        response.__name__,
        doc,
    )


def _priv(
    name: str,
    py: str,
    params: tuple[Param, ...] = (),
    response: type[t.KrakenResult] = t.RawResult,
    kind: OperationKind = R,
    cost: int = 1,
    body: str = "form",
    doc: str = "",
    schema: str = "",
) -> Endpoint:
    return Endpoint(
        name,
        "POST",
        f"/0/private/{name}",
        True,
        py,
        kind,
        cost,
        body,  # type: ignore[arg-type]
        params,
        response.parse,  # type: ignore[attr-defined]
        response.__name__,
        doc,
        schema,
    )


_ORDER_FLAGS = (
    Param("oflags", "str_list", doc="comma-separated or list: post, fcib, fciq, nompp, viqc"),
    Param("timeinforce", doc="GTC (default), IOC, GTD, FOK"),
    Param("starttm", "number", doc="scheduled start: 0 now, +<n> seconds from now, or unix time"),
    Param("expiretm", "number", doc="expiration: 0 none, +<n> seconds from now, or unix time (GTD)"),
)

_ENDPOINTS: tuple[Endpoint, ...] = (
    # --- market data ---------------------------------------------------------------------------
    _pub("Time", "get_server_time", (), t.ServerTime, "Kraken's server time."),
    _pub(
        "SystemStatus",
        "get_system_status",
        (),
        t.SystemStatus,
        "Exchange status: online, maintenance, cancel_only or post_only.",
    ),
    _pub(
        "Assets",
        "get_asset_info",
        (Param("asset", "str_list", doc="assets to list (default all)"), _ACLASS),
        t.Assets,
        "Assets: decimals, alternative names, status.",
    ),
    _pub(
        "AssetPairs",
        "get_asset_pairs",
        (
            Param("pair", "pair", doc="pairs to list (default all), e.g. 'XBTUSD,ETHUSD'"),
            Param("aclass_base", doc="'currency' or 'tokenized_asset'"),
            Param("info", doc="info (default), leverage, fees or margin"),
            Param("country_code", doc="ISO 3166-1 alpha-2 code: only pairs tradable there"),
        ),
        t.AssetPairs,
        "Tradable pairs: precision, order minimum, tick size, fees.",
    ),
    _pub(
        "Ticker",
        "get_ticker",
        (Param("pair", "pair", doc="pairs (default all), e.g. 'XBTUSD'"), _ASSET_CLASS),
        t.Ticker,
        "Ticker: best ask/bid, last trade, volume, VWAP, low/high, open.",
    ),
    _pub(
        "OHLC",
        "get_candles",
        (
            Param("pair", "pair", True, doc="the pair, e.g. 'XBTUSD'"),
            Param("interval", "int", doc="minutes: 1, 5, 15, 30, 60, 240, 1440, 10080, 21600"),
            Param("since", "number", doc="return candles after this cursor (the previous 'last')"),
            _ASSET_CLASS,
        ),
        t.OHLC,
        "OHLC candles (up to 720) of one pair.",
    ),
    _pub(
        "Depth",
        "get_order_book",
        (
            Param("pair", "pair", True, doc="the pair, e.g. 'XBTUSD'"),
            Param("count", "int", doc="levels per side, 1..500 (default 100)"),
            _ASSET_CLASS,
        ),
        t.Depth,
        "Order book (L2) snapshot of one pair.",
    ),
    _pub(
        "Trades",
        "get_recent_trades",
        (
            Param("pair", "pair", True, doc="the pair, e.g. 'XBTUSD'"),
            Param("since", "number", doc="return trades after this cursor (the previous 'last')"),
            Param("count", "int", doc="number of trades, 1..1000"),
            _ASSET_CLASS,
        ),
        t.RecentTrades,
        "Recent public trades of one pair.",
    ),
    _pub(
        "Spread",
        "get_recent_spreads",
        (
            Param("pair", "pair", True, doc="the pair, e.g. 'XBTUSD'"),
            Param("since", "number", doc="return spreads after this cursor"),
            _ASSET_CLASS,
        ),
        t.Spreads,
        "Recent best bid/ask spreads of one pair.",
    ),
    _pub(
        "PreTrade",
        "get_pre_trade_data",
        (Param("symbol", doc="e.g. 'BTC/USD'"),),
        t.RawResult,
        "Pre-trade transparency data (MiCA).",
    ),
    _pub(
        "PostTrade",
        "get_post_trade_data",
        (
            Param("symbol", doc="e.g. 'BTC/USD'"),
            Param("from_ts", "number"),
            Param("to_ts", "number"),
            Param("count", "int"),
        ),
        t.RawResult,
        "Post-trade transparency data (MiCA).",
    ),
    _pub("MaintenanceSchedule", "get_maintenance_schedule", (), t.RawResult, "Scheduled maintenance windows."),
    _pub(
        "GroupedBook",
        "get_grouped_book",
        (Param("pair", "pair", True), Param("depth", "int"), Param("grouping", "int")),
        t.RawResult,
        "Order book aggregated into price groups.",
    ),
    # --- account data --------------------------------------------------------------------------
    _priv("Balance", "get_account_balance", (_REBASE,), t.Balance, doc="Balances per asset (net of credit)."),
    _priv(
        "BalanceEx",
        "get_extended_balance",
        (_REBASE,),
        t.BalanceEx,
        doc="Balances per asset with amounts held for open orders and credit.",
    ),
    _priv("CreditLines", "get_credit_lines", (_REBASE,), t.RawResult, doc="Credit lines (VIP accounts)."),
    _priv(
        "TradeBalance",
        "get_trade_balance",
        (Param("asset", doc="base asset (default ZUSD)"), _REBASE),
        t.TradeBalance,
        doc="Margin trade balance summary.",
    ),
    _priv(
        "OpenOrders",
        "get_open_orders",
        (
            Param("trades", "bool", doc="include trade ids"),
            Param("userref", "int", doc="filter by userref"),
            Param("cl_ord_id", "cl_ord_id", doc="filter by client order id"),
            _REBASE,
        ),
        t.OpenOrders,
        doc="Open orders.",
    ),
    _priv(
        "ClosedOrders",
        "get_closed_orders",
        (
            Param("trades", "bool"),
            Param("userref", "int"),
            Param("cl_ord_id", "cl_ord_id"),
            Param("start", "number", doc="unix time or order txid (exclusive)"),
            Param("end", "number", doc="unix time or order txid (inclusive)"),
            Param("ofs", "int", doc="result offset for pagination"),
            Param("closetime", doc="open, close or both (default)"),
            Param("consolidate_taker", "bool"),
            Param("without_count", "bool"),
            _REBASE,
        ),
        t.ClosedOrders,
        doc="Closed orders (50 per page).",
    ),
    _priv(
        "QueryOrders",
        "get_orders",
        (
            Param("txid", "str_list", True, doc="up to 50 txids, list or comma-separated"),
            Param("trades", "bool"),
            Param("userref", "int"),
            Param("consolidate_taker", "bool"),
            _REBASE,
        ),
        t.Orders,
        doc="Orders by txid.",
    ),
    _priv(
        "OrderAmends",
        "get_order_amends",
        (Param("order_id", required=True), _REBASE),
        t.RawResult,
        doc="Amend history of one order.",
    ),
    _priv(
        "TradesHistory",
        "get_trades_history",
        (
            Param("type", doc="all (default), any position, closed position, closing position, no position"),
            Param("trades", "bool"),
            Param("start", "number"),
            Param("end", "number"),
            Param("ofs", "int"),
            Param("consolidate_taker", "bool"),
            Param("ledgers", "bool"),
            _REBASE,
        ),
        t.TradesHistory,
        cost=2,
        doc="Own trades (50 per page).",
    ),
    _priv(
        "QueryTrades",
        "get_trades",
        (Param("txid", "str_list", True, doc="up to 20 trade txids"), Param("trades", "bool"), _REBASE),
        t.Trades,
        cost=2,
        doc="Own trades by txid.",
    ),
    _priv(
        "OpenPositions",
        "get_open_positions",
        (Param("txid", "str_list"), Param("docalcs", "bool"), Param("consolidation"), _REBASE),
        t.RawResult,
        doc="Open margin positions.",
    ),
    _priv(
        "Ledgers",
        "get_ledgers_info",
        (
            Param("asset", "str_list"),
            _ACLASS,
            Param("type", doc="all (default), trade, deposit, ..."),
            Param("start", "number"),
            Param("end", "number"),
            Param("ofs", "int"),
            Param("without_count", "bool"),
            _REBASE,
        ),
        t.LedgersInfo,
        cost=2,
        doc="Ledger entries (50 per page).",
    ),
    _priv(
        "QueryLedgers",
        "get_ledgers",
        (Param("id", "str_list", True, doc="up to 20 ledger ids"), Param("trades", "bool"), _REBASE),
        t.Ledgers,
        cost=2,
        doc="Ledger entries by id.",
    ),
    _priv(
        "TradeVolume",
        "get_trading_volume",
        (Param("pair", "pair"), _REBASE),
        t.TradeVolume,
        doc="30-day volume and fee tiers.",
    ),
    _priv(
        "AddExport",
        "request_ledgers_export",
        (
            Param("report", required=True, doc="trades or ledgers"),
            Param("format", doc="CSV (default) or TSV"),
            Param("description", required=True),
            Param("fields", doc="comma-separated fields (default all)"),
            Param("starttm", "number"),
            Param("endtm", "number"),
        ),
        t.RawResult,
        kind=W,
        doc="Request a trades or ledgers export report.",
    ),
    _priv(
        "ExportStatus",
        "get_ledgers_export_status",
        (Param("report", required=True),),
        t.RawResult,
        doc="Status of export reports.",
    ),
    _priv(
        "RetrieveExport",
        "get_ledgers_export",
        (Param("id", required=True),),
        t.RawResult,
        doc="Retrieve an export report (zip, returned base64 in raw).",
    ),
    _priv(
        "RemoveExport",
        "delete_ledgers_export",
        (Param("id", required=True), Param("type", required=True, doc="cancel or delete")),
        t.RawResult,
        kind=C,
        doc="Cancel or delete an export report.",
    ),
    # --- trading -------------------------------------------------------------------------------
    _priv(
        "AddOrder",
        "submit_order",
        (
            Param(
                "ordertype",
                required=True,
                doc="market, limit, iceberg, stop-loss, take-profit, stop-loss-limit, take-profit-limit, "
                "trailing-stop, trailing-stop-limit, settle-position",
            ),
            Param("type", required=True, doc="buy or sell"),
            Param("volume", "money", True, doc="order quantity in base asset"),
            Param("pair", "pair", True, doc="Kraken pair name, e.g. 'XBTUSD'"),
            Param("price", "price", doc="limit price / trigger price; '+', '-', '#' offsets and '%' allowed"),
            Param("price2", "price", doc="secondary price (limit price of stop-loss-limit, ...)"),
            Param(
                "cl_ord_id",
                "cl_ord_id",
                doc="client order id (UUID, 32 hex or <= 18 ASCII); enables safe recovery after a lost answer",
            ),
            Param("userref", "int", doc="int32 user reference (not with cl_ord_id)"),
            Param("displayvol", "money", doc="visible quantity of an iceberg order"),
            Param("trigger", doc="index or last (default)"),
            Param("leverage", doc="margin leverage, e.g. '2:1' or '2'"),
            Param("reduce_only", "bool"),
            Param("stptype", doc="self trade prevention: cancel-newest (default), cancel-oldest, cancel-both"),
            *_ORDER_FLAGS,
            Param("close_ordertype", wire="close[ordertype]", doc="conditional close order type"),
            Param("close_price", "price", wire="close[price]"),
            Param("close_price2", "price", wire="close[price2]"),
            _DEADLINE,
            Param("validate", "bool", doc="validate only, do not place"),
            _ASSET_CLASS,
            _BROKER,
        ),
        t.AddOrderResult,
        kind=O,
        schema="spot_rest.AddOrder",
        cost=0,
        doc="Place an order (sent with Kraken's deadline). With cl_ord_id, a lost answer (timeout, 5xx, "
        "EService:Unavailable, an unreadable answer) is resolved by looking the order up, and it is only sent "
        "again once its deadline has passed and the order is proven absent.",
    ),
    _priv(
        "AmendOrder",
        "amend_order",
        (
            Param("txid", doc="Kraken order id (or use cl_ord_id)"),
            Param("cl_ord_id", "cl_ord_id"),
            Param("order_qty", "money"),
            Param("display_qty", "money"),
            Param("limit_price", "price"),
            Param("trigger_price", "price"),
            Param("pair", "pair"),
            Param("post_only", "bool"),
            _DEADLINE,
        ),
        t.AmendOrderResult,
        kind=A,
        schema="spot_rest.AmendOrder",
        cost=0,
        doc="Amend an order in place (keeps queue priority where possible). Not resent on unknown outcome.",
    ),
    _priv(
        "EditOrder",
        "edit_order",
        (
            Param("txid", required=True),
            Param("pair", "pair", True),
            Param("userref", "int"),
            Param("volume", "money"),
            Param("displayvol", "money"),
            Param("price", "price"),
            Param("price2", "price"),
            Param("oflags", "str_list"),
            _DEADLINE,
            Param("cancel_response", "bool"),
            Param("validate", "bool"),
            _ASSET_CLASS,
        ),
        t.EditOrderResult,
        kind=A,
        schema="spot_rest.EditOrder",
        cost=0,
        doc="Replace an order (cancel + new txid). Prefer amend_order. Not resent on unknown outcome.",
    ),
    _priv(
        "CancelOrder",
        "cancel_order",
        (Param("txid", doc="order txid or userref (or use cl_ord_id)"), Param("cl_ord_id", "cl_ord_id")),
        t.CancelOrderResult,
        kind=C,
        schema="spot_rest.CancelOrder",
        cost=0,
        doc="Cancel one order (by txid, userref or cl_ord_id).",
    ),
    _priv(
        "CancelAll",
        "cancel_all_orders",
        (),
        t.CountResult,
        kind=C,
        cost=0,
        doc="Cancel all open orders.",
        schema="spot_rest.CancelAll",
    ),
    _priv(
        "CancelAllOrdersAfter",
        "cancel_all_orders_after",
        (Param("timeout", "int", True, doc="seconds (< 86400); 0 disarms"),),
        t.CancelAllAfterResult,
        kind=C,
        schema="spot_rest.CancelAllOrdersAfter",
        cost=0,
        doc="Dead man's switch: cancel all orders after timeout.",
    ),
    _priv(
        "GetWebSocketsToken",
        "get_web_sockets_token",
        (),
        t.WebSocketsToken,
        doc="Token for private WebSocket v2 subscriptions (valid 15 minutes unused).",
    ),
    _priv(
        "AddOrderBatch",
        "submit_batch_orders",
        (
            Param(
                "orders",
                "json",
                True,
                py_type="Sequence[Mapping[str, Any]]",
                doc="2..15 orders, each a dict of AddOrder fields (ordertype, type, volume, price, cl_ord_id...)",
            ),
            Param("pair", "pair", True),
            _DEADLINE,
            Param("validate", "bool"),
            _ASSET_CLASS,
            _BROKER,
        ),
        t.AddOrderBatchResult,
        kind=O,
        schema="spot_rest.AddOrderBatch",
        cost=0,
        body="json",
        doc="Place 2..15 orders on one pair at once (one deadline for the batch). With a cl_ord_id on every "
        "order, a lost answer is resolved by looking the orders up, like submit_order.",
    ),
    _priv(
        "CancelOrderBatch",
        "cancel_batch_orders",
        (
            Param("orders", "json", py_type="Sequence[str]", doc="up to 50 txids / userrefs"),
            Param("cl_ord_ids", "json", py_type="Sequence[str]", doc="up to 50 client order ids"),
        ),
        t.CountResult,
        kind=C,
        schema="spot_rest.CancelOrderBatch",
        cost=0,
        body="json",
        doc="Cancel up to 50 orders at once.",
    ),
    # --- funding -------------------------------------------------------------------------------
    _priv(
        "DepositMethods",
        "get_deposit_methods",
        (Param("asset", required=True), _ACLASS),
        t.RawResult,
        doc="Deposit methods of an asset.",
    ),
    _priv(
        "DepositAddresses",
        "get_deposit_addresses",
        (Param("asset", required=True), Param("method", required=True), Param("new", "bool"), Param("amount", "money")),
        t.RawResult,
        doc="Deposit addresses (new=True generates one).",
    ),
    _priv(
        "DepositStatus",
        "get_deposits_status",
        (
            Param("asset"),
            _ACLASS,
            Param("method"),
            Param("start", "number"),
            Param("end", "number"),
            Param("cursor", "any", py_type="bool | str | None"),
            Param("limit", "int"),
        ),
        t.RawResult,
        doc="Recent deposits.",
    ),
    _priv(
        "WithdrawMethods",
        "get_withdrawal_methods",
        (Param("asset"), _ACLASS, Param("network")),
        t.RawResult,
        doc="Withdrawal methods.",
    ),
    _priv(
        "WithdrawAddresses",
        "get_withdrawal_addresses",
        (Param("asset"), _ACLASS, Param("method"), Param("key"), Param("verified", "bool")),
        t.RawResult,
        doc="Withdrawal addresses (keys).",
    ),
    _priv(
        "WithdrawInfo",
        "get_withdrawal_info",
        (Param("asset", required=True), Param("key", required=True), Param("amount", "money", True)),
        t.RawResult,
        doc="Fee and limit of a withdrawal.",
    ),
    _priv(
        "Withdraw",
        "submit_withdrawal",
        (
            Param("asset", required=True),
            Param("key", required=True, doc="withdrawal key name"),
            Param("amount", "money", True),
            _ACLASS,
            Param("address"),
            Param("max_fee", "money"),
            _REBASE,
        ),
        t.RawResult,
        kind=W,
        doc="Withdraw funds. Never resent on unknown outcome.",
    ),
    _priv(
        "WithdrawStatus",
        "get_withdrawals_status",
        (
            Param("asset"),
            _ACLASS,
            Param("method"),
            Param("start", "number"),
            Param("end", "number"),
            Param("cursor", "any", py_type="bool | str | None"),
            Param("limit", "int"),
        ),
        t.RawResult,
        doc="Recent withdrawals.",
    ),
    _priv(
        "WithdrawCancel",
        "cancel_withdrawal",
        (Param("asset", required=True), Param("refid", required=True)),
        t.RawResult,
        kind=C,
        doc="Cancel a pending withdrawal.",
    ),
    _priv(
        "WalletTransfer",
        "submit_transfer_to_futures",
        (
            Param("asset", required=True),
            Param("amount", "money", True),
            Param("from_", wire="from", doc="'Spot Wallet'"),
            Param("to", doc="'Futures Wallet'"),
        ),
        t.RawResult,
        kind=W,
        doc="Transfer from the Spot wallet to the Futures wallet.",
    ),
    _priv(
        "CreateSubaccount",
        "create_subaccount",
        (Param("username", required=True), Param("email", required=True)),
        t.RawResult,
        kind=W,
        doc="Create a subaccount (institutional).",
    ),
    _priv(
        "AccountTransfer",
        "submit_subaccount_transfer",
        (
            Param("asset", required=True),
            Param("amount", "money", True),
            Param("from_", wire="from", required=True),
            Param("to", required=True),
            _ASSET_CLASS,
        ),
        t.RawResult,
        kind=W,
        doc="Transfer between master and subaccounts.",
    ),
    # --- earn ----------------------------------------------------------------------------------
    _priv(
        "Earn/Allocate",
        "allocate_earn_funds",
        (Param("strategy_id", required=True), Param("amount", "money", True)),
        t.RawResult,
        kind=W,
        doc="Allocate funds to an earn strategy.",
    ),
    _priv(
        "Earn/Deallocate",
        "deallocate_earn_funds",
        (Param("strategy_id", required=True), Param("amount", "money", True)),
        t.RawResult,
        kind=W,
        doc="Deallocate funds from an earn strategy.",
    ),
    _priv(
        "Earn/AllocateStatus",
        "get_earn_allocation_status",
        (Param("strategy_id", required=True),),
        t.RawResult,
        doc="Status of the last allocation.",
    ),
    _priv(
        "Earn/DeallocateStatus",
        "get_earn_deallocation_status",
        (Param("strategy_id", required=True),),
        t.RawResult,
        doc="Status of the last deallocation.",
    ),
    _priv(
        "Earn/Strategies",
        "get_earn_strategies",
        (
            Param("ascending", "bool"),
            Param("asset"),
            Param("cursor"),
            Param("limit", "int"),
            Param("lock_type", "str_list"),
        ),
        t.RawResult,
        doc="Earn strategies.",
    ),
    _priv(
        "Earn/Allocations",
        "get_earn_allocations",
        (Param("ascending", "bool"), Param("converted_asset"), Param("hide_zero_allocations", "bool")),
        t.RawResult,
        doc="Current earn allocations.",
    ),
    # --- newer -------------------------------------------------------------------------------
    _priv(
        "Level3",
        "get_level3_order_book",
        (Param("pair", "pair", True), Param("depth", "int")),
        t.RawResult,
        doc="Level 3 (individual orders) book snapshot.",
    ),
    _priv("GetApiKeyInfo", "get_api_key_info", (), t.RawResult, doc="Information about the API key in use."),
    _priv("ListWalletAccounts", "get_wallet_accounts", (), t.RawResult, doc="Wallet accounts of the user."),
)

SPOT_ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType({e.name: e for e in _ENDPOINTS})
SPOT_ENDPOINTS_BY_PATH: Mapping[str, Endpoint] = MappingProxyType({e.path: e for e in _ENDPOINTS})
