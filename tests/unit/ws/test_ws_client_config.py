"""Client construction and the connection's queue policy, without sockets."""

from __future__ import annotations

from typing import Any

import pytest

from krakenkit import LIVE, WS_KEY_MAP, Environment
from krakenkit._core.errors import MissingCredentialsError, ValidationError
from krakenkit.ws import WebsocketClient
from krakenkit.ws.connection import ConnectionOptions, WsConnection
from krakenkit.ws.events import MessageEvent, QueueFullEvent, WsEvent
from krakenkit.ws.protocol_common import ConnectBudget


def test_urls_live_testnet_overrides_and_environment() -> None:
    assert WebsocketClient().environment.ws_url(WS_KEY_MAP.spotPublicV2) == "wss://ws.kraken.com/v2"
    assert WebsocketClient().environment.ws_url(WS_KEY_MAP.spotL3V2) == "wss://ws-l3.kraken.com/v2"
    demo = WebsocketClient(testnet=True).environment
    assert demo.ws_url(WS_KEY_MAP.derivativesPublicV1) == "wss://demo-futures.kraken.com/ws/v1"
    ws = WebsocketClient(ws_urls={"spotPublicV2": "ws://127.0.0.1:1/v2"})
    assert ws.environment.ws_url("spotPublicV2") == "ws://127.0.0.1:1/v2"
    assert ws.environment.ws_url("spotPrivateV2") == LIVE.ws_url("spotPrivateV2")
    env = Environment("http://x", "http://x", {k: f"ws://x/{k}" for k in WS_KEY_MAP.ALL}, "sandbox")
    assert WebsocketClient(environment=env).environment.ws_url("spotBetaPublicV2") == "ws://x/spotBetaPublicV2"


def test_credentials_are_checked_per_key() -> None:
    with pytest.raises(MissingCredentialsError):
        WebsocketClient("key-only")
    with pytest.raises(MissingCredentialsError):
        WebsocketClient(futures_api_key="k")
    ws = WebsocketClient()
    with pytest.raises(MissingCredentialsError):
        ws.connection(WS_KEY_MAP.spotPrivateV2)
    with pytest.raises(MissingCredentialsError):
        ws.connection(WS_KEY_MAP.derivativesPrivateV1)
    with pytest.raises(ValidationError):
        ws.connection("spotPublicV3")
    with pytest.raises(ValidationError):
        ws.on("mesage", print)


def test_proxy_options_reach_the_websocket_driver() -> None:
    assert WebsocketClient()._options.proxy is True  # websockets reads the environment
    assert WebsocketClient(network_options={"proxy": "http://p:3128"})._options.proxy == "http://p:3128"
    opts = WebsocketClient(network_options={"proxy": "http://p:3128", "ws_proxy": "socks5://s:1080"})._options
    assert opts.proxy == "socks5://s:1080"
    assert WebsocketClient(network_options={"ws_proxy": ""})._options.proxy is None


class _Transport:
    def __init__(self) -> None:
        self.paused = 0
        self.resumed = 0

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1

    def is_closing(self) -> bool:
        return False


class _WS:
    def __init__(self) -> None:
        self.transport = _Transport()


def _conn(ws_key: str, max_queue: int) -> tuple[WsConnection, list[WsEvent]]:
    seen: list[WsEvent] = []

    def deliver(ev: WsEvent) -> None:
        seen.append(ev)

    conn = WsConnection(ws_key, "ws://x", ConnectionOptions(max_queue=max_queue), deliver, ConnectBudget())
    return conn, seen


def test_public_queue_drops_oldest_market_data_and_warns_once() -> None:
    conn, seen = _conn(WS_KEY_MAP.spotPublicV2, 3)
    for i in range(6):
        conn._emit(MessageEvent(conn.ws_key, {"i": i}), True)
    kept = [ev.data["i"] for ev, _ in conn._queue if isinstance(ev, MessageEvent)]
    assert kept == [3, 4, 5] and conn.dropped_messages == 3
    warnings = [e for e in seen if isinstance(e, QueueFullEvent)]
    assert len(warnings) == 1 and warnings[0].policy == "drop_oldest"


def test_private_queue_never_pauses_the_socket_and_never_drops_control_events() -> None:
    """A private (trading) connection keeps reading when its handlers lag: the oldest message goes, with
    a queue_full event; control events (replies, reconnecting ...) are never dropped."""
    from krakenkit.ws.events import ResponseEvent

    conn, seen = _conn(WS_KEY_MAP.spotPrivateV2, 3)
    ws: Any = _WS()
    conn._ws = ws
    conn._emit(ResponseEvent(conn.ws_key, {"req_id": 1}, 1), False)
    for i in range(6):
        conn._emit(MessageEvent(conn.ws_key, {"i": i}), True)
    conn._emit(ResponseEvent(conn.ws_key, {"req_id": 2}, 2), False)
    assert ws.transport.paused == 0  # the socket is never paused: trading replies are always read
    kinds = [(type(ev).__name__, getattr(ev, "data", None)) for ev, _ in conn._queue]
    assert kinds == [
        ("ResponseEvent", {"req_id": 1}),
        ("MessageEvent", {"i": 4}),
        ("MessageEvent", {"i": 5}),
        ("ResponseEvent", {"req_id": 2}),
    ]
    assert conn.dropped_messages == 4
    assert [e.policy for e in seen if isinstance(e, QueueFullEvent)] == ["drop_oldest"]


def test_frames_are_classified_and_garbage_becomes_exception_events() -> None:
    from krakenkit._core.errors import InvalidResponseError
    from krakenkit.ws.events import ExceptionEvent

    conn, _ = _conn(WS_KEY_MAP.spotPublicV2, 100)
    conn.on_frame(b"CloudFlare WebSocket proxy restarting")
    conn.on_frame(b"[1, 2]")
    conn.on_frame(memoryview(b'{"channel":"ticker","type":"update","data":[{"bid":0.10025}]}'))
    conn.on_frame(b'{"channel":"heartbeat"}')
    events = [ev for ev, _ in conn._queue]
    assert [type(e).__name__ for e in events] == ["ExceptionEvent", "ExceptionEvent", "MessageEvent"]
    first = events[0]
    assert isinstance(first, ExceptionEvent) and isinstance(first.error, InvalidResponseError)
    assert first.raw == b"CloudFlare WebSocket proxy restarting"
    msg = events[2]
    assert isinstance(msg, MessageEvent) and str(msg.data["data"][0]["bid"]) == "0.10025"


def test_connect_arguments_keep_tls_for_wss_urls() -> None:
    import ssl

    conn, _ = _conn(WS_KEY_MAP.spotPublicV2, 10)
    kwargs = conn.connect_kwargs()
    assert "ssl" not in kwargs  # websockets then creates a default TLS context for wss://
    assert kwargs["ping_interval"] is None and kwargs["proxy"] is True
    ctx = ssl.create_default_context()
    ws = WebsocketClient(network_options={"ssl": ctx})
    assert ws.connection(WS_KEY_MAP.spotPublicV2).connect_kwargs()["ssl"] is ctx
