"""SymbolMapper: exact translation between REST names/keys, WS v2 symbols and instruments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from krakenkit import SymbolFormatError
from krakenkit._core.symbol_mapper import SymbolMapper, UnknownSymbolError, default_cache_dir

# Shaped as Kraken returns them (AssetPairs wsname keeps XBT/XDG; WS v2 says BTC/DOGE).
ASSET_PAIRS: dict[str, Any] = {
    "XXBTZUSD": {
        "altname": "XBTUSD",
        "wsname": "XBT/USD",
        "base": "XXBT",
        "quote": "ZUSD",
        "pair_decimals": 1,
        "lot_decimals": 8,
        "status": "online",
    },
    "XETHZUSD": {"altname": "ETHUSD", "wsname": "ETH/USD", "base": "XETH", "quote": "ZUSD"},
    "XETHXXBT": {"altname": "ETHXBT", "wsname": "ETH/XBT", "base": "XETH", "quote": "XXBT"},
    "XDGUSD": {"altname": "XDGUSD", "wsname": "XDG/USD", "base": "XXDG", "quote": "ZUSD"},
    "SOLUSD": {"altname": "SOLUSD", "wsname": "SOL/USD", "base": "SOL", "quote": "ZUSD"},
    "USDCUSD": {"altname": "USDCUSD", "wsname": "USDC/USD", "base": "USDC", "quote": "ZUSD"},
}
INSTRUMENTS: list[dict[str, Any]] = [
    {
        "symbol": "PF_XBTUSD",
        "pair": "XBT:USD",
        "base": "XBT",
        "quote": "USD",
        "type": "flexible_futures",
        "tradeable": True,
    },
    {
        "symbol": "PI_XBTUSD",
        "pair": "XBT:USD",
        "base": "XBT",
        "quote": "USD",
        "type": "futures_inverse",
        "tradeable": True,
    },
    {
        "symbol": "FI_XBTUSD_220930",
        "pair": "XBT:USD",
        "base": "XBT",
        "quote": "USD",
        "type": "futures_inverse",
        "lastTradingTime": "2022-09-30T15:00:00.000Z",
    },
    {"symbol": "PF_ETHUSD", "pair": "ETH:USD", "type": "flexible_futures"},
    {"symbol": "PF_DOGEUSD", "pair": "DOGE:USD", "base": "DOGE", "quote": "USD", "type": "flexible_futures"},
    {"symbol": "in_xbtusd", "type": "spot index"},
]


@pytest.fixture()
def mapper() -> SymbolMapper:
    return SymbolMapper.from_asset_pairs(ASSET_PAIRS, INSTRUMENTS)


@pytest.mark.parametrize(
    ("given", "rest", "ws", "key"),
    [
        ("BTC/USD", "XBTUSD", "BTC/USD", "XXBTZUSD"),
        ("XBT/USD", "XBTUSD", "BTC/USD", "XXBTZUSD"),
        ("XBTUSD", "XBTUSD", "BTC/USD", "XXBTZUSD"),
        ("XXBTZUSD", "XBTUSD", "BTC/USD", "XXBTZUSD"),
        ("BTCUSD", "XBTUSD", "BTC/USD", "XXBTZUSD"),
        ("ETH/BTC", "ETHXBT", "ETH/BTC", "XETHXXBT"),
        ("XETHXXBT", "ETHXBT", "ETH/BTC", "XETHXXBT"),
        ("DOGE/USD", "XDGUSD", "DOGE/USD", "XDGUSD"),
        ("XDG/USD", "XDGUSD", "DOGE/USD", "XDGUSD"),
        ("XXDGZUSD", "XDGUSD", "DOGE/USD", "XDGUSD"),
        ("DOGEUSD", "XDGUSD", "DOGE/USD", "XDGUSD"),
        ("SOL/USD", "SOLUSD", "SOL/USD", "SOLUSD"),
        ("USDC/USD", "USDCUSD", "USDC/USD", "USDCUSD"),
        ("btc/usd", "XBTUSD", "BTC/USD", "XXBTZUSD"),
    ],
)
def test_both_directions(mapper: SymbolMapper, given: str, rest: str, ws: str, key: str) -> None:
    assert mapper.to_rest(given) == rest
    assert mapper.to_ws(given) == ws
    assert mapper.to_rest_key(given) == key
    assert mapper.to_ws(mapper.to_rest(given)) == ws
    assert mapper.to_rest(mapper.to_ws(given)) == rest


def test_issue_examples(mapper: SymbolMapper) -> None:
    assert mapper.to_rest("BTC/USD") == "XBTUSD"
    assert mapper.to_ws("XBTUSD") == "BTC/USD"
    assert mapper.to_ws("XXBTZUSD") == "BTC/USD"
    assert mapper.perpetual_for("BTC/USD") == "PF_XBTUSD"


def test_perpetuals(mapper: SymbolMapper) -> None:
    assert mapper.perpetual_for("XBTUSD") == "PF_XBTUSD"
    assert mapper.perpetual_for("BTC/USD", inverse=True) == "PI_XBTUSD"
    assert mapper.perpetual_for("DOGE/USD") == "PF_DOGEUSD"
    assert mapper.perpetual_for("ETHUSD") == "PF_ETHUSD"
    with pytest.raises(UnknownSymbolError, match="no perpetual is listed for 'SOL/USD'"):
        mapper.perpetual_for("SOL/USD")
    assert mapper.spot_for("PF_XBTUSD") == "BTC/USD"
    assert mapper.spot_for("pf_dogeusd") == "DOGE/USD"
    assert mapper.instrument("FI_XBTUSD_220930").perpetual is False


def test_unknown_symbols_raise_clear_errors(mapper: SymbolMapper) -> None:
    with pytest.raises(UnknownSymbolError, match=r"unknown Spot pair 'BTC/USDX'.*did you mean"):
        mapper.to_rest("BTC/USDX")
    with pytest.raises(UnknownSymbolError, match="unknown Spot pair 'FOOBAR'"):
        mapper.to_ws("FOOBAR")
    with pytest.raises(UnknownSymbolError, match="unknown Derivatives instrument 'PF_SOLUSD'"):
        mapper.instrument("PF_SOLUSD")
    with pytest.raises(SymbolFormatError, match=r"Derivatives instrument, not a Spot pair.*'BTC/USD'"):
        mapper.to_rest("PF_XBTUSD")
    with pytest.raises(SymbolFormatError):
        mapper.to_rest("")
    assert issubclass(UnknownSymbolError, SymbolFormatError)


@pytest.mark.parametrize(
    ("symbol", "context"),
    [
        ("XBTUSD", "spot_rest"),
        ("XXBTZUSD", "spot_rest"),
        ("XBTUSD,ETHUSD", "spot_rest"),
        ("BTC/USD", "spot_ws"),
        ("DOGE/USD", "spot_ws"),
        ("PF_XBTUSD", "derivatives"),
        ("pf_xbtusd", "derivatives"),
    ],
)
def test_validate_accepts(mapper: SymbolMapper, symbol: str, context: Any) -> None:
    assert mapper.validate(symbol, context) == symbol
    assert mapper.is_known(symbol, context)


@pytest.mark.parametrize(
    ("symbol", "context", "message"),
    [
        ("BTC/USD", "spot_rest", "for this symbol use 'XBTUSD'"),
        ("PF_XBTUSD", "spot_rest", "for this symbol use 'XBTUSD'"),
        ("XBTUSD", "spot_ws", "for this symbol use 'BTC/USD'"),
        ("XXBTZUSD", "spot_ws", "for this symbol use 'BTC/USD'"),
        ("PF_XBTUSD", "spot_ws", "for this symbol use 'BTC/USD'"),
        ("BTC/USD", "derivatives", "for this symbol use 'PF_XBTUSD'"),
        ("XBTUSD", "derivatives", "for this symbol use 'PF_XBTUSD'"),
        ("XBT/USD", "spot_ws", "not the WebSocket v2 name; use 'BTC/USD'"),
        ("btc/usd", "spot_ws", "use 'BTC/USD'"),
        ("BTCUSD", "spot_rest", "not a listed Spot REST name; use 'XBTUSD'"),
    ],
)
def test_validate_refuses_wrong_context(mapper: SymbolMapper, symbol: str, context: Any, message: str) -> None:
    with pytest.raises(SymbolFormatError, match=message):
        mapper.validate(symbol, context)
    assert not mapper.is_known(symbol, context)


@pytest.mark.parametrize(
    ("symbol", "context"),
    [("FOOUSD", "spot_rest"), ("FOO/USD", "spot_ws"), ("PF_FOOUSD", "derivatives"), ("XBTUSD,FOOUSD", "spot_rest")],
)
def test_validate_unknown(mapper: SymbolMapper, symbol: str, context: Any) -> None:
    with pytest.raises(UnknownSymbolError):
        mapper.validate(symbol, context)


def test_validate_bad_context(mapper: SymbolMapper) -> None:
    with pytest.raises(ValueError, match="context"):
        mapper.validate("XBTUSD", "fix")  # type: ignore[arg-type]


def test_accepts_whole_responses_and_typed_objects() -> None:
    class Typed:
        def __init__(self, raw: Any) -> None:
            self.raw = raw

    m = SymbolMapper.from_asset_pairs(
        {"error": [], "result": ASSET_PAIRS}, Typed({"result": "success", "instruments": INSTRUMENTS})
    )
    assert m.to_ws("XDGUSD") == "DOGE/USD"
    assert m.perpetual_for("BTC/USD") == "PF_XBTUSD"
    assert len(m) == len(ASSET_PAIRS)
    assert "6 spot pairs" in repr(m)


class _SyncSpot:
    def __init__(self) -> None:
        self.calls = 0
        self.base_url = "http://spot.test"

    def get_asset_pairs(self) -> dict[str, Any]:
        self.calls += 1
        return ASSET_PAIRS


class _SyncDeriv:
    base_url = "http://deriv.test"

    def get_instruments(self) -> dict[str, Any]:
        return {"result": "success", "instruments": INSTRUMENTS}


class _AsyncSpot(_SyncSpot):
    async def get_asset_pairs(self) -> dict[str, Any]:  # type: ignore[override]
        self.calls += 1
        return ASSET_PAIRS


class _AsyncDeriv(_SyncDeriv):
    async def get_instruments(self) -> dict[str, Any]:  # type: ignore[override]
        return {"result": "success", "instruments": INSTRUMENTS}


def test_load_sync_caches_to_file(tmp_path: Path) -> None:
    spot = _SyncSpot()
    m1 = SymbolMapper.load_sync(spot, _SyncDeriv(), cache_dir=tmp_path)
    m2 = SymbolMapper.load_sync(spot, _SyncDeriv(), cache_dir=tmp_path)
    assert spot.calls == 1  # the second came from the cache
    assert m1.to_ws("XXBTZUSD") == m2.to_ws("XXBTZUSD") == "BTC/USD"
    assert m2.perpetual_for("BTC/USD") == "PF_XBTUSD"
    files = list(tmp_path.glob("symbols-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["asset_pairs"]["XXBTZUSD"]["altname"] == "XBTUSD"
    # stale cache is refreshed
    SymbolMapper.load_sync(spot, _SyncDeriv(), cache_dir=tmp_path, max_age=-1)
    assert spot.calls == 2
    # cache disabled
    SymbolMapper.load_sync(spot, None, cache=False)
    assert spot.calls == 3


async def test_load_async(tmp_path: Path) -> None:
    spot = _AsyncSpot()
    m = await SymbolMapper.load(spot, _AsyncDeriv(), cache_dir=tmp_path)
    assert m.to_rest("DOGE/USD") == "XDGUSD"
    m2 = await SymbolMapper.load(spot, _AsyncDeriv(), cache_dir=tmp_path)
    assert spot.calls == 1 and m2.perpetual_for("DOGE/USD") == "PF_DOGEUSD"


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    spot = _SyncSpot()
    SymbolMapper.load_sync(spot, None, cache_dir=tmp_path)
    for f in tmp_path.glob("symbols-*.json"):
        f.write_text("{not json")
    assert SymbolMapper.load_sync(spot, None, cache_dir=tmp_path).to_ws("XBTUSD") == "BTC/USD"
    assert spot.calls == 2


def test_default_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KRAKENKIT_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("KRAKENKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    import sys

    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "xdg" / "krakenkit"


def test_limiter_can_key_pairs_with_the_mapper(mapper: SymbolMapper) -> None:
    from krakenkit._core.ratelimit import spot_rate_limiter

    lim = spot_rate_limiter(pair_key=mapper.to_rest)
    assert lim.costs("add_order", {"symbol": "DOGE/USD"}) == [("pair:XDGUSD", 1.0)]
    assert lim.costs("AddOrder", {"pair": "XXDGZUSD"}) == [("pair:XDGUSD", 1.0)]
