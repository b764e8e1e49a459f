"""No secret in plain sight on the REST error paths, Spot and Derivatives, sync and async, against the sandbox:
DEBUG logs of every logger (httpx and httpcore included), reprs, exception texts, pickles and capture_locals
tracebacks of rejected orders, timeouts, an order whose answer is lost (looked up, then unknown), a key with a
trailing space, non-ASCII key and otp. The scanner is the secrets suite's (``tests/integration/secrets``);
every credential reaches the clients inline from the vault, so no frame of this test holds one."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "secrets"))

from secrets_testkit import Seen, Vault, assert_clean, capture_everything, futures_key, spot_key

from krakenkit import AsyncSpotClient, DerivativesClient, KrakenError, OrderOutcomeUnknownError, SpotClient
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")

OTP = "246810"
LIMIT: dict[str, Any] = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "1000"}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=11, market=False, rate_limits=False) as sandbox:
        yield sandbox


def _signatures(vault: Vault, header: str) -> tuple[dict[str, Any], Callable[[], None]]:
    values: set[str] = set()

    def hook(request: Any) -> None:
        if request.headers.get(header):
            values.add(request.headers[header])

    async def ahook(request: Any) -> None:
        hook(request)

    def done() -> None:
        vault.add_all(f"{header}_", values)

    return {"event_hooks": {"request": [hook]}, "_async": {"event_hooks": {"request": [ahook]}}}, done


def _attempt(seen: Seen, errors: list[BaseException | None], action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:
        seen.exception(exc)
        errors.append(exc)
    else:
        errors.append(None)


def test_spot_rest_error_paths_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    spot_key(sb, vault, balances={"ZUSD": "10"}, otp=OTP)
    vault.add("otp", OTP)
    vault.add("trailing_key", vault["spot_key"] + " ")
    vault.add("non_ascii_key", "k\u00e9y" + vault["spot_key"][4:])
    vault.add("non_ascii_otp", "\u00f6tp-246810")
    hooks, signatures_done = _signatures(vault, "API-Sign")
    opts = {"event_hooks": hooks["event_hooks"]}
    errors: list[BaseException | None] = []

    def client(key: str = "spot_key", otp: str = "otp", **kw: Any) -> SpotClient:
        return SpotClient(vault[key], vault["spot_secret"], otp=vault[otp], environment=sb.environment, **kw)

    with capture_everything(seen):
        with client(network_options=opts, max_retries=0) as spot:
            _attempt(seen, errors, lambda: spot.submit_order(**{**LIMIT, "volume": "5000"}))  # insufficient funds
            _attempt(seen, errors, lambda: spot.cancel_order(txid="OABCDE-FGHIJ-KLMNOP"))  # unknown order
            sb.faults.latency(1.0, "/0/private/Balance")
            _attempt(seen, errors, lambda: spot.get_account_balance(timeout=0.2))  # a timeout
            sb.faults.clear()
            sb.faults.accept_then_timeout("/0/private/AddOrder", n=1, delay=3.0)
            _attempt(seen, errors, lambda: spot.submit_order(**LIMIT, cl_ord_id="secrets-lost-1", timeout=1.0))
            sb.faults.clear()
            seen.objects(spot)
        for key, otp in (("trailing_key", "otp"), ("non_ascii_key", "otp"), ("spot_key", "non_ascii_otp")):
            _attempt(seen, errors, lambda k=key, o=otp: client(k, o, max_retries=0).get_account_balance())

        async def run_async() -> None:
            async with AsyncSpotClient(
                vault["spot_key"],
                vault["spot_secret"],
                otp=vault["otp"],
                environment=sb.environment,
                network_options={"event_hooks": hooks["_async"]["event_hooks"]},
                max_retries=0,
            ) as aspot:
                try:
                    await aspot.submit_order(**{**LIMIT, "volume": "5000"})
                except KrakenError as exc:
                    seen.exception(exc)
                    errors.append(exc)
                seen.objects(aspot)

        asyncio.run(run_async())
    signatures_done()
    assert len(errors) == 8 and all(isinstance(e, KrakenError) for e in errors), [type(e) for e in errors]
    assert isinstance(errors[3], OrderOutcomeUnknownError) and errors[3].cl_ord_id == "secrets-lost-1"
    assert len(vault.names()) > 8  # the signatures sent are scanned for too
    assert_clean(vault, seen)


def test_derivatives_rest_error_paths_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    futures_key(sb, vault)
    vault.add("trailing_key", vault["futures_key"] + " ")
    vault.add("non_ascii_key", "k\u00e9y" + vault["futures_key"][4:])
    hooks, signatures_done = _signatures(vault, "Authent")
    errors: list[BaseException | None] = []
    order = {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "100000000", "limitPrice": "1"}
    with capture_everything(seen):
        with DerivativesClient(
            vault["futures_key"],
            vault["futures_secret"],
            environment=sb.environment,
            network_options={"event_hooks": hooks["event_hooks"]},
            max_retries=0,
        ) as fut:
            _attempt(seen, errors, lambda: fut.submit_order(**order))
            sb.faults.accept_then_timeout("/derivatives/api/v3/sendorder", n=1, delay=3.0)
            recovered = fut.submit_order(**{**order, "size": "1", "cliOrdId": "lost-1"}, timeout=2.0)  # looked up
            sb.faults.clear()
            seen.objects(recovered)
            seen.objects(fut)
        for key in ("trailing_key", "non_ascii_key"):
            _attempt(
                seen,
                errors,
                lambda k=key: DerivativesClient(vault[k], vault["futures_secret"], environment=sb.environment),
            )
    signatures_done()
    assert len(errors) == 3 and all(isinstance(e, KrakenError) for e in errors), [type(e) for e in errors]
    assert recovered.recovered and recovered.cli_ord_id == "lost-1"
    assert_clean(vault, seen)
