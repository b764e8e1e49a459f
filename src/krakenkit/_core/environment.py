"""Where krakenkit connects: REST base URLs and WebSocket URLs per key, and whether TLS is verified.

``WS_KEY_MAP`` uses the reference SDK's key names so code ports line by line. An
:class:`Environment` bundles every URL; the sandbox hands out one pointing at itself, and every
client accepts ``environment=``. :func:`warn_if_tls_off` is every client's check of its network
options (one :class:`~krakenkit.InsecureTransportWarning` per client when verification is off).
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from .errors import InsecureTransportWarning

__all__ = [
    "LIVE",
    "NO_SPOT_TESTNET",
    "NO_SPOT_TESTNET_URL",
    "TESTNET",
    "WS_KEY_MAP",
    "Environment",
    "WsKey",
    "tls_verification_off",
    "user_stacklevel",
    "warn_if_tls_off",
]


class WsKey:
    """Names of the WebSocket connections (one connection per key)."""

    spotPublicV2: Final = "spotPublicV2"
    spotPrivateV2: Final = "spotPrivateV2"
    spotL3V2: Final = "spotL3V2"
    spotBetaPublicV2: Final = "spotBetaPublicV2"
    spotBetaPrivateV2: Final = "spotBetaPrivateV2"
    derivativesPublicV1: Final = "derivativesPublicV1"
    derivativesPrivateV1: Final = "derivativesPrivateV1"

    ALL: Final = (
        "spotPublicV2",
        "spotPrivateV2",
        "spotL3V2",
        "spotBetaPublicV2",
        "spotBetaPrivateV2",
        "derivativesPublicV1",
        "derivativesPrivateV1",
    )
    PRIVATE: Final = frozenset({"spotPrivateV2", "spotL3V2", "spotBetaPrivateV2", "derivativesPrivateV1"})
    SPOT: Final = frozenset({"spotPublicV2", "spotPrivateV2", "spotL3V2", "spotBetaPublicV2", "spotBetaPrivateV2"})
    DERIVATIVES: Final = frozenset({"derivativesPublicV1", "derivativesPrivateV1"})


WS_KEY_MAP: Final = WsKey()

LIVE_WS_URLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "spotPublicV2": "wss://ws.kraken.com/v2",
        "spotPrivateV2": "wss://ws-auth.kraken.com/v2",
        "spotL3V2": "wss://ws-l3.kraken.com/v2",
        "spotBetaPublicV2": "wss://beta-ws.kraken.com/v2",
        "spotBetaPrivateV2": "wss://beta-ws-auth.kraken.com/v2",
        "derivativesPublicV1": "wss://futures.kraken.com/ws/v1",
        "derivativesPrivateV1": "wss://futures.kraken.com/ws/v1",
    }
)
DEMO_WS_URLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **LIVE_WS_URLS,
        "derivativesPublicV1": "wss://demo-futures.kraken.com/ws/v1",
        "derivativesPrivateV1": "wss://demo-futures.kraken.com/ws/v1",
    }
)


@dataclass(frozen=True)
class Environment:
    """A full set of endpoints: live Kraken, the Derivatives demo, or a local sandbox."""

    spot_rest_url: str
    futures_rest_url: str
    ws_urls: Mapping[str, str] = field(default_factory=lambda: LIVE_WS_URLS)
    name: str = "custom"

    def ws_url(self, ws_key: str) -> str:
        try:
            return self.ws_urls[ws_key]
        except KeyError:
            known = ", ".join(sorted(self.ws_urls))
            raise KeyError(f"unknown ws_key {ws_key!r}; known keys: {known}") from None

    def with_ws_urls(self, overrides: Mapping[str, str] | None) -> Environment:
        if not overrides:
            return self
        return Environment(self.spot_rest_url, self.futures_rest_url, {**self.ws_urls, **overrides}, self.name)


#: Kraken has no Spot test environment: :data:`TESTNET`'s Spot REST URL is this placeholder, which no DNS
#: resolves (``.invalid``, RFC 2606), and a Spot REST client built on it refuses at construction.
NO_SPOT_TESTNET_URL: Final = "https://no-spot-testnet.invalid"
#: Why (the message of that refusal).
NO_SPOT_TESTNET: Final = (
    "Kraken has no Spot test environment: TESTNET (testnet=True) covers the Derivatives demo "
    "(demo-futures.kraken.com) only, and a Spot client on it would trade on live Kraken; refused. To try Spot "
    "orders without placing them, send them with validate=True (Kraken checks them and places nothing), or run "
    "them against the local sandbox: `from krakenkit.sandbox import Sandbox`, then `environment=sb.environment` "
    "(or `krakenkit sandbox` and its URL)."
)

LIVE: Final = Environment("https://api.kraken.com", "https://futures.kraken.com", LIVE_WS_URLS, "live")
#: The Derivatives demo (REST and WebSocket). Spot: there is no test environment (see :data:`NO_SPOT_TESTNET`);
#: its Spot REST URL is a placeholder that Spot clients refuse, and the WebSocket clients refuse its Spot keys.
TESTNET: Final = Environment(NO_SPOT_TESTNET_URL, "https://demo-futures.kraken.com", DEMO_WS_URLS, "testnet")


# --- TLS verification ------------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called by the caller of this function: the first frame outside
    krakenkit (so the warning names the user's line)."""
    frame = sys._getframe(1)  # the function that warns
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def tls_verification_off(network_options: Mapping[str, Any] | None, http_client: Any = None) -> list[str]:
    """What turns certificate verification off, as ``option=value`` texts (empty: verification is on):
    ``verify`` (httpx) or ``ssl`` (websockets) set to ``False``, or to an ``ssl.SSLContext`` that does not check
    certificates (``verify_mode=CERT_NONE``) or host names; or, as far as can be seen, the default transport of
    a caller's own ``http_client``."""
    found: list[str] = []
    for name in ("verify", "ssl"):
        value = (network_options or {}).get(name)
        if value is False:
            found.append(f"{name}=False")
        elif isinstance(value, ssl.SSLContext) and (value.verify_mode == ssl.CERT_NONE or not value.check_hostname):
            what = "no certificate check" if value.verify_mode == ssl.CERT_NONE else "no host name check"
            found.append(f"{name}=<SSLContext with {what}>")
    pool = getattr(getattr(http_client, "_transport", None), "_pool", None)
    context = getattr(pool, "_ssl_context", None)
    if isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_NONE:
        found.append("http_client=<client with verify=False>")
    return found


def warn_if_tls_off(
    owner: str, logger: logging.Logger, network_options: Mapping[str, Any] | None, http_client: Any = None
) -> bool:
    """Warn (:class:`~krakenkit.InsecureTransportWarning`, and a WARNING log on ``logger``) when ``owner``'s
    transport does not verify certificates (see :func:`tls_verification_off`); returns whether it does not.
    Call it once per client, when it is made."""
    found = tls_verification_off(network_options, http_client)
    if not found:
        return False
    message = (
        f"{owner}: TLS certificate verification is turned off ({', '.join(found)}): anyone on the network path "
        "can read and change what this client sends, API key, signatures and orders included. Use it only "
        "against a local test server; for a private CA pass verify=<path to its bundle> instead."
    )
    logger.warning("%s", message)
    warnings.warn(message, InsecureTransportWarning, stacklevel=user_stacklevel())
    return True
