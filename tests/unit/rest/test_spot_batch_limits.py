"""Batch sizes outside Kraken's documented 2..15 are refused before anything is sent."""

from __future__ import annotations

import base64

import httpx
import pytest

from krakenkit import ValidationError
from krakenkit.rest.spot import SpotClient

SECRET = base64.b64encode(b"s" * 64).decode()
ORDER = {"ordertype": "limit", "type": "buy", "volume": "0.01", "price": "100"}


@pytest.mark.parametrize("count", [0, 1, 16])
def test_add_order_batch_size_is_checked_locally(count: int) -> None:
    sent: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)))
    client = SpotClient("k", SECRET, http_client=http)
    with pytest.raises(ValidationError, match=r"needs at least 2|takes at most 15") as info:
        client.submit_batch_orders(pair="XBTUSD", orders=[ORDER] * count)
    assert info.value.field == "orders"
    assert sent == []


def test_add_order_batch_of_fifteen_is_sent() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"error": [], "result": {"orders": [{"txid": f"T{i}"} for i in range(15)]}})

    client = SpotClient("k", SECRET, http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    client.submit_batch_orders(pair="XBTUSD", orders=[ORDER] * 15)
    assert len(sent) == 1 and sent[0].url.path == "/0/private/AddOrderBatch"
