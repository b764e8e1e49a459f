"""Derivatives WebSocket v1 protocol state machine: pure, no sockets.

Frames: ``{"event": "subscribe", "feed": F, "product_ids": [...]}``; acks ``{"event": "subscribed",
"feed": F, "product_ids": [...]}``; errors ``{"event": "error", "message": "Invalid product id"}``
(no feed, no id: an error fails the oldest request still waiting, which is the one Kraken answers
since it processes a connection's requests in order); data frames carry ``feed`` and no ``event``.

Private feeds need the challenge flow: send ``{"event": "challenge", "api_key": K}``, receive
``{"event": "challenge", "message": UUID}``, then every private (un)subscribe carries ``api_key``,
``original_challenge`` and ``signed_challenge`` (:func:`krakenkit._core.signing.sign_futures_challenge`).
A new connection needs a new challenge.

The API key and the signed challenge are held as :class:`~krakenkit._core.secrets.Secret` values and put
into frames as such (:func:`krakenkit.ws._wire.encode_frame` reveals them on the wire only). Kraken echoes
both in the acks of private feeds; :func:`redact_echo` replaces them with ``***`` before anyone sees the ack.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.errors import InvalidResponseError, ValidationError, error_from_futures
from krakenkit._core.secrets import REDACTED, Secret, reveal
from krakenkit._core.signing import sign_futures_challenge
from krakenkit._core.symbols import validate_derivatives_symbol

from .protocol_common import Outcome, SubRequest, SubscriptionTracker, Topic, TopicKey, freeze, symbol_list
from .protocol_spot import FrameKind, SpotFrame

__all__ = ["ECHOED_SECRETS", "PRIVATE_FEEDS", "PUBLIC_FEEDS", "FuturesProtocol", "redact_echo"]

PUBLIC_FEEDS: Final = frozenset({"ticker", "ticker_lite", "book", "trade", "heartbeat"})
PRIVATE_FEEDS: Final = frozenset(
    {
        "open_orders",
        "open_orders_verbose",
        "fills",
        "balances",
        "open_positions",
        "account_log",
        "notifications_auth",
        "deposits_withdrawals",
    }
)
#: Fields of Kraken's frames that echo what authenticates a private feed.
ECHOED_SECRETS: Final = ("api_key", "signed_challenge")
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9-]{1,128}")
_NON_IDENTITY: Final = frozenset(
    {"product_ids", "symbol", "feed", "event", "api_key", "original_challenge", "signed_challenge"}
)


@dataclass(slots=True)
class _Pending:
    method: str
    feed: str
    keys: list[TopicKey]


class FuturesProtocol:
    """State of one Derivatives v1 connection."""

    def __init__(self, ws_key: str = WS_KEY_MAP.derivativesPublicV1) -> None:
        self.ws_key = ws_key
        self.private = ws_key == WS_KEY_MAP.derivativesPrivateV1
        self.subs = SubscriptionTracker()
        self.api_key: Secret | None = None
        self.original_challenge: str | None = None
        self.signed_challenge: Secret | None = None
        self._pending: deque[_Pending] = deque()

    # auth -----------------------------------------------------------------------------------------
    def challenge_request(self, api_key: Secret | str) -> dict[str, Any]:
        key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self.api_key = key
        self.original_challenge = None
        self.signed_challenge = None
        return {"event": "challenge", "api_key": key}

    def set_challenge(self, challenge: str, secret: Secret | str) -> None:
        """Sign Kraken's challenge (a UUID; anything else is refused before the secret is touched)."""
        if not isinstance(challenge, str) or not _CHALLENGE_RE.fullmatch(challenge):
            raise InvalidResponseError(f"{self.ws_key}: the challenge is not the UUID Kraken sends")
        self.original_challenge = challenge
        self.signed_challenge = Secret(sign_futures_challenge(reveal(secret), challenge))

    @property
    def authenticated(self) -> bool:
        return self.signed_challenge is not None

    # requests -------------------------------------------------------------------------------------
    def topic_items(self, requests: Iterable[SubRequest]) -> list[tuple[TopicKey, dict[str, Any]]]:
        items: list[tuple[TopicKey, dict[str, Any]]] = []
        for req in requests:
            feed = req.topic
            if feed in PRIVATE_FEEDS and not self.private:
                raise ValidationError(
                    f"feed {feed!r} is private: subscribe on {WS_KEY_MAP.derivativesPrivateV1!r}, not {self.ws_key!r}",
                    field="ws_key",
                )
            if feed in PUBLIC_FEEDS and feed != "heartbeat" and self.private:
                raise ValidationError(
                    f"feed {feed!r} is public: subscribe on {WS_KEY_MAP.derivativesPublicV1!r}", field="ws_key"
                )
            payload = dict(req.payload)
            raw = payload.pop("product_ids", None)
            alt = payload.pop("symbol", None)
            if raw is None:
                raw = alt
            for k in ("api_key", "original_challenge", "signed_challenge", "event", "feed"):
                payload.pop(k, None)
            if raw is None and feed in ("ticker", "ticker_lite", "book", "trade"):
                raise ValidationError(f"feed {feed!r} needs product_ids such as ['PF_XBTUSD']", field="product_ids")
            products = symbol_list(raw, validate_derivatives_symbol, "product_ids", feed)
            ident = tuple(sorted((k, freeze(v)) for k, v in payload.items() if k not in _NON_IDENTITY))
            for p in products:
                items.append((TopicKey(feed, p, ident), payload))
        return items

    def subscribe(self, requests: Iterable[SubRequest]) -> tuple[int, list[dict[str, Any]], list[Outcome]]:
        wid, to_send, outcomes = self.subs.add(self.topic_items(requests))
        return wid, self.build_frames("subscribe", to_send), outcomes

    def unsubscribe(self, requests: Iterable[SubRequest]) -> tuple[int, list[dict[str, Any]], list[Outcome]]:
        wid, live, outcomes = self.subs.unsubscribe(self.topic_items(requests), _NON_IDENTITY)
        return wid, self.build_frames("unsubscribe", live), outcomes

    def on_ready(self) -> list[dict[str, Any]]:
        if not self.authenticated and any(k.channel in PRIVATE_FEEDS for k in self.subs.topics):
            raise ValidationError(f"{self.ws_key}: private feeds need a signed challenge first")
        return self.build_frames("subscribe", self.subs.take_unsent())

    def build_frames(self, method: str, topics: Iterable[Topic]) -> list[dict[str, Any]]:
        groups: dict[tuple[str, Any], list[Topic]] = {}
        for t in topics:
            groups.setdefault((t.key.channel, freeze(t.params)), []).append(t)
        frames = []
        for (feed, _), group in groups.items():
            frame: dict[str, Any] = {"event": method, "feed": feed}
            frame.update(group[0].params)
            products = [t.key.symbol for t in group if t.key.symbol is not None]
            if products:
                frame["product_ids"] = products
            if feed in PRIVATE_FEEDS:
                if not self.authenticated:
                    raise ValidationError(f"{self.ws_key}: private feed {feed!r} needs a signed challenge first")
                frame["api_key"] = self.api_key
                frame["original_challenge"] = self.original_challenge
                frame["signed_challenge"] = self.signed_challenge
            self._pending.append(_Pending(method, feed, [t.key for t in group]))
            frames.append(frame)
        return frames

    # incoming -------------------------------------------------------------------------------------
    def on_frame(self, msg: Any) -> SpotFrame:
        if not isinstance(msg, dict):
            return SpotFrame(FrameKind.MALFORMED)
        event = msg.get("event")
        if event is None:
            feed = msg.get("feed")
            if feed is None:
                return SpotFrame(FrameKind.MALFORMED)
            if feed == "heartbeat":
                return SpotFrame(FrameKind.HEARTBEAT)
            return SpotFrame(FrameKind.DATA)
        if event in ("subscribed", "unsubscribed"):
            return self._on_ack("subscribe" if event == "subscribed" else "unsubscribe", msg)
        if event == "challenge":
            return SpotFrame(FrameKind.CHALLENGE)
        if event in ("error", "alert", "subscribed_failed", "unsubscribed_failed"):
            return self._on_error(msg)
        if event == "info":
            return SpotFrame(FrameKind.INFO)
        return SpotFrame(FrameKind.RESPONSE)

    def _on_ack(self, method: str, msg: dict[str, Any]) -> SpotFrame:
        feed = msg.get("feed")
        raw = msg.get("product_ids")
        products = set(raw) if isinstance(raw, list) else set()
        frame = SpotFrame(FrameKind.ACK)
        for pend in list(self._pending):
            if pend.method != method or pend.feed != feed:
                continue
            if products:
                keys = [k for k in pend.keys if k.symbol in products or k.symbol is None]
            else:
                keys = list(pend.keys)
            if not keys:
                continue
            for k in keys:
                pend.keys.remove(k)
                if method == "subscribe":
                    frame.outcomes.extend(self.subs.ack(k, msg))
                else:
                    frame.outcomes.extend(self.subs.unsub_ack(k, msg))
            if not pend.keys:
                self._pending.remove(pend)
            break
        return frame

    def _on_error(self, msg: dict[str, Any]) -> SpotFrame:
        text = str(msg.get("message") or msg.get("error") or "unknown error")
        err = error_from_futures(text, endpoint=str(msg.get("event")), payload=msg)
        frame = SpotFrame(FrameKind.ACK, success=False, error=err)
        if not self._pending:
            return frame
        pend = self._pending.popleft()
        err.context["request"] = {
            "event": pend.method,
            "feed": pend.feed,
            "product_ids": [k.symbol for k in pend.keys if k.symbol],
        }
        for k in pend.keys:
            if pend.method == "subscribe":
                frame.outcomes.extend(self.subs.reject(k, err))
            else:
                frame.outcomes.extend(self.subs.unsub_ack(k, msg))
        return frame

    # connection -----------------------------------------------------------------------------------
    def on_connection_lost(self, reason: str = "connection lost") -> list[Outcome]:
        self._pending.clear()
        self.original_challenge = None
        self.signed_challenge = None
        return self.subs.connection_lost()


def redact_echo(msg: Any) -> bool:
    """Replace the API key and signed challenge Kraken echoes in a frame (``subscribed`` acks of private
    feeds) with ``***``, in place. True when something was replaced."""
    if type(msg) is not dict:
        return False
    changed = False
    for name in ECHOED_SECRETS:
        if name in msg and msg[name] != REDACTED:
            msg[name] = REDACTED
            changed = True
    return changed
