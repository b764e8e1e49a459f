"""Exact translation between Kraken's symbol notations, built from Kraken's own listings.

============== ============================ =========================================
notation        where                        examples
============== ============================ =========================================
REST name       Spot REST requests           ``XBTUSD`` (AssetPairs ``altname``)
REST key        Spot REST response keys      ``XXBTZUSD`` (the AssetPairs key)
WS v2 symbol    Spot WebSocket v2            ``BTC/USD``, ``DOGE/USD``
instrument      Derivatives REST and WS v1   ``PF_XBTUSD`` (perpetual), ``FI_XBTUSD_260327``
============== ============================ =========================================

Kraken names a few assets differently by API: ``XBT`` (REST) is ``BTC`` (WS v2), ``XDG`` is ``DOGE``,
and legacy pairs carry X/Z-prefixed asset codes (``XXBTZUSD``). A :class:`SymbolMapper` is built
from ``AssetPairs`` (and optionally the Derivatives ``instruments``) and answers only for symbols
those listings contain: an unknown symbol raises :class:`UnknownSymbolError` naming the closest
known ones. Nothing is guessed.

Build it pure with :meth:`SymbolMapper.from_asset_pairs`, or from the exchange with
``await SymbolMapper.load(spot_client, deriv_client)`` / ``SymbolMapper.load_sync(...)``; the
listings are cached as JSON under the user cache directory (one file per endpoint URL).
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SymbolFormatError
from .symbols import SymbolContext, classify_symbol, validate_symbol

__all__ = [
    "LEGACY_ASSET_CODES",
    "DerivativeInstrument",
    "SpotPair",
    "SymbolMapper",
    "UnknownSymbolError",
    "default_cache_dir",
    "ws_asset_name",
]

log = logging.getLogger("krakenkit.symbols")

#: Kraken REST asset names that WebSocket v2 spells differently.
WS_ASSET_NAMES: Mapping[str, str] = {"XBT": "BTC", "XDG": "DOGE"}
REST_ASSET_NAMES: Mapping[str, str] = {v: k for k, v in WS_ASSET_NAMES.items()}

CACHE_VERSION = 1


class UnknownSymbolError(SymbolFormatError):
    """A well-formed symbol that Kraken's listings do not contain."""


@dataclass(frozen=True)
class SpotPair:
    """One Spot pair in every notation."""

    rest: str  # XBTUSD (altname; what REST requests take)
    key: str  # XXBTZUSD (AssetPairs key; what REST responses are keyed by)
    ws: str  # BTC/USD (WebSocket v2)
    wsname: str  # XBT/USD (as AssetPairs reports it)
    base: str  # BTC (WS v2 asset name)
    quote: str  # USD
    base_asset: str  # XXBT (REST asset code)
    quote_asset: str  # ZUSD
    pair_decimals: int | None = None
    lot_decimals: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class DerivativeInstrument:
    """One Derivatives instrument."""

    symbol: str  # PF_XBTUSD
    base: str  # BTC (WS v2 asset name)
    quote: str  # USD
    type: str  # flexible_futures | futures_inverse | futures_vanilla ...
    perpetual: bool
    tradeable: bool = True
    last_trading_time: str | None = None

    @property
    def spot_ws(self) -> str:
        return f"{self.base}/{self.quote}"


# Kraken's legacy X/Z-prefixed asset codes (REST Balance, Ledgers) and their WS v2 names.
LEGACY_ASSET_CODES: Mapping[str, str] = {
    "XXBT": "BTC",
    "XETH": "ETH",
    "XXDG": "DOGE",
    "XXRP": "XRP",
    "XLTC": "LTC",
    "XXLM": "XLM",
    "XETC": "ETC",
    "XMLN": "MLN",
    "XREP": "REP",
    "XZEC": "ZEC",
    "XXMR": "XMR",
    "ZUSD": "USD",
    "ZEUR": "EUR",
    "ZGBP": "GBP",
    "ZCAD": "CAD",
    "ZJPY": "JPY",
    "ZAUD": "AUD",
    "XBT": "BTC",
    "XDG": "DOGE",
}


def ws_asset_name(code: str) -> str:
    """The WS v2 name of a REST asset code: ``XXBT`` -> ``BTC``, ``ZUSD`` -> ``USD``, ``XBT.F`` -> ``BTC.F``;
    codes that are the same on both APIs are returned unchanged."""
    base, dot, suffix = code.partition(".")
    return LEGACY_ASSET_CODES.get(base.upper(), base) + dot + suffix


