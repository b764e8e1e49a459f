"""Spot REST of the sandbox: shapes against the official examples, auth, permissions, nonce."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_testkit import Raw, assert_shape, load_rest_examples, sign

from krakenkit_sandbox import Sandbox

EX = load_rest_examples()
REF = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=3, market=False, rate_limits=False) as s:
        s.market_tick(30)  # some public trades for Trades/OHLC/Spread
        yield s


@pytest.fixture
def raw(sb: Sandbox) -> Raw:
    perms = [
        "query_funds",
        "query_open",
        "query_closed",
        "query_ledger",
        "trade",
        "cancel",
        "withdraw",
        "export",
        "websocket",
        "deposit",
        "earn",
    ]
    key, secret = sb.create_key(permissions=perms, balances={"ZUSD": "100000", "XXBT": "10", "XETH": "50"})
    return Raw(sb.rest_url, key, secret)


def test_sign_matches_official_vector() -> None:
    import json

    v = json.loads((REF / "vectors.json").read_text())["spot_rest_api_sign"][0]
    assert sign(v["secret"], v["uri_path"], v["nonce"], v["post_data"].encode()) == v["api_sign"]


@pytest.mark.parametrize(
    ("method", "params", "dynamic"),
    [
        ("Time", {}, frozenset()),
        ("SystemStatus", {}, frozenset()),
        ("Assets", {}, frozenset({"$.result"})),
        ("AssetPairs", {}, frozenset({"$.result"})),
        ("Ticker", {"pair": "XBTUSD"}, frozenset({"$.result"})),
        ("Depth", {"pair": "XBTUSD", "count": 5}, frozenset({"$.result"})),
        ("OHLC", {"pair": "XBTUSD"}, frozenset()),
        ("Trades", {"pair": "XBTUSD"}, frozenset()),
        ("Spread", {"pair": "XBTUSD"}, frozenset()),
    ],
)
def test_public_shapes(raw: Raw, method: str, params: dict[str, object], dynamic: frozenset[str]) -> None:
    out = raw.public(method, **params)
    example = EX[f"/0/public/{method}"]
    if method in ("OHLC", "Trades", "Spread"):
        # result keyed by the pair key plus "last"
        assert set(out["result"]) == {"XXBTZUSD", "last"}
        assert out["result"]["XXBTZUSD"], "the simulated market traded"
        assert_shape(out["result"]["XXBTZUSD"], example["result"]["XXBTZUSD"], "$.rows")
        assert type(out["result"]["last"]) is type(example["result"]["last"])
        return
    assert_shape(out, example, dynamic=dynamic)


def test_public_get_and_post_and_unknown_pair(raw: Raw) -> None:
    r = raw.http.post("/0/public/Ticker", data={"pair": "ETHUSD"})
    assert list(r.json()["result"]) == ["XETHZUSD"]
    assert raw.public("Ticker", pair="NOPE")["error"] == ["EQuery:Unknown asset pair"]


def test_asset_pairs_metadata(raw: Raw) -> None:
    res = raw.public("AssetPairs")["result"]
    assert {"XXBTZUSD", "XETHZUSD", "XXBTZEUR", "XDGUSD"} <= set(res)
    doge = res["XDGUSD"]
    assert doge["pair_decimals"] == 7 and doge["tick_size"] == "0.0000001"
    assert res["XXBTZUSD"]["ordermin"] == "0.0001" and res["XXBTZUSD"]["costmin"] == "0.5"


def _place_and_fill(raw: Raw) -> str:
    # a resting buy and a taking market buy, so every private view has data
    raw.ok(
        "AddOrder",
        {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "60000.0", "userref": 7},
    )
    res = raw.ok("AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "0.01"})
    return str(res["txid"][0])


def test_private_shapes(raw: Raw) -> None:
    txid = _place_and_fill(raw)
    assert_shape({"error": [], "result": raw.ok("Balance")}, EX["/0/private/Balance"], dynamic=frozenset({"$.result"}))
    bex = raw.ok("BalanceEx")
    # the OpenAPI example prints numbers but its schema (and Kraken) use strings
    assert all(isinstance(v["balance"], str) and isinstance(v["hold_trade"], str) for v in bex.values())
    cases: list[tuple[str, dict[str, Any], frozenset[str]]] = [
        ("TradeBalance", {}, frozenset()),
        ("OpenOrders", {"trades": True}, frozenset({"$.result.open"})),
        ("ClosedOrders", {}, frozenset({"$.result.closed"})),
        ("QueryOrders", {"txid": txid, "trades": True}, frozenset({"$.result"})),
        ("TradesHistory", {}, frozenset({"$.result.trades"})),
        ("Ledgers", {}, frozenset({"$.result.ledger"})),
        ("TradeVolume", {"pair": "XBTUSD"}, frozenset({"$.result.fees", "$.result.fees_maker"})),
        ("GetWebSocketsToken", {}, frozenset()),
        ("CancelAllOrdersAfter", {"timeout": 60}, frozenset()),
        ("AddExport", {"report": "trades", "description": "x"}, frozenset()),
        ("ExportStatus", {"report": "trades"}, frozenset()),
        ("CreditLines", {}, frozenset({"$.result.asset_details"})),
        ("DepositMethods", {"asset": "XBT"}, frozenset()),
        ("DepositAddresses", {"asset": "XBT", "method": "Bitcoin"}, frozenset()),
        ("WithdrawMethods", {}, frozenset()),
        ("WithdrawAddresses", {}, frozenset()),
        ("WithdrawInfo", {"asset": "XBT", "key": "btc-wallet-1", "amount": "0.1"}, frozenset()),
        ("Earn/Strategies", {}, frozenset()),
        ("Earn/AllocateStatus", {"strategy_id": "x"}, frozenset()),
    ]
    for method, data, dyn in cases:
        out = raw.post(method, data)
        ex = EX[f"/0/private/{method}"]
        if method == "QueryOrders":
            ex = {"error": [], "result": {"x": next(v for v in ex["result"].values() if v["status"] == "closed")}}
        if method == "ExportStatus":
            ex = {"error": [], "result": [ex["result"][0]]}
        assert out["error"] == [], (method, out)
        assert_shape(out, _relax(ex), dynamic=dyn)
    trades = raw.ok("TradesHistory")["trades"]
    ttx = next(iter(trades))
    assert_shape(
        {"error": [], "result": raw.ok("QueryTrades", {"txid": ttx})},
        EX["/0/private/QueryTrades"],
        dynamic=frozenset({"$.result"}),
    )
    lid = next(iter(raw.ok("Ledgers")["ledger"]))
    assert_shape(
        {"error": [], "result": raw.ok("QueryLedgers", {"id": lid})},
        EX["/0/private/QueryLedgers"],
        dynamic=frozenset({"$.result"}),
    )


def _relax(value: object) -> object:
    """The inline OpenAPI examples print a null ``refid`` as the string "None" (the YAML ones as null)."""
    if isinstance(value, dict):
        # refid, reason, next_cursor: nullable in the schema
        return {k: (None if k in ("refid", "reason", "next_cursor") else _relax(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_relax(v) for v in value]
    return value


def test_trading_shapes(raw: Raw) -> None:
    add = raw.post(
        "AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.5", "price": "50000.0"}
    )
    ex_add = dict(EX["/0/private/AddOrder"])
    ex_add["result"] = {"descr": {"order": ""}, "txid": [""]}  # "close" only for close orders
    assert_shape(add, ex_add)
    assert add["result"]["descr"]["order"] == "buy 0.50000000 XBTUSD @ limit 50000.0"
    txid = add["result"]["txid"][0]
    amend = raw.post("AmendOrder", {"txid": txid, "limit_price": "50001.0"})
    assert_shape(amend, EX["/0/private/AmendOrder"])
    amends = raw.post("OrderAmends", {"order_id": txid})
    assert_shape(amends, EX["/0/private/OrderAmends"])
    assert [a["amend_type"] for a in amends["result"]["amends"]] == ["original", "user"]
    edit = raw.post("EditOrder", {"txid": txid, "pair": "XBTUSD", "volume": "0.4", "price": "50002.0"})
    assert_shape(edit, EX["/0/private/EditOrder"])
    new_txid = edit["result"]["txid"]
    assert_shape(raw.post("CancelOrder", {"txid": new_txid}), EX["/0/private/CancelOrder"])
    batch = raw.post(
        "AddOrderBatch",
        {
            "pair": "XBTUSD",
            "orders": [
                {"ordertype": "limit", "type": "buy", "volume": "0.1", "price": "40000.0", "cl_ord_id": "b-1"},
                {"ordertype": "limit", "type": "buy", "volume": "0.1", "price": "40001.0", "cl_ord_id": "b-2"},
            ],
        },
        as_json=True,
    )
    ex_b = {"error": [], "result": {"orders": [{"txid": "", "descr": {"order": ""}}]}}
    assert_shape(batch, ex_b)
    ids = [o["txid"] for o in batch["result"]["orders"]]
    out = raw.post("CancelOrderBatch", {"orders": [ids[0]], "cl_ord_ids": ["b-2"]}, as_json=True)
    assert_shape(out, EX["/0/private/CancelOrderBatch"])
    assert out["result"]["count"] == 2
    assert_shape(raw.post("CancelAll"), EX["/0/private/CancelAll"])


def test_every_spot_endpoint_answers(raw: Raw) -> None:
    lines = (Path(__file__).parent / "fixtures" / "endpoints_spot_rest.txt").read_text().splitlines()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        verb, path = line.split()[:2]
        if verb == "GET":
            body = raw.http.get(path, params={"pair": "XBTUSD"}).json()
        else:
            body = raw.post(path.removeprefix("/0/private/"), {})
        assert "error" in body, path
        assert "EGeneral:Unknown method" not in body["error"], path


def test_validate_places_nothing(raw: Raw, sb: Sandbox) -> None:
    out = raw.ok(
        "AddOrder",
        {
            "pair": "XBTUSD",
            "type": "buy",
            "ordertype": "limit",
            "volume": "0.01",
            "price": "1000.0",
            "validate": "true",
        },
    )
    assert out == {"descr": {"order": "buy 0.01000000 XBTUSD @ limit 1000.0"}}
    assert sb.orders(raw.key) == []


# auth ------------------------------------------------------------------------------------------------


def _flip_body(body: bytes, sig: str) -> tuple[bytes, str]:
    b = bytearray(body)
    i = body.index(b"ab") + 1  # "ab" -> "ac": one bit, still a valid form/JSON body
    b[i] ^= 0x01
    return bytes(b), sig


def _flip_sig(body: bytes, sig: str) -> tuple[bytes, str]:
    raw_sig = bytearray(base64.b64decode(sig))
    raw_sig[10] ^= 0x01
    return body, base64.b64encode(bytes(raw_sig)).decode()


@pytest.mark.parametrize("as_json", [False, True])
def test_signature_rejects_one_bit_changes(raw: Raw, as_json: bool) -> None:
    assert raw.post("Balance", {"x": "ab"}, as_json=as_json)["error"] == []
    assert raw.post("Balance", {"x": "ab"}, as_json=as_json, tamper=_flip_body)["error"] == ["EAPI:Invalid signature"]
    assert raw.post("Balance", {"x": "ab"}, as_json=as_json, tamper=_flip_sig)["error"] == ["EAPI:Invalid signature"]


def test_unknown_key_and_nonce(raw: Raw) -> None:
    other = Raw(raw.base, "bm9wZQ==", raw.secret)
    assert other.post("Balance")["error"] == ["EAPI:Invalid key"]
    n = raw.next_nonce()
    assert raw.post("Balance", nonce=n)["error"] == []
    assert raw.post("Balance", nonce=n)["error"] == ["EAPI:Invalid nonce"]
    assert raw.post("Balance", nonce=str(int(n) - 5))["error"] == ["EAPI:Invalid nonce"]
    assert raw.post("Balance")["error"] == []


def test_permissions(sb: Sandbox) -> None:
    key, secret = sb.create_key(permissions=["query_funds"])
    r = Raw(sb.rest_url, key, secret)
    assert r.post("Balance")["error"] == []
    for method, data in [
        ("AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "1"}),
        ("OpenOrders", {}),
        ("GetWebSocketsToken", {}),
        ("Withdraw", {}),
        ("AddExport", {}),
    ]:
        assert r.post(method, data)["error"] == ["EGeneral:Permission denied"], method
    # the default key has everything but withdraw
    k2, s2 = sb.create_key()
    assert Raw(sb.rest_url, k2, s2).post("Withdraw", {"asset": "XBT", "key": "k", "amount": "1"})["error"] == [
        "EGeneral:Permission denied"
    ]


def test_otp(sb: Sandbox) -> None:
    key, secret = sb.create_key(otp="hunter2")
    r = Raw(sb.rest_url, key, secret)
    assert r.post("Balance")["error"] == ["EAPI:Invalid key"]
    assert r.post("Balance", {"otp": "wrong"})["error"] == ["EAPI:Invalid key"]
    assert r.post("Balance", {"otp": "h\u00fcnter2"})["error"] == ["EAPI:Invalid key"]  # non-ASCII: just wrong
    assert r.post("Balance", {"otp": "hunter2"})["error"] == []
    logged = [q for q in sb.requests if q["api_key"] == key]
    assert logged and all(q["params"].get("otp") in (None, "<redacted>") for q in logged)
    assert "hunter2" not in repr(sb.requests)
