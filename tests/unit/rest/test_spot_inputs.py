"""Input validation before anything is sent: ids, money, symbols, credentials, constructor."""

from __future__ import annotations

import base64
import re
import urllib.parse
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

import krakenkit._core.errors as E
from krakenkit.rest import AsyncSpotClient, SpotClient

SECRET = base64.b64encode(b"input-secret-" * 5).decode()


class Never:
    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if request.url.path.endswith("AddOrder"):
            return httpx.Response(200, json={"error": [], "result": {"txid": ["O1"], "descr": {"order": "x"}}})
        return httpx.Response(200, json={"error": [], "result": {}})


@pytest.fixture
def wire() -> tuple[SpotClient, Never]:
    rec = Never()
    return SpotClient("k", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(rec))), rec


BASE: dict[str, Any] = {"ordertype": "limit", "type": "buy", "volume": "1", "pair": "XBTUSD", "price": "100"}
ITEM: dict[str, Any] = {k: v for k, v in BASE.items() if k != "pair"}  # a batch order: the pair is the batch's


# A fixed UUID, not uuid4(): the values are the test ids, which must be the same in every process (pytest -n).
A_UUID = uuid.UUID("3f2c8a1e-7b4d-4e9a-8c61-5d0f9e2b7a34")


@pytest.mark.parametrize("cl_ord_id", [str(A_UUID), A_UUID.hex, "short-id-18-chars!", "a"])
def test_valid_cl_ord_ids_are_sent(wire: tuple[SpotClient, Never], cl_ord_id: str) -> None:
    client, rec = wire
    client.submit_order(**BASE, cl_ord_id=cl_ord_id)
    assert dict(urllib.parse.parse_qsl(rec.sent[0].content.decode()))["cl_ord_id"] == cl_ord_id


@pytest.mark.parametrize("cl_ord_id", ["x" * 19, "", "ünïcode", str(A_UUID) + "0", 123])
def test_invalid_cl_ord_ids_are_refused_before_sending(wire: tuple[SpotClient, Never], cl_ord_id: Any) -> None:
    client, rec = wire
    with pytest.raises(E.ValidationError) as info:
        client.submit_order(**BASE, cl_ord_id=cl_ord_id)
    assert info.value.field == "cl_ord_id"
    assert rec.sent == []


def test_cl_ord_id_with_userref_is_refused(wire: tuple[SpotClient, Never]) -> None:
    client, rec = wire
    with pytest.raises(E.ValidationError, match="userref"):
        client.submit_order(**BASE, cl_ord_id="abc", userref=5)
    with pytest.raises(E.ValidationError, match="userref"):
        client.submit_batch_orders(pair="XBTUSD", orders=[{**ITEM, "cl_ord_id": "a", "userref": 1}, ITEM])
    assert rec.sent == []


def test_generate_new_order_id_is_a_valid_unique_uuid() -> None:
    ids = {SpotClient.generate_new_order_id() for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        assert str(uuid.UUID(value)) == value


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (Decimal("1.2500"), "1.25"),
        ("0.001", "0.001"),
        (3, "3"),
        ("0.1", "0.1"),
        ("1e-7", "0.0000001"),
        (Decimal("1E+3"), "1000"),
        ("12345.678", "12345.678"),
    ],
)
def test_money_inputs_are_exact(wire: tuple[SpotClient, Never], value: Any, sent: str) -> None:
    client, rec = wire
    client.submit_order(**{**BASE, "volume": value})
    assert dict(urllib.parse.parse_qsl(rec.sent[0].content.decode()))["volume"] == sent


@pytest.mark.parametrize(("value", "fix"), [(0.1 + 0.2, "'0.3'"), (1e-7, "'0.0000001'"), (12345.678, "'12345.678'")])
def test_floats_are_refused_with_the_exact_text_to_pass(wire: tuple[SpotClient, Never], value: float, fix: str) -> None:
    client, rec = wire
    for field in ("volume", "price"):
        with pytest.raises(E.ValidationError, match="is a float") as info:
            client.submit_order(**{**BASE, field: value})
        assert info.value.field == field and f"{field}={fix}" in str(info.value)
    with pytest.raises(E.ValidationError, match="is a float"):
        client.get_withdrawal_info(asset="XBT", key="k", amount=value)  # not an order: the same policy
    assert rec.sent == []


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -1, "-0.5", "", "  ", "abc", Decimal("NaN"), True, None, [1]]
)
def test_bad_money_refused(wire: tuple[SpotClient, Never], value: Any) -> None:
    client, rec = wire
    with pytest.raises(E.ValidationError):
        client.submit_order(**{**BASE, "volume": value})
    if not (isinstance(value, str) and value.startswith("-")) and value is not None:
        # a str starting with "-" is Kraken's relative-price syntax; a negative number is refused
        with pytest.raises(E.ValidationError):
            client.submit_order(**{**BASE, "price": value})
    assert rec.sent == []


@pytest.mark.parametrize("value", [Decimal("-1"), -2, -0.5, "-", "+abc", "#", "+-1"])
def test_negative_numeric_prices_and_broken_offsets_refused(wire: tuple[SpotClient, Never], value: Any) -> None:
    client, rec = wire
    with pytest.raises(E.ValidationError):
        client.submit_order(**{**BASE, "price": value})
    assert rec.sent == []


