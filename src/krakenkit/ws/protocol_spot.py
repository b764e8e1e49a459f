"""Spot WebSocket v2 protocol state machine: pure, no sockets.

It builds request frames (``subscribe``/``unsubscribe``/trading methods/``ping``) with ``req_id``s,
keeps the subscription set (see :class:`~krakenkit.ws.protocol_common.SubscriptionTracker`),
correlates acks and replies to requests, and classifies every incoming frame. The driver feeds it
decoded frames and resolves the :class:`~krakenkit.ws.protocol_common.Outcome` values it returns.

Ack matching: Kraken echoes ``req_id`` (always sent by krakenkit); book/ohlc/trade/level3/ticker ack
once per symbol (``result.symbol``). An ack without ``req_id`` (the official examples show some) is
matched by method + channel + symbol against the requests still waiting. A rejected subscription
(``success: false``) leaves the active set and raises the mapped error
(:func:`krakenkit._core.errors.error_from_spot`) in its waiter; ``Already subscribed`` counts as an
ack and ``Subscription Not Found`` on unsubscribe as done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.errors import (
    APITimeoutError,
    ConnectionLostError,
    InvalidResponseError,
    KrakenError,
    OrderOutcomeUnknownError,
    ValidationError,
    error_from_spot,
)
from krakenkit._core.secrets import Secret
from krakenkit._core.symbols import validate_spot_ws_symbol

from .protocol_common import Outcome, SubRequest, SubscriptionTracker, Topic, TopicKey, freeze, symbol_list

__all__ = [
    "DEADLINE_METHODS",
    "PRIVATE_CHANNELS",
    "TRADING_METHODS",
    "FrameKind",
    "SpotFrame",
    "SpotProtocol",
    "client_order_ids",
]

PRIVATE_CHANNELS: Final = frozenset({"executions", "balances", "level3"})
NON_IDENTITY_PARAMS: Final = frozenset(
    {"token", "snapshot", "snap_orders", "snap_trades", "req_id", "symbol", "channel"}
)
#: Spot v2 methods that place, amend or cancel orders: booked on the trading counter, and an unanswered one
#: is an unknown outcome (:class:`~krakenkit.OrderOutcomeUnknownError`).
TRADING_METHODS: Final[frozenset[str]] = frozenset(
    {
        "add_order",
        "amend_order",
        "edit_order",
        "cancel_order",
        "cancel_all",
        "cancel_all_orders_after",
        "batch_add",
        "batch_cancel",
    }
)
#: Methods taking Kraken's ``deadline`` (WS v2 ``add_order``, ``batch_add``, ``amend_order``).
DEADLINE_METHODS: Final = frozenset({"add_order", "batch_add", "amend_order"})
BENIGN_SUBSCRIBE_ERRORS: Final = ("Already subscribed",)
BENIGN_UNSUBSCRIBE_ERRORS: Final = ("Subscription Not Found", "Subscription not found")


class FrameKind:
    DATA: Final = "data"
    HEARTBEAT: Final = "heartbeat"
    PONG: Final = "pong"
    ACK: Final = "ack"  # subscribe/unsubscribe ack or error
    REPLY: Final = "reply"  # reply to a trading request
    RESPONSE: Final = "response"  # some other method reply we did not ask for
    CHALLENGE: Final = "challenge"  # derivatives only
    INFO: Final = "info"
    MALFORMED: Final = "malformed"


@dataclass(slots=True)
class SpotFrame:
    kind: str
    outcomes: list[Outcome] = field(default_factory=list)
    req_id: int | None = None
    success: bool = True
    error: KrakenError | None = None


@dataclass(slots=True)
class _PendingSub:
    method: str
    keys: list[TopicKey]


@dataclass(slots=True)
class _PendingApi:
    method: str
    waiter_id: int
    expected: int
    cl_ord_id: str | None
    request: dict[str, Any] = field(default_factory=dict)  # the params sent, without the token
    cl_ord_ids: list[str] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def client_order_ids(params: Mapping[str, Any], cl_ord_id: str | None = None) -> list[str]:
    """The client order ids a request names: ``cl_ord_id`` (one or a list) and those of ``orders`` (batch)."""
    ids: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str):
            if value not in ids:
                ids.append(value)
        elif isinstance(value, list | tuple):
            for v in value:
                add(v)

    add(cl_ord_id)
    add(params.get("cl_ord_id"))
    orders = params.get("orders")
    if isinstance(orders, list | tuple):
        for order in orders:
            if isinstance(order, Mapping):
                add(order.get("cl_ord_id"))
    return ids


class SpotProtocol:
    """State of one Spot v2 connection (``ws_key``): subscriptions, pending requests, token.

    The token is held as a :class:`~krakenkit._core.secrets.Secret` (it is enough to trade): frames carry
    the Secret, which only :func:`krakenkit.ws._wire.encode_frame` reveals, on the wire."""

    def __init__(self, ws_key: str = WS_KEY_MAP.spotPublicV2) -> None:
        self.ws_key = ws_key
        self.private = ws_key in WS_KEY_MAP.PRIVATE
        self._token: Secret | None = None
        self.subs = SubscriptionTracker()
        self._next_req_id = 0
        self._pending_subs: dict[int, _PendingSub] = {}
        self._pending_api: dict[int, _PendingApi] = {}

    @property
    def token(self) -> Secret | None:
        """The connection's WebSocket token (a Secret), None before authentication and after a drop."""
        return self._token

    @token.setter
    def token(self, value: object) -> None:
        """Take a token (``str`` or :class:`Secret`; what a token provider returns); None clears it."""
        if value is None or isinstance(value, Secret):
            self._token = value
        elif isinstance(value, str):
            self._token = Secret(value)
        else:
            kind = type(value).__name__
            del value  # whatever it holds stays out of this frame
            raise InvalidResponseError(f"{self.ws_key}: the token provider returned a {kind}, not the token (a str)")
        if self._token is not None and not self._token:
            self._token = None
            raise InvalidResponseError(f"{self.ws_key}: the token provider returned an empty token")

    # ids ------------------------------------------------------------------------------------------
    def next_req_id(self) -> int:
        self._next_req_id += 1
        return self._next_req_id

    # requests -------------------------------------------------------------------------------------
    def topic_items(self, requests: Iterable[SubRequest]) -> list[tuple[TopicKey, dict[str, Any]]]:
        """Validate requests and split them into one (key, params) per symbol.

        Refuses (before sending) symbols in the wrong notation, private channels on a public key
        and a caller-supplied ``token`` (krakenkit fetches a fresh one per connection).
        """
        items: list[tuple[TopicKey, dict[str, Any]]] = []
        for req in requests:
            channel = req.topic
            if channel in PRIVATE_CHANNELS and not self.private:
                raise ValidationError(
                    f"channel {channel!r} is private: subscribe on "
                    f"{WS_KEY_MAP.spotL3V2 if channel == 'level3' else WS_KEY_MAP.spotPrivateV2!r}, "
                    f"not {self.ws_key!r}",
                    field="ws_key",
                )
            payload = dict(req.payload)
            if "product_ids" in payload:
                raise ValidationError(
                    f"'product_ids' is a Derivatives parameter; Spot v2 ({self.ws_key}) takes 'symbol': ['BTC/USD']",
                    field="product_ids",
                )
            payload.pop("token", None)
            payload.pop("channel", None)
            symbols = symbol_list(payload.pop("symbol", None), validate_spot_ws_symbol, "symbol", channel)
            ident = tuple(sorted((k, freeze(v)) for k, v in payload.items() if k not in NON_IDENTITY_PARAMS))
            for sym in symbols:
                items.append((TopicKey(channel, sym, ident), payload))
        return items

    def subscribe(self, requests: Iterable[SubRequest]) -> tuple[int, list[dict[str, Any]], list[Outcome]]:
        """Add subscriptions. Returns (waiter id, frames to send now, immediate outcomes)."""
        items = self.topic_items(requests)
        wid, to_send, outcomes = self.subs.add(items)
        return wid, self.build_frames("subscribe", to_send), outcomes

    def unsubscribe(self, requests: Iterable[SubRequest]) -> tuple[int, list[dict[str, Any]], list[Outcome]]:
        """Remove matching subscriptions (an omitted parameter matches any value). Returns (waiter
        id, frames to send now, immediate outcomes)."""
        wid, live, outcomes = self.subs.unsubscribe(self.topic_items(requests), NON_IDENTITY_PARAMS)
        return wid, self.build_frames("unsubscribe", live), outcomes

    def on_ready(self) -> list[dict[str, Any]]:
        """The connection is up (and authenticated): frames re-sending every active subscription."""
        if self.private:
            self._require_token()
        return self.build_frames("subscribe", self.subs.take_unsent())

    def build_frames(self, method: str, topics: Iterable[Topic]) -> list[dict[str, Any]]:
        """Group topics by channel and parameters: one request with a symbol list per group."""
        groups: dict[tuple[str, Any], list[Topic]] = {}
        for t in topics:
            groups.setdefault((t.key.channel, freeze(t.params)), []).append(t)
        frames = []
        for (channel, _), group in groups.items():
            params: dict[str, Any] = {"channel": channel}
            params.update(group[0].params)
            symbols = [t.key.symbol for t in group if t.key.symbol is not None]
            if symbols:
                params["symbol"] = symbols
            if self.private:
                params["token"] = self._require_token()
            req_id = self.next_req_id()
            self._pending_subs[req_id] = _PendingSub(method, [t.key for t in group])
            frames.append({"method": method, "params": params, "req_id": req_id})
        return frames

    def api_request(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        waiter_id: int,
        expected_replies: int = 1,
        cl_ord_id: str | None = None,
    ) -> dict[str, Any]:
        """A trading request frame with a fresh ``req_id`` and the connection's token (a Secret)."""
        req_id = self.next_req_id()
        request = {k: v for k, v in params.items() if k != "token"}  # what errors may show: never a token
        body = dict(request)
        if self.private:
            body["token"] = self._require_token()
        ids = client_order_ids(request, cl_ord_id)
        self._pending_api[req_id] = _PendingApi(
            method, waiter_id, max(1, expected_replies), cl_ord_id or (ids[0] if len(ids) == 1 else None), request, ids
        )
        return {"method": method, "params": body, "req_id": req_id}

    def forget_request(self, req_id: int) -> None:
        """The caller gave up: a late reply will be reported as an unmatched response."""
        self._pending_api.pop(req_id, None)

    def request_record(self, req_id: int) -> _PendingApi | None:
        """What is known of a request in flight (None once answered or forgotten)."""
        return self._pending_api.get(req_id)

    def unanswered_error(self, req_id: int, pend: _PendingApi, why: str, *, lost: bool = False) -> KrakenError:
        """The error for the caller of a request that got no answer (``why``: e.g. "got no reply within
        10s"; ``lost``: the socket went). A trading request (:data:`TRADING_METHODS`) gets an
        :class:`~krakenkit.OrderOutcomeUnknownError` carrying its client id(s) and deadline
        (:class:`~krakenkit.ConnectionLostError` when the socket went), other requests ``APITimeoutError``
        (``ConnectionLostError`` when the socket went)."""
        text = f"{self.ws_key}: {pend.method} (req_id {req_id}) {why}"
        if pend.cl_ord_ids:
            text += f" (cl_ord_id {', '.join(pend.cl_ord_ids)})"
        trading = pend.method in TRADING_METHODS
        if trading or lost:
            text += "; its outcome is unknown"
            if trading:
                text += ": look the order up by its client id before sending it again"
        context: dict[str, Any] = {
            "cl_ord_id": pend.cl_ord_id,
            "req_id": req_id,
            "endpoint": pend.method,
            "request": pend.request,
            "cl_ord_ids": list(pend.cl_ord_ids),
            "deadline": pend.request.get("deadline"),
        }
        if lost:
            return ConnectionLostError(text, **context)
        if trading:
            return OrderOutcomeUnknownError(text, **context)
        return APITimeoutError(text, endpoint=pend.method, req_id=req_id)

    def ping(self) -> dict[str, Any]:
        return {"method": "ping", "req_id": self.next_req_id()}

    def _require_token(self) -> Secret:
        token = self._token
        if token is None:
            raise ValidationError(f"{self.ws_key} needs a WebSocket token before sending private requests")
        return token

    @property
    def pending_requests(self) -> int:
        return len(self._pending_api)

    # incoming -------------------------------------------------------------------------------------
    def on_frame(self, msg: Any) -> SpotFrame:
        """Classify one decoded frame and update state."""
        if not isinstance(msg, dict):
            return SpotFrame(FrameKind.MALFORMED)
        channel = msg.get("channel")
        if channel is not None:
            if channel == "heartbeat":
                return SpotFrame(FrameKind.HEARTBEAT)
            return SpotFrame(FrameKind.DATA)
        method = msg.get("method")
        if method == "pong":
            req_id = _int_or_none(msg.get("req_id"))
            if req_id is not None and req_id in self._pending_api:  # a ping sent with request(): its reply
                return self._on_api_reply(req_id, msg, success=True)
            return SpotFrame(FrameKind.PONG, req_id=req_id)
        if method in ("subscribe", "unsubscribe"):
            return self._on_sub_ack(method, msg)
        req_id = _int_or_none(msg.get("req_id"))
        if req_id is not None and req_id in self._pending_api:
            return self._on_api_reply(req_id, msg)
        if method is None and "error" not in msg:
            return SpotFrame(FrameKind.MALFORMED)
        success = msg.get("success") is not False
        return SpotFrame(FrameKind.RESPONSE, req_id=req_id, success=success)

    def _on_sub_ack(self, method: str, msg: dict[str, Any]) -> SpotFrame:
        success = msg.get("success") is True
        result = msg.get("result")
        result = result if isinstance(result, dict) else {}
        channel = result.get("channel", msg.get("channel"))
        symbol = result.get("symbol", msg.get("symbol"))
        req_id = _int_or_none(msg.get("req_id"))
        error_text = str(msg.get("error") or "")
        frame = SpotFrame(FrameKind.ACK, req_id=req_id, success=success)
        pend = self._pending_subs.get(req_id) if req_id is not None else None
        if pend is None and req_id is None:
            rid, pend = self._find_pending(method, channel, symbol)
            req_id = rid
        if pend is None or req_id is None:
            if not success:
                frame.error = error_from_spot([error_text or "unknown error"], endpoint=method)
            return frame
        keys = [
            k for k in pend.keys if (channel is None or k.channel == channel) and (symbol is None or k.symbol == symbol)
        ]
        if success and not keys:
            return frame
        if success or error_text.startswith(BENIGN_SUBSCRIBE_ERRORS + BENIGN_UNSUBSCRIBE_ERRORS):
            keys = keys[:1] if symbol is not None or len(keys) == 1 else keys
        for k in keys:
            pend.keys.remove(k)
        if not pend.keys:
            del self._pending_subs[req_id]
        outcomes: list[Outcome] = []
        if method == "subscribe":
            if success or error_text.startswith(BENIGN_SUBSCRIBE_ERRORS):
                for k in keys:
                    outcomes.extend(self.subs.ack(k, msg))
            else:
                err = error_from_spot([error_text or "unknown error"], endpoint="subscribe")
                err.context["request"] = {"channel": channel, "symbol": symbol}
                frame.error = err
                for k in keys:
                    outcomes.extend(self.subs.reject(k, err))
        else:
            if not success and not error_text.startswith(BENIGN_UNSUBSCRIBE_ERRORS):
                frame.error = error_from_spot([error_text or "unknown error"], endpoint="unsubscribe")
            for k in keys:
                outcomes.extend(self.subs.unsub_ack(k, msg))
        frame.outcomes = outcomes
        return frame

    def _find_pending(self, method: str, channel: Any, symbol: Any) -> tuple[int | None, _PendingSub | None]:
        for rid, pend in self._pending_subs.items():
            if pend.method != method:
                continue
            for k in pend.keys:
                if (channel is None or k.channel == channel) and (symbol is None or k.symbol == symbol):
                    return rid, pend
        return None, None

    def _on_api_reply(self, req_id: int, msg: dict[str, Any], success: bool | None = None) -> SpotFrame:
        pend = self._pending_api[req_id]
        success = msg.get("success") is True if success is None else success
        if success:
            pend.replies.append(msg)
        else:
            pend.errors.append(msg)
        frame = SpotFrame(FrameKind.REPLY, req_id=req_id, success=success)
        if len(pend.replies) + len(pend.errors) < pend.expected:
            return frame
        del self._pending_api[req_id]
        if pend.errors:
            texts = [str(e.get("error") or "unknown error") for e in pend.errors]
            err = error_from_spot(texts, endpoint=pend.method)
            err.context.update(replies=pend.replies, error_replies=pend.errors, req_id=req_id)
            if pend.cl_ord_id is not None:
                err.context["cl_ord_id"] = pend.cl_ord_id
            frame.error = err
            frame.outcomes = [Outcome(pend.waiter_id, error=err)]
        else:
            frame.outcomes = [Outcome(pend.waiter_id, pend.replies)]
        return frame

    # connection -----------------------------------------------------------------------------------
    def on_connection_lost(self, reason: str = "connection lost") -> list[Outcome]:
        """Every request in flight fails with :class:`ConnectionLostError` (outcome unknown);
        subscriptions wait for the next session."""
        out: list[Outcome] = []
        for req_id, pend in self._pending_api.items():
            err = self.unanswered_error(req_id, pend, f"was in flight when the connection went ({reason})", lost=True)
            out.append(Outcome(pend.waiter_id, error=err))
        self._pending_api.clear()
        self._pending_subs.clear()
        self.token = None
        out.extend(self.subs.connection_lost())
        return out


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
