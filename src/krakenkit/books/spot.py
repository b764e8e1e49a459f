"""Spot WS v2 ``book`` channel (L2): a local order book that verifies Kraken's checksum.

Layout per side, chosen so an update touching one or two levels costs a bisect plus a short
memmove, at depth 10 and at depth 1000 alike, and the checksum never needs a sort:

* ``keys``: sorted ``list[int]``, prices scaled by ``10**price_precision`` (exact integers); bids
  are stored negated, so both sides are ascending with the best level first; the list ends with
  one sentinel, ``inf``, above every key (``keys[bisect_left(keys, k)]`` always exists);
* ``frags``: ``list[bytes]`` aligned with ``keys``: each level's checksum fragment
  ``price_text + qty_text`` (see :mod:`krakenkit.books._checksum`) as ASCII bytes, built and
  checked (``bytes.isdigit``) once per change;
* a bounded cache ``price as received -> (key, price_text)``: a price seen before costs a dict hit.

The checksum is the CRC32 of ``b"".join(asks.frags[:10] + bids.frags[:10])``. A side's part is
rebuilt only when a message changed something at index < 10 of that side; the asks part is kept
as a running CRC and the bids part as bytes, so such a message ends with
``crc32(bids, crc_asks)``. A message that changed nothing in the top 10 of either side (most of
them at depth 1000) leaves the checksum as it was: it is compared with Kraken's, not recomputed.
Prices and quantities are handed out as exact ``Decimal`` built from the integer fragments.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

import msgspec

from krakenkit._core.errors import ChecksumMismatchError, InvalidResponseError, KrakenError

from ._checksum import _check_precision, fragment
from ._common import Level, VerifiedBookReads, check_depth, check_symbol, scaled_to_decimal
from ._wire import V2Entry, V2Frame, V2Level, v2_decoder

__all__ = ["SpotBook"]

_RAW = (bytes, bytearray, memoryview, str)
_ZEROS = tuple("0" * n for n in range(41))  # precisions are 0..40
_END = float("inf")  # the sentinel closing every keys list
_crc32 = zlib.crc32
_decode = v2_decoder.decode
_MALFORMED = (AttributeError, KeyError, TypeError, ValueError, IndexError)


def _frag_slow(pf: str, qty: Any, qp: int) -> bytes:
    """A level's fragment (``b""`` for a zero quantity), any quantity form (exact)."""
    qf = fragment(qty, qp)
    return (pf + qf).encode() if qf else b""


def _from_mapping(message: Mapping[str, Any]) -> V2Frame:
    """A decoded frame (numbers as Decimal/int/float/str) as the Structs the raw path produces."""
    try:
        if message.get("channel") != "book":
            return V2Frame()
        entries = []
        for e in message.get("data") or ():
            checksum = e.get("checksum")
            timestamp = e.get("timestamp")
            entries.append(
                V2Entry(
                    symbol=e.get("symbol", ""),
                    bids=[V2Level(lvl["price"], lvl["qty"]) for lvl in e.get("bids") or ()],
                    asks=[V2Level(lvl["price"], lvl["qty"]) for lvl in e.get("asks") or ()],
                    checksum=checksum if isinstance(checksum, int) and not isinstance(checksum, bool) else None,
                    timestamp=timestamp if isinstance(timestamp, str) else None,
                )
            )
        return V2Frame(channel="book", type=str(message.get("type", "")), data=entries)
    except (AttributeError, KeyError, TypeError) as exc:
        raise InvalidResponseError(f"malformed book frame: {exc!r}") from exc