@pytest.mark.parametrize(("price", "sent"), [("+1.5", "+1.5"), ("-2%", "-2%"), ("#10", "#10"), ("+1.50%", "+1.5%")])
def test_relative_prices_allowed(wire: tuple[SpotClient, Never], price: str, sent: str) -> None:
    client, rec = wire
    client.submit_order(**{**BASE, "price": price})
    assert dict(urllib.parse.parse_qsl(rec.sent[0].content.decode()))["price"] == sent


def test_trailing_stop_takes_a_plus_offset_and_a_bare_percentage_is_refused(wire: tuple[SpotClient, Never]) -> None:
    client, rec = wire
    for price, fragment in (("5%", "needs a '+', '-' or '#' prefix"), ("-2%", "'+' prefix"), ("100", "'+' prefix")):
        with pytest.raises(E.ValidationError, match=re.escape(fragment)):
            client.submit_order(**{**BASE, "ordertype": "trailing-stop", "price": price})
    assert rec.sent == []
    client.submit_order(**{**BASE, "ordertype": "trailing-stop", "price": "+2%"})
    assert dict(urllib.parse.parse_qsl(rec.sent[0].content.decode()))["price"] == "+2%"


def test_batch_orders_money_validated(wire: tuple[SpotClient, Never]) -> None:
    client, rec = wire
    with pytest.raises(E.ValidationError, match=r"orders\[1\]\.volume") as info:
        client.submit_batch_orders(pair="XBTUSD", orders=[ITEM, {**ITEM, "volume": Decimal("NaN")}])
    assert info.value.field == "orders[1].volume"
    with pytest.raises(E.ValidationError, match=r"orders\[0\]") as info:
        client.submit_batch_orders(pair="XBTUSD", orders=[{"type": "buy"}, ITEM])
    assert info.value.field == "orders[0].ordertype"
    assert rec.sent == []


@pytest.mark.parametrize(("pair", "hint"), [("BTC/USD", "XBTUSD"), ("PF_XBTUSD", "XBTUSD"), ("ETH/EUR", "ETHEUR")])
def test_wrong_symbol_forms_refused_with_the_right_form(wire: tuple[SpotClient, Never], pair: str, hint: str) -> None:
    client, rec = wire
    with pytest.raises(E.SymbolFormatError) as info:
        client.get_ticker(pair=pair)
    assert hint in str(info.value)
    with pytest.raises(E.SymbolFormatError):
        client.submit_order(**{**BASE, "pair": pair})
    assert rec.sent == []


def test_symbol_check_can_be_disabled() -> None:
    rec = Never()
    client = SpotClient(symbol_check=False, http_client=httpx.Client(transport=httpx.MockTransport(rec)))
    client.get_ticker(pair="BTC/USD")
    assert rec.sent[0].url.params["pair"] == "BTC/USD"


def test_required_params_and_exactly_one_id(wire: tuple[SpotClient, Never]) -> None:
    client, rec = wire
    with pytest.raises(E.ValidationError, match="txid= or cl_ord_id="):
        client.cancel_order()
    with pytest.raises(E.ValidationError, match="txid= or cl_ord_id="):
        client.amend_order(txid="O1", cl_ord_id="c1", order_qty="1")
    with pytest.raises(E.ValidationError, match="pair is required") as missing:
        client.submit_order(ordertype="limit", type="buy", volume="1")  # type: ignore[call-arg]
    assert missing.value.field == "pair"
    with pytest.raises(E.ValidationError, match="must be True or False"):
        client.submit_order(**BASE, validate="yes")  # type: ignore[arg-type]
    with pytest.raises(E.ValidationError, match="must be an int"):
        client.get_order_book(pair="XBTUSD", count="10")  # type: ignore[arg-type]
    with pytest.raises(E.ValidationError, match="max_retries"):
        client.get_server_time(max_retries=-1)
    assert rec.sent == []


def test_private_call_without_credentials_raises_before_sending() -> None:
    rec = Never()
    client = SpotClient(http_client=httpx.Client(transport=httpx.MockTransport(rec)))
    with pytest.raises(E.MissingCredentialsError, match="get_account_balance"):
        client.get_account_balance()
    with pytest.raises(E.MissingCredentialsError):
        client.request("POST", "/0/private/Anything")
    assert rec.sent == []
    client.get_server_time()
    assert len(rec.sent) == 1


@pytest.mark.parametrize("cls", [SpotClient, AsyncSpotClient])
def test_only_one_of_key_and_secret_refuses_to_start(cls: type[SpotClient]) -> None:
    with pytest.raises(E.MissingCredentialsError, match="api_secret"):
        cls("key-only")
    with pytest.raises(E.MissingCredentialsError, match="api_key"):
        cls(None, SECRET)


def test_invalid_base64_secret_refused() -> None:
    with pytest.raises(E.ValidationError, match="base64"):
        SpotClient("k", "not-base64!!!")


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_SPOT_KEY", raising=False)
    monkeypatch.delenv("API_SPOT_SECRET", raising=False)
    with pytest.raises(E.MissingCredentialsError, match="API_SPOT_KEY and API_SPOT_SECRET"):
        SpotClient.from_env()
    monkeypatch.setenv("API_SPOT_KEY", "envkey")
    with pytest.raises(E.MissingCredentialsError, match="API_SPOT_SECRET is not set") as info:
        SpotClient.from_env()
    assert "API_SPOT_KEY" not in str(info.value).split("(")[0]
    monkeypatch.setenv("API_SPOT_SECRET", SECRET)
    client = SpotClient.from_env(base_url="http://127.0.0.1:1")
    assert client.api_key == "envkey" and client.base_url == "http://127.0.0.1:1"
    assert AsyncSpotClient.from_env().has_credentials
