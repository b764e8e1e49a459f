"""``krakenkit order`` checks its input with the validation layer before anything starts or connects (exit
code 2, the field, the option that sets it and the fix); ``--timeout`` takes positive seconds only."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from krakenkit import SpotClient, ValidationError
from krakenkit.cli.main import main
from krakenkit.sandbox import Sandbox

KEY = "cli-validation-key-0001"
SECRET = base64.b64encode(b"cli-validation-secret-" * 3).decode()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Live credentials in the environment, and every HTTP request recorded and refused."""
    seen: list[str] = []

    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        raise httpx.ConnectError("no network here", request=request)

    async def refuse_async(self: Any, request: httpx.Request) -> httpx.Response:
        return refuse(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse_async)
    monkeypatch.setenv("API_SPOT_KEY", KEY)
    monkeypatch.setenv("API_SPOT_SECRET", SECRET)
    return seen


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "field", "option", "fix"),
    [
        (["order", "long", "1", "XBTUSD", "--price", "1"], "type", "SIDE", "use 'buy'"),
        (["order", "BUY", "1", "XBTUSD", "--price", "1"], "type", "SIDE", "use 'buy'"),
        (["order", "buy", "0", "XBTUSD", "--price", "1"], "volume", "VOLUME", "greater than zero"),
        (["order", "buy", "1e999999999", "XBTUSD", "--price", "1"], "volume", "VOLUME", "too large"),
        (["order", "buy", "1", "xbtusd", "--price", "1"], "pair", "SYMBOL", "use 'XBTUSD'"),
        (["order", "buy", "1", "btc/usd", "--price", "1"], "pair", "SYMBOL", "upper case"),
        (["order", "buy", "1", "XBTUSD"], "price", "--price", "price is required"),
        (["order", "buy", "1", "XBTUSD", "--price", "1", "--type", "lmt"], "ordertype", "--type", "use 'limit'"),
        (["order", "buy", "1", "XBTUSD", "--price", "1", "--time-in-force", "gtc"], "timeinforce", None, "'GTC'"),
        (["order", "buy", "1", "XBTUSD", "--price", "1", "--oflags", "post_only"], "oflags", "--oflags", "'post'"),
        (["order", "buy", "1", "XBTUSD", "--price", "1", "--userref", "12a"], "userref", "--userref", "an int"),
        (["order", "buy", "1", "XBTUSD", "--price", "1", "--cl-ord-id", "x" * 19], "cl_ord_id", "--cl-ord-id", "18"),
        (["order", "buy", "1", "XBTUSD", "--type", "market", "--price", "1"], "price", "--price", "not used by"),
    ],
)
def test_bad_input_exits_2_naming_field_option_and_fix_with_nothing_sent(
    capsys: pytest.CaptureFixture[str], sent: list[str], argv: list[str], field: str, option: str | None, fix: str
) -> None:
    code, doc = run(capsys, *argv, "--live")
    assert code == 2 and doc["ok"] is False and doc["field"] == field, doc
    assert fix in doc["message"] and doc["option"] == (option or "--time-in-force")
    assert sent == []


def test_the_message_is_the_clients_own(capsys: pytest.CaptureFixture[str], sent: list[str]) -> None:
    code, doc = run(capsys, "order", "buy", "0.1", "XBTUSD", "--price", "+0", "--live")
    assert code == 2
    client = SpotClient(KEY, SECRET)
    with pytest.raises(ValidationError) as info:
        client.submit_order(ordertype="limit", type="buy", volume="0.1", pair="XBTUSD", price="+0")
    assert doc["message"] == str(info.value) and sent == []


def test_bad_input_is_refused_before_a_sandbox_even_starts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["order", "buy", "-1", "XBTUSD", "--price", "1", "--sandbox"]) == 2
    err = capsys.readouterr().err
    assert "negative" in err and "[VOLUME]" in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "abc"])
@pytest.mark.parametrize(
    "argv", [["order", "buy", "1", "XBTUSD", "--price", "1"], ["book", "BTC/USD", "--once"], ["rollout"]]
)
def test_timeout_must_be_positive_seconds(
    capsys: pytest.CaptureFixture[str], sent: list[str], argv: list[str], value: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--live", f"--timeout={value}"])
    assert info.value.code == 2
    assert "--timeout" in capsys.readouterr().err and sent == []


def test_order_options_reach_the_exchange(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(seed=4) as sb:
        code, doc = run(
            capsys,
            "order",
            "buy",
            "0.001",
            "BTC/USD",
            "--price",
            "1000",
            "--time-in-force",
            "GTD",
            "--expiretm",
            "+60",
            "--oflags",
            "post",
            "--userref",
            "42",
            "--timeout",
            "5",
            "--sandbox-url",
            sb.rest_url,
        )
    assert code == 0 and doc["validated_only"] is True and doc["cl_ord_id"] is None, doc
    assert "buy 0.00100000 XBTUSD @ limit 1000" in doc["descr"]
