"""Every Spot method: exists (method-names.tsv), sends the right verb/path/fields, signs correctly."""

from __future__ import annotations

import asyncio
import base64
import csv
import inspect
import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from kraken_reference import REFERENCE
from krakenkit._core.deadline import format_deadline
from krakenkit._core.errors import ValidationError
from krakenkit._core.signing import spot_api_sign
from krakenkit.rest import AsyncSpotClient, SpotClient
from krakenkit.rest._base import Endpoint, Param
from krakenkit.rest._codegen import TARGETS, render
from krakenkit.rest.spot_endpoints import SPOT_ENDPOINTS

REF = REFERENCE
SECRET = base64.b64encode(b"unit-test-secret-" * 4).decode()
KEY = "unit-test-key"


def tsv_rows() -> list[dict[str, str]]:
    with open(REF / "method-names.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if r["client"] == "SpotClient" and not r["path"].startswith("oauth/")]


ROWS = tsv_rows()
BY_METHOD = {e.python_method: e for e in SPOT_ENDPOINTS.values()}


def test_tsv_has_the_expected_spot_rows() -> None:
    assert len(ROWS) >= 60


@pytest.mark.parametrize("row", ROWS, ids=[r["python_method"] for r in ROWS])
def test_every_tsv_method_exists_on_both_clients(row: dict[str, str]) -> None:
    name = row["python_method"]
    for cls in (SpotClient, AsyncSpotClient):
        method = getattr(cls, name, None)
        assert callable(method), f"{cls.__name__}.{name} missing"
        assert method.__doc__ and row["path"] in method.__doc__
    assert inspect.iscoroutinefunction(getattr(AsyncSpotClient, name))
    assert not inspect.iscoroutinefunction(getattr(SpotClient, name))
    ep = BY_METHOD[name]
    assert ep.path == "/" + row["path"]
    assert ep.method == row["http_verb"]
    assert ep.auth == (row["auth"] == "private")


def test_generated_methods_are_current() -> None:
    assert TARGETS["spot"].path.read_text() == render("spot"), "run: python -m krakenkit.rest._codegen"


def test_methods_are_explicit_and_typed() -> None:
    sig = inspect.signature(SpotClient.submit_order)
    for name in ("ordertype", "type", "pair", "volume", "price", "cl_ord_id", "validate", "max_retries"):
        assert name in sig.parameters
        assert sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["ordertype"].default is inspect.Parameter.empty
    assert sig.return_annotation == "AddOrderResult"


# --- request building for every endpoint -----------------------------------------------------

SAMPLES: dict[str, tuple[Any, Any]] = {
    # kind: (python value, expected wire value)
    "str": ("abc", "abc"),
    "int": (5, "5"),
    "bool": (True, "true"),
    "money": (Decimal("1.50"), "1.5"),
    "price": ("100.25", "100.25"),
    "pair": ("XBTUSD", "XBTUSD"),
    "cl_ord_id": ("my-order-1", "my-order-1"),
    "str_list": (["A1", "B2"], "A1,B2"),
    "number": (7, "7"),
    "any": ("cur", "cur"),
}
# a caller's deadline: 30 s ahead (within Kraken's 2..60 s), an aware datetime, sent as RFC 3339 in UTC
_DEADLINE_AT = datetime.now(UTC) + timedelta(seconds=30)
SAMPLES["deadline"] = (_DEADLINE_AT, format_deadline(_DEADLINE_AT.timestamp()))

EXCLUDE = {
    ("AddOrder", "userref"),
    ("AmendOrder", "cl_ord_id"),
    ("CancelOrder", "cl_ord_id"),
    ("CancelOrderBatch", "cl_ord_ids"),
}


def sample_for(ep: Endpoint, p: Param) -> tuple[Any, Any]:
    if p.kind == "json":
        if ep.name == "AddOrderBatch":
            orders = [
                {"ordertype": "limit", "type": "buy", "volume": Decimal("1.0"), "price": "2", "cl_ord_id": "batch-1"},
                {"ordertype": "limit", "type": "sell", "volume": 2.5, "price": 3},
            ]
            wire = [
                {"ordertype": "limit", "type": "buy", "volume": "1", "price": "2", "cl_ord_id": "batch-1"},
                {"ordertype": "limit", "type": "sell", "volume": "2.5", "price": "3"},
            ]
            return orders, wire
        return ["OABCDE-1", "OABCDE-2"], ["OABCDE-1", "OABCDE-2"]
    if p.kind == "deadline":  # fresh for each use: the range is checked against now
        at = datetime.now(UTC) + timedelta(seconds=30)
        return at, format_deadline(at.timestamp())
    return SAMPLES[p.kind]


def order_samples(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order / amend / cancel endpoints (checked by the validation layer as a whole, not field by field):
    one valid call using every field, and its exact wire form."""
    at = datetime.now(UTC) + timedelta(seconds=30)
    deadline = format_deadline(at.timestamp())
    samples: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "AddOrder": (
            {
                "ordertype": "limit",
                "type": "buy",
                "volume": Decimal("1.50"),
                "pair": "XBTUSD",
                "price": "100.25",
                "cl_ord_id": "my-order-1",
                "trigger": "index",
                "leverage": "2",
                "reduce_only": True,
                "stptype": "cancel-both",
                "oflags": ["post"],
                "timeinforce": "GTD",
                "starttm": "0",
                "expiretm": "+60",
                "close_ordertype": "stop-loss-limit",
                "close_price": "90",
                "close_price2": "89",
                "deadline": at,
                "validate": True,
                "asset_class": "tokenized_asset",
                "broker": "partner-1",
            },
            {
                "ordertype": "limit",
                "type": "buy",
                "volume": "1.5",
                "pair": "XBTUSD",
                "price": "100.25",
                "cl_ord_id": "my-order-1",
                "trigger": "index",
                "leverage": "2",
                "reduce_only": "true",
                "stptype": "cancel-both",
                "oflags": "post",
                "timeinforce": "GTD",
                "starttm": "0",
                "expiretm": "+60",
                "close[ordertype]": "stop-loss-limit",
                "close[price]": "90",
                "close[price2]": "89",
                "deadline": deadline,
                "validate": "true",
                "asset_class": "tokenized_asset",
                "broker": "partner-1",
            },
        ),
        "AmendOrder": (
            {
                "txid": "OABCDE-1",
                "order_qty": "1.5",
                "display_qty": 1,
                "limit_price": Decimal("100.250"),
                "trigger_price": "+5",
                "pair": "XBTUSD",
                "post_only": True,
                "deadline": at,
            },
            {
                "txid": "OABCDE-1",
                "order_qty": "1.5",
                "display_qty": "1",
                "limit_price": "100.25",
                "trigger_price": "+5",
                "pair": "XBTUSD",
                "post_only": "true",
                "deadline": deadline,
            },
        ),
        "EditOrder": (
            {
                "txid": "OABCDE-1",
                "pair": "XBTUSD",
                "userref": 5,
                "volume": "2",
                "displayvol": "1",
                "price": "100.25",
                "price2": "#1%",
                "oflags": "post",
                "deadline": at,
                "cancel_response": True,
                "validate": True,
                "asset_class": "tokenized_asset",
            },
            {
                "txid": "OABCDE-1",
                "pair": "XBTUSD",
                "userref": "5",
                "volume": "2",
                "displayvol": "1",
                "price": "100.25",
                "price2": "#1%",
                "oflags": "post",
                "deadline": deadline,
                "cancel_response": "true",
                "validate": "true",
                "asset_class": "tokenized_asset",
            },
        ),
        "CancelOrder": ({"txid": 7}, {"txid": "7"}),
        "CancelAll": ({}, {}),
        "CancelAllOrdersAfter": ({"timeout": 60}, {"timeout": "60"}),
        "AddOrderBatch": (
            {
                "orders": [
                    {"ordertype": "limit", "type": "buy", "volume": Decimal("1.0"), "price": "2", "cl_ord_id": "b-1"},
                    {
                        "ordertype": "limit",
                        "type": "sell",
                        "volume": "2.5",
                        "price": 3,
                        "close_ordertype": "limit",
                        "close_price": "2.5",
                    },
                ],
                "pair": "XBTUSD",
                "deadline": at,
                "validate": True,
                "asset_class": "tokenized_asset",
                "broker": "partner-1",
            },
            {
                "orders": [
                    {"ordertype": "limit", "type": "buy", "volume": "1", "price": "2", "cl_ord_id": "b-1"},
                    {
                        "ordertype": "limit",
                        "type": "sell",
                        "volume": "2.5",
                        "price": "3",
                        "close": {"ordertype": "limit", "price": "2.5"},
                    },
                ],
                "pair": "XBTUSD",
                "deadline": deadline,
                "validate": True,
                "asset_class": "tokenized_asset",
                "broker": "partner-1",
            },
        ),
        "CancelOrderBatch": (
            {"orders": ["OABCDE-1", 7], "cl_ord_ids": ["c-1"]},
            {"orders": ["OABCDE-1", 7], "cl_ord_ids": ["c-1"]},
        ),
    }
    return samples[name]


def test_every_order_endpoint_has_a_sample_and_its_schema_fields() -> None:
    from krakenkit._core.validation import schema_for

    for ep in SPOT_ENDPOINTS.values():
        if ep.schema:
            kwargs, _ = order_samples(ep.name)
            names = {p.name for p in ep.params}
            assert names == set(schema_for(ep.schema).names), ep.name  # the method takes exactly the schema's fields
            assert set(kwargs) <= names


def call_args(ep: Endpoint) -> tuple[dict[str, Any], dict[str, Any]]:
    if ep.schema:
        return order_samples(ep.name)
    kwargs: dict[str, Any] = {}
    wire: dict[str, Any] = {}
    for p in ep.params:
        if (ep.name, p.name) in EXCLUDE:
            continue
        value, expected = sample_for(ep, p)
        kwargs[p.name] = value
        wire[p.wire_name] = expected
    return kwargs, wire


def result_for(ep: Endpoint) -> Any:
    return {}


class Recorder:
    def __init__(self, result: Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self.result = {} if result is None else result

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"error": [], "result": self.result})


def decode_request(ep: Endpoint, req: httpx.Request) -> dict[str, Any]:
    if ep.method == "GET":
        return dict(urllib.parse.parse_qsl(req.url.query.decode()))
    if ep.body == "json":
        assert req.headers["content-type"] == "application/json"
        data: dict[str, Any] = json.loads(req.content)
        return data
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    return dict(urllib.parse.parse_qsl(req.content.decode(), keep_blank_values=True))


def check_request(ep: Endpoint, req: httpx.Request, wire: dict[str, Any]) -> None:
    assert req.method == ep.method
    assert req.url.path == ep.path
    assert req.url.host == "api.kraken.com"
    sent = decode_request(ep, req)
    if ep.auth:
        nonce = sent.pop("nonce")
        assert int(nonce) > 0
        assert req.headers["API-Key"] == KEY
        assert req.headers["API-Sign"] == spot_api_sign(SECRET, ep.path, nonce, req.content)
    else:
        assert "API-Key" not in req.headers and "API-Sign" not in req.headers
    assert sent == wire


@pytest.mark.parametrize("ep", list(SPOT_ENDPOINTS.values()), ids=list(SPOT_ENDPOINTS))
def test_request_building_sync(ep: Endpoint) -> None:
    rec = Recorder()
    kwargs, wire = call_args(ep)
    with SpotClient(KEY, SECRET, http_client=httpx.Client(transport=httpx.MockTransport(rec))) as client:
        result = getattr(client, ep.python_method)(**kwargs)
    assert len(rec.requests) == 1
    check_request(ep, rec.requests[0], wire)
    assert type(result).__name__ == ep.response_type
    assert result.raw == {}


@pytest.mark.parametrize("ep", list(SPOT_ENDPOINTS.values()), ids=list(SPOT_ENDPOINTS))
async def test_request_building_async(ep: Endpoint) -> None:
    rec = Recorder()
    kwargs, wire = call_args(ep)
    http = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    async with AsyncSpotClient(KEY, SECRET, http_client=http) as client:
        result = await getattr(client, ep.python_method)(**kwargs)
    await http.aclose()
    assert len(rec.requests) == 1
    check_request(ep, rec.requests[0], wire)
    assert type(result).__name__ == ep.response_type


def test_extra_params_add_fields_and_never_set_a_known_one_or_the_nonce() -> None:
    rec = Recorder()
    with SpotClient(KEY, SECRET, http_client=httpx.Client(transport=httpx.MockTransport(rec))) as client:
        for extra, field in (({"newfield": "1", "trades": "false"}, "trades"), ({"nonce": "1"}, "nonce")):
            with pytest.raises(ValidationError) as info:
                client.get_open_orders(trades=True, extra_params=extra)
            assert info.value.field == field
        assert rec.requests == []
        client.get_open_orders(trades=True, extra_params={"newfield": "1", "flag": False})
    sent = dict(urllib.parse.parse_qsl(rec.requests[0].content.decode()))
    assert sent["newfield"] == "1" and sent["flag"] == "false" and sent["trades"] == "true"


def test_request_known_and_unknown_paths() -> None:
    rec = Recorder()
    with SpotClient(KEY, SECRET, http_client=httpx.Client(transport=httpx.MockTransport(rec))) as client:
        bal = client.request("POST", "/0/private/Balance")
        new = client.request("POST", "0/private/SomethingNew", {"a": "b"})
        pub = client.request("GET", "/0/public/Brand/New", {"x": 1})
    assert type(bal).__name__ == "Balance"
    assert type(new).__name__ == "RawResult"
    assert rec.requests[1].url.path == "/0/private/SomethingNew" and "API-Sign" in rec.requests[1].headers
    assert dict(urllib.parse.parse_qsl(rec.requests[1].content.decode()))["a"] == "b"
    assert rec.requests[2].method == "GET" and rec.requests[2].url.params["x"] == "1"
    assert pub.raw == {}


def test_official_signing_vector_through_the_client() -> None:
    vec = json.loads((REF / "vectors.json").read_text())["spot_rest_api_sign"][0]
    rec = Recorder()
    client = SpotClient(
        KEY,
        vec["secret"],
        nonce_source=lambda: int(vec["nonce"]),
        http_client=httpx.Client(transport=httpx.MockTransport(rec)),
    )
    # validate=true: the vector's body exactly (an order that places gets a deadline appended, tested below)
    client.request(
        "POST",
        vec["uri_path"],
        {"ordertype": "limit", "pair": "XBTUSD", "price": "37500", "type": "buy", "volume": "1.25", "validate": True},
    )
    req = rec.requests[0]
    assert req.content.decode() == vec["post_data"] + "&validate=true"
    assert req.headers["API-Sign"] == spot_api_sign(vec["secret"], vec["uri_path"], vec["nonce"], req.content)
    assert spot_api_sign(vec["secret"], vec["uri_path"], vec["nonce"], vec["post_data"]) == vec["api_sign"]
    placing = Recorder(result={"txid": ["OAAAAA-BBBBB-CCCCCC"], "descr": {"order": "buy"}})
    client = SpotClient(
        KEY,
        vec["secret"],
        nonce_source=lambda: int(vec["nonce"]),
        http_client=httpx.Client(transport=httpx.MockTransport(placing)),
    )
    client.request(
        "POST",
        vec["uri_path"],
        {"ordertype": "limit", "pair": "XBTUSD", "price": "37500", "type": "buy", "volume": "1.25"},
    )
    body = placing.requests[0].content.decode()
    assert body.startswith(vec["post_data"] + "&deadline=")
    assert placing.requests[0].headers["API-Sign"] == spot_api_sign(vec["secret"], vec["uri_path"], vec["nonce"], body)


def test_json_batch_signs_nonce_inside_json() -> None:
    rec = Recorder()
    client = SpotClient(
        KEY, SECRET, nonce_source=lambda: 42, http_client=httpx.Client(transport=httpx.MockTransport(rec))
    )
    client.cancel_batch_orders(cl_ord_ids=["a1", "b2"])
    req = rec.requests[0]
    body = json.loads(req.content)
    assert body == {"nonce": 42, "cl_ord_ids": ["a1", "b2"]}
    assert req.headers["API-Sign"] == spot_api_sign(SECRET, "/0/private/CancelOrderBatch", 42, req.content)


def test_otp_is_sent_when_configured() -> None:
    rec = Recorder()
    client = SpotClient(KEY, SECRET, otp="123456", http_client=httpx.Client(transport=httpx.MockTransport(rec)))
    client.get_account_balance()
    client.get_server_time()
    assert dict(urllib.parse.parse_qsl(rec.requests[0].content.decode()))["otp"] == "123456"
    assert "otp" not in str(rec.requests[1].url)
    codes = iter(["111111", "222222"])
    client2 = SpotClient(
        KEY, SECRET, otp=lambda: next(codes), http_client=httpx.Client(transport=httpx.MockTransport(rec))
    )
    client2.get_account_balance()
    client2.get_account_balance()
    assert [dict(urllib.parse.parse_qsl(r.content.decode()))["otp"] for r in rec.requests[2:]] == ["111111", "222222"]


def test_each_send_gets_a_fresh_nonce_and_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            return httpx.Response(200, json={"error": ["EService:Unavailable"]})
        return httpx.Response(200, json={"error": [], "result": {"ZUSD": "1.5"}})

    from krakenkit.rest import RetryPolicy

    client = SpotClient(
        KEY,
        SECRET,
        retry_policy=RetryPolicy(base_delay=0, max_delay=0, outcome_grace=0),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    bal = client.get_account_balance()
    assert bal["ZUSD"] == Decimal("1.5")
    nonces = [dict(urllib.parse.parse_qsl(r.content.decode()))["nonce"] for r in seen]
    signs = [r.headers["API-Sign"] for r in seen]
    assert len(set(nonces)) == 3 and [int(n) for n in nonces] == sorted(int(n) for n in nonces)
    assert len(set(signs)) == 3


def test_network_options_and_environment() -> None:
    from krakenkit._core.environment import Environment

    env = Environment(spot_rest_url="http://127.0.0.1:9", futures_rest_url="http://127.0.0.1:9")
    client = SpotClient(environment=env, network_options={"headers": {"X-Test": "1"}, "timeout": 3.0})
    assert client.base_url == "http://127.0.0.1:9"
    req = client._http_request("GET", client.base_url + "/0/public/Time")
    assert req.headers["X-Test"] == "1"
    client.close()
    explicit = SpotClient(base_url="http://127.0.0.1:8/", environment=env)
    assert explicit.base_url == "http://127.0.0.1:8"
    assert SpotClient().base_url == "https://api.kraken.com"


def test_async_context_manager_closes_owned_client() -> None:
    async def run() -> httpx.AsyncClient:
        async with AsyncSpotClient() as c:
            http = c._http
        return http

    http = asyncio.run(run())
    assert http.is_closed


def test_bring_your_own_client_is_not_closed_and_type_checked() -> None:
    http = httpx.Client()
    with SpotClient(http_client=http):
        pass
    assert not http.is_closed
    http.close()
    from krakenkit import ValidationError

    with pytest.raises(ValidationError, match="AsyncClient"):
        AsyncSpotClient(http_client=httpx.Client())
