"""Symbol conventions: Spot REST ``XBTUSD`` (responses keyed ``XXBTZUSD``), Spot WS v2 ``BTC/USD``,
Derivatives ``PF_XBTUSD``. The SymbolMapper translates exactly from Kraken's own listings and
refuses a symbol written for the wrong API before anything is sent."""

from __future__ import annotations

from _target import target

from krakenkit import SymbolFormatError, SymbolMapper
from krakenkit.rest import SpotClient
from krakenkit.rest.derivatives import DerivativesClient

with target() as t:
    with SpotClient(environment=t.environment) as spot, DerivativesClient(environment=t.environment) as deriv:
        mapper = SymbolMapper.load_sync(spot, deriv, cache=t.live)  # cached under the user cache dir when live
        print(mapper)
        print("to_rest('BTC/USD')   =", mapper.to_rest("BTC/USD"))
        print("to_ws('XBTUSD')      =", mapper.to_ws("XBTUSD"))
        print("to_ws('XXBTZUSD')    =", mapper.to_ws("XXBTZUSD"))
        print("to_ws('XDGUSD')      =", mapper.to_ws("XDGUSD"))
        print("perpetual_for('BTC/USD') =", mapper.perpetual_for("BTC/USD"))
        ticker = spot.get_ticker(pair=mapper.to_rest("BTC/USD"))
        print("REST ticker is keyed by", list(ticker.raw), "=", mapper.to_rest_key("BTC/USD"))
        for symbol, context in (("BTC/USD", "spot_rest"), ("XBTUSD", "spot_ws"), ("XBTUSD", "derivatives")):
            try:
                mapper.validate(symbol, context)  # type: ignore[arg-type]
            except SymbolFormatError as exc:
                print(f"refused {symbol!r} for {context}: {exc.message}")
        assert mapper.to_rest("BTC/USD") == "XBTUSD" and mapper.perpetual_for("BTC/USD") == "PF_XBTUSD"
    print("OK symbol conventions")
