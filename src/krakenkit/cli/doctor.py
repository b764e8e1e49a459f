"""``krakenkit doctor``: credentials in the environment, clock skew, key permissions, the key's nonce window."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .._core.credentials import ENV_NAMES
from .._core.errors import InvalidNonceError, KrakenError, PermissionDeniedError
from .._core.secrets import Secret
from .output import Check, Output
from .target import Target

__all__ = ["key_permissions", "probe_nonce_window", "run_doctor"]

TRADING_PERMISSIONS = frozenset(
    {"trade", "cancel", "orders", "create_modify_orders", "cancel_close_orders", "trading", "modify_orders"}
)
WITHDRAW_PERMISSIONS = frozenset({"withdraw", "withdraw_funds", "withdrawal", "funds_withdraw"})


def _raw(value: Any) -> Any:
    raw = getattr(value, "raw", None)
    if raw is not None:
        return dict(raw) if hasattr(raw, "items") else raw
    return value


def key_permissions(info: Any) -> set[str]:
    """Permission names from a ``GetApiKeyInfo`` result (a list of names or a mapping of flags)."""
    perms = info.get("permissions") if isinstance(info, dict) else None
    if isinstance(perms, dict):
        return {str(k).lower() for k, v in perms.items() if v in (True, 1, "1", "true", "True")}
    if isinstance(perms, (list, tuple, set)):
        return {str(p).lower() for p in perms}
    if isinstance(perms, str):
        return {p.strip().lower() for p in perms.split(",") if p.strip()}
    return set()


async def _timed(out: Output, checks: list[Check], name: str, fn: Callable[[], Awaitable[tuple[str, str]]]) -> None:
    start = time.monotonic()
    try:
        async with out.progress.running(name):
            status, detail = await fn()
    except KrakenError as exc:
        status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
    check = Check(name, status, detail, time.monotonic() - start)
    checks.append(check)
    out.check(check)


def clock_skew(server_unixtime: int, sent: float, got: float) -> float:
    """Server clock minus local clock, in seconds.

    Kraken's ``unixtime`` is truncated to whole seconds: the server read its clock somewhere in
    ``[unixtime, unixtime + 1)`` between ``sent`` and ``got``, so the estimate uses the middle of both
    intervals (error at most about 0.5 s plus half the round trip).
    """
    return server_unixtime + 0.5 - (sent + got) / 2


NO_WINDOW = (
    "no nonce window (Kraken's default): a nonce 1 below the last one was refused, so this key's requests must "
    "reach Kraken in nonce order. Fine on one host: krakenkit sends each key's requests in nonce order across "
    "clients, threads, tasks and processes, and re-signs an invalid-nonce answer; several hosts sharing this key "
    "need a nonce window on the key (or a key each)"
)
HAS_WINDOW = (
    "the key has a nonce window: a nonce 1 below the last one was accepted (requests may arrive slightly out "
    "of order; a nonce is still never accepted twice)"
)


async def probe_nonce_window(api_key: str, api_secret: Secret, environment: Any) -> tuple[str, str]:
    """Two private reads (Balance) signed out of order: the first with a fresh nonce ``n``, the second with
    ``n - 1``. Kraken accepting the second means the key has a nonce window. Reads only; one refused nonce."""
    from .._core.nonce import nonce_file_for, nonce_source_for
    from .._core.ratelimit import NoRateLimit
    from ..rest import AsyncSpotClient, RetryPolicy

    source = nonce_source_for(api_key)
    shared = nonce_file_for(api_key)
    if shared is not None and shared.lock(time.monotonic() + 5):  # above every nonce this host took
        try:
            high = shared.take(source)
        finally:
            shared.unlock()
    else:
        high = source()
    nonces = iter((high, high - 1))
    async with AsyncSpotClient(
        api_key,
        api_secret,
        environment=environment,
        nonce_source=lambda: next(nonces),
        shared_nonce=False,
        retry_policy=RetryPolicy(nonce_resends=0),
        max_retries=0,
        rate_limiter=NoRateLimit(),
    ) as spot:
        try:
            await spot.get_account_balance()
        except InvalidNonceError:
            return "WARN", "could not probe: another client of this key used a later nonce just now; run again"
        except PermissionDeniedError:
            return "SKIP", "could not probe: the probe reads Balance, which this key may not (query funds)"
        try:
            await spot.get_account_balance()
        except InvalidNonceError:
            return "PASS", NO_WINDOW
    return "PASS", HAS_WINDOW


async def run_doctor(target: Target, out: Output, *, max_skew: float = 5.0) -> tuple[bool, list[Check]]:
    from ..rest import AsyncSpotClient

    checks: list[Check] = []
    out.line(f"krakenkit doctor against {target.label}")

    for product, (kv, sv) in ENV_NAMES.items():
        missing = [v for v in (kv, sv) if not os.environ.get(v)]
        if not missing:
            status, detail = "PASS", f"{kv} and {sv} set"
        elif target.is_live:
            status, detail = "WARN", f"{' and '.join(missing)} not set: {product} private calls are unavailable"
        else:
            status, detail = "SKIP", f"{' and '.join(missing)} not set (the sandbox made its own {product} key)"
        check = Check(f"{product} credentials in env", status, detail)
        checks.append(check)
        out.check(check)

    async def clock() -> tuple[str, str]:
        async with AsyncSpotClient(environment=target.environment) as spot:
            sent = time.time()
            st = _raw(await spot.get_server_time())
            got = time.time()
        skew = clock_skew(int(st["unixtime"]), sent, got)
        rtt = got - sent
        detail = f"skew {skew:+.1f} s (round trip {rtt * 1000:.0f} ms; server time has 1 s resolution)"
        if abs(skew) > max_skew:
            return "FAIL", detail + f": more than {max_skew:.0f} s, fix NTP (expiretm/deadline and signing suffer)"
        if abs(skew) > 1.5:
            return "WARN", detail
        return "PASS", detail

    await _timed(out, checks, "clock skew vs Kraken", clock)

    if target.spot is not None:
        creds = target.spot

        async def permissions() -> tuple[str, str]:
            async with AsyncSpotClient(creds.api_key, creds.api_secret, environment=target.environment) as spot:
                info = _raw(await spot.get_api_key_info())
            perms = key_permissions(info)
            if not perms:
                return "PASS", f"key {creds.masked_key} accepted (permissions not exposed)"
            listed = ", ".join(sorted(perms))
            if perms & WITHDRAW_PERMISSIONS and perms & TRADING_PERMISSIONS:
                return "WARN", (
                    f"key {creds.masked_key} can TRADE and WITHDRAW ({listed}): use a trading key "
                    "without the withdraw permission"
                )
            if perms & WITHDRAW_PERMISSIONS:
                return "WARN", f"key {creds.masked_key} can withdraw ({listed})"
            return "PASS", f"key {creds.masked_key}: {listed}"

        await _timed(out, checks, "Spot key permissions (GetApiKeyInfo)", permissions)

        async def window() -> tuple[str, str]:
            return await probe_nonce_window(creds.api_key, creds.api_secret, target.environment)

        await _timed(out, checks, "Spot key nonce window", window)
    else:
        for name in ("Spot key permissions (GetApiKeyInfo)", "Spot key nonce window"):
            skip = Check(name, "SKIP", "no Spot key")
            checks.append(skip)
            out.check(skip)

    if target.futures is not None:
        fcreds = target.futures

        async def futures_key() -> tuple[str, str]:
            from ..rest.derivatives import AsyncDerivativesClient

            async with AsyncDerivativesClient(
                fcreds.api_key, fcreds.secret_value(), environment=target.environment
            ) as deriv:
                accounts = _raw(await deriv.get_accounts())
            names = sorted((accounts.get("accounts") or {}).keys()) if isinstance(accounts, dict) else []
            return "PASS", f"key {fcreds.masked_key} accepted; accounts: {', '.join(names) or 'none'}"

        await _timed(out, checks, "Derivatives key", futures_key)
    else:
        skip = Check("Derivatives key", "SKIP", "no Derivatives key")
        checks.append(skip)
        out.check(skip)

    ok = all(c.ok for c in checks)
    warnings = sum(c.status == "WARN" for c in checks)
    out.line(f"RESULT: {'PASS' if ok else 'FAIL'}" + (f" with {warnings} warning(s)" if warnings else ""))
    return ok, checks
