"""SymbolMapper loaded from a running sandbox's AssetPairs and Futures instruments: every listed pair
and instrument maps both ways, and every wrong-context use is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from krakenkit import SymbolFormatError
from krakenkit._core.symbol_mapper import SymbolMapper
from krakenkit.rest import AsyncSpotClient, SpotClient
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.sandbox import Sandbox


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[SymbolMapper, dict, list]]:
    with Sandbox(seed=9, market=False) as sb:
        with SpotClient(environment=sb.environment) as spot, DerivativesClient(environment=sb.environment) as deriv:
            mapper = SymbolMapper.load_sync(spot, deriv, cache=False)
            pairs = dict(spot.get_asset_pairs().raw)
            instruments = [dict(i.raw) for i in deriv.get_instruments()]
        yield mapper, pairs, instruments


def test_every_sandbox_pair_both_directions(loaded: tuple[SymbolMapper, dict, list]) -> None:
    mapper, pairs, _ = loaded
    assert len(mapper) == len(pairs) > 0
    for key, info in pairs.items():
        rest, wsname = info["altname"], info["wsname"]
        ws = mapper.to_ws(key)
        assert "XBT" not in ws and "XDG" not in ws.split("/")  # WS v2 names
        for name in (key, rest, wsname, ws):
            assert mapper.to_rest(name) == rest
            assert mapper.to_ws(name) == ws
            assert mapper.to_rest_key(name) == key
        assert mapper.validate(rest, "spot_rest") == rest
        assert mapper.validate(key, "spot_rest") == key
        assert mapper.validate(ws, "spot_ws") == ws
        # wrong contexts: refused with the exact right spelling
        with pytest.raises(SymbolFormatError, match=f"use '{rest}'"):
            mapper.validate(ws, "spot_rest")
        with pytest.raises(SymbolFormatError, match=f"use '{ws}'"):
            mapper.validate(rest, "spot_ws")
        with pytest.raises(SymbolFormatError):
            mapper.validate(ws, "derivatives")


def test_every_sandbox_instrument(loaded: tuple[SymbolMapper, dict, list]) -> None:
    mapper, _, instruments = loaded
    assert instruments
    for row in instruments:
        symbol = row["symbol"]
        assert mapper.validate(symbol, "derivatives") == symbol
        with pytest.raises(SymbolFormatError):
            mapper.validate(symbol, "spot_rest")
        with pytest.raises(SymbolFormatError):
            mapper.validate(symbol, "spot_ws")
        spot = mapper.spot_for(symbol)
        if mapper.instrument(symbol).perpetual and symbol.startswith("PF_"):
            assert mapper.perpetual_for(spot) == symbol
    assert mapper.perpetual_for("BTC/USD") == "PF_XBTUSD"
    assert mapper.perpetual_for("BTC/USD", inverse=True) == "PI_XBTUSD"


async def test_async_load_matches_sync(loaded: tuple[SymbolMapper, dict, list]) -> None:
    mapper, _, _ = loaded
    async with Sandbox(seed=9, market=False) as sb:
        async with (
            AsyncSpotClient(environment=sb.environment) as spot,
            AsyncDerivativesClient(environment=sb.environment) as deriv,
        ):
            amapper = await SymbolMapper.load(spot, deriv, cache=False)
    assert [p.ws for p in amapper.pairs] == [p.ws for p in mapper.pairs]
    assert [i.symbol for i in amapper.instruments] == [i.symbol for i in mapper.instruments]
