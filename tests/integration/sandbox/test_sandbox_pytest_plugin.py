"""The ``kraken_sandbox`` fixture reaches user test suites through the installed pytest11 entry point."""

from __future__ import annotations

from decimal import Decimal
from importlib.metadata import entry_points

from krakenkit.rest import SpotClient
from krakenkit.sandbox import Sandbox


def test_plugin_is_registered_as_pytest11_entry_point() -> None:
    names = {(ep.name, ep.value) for ep in entry_points(group="pytest11")}
    assert ("krakenkit", "krakenkit.testing") in names


def test_fixture_gives_a_running_sandbox(kraken_sandbox: Sandbox) -> None:
    key, secret = kraken_sandbox.create_key(balances={"ZUSD": "1234.5"})
    with SpotClient(key, secret, environment=kraken_sandbox.environment) as client:
        assert client.get_account_balance()["ZUSD"] == Decimal("1234.5")
