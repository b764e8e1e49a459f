"""Where krakenkit connects: REST base URLs and WebSocket URLs per key.

``WS_KEY_MAP`` uses the reference SDK's key names so code ports line by line. An
:class:`Environment` bundles every URL; the sandbox hands out one pointing at itself, and every
client accepts ``environment=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

__all__ = [
    "LIVE",
    "TESTNET",
    "WS_KEY_MAP",
    "Environment",
    "WsKey",
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


LIVE: Final = Environment("https://api.kraken.com", "https://futures.kraken.com", LIVE_WS_URLS, "live")
TESTNET: Final = Environment("https://api.kraken.com", "https://demo-futures.kraken.com", DEMO_WS_URLS, "testnet")
