"""Derivatives REST: request building for every method (verb, path, query / body), checked on the wire
through httpx.MockTransport, and the table checked against the reference method list."""

from __future__ import annotations

import base64
import csv
import itertools
import json
import urllib.parse
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from kraken_reference import REFERENCE
from krakenkit._core.errors import MissingCredentialsError, SymbolFormatError, ValidationError
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient, KrakenDeprecationWarning
from krakenkit.rest.derivatives_endpoints import DERIV_ENDPOINTS

REF = REFERENCE
SECRET = base64.b64encode(bytes(range(64))).decode()

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

UNIVERSAL_OK: dict[str, Any] = {
    "result": "success",
    "serverTime": "2024-01-01T00:00:00.000Z",
    "sendStatus": {"status": "placed", "order_id": "o-1"},
    "editStatus": {"status": "edited", "orderId": "o-1"},
    "cancelStatus": {"status": "cancelled", "order_id": "o-1"},
    "batchStatus": [],
}

UID = "7d5ca3f4-0b3c-4e33-8d2b-4b3b06a3c7e1"

# method -> (kwargs, verb, path, expected query, expected body, content type)
FORM = "application/x-www-form-urlencoded"
CASES: dict[str, tuple[dict[str, Any], str, str, str, str, str | None]] = {
    "get_trade_history": (
        {"symbol": "PF_XBTUSD", "lastTime": "2024-01-01T00:00:00Z"},
        "GET",
        "/derivatives/api/v3/history",
        "symbol=PF_XBTUSD&lastTime=2024-01-01T00%3A00%3A00Z",
        "",
        None,
    ),
    "get_orderbook": ({"symbol": "PI_ETHUSD"}, "GET", "/derivatives/api/v3/orderbook", "symbol=PI_ETHUSD", "", None),
    "get_tickers": (
        {"contractType": ["futures_inverse", "flexible_futures"]},
        "GET",
        "/derivatives/api/v3/tickers",
        "contractType=futures_inverse&contractType=flexible_futures",
        "",
        None,
    ),
    "get_ticker": ({"symbol": "PF_XBTUSD"}, "GET", "/derivatives/api/v3/tickers/PF_XBTUSD", "", "", None),
    "get_instruments": ({}, "GET", "/derivatives/api/v3/instruments", "", "", None),
    "get_instrument_status_list": ({}, "GET", "/derivatives/api/v3/instruments/status", "", "", None),
    "get_instrument_status": (
        {"symbol": "FF_XBTUSD_260327"},
        "GET",
        "/derivatives/api/v3/instruments/FF_XBTUSD_260327/status",
        "",
        "",
        None,
    ),
    "get_fee_schedules": ({}, "GET", "/derivatives/api/v3/feeschedules", "", "", None),
    "get_historical_funding_rates": (
        {"symbol": "PF_XBTUSD"},
        "GET",
        "/derivatives/api/v3/historical-funding-rates",
        "symbol=PF_XBTUSD",
        "",
        None,
    ),
    "get_open_rfqs": ({}, "GET", "/derivatives/api/v3/rfqs", "", "", None),
    "get_open_rfq": ({"rfqUid": UID}, "GET", f"/derivatives/api/v3/rfqs/{UID}", "", "", None),
    "submit_order": (
        {
            "orderType": "stp",
            "symbol": "PF_XBTUSD",
            "side": "buy",
            "size": Decimal("0.0100"),
            "stopPrice": "0.1",
            "cliOrdId": "my id/1",
            "reduceOnly": False,
            "limitPriceOffsetValue": Decimal("-5"),
            "limitPriceOffsetUnit": "QUOTE_CURRENCY",
        },
        "POST",
        "/derivatives/api/v3/sendorder",
        "",
        "orderType=stp&symbol=PF_XBTUSD&side=buy&size=0.01&stopPrice=0.1&cliOrdId=my%20id%2F1"
        "&reduceOnly=false&limitPriceOffsetValue=-5&limitPriceOffsetUnit=QUOTE_CURRENCY",
        FORM,
    ),
    "edit_order": (
        {"orderId": "o-1", "size": "2", "limitPrice": "30000.5", "qtyMode": "ABSOLUTE"},
        "POST",
        "/derivatives/api/v3/editorder",
        "",
        "orderId=o-1&size=2&limitPrice=30000.5&qtyMode=ABSOLUTE",
        FORM,
    ),
    "cancel_order": ({"cliOrdId": "c-1"}, "POST", "/derivatives/api/v3/cancelorder", "", "cliOrdId=c-1", FORM),
    "batch_order_management": (
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
        "POST",
        "/derivatives/api/v3/batchorder",
        "",
        "json="
        + urllib.parse.quote(
            '{"batchOrder":[{"order":"send","orderType":"lmt","symbol":"PF_XBTUSD","side":"buy","size":1,'
            '"limitPrice":0.5,"order_tag":"0"},{"order":"cancel","order_id":"o-9"}]}',
            safe="-_.~",
        ),
        FORM,
    ),
    "cancel_all_orders": (
        {"symbol": "PF_ETHUSD"},
        "POST",
        "/derivatives/api/v3/cancelallorders",
        "",
        "symbol=PF_ETHUSD",
        FORM,
    ),
    "cancel_all_orders_after": (
        {"timeout": 60},
        "POST",
        "/derivatives/api/v3/cancelallordersafter",
        "",
        "timeout=60",
        FORM,
    ),
    "get_open_orders": ({}, "GET", "/derivatives/api/v3/openorders", "", "", None),
    "get_order_status": (
        {"cliOrdIds": ["a", "b c"]},
        "POST",
        "/derivatives/api/v3/orders/status",
        "",
        "cliOrdIds=a&cliOrdIds=b%20c",
        FORM,
    ),
    "get_pnl_preferences": ({}, "GET", "/derivatives/api/v3/pnlpreferences", "", "", None),
    "set_pnl_preference": (
        {"symbol": "PF_XBTUSD", "pnlPreference": "USD"},
        "PUT",
        "/derivatives/api/v3/pnlpreferences",
        "symbol=PF_XBTUSD&pnlPreference=USD",
        "",
        None,
    ),
    "get_leverage_settings": ({}, "GET", "/derivatives/api/v3/leveragepreferences", "", "", None),
    "set_leverage_settings": (
        {"symbol": "PF_XBTUSD", "maxLeverage": 5},
        "PUT",
        "/derivatives/api/v3/leveragepreferences",
        "symbol=PF_XBTUSD&maxLeverage=5",
        "",
        None,
    ),
    "get_accounts": ({}, "GET", "/derivatives/api/v3/accounts", "", "", None),
    "get_open_positions": ({}, "GET", "/derivatives/api/v3/openpositions", "", "", None),
    "get_position_percentile": ({}, "GET", "/derivatives/api/v3/unwindqueue", "", "", None),
    "get_portfolio_margin_parameters": ({}, "GET", "/derivatives/api/v3/portfolio-margining/parameters", "", "", None),
    "simulate_margin_requirements": (
        {"json": {"positions": {"PF_XBTUSD": Decimal("1.5")}}},
        "POST",
        "/derivatives/api/v3/portfolio-margining/simulate",
        "",
        "json=" + urllib.parse.quote('{"positions":{"PF_XBTUSD":1.5}}', safe="-_.~"),
        FORM,
    ),
    "get_assignment_programs": ({}, "GET", "/derivatives/api/v3/assignmentprogram/current", "", "", None),
    "add_assignment_preference": (
        {
            "contractType": "flex",
            "contract": "PF_XBTUSD",
            "maxSize": 10,
            "acceptLong": True,
            "acceptShort": False,
            "timeFrame": "all",
            "enabled": True,
        },
        "POST",
        "/derivatives/api/v3/assignmentprogram/add",
        "",
        "contractType=flex&contract=PF_XBTUSD&maxSize=10&acceptLong=true&acceptShort=false&timeFrame=all&enabled=true",
        FORM,
    ),
    "delete_assignment_preference": (
        {"id": 7},
        "POST",
        "/derivatives/api/v3/assignmentprogram/delete",
        "",
        "id=7",
        FORM,
    ),
    "get_assignment_preferences_history": ({}, "GET", "/derivatives/api/v3/assignmentprogram/history", "", "", None),
    "get_fee_schedule_volumes": ({}, "GET", "/derivatives/api/v3/feeschedules/volumes", "", "", None),
    "get_notifications": ({}, "GET", "/derivatives/api/v3/notifications", "", "", None),
    "get_fills": (
        {"lastFillTime": "2024-01-01T00:00:00.000Z"},
        "GET",
        "/derivatives/api/v3/fills",
        "lastFillTime=2024-01-01T00%3A00%3A00.000Z",
        "",
        None,
    ),
    "get_self_trade_strategy": ({}, "GET", "/derivatives/api/v3/self-trade-strategy", "", "", None),
    "update_self_trade_strategy": (
        {"strategy": "REJECT_TAKER"},
        "PUT",
        "/derivatives/api/v3/self-trade-strategy",
        "strategy=REJECT_TAKER",
        "",
        None,
    ),
    "get_subaccount_trading_status": (
        {"subaccountUid": UID},
        "GET",
        f"/derivatives/api/v3/subaccount/{UID}/trading-enabled",
        "",
        "",
        None,
    ),
    "update_subaccount_trading_status": (
        {"subaccountUid": UID, "tradingEnabled": True},
        "PUT",
        f"/derivatives/api/v3/subaccount/{UID}/trading-enabled",
        "tradingEnabled=true",
        "",
        None,
    ),
    "get_subaccounts": ({}, "GET", "/derivatives/api/v3/subaccounts", "", "", None),
    "submit_wallet_transfer": (
        {"fromAccount": "flex", "toAccount": "cash", "unit": "USD", "amount": "100.50"},
        "POST",
        "/derivatives/api/v3/transfer",
        "",
        "fromAccount=flex&toAccount=cash&unit=USD&amount=100.5",
        FORM,
    ),
    "submit_subaccount_transfer": (
        {"fromUser": "u1", "toUser": "u2", "fromAccount": "flex", "toAccount": "flex", "unit": "USD", "amount": 3},
        "POST",
        "/derivatives/api/v3/transfer/subaccount",
        "",
        "fromUser=u1&toUser=u2&fromAccount=flex&toAccount=flex&unit=USD&amount=3",
        FORM,
    ),
    "submit_transfer_to_spot": (
        {"currency": "USD", "amount": Decimal("1E+2")},
        "POST",
        "/derivatives/api/v3/withdrawal",
        "",
        "currency=USD&amount=100",
        FORM,
    ),
    "get_trading_instruments": ({}, "GET", "/derivatives/api/v3/trading/instruments", "", "", None),
    "get_rfq_assignment_max_leverage": ({}, "GET", "/derivatives/api/v3/rfq-assignment/max-leverage", "", "", None),
    "set_rfq_assignment_max_leverage": (
        {"maxLeverage": 3},
        "PUT",
        "/derivatives/api/v3/rfq-assignment/max-leverage",
        "maxLeverage=3",
        "",
        None,
    ),
    "delete_rfq_assignment_max_leverage": (
        {},
        "DELETE",
        "/derivatives/api/v3/rfq-assignment/max-leverage",
        "",
        "",
        None,
    ),
    "get_rfq_open_offers": ({}, "GET", "/derivatives/api/v3/rfqs/open-offers", "", "", None),
    "submit_rfq_new_offer": (
        {"rfqUid": UID, "bid": "1.5", "ask": Decimal("2.25")},
        "POST",
        f"/derivatives/api/v3/rfqs/{UID}/place-offer",
        "",
        '{"bid":1.5,"ask":2.25}',
        "application/json",
    ),
    "update_rfq_open_offer": (
        {"rfqUid": UID, "bid": 1},
        "PUT",
        f"/derivatives/api/v3/rfqs/{UID}/replace-offer",
        "",
        '{"bid":1}',
        "application/json",
    ),
    "cancel_rfq_offer": ({"rfqUid": UID}, "DELETE", f"/derivatives/api/v3/rfqs/{UID}/cancel-offer", "", "", None),
    "get_execution_events": (
        {"since": 1, "count": 5, "sort": "asc", "tradeable": "PF_XBTUSD"},
        "GET",
        "/api/history/v3/executions",
        "since=1&sort=asc&count=5&tradeable=PF_XBTUSD",
        "",
        None,
    ),
    "get_order_events": (
        {"opened": True, "continuation_token": "abc=="},
        "GET",
        "/api/history/v3/orders",
        "continuation_token=abc%3D%3D&opened=true",
        "",
        None,
    ),
    "get_trigger_events": ({"closed": False}, "GET", "/api/history/v3/triggers", "closed=false", "", None),
    "get_position_events": (
        {"trades": True, "before": 99},
        "GET",
        "/api/history/v3/positions",
        "before=99&trades=true",
        "",
        None,
    ),
    "get_account_log": (
        {"from_": 10, "to": 20, "info": "futures trade"},
        "GET",
        "/api/history/v3/account-log",
        "from=10&to=20&info=futures%20trade",
        "",
        None,
    ),
    "get_account_log_csv": (
        {"conversion_details": True},
        "GET",
        "/api/history/v3/accountlogcsv",
        "conversion_details=true",
        "",
        None,
    ),
    "get_public_execution_events": (
        {"tradeable": "PF_XBTUSD", "count": 2},
        "GET",
        "/api/history/v3/market/PF_XBTUSD/executions",
        "count=2",
        "",
        None,
    ),
    "get_public_order_events": (
        {"tradeable": "PF_XBTUSD"},
        "GET",
        "/api/history/v3/market/PF_XBTUSD/orders",
        "",
        "",
        None,
    ),
    "get_public_mark_price_events": (
        {"tradeable": "PI_XBTUSD", "since": 5},
        "GET",
        "/api/history/v3/market/PI_XBTUSD/price",
        "since=5",
        "",
        None,
    ),
    "get_tick_types": ({}, "GET", "/api/charts/v1/", "", "", None),
    "get_markets_for_tick_type": ({"tickType": "trade"}, "GET", "/api/charts/v1/trade", "", "", None),
    "get_resolutions": (
        {"tickType": "mark", "symbol": "PF_XBTUSD"},
        "GET",
        "/api/charts/v1/mark/PF_XBTUSD",
        "",
        "",
        None,
    ),
    "get_candles": (
        {"tickType": "trade", "symbol": "PF_XBTUSD", "resolution": "1h", "from_": 1700000000, "count": 3},
        "GET",
        "/api/charts/v1/trade/PF_XBTUSD/1h",
        "from=1700000000&count=3",
        "",
        None,
    ),
    "get_liquidity_pool_statistic": (
        {"since": 1, "interval": 3600},
        "GET",
        "/api/charts/v1/analytics/liquidity-pool",
        "since=1&interval=3600",
        "",
        None,
    ),
    "get_market_analytics": (
        {"symbol": "PF_XBTUSD", "analyticsType": "open-interest", "since": 1, "interval": 60},
        "GET",
        "/api/charts/v1/analytics/PF_XBTUSD/open-interest",
        "since=1&interval=60",
        "",
        None,
    ),
    "check_api_key_v3": ({}, "GET", "/api/auth/v1/api-keys/v3/check", "", "", None),
    "get_account_market_share": ({}, "GET", "/api/stats/v1/rebates/self-market-share", "", "", None),
}


