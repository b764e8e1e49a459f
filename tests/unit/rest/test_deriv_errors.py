"""Derivatives envelopes, error strings, order statuses, batch outcomes and unknown-outcome recovery."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import httpx
import pytest
from rest_testkit import Handler, deriv_client, replying

from kraken_errors import FUTURES_ERROR_CLASSES
from krakenkit._core import errors as E
from krakenkit.rest import RetryPolicy
from krakenkit.rest.derivatives import DerivativesClient

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")

SECRET = base64.b64encode(b"s" * 64).decode()


def _client(handler: Handler, **kw: Any) -> DerivativesClient:
    # NoRateLimit by default: these tests script rate-limit errors; the limiter would wait
    return deriv_client(handler, "K", SECRET, **kw)


# --- every documented error string ------------------------------------------------------------------

FUTURES_ERRORS = FUTURES_ERROR_CLASSES


@pytest.mark.parametrize("error", sorted(FUTURES_ERRORS))
def test_error_string_maps_to_its_exception(error: str) -> None:
    doc = {"result": "error", "serverTime": "2024-01-01T00:00:00Z", "error": error}
    handler, seen = replying(*([doc] * 10))
    with _client(handler, max_retries=0) as client:
        with pytest.raises(E.KrakenAPIError) as info:
            client.get_accounts()
    exc = info.value
    assert type(exc) is FUTURES_ERRORS[error]
    assert exc.errors == [error]
    assert exc.endpoint == "/derivatives/api/v3/accounts"
    # invalid nonce gets RetryPolicy.nonce_resends re-signed resends; everything else none with max_retries=0
    assert len(seen) == (1 + RetryPolicy().nonce_resends if error.startswith("nonce") else 1)


def test_unknown_error_string_is_a_generic_api_error() -> None:
    handler, _ = replying({"result": "error", "error": "somethingNew"})
    with _client(handler) as client, pytest.raises(E.KrakenAPIError) as info:
        client.get_accounts()
    assert type(info.value) is E.KrakenAPIError and info.value.errors == ["somethingNew"]


def test_rate_limit_retried_for_reads_then_succeeds() -> None:
    handler, seen = replying(
        {"result": "error", "error": "apiLimitExceeded"},
        {"result": "success", "openPositions": [{"symbol": "PF_XBTUSD", "size": 2, "price": 100.5, "side": "long"}]},
    )
    with _client(handler) as client:
        positions = client.get_open_positions()
    assert len(seen) == 2
    assert positions[0].size == Decimal(2) and isinstance(positions[0].size, Decimal)
    assert positions[0].price == Decimal("100.5")


def test_history_http_errors_without_envelope() -> None:
    handler, _ = replying(httpx.Response(429, text="slow down", headers={"rate-limit-reset": "7"}))
    with _client(handler, max_retries=0) as client, pytest.raises(E.RateLimitError) as info:
        client.get_order_events()
    assert info.value.retry_after == 7.0 and info.value.status_code == 429
    handler, _ = replying(httpx.Response(401, text="unauthorized"))
    with _client(handler, max_retries=0) as client, pytest.raises(E.AuthenticationError):
        client.get_execution_events()


def test_html_502_is_invalid_response() -> None:
    handler, _ = replying(*[httpx.Response(502, text="<html>cloudflare</html>")] * 5)
    with _client(handler, max_retries=1) as client, pytest.raises(E.InvalidResponseError) as info:
        client.get_tickers()
    assert info.value.status_code == 502


# --- order statuses ------------------------------------------------------------------------------------

SEND_REJECTIONS = [
    "marketSuspended",
    "marketInactive",
    "invalidPrice",
    "invalidSize",
    "tooManySmallOrders",
    "insufficientAvailableFunds",
    "wouldCauseLiquidation",
    "clientOrderIdAlreadyExist",
    "clientOrderIdTooBig",
    "maxPositionViolation",
    "outsidePriceCollar",
    "wouldIncreasePriceDislocation",
    "notFound",
    "orderForEditNotAStop",
    "orderForEditNotFound",
    "postWouldExecute",
    "iocWouldNotExecute",
    "selfFill",
    "wouldNotReducePosition",
    "marketIsPostOnly",
    "tooManyOrders",
    "fixedLeverageTooHigh",
    "clientOrderIdInvalid",
    "cannotEditTriggerPriceOfTrailingStop",
    "cannotEditLimitPriceOfTrailingStop",
    "wouldProcessAfterSpecifiedTime",
    "cancelled",
    "edited",
    "invalidOrderType",
    "invalidSide",
]
SPECIFIC = {
    "insufficientAvailableFunds": E.OrderInsufficientFundsError,
    "clientOrderIdAlreadyExist": E.DuplicateClientOrderIdError,
    "postWouldExecute": E.PostWouldExecuteError,
    "marketSuspended": E.MarketSuspendedError,
    "marketInactive": E.MarketSuspendedError,
}


def _send(client: DerivativesClient, **kw: Any) -> Any:
    args: dict[str, Any] = {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": 1, "limitPrice": 10}
    args.update(kw)
    return client.submit_order(**args)


@pytest.mark.parametrize("status", SEND_REJECTIONS)
def test_send_status_other_than_placed_raises_with_status(status: str) -> None:
    doc = {"result": "success", "sendStatus": {"status": status, "order_id": "o-1", "receivedTime": "t"}}
    handler, seen = replying(doc, doc)
    with _client(handler) as client, pytest.raises(E.OrderRejectedError) as info:
        _send(client)
    assert type(info.value) is SPECIFIC.get(status, E.OrderRejectedError)
    assert info.value.status == status
    assert info.value.endpoint == "/derivatives/api/v3/sendorder"
    assert len(seen) == 1  # a rejection is final: never resent


@pytest.mark.parametrize("status", ["placed", "partiallyFilled", "filled"])
def test_send_success_statuses(status: str) -> None:
    handler, _ = replying({"result": "success", "sendStatus": {"status": status, "order_id": "o-7", "cliOrdId": "c-7"}})
    with _client(handler) as client:
        res = _send(client, cliOrdId="c-7")
    assert (res.status, res.order_id, res.cli_ord_id, res.recovered) == (status, "o-7", "c-7", False)


EDIT_REJECTIONS = [
    "invalidSize",
    "invalidPrice",
    "insufficientAvailableFunds",
    "selfFill",
    "tooManySmallOrders",
    "outsidePriceCollar",
    "postWouldExecute",
    "wouldNotReducePosition",
    "orderForEditNotFound",
    "orderForEditNotAStop",
]


@pytest.mark.parametrize("status", EDIT_REJECTIONS)
def test_edit_status_other_than_edited_raises(status: str) -> None:
    handler, _ = replying({"result": "success", "editStatus": {"status": status, "orderId": "o"}})
    with _client(handler) as client, pytest.raises(E.OrderRejectedError) as info:
        client.edit_order(orderId="o", size=2)
    assert info.value.status == status and type(info.value) is SPECIFIC.get(status, E.OrderRejectedError)


def test_edit_success() -> None:
    handler, _ = replying({"result": "success", "editStatus": {"status": "edited", "orderId": "o-1"}})
    with _client(handler) as client:
        assert client.edit_order(orderId="o-1", limitPrice="2").order_id == "o-1"


@pytest.mark.parametrize("status", ["filled", "notFound"])
def test_cancel_status_other_than_cancelled_raises(status: str) -> None:
    handler, _ = replying({"result": "success", "cancelStatus": {"status": status}})
    with _client(handler) as client, pytest.raises(E.OrderRejectedError) as info:
        client.cancel_order(order_id="o-1")
    assert info.value.status == status


def test_cancel_all_with_nothing_to_cancel_is_not_an_error() -> None:
    handler, _ = replying(
        {
            "result": "success",
            "cancelStatus": {"status": "noOrdersToCancel", "cancelOnly": "all", "cancelledOrders": []},
        }
    )
    with _client(handler) as client:
        res = client.cancel_all_orders()
    assert res.status == "noOrdersToCancel" and res.cancelled_order_ids == []


def test_batch_returns_each_instruction_outcome_without_raising() -> None:
    handler, _ = replying(
        {
            "result": "success",
            "batchStatus": [
                {"status": "placed", "order_tag": "0", "order_id": "o-1", "orderEvents": []},
                {"status": "insufficientAvailableFunds", "order_tag": "1", "orderEvents": []},
                {"status": "cancelled", "order_id": "o-9", "orderEvents": []},
            ],
        }
    )
    with _client(handler) as client:
        res = client.batch_order_management(
            batchOrder=[
                {"order": "send", "orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": 1, "limitPrice": 1},
                {
                    "order": "send",
                    "orderType": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "size": 900,
                    "limitPrice": 1,
                },
                {"order": "cancel", "order_id": "o-9"},
            ]
        )
    assert [r.status for r in res] == ["placed", "insufficientAvailableFunds", "cancelled"]
    assert [r.ok for r in res] == [True, False, True]
    assert not res.all_ok and len(res.failed) == 1
    failed = res.by_tag("1")
    assert failed is not None and isinstance(failed.error, E.OrderInsufficientFundsError)
    assert failed.error.status == "insufficientAvailableFunds"


def test_success_without_status_block_leaves_the_outcome_unknown() -> None:
    handler, _ = replying({"result": "success"})
    with _client(handler) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        _send(client)
    assert isinstance(info.value.__cause__, E.InvalidResponseError)
    # a cancel answered without its status may have cancelled: unknown, with the order id
    handler, _ = replying({"result": "success"})
    with _client(handler, max_retries=0) as client, pytest.raises(E.OrderOutcomeUnknownError) as unknown:
        client.cancel_order(order_id="o")
    assert isinstance(unknown.value.__cause__, E.InvalidResponseError)
    assert unknown.value.context["order_id"] == "o"


def test_typed_results_use_exact_decimals() -> None:
    body = (
        b'{"result":"success","orderBook":{"bids":[[30000.1,0.3],[30001.5,1]],"asks":[[30010.25,2]]},"serverTime":"t"}'
    )
    handler, _ = replying(httpx.Response(200, content=body))
    with _client(handler) as client:
        book = client.get_orderbook(symbol="PF_XBTUSD")
    assert book.bids[0] == (Decimal("30001.5"), Decimal(1))
    assert book.bids[1] == (Decimal("30000.1"), Decimal("0.3"))
    assert book.asks == [(Decimal("30010.25"), Decimal(2))]
    assert book.symbol == "PF_XBTUSD"


# --- unknown outcome --------------------------------------------------------------------------------


def _status_doc(cli: str, status: str = "ENTERED_BOOK") -> dict[str, Any]:
    return {
        "result": "success",
        "orders": [
            {
                "order": {
                    "orderId": "o-42",
                    "cliOrdId": cli,
                    "type": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "quantity": 1,
                    "filled": 0,
                    "limitPrice": 10,
                },
                "status": status,
                "updateReason": None,
                "error": None,
            }
        ],
    }


def test_timeout_with_cli_ord_id_is_recovered_by_order_status() -> None:
    handler, seen = replying(httpx.ReadTimeout("held"), _status_doc("c-1"))
    with _client(handler) as client:
        res = _send(client, cliOrdId="c-1")
    assert res.recovered and res.order_id == "o-42" and res.cli_ord_id == "c-1"
    paths = [r.url.path for r in seen]
    assert paths == ["/derivatives/api/v3/sendorder", "/derivatives/api/v3/orders/status"]
    assert seen[1].content == b"cliOrdIds=c-1"


@pytest.mark.parametrize(
    "failure",
    [
        {"result": "error", "error": "Server Error"},
        {"result": "error", "error": "unknownError"},
        {"result": "error", "error": "Unavailable"},
        httpx.Response(500, text="oops"),
    ],
)
def test_unknown_outcome_errors_are_resolved(failure: Any) -> None:
    handler, seen = replying(failure, _status_doc("c-2"))
    with _client(handler) as client:
        res = _send(client, cliOrdId="c-2")
    assert res.recovered
    assert sum(r.url.path.endswith("sendorder") for r in seen) == 1


def test_order_found_in_fills_when_aged_out_of_status() -> None:
    handler, seen = replying(
        httpx.ReadTimeout("held"),
        {"result": "success", "orders": []},
        {"result": "success", "openOrders": []},
        {
            "result": "success",
            "fills": [
                {
                    "fill_id": "f",
                    "order_id": "o-5",
                    "cliOrdId": "c-5",
                    "symbol": "PF_XBTUSD",
                    "size": 1,
                    "price": 5,
                    "side": "buy",
                    "fillTime": "t",
                    "fillType": "taker",
                }
            ],
        },
    )
    with _client(handler) as client:
        res = _send(client, cliOrdId="c-5", orderType="mkt", limitPrice=None)
    assert res.recovered and res.status == "filled" and res.order_id == "o-5"
    assert sum(r.url.path.endswith("sendorder") for r in seen) == 1


def test_order_found_in_open_orders() -> None:
    handler, seen = replying(
        httpx.ReadTimeout("held"),
        {"result": "success", "orders": []},
        {
            "result": "success",
            "openOrders": [
                {"order_id": "o-9", "cliOrdId": "c-9", "symbol": "PF_XBTUSD", "side": "buy", "orderType": "lmt"}
            ],
        },
    )
    with _client(handler) as client:
        res = _send(client, cliOrdId="c-9")
    assert res.recovered and res.order_id == "o-9" and res.status == "placed"
    assert [r.url.path.rsplit("/", 1)[-1] for r in seen] == ["sendorder", "status", "openorders"]


def test_not_found_anywhere_is_never_resent() -> None:
    """Derivatives has no order deadline the client relies on: a late first request could still execute, so an
    order of unknown outcome is never sent again; it raises with the cliOrdId for the caller to reconcile."""
    handler, seen = replying(
        httpx.ReadTimeout("held"),
        {"result": "success", "orders": []},
        {"result": "success", "openOrders": []},
        {"result": "success", "fills": []},
        {"result": "success", "sendStatus": {"status": "placed", "order_id": "o-6", "cliOrdId": "c-6"}},
    )
    with _client(handler, max_retries=3) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        _send(client, cliOrdId="c-6")
    assert info.value.cl_ord_id == "c-6"
    assert info.value.context["lookup_found"] is False
    assert sum(r.url.path.endswith("sendorder") for r in seen) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html><body>502 Bad Gateway</body></html>"),
        httpx.Response(200, content=b'{"result":"success","sendStatus":{"status":"pla'),
        httpx.Response(200, content=b"[" * 5000 + b"]" * 5000),
        httpx.Response(200, json={"result": "success", "sendStatus": "placed"}),
        httpx.Response(404, text="not found"),
    ],
    ids=["html-200", "truncated", "deeply-nested", "changed-shape", "bare-404"],
)
def test_unreadable_answers_to_an_order_are_unknown_never_rejected(answer: httpx.Response) -> None:
    handler, seen = replying(
        answer,
        {"result": "success", "orders": []},
        {"result": "success", "openOrders": []},
        {"result": "success", "fills": []},
    )
    with _client(handler, max_retries=3) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        _send(client, cliOrdId="c-u")
    assert info.value.cl_ord_id == "c-u"
    assert sum(r.url.path.endswith("sendorder") for r in seen) == 1


def test_edit_of_unknown_outcome_is_never_resent() -> None:
    handler, seen = replying(httpx.ReadTimeout("held"), {"result": "success", "editStatus": {"status": "edited"}})
    with _client(handler, max_retries=3) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        client.edit_order(cliOrdId="c-e", size=2)
    assert info.value.cl_ord_id == "c-e" and len(seen) == 1


def test_batch_of_unknown_outcome_names_every_cli_ord_id() -> None:
    handler, seen = replying(httpx.ReadTimeout("held"))
    send = {"order": "send", "orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": 1, "limitPrice": 1}
    sends = [{**send, "cliOrdId": f"b-{i}"} for i in range(2)]
    with _client(handler, max_retries=3) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        client.batch_order_management(batchOrder=[*sends, {"order": "cancel", "cliOrdId": "other"}])
    assert info.value.cl_ord_id == "b-0" and info.value.context["cl_ord_ids"] == ["b-0", "b-1"]
    assert len(seen) == 1


def test_timeout_without_cli_ord_id_raises_outcome_unknown_with_request() -> None:
    handler, seen = replying(httpx.ReadTimeout("held"))
    with _client(handler) as client, pytest.raises(E.OrderOutcomeUnknownError) as info:
        _send(client)
    exc = info.value
    assert exc.cl_ord_id is None
    assert exc.request["params"]["symbol"] == "PF_XBTUSD" and exc.request["params"]["size"] == "1"
    assert len(seen) == 1
    assert E.is_outcome_unknown_error(exc)


def test_connect_error_is_safe_to_resend() -> None:
    handler, seen = replying(
        httpx.ConnectError("refused"), {"result": "success", "sendStatus": {"status": "placed", "order_id": "o"}}
    )
    with _client(handler) as client:
        assert _send(client).order_id == "o"
    assert len(seen) == 2


def test_lists_keep_the_whole_response_in_raw() -> None:
    handler, _ = replying(
        {
            "result": "success",
            "serverTime": "T",
            "fills": [
                {
                    "fill_id": "f1",
                    "order_id": "o",
                    "cliOrdId": "c",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "size": 1,
                    "price": 2,
                    "fillTime": "t",
                    "fillType": "maker",
                }
            ],
        }
    )
    with _client(handler) as client:
        fills = client.get_fills()
    assert isinstance(fills, list) and fills[0].cli_ord_id == "c" and fills[0].size == Decimal(1)
    assert fills.raw["serverTime"] == "T" and fills.server_time == "T"
    assert fills.raw["fills"][0]["fill_id"] == "f1"
