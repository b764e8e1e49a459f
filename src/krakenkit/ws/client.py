"""``WebsocketClient``: Spot v2 and Derivatives v1 streams that survive drops, stalls and garbage.

::

    from krakenkit import WS_KEY_MAP
    from krakenkit.ws import WebsocketClient

    async with WebsocketClient(api_key, api_secret) as ws:
        @ws.on("message")
        def on_message(event):            # MessageEvent(ws_key=..., data={...})
            ...
        await ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, WS_KEY_MAP.spotPublicV2)
        await ws.subscribe("executions", WS_KEY_MAP.spotPrivateV2)
        async for event in ws.stream(WS_KEY_MAP.spotPublicV2):
            ...

One connection per ws key, opened on first use. ``subscribe``/``unsubscribe`` return a future
with the server's acks (awaiting it is optional; a rejection raises the mapped ``KrakenError``
there and is also emitted as an ``exception`` event; no ack within ``timeout``, default
``request_timeout`` 10 s, raises ``APITimeoutError`` there). Symbols in the wrong notation for the key
are refused before anything is sent. After any reconnect: a fresh token (Spot private) or a new
signed challenge (Derivatives private), then every active subscription exactly once.

Events (see :mod:`krakenkit.ws.events`): open, authenticated, message, response, reconnecting,
reconnected, exception, close, book_resync, queue_full.

Defaults (details in :mod:`krakenkit.ws.connection`):

* the reader never stops reading, so acks and trading replies are never held up by handlers or
  streams; ``max_queue=10_000`` events per connection (and per ``stream()``): a full connection
  queue drops its oldest ``message`` event (``queue_full`` policy ``drop_oldest``); a full stream
  drops its oldest message on public keys, and on private keys is closed with
  :class:`StreamOverflowError` (``queue_full`` policy ``stream_overflow``) rather than dropping
  private data unseen; live books are applied before the queue and never miss an update;
* messages that arrive while no ``stream()`` of their key is open are kept (the newest
  ``stream_replay=1000``, at most ``max_queue``) for the next ``stream()`` of that key, so a stream
  opened after ``await ws.subscribe(...)`` starts with the subscription's snapshot
  (``stream(..., replay=False)``: live messages only);
* staleness: ``staleness_timeout=10.0`` s with nothing received -> reconnect (reason ``stale``);
  an idle connection is pinged every ``ping_interval=3.0`` s (Spot app ping, Derivatives protocol
  ping), so only a peer that stopped answering goes stale;
* reconnect: forever while open; first retry within 50 ms, then jittered exponential backoff from
  0.25 s up to 30 s (``reconnect_backoff=Backoff(...)``), at most 150 connects per 600 s
  (``connect_budget``; when used up it lengthens a wait up to the backoff cap, never beyond, and the
  ``reconnecting`` event announces the real delay); trading requests in flight fail with
  ``ConnectionLostError``;
* orders: ``add_order``, ``batch_add`` and ``amend_order`` carry Kraken's ``deadline``
  (``order_deadline=10`` s from sending on Kraken's clock, estimated from the ``time_in``/``time_out``
  of replies); nothing is ever re-sent by the client.

Books: ``ws.book("BTC/USD")`` (Spot L2), ``ws.book("BTC/USD", level3=True)`` / ``ws.l3_book(...)``
(Spot level3 on ``spotL3V2``) and ``ws.book("PF_XBTUSD")`` (Derivatives); see :mod:`krakenkit.ws.books`.

Rate limits: with Spot credentials the ``executions`` frames of ``spotPrivateV2`` feed the key's
shared :class:`~krakenkit._core.ratelimit.SpotRateLimiter` (order ages from every row; Kraken's own
trading counter when subscribed with ``{"topic": "executions", "payload": {"ratecounter": True}}``),
the limiter :class:`~krakenkit.ws.WebsocketAPIClient` and the REST clients of that key book on.
The low-level :meth:`WebsocketClient.request` books the trading methods (:data:`TRADING_METHODS`) on
it too, through the same path as ``WebsocketAPIClient`` (:func:`_rate_limited`).

``network_options``: what the REST client takes (httpx keyword arguments: ``proxy``, ``verify``,
``timeout`` ...; used for the token calls) plus WebSocket options: ``proxy`` (a URL string applies to
WebSockets too; ``ws_proxy`` overrides it for WebSockets only, ``""`` disables; default: the
``HTTPS_PROXY``/``ALL_PROXY`` environment as websockets reads it), ``open_timeout``, ``compression``
(``None`` default for the lowest latency, or ``"deflate"``), ``ssl`` (an ``SSLContext``), ``user_agent``.
TLS verification turned off (``verify=False``, an ``SSLContext`` without certificate or host name checks)
emits :class:`InsecureTransportWarning` once per client and logs a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar, overload

from krakenkit._core.deadline import DEFAULT_ORDER_DEADLINE, check_deadline_seconds, order_deadline, shared_server_clock
from krakenkit._core.environment import LIVE, TESTNET, WS_KEY_MAP, Environment, warn_if_tls_off
from krakenkit._core.errors import (
    APIConnectionError,
    ChecksumMismatchError,
    InsecureTransportWarning,
    KrakenError,
    MissingCredentialsError,
    RateLimitError,
    SequenceGapError,
    ValidationError,
)
from krakenkit._core.ratelimit import NoRateLimit, RateLimiter, shared_spot_rate_limiter, spot_rate_limiter
from krakenkit._core.secrets import Secret, reveal
from krakenkit._core.symbols import classify_symbol, validate_derivatives_symbol, validate_spot_ws_symbol
from krakenkit._core.validation import check_credentials
from krakenkit.books import DerivativesBook, SpotBook, SpotL3Book

from ._auth import SpotTokenSource, TokenProvider
from ._wire import encode_frame, hide_credential, refuse_not_text
from .books import LiveBook
from .connection import ConnectionOptions, WsConnection
from .events import (
    EVENT_NAMES,
    BookResyncEvent,
    BookUpdateEvent,
    ExceptionEvent,
    MessageEvent,
    QueueFullEvent,
    WsEvent,
)
from .protocol_common import Backoff, ConnectBudget, SubRequest, normalize_requests
from .protocol_spot import DEADLINE_METHODS, TRADING_METHODS, SpotProtocol, client_order_ids

__all__ = ["TRADING_METHODS", "InsecureTransportWarning", "StreamOverflowError", "WebsocketClient"]

log = logging.getLogger("krakenkit.ws")

_TRADING_KEYS = frozenset({WS_KEY_MAP.spotPrivateV2, WS_KEY_MAP.spotBetaPrivateV2})
L3_DEPTHS = (10, 100, 1000)

H = TypeVar("H", bound=Callable[..., Any])
Handler = Callable[[Any], Awaitable[None] | None]
#: How an order request gets its ``deadline``: the caller's own (checked RFC 3339 text) or seconds from sending.
DeadlineSpec = str | float


def _check_credentials(key: Secret | None, secret: Secret | None, prefix: str) -> None:
    """Refuse an unusable key/secret now (printable ASCII, no whitespace, base64 secret), naming the argument
    (``futures_api_key`` ... with ``prefix="futures_"``) and showing the key only shortened."""
    try:
        check_credentials(key, secret, product="futures" if prefix else "spot")
    except ValidationError as exc:
        if not prefix:
            raise
        raise type(exc)(f"{prefix}{exc.message}", field=f"{prefix}{exc.field}" if exc.field else None) from None


class StreamOverflowError(KrakenError):
    """A ``ws.stream()`` of a private key fell ``max_queue`` messages behind and was closed, so that the
    connection keeps reading (trading replies are never held up by an unread stream). The stream yields
    what it held, then raises this. Messages since then are kept for the next ``ws.stream()`` of the key
    (up to ``stream_replay``); reconcile private state (open orders, balances) before trusting it again."""


class WebsocketClient:
    """Streams for every ws key of ``WS_KEY_MAP`` with reconnects, re-auth and resubscription.

    :param api_key, api_secret: Spot key (private keys ``spotPrivateV2``, ``spotL3V2``,
        ``spotBetaPrivateV2`` get a fresh GetWebSocketsToken token per connection).
    :param futures_api_key, futures_api_secret: Derivatives key (``derivativesPrivateV1``).
        Every credential is a ``str`` or a :class:`~krakenkit._core.secrets.Secret`, checked here (printable
        ASCII, no whitespace, base64 secret: else ``ValidationError`` naming it) and held as a Secret from the
        first line on: no repr, log, error or traceback frame shows it (nor the WS token or signed challenge).
    :param testnet: Derivatives demo URLs. Kraken has no Spot test environment: every Spot key of a testnet
        client is refused with ``ValidationError`` (use ``validate=True`` orders or the sandbox) unless
        ``ws_urls`` gives it a URL.
    :param ws_urls: per-key URL overrides, e.g. ``{"spotPublicV2": "ws://..."}``.
    :param environment: a full :class:`~krakenkit.Environment` (e.g. ``sandbox.environment``).
    :param staleness_timeout: seconds without any frame after which a connection is reconnected
        (default 10).
    :param ping_interval: ping an idle connection this often (Spot app ping, Derivatives protocol
        ping; default 3).
    :param reconnect_backoff: :class:`~krakenkit.ws.protocol_common.Backoff` (first retry within
        ``first_jitter`` seconds, then capped jittered exponential; retries never stop).
    :param connect_budget: ``(max_connects, per_seconds)`` shared by all connections of this client.
    :param max_queue: events buffered per connection (and per stream) before the queue policy applies
        (default 10,000): the oldest ``message`` event is dropped; a private stream is closed with
        :class:`StreamOverflowError` instead. The socket is always read.
    :param stream_replay: messages kept for the next ``stream()`` of a key while none is open (the
        newest ones, at most ``max_queue``; default 1,000; 0 keeps none).
    :param request_timeout: default ``timeout`` of ``subscribe``, ``unsubscribe``, ``request`` and the
        :class:`~krakenkit.ws.WebsocketAPIClient` calls (seconds, default 10).
    :param order_deadline: seconds from sending (on Kraken's clock) after which Kraken's engine rejects an
        ``add_order``/``batch_add``/``amend_order`` (its ``deadline``; 2.25 to 60, default 10).
    :param rest_client: object with ``async get_web_sockets_token()`` used for Spot tokens.
    :param token_provider: coroutine function returning a token (overrides ``rest_client``).
    :param rate_limiter: the Spot limiter fed from the ``executions`` channel (every row: order ages;
        ``ratecounter`` values when subscribed with ``ratecounter: true``). Default: the process-wide
        limiter of ``api_key`` (:func:`~krakenkit._core.ratelimit.shared_spot_rate_limiter`, the one
        the REST clients and :class:`~krakenkit.ws.WebsocketAPIClient` of that key use); a private
        one with only a ``token_provider``; :class:`~krakenkit._core.ratelimit.NoRateLimit` without
        Spot credentials.
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        api_secret: str | Secret | None = None,
        *,
        testnet: bool = False,
        ws_urls: Mapping[str, str] | None = None,
        environment: Environment | None = None,
        futures_api_key: str | Secret | None = None,
        futures_api_secret: str | Secret | None = None,
        network_options: Mapping[str, Any] | None = None,
        staleness_timeout: float = 10.0,
        ping_interval: float = 3.0,
        reconnect_backoff: Backoff | None = None,
        connect_budget: tuple[int, float] = (150, 600.0),
        max_queue: int = 10_000,
        rest_client: Any = None,
        token_provider: TokenProvider | None = None,
        request_timeout: float = 10.0,
        rate_limiter: RateLimiter | None = None,
        order_deadline: float = DEFAULT_ORDER_DEADLINE,
        stream_replay: int = 1_000,
    ) -> None:
        # First: from here on this frame (and every frame below) holds the credentials as Secrets only.
        api_key, api_secret = hide_credential(api_key), hide_credential(api_secret)
        futures_api_key, futures_api_secret = hide_credential(futures_api_key), hide_credential(futures_api_secret)
        refuse_not_text(
            api_key=api_key,
            api_secret=api_secret,
            futures_api_key=futures_api_key,
            futures_api_secret=futures_api_secret,
        )
        if (api_key is None) != (api_secret is None):
            raise MissingCredentialsError("pass both api_key and api_secret (or neither)", field="api_secret")
        if (futures_api_key is None) != (futures_api_secret is None):
            raise MissingCredentialsError(
                "pass both futures_api_key and futures_api_secret (or neither)", field="futures_api_secret"
            )
        _check_credentials(api_key, api_secret, "")
        _check_credentials(futures_api_key, futures_api_secret, "futures_")
        if max_queue < 1:
            raise ValidationError("max_queue must be at least 1", field="max_queue")
        if isinstance(stream_replay, bool) or not isinstance(stream_replay, int) or stream_replay < 0:
            raise ValidationError("stream_replay must be an int >= 0 (0 keeps nothing)", field="stream_replay")
        self.order_deadline = check_deadline_seconds(order_deadline, "order_deadline")
        self.request_timeout = _check_timeout(request_timeout, "request_timeout")
        if testnet and environment is not None and environment is not TESTNET:
            raise ValidationError("testnet=True conflicts with environment=...; pass one of them", field="testnet")
        env = environment or (TESTNET if testnet else LIVE)
        self.environment = env.with_ws_urls(ws_urls)
        # testnet: Spot keys are refused (Kraken has no Spot test environment) unless ws_urls points them elsewhere
        testnet = testnet or env is TESTNET or env.name == "testnet"
        self._no_live_spot = frozenset(k for k in WS_KEY_MAP.SPOT if testnet and k not in (ws_urls or {}))
        self._network_options = dict(network_options or {})
        self.tls_verification_off = warn_if_tls_off(type(self).__name__, log, self._network_options)
        self._token_source: SpotTokenSource | None = None
        if token_provider is not None:
            self._token_provider: TokenProvider | None = token_provider
        elif api_key is not None and api_secret is not None:
            self._token_source = SpotTokenSource(
                api_key, api_secret, self.environment, network_options=self._network_options, rest_client=rest_client
            )
            self._token_provider = self._token_source
        else:
            self._token_provider = None
        if rate_limiter is None:
            if api_key is not None:
                rate_limiter = shared_spot_rate_limiter(reveal(api_key), "intermediate")
            elif self._token_provider is not None:
                rate_limiter = spot_rate_limiter("intermediate")  # no key to share it by
            else:
                rate_limiter = NoRateLimit()
        self.rate_limiter: RateLimiter = rate_limiter
        observe_execution = getattr(rate_limiter, "observe_execution", None)
        observe_ratecounter = getattr(rate_limiter, "observe_ratecounter", None)
        self._observe_execution: Callable[[Mapping[str, Any]], None] | None = (
            observe_execution if callable(observe_execution) else None
        )
        self._observe_ratecounter: Callable[[str, float], None] | None = (
            observe_ratecounter if callable(observe_ratecounter) else None
        )
        self._futures_credentials = (
            (futures_api_key, futures_api_secret)
            if futures_api_key is not None and futures_api_secret is not None
            else None
        )
        no = self._network_options
        raw_proxy = no.get("ws_proxy", no.get("proxy"))
        proxy: str | Literal[True] | None
        if isinstance(raw_proxy, str):
            proxy = raw_proxy or None  # "" disables
        else:
            proxy = True if raw_proxy is None else None  # absent: environment; an httpx.Proxy: not for WS
        self._options = ConnectionOptions(
            staleness_timeout=staleness_timeout,
            ping_interval=ping_interval,
            backoff=reconnect_backoff or Backoff(),
            max_queue=max_queue,
            open_timeout=float(no.get("open_timeout", 10.0)),
            proxy=proxy,
            compression=no.get("compression"),
            ssl=no.get("ssl"),
            user_agent=str(no.get("user_agent", "krakenkit")),
            auth_timeout=self.request_timeout,
        )
        if staleness_timeout <= 0 or ping_interval <= 0:
            raise ValidationError("staleness_timeout and ping_interval must be positive", field="staleness_timeout")
        #: Kraken's clock as estimated from Spot replies (shared with the REST clients of the same host)
        self.server_clock = shared_server_clock(self.environment.spot_rest_url)
        self._replay_limit = min(stream_replay, max_queue)
        self._parked: dict[str, deque[MessageEvent]] = {}
        self._budget = ConnectBudget(*connect_budget)
        self._connections: dict[str, WsConnection] = {}
        self._sync_handlers: dict[str, list[Handler]] = {}
        self._async_handlers: dict[str, list[Handler]] = {}
        self._streams: dict[str, list[_Stream]] = {}
        self._books: dict[tuple[str, str], LiveBook] = {}
        self._precisions: dict[str, tuple[int, int]] = {}
        self._precision_waiters: dict[str, list[asyncio.Future[tuple[int, int]]]] = {}
        self._instrument_subscribed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._deferred: list[tuple[str, list[SubRequest], str, float, asyncio.Future[Any]]] = []
        self._stop: asyncio.Event | None = None

    # events ---------------------------------------------------------------------------------------
    @overload
    def on(self, name: str) -> Callable[[H], H]: ...

    @overload
    def on(self, name: str, handler: H) -> H: ...

    def on(self, name: str, handler: H | None = None) -> Any:
        """Register ``handler(event)`` (sync or async) for event ``name``; also a decorator."""
        if name not in EVENT_NAMES and name != "book_update":
            raise ValidationError(f"unknown event {name!r}; known: {', '.join(sorted(EVENT_NAMES))}", field="name")

        def register(fn: H) -> H:
            target = self._async_handlers if inspect.iscoroutinefunction(fn) else self._sync_handlers
            target.setdefault(name, []).append(fn)
            return fn

        if handler is None:
            return register
        return register(handler)

    def off(self, name: str, handler: Handler) -> None:
        for table in (self._sync_handlers, self._async_handlers):
            with contextlib.suppress(ValueError):
                table.get(name, []).remove(handler)

    def _inline_ok(self, name: str, ws_key: str) -> bool:
        """True when delivering ``name`` events needs no await (only sync handlers; streams take events
        without waiting): the connection may then deliver at once instead of queueing."""
        return name != "book_update" and not self._async_handlers.get(name)

    def _deliver(self, event: WsEvent) -> Awaitable[None] | None:
        name = event.name
        sync = self._sync_handlers.get(name)
        if sync:
            for h in sync:
                try:
                    h(event)
                except Exception as exc:
                    self._handler_failed(event, exc)
        if isinstance(event, MessageEvent):
            self._to_streams(event)
        if name == "book_update" or self._async_handlers.get(name):
            return self._deliver_async(event)
        return None

    async def _deliver_async(self, event: WsEvent) -> None:
        for h in self._async_handlers.get(event.name, ()):
            try:
                await h(event)  # type: ignore[misc]
            except Exception as exc:
                self._handler_failed(event, exc)
        if isinstance(event, BookUpdateEvent) and isinstance(event.book, LiveBook):
            await event.book._notify()

    def _to_streams(self, event: MessageEvent) -> None:
        """Hand a message to the open streams of its key (never waiting); kept for the next stream when
        none takes it."""
        key = event.ws_key
        streams = self._streams.get(key)
        if streams:
            taken = False
            failed: list[_Stream] | None = None
            for stream in streams:
                if stream.put(event):
                    taken = True
                else:
                    failed = [*(failed or ()), stream]
            for stream in failed or ():
                self._stream_overflowed(stream)
            if taken:
                return
        if self._replay_limit:
            parked = self._parked.get(key)
            if parked is None:
                parked = self._parked[key] = deque(maxlen=self._replay_limit)
            parked.append(event)

    def _stream_overflowed(self, stream: _Stream) -> None:
        with contextlib.suppress(ValueError):
            self._streams.get(stream.ws_key, []).remove(stream)
        log.warning("%s: a stream fell %d messages behind and was closed", stream.ws_key, stream.max_queue)
        conn = self._connections.get(stream.ws_key)
        if conn is not None:
            conn._emit(QueueFullEvent(stream.ws_key, "stream_overflow", 0, stream.max_queue))

    def _handler_failed(self, event: WsEvent, exc: Exception) -> None:
        log.exception("handler for %s event failed", event.name, exc_info=exc)
        if event.name != "exception":
            conn = self._connections.get(event.ws_key)
            if conn is not None:
                conn._emit(ExceptionEvent(event.ws_key, exc))

    # connections ----------------------------------------------------------------------------------
    def _connection(self, ws_key: str) -> WsConnection:
        conn = self._connections.get(ws_key)
        if conn is not None:
            return conn
        if self._closed:
            raise KrakenError("WebsocketClient is closed")
        if ws_key not in WS_KEY_MAP.ALL:
            raise ValidationError(f"unknown ws_key {ws_key!r}; use one of WS_KEY_MAP: {WS_KEY_MAP.ALL}", field="ws_key")
        if ws_key == WS_KEY_MAP.derivativesPrivateV1 and self._futures_credentials is None:
            raise MissingCredentialsError(
                f"{ws_key} needs futures_api_key and futures_api_secret", field="futures_api_key"
            )
        self._refuse_live_spot(ws_key)
        if ws_key in WS_KEY_MAP.PRIVATE and ws_key in WS_KEY_MAP.SPOT and self._token_provider is None:
            raise MissingCredentialsError(f"{ws_key} needs api_key and api_secret", field="api_key")
        conn = WsConnection(
            ws_key,
            self.environment.ws_url(ws_key),
            self._options,
            self._deliver,
            self._budget,
            token_provider=self._token_provider,
            futures_credentials=self._futures_credentials,
        )
        if self._books or (ws_key in _TRADING_KEYS and (self._observe_execution or self._observe_ratecounter)):
            conn.raw_hook = self._frame_hook
        conn._inline_ok = self._inline_ok
        conn.disconnect_hook = self._on_disconnect
        if ws_key in WS_KEY_MAP.SPOT:
            conn.server_clock = self.server_clock
        self._connections[ws_key] = conn
        return conn

    def _refuse_live_spot(self, ws_key: str) -> None:
        """testnet means never live: a Spot key of a testnet client would connect to live Kraken (there is no
        Spot test environment), so it is refused before anything connects."""
        if self._no_live_spot and ws_key in self._no_live_spot:
            raise ValidationError(
                f"testnet=True: Kraken has no Spot test environment, so {ws_key} would connect to the live "
                f"{self.environment.ws_url(ws_key)} and trade real money; refused. To try Spot orders without "
                "placing them, send them with validate=True (Kraken checks them and places nothing), or run "
                "them against the local sandbox: `from krakenkit.sandbox import Sandbox`, then "
                "`environment=sb.environment`. testnet=True serves the Derivatives demo "
                f"({WS_KEY_MAP.derivativesPublicV1}, {WS_KEY_MAP.derivativesPrivateV1}).",
                field="testnet",
            )

    def connection(self, ws_key: str) -> WsConnection:
        """The connection object of ``ws_key`` (created, not necessarily connected)."""
        return self._connection(ws_key)

    async def connect(self, ws_key: str, timeout: float | None = None) -> None:
        """Open ``ws_key`` now and wait until it is connected (and authenticated if private)."""
        await self._connection(ws_key).wait_ready(timeout if timeout is not None else self.request_timeout)

    @staticmethod
    def _in_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def _private_loop(self) -> asyncio.AbstractEventLoop:
        if self._own_loop is None:
            self._own_loop = asyncio.new_event_loop()
        return self._own_loop

    # subscriptions --------------------------------------------------------------------------------
    def subscribe(self, requests: Any, ws_key: str, *, timeout: float | None = None) -> asyncio.Future[Any]:
        """Subscribe; returns a future with the list of acks (awaiting it is optional).

        ``requests``: ``"heartbeat"``, ``{"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}`` or a
        list of those. Equal requests are deduplicated; each active topic is re-sent exactly once
        after a reconnect. No ack within ``timeout`` (default :attr:`request_timeout`, counted from
        this call) -> the future fails with ``APITimeoutError`` and nobody waits any more; the topic
        stays active (re-sent after a reconnect, and sent again by a repeated ``subscribe``).
        """
        return self._sub_op("subscribe", requests, ws_key, timeout)

    def unsubscribe(self, requests: Any, ws_key: str, *, timeout: float | None = None) -> asyncio.Future[Any]:
        """Unsubscribe (the topic stays gone across reconnects); returns a future with the acks
        (``APITimeoutError`` when unacknowledged within ``timeout``, default :attr:`request_timeout`)."""
        return self._sub_op("unsubscribe", requests, ws_key, timeout)

    def _sub_op(self, op: str, requests: Any, ws_key: str, timeout: float | None) -> asyncio.Future[Any]:
        wait = self.request_timeout if timeout is None else _check_timeout(timeout, "timeout")
        reqs = normalize_requests(requests)
        conn = self._connection(ws_key)
        for _topic, payload in conn.protocol.topic_items(reqs):  # validate now: refused before anything is sent
            encode_frame(payload)  # JSON-writable too (ValidationError naming the type otherwise)
        if not self._in_loop():
            fut: asyncio.Future[Any] = self._private_loop().create_future()
            self._deferred.append((op, reqs, ws_key, wait, fut))
            return fut
        return conn.subscribe(reqs, wait) if op == "subscribe" else conn.unsubscribe(reqs, wait)

    def subscriptions(self, ws_key: str) -> list[dict[str, Any]]:
        """The active subscriptions of ``ws_key``: one entry per topic and symbol."""
        conn = self._connections.get(ws_key)
        if conn is None:
            return []
        return [
            {"topic": k.channel, "symbol": k.symbol, "params": dict(t.params), "acked": t.acked}
            for k, t in conn.protocol.subs.topics.items()
        ]

    # streams --------------------------------------------------------------------------------------
    def stream(
        self, ws_key: str, *, max_queue: int | None = None, replay: bool = True
    ) -> AsyncGenerator[MessageEvent, None]:
        """``async for event in ws.stream(ws_key)``: the ``message`` events of one connection.

        It starts with the messages that arrived while no stream of ``ws_key`` was open (the newest
        ``stream_replay``; ``replay=False`` skips them), so a stream opened after
        ``await ws.subscribe(...)`` sees the subscription's snapshot. A stream never holds the
        connection back: when it holds ``max_queue`` unread messages, a public key's stream drops its
        oldest one, a private key's stream is closed and raises :class:`StreamOverflowError` once its
        consumer has read what it held (``queue_full`` event, policy ``stream_overflow``).
        """
        conn = self._connection(ws_key)
        conn.start()
        stream = _Stream(ws_key, max_queue or self._options.max_queue, not conn.private)
        parked = self._parked.pop(ws_key, None)
        if replay and parked:
            for ev in list(parked)[-stream.max_queue :]:
                stream.put(ev)
        self._streams.setdefault(ws_key, []).append(stream)
        return self._iterate(stream)

    async def _iterate(self, stream: _Stream) -> AsyncGenerator[MessageEvent, None]:
        try:
            while True:
                ev = await stream.get()
                if ev is None:
                    return
                yield ev
        finally:
            with contextlib.suppress(ValueError):
                self._streams.get(stream.ws_key, []).remove(stream)

    # books ----------------------------------------------------------------------------------------
    def book(
        self,
        symbol: str,
        depth: int = 10,
        *,
        level3: bool = False,
        price_precision: int | None = None,
        qty_precision: int | None = None,
        ws_key: str | None = None,
    ) -> LiveBook:
        """A live book for ``symbol``: ``"BTC/USD"`` (Spot v2 ``book``) or ``"PF_XBTUSD"``
        (Derivatives ``book``). Spot precisions come from the ``instrument`` channel unless passed.

        ``level3=True``: the order-by-order Spot book (:class:`~krakenkit.books.SpotL3Book`, channel
        ``level3`` on ``spotL3V2``; needs ``api_key``/``api_secret`` for the token; ``depth`` 10, 100
        or 1000). Its precisions come from ``instrument`` on ``spotPublicV2`` unless passed. Same
        ready/resync behaviour as L2; reads add ``bid_orders()``, ``ask_orders()``, ``order(id)``,
        ``queue_position(id)``.
        """
        if not self._in_loop():
            raise ValidationError("ws.book() must be called inside the event loop (async with / run_forever)")
        kind = classify_symbol(symbol)
        if level3:
            if kind == "derivatives":
                raise ValidationError("level3 books are Spot only (Derivatives have no level3 feed)", field="level3")
            ws_key = WS_KEY_MAP.spotL3V2 if ws_key is None else ws_key
            if ws_key != WS_KEY_MAP.spotL3V2:
                raise ValidationError(f"level3 books live on {WS_KEY_MAP.spotL3V2!r}, not {ws_key!r}", field="ws_key")
            if depth not in L3_DEPTHS:
                raise ValidationError(f"level3 depth must be one of {L3_DEPTHS}, got {depth!r}", field="depth")
        elif ws_key is None:
            ws_key = WS_KEY_MAP.derivativesPublicV1 if kind == "derivatives" else WS_KEY_MAP.spotPublicV2
        elif ws_key == WS_KEY_MAP.spotL3V2:
            raise ValidationError(f"{ws_key!r} carries level3 books: pass level3=True", field="ws_key")
        if ws_key in WS_KEY_MAP.DERIVATIVES:
            validate_derivatives_symbol(symbol)
        else:
            validate_spot_ws_symbol(symbol)
        existing = self._books.get((ws_key, symbol))
        if existing is not None:
            return existing
        conn = self._connection(ws_key)  # refuses missing credentials before anything is registered
        live = LiveBook(ws_key, symbol, depth if ws_key in WS_KEY_MAP.SPOT else None, level3=level3)
        self._books[(ws_key, symbol)] = live
        for other in self._connections.values():
            other.raw_hook = self._frame_hook
        if ws_key in WS_KEY_MAP.DERIVATIVES:
            live.book = DerivativesBook(symbol)
            conn.subscribe([SubRequest("book", {"product_ids": [symbol]})])
        elif price_precision is not None and qty_precision is not None:
            self._start_spot_book(live, conn, price_precision, qty_precision)
        else:
            self._spawn(self._spot_book_when_precise(live, conn))
        conn.start()
        return live

    def l3_book(
        self, symbol: str, depth: int = 10, *, price_precision: int | None = None, qty_precision: int | None = None
    ) -> LiveBook:
        """``book(symbol, depth, level3=True)``: a live order-by-order Spot book on ``spotL3V2``."""
        return self.book(symbol, depth, level3=True, price_precision=price_precision, qty_precision=qty_precision)

    @staticmethod
    def _spot_book_request(live: LiveBook) -> SubRequest:
        return SubRequest("level3" if live.level3 else "book", {"symbol": [live.symbol], "depth": live.depth})

    def _start_spot_book(self, live: LiveBook, conn: WsConnection, pp: int, qp: int) -> None:
        assert live.depth is not None
        live.book = (SpotL3Book if live.level3 else SpotBook)(live.symbol, live.depth, pp, qp)
        conn.subscribe([self._spot_book_request(live)])

    async def _spot_book_when_precise(self, live: LiveBook, conn: WsConnection) -> None:
        known = self._precisions.get(live.symbol)
        if known is None:
            fut: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
            self._precision_waiters.setdefault(live.symbol, []).append(fut)
            if not self._instrument_subscribed:
                self._instrument_subscribed = True
                # level3 connections carry level3 only: instruments come from the public connection
                source = self._connection(WS_KEY_MAP.spotPublicV2) if live.level3 else conn
                source.raw_hook = self._frame_hook
                source.subscribe([SubRequest("instrument", {})])
            known = await fut
        self._start_spot_book(live, conn, *known)

    def _frame_hook(self, ws_key: str, msg: Any, raw: bytes | bytearray | memoryview) -> bool:
        """Runs in the reader for every data frame of a connection with books or a fed rate limiter.
        Never consumes the frame."""
        if ws_key in WS_KEY_MAP.DERIVATIVES:
            feed = msg.get("feed")
            if feed == "book" or feed == "book_snapshot":
                live = self._books.get((ws_key, msg.get("product_id", "")))
                if live is not None:
                    self._apply(live, msg, raw)
            return False
        ch = msg.get("channel")
        if ch == "book" or ch == "level3":
            level3 = ch == "level3"
            for entry in msg.get("data") or ():
                sym = entry.get("symbol") if isinstance(entry, dict) else None
                live = self._books.get((ws_key, sym)) if isinstance(sym, str) else None
                if live is not None and live.level3 == level3:
                    self._apply(live, msg, raw)
        elif ch == "executions":
            self._observe_executions(msg)
        elif ch == "instrument":
            self._on_instrument(msg)
        return False

    def _observe_executions(self, msg: Any) -> None:
        """Feed the rate limiter: every execution row (order ages), and Kraken's own trading counter
        where the frame carries one (``ratecounter: true`` subscriptions). Never raises: a private
        frame must reach the handlers whatever the limiter thinks of it."""
        try:
            observe_row, observe_counter = self._observe_execution, self._observe_ratecounter
            data = msg.get("data")
            rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
            symbols: list[str] = []
            for row in rows:
                if observe_row is not None:
                    observe_row(row)
                sym = row.get("symbol")
                if isinstance(sym, str) and sym not in symbols:
                    symbols.append(sym)
                if (
                    observe_counter is not None
                    and isinstance(sym, str)
                    and "ratecounter" not in row
                    and "rate_count" not in row
                ):
                    value = _number(row.get("ratecount"))
                    if value is not None:
                        observe_counter(sym, value)
            if observe_counter is not None:
                value = _number(msg.get("ratecounter", msg.get("ratecount", msg.get("rate_count"))))
                if value is not None:
                    for sym in symbols:
                        observe_counter(sym, value)
        except Exception:
            log.exception("rate limiter could not take an executions frame")

    def _apply(self, live: LiveBook, msg: Any, raw: bytes | bytearray | memoryview) -> None:
        book = live.book
        if book is None:
            return
        try:
            changed = book.apply(msg if isinstance(book, DerivativesBook) else raw)
        except KrakenError as exc:  # ChecksumMismatchError, SequenceGapError, InvalidResponseError ...
            self._resync(live, exc)
            return
        if changed:
            live.updates += 1
            if book.is_valid:
                if not live.is_ready:
                    live.resyncing = False
                    live._set_ready(True)
                conn = self._connections.get(live.ws_key)
                if conn is not None and live._callbacks:
                    conn._emit(BookUpdateEvent(live.ws_key, live.symbol, live), True)

    def _resync(self, live: LiveBook, exc: KrakenError) -> None:
        live._set_ready(False)
        if live.resyncing:
            return
        live.resyncing = True
        live.resyncs += 1
        reason = (
            "checksum_mismatch"
            if isinstance(exc, ChecksumMismatchError)
            else ("sequence_gap" if isinstance(exc, SequenceGapError) else "invalid_frame")
        )
        conn = self._connections.get(live.ws_key)
        if conn is None:
            return
        conn._emit(BookResyncEvent(live.ws_key, live.symbol, reason, exc))
        if live.ws_key in WS_KEY_MAP.DERIVATIVES:
            req = SubRequest("book", {"product_ids": [live.symbol]})
            if live.book is not None:
                live.book.reset()
        else:
            req = self._spot_book_request(live)
        conn.unsubscribe([req])
        conn.subscribe([req])

    def _on_disconnect(self, ws_key: str) -> None:
        """Books of a lost connection are stale until the resubscribe brings a fresh snapshot."""
        for (key, _), live in self._books.items():
            if key == ws_key:
                live._set_ready(False)
                live.resyncing = False
                if live.book is not None:
                    live.book.reset()

    def _on_instrument(self, msg: Any) -> None:
        data = msg.get("data")
        pairs = data.get("pairs") if isinstance(data, dict) else None
        for pair in pairs or ():
            if not isinstance(pair, dict):
                continue
            sym, pp, qp = pair.get("symbol"), pair.get("price_precision"), pair.get("qty_precision")
            if isinstance(sym, str) and isinstance(pp, int) and isinstance(qp, int):
                self._precisions[sym] = (pp, qp)
                for fut in self._precision_waiters.pop(sym, []):
                    if not fut.done():
                        fut.set_result((pp, qp))

    # lifecycle ------------------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def __aenter__(self) -> WebsocketClient:
        self._replay_deferred()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _replay_deferred(self) -> None:
        deferred, self._deferred = self._deferred, []
        for op, reqs, ws_key, wait, placeholder in deferred:
            conn = self._connection(ws_key)
            fut = conn.subscribe(reqs, wait) if op == "subscribe" else conn.unsubscribe(reqs, wait)

            def chain(f: asyncio.Future[Any], p: asyncio.Future[Any] = placeholder) -> None:
                if p.done():
                    return
                if f.cancelled():
                    p.cancel()
                elif f.exception() is not None:
                    p.set_exception(f.exception())  # type: ignore[arg-type]
                else:
                    p.set_result(f.result())

            fut.add_done_callback(chain)

    async def close(self) -> None:
        """Close every connection (no reconnect) and end streams."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await asyncio.gather(*(c.close() for c in self._connections.values()), return_exceptions=True)
        for streams in self._streams.values():
            for s in streams:
                s.close()
        if self._token_source is not None:
            with contextlib.suppress(Exception):
                await self._token_source.aclose()
        if self._stop is not None:
            self._stop.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def run_forever(self) -> None:
        """Block and run until ``close()`` or Ctrl-C (for scripts that are not async)."""
        loop = self._private_loop()

        async def main() -> None:
            self._stop = asyncio.Event()
            self._replay_deferred()
            for conn in self._connections.values():
                conn.start()
            await self._stop.wait()

        try:
            loop.run_until_complete(main())
        except KeyboardInterrupt:
            pass
        finally:
            loop.run_until_complete(self.close())
            loop.close()
            self._own_loop = None

    # requests (also the path of WebsocketAPIClient) ------------------------------------------------
    async def request(
        self,
        ws_key: str,
        method: str,
        params: Mapping[str, Any],
        *,
        timeout: float | None = None,
        expected_replies: int = 1,
        cl_ord_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Send a Spot v2 request (``add_order`` ...) and wait for its reply (or replies).

        A trading method (:data:`TRADING_METHODS`: ``add_order``, ``amend_order``, ``edit_order``,
        ``cancel_order``, ``cancel_all``, ``cancel_all_orders_after``, ``batch_add``, ``batch_cancel``)
        is first booked on :attr:`rate_limiter` (by default the key's Spot trading counter, shared with
        :class:`~krakenkit.ws.WebsocketAPIClient` and the REST clients) and waits until it fits; a
        ``mode="raise"`` limiter refuses with ``RateLimitError`` instead and nothing is sent. The wait
        is not part of ``timeout``. Other methods go out as they are.

        ``add_order``, ``batch_add`` and ``amend_order`` with a client order id (``cl_ord_id`` here, in
        ``params`` or in the batch's ``orders``) get Kraken's ``deadline``, :attr:`order_deadline`
        seconds after sending on Kraken's clock, unless ``params`` has one (checked: 2 to 60 s ahead).

        Then waits for the connection (at most ``timeout``, default :attr:`request_timeout`; nothing
        sent -> ``APIConnectionError`` with ``retry_safe``) and sends with a fresh ``req_id``. The whole
        call ends within ``timeout``: no reply in time -> for a trading method
        :class:`~krakenkit.OrderOutcomeUnknownError` carrying ``cl_ord_id`` (``cl_ord_ids`` for a batch),
        ``req_id`` and ``deadline``, else ``APITimeoutError``; socket lost meanwhile ->
        ``ConnectionLostError`` (an ``OrderOutcomeUnknownError``); Kraken error -> the mapped
        ``KrakenAPIError`` (``EOrder:Rate limit exceeded`` also marks the pair's counter full). Nothing
        is ever re-sent.
        """
        deadline: DeadlineSpec | None = None
        if method in DEADLINE_METHODS and isinstance(params, Mapping):
            caller = params.get("deadline")
            if caller is not None:
                deadline = self._caller_deadline(caller)
            elif client_order_ids(params, cl_ord_id):
                deadline = self.order_deadline

        def send() -> Awaitable[list[dict[str, Any]]]:
            return self._request_unbooked(
                ws_key,
                method,
                params,
                timeout=timeout,
                expected_replies=expected_replies,
                cl_ord_id=cl_ord_id,
                deadline=deadline,
            )

        if method not in TRADING_METHODS:
            return await send()
        return await _rate_limited(self.rate_limiter, method, params, send)

    def _caller_deadline(self, value: Any) -> str:
        """A caller's own ``deadline`` (RFC 3339 text or an aware datetime), refused unless Kraken would
        take it (2 to 60 s ahead on Kraken's clock); the text to send."""
        return order_deadline(self.server_clock, value, self.order_deadline)[0]

    async def _request_unbooked(
        self,
        ws_key: str,
        method: str,
        params: Mapping[str, Any],
        *,
        timeout: float | None = None,
        expected_replies: int = 1,
        cl_ord_id: str | None = None,
        deadline: DeadlineSpec | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`request` without the rate limiter: for callers that booked the request themselves
        (:class:`~krakenkit.ws.WebsocketAPIClient`, on its own limiter, through :func:`_rate_limited`).
        ``deadline``: sent as Kraken's ``deadline`` (a checked text as is, seconds as that long after
        sending on :attr:`server_clock`)."""
        conn = self._connection(ws_key)
        proto = conn.protocol
        if not isinstance(proto, SpotProtocol):
            raise ValidationError(f"{ws_key} is not a Spot v2 key; trading requests need spotPrivateV2")
        if not isinstance(params, Mapping):
            raise ValidationError(f"params must be a mapping (got {type(params).__name__})", field="params")
        wait = self.request_timeout if timeout is None else _check_timeout(timeout, "timeout")
        loop = asyncio.get_running_loop()
        end = loop.time() + wait
        await conn.wait_ready(wait)  # nothing sent yet: APIConnectionError(retry_safe=True)
        body = dict(params)
        if deadline is not None:
            body["deadline"] = (
                deadline if isinstance(deadline, str) else order_deadline(self.server_clock, None, deadline)[0]
            )
        while True:
            wid = conn.new_waiter_id()
            fut = conn.new_future(wid)
            frame = proto.api_request(
                method, body, waiter_id=wid, expected_replies=expected_replies, cl_ord_id=cl_ord_id
            )
            req_id: int = frame["req_id"]
            record = proto.request_record(req_id)
            assert record is not None
            try:
                try:
                    await asyncio.wait_for(conn.send_request(frame), max(0.001, end - loop.time()))
                except TimeoutError:
                    raise proto.unanswered_error(req_id, record, f"could not be written within {wait}s") from None
                except APIConnectionError as exc:
                    if not exc.retry_safe:
                        raise proto.unanswered_error(
                            req_id, record, "was being sent when the connection went", lost=True
                        ) from exc
                    # The socket went between wait_ready() and the write: nothing was written. Wait for the
                    # reconnect within the timeout and send it then as a new request (same body and deadline).
                    if end - loop.time() <= 0:
                        raise
                    retry = True
                else:
                    retry = False
                    try:
                        result: list[dict[str, Any]] = await asyncio.wait_for(fut, max(0.001, end - loop.time()))
                    except TimeoutError:
                        raise proto.unanswered_error(req_id, record, f"got no reply within {wait}s") from None
                    return result
            finally:  # answered, timed out, cancelled or never written: nobody waits for this request any more
                proto.forget_request(req_id)
                conn.forget(wid)
            if retry:
                await conn.wait_ready(end - loop.time())  # nothing sent: APIConnectionError(retry_safe=True)


class _Stream:
    """The unread messages of one ``ws.stream()``: never makes its producer wait."""

    def __init__(self, ws_key: str, max_queue: int, droppable: bool) -> None:
        self.ws_key = ws_key
        self.max_queue = max_queue
        self.droppable = droppable
        self.dropped = 0
        self.error: StreamOverflowError | None = None
        self._items: deque[MessageEvent] = deque()
        self._wake = asyncio.Event()
        self._closed = False

    def put(self, ev: MessageEvent) -> bool:
        """Take ``ev``; False when the stream is closed, or overflowed now (private: closed with an error)."""
        if self._closed:
            return False
        if len(self._items) >= self.max_queue:
            if not self.droppable:
                self.error = StreamOverflowError(
                    f"{self.ws_key}: stream closed: {self.max_queue} messages were unread (max_queue); the "
                    "connection keeps reading and keeps newer messages for the next ws.stream(); reconcile "
                    "private state before trusting it",
                    endpoint=self.ws_key,
                )
                self.close()
                return False
            self._items.popleft()
            self.dropped += 1
        self._items.append(ev)
        self._wake.set()
        return True

    async def get(self) -> MessageEvent | None:
        """The next message; None once closed and drained (raises the overflow error instead, if any)."""
        while not self._items:
            if self._closed:
                if self.error is not None:
                    raise self.error
                return None
            self._wake.clear()
            await self._wake.wait()
        return self._items.popleft()

    def close(self) -> None:
        self._closed = True
        self._wake.set()


def _check_timeout(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{field} must be a positive number of seconds, got {value!r}", field=field)
    return float(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


async def _rate_limited(
    limiter: RateLimiter,
    method: str,
    params: Mapping[str, Any],
    send: Callable[[], Awaitable[list[dict[str, Any]]]],
) -> list[dict[str, Any]]:
    """One trading request on the Spot trading counter (the one path of :meth:`WebsocketClient.request`
    and :class:`~krakenkit.ws.WebsocketAPIClient`): book it and wait until it fits (a ``mode="raise"``
    limiter raises ``RateLimitError`` here and nothing is sent), ``send()``, let the limiter learn
    from the reply (order ids and ages), or assume the pair's counter full after Kraken's
    ``EOrder:Rate limit exceeded``."""
    wait = limiter.reserve(method, params)
    if wait > 0:
        log.debug("%s waits %.3fs for the trading rate counter", method, wait)
        await asyncio.sleep(wait)
    try:
        replies = await send()
    except RateLimitError:
        limiter.on_rate_limited(method, params)  # Kraken's counter is ahead of ours: assume it full
        raise
    try:
        limiter.on_response(method, params, _result_of(replies))
    except Exception:  # the request went through; a limiter hiccup must not hide that
        log.exception("rate limiter could not take the reply of %s", method)
    return replies


def _result_of(replies: list[dict[str, Any]]) -> Any:
    """What the limiter learns from: the ``result`` of the reply (a list of them for several)."""
    results = [r.get("result") for r in replies]
    return results[0] if len(results) == 1 else results
