"""One table of bad inputs, the same verdict on every entry point, nothing sent.

Every bad row of ``validation_cases.py`` (the user mistakes of issue 13, per API) runs through

* REST: ``SpotClient`` / ``DerivativesClient`` (sync), the method ``SCHEMA_ALIASES`` names for the row's
  operation, on the client's own HTTP transport;
* WebSocket: ``WebsocketAPIClient`` (``submit_spot_order`` ...), on its own WebSocket transport;
* the CLI: ``krakenkit order ... --live --json`` in-process (``main([...])``), for every AddOrder row the
  command line can express;

and must be refused with the table's error class, naming the table's field, with the fix in the message
(the CLI: exit code 2, the same message as ``SpotClient``), while the transports saw nothing at all.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest
from parity_kit import Wire
from validation_cases import CASES, Case

from krakenkit import DerivativesClient, Environment, KrakenError, SpotClient, ValidationError, WebsocketAPIClient
from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.validation_ops import SCHEMA_ALIASES
from krakenkit.cli.commands import ORDER_OPTIONS
from krakenkit.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")

KEY = "parity-test-key-0001"
SECRET = base64.b64encode(b"parity-test-secret-" * 3).decode()
#: schema name -> client method name (``spot_rest.AddOrder`` -> ``submit_order``)
METHOD = {schema: alias.split(".", 1)[1] for alias, schema in SCHEMA_ALIASES.items()}
LOCAL = Environment("http://127.0.0.1:9", "http://127.0.0.1:9", dict.fromkeys(WS_KEY_MAP.ALL, "ws://127.0.0.1:9/v2"))


def _keyword_call(case: Case) -> bool:
    """The row's params can be keyword arguments at all (``params_not_a_dict`` fails in the caller's ``**``)."""
    return isinstance(case.params, Mapping) and all(isinstance(k, str) for k in case.params)


BAD = [c for c in CASES if not c.ok and _keyword_call(c)]
REST_ROWS = [c for c in BAD if c.operation.split(".", 1)[0] in ("spot_rest", "derivatives")]
WS_ROWS = [c for c in BAD if c.operation.startswith("spot_ws.")]


def _kwargs(case: Case) -> dict[str, Any]:
    kwargs = dict(case.params)
    if case.extra_params is not None:
        kwargs["extra_params"] = dict(case.extra_params)
    return kwargs


def assert_verdict(case: Case, exc: BaseException) -> None:
    assert isinstance(exc, case.error), f"{type(exc).__name__}: {exc}"
    assert case.fragment in str(exc), f"{case.fragment!r} not in {str(exc)!r}"
    if case.field is not None:
        assert exc.field == case.field, f"field {exc.field!r}, expected {case.field!r}: {exc}"


def rest_verdict(case: Case) -> ValidationError:
    """The row through its sync REST client; the ValidationError it raised."""
    client: Any = (
        SpotClient(KEY, SECRET, max_retries=0)
        if case.operation.startswith("spot_rest.")
        else DerivativesClient(KEY, SECRET, max_retries=0)
    )
    with client, pytest.raises(ValidationError) as info:
        getattr(client, METHOD[case.operation])(**_kwargs(case))
    return info.value


@pytest.mark.parametrize("case", REST_ROWS, ids=str)
def test_rest_refuses_every_mistake_before_sending(case: Case, no_network: Wire) -> None:
    assert_verdict(case, rest_verdict(case))
    assert no_network.quiet, no_network


#: Rows whose keywords mean something else on the WebSocket method (the verdict differs on purpose).
WS_DIFFERS = {
    "ws_cancel_after_negative": pytest.mark.xfail(
        strict=True,
        reason="cancel_all_spot_orders_after takes the switch's seconds as timeout_seconds; its timeout= is the "
        "call's own reply timeout, so the row's timeout=-1 is refused as a missing timeout_seconds",
    ),
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=[WS_DIFFERS[c.id]] if c.id in WS_DIFFERS else [], id=c.id) for c in WS_ROWS]
)
async def test_websocket_refuses_every_mistake_before_sending(case: Case, no_network: Wire) -> None:
    api = WebsocketAPIClient(KEY, SECRET, environment=LOCAL, request_timeout=0.1)
    try:
        with pytest.raises(KrakenError) as info:
            await asyncio.wait_for(getattr(api, METHOD[case.operation])(**_kwargs(case)), 2.0)
    finally:
        await api.close()
    assert_verdict(case, info.value)
    assert no_network.quiet, no_network


# --- the CLI --------------------------------------------------------------------------------------------------

_POSITIONAL = ("type", "volume", "pair")  # SIDE VOLUME SYMBOL
_FLAGS = {field: option for field, option in ORDER_OPTIONS.items() if option.startswith("--")}
#: Rows the command line takes differently on purpose: it accepts WebSocket notation and maps it to the pair.
_CLI_DIFFERS = {"symbol_other_api_form[spot_rest]"}


def cli_argv(case: Case) -> list[str] | None:
    """``krakenkit order`` arguments for an AddOrder row, or None when the command line cannot say it (a value
    that is not text, a field it has no option for, a missing positional, extra_params)."""
    if case.operation != "spot_rest.AddOrder" or case.extra_params is not None or case.id in _CLI_DIFFERS:
        return None
    params = dict(case.params)
    if any(name not in params for name in _POSITIONAL):
        return None
    argv = ["order"]
    for name, value in params.items():
        if name in _POSITIONAL:
            continue
        option = _FLAGS.get(name)
        if option is None:
            return None
        if name == "reduce_only":
            if value is not True:
                return None
            argv.append(option)
        elif name == "userref" and isinstance(value, int) and not isinstance(value, bool):
            argv.append(f"{option}={value}")
        elif isinstance(value, str) and name != "userref":
            argv.append(f"{option}={value}")
        else:
            return None
    if not all(isinstance(params[name], str) for name in _POSITIONAL):
        return None
    return [*argv, "--live", "--json", "--", *(params[name] for name in _POSITIONAL)]


CLI_ROWS = [(c, argv) for c in BAD if (argv := cli_argv(c)) is not None]


def test_the_cli_expresses_most_addorder_mistakes() -> None:
    add_order = [c for c in BAD if c.operation == "spot_rest.AddOrder"]
    assert len(CLI_ROWS) >= 40 and len(CLI_ROWS) >= len(add_order) // 2, (len(CLI_ROWS), len(add_order))


@pytest.mark.parametrize(("case", "argv"), CLI_ROWS, ids=[c.id for c, _ in CLI_ROWS])
def test_cli_order_gives_the_rest_verdict_with_exit_code_2(
    case: Case, argv: list[str], no_network: Wire, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_SPOT_KEY", KEY)
    monkeypatch.setenv("API_SPOT_SECRET", SECRET)
    code = main(argv)
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert code == 2, (code, doc, captured.err)
    assert doc["error"] == case.error.__name__ and doc["field"] == case.field, doc
    assert case.fragment in doc["message"]
    assert no_network.quiet, no_network
    assert doc["message"] == str(rest_verdict(case))  # word for word what SpotClient.submit_order says
    assert no_network.quiet, no_network
