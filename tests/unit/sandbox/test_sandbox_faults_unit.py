"""The sandbox fault injector's counted rules and the bodies of its garbled answers."""

from __future__ import annotations

import json

import pytest

from krakenkit_sandbox import FaultInjector
from krakenkit_sandbox.fault_bodies import DEEP_NESTING, NON_JSON_TEXT, garble_text, garbled_body

SPOT_OK = json.dumps({"error": [], "result": {"txid": ["OABC-1"], "descr": {"order": "buy 0.01 XBTUSD @ market"}}})
FUT_OK = json.dumps({"result": "success", "sendStatus": {"order_id": "x", "status": "placed"}, "serverTime": "t"})


def test_counted_rules_match_paths_and_run_out() -> None:
    f = FaultInjector()
    f.late_arrival(["AddOrder", "sendorder"], n=2, delay=0.5)
    assert f.take_late("/0/private/AddOrderBatch") is None  # a path's tail, not a prefix
    assert f.take_late("/0/private/AddOrder") == 0.5
    assert f.take_late("/derivatives/api/v3/sendorder") == 0.5
    assert f.take_late("/0/private/AddOrder") is None  # n used up
    f.trickle_response(None, n=1, chunk=3, interval=0.25)
    assert f.take_trickle("/0/public/Time") == (3, 0.25)
    assert f.take_trickle("/0/public/Time") is None
    f.garble_response("AddOrder", n=3, kind="deep")
    f.clear()
    assert f.take_garble("/0/private/AddOrder") is None


def test_ws_rules() -> None:
    f = FaultInjector()
    f.ws_late_arrival(None, n=1, delay=1.0)
    f.ws_garble_reply("batch_add", n=1, kind="swallow")
    assert f.take_ws_garble("add_order") is None
    assert f.take_ws_garble("batch_add") == "swallow"
    assert f.take_ws_late("edit_order") == 1.0 and f.take_ws_late("edit_order") is None
    f.ignore_subscriptions("book", n=2, method="subscribe", ws_key="derivatives")
    assert not f.take_ignored_subscription("spotPublicV2", "subscribe", "book")
    assert not f.take_ignored_subscription("derivativesPublicV1", "unsubscribe", "book")
    assert not f.take_ignored_subscription("derivativesPublicV1", "subscribe", "ticker")
    assert f.take_ignored_subscription("derivativesPrivateV1", "subscribe", "book")
    assert f.take_ignored_subscription("derivativesPublicV1", "subscribe", "book")
    assert not f.take_ignored_subscription("derivativesPublicV1", "subscribe", "book")


@pytest.mark.parametrize(
    "cmd",
    [
        {"action": "late_arrival", "path": "AddOrder", "n": 0},
        {"action": "late_arrival", "path": "AddOrder", "n": True},
        {"action": "late_arrival", "path": "AddOrder", "delay": "2"},
        {"action": "garble_response", "path": "AddOrder", "kind": "xml"},
        {"action": "trickle_response", "chunk": 0},
        {"action": "trickle_response", "interval": -1},
        {"action": "ws_garble_reply", "kind": "html"},
        {"action": "ignore_subscriptions", "method": "ping"},
        {"action": "set_nonce_window"},  # a Sandbox command, not the injector's
        {"action": "_take"},
    ],
)
def test_bad_admin_commands_are_refused(cmd: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultInjector().apply_admin(cmd)


def test_admin_command_reaches_the_method() -> None:
    f = FaultInjector()
    f.apply_admin({"action": "ws_late_arrival", "method": ["add_order"], "n": 1, "delay": 0.3})
    assert f.take_ws_late("add_order") == 0.3
    with pytest.raises(TypeError):
        f.apply_admin({"action": "late_arrival", "path": "AddOrder", "wrong": 1})


def test_garbled_html_and_truncated() -> None:
    body, ctype = garbled_body(SPOT_OK.encode(), "html", False)
    assert ctype == "text/html" and body.startswith(b"<!DOCTYPE html>")
    body, ctype = garbled_body(SPOT_OK.encode(), "truncated", False)
    assert ctype == "application/json" and SPOT_OK.encode().startswith(body) and len(body) == len(SPOT_OK) // 2
    with pytest.raises(ValueError):
        json.loads(body)


def test_garbled_shape_keeps_the_envelope_and_changes_the_types() -> None:
    spot = json.loads(garbled_body(SPOT_OK.encode(), "shape", False)[0])
    assert spot["error"] == [] and isinstance(spot["result"], list)
    assert dict((k, v) for k, v in spot["result"])["txid"] == {"0": 6}  # list -> object, string -> number
    fut = json.loads(garbled_body(FUT_OK.encode(), "shape", True)[0])
    assert fut["result"] == "success" and fut["serverTime"] == "t" and isinstance(fut["sendStatus"], list)


def test_garbled_deep() -> None:
    body, _ = garbled_body(FUT_OK.encode(), "deep", True)
    text = body.decode()
    assert text.startswith('{"result": "success", "sendStatus": [[[[') and text.count("[") == DEEP_NESTING
    with pytest.raises(RecursionError):
        json.loads(text)
    spot = garbled_body(b"not json", "deep", False)[0].decode()
    assert spot.startswith('{"error": [], "result": [[[')


def test_garble_text_of_ws_replies() -> None:
    reply = '{"method":"add_order","result":{"order_id":"O"},"success":true}'
    assert garble_text(reply, "swallow") is None
    assert garble_text(reply, "garbage") == NON_JSON_TEXT
    cut = garble_text(reply, "truncated")
    assert cut is not None and reply.startswith(cut) and len(cut) == len(reply) // 2