def _ws_asset(name: str) -> str:
    n = name.upper()
    return WS_ASSET_NAMES.get(n, n)


def _strip_legacy(code: str) -> str:
    """``XXBT`` -> ``XBT``, ``ZUSD`` -> ``USD`` (4-letter legacy codes only)."""
    c = code.upper()
    if len(c) == 4 and c[0] in "XZ":
        return c[1:]
    return c


def _split_pair(info: Mapping[str, Any], key: str) -> tuple[str, str]:
    """WS v2 base and quote of an AssetPairs entry."""
    wsname = info.get("wsname")
    if isinstance(wsname, str) and "/" in wsname:
        b, q = wsname.split("/", 1)
        return _ws_asset(b), _ws_asset(q)
    base = str(info.get("base", ""))
    quote = str(info.get("quote", ""))
    if base and quote:
        return _ws_asset(_strip_legacy(base)), _ws_asset(_strip_legacy(quote))
    raise ValueError(f"AssetPairs entry {key!r} has neither wsname nor base/quote")


def default_cache_dir() -> Path:
    """The user cache directory for krakenkit (XDG on Linux, ~/Library/Caches on macOS, LOCALAPPDATA)."""
    env = os.environ.get("KRAKENKIT_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "krakenkit"


def _plain(value: Any) -> Any:
    """A client's response as plain JSON-like data (dicts, typed objects with ``raw``/``result``)."""
    if isinstance(value, (dict, list)):
        return value
    for attr in ("raw", "result"):
        inner = getattr(value, attr, None)
        if isinstance(inner, Mapping):
            return dict(inner)
        if isinstance(inner, list):
            return inner
    if isinstance(value, Mapping):
        return dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return value


def _asset_pairs_result(value: Any) -> dict[str, Any]:
    data = _plain(value)
    if isinstance(data, dict) and "result" in data and isinstance(data["result"], dict) and "error" in data:
        data = data["result"]
    if not isinstance(data, dict):
        raise TypeError(f"expected the AssetPairs result dict, got {type(value).__name__}")
    return data


def _instruments_list(value: Any) -> list[dict[str, Any]]:
    data = _plain(value)
    if isinstance(data, dict):
        data = data.get("instruments", [])
    if not isinstance(data, list):
        raise TypeError(f"expected the instruments list, got {type(value).__name__}")
    return [i if isinstance(i, dict) else _plain(i) for i in data]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # Decimal and friends


class SymbolMapper:
    """Exact mapping between Spot REST names, REST keys, WS v2 symbols and Derivatives instruments."""

    def __init__(self, pairs: Iterable[SpotPair], instruments: Iterable[DerivativeInstrument] = ()) -> None:
        self._pairs: list[SpotPair] = list(pairs)
        self._instruments: list[DerivativeInstrument] = list(instruments)
        self._spot_index: dict[str, SpotPair] = {}
        for p in self._pairs:
            for name in self._spot_names(p):
                self._spot_index.setdefault(name, p)
        # exact names win over aliases
        for p in self._pairs:
            for name in (p.rest, p.key, p.ws):
                self._spot_index[name.upper()] = p
        self._deriv_index = {i.symbol.upper(): i for i in self._instruments}
        self._perpetuals: dict[tuple[str, str], list[DerivativeInstrument]] = {}
        for i in self._instruments:
            if i.perpetual:
                self._perpetuals.setdefault((i.base, i.quote), []).append(i)
        for lst in self._perpetuals.values():
            lst.sort(key=lambda i: (not i.symbol.upper().startswith("PF_"), i.symbol))

    @staticmethod
    def _spot_names(p: SpotPair) -> list[str]:
        bases = {p.base, REST_ASSET_NAMES.get(p.base, p.base), p.base_asset, _strip_legacy(p.base_asset)}
        quotes = {p.quote, REST_ASSET_NAMES.get(p.quote, p.quote), p.quote_asset, _strip_legacy(p.quote_asset)}
        names = {p.rest, p.key, p.ws, p.wsname}
        for b in bases:
            for q in quotes:
                names.add(f"{b}{q}")
                names.add(f"{b}/{q}")
        return sorted(n.upper() for n in names if n)

    # -- construction ----------------------------------------------------------------------------------

    @classmethod
    def from_asset_pairs(
        cls,
        result: Mapping[str, Any] | Any,
        instruments: Iterable[Mapping[str, Any]] | Mapping[str, Any] | Any | None = None,
    ) -> SymbolMapper:
        """Build from the ``result`` of ``/0/public/AssetPairs`` and, optionally, the Derivatives
        ``instruments`` list (or the whole ``/derivatives/api/v3/instruments`` response)."""
        pairs: list[SpotPair] = []
        for key, info in _asset_pairs_result(result).items():
            if not isinstance(info, Mapping):
                continue
            base, quote = _split_pair(info, key)
            altname = str(info.get("altname") or key)
            legacy_ws = f"{REST_ASSET_NAMES.get(base, base)}/{REST_ASSET_NAMES.get(quote, quote)}"
            wsname = str(info.get("wsname") or legacy_ws)
            pairs.append(
                SpotPair(
                    rest=altname.upper(),
                    key=str(key).upper(),
                    ws=f"{base}/{quote}",
                    wsname=wsname.upper(),
                    base=base,
                    quote=quote,
                    base_asset=str(info.get("base") or REST_ASSET_NAMES.get(base, base)).upper(),
                    quote_asset=str(info.get("quote") or REST_ASSET_NAMES.get(quote, quote)).upper(),
                    pair_decimals=_int_or_none(info.get("pair_decimals")),
                    lot_decimals=_int_or_none(info.get("lot_decimals")),
                    status=str(info["status"]) if info.get("status") is not None else None,
                )
            )
        derivs: list[DerivativeInstrument] = []
        if instruments is not None:
            for row in _instruments_list(instruments):
                inst = _instrument(row)
                if inst is not None:
                    derivs.append(inst)
        return cls(pairs, derivs)

    @classmethod
    async def load(
        cls,
        spot_client: Any,
        deriv_client: Any | None = None,
        *,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        max_age: float = 86_400.0,
    ) -> SymbolMapper:
        """Build from an ``AsyncSpotClient`` (and ``AsyncDerivativesClient``), using the file cache when
        it is younger than ``max_age`` seconds."""
        path = _cache_path(spot_client, deriv_client, cache_dir) if cache else None
        cached = _read_cache(path, max_age) if path else None
        if cached is not None:
            return cls.from_asset_pairs(cached["asset_pairs"], cached.get("instruments"))
        pairs = await _maybe_await(spot_client.get_asset_pairs())
        insts = await _maybe_await(deriv_client.get_instruments()) if deriv_client is not None else None
        return cls._built(pairs, insts, path)

    @classmethod
    def load_sync(
        cls,
        spot_client: Any,
        deriv_client: Any | None = None,
        *,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        max_age: float = 86_400.0,
    ) -> SymbolMapper:
        """Like :meth:`load`, with the sync ``SpotClient`` / ``DerivativesClient``."""
        path = _cache_path(spot_client, deriv_client, cache_dir) if cache else None
        cached = _read_cache(path, max_age) if path else None
        if cached is not None:
            return cls.from_asset_pairs(cached["asset_pairs"], cached.get("instruments"))
        pairs = spot_client.get_asset_pairs()
        insts = deriv_client.get_instruments() if deriv_client is not None else None
        return cls._built(pairs, insts, path)

    @classmethod
    def _built(cls, pairs: Any, insts: Any, path: Path | None) -> SymbolMapper:
        pairs_data = _asset_pairs_result(pairs)
        inst_data = _instruments_list(insts) if insts is not None else None
        mapper = cls.from_asset_pairs(pairs_data, inst_data)
        if path is not None:
            _write_cache(path, {"asset_pairs": pairs_data, "instruments": inst_data})
        return mapper

    # -- listings ----------------------------------------------------------------------------------------

    @property
    def pairs(self) -> list[SpotPair]:
        return list(self._pairs)

    @property
    def instruments(self) -> list[DerivativeInstrument]:
        return list(self._instruments)

    def __len__(self) -> int:
        return len(self._pairs)

    def __repr__(self) -> str:
        return f"SymbolMapper({len(self._pairs)} spot pairs, {len(self._instruments)} instruments)"

    # -- lookups ------------------------------------------------------------------------------------------

    def spot_pair(self, symbol: str) -> SpotPair:
        """The pair named by ``symbol`` in any Spot notation (``BTC/USD``, ``XBTUSD``, ``XXBTZUSD``, ...)."""
        if not isinstance(symbol, str) or not symbol.strip():
            raise SymbolFormatError("symbol must be a non-empty str such as 'BTC/USD' or 'XBTUSD'", field="symbol")
        found = self._spot_index.get(symbol.strip().upper())
        if found is not None:
            return found
        if classify_symbol(symbol.strip()) == "derivatives":
            hint = ""
            inst = self._deriv_index.get(symbol.strip().upper())
            if inst is not None and (spot := self._spot_index.get(inst.spot_ws.upper())) is not None:
                hint = f"; its Spot pair is {spot.ws!r} (REST {spot.rest!r})"
            raise SymbolFormatError(f"{symbol!r} is a Derivatives instrument, not a Spot pair{hint}", field="symbol")
        raise UnknownSymbolError(
            self._unknown("Spot pair", symbol, [p.ws for p in self._pairs] + [p.rest for p in self._pairs]),
            field="symbol",
        )

    def instrument(self, symbol: str) -> DerivativeInstrument:
        if not isinstance(symbol, str) or not symbol.strip():
            raise SymbolFormatError("symbol must be a non-empty str such as 'PF_XBTUSD'", field="symbol")
        found = self._deriv_index.get(symbol.strip().upper())
        if found is None:
            raise UnknownSymbolError(
                self._unknown("Derivatives instrument", symbol, [i.symbol for i in self._instruments]), field="symbol"
            )
        return found

    def to_rest(self, symbol: str) -> str:
        """Spot REST request name: ``to_rest("BTC/USD") == "XBTUSD"``."""
        return self.spot_pair(symbol).rest

    def to_rest_key(self, symbol: str) -> str:
        """Spot REST response key: ``to_rest_key("BTC/USD") == "XXBTZUSD"``."""
        return self.spot_pair(symbol).key

    def to_ws(self, symbol: str) -> str:
        """Spot WS v2 symbol: ``to_ws("XBTUSD") == to_ws("XXBTZUSD") == "BTC/USD"``."""
        return self.spot_pair(symbol).ws

    def perpetual_for(self, symbol: str, *, inverse: bool = False) -> str:
        """The perpetual on a Spot pair's assets: ``perpetual_for("BTC/USD") == "PF_XBTUSD"``.

        Linear multi-collateral (``PF_``) perpetuals are preferred; ``inverse=True`` asks for ``PI_``.
        Raises :class:`UnknownSymbolError` when none is listed.
        """
        pair = self.spot_pair(symbol)
        options = self._perpetuals.get((pair.base, pair.quote), [])
        if inverse:
            options = [i for i in options if i.symbol.upper().startswith("PI_") or i.type == "futures_inverse"]
        else:
            options = [i for i in options if i.type != "futures_inverse"] or options
        if not options:
            listed = sorted({f"{b}/{q}" for b, q in self._perpetuals})
            raise UnknownSymbolError(
                f"no {'inverse ' if inverse else ''}perpetual is listed for {pair.ws!r}"
                f" (perpetuals exist for: {', '.join(listed) or 'none loaded'})",
                field="symbol",
            )
        return options[0].symbol

    def spot_for(self, instrument: str) -> str:
        """The Spot WS v2 pair on a Derivatives instrument's assets: ``spot_for("PF_XBTUSD") == "BTC/USD"``."""
        inst = self.instrument(instrument)
        pair = self._spot_index.get(inst.spot_ws.upper())
        if pair is None:
            raise UnknownSymbolError(f"no Spot pair is listed for {inst.symbol!r} ({inst.spot_ws})", field="symbol")
        return pair.ws

    def is_known(self, symbol: str, context: SymbolContext) -> bool:
        try:
            self.validate(symbol, context)
        except SymbolFormatError:
            return False
        return True

    def validate(self, symbol: object, context: SymbolContext, field: str = "symbol") -> str:
        """Check that ``symbol`` is written for ``context`` and is listed; return it unchanged.

        Contexts: ``spot_rest`` (``XBTUSD``; a comma-separated list is allowed), ``spot_ws``
        (``BTC/USD``), ``derivatives`` (``PF_XBTUSD``). A symbol in another context's notation raises
        :class:`SymbolFormatError` naming the exact right spelling; an unlisted one raises
        :class:`UnknownSymbolError`.
        """
        if context not in ("spot_rest", "spot_ws", "derivatives"):
            raise ValueError(f"unknown context {context!r}; use spot_rest, spot_ws or derivatives")
        try:
            validate_symbol(symbol, context, field)
        except SymbolFormatError as exc:
            hint = self._exact_hint(symbol, context)
            if hint:
                raise SymbolFormatError(f"{exc.message}; for this symbol use {hint!r}", field=field) from None
            raise
        assert isinstance(symbol, str)
        if context == "spot_rest":
            for part in symbol.split(","):
                pair = self._spot_index.get(part.strip().upper())
                if pair is None:
                    raise UnknownSymbolError(
                        self._unknown("Spot pair", part, [p.rest for p in self._pairs]), field=field
                    )
                if part not in (pair.rest, pair.key):
                    raise SymbolFormatError(
                        f"{field}={part!r} is not a listed Spot REST name; use {pair.rest!r}", field=field
                    )
        elif context == "spot_ws":
            pair = self._spot_index.get(symbol.upper())
            if pair is None:
                raise UnknownSymbolError(self._unknown("Spot pair", symbol, [p.ws for p in self._pairs]), field=field)
            if symbol != pair.ws:
                raise SymbolFormatError(
                    f"{field}={symbol!r} is not the WebSocket v2 name; use {pair.ws!r}", field=field
                )
        else:
            if symbol.upper() not in self._deriv_index:
                raise UnknownSymbolError(
                    self._unknown("Derivatives instrument", symbol, [i.symbol for i in self._instruments]), field=field
                )
        return symbol

    def _exact_hint(self, symbol: object, context: SymbolContext) -> str | None:
        if not isinstance(symbol, str):
            return None
        try:
            if classify_symbol(symbol) == "derivatives":
                spot = self.spot_for(symbol)
                return self.to_rest(spot) if context == "spot_rest" else spot
            if context == "spot_rest":
                return self.to_rest(symbol)
            if context == "spot_ws":
                return self.to_ws(symbol)
            return self.perpetual_for(symbol)
        except SymbolFormatError:
            return None

    @staticmethod
    def _unknown(kind: str, symbol: str, known: list[str]) -> str:
        close = difflib.get_close_matches(symbol.upper(), sorted({k.upper() for k in known}), n=3, cutoff=0.6)
        msg = f"unknown {kind} {symbol!r}"
        if close:
            msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
        elif not known:
            msg += " (no listing loaded)"
        return msg


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _instrument(row: Mapping[str, Any]) -> DerivativeInstrument | None:
    symbol = row.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        return None
    base = row.get("base")
    quote = row.get("quote")
    pair = row.get("pair")
    if (not base or not quote) and isinstance(pair, str) and ":" in pair:
        base, quote = pair.split(":", 1)
    if not base or not quote:
        # indices and old rows: PF_XBTUSD -> XBT / USD
        body = symbol.split("_")[1] if "_" in symbol else symbol
        for q in ("USDT", "USDC", "USD", "EUR", "GBP"):
            if body.upper().endswith(q) and len(body) > len(q):
                base, quote = body[: -len(q)], q
                break
        else:
            return None
    kind = str(row.get("type") or "")
    last = row.get("lastTradingTime")
    prefix = symbol.upper().split("_", 1)[0]
    perpetual = last is None and prefix in ("PF", "PI", "PV") and kind not in ("spot index",)
    return DerivativeInstrument(
        symbol=symbol.upper() if symbol.upper().startswith(("PF_", "PI_", "PV_", "FF_", "FI_", "FV_")) else symbol,
        base=_ws_asset(str(base)),
        quote=_ws_asset(str(quote)),
        type=kind,
        perpetual=perpetual,
        tradeable=bool(row.get("tradeable", True)),
        last_trading_time=str(last) if last else None,
    )


# --- cache ------------------------------------------------------------------------------------------


def _client_url(client: Any) -> str:
    env = getattr(client, "environment", None)
    for obj, attr in ((env, "spot_rest_url"), (client, "base_url"), (client, "rest_url")):
        value = getattr(obj, attr, None) if obj is not None else None
        if value:
            return str(value)
    return type(client).__name__


def _cache_path(spot_client: Any, deriv_client: Any | None, cache_dir: str | os.PathLike[str] | None) -> Path:
    ident = _client_url(spot_client) + "|" + (_client_url(deriv_client) if deriv_client is not None else "-")
    digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
    return (
        Path(cache_dir)
        if cache_dir is not None and Path(cache_dir).suffix == ".json"
        else (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / f"symbols-{digest}.json"
    )


def _read_cache(path: Path | None, max_age: float) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return None
    if time.time() - float(data.get("saved_at", 0)) > max_age:
        return None
    if not isinstance(data.get("asset_pairs"), dict):
        return None
    log.debug("symbol listings from cache %s", path)
    return data


def _write_cache(path: Path, payload: dict[str, Any]) -> None:
    data = {"version": CACHE_VERSION, "saved_at": time.time(), **_jsonable(payload)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".symbols-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home must not break trading
        log.warning("could not write the symbol cache %s: %s", path, exc)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
