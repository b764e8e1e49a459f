"""Static market metadata of the sandbox: assets and asset pairs (values as on Kraken)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["ASSETS", "PAIRS", "Asset", "Pair", "find_pair"]

D = Decimal


@dataclass(frozen=True)
class Asset:
    key: str  # REST name: XXBT, ZUSD
    altname: str  # XBT, USD
    ws: str  # WS v2 id: BTC, USD
    decimals: int
    display_decimals: int
    collateral_value: Decimal | None = None


ASSETS: dict[str, Asset] = {
    a.key: a
    for a in (
        Asset("XXBT", "XBT", "BTC", 10, 5, D("1")),
        Asset("XETH", "ETH", "ETH", 10, 5, D("1")),
        Asset("XXDG", "XDG", "DOGE", 8, 2, None),
        Asset("ZUSD", "USD", "USD", 4, 2, D("1")),
        Asset("ZEUR", "EUR", "EUR", 4, 2, D("1")),
    )
}
ASSET_BY_ANY: dict[str, Asset] = {}
for _a in ASSETS.values():
    for _n in (_a.key, _a.altname, _a.ws):
        ASSET_BY_ANY[_n.upper()] = _a
ASSET_BY_ANY["XBT.F"] = ASSETS["XXBT"]


@dataclass(frozen=True)
class Pair:
    key: str  # XXBTZUSD
    altname: str  # XBTUSD
    wsname: str  # XBT/USD (AssetPairs, as Kraken returns it)
    symbol: str  # BTC/USD (WebSocket v2)
    base: str  # XXBT
    quote: str  # ZUSD
    pair_decimals: int
    lot_decimals: int
    cost_decimals: int
    ordermin: Decimal
    costmin: Decimal
    tick_size: Decimal
    start_price: Decimal
    spread_ticks: int = 2
    status: str = "online"
    aliases: tuple[str, ...] = field(default=())

    @property
    def price_step(self) -> Decimal:
        return D(1).scaleb(-self.pair_decimals)

    @property
    def lot_step(self) -> Decimal:
        return D(1).scaleb(-self.lot_decimals)

    @property
    def base_ws(self) -> str:
        return ASSETS[self.base].ws

    @property
    def quote_ws(self) -> str:
        return ASSETS[self.quote].ws


PAIRS: dict[str, Pair] = {
    p.key: p
    for p in (
        Pair(
            "XXBTZUSD",
            "XBTUSD",
            "XBT/USD",
            "BTC/USD",
            "XXBT",
            "ZUSD",
            1,
            8,
            5,
            D("0.0001"),
            D("0.5"),
            D("0.1"),
            D("65000.0"),
            aliases=("BTCUSD",),
        ),
        Pair(
            "XETHZUSD",
            "ETHUSD",
            "ETH/USD",
            "ETH/USD",
            "XETH",
            "ZUSD",
            2,
            8,
            5,
            D("0.002"),
            D("0.5"),
            D("0.01"),
            D("3200.00"),
        ),
        Pair(
            "XXBTZEUR",
            "XBTEUR",
            "XBT/EUR",
            "BTC/EUR",
            "XXBT",
            "ZEUR",
            1,
            8,
            5,
            D("0.0001"),
            D("0.5"),
            D("0.1"),
            D("60000.0"),
            aliases=("BTCEUR",),
        ),
        Pair(
            "XDGUSD",
            "XDGUSD",
            "XDG/USD",
            "DOGE/USD",
            "XXDG",
            "ZUSD",
            7,
            8,
            5,
            D("13"),
            D("0.5"),
            D("0.0000001"),
            D("0.1623450"),
            spread_ticks=20,
            aliases=("DOGEUSD", "XXDGZUSD"),
        ),
    )
}

_PAIR_INDEX: dict[str, Pair] = {}
for _p in PAIRS.values():
    for _n in (_p.key, _p.altname, _p.wsname, _p.symbol, *_p.aliases):
        _PAIR_INDEX[_n.upper()] = _p


def find_pair(name: str) -> Pair | None:
    """Look a pair up by REST key, altname, v1 wsname or WS v2 symbol (case-insensitive)."""
    return _PAIR_INDEX.get(name.strip().upper())


def find_asset(name: str) -> Asset | None:
    return ASSET_BY_ANY.get(name.strip().upper())
