"""No secret in plain sight on the REST paths (Spot and Derivatives, sync): DEBUG logs of every logger (httpx
and httpcore included), reprs, exception texts, pickles and capture_locals tracebacks of real error paths
against the sandbox: rejected orders, a timeout, a key with a trailing space, non-ASCII key and otp."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from secrets_testkit import Seen, Vault, assert_clean, capture_everything, futures_key, spot_key

from krakenkit import DerivativesClient, KrakenError, SpotClient
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")

OTP = "246810"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """The sandbox in its own thread: the sync clients under test block the calling thread."""
    with Sandbox(seed=5, market=False, rate_limits=False) as sandbox:
        yield sandbox


def _signatures(vault: Vault, header: str) -> tuple[dict[str, Any], Callable[[], None]]:
    """httpx event hooks that note every signature header sent (to scan for them), and the call that adds
    them to the vault at the end."""
    seen_values: set[str] = set()

    def hook(request: Any) -> None:
        value = request.headers.get(header)
        if value:
            seen_values.add(value)

    def done() -> None:
        vault.add_all(f"{header}_", seen_values)
        seen_values.clear()

    return {"event_hooks": {"request": [hook]}}, done


def _attempt(seen: Seen, action: Callable[[], Any]) -> BaseException | None:
    try:
        action()
    except Exception as exc:  # whatever escapes must be clean (and should be a KrakenError)
        seen.exception(exc)
        return exc
    return None


def test_spot_rest_error_paths_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    spot_key(sb, vault, balances={"ZUSD": "10"}, otp=OTP)
    vault.add("otp", OTP)
    opts, signatures_done = _signatures(vault, "API-Sign")
    errors: list[BaseException | None] = []
    with capture_everything(seen):
        with SpotClient(
            vault["spot_key"], vault["spot_secret"], otp=OTP, environment=sb.environment, network_options=opts
        ) as spot:
            errors.append(
                _attempt(seen, lambda: spot.submit_order(pair="XBTUSD", type="buy", ordertype="market", volume="5"))
            )
            errors.append(_attempt(seen, lambda: spot.cancel_order(txid="OABCDE-FGHIJ-KLMNOP")))
            seen.objects(spot)

        def balance(key: str = "spot_key", otp: str = "otp", **kwargs: Any) -> Callable[[], Any]:
            # names only: a closure's variables are locals of its frame, which the traceback shows
            return lambda: SpotClient(
                vault[key], vault["spot_secret"], otp=vault[otp], environment=sb.environment, max_retries=0, **kwargs
            ).get_account_balance()

        sb.faults.latency(1.0, "/0/private/Balance")
        errors.append(_attempt(seen, balance(timeout=0.2, network_options=opts)))  # a timeout
        sb.faults.clear()
        vault.add("trailing_key", vault["spot_key"] + " ")
        vault.add("non_ascii_key", "k\u00e9y" + vault["spot_key"][4:])
        vault.add("non_ascii_otp", "\u00f6tp-246810")
        errors.append(_attempt(seen, balance("trailing_key")))
        errors.append(_attempt(seen, balance("non_ascii_key")))
        errors.append(_attempt(seen, balance(otp="non_ascii_otp", network_options=opts)))
    signatures_done()
    assert all(e is not None for e in errors), errors
    assert_clean(vault, seen)
    assert all(isinstance(e, KrakenError) for e in errors), [type(e) for e in errors]


def test_derivatives_rest_error_paths_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    futures_key(sb, vault)
    opts, signatures_done = _signatures(vault, "Authent")
    errors: list[BaseException | None] = []
    with capture_everything(seen):
        with DerivativesClient(
            vault["futures_key"], vault["futures_secret"], environment=sb.environment, network_options=opts
        ) as fut:
            errors.append(
                _attempt(
                    seen,
                    lambda: fut.submit_order(
                        orderType="lmt", symbol="PF_XBTUSD", side="buy", size="100000000", limitPrice="1"
                    ),
                )
            )
            seen.objects(fut)
        vault.add("trailing_key", vault["futures_key"] + " ")
        errors.append(
            _attempt(
                seen,
                lambda: DerivativesClient(
                    vault["trailing_key"], vault["futures_secret"], environment=sb.environment, max_retries=0
                ).get_accounts(),
            )
        )
        vault.add("non_ascii_key", "k\u00e9y" + vault["futures_key"][4:])
        errors.append(
            _attempt(
                seen,
                lambda: DerivativesClient(
                    vault["non_ascii_key"], vault["futures_secret"], environment=sb.environment, max_retries=0
                ).get_accounts(),
            )
        )
    signatures_done()
    assert all(e is not None for e in errors), errors
    assert_clean(vault, seen)
    assert all(isinstance(e, KrakenError) for e in errors), [type(e) for e in errors]
