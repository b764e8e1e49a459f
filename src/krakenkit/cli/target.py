"""Where a command runs: the built-in sandbox (in-process or a running one) or Kraken itself."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from .._core.credentials import Credentials
from .._core.environment import LIVE, Environment
from .._core.errors import MissingCredentialsError
from .._core.secrets import Secret

__all__ = ["Target", "add_target_arguments", "load_sandbox", "open_target", "sandbox_environment"]

_SANDBOX_WS_PATHS = {
    "spotPublicV2": "/v2",
    "spotPrivateV2": "/auth/v2",
    "spotL3V2": "/l3/v2",
    "spotBetaPublicV2": "/beta/v2",
    "spotBetaPrivateV2": "/beta-auth/v2",
    "derivativesPublicV1": "/ws/v1",
    "derivativesPrivateV1": "/ws/v1",
}


def load_sandbox() -> Any:
    """The ``krakenkit_sandbox`` module (the krakenkit-sandbox distribution), or ``SystemExit(2)``
    after saying on stderr how to install it."""
    from .. import sandbox

    try:
        return sandbox.load()
    except ModuleNotFoundError as exc:
        if exc.name != "krakenkit_sandbox":
            raise
        sys.stderr.write(
            f"krakenkit: {sandbox.MISSING_MESSAGE}; or use --sandbox-url URL (a running sandbox) or --live\n"
        )
        raise SystemExit(2) from None


def sandbox_environment(url: str) -> Environment:
    """The :class:`Environment` of a sandbox running at ``url`` (``http://127.0.0.1:8787``)."""
    base = url.rstrip("/")
    ws_base = "ws" + base[len("http") :] if base.startswith("http") else base
    return Environment(base, base, {k: ws_base + p for k, p in _SANDBOX_WS_PATHS.items()}, "sandbox")


@dataclass
class Target:
    """The environment, credentials and (for the sandbox) the handle to create keys and faults."""

    kind: Literal["sandbox", "live"]
    environment: Environment
    sandbox: Any = None  # krakenkit_sandbox.Sandbox when started in-process
    admin_url: str | None = None  # a running sandbox's base URL
    spot: Credentials | None = None
    futures: Credentials | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_live(self) -> bool:
        return self.kind == "live"

    @property
    def label(self) -> str:
        if self.is_live:
            return "live Kraken"
        return f"sandbox {self.environment.spot_rest_url}"

    def require_spot(self) -> Credentials:
        if self.spot is None:
            raise MissingCredentialsError(
                "this command needs a Spot API key: set API_SPOT_KEY and API_SPOT_SECRET", field="API_SPOT_KEY"
            )
        return self.spot

    def require_futures(self) -> Credentials:
        if self.futures is None:
            raise MissingCredentialsError(
                "this command needs a Derivatives API key: set API_FUTURES_KEY and API_FUTURES_SECRET",
                field="API_FUTURES_KEY",
            )
        return self.futures

    def faults(self) -> Any:
        """The sandbox's fault injector (in-process only)."""
        return None if self.sandbox is None else self.sandbox.faults

    def admin(self, path: str, body: Any) -> Any:
        """POST to a sandbox's admin API (``/_sandbox/...``): in-process or over HTTP."""
        base = self.admin_url or (self.environment.spot_rest_url if self.kind == "sandbox" else None)
        if base is None:
            raise RuntimeError("no sandbox admin API on the live exchange")
        resp = httpx.post(base.rstrip("/") + path, json=body, timeout=10.0)
        resp.raise_for_status()
        return resp.json()


def add_target_arguments(parser: argparse.ArgumentParser, default: Literal["sandbox", "live"]) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--sandbox",
        dest="target",
        action="store_const",
        const="sandbox",
        help="run against the built-in sandbox, started in-process" + (" (default)" if default == "sandbox" else ""),
    )
    group.add_argument(
        "--live",
        dest="target",
        action="store_const",
        const="live",
        help="run against Kraken with credentials from the environment" + (" (default)" if default == "live" else ""),
    )
    group.add_argument(
        "--sandbox-url", metavar="URL", help="run against a sandbox already running at URL (see `krakenkit sandbox`)"
    )
    parser.add_argument(
        "--env-file", metavar="PATH", help="also read API_SPOT_KEY/... from this .env file (the environment wins)"
    )
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.set_defaults(target=default)


def _creds(product: str, env_file: str | None) -> Credentials | None:
    return Credentials.maybe_from_env(product, env_file)


@contextlib.contextmanager
def open_target(
    args: argparse.Namespace,
    *,
    tier: str = "intermediate",
    market: bool = True,
    spot_balances: dict[str, str] | None = None,
    rate_limits: bool = True,
) -> Iterator[Target]:
    """Start (or reach) the target and yield it with credentials ready.

    Sandbox: a fresh Spot key (and a Derivatives key when the Futures plug-in is there) is made, so
    no environment variables are needed. Live: credentials come from the environment (+ ``--env-file``).
    """
    env_file = getattr(args, "env_file", None)
    sandbox_url = getattr(args, "sandbox_url", None)
    if sandbox_url:
        target = Target("sandbox", sandbox_environment(sandbox_url), admin_url=sandbox_url.rstrip("/"))
        spot_body: dict[str, Any] = {"kind": "spot", "tier": tier}
        if spot_balances:
            spot_body["balances"] = spot_balances
        made = target.admin("/_sandbox/keys", spot_body)
        target.spot = Credentials(made["api_key"], Secret(made["api_secret"]), "spot", "sandbox")
        with contextlib.suppress(Exception):
            fut = target.admin("/_sandbox/keys", {"kind": "futures"})
            target.futures = Credentials(fut["api_key"], Secret(fut["api_secret"]), "futures", "sandbox")
        yield target
        return
    if args.target == "live":
        target = Target("live", LIVE, spot=_creds("spot", env_file), futures=_creds("futures", env_file))
        yield target
        return
    with load_sandbox().Sandbox(seed=getattr(args, "seed", 1), market=market, rate_limits=rate_limits) as sb:
        target = Target("sandbox", sb.environment, sandbox=sb)
        key, secret = sb.create_key(balances=spot_balances, tier=tier) if spot_balances else sb.create_key(tier=tier)
        target.spot = Credentials(key, Secret(secret), "spot", "sandbox")
        if sb.futures is not None:
            fkey, fsecret = sb.create_futures_key()
            target.futures = Credentials(fkey, Secret(fsecret), "futures", "sandbox")
        yield target