class SpotBook(VerifiedBookReads):
    """Local L2 book for one Spot WS v2 ``book`` subscription.

    ``apply(message)`` takes the raw frame as ``bytes``/``str`` (decoded here with msgspec, numbers
    kept exact) or a decoded v2 frame (``{"channel": "book", "type": "snapshot"|"update",
    "data": [...]}``, numbers as ``Decimal``/``int``/``float``/``str``). Every level is applied
    (qty 0 deletes), each side is truncated to ``depth`` (levels pushed out get no delete), then,
    with ``verify=True``, Kraken's checksum is checked: a mismatch marks the book invalid and raises
    :class:`ChecksumMismatchError`. Updates arriving while the book is invalid (before the first
    snapshot, or after a mismatch until the next snapshot) are dropped and counted in
    ``dropped_updates``; resubscribe to get a new snapshot. Frames of other channels or symbols are
    ignored (``apply`` returns ``False``). A malformed frame raises :class:`InvalidResponseError`
    (and invalidates the book if it was partly applied).

    ``price_precision``/``qty_precision`` are the pair's ``price_precision``/``qty_precision`` from
    the instrument channel (``pair_decimals``/``lot_decimals`` in AssetPairs). A price or quantity
    with more significant decimals than that is refused (:class:`InvalidResponseError`).
    """

    __slots__ = (
        "_acache",
        "_af",
        "_ak",
        "_ask_crc",
        "_atop",
        "_bcache",
        "_bf",
        "_bid_bytes",
        "_bk",
        "_btop",
        "_cache_limit",
        "_last_checksum",
        "_last_update",
        "_valid",
        "depth",
        "dropped_updates",
        "price_precision",
        "qty_precision",
        "symbol",
        "verify",
    )

    def __init__(
        self,
        symbol: str,
        depth: int,
        price_precision: int,
        qty_precision: int,
        *,
        verify: bool = True,
    ) -> None:
        self.symbol = check_symbol(symbol)
        self.depth = check_depth(depth)
        _check_precision(price_precision, "price_precision")
        _check_precision(qty_precision, "qty_precision")
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        self.verify = bool(verify)
        self.dropped_updates = 0
        self._ak: list[float] = [_END]  # ints and the sentinel
        self._af: list[bytes] = []
        self._bk: list[float] = [_END]
        self._bf: list[bytes] = []
        self._acache: dict[Any, tuple[int, str]] = {}
        self._bcache: dict[Any, tuple[int, str]] = {}
        self._cache_limit = 2 * depth + 64
        self._ask_crc = 0
        self._bid_bytes = b""
        self._atop = -1
        self._btop = -1
        self._valid = False
        self._last_update: str | None = None
        self._last_checksum: int | None = None

    # ------------------------------------------------------------------ applying messages

    def apply(self, message: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> bool:
        """Apply one v2 ``book`` frame. Returns ``True`` when it changed this book."""
        try:
            frame = _decode(message)  # type: ignore[arg-type]  # a Mapping raises TypeError
        except msgspec.ValidationError as exc:
            # valid JSON of the wrong shape: if it was meant for this book, we lost an update
            if isinstance(message, _RAW) and self._concerns_me(message):
                self._valid = False
            raise InvalidResponseError(f"malformed book frame: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise InvalidResponseError(f"undecodable frame: {exc}") from exc
        except TypeError:  # not a buffer nor str: a decoded frame
            frame = _from_mapping(message)  # type: ignore[arg-type]
        if frame.channel != "book":
            return False
        if frame.type != "update":
            return self._other(frame)
        # The hot path, fully inline: no Python call per side or per level (a price seen for
        # the first time excepted); both sides share the code below, written out twice.
        applied = False
        symbol = self.symbol
        for e in frame.data:
            if e.symbol != symbol:
                continue
            if not self._valid:
                self.dropped_updates += 1
                continue
            qp = self.qty_precision
            depth = self.depth
            zeros = _ZEROS
            atop = self._atop  # per side: < 0 once a level at index < 10 changed (or stale)
            btop = self._btop
            try:
                levels = e.asks
                if levels:
                    keys = self._ak
                    frags = self._af
                    cache = self._acache
                    for lvl in levels:
                        price = lvl.price
                        hit = cache.get(price)
                        if hit is None:
                            hit = self._new_price(price, cache, False)
                        key, pf = hit
                        # the level's fragment, inline for number text and ints; the rest
                        # (quoted numbers, exponents, errors) goes through _frag_slow()
                        q = lvl.qty
                        if q.__class__ is str:
                            whole, _, frac = q.partition(".")
                            pad = qp - len(frac)
                            if pad < 0:
                                frag = _frag_slow(pf, q, qp)
                            elif whole >= "1":  # JSON number text has no leading zero
                                frag = f"{pf}{whole}{frac}{zeros[pad]}".encode()
                                if not frag.isdigit():
                                    frag = _frag_slow(pf, q, qp)
                            elif whole == "0":
                                frac = frac.lstrip("0")
                                if frac:
                                    frag = f"{pf}{frac}{zeros[pad]}".encode()
                                    if not frag.isdigit():
                                        frag = _frag_slow(pf, q, qp)
                                else:
                                    frag = b""
                            else:
                                frag = _frag_slow(pf, q, qp)
                        elif q.__class__ is int and q >= 0:
                            frag = f"{pf}{q}{zeros[qp]}".encode() if q else b""
                        else:
                            frag = _frag_slow(pf, q, qp)
                        i = bisect_left(keys, key)
                        if keys[i] == key:
                            if frag:
                                frags[i] = frag
                            else:
                                del keys[i]
                                del frags[i]
                        elif frag:
                            keys[i:i] = (key,)
                            frags[i:i] = (frag,)
                        else:
                            continue  # delete of a level we do not hold (e.g. already out of depth)
                        if i < atop:
                            atop = -1  # the side is dirty; every later i < -1 test is False
                    if len(frags) > depth:
                        # Truncation cannot change the top 10 unnoticed: with depth < 10 the list
                        # only grows past depth through an insert at an index <= depth < 10,
                        # which marked it dirty.
                        del keys[depth:-1]
                        del frags[depth:]
                levels = e.bids
                if levels:
                    keys = self._bk
                    frags = self._bf
                    cache = self._bcache
                    for lvl in levels:
                        price = lvl.price
                        hit = cache.get(price)
                        if hit is None:
                            hit = self._new_price(price, cache, True)
                        key, pf = hit
                        # the level's fragment, inline for number text and ints; the rest
                        # (quoted numbers, exponents, errors) goes through _frag_slow()
                        q = lvl.qty
                        if q.__class__ is str:
                            whole, _, frac = q.partition(".")
                            pad = qp - len(frac)
                            if pad < 0:
                                frag = _frag_slow(pf, q, qp)
                            elif whole >= "1":  # JSON number text has no leading zero
                                frag = f"{pf}{whole}{frac}{zeros[pad]}".encode()
                                if not frag.isdigit():
                                    frag = _frag_slow(pf, q, qp)
                            elif whole == "0":
                                frac = frac.lstrip("0")
                                if frac:
                                    frag = f"{pf}{frac}{zeros[pad]}".encode()
                                    if not frag.isdigit():
                                        frag = _frag_slow(pf, q, qp)
                                else:
                                    frag = b""
                            else:
                                frag = _frag_slow(pf, q, qp)
                        elif q.__class__ is int and q >= 0:
                            frag = f"{pf}{q}{zeros[qp]}".encode() if q else b""
                        else:
                            frag = _frag_slow(pf, q, qp)
                        i = bisect_left(keys, key)
                        if keys[i] == key:
                            if frag:
                                frags[i] = frag
                            else:
                                del keys[i]
                                del frags[i]
                        elif frag:
                            keys[i:i] = (key,)
                            frags[i:i] = (frag,)
                        else:
                            continue  # delete of a level we do not hold (e.g. already out of depth)
                        if i < btop:
                            btop = -1  # the side is dirty; every later i < -1 test is False
                    if len(frags) > depth:
                        # Truncation cannot change the top 10 unnoticed: with depth < 10 the list
                        # only grows past depth through an insert at an index <= depth < 10,
                        # which marked it dirty.
                        del keys[depth:-1]
                        del frags[depth:]
            except KrakenError:
                self._valid = False
                raise
            except _MALFORMED as exc:
                self._valid = False
                raise InvalidResponseError(f"malformed book level: {exc!r}") from exc
            self._last_update = e.timestamp
            if self.verify:
                if atop < 0 or btop < 0:
                    if atop < 0:
                        frags = self._af
                        self._ask_crc = _crc32(b"".join(frags if depth <= 10 else frags[:10]))
                        self._atop = 10
                    if btop < 0:
                        frags = self._bf
                        self._bid_bytes = b"".join(frags if depth <= 10 else frags[:10])
                        self._btop = 10
                    actual = _crc32(self._bid_bytes, self._ask_crc)
                    if actual != e.checksum:
                        self._mismatch(e.checksum, actual)
                    self._last_checksum = actual
                elif e.checksum != self._last_checksum:  # the top 20 levels did not change
                    self._mismatch(e.checksum, self._last_checksum)
            else:
                self._atop = self._btop = -1  # recompute once verify is switched on
                self._last_checksum = e.checksum
            applied = True
        return applied

    def _other(self, frame: V2Frame) -> bool:
        """Frames other than ``update``: snapshots (other types are ignored)."""
        if frame.type != "snapshot":
            return False
        applied = False
        for e in frame.data:
            if e.symbol == self.symbol:
                self._snapshot(e)
                applied = True
        return applied

    def _concerns_me(self, message: bytes | bytearray | memoryview | str) -> bool:
        try:
            msg = msgspec.json.decode(message)
            if msg.get("channel") != "book":
                return False
            return any(not isinstance(e, dict) or e.get("symbol") in (self.symbol, None) for e in msg["data"])
        except Exception:  # any shape we cannot read could have been ours
            return True

    def _new_price(self, price: Any, cache: dict[Any, tuple[int, str]], bid: bool) -> tuple[int, str]:
        pp = self.price_precision
        pf = ""
        if price.__class__ is str:  # number text, as in the update loop
            whole, _, frac = price.partition(".")
            pad = pp - len(frac)
            if pad >= 0 and whole >= "1":
                pf = f"{whole}{frac}{_ZEROS[pad]}"
                if not (pf.isdigit() and pf.isascii()):
                    pf = ""
        elif price.__class__ is int and price > 0:
            pf = f"{price}{_ZEROS[pp]}"
        if not pf:
            pf = fragment(price, pp)
        if not pf:
            raise InvalidResponseError(f"{self.symbol}: zero price in book level: {price!r}")
        hit = (-int(pf) if bid else int(pf), pf)
        if len(cache) >= self._cache_limit:
            cache.clear()
        cache[price] = hit
        return hit

    def _mismatch(self, checksum: Any, actual: int | None) -> None:
        self._valid = False
        self._last_checksum = None
        raise ChecksumMismatchError(
            f"{self.symbol}: book checksum mismatch (Kraken {checksum}, local {actual})",
            symbol=self.symbol,
            expected=checksum if isinstance(checksum, int) else None,
            actual=actual,
        )

    def _snapshot(self, e: V2Entry) -> None:
        self.reset()
        try:
            ak, af = self._load(e.asks, self._acache, False)
            bk, bf = self._load(e.bids, self._bcache, True)
        except KrakenError:
            raise
        except _MALFORMED as exc:
            raise InvalidResponseError(f"malformed book level: {exc!r}") from exc
        self._ak, self._af, self._bk, self._bf = ak, af, bk, bf
        self._last_update = e.timestamp
        if self.verify:
            actual = self.checksum()
            if actual != e.checksum:
                self._mismatch(e.checksum, actual)
            self._last_checksum = actual
        else:
            self._last_checksum = e.checksum
        self._atop = self._btop = -1
        self._valid = True

    def _load(
        self, levels: list[V2Level], cache: dict[Any, tuple[int, str]], bid: bool
    ) -> tuple[list[float], list[bytes]]:
        qp = self.qty_precision
        by_key: dict[int, bytes] = {}
        for lvl in levels:
            hit = cache.get(lvl.price)
            if hit is None:
                hit = self._new_price(lvl.price, cache, bid)
            key, pf = hit
            qf = fragment(lvl.qty, qp)
            if qf:
                by_key[key] = (pf + qf).encode()
            else:
                by_key.pop(key, None)
        keys = sorted(by_key)[: self.depth]
        return [*keys, _END], [by_key[k] for k in keys]

    def checksum(self) -> int:
        """The checksum of the book as it is now (computed, whatever ``verify`` says)."""
        return _crc32(b"".join(self._af[:10] + self._bf[:10]))

    def reset(self) -> None:
        """Forget every level and mark the book invalid until the next snapshot."""
        self._ak, self._af, self._bk, self._bf = [_END], [], [_END], []
        self._atop = self._btop = -1
        self._valid = False
        self._last_checksum = None

    # ------------------------------------------------------------------ reads (BookReads hooks)

    def _levels(self, bid: bool, n: int | None) -> list[Level]:
        keys, frags = (self._bk, self._bf) if bid else (self._ak, self._af)
        pp, qp = self.price_precision, self.qty_precision
        out: list[Level] = []
        for i in range(len(frags) if n is None else min(n, len(frags))):
            key = int(keys[i])
            pf = str(-key if key < 0 else key)
            out.append((scaled_to_decimal(pf, pp), scaled_to_decimal(frags[i][len(pf) :].decode(), qp)))
        return out

    def _edge(self) -> tuple[int, int] | None:
        return (int(self._ak[0]), int(self._bk[0])) if self._af and self._bf else None

    def __len__(self) -> int:
        return len(self._af) + len(self._bf)

    def __repr__(self) -> str:
        return (
            f"SpotBook({self.symbol!r}, depth={self.depth}, bids={len(self._bf)}, asks={len(self._af)}, "
            f"valid={self._valid})"
        )