def _reference_methods() -> dict[str, tuple[str, str, str]]:
    rows = csv.DictReader((REF / "method-names.tsv").read_text().splitlines(), delimiter="\t")
    return {
        r["python_method"]: (r["http_verb"], "/" + r["path"], r["auth"])
        for r in rows
        if r["client"] == "DerivativesClient"
    }


def test_table_matches_reference_method_list() -> None:
    ref = _reference_methods()
    assert set(ref) == set(DERIV_ENDPOINTS)
    for name, (verb, path, auth) in ref.items():
        ep = DERIV_ENDPOINTS[name]
        norm = path.replace("{tick_type}", "{tickType}")
        assert (ep.method, ep.path) == (verb, norm), name
        assert ep.auth == (auth == "private"), name


def test_every_method_has_a_case_and_exists_on_both_clients() -> None:
    assert set(CASES) == set(DERIV_ENDPOINTS)
    for name in DERIV_ENDPOINTS:
        assert callable(getattr(DerivativesClient, name))
        assert callable(getattr(AsyncDerivativesClient, name))


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> DerivativesClient:
    nonces = itertools.count(1_000)
    return DerivativesClient(
        "KEY",
        SECRET,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        nonce_source=lambda: next(nonces),
        **kw,
    )


def _ok(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("accountlogcsv"):
        return httpx.Response(200, text="date,info\n")
    return httpx.Response(200, json=UNIVERSAL_OK)


@pytest.mark.parametrize("name", sorted(CASES))
def test_request_on_the_wire(name: str) -> None:
    kwargs, verb, path, query, body, ctype = CASES[name]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _ok(request)

    with _client(handler) as client:
        getattr(client, name)(**kwargs)
    assert len(seen) == 1
    req = seen[0]
    assert req.method == verb
    assert req.url.raw_path.decode().split("?")[0] == path
    assert req.url.query.decode() == query
    assert req.content.decode() == body
    assert req.headers.get("content-type") == ctype
    ep = DERIV_ENDPOINTS[name]
    assert ("authent" in req.headers) == ep.auth
    assert ("apikey" in req.headers) == ep.auth


async def test_async_client_sends_the_same_bytes() -> None:
    for name in ("submit_order", "get_tickers", "batch_order_management", "get_account_log"):
        kwargs, verb, path, query, body, _ = CASES[name]
        seen: list[httpx.Request] = []

        async def handler(request: httpx.Request, seen: list[httpx.Request] = seen) -> httpx.Response:
            seen.append(request)
            return _ok(request)

        nonces = itertools.count(1)
        async with AsyncDerivativesClient(
            "KEY",
            SECRET,
            nonce_source=lambda n=nonces: next(n),
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        ) as c:
            await getattr(c, name)(**kwargs)
        assert seen[0].method == verb
        assert seen[0].url.path == path
        assert seen[0].url.query.decode() == query
        assert seen[0].content.decode() == body


def test_batch_json_field_is_valid_json_with_exact_decimals() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _ok(request)

    with _client(handler) as client:
        client.batch_order_management(
            batchOrder=[
                {
                    "order": "send",
                    "orderType": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "sell",
                    "size": "0.1",
                    "limitPrice": "64000.1",
                    "cliOrdId": "x",
                    "order_tag": "mine",
                },
                {"order": "edit", "order_id": "o-2", "limitPrice": Decimal("1.10")},
            ]
        )
    form = urllib.parse.parse_qs(seen[0].content.decode())
    payload = json.loads(form["json"][0], parse_float=Decimal)
    first, second = payload["batchOrder"]
    assert first["size"] == Decimal("0.1") and first["limitPrice"] == Decimal("64000.1")
    assert first["order_tag"] == "mine"
    assert second == {"order": "edit", "order_id": "o-2", "limitPrice": Decimal("1.10")}


def test_batch_float_amount_is_refused_naming_the_instruction() -> None:
    with _client(lambda r: pytest.fail("sent")) as client:  # type: ignore[arg-type,return-value]
        with pytest.raises(ValidationError, match=r"Decimal\('0.1'\)") as info:
            client.batch_order_management(
                batchOrder=[{"order": "send", "orderType": "mkt", "symbol": "PF_XBTUSD", "side": "buy", "size": 0.1}]
            )
    assert info.value.field == "batchOrder[0].size"


@pytest.mark.parametrize(("bad", "hint"), [("XBTUSD", "PF_XBTUSD"), ("BTC/USD", "PF_XBTUSD"), ("XXBTZUSD", "PF_")])
def test_spot_symbol_refused_before_sending(bad: str, hint: str) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return _ok(request)

    with _client(handler) as client:
        with pytest.raises(SymbolFormatError, match=hint):
            client.submit_order(orderType="lmt", symbol=bad, side="buy", size=1, limitPrice=1)
        with pytest.raises(SymbolFormatError):
            client.get_ticker(symbol=bad)
        with pytest.raises(SymbolFormatError):
            client.get_orderbook(symbol=bad)
        with pytest.raises(SymbolFormatError):
            client.batch_order_management(
                batchOrder=[{"order": "send", "orderType": "lmt", "symbol": bad, "side": "buy", "size": 1}]
            )
    assert calls == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": "-1"}, "size"),
        ({"size": "abc"}, "size"),
        ({"size": float("nan")}, "size"),
        ({"reduceOnly": "yes"}, "reduceOnly"),
        ({"cliOrdId": "x" * 101}, "cliOrdId"),
    ],
)
def test_bad_order_input_refused_before_sending(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": 1}
    base.update(kwargs)
    with _client(lambda r: pytest.fail("sent")) as client:  # type: ignore[arg-type,return-value]
        with pytest.raises(ValidationError) as info:
            client.submit_order(**base)
    assert info.value.field == field


def test_private_call_without_credentials_is_refused() -> None:
    c = DerivativesClient(http_client=httpx.Client(transport=httpx.MockTransport(_ok)))
    with pytest.raises(MissingCredentialsError):
        c.get_accounts()
    assert c.get_tickers() == []  # public still works


def test_one_of_key_and_secret_is_refused() -> None:
    with pytest.raises(MissingCredentialsError):
        DerivativesClient("key-only")


def test_environment_testnet_and_base_url() -> None:
    assert DerivativesClient().base_url == "https://futures.kraken.com"
    assert DerivativesClient(testnet=True).base_url == "https://demo-futures.kraken.com"
    assert DerivativesClient(base_url="http://127.0.0.1:9/").base_url == "http://127.0.0.1:9"


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_FUTURES_KEY", "K")
    monkeypatch.setenv("API_FUTURES_SECRET", SECRET)
    c = DerivativesClient.from_env()
    assert c.has_credentials and "K" not in repr(c) and SECRET not in repr(c)
    monkeypatch.delenv("API_FUTURES_SECRET")
    with pytest.raises(MissingCredentialsError, match="API_FUTURES_SECRET"):
        DerivativesClient.from_env()


def test_generate_new_order_id_is_unique_and_valid() -> None:
    ids = {DerivativesClient.generate_new_order_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 36 for i in ids)


def test_nonce_strictly_increases_across_calls_and_retries() -> None:
    nonces: list[int] = []
    replies = iter([httpx.Response(200, json={"result": "error", "error": "nonceBelowThreshold"})])

    def handler(request: httpx.Request) -> httpx.Response:
        nonces.append(int(request.headers["nonce"]))
        return next(replies, None) or httpx.Response(200, json=UNIVERSAL_OK)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KrakenDeprecationWarning)
        client = DerivativesClient("K", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    client.get_accounts()  # first attempt refused for its nonce, re-signed resend succeeds
    client.get_open_orders()
    assert len(nonces) == 3
    assert nonces == sorted(set(nonces))
