"""The REST clients run every order, amend and cancel through the one validation layer: the method's keywords
are the schema's fields, a keyword that does not fit is a ValidationError naming the nearest valid one,
extra_params may only add fields, floats are refused for money everywhere, and nothing is sent before the
checks pass. Answers nested too deeply are an InvalidResponseError (an unknown outcome for an order)."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.parse
from decimal import Decimal
from typing import Any

import httpx
import pytest

import krakenkit._core.errors as E
from krakenkit import AsyncDerivativesClient, AsyncSpotClient, DerivativesClient, SpotClient
from krakenkit._core.jsonutil import MAX_DEPTH
from krakenkit._core.validation import schema_for
from krakenkit.rest.derivatives_endpoints import DERIV_ENDPOINTS
from krakenkit.rest.spot_endpoints import SPOT_ENDPOINTS

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")

KEY = "wiring-test-key-0001"
SECRET = base64.b64encode(b"wiring-test-secret-" * 3).decode()
LIMIT: dict[str, Any] = {"ordertype": "limit", "type": "buy", "volume": "1", "pair": "XBTUSD", "price": "100"}
DLIMIT: dict[str, Any] = {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "1", "limitPrice": "100"}


class Wire:
    def __init__(self, answer: Any = None) -> None:
        self.sent: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if isinstance(self.answer, httpx.Response):
            return self.answer
        if self.answer is not None:
            return httpx.Response(200, json=self.answer)
        if request.url.path.startswith("/derivatives"):
            return httpx.Response(200, json={"result": "success", "sendStatus": {"status": "placed", "order_id": "o"}})
        return httpx.Response(200, json={"error": [], "result": {"txid": ["O1"], "descr": {"order": "x"}}})

    def form(self, i: int = 0) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.sent[i].content.decode()))


def spot(wire: Wire, **kw: Any) -> SpotClient:
    return SpotClient(KEY, SECRET, http_client=httpx.Client(transport=httpx.MockTransport(wire)), max_retries=0, **kw)


def deriv(wire: Wire, **kw: Any) -> DerivativesClient:
    http = httpx.Client(transport=httpx.MockTransport(wire))
    return DerivativesClient(KEY, SECRET, http_client=http, max_retries=0, **kw)


# --- the tables and the schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [SPOT_ENDPOINTS, DERIV_ENDPOINTS], ids=["spot", "derivatives"])
def test_every_order_amend_cancel_endpoint_takes_exactly_its_schemas_fields(table: Any) -> None:
    schemas = [e for e in table.values() if e.schema]
    assert len(schemas) == (8 if table is SPOT_ENDPOINTS else 6)
    for ep in schemas:
        assert {p.name for p in ep.params} == set(schema_for(ep.schema).names), ep.name
        assert ep.kind.value in ("order_entry", "amend", "cancel", "write"), ep.name


# --- keywords ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field", "fragment"),
    [
        (lambda c: c.submit_order(**LIMIT, post_onyl=True), "post_onyl", "did you mean post_only?"),
        (lambda c: c.submit_order(**LIMIT, order_qty="1"), "order_qty", "volume="),
        (lambda c: c.submit_order(ordertype="limit", type="buy", volume="1"), "pair", "pair is required"),
        (lambda c: c.amend_order(cl_ord_id="abc", limit_prce="1"), "limit_prce", "did you mean limit_price?"),
        (lambda c: c.cancel_order(txids="O1"), "txids", "did you mean txid?"),
        (lambda c: c.cancel_all_orders_after(timout=60), "timout", "did you mean timeout?"),
        (lambda c: c.get_ticker(pairs="XBTUSD"), "pairs", "did you mean pair?"),
        (lambda c: c.get_order_book(), "pair", "needs pair="),
        (lambda c: c.submit_order(**LIMIT, post_onyl=None), "post_onyl", "did you mean"),  # None is still a typo
        (lambda c: c.submit_order("limit"), None, "keyword arguments only"),
    ],
)
def test_a_keyword_that_does_not_fit_is_a_validation_error_not_a_type_error(
    call: Any, field: str, fragment: str
) -> None:
    wire = Wire()
    with pytest.raises(E.ValidationError, match=fragment) as info:
        call(spot(wire))
    assert info.value.field == field and wire.sent == []


def test_async_and_derivatives_methods_refuse_the_same_way() -> None:
    wire = Wire()
    with pytest.raises(E.ValidationError, match="did you mean") as info:
        deriv(wire).submit_order(**DLIMIT, reduceonly=True)
    assert info.value.field == "reduceonly"
    with pytest.raises(E.ValidationError, match="cliOrdId=") as info:
        deriv(wire).submit_order(**DLIMIT, cl_ord_id="x")
    with pytest.raises(E.ValidationError, match="order_id= or cliOrdId="):
        deriv(wire).cancel_order()

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(wire))
        async with AsyncSpotClient(KEY, SECRET, http_client=http) as client:
            call = client.submit_order(**LIMIT, post_onyl=True)  # refused when awaited, like every other check
            with pytest.raises(E.ValidationError, match="did you mean post_only"):
                await call
        http = httpx.AsyncClient(transport=httpx.MockTransport(wire))
        async with AsyncDerivativesClient(KEY, SECRET, http_client=http) as dclient:
            with pytest.raises(E.ValidationError, match="size is required"):
                await dclient.submit_order(orderType="mkt", symbol="PF_XBTUSD", side="buy")  # type: ignore[call-arg]

    asyncio.run(run())
    assert wire.sent == []


def test_the_layers_wire_form_is_what_is_sent() -> None:
    wire = Wire()
    spot(wire).submit_order(
        ordertype="stop-loss-limit", type="sell", volume=Decimal("0.30"), pair="XBTUSD", price="#5%", price2="-10"
    )
    form = wire.form()
    assert form["volume"] == "0.3" and form["price"] == "#5%" and form["price2"] == "-10"
    assert int(form["nonce"]) > 0 and "deadline" in form  # set by the client for every attempt
    wire = Wire()
    deriv(wire).submit_order(**{**DLIMIT, "size": Decimal("1E+1"), "reduceOnly": True})
    assert wire.sent[0].content == b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=10&limitPrice=100&reduceOnly=true"


# --- extra_params -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "kwargs", "extra", "field"),
    [
        (spot, LIMIT, {"volume": "abc"}, "volume"),
        (spot, LIMIT, {"close[ordertype]": "limit"}, "close[ordertype]"),
        (spot, LIMIT, {"nonce": 1}, "nonce"),
        (spot, LIMIT, {"otp": "1"}, "otp"),
        (spot, LIMIT, {"newfield": 0.5}, "newfield"),
        (spot, LIMIT, {"newfield": "a\nb"}, "newfield"),
        (deriv, DLIMIT, {"side": "sell"}, "side"),
        (deriv, DLIMIT, {"nonce": "1"}, "nonce"),
    ],
)
def test_extra_params_never_override_a_checked_field_or_the_nonce(
    make: Any, kwargs: dict[str, Any], extra: dict[str, Any], field: str
) -> None:
    wire = Wire()
    method = "submit_order"
    with pytest.raises(E.ValidationError) as info:
        getattr(make(wire), method)(**kwargs, extra_params=extra)
    assert info.value.field == field and wire.sent == []


def test_extra_params_add_new_fields_in_the_wire_form() -> None:
    wire = Wire()
    spot(wire).submit_order(**LIMIT, extra_params={"newfield": True, "other": Decimal("1.50")})
    assert wire.form()["newfield"] == "true" and wire.form()["other"] == "1.5"
    wire = Wire({"error": [], "result": {"orders": [{"txid": "A"}, {"txid": "B"}]}})
    order = {k: v for k, v in LIMIT.items() if k != "pair"}
    spot(wire).submit_batch_orders(pair="XBTUSD", orders=[order, order], extra_params={"newfield": 3})
    body = json.loads(wire.sent[0].content)
    assert body["newfield"] == 3 and body["orders"][0]["volume"] == "1"
    with pytest.raises(E.ValidationError, match="must be a dict"):
        spot(Wire()).submit_order(**LIMIT, extra_params=["x"])  # type: ignore[arg-type]


# --- one float policy -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, d: s.submit_order(**{**LIMIT, "volume": 0.1 + 0.2}),
        lambda s, d: s.amend_order(cl_ord_id="abc", limit_price=1.5),
        lambda s, d: s.edit_order(txid="O1", pair="XBTUSD", volume=2.0),
        lambda s, d: s.get_withdrawal_info(asset="XBT", key="k", amount=0.5),
        lambda s, d: d.submit_order(**{**DLIMIT, "limitPrice": 30000.5}),
        lambda s, d: d.edit_order(orderId="o", size=1.0),
        lambda s, d: d.submit_wallet_transfer(fromAccount="a", toAccount="b", unit="USD", amount=1.5),
        lambda s, d: d.request("POST", "/derivatives/api/v3/something-new", {"amount": 0.1}),
    ],
)
def test_floats_are_refused_for_money_on_every_call(call: Any) -> None:
    wire = Wire()
    with pytest.raises(E.ValidationError, match="float") as info:
        call(spot(wire), deriv(wire))
    assert "Decimal(" in str(info.value) and wire.sent == []


# --- nothing raw ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s, d: s.submit_order(**LIMIT, max_retries="3"),
        lambda s, d: s.get_server_time(timeout="5"),
        lambda s, d: d.get_order_status(orderIds=5),
        lambda s, d: d.simulate_margin_requirements(json={"a": {"b": 1.5}}),
        lambda s, d: d.request("POST", "/derivatives/api/v3/batchorder", {"json": "{not json"}),
        lambda s, d: d.request("POST", "/derivatives/api/v3/batchorder", {"json": '{"batchOrder": []}'}),
        lambda s, d: s.request("POST", "/0/private/AddOrder", {**LIMIT, "nonce": "1"}),
        lambda s, d: s.request("POST", "/0/private/NewThing", {"nonce": "1"}),
        lambda s, d: s.submit_batch_orders(pair="XBTUSD", orders="not a list"),
        lambda s, d: d.batch_order_management(batchOrder=[{"order": "send"}] * 492),
    ],
)
def test_odd_inputs_are_validation_errors_never_raw_exceptions(call: Any) -> None:
    wire = Wire()
    with pytest.raises(E.ValidationError):
        call(spot(wire), deriv(wire))
    assert wire.sent == []


def test_a_batch_through_request_is_checked_by_the_layer_too() -> None:
    wire = Wire({"result": "success", "batchStatus": []})
    batch = {"batchOrder": [{"order": "cancel", "order_id": "o-1"}]}
    deriv(wire).request("POST", "/derivatives/api/v3/batchorder", {"json": json.dumps(batch)})
    sent = urllib.parse.parse_qs(wire.sent[0].content.decode())
    assert json.loads(sent["json"][0]) == batch


def _deep(prefix: bytes, suffix: bytes = b"}") -> httpx.Response:
    depth = MAX_DEPTH * 4
    return httpx.Response(200, content=prefix + b"[" * depth + b"]" * depth + suffix)


def test_an_answer_nested_too_deeply_is_an_invalid_response_and_an_unknown_outcome_for_orders() -> None:
    with pytest.raises(E.InvalidResponseError, match="nested deeper"):
        spot(Wire(_deep(b'{"error":[],"result":'))).get_server_time()
    with pytest.raises(E.OrderOutcomeUnknownError) as info:
        spot(Wire(_deep(b'{"error":[],"result":'))).submit_order(**LIMIT, timeout=0.5)
    assert isinstance(info.value.__cause__, E.InvalidResponseError)
    with pytest.raises(E.OrderOutcomeUnknownError) as info:  # with a client id: looked up, then unknown
        deriv(Wire(_deep(b'{"result":"success","x":'))).submit_order(**DLIMIT, cliOrdId="c-1", timeout=0.5)
    assert info.value.cl_ord_id == "c-1"
