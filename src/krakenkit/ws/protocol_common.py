"""Pure pieces shared by the Spot v2 and Derivatives v1 protocol state machines (no sockets).

* :func:`normalize_requests` turns what the user passed to ``subscribe`` (a topic name,
  ``{"topic": ..., "payload": {...}}`` or a list of those) into :class:`SubRequest` values.
* :class:`TopicKey` / :class:`Topic`: one subscription unit (channel + one symbol + identity params).
  The active set is a dict keyed by :class:`TopicKey`, so equal requests are deduplicated and a
  reconnect re-sends each active topic exactly once.
* :class:`Waiter` / :class:`Outcome`: the protocol never touches futures; it returns outcomes
  (``waiter_id`` + value or error) for the driver to resolve.
* :class:`Liveness`: heartbeat/staleness bookkeeping. :class:`Backoff` and :class:`ConnectBudget`:
  reconnect timing.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from krakenkit._core.errors import ValidationError

__all__ = [
    "Backoff",
    "ConnectBudget",
    "Liveness",
    "Outcome",
    "SubRequest",
    "Topic",
    "TopicKey",
    "Waiter",
    "freeze",
    "normalize_requests",
]


def freeze(value: Any) -> Any:
    """A hashable, order-stable copy of a JSON-like value (lists -> tuples, dicts -> sorted tuples)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


@dataclass(frozen=True, slots=True)
class SubRequest:
    """One normalized subscribe/unsubscribe request: a topic (channel/feed) and its payload."""

    topic: str
    payload: dict[str, Any]


def symbol_list(raw: Any, validate: Any, field: str, topic: str) -> list[str | None]:
    """The symbols of one (un)subscribe request, each checked with ``validate(symbol, field)``;
    ``[None]`` when the request names none (a channel without symbols)."""
    if raw is None:
        return [None]
    seq = [raw] if isinstance(raw, str) else list(raw)
    if not seq:
        raise ValidationError(f"empty {field} list for {topic!r}", field=field)
    return [validate(s, field) for s in seq]


def normalize_requests(requests: Any) -> list[SubRequest]:
    """Accept ``"ticker"``, ``{"topic": "ticker", "payload": {...}}`` or a list of those."""
    items: Iterable[Any]
    if isinstance(requests, str | Mapping):
        items = [requests]
    elif isinstance(requests, list | tuple):
        items = requests
    else:
        raise ValidationError(
            "requests must be a topic name, {'topic': ..., 'payload': {...}} or a list of those",
            field="requests",
        )
    out: list[SubRequest] = []
    for item in items:
        if isinstance(item, str):
            if not item:
                raise ValidationError("topic must be a non-empty string", field="topic")
            out.append(SubRequest(item, {}))
            continue
        if not isinstance(item, Mapping):
            raise ValidationError(f"unsupported subscription request {item!r}", field="requests")
        topic = item.get("topic")
        if not isinstance(topic, str) or not topic:
            raise ValidationError(
                f"subscription request {dict(item)!r} needs a 'topic' such as 'ticker'", field="topic"
            )
        payload = item.get("payload") or {}
        if not isinstance(payload, Mapping):
            raise ValidationError(f"payload of topic {topic!r} must be a dict", field="payload")
        extra = set(item) - {"topic", "payload"}
        if extra:
            raise ValidationError(
                f"unknown keys {sorted(extra)} in subscription request; put parameters in 'payload'",
                field="requests",
            )
        out.append(SubRequest(topic, dict(payload)))
    if not out:
        raise ValidationError("no subscription requests given", field="requests")
    return out


@dataclass(frozen=True, slots=True)
class TopicKey:
    """Identity of one subscription: channel/feed, one symbol (or None) and identity parameters."""

    channel: str
    symbol: str | None = None
    ident: tuple[tuple[str, Any], ...] = ()

    def matches(self, channel: str, symbol: str | None, ident: Mapping[str, Any]) -> bool:
        """True when this key is covered by an unsubscribe for ``channel``/``symbol``/``ident``
        (``ident`` may name fewer parameters than the key has)."""
        if self.channel != channel or self.symbol != symbol:
            return False
        mine = dict(self.ident)
        return all(k in mine and mine[k] == freeze(v) for k, v in ident.items())


@dataclass(slots=True)
class Topic:
    key: TopicKey
    params: dict[str, Any]  # the parameters sent (without symbol list / credentials)
    sent_session: int = -1  # session number it was last sent on
    acked: bool = False
    last_ack: Any = None
    resend: bool = False  # a subscribe for it timed out unacknowledged: the next subscribe call sends it again


@dataclass(slots=True)
class Waiter:
    """Someone waiting for acks of ``remaining`` topics (subscribe/unsubscribe calls)."""

    waiter_id: int
    remaining: set[TopicKey]
    acks: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Resolve ``waiter_id`` with ``value``, or fail it with ``error``."""

    waiter_id: int
    value: Any = None
    error: BaseException | None = None


class Liveness:
    """When to ping and when a silent connection counts as stale (all times from a monotonic clock).

    Any received frame (data, heartbeat, pong) refreshes it. A connection with nothing received for
    ``staleness_timeout`` seconds is stale.
    """

    __slots__ = ("last_ping", "last_rx", "ping_interval", "staleness_timeout")

    def __init__(self, staleness_timeout: float, ping_interval: float, now: float) -> None:
        if staleness_timeout <= 0 or ping_interval <= 0:
            raise ValidationError("staleness_timeout and ping_interval must be positive", field="staleness_timeout")
        self.staleness_timeout = staleness_timeout
        self.ping_interval = ping_interval
        self.last_rx = now
        self.last_ping = now

    def on_rx(self, now: float) -> None:
        self.last_rx = now

    def ping_due(self, now: float) -> bool:
        """A ping is due when nothing was sent as ping for ``ping_interval`` and nothing was received
        for ``ping_interval`` either (an idle connection gets pinged, a busy one does not need it)."""
        return now - self.last_ping >= self.ping_interval and now - self.last_rx >= self.ping_interval

    def on_ping(self, now: float) -> None:
        self.last_ping = now

    def is_stale(self, now: float) -> bool:
        return now - self.last_rx > self.staleness_timeout

    def silent_for(self, now: float) -> float:
        return now - self.last_rx

    def next_check_in(self, now: float) -> float:
        """Seconds until something may need doing (a ping or the staleness deadline)."""
        until_stale = self.last_rx + self.staleness_timeout - now
        until_ping = max(self.last_ping, self.last_rx) + self.ping_interval - now
        return max(0.005, min(until_stale, until_ping) + 0.001)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped, jittered exponential backoff.

    Attempt 0 (the first retry after a connection that was up) waits only ``first_jitter`` at most
    (random in ``[0, first_jitter]``), so a dropped connection comes back at once. Attempt ``n >= 1``
    waits ``min(max_delay, base * factor**(n-1))`` scaled by a random factor in ``[1-jitter, 1]``.
    """

    first_jitter: float = 0.05
    base: float = 0.25
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        r = (rng or random).random()
        if attempt <= 0:
            return self.first_jitter * r
        raw = min(self.max_delay, self.base * self.factor ** min(attempt - 1, 64))
        return raw * (1.0 - self.jitter * r)


class ConnectBudget:
    """At most ``max_connects`` connection attempts per sliding ``per_seconds`` window, shared by all
    connections of a client (Kraken/Cloudflare throttle IPs that reconnect too often)."""

    def __init__(self, max_connects: int = 150, per_seconds: float = 600.0) -> None:
        if max_connects < 1 or per_seconds <= 0:
            raise ValidationError("connect budget must allow at least one connect", field="connect_budget")
        self.max_connects = max_connects
        self.per_seconds = per_seconds
        self._times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds to wait before the next attempt is within budget (0 when it may go now)."""
        while self._times and now - self._times[0] >= self.per_seconds:
            self._times.popleft()
        if len(self._times) < self.max_connects:
            return 0.0
        return self._times[0] + self.per_seconds - now

    def record(self, now: float) -> None:
        self._times.append(now)


class SubscriptionTracker:
    """The active subscription set of one connection and who waits for which acks.

    A *session* is one connected socket. Each topic is sent at most once per session: on
    ``subscribe`` when the connection is ready, otherwise by :meth:`take_unsent` when it becomes
    ready (after authentication). A lost connection starts a new session, so every active topic is
    sent exactly once again. Removed (unsubscribed or rejected) topics are gone for good.
    """

    def __init__(self) -> None:
        self.topics: dict[TopicKey, Topic] = {}
        self.sub_waiters: dict[int, Waiter] = {}
        self.unsub_waiters: dict[int, Waiter] = {}
        self.session = 0
        self.ready = False
        self._next_waiter = 0

    def new_waiter_id(self) -> int:
        self._next_waiter += 1
        return self._next_waiter

    # subscribe ------------------------------------------------------------------------------------
    def add(self, items: Iterable[tuple[TopicKey, dict[str, Any]]]) -> tuple[int, list[Topic], list[Outcome]]:
        """Add topics; return (waiter id, topics to send now, immediate outcomes)."""
        wid = self.new_waiter_id()
        waiter = Waiter(wid, set())
        to_send: list[Topic] = []
        for key, params in items:
            topic = self.topics.get(key)
            if topic is None:
                topic = Topic(key, params)
                self.topics[key] = topic
            if topic.acked:
                waiter.acks.append(topic.last_ack)
            else:
                waiter.remaining.add(key)
            if self.ready and (topic.sent_session != self.session or topic.resend):
                topic.sent_session = self.session
                topic.resend = False
                to_send.append(topic)
        if not waiter.remaining:
            return wid, to_send, [Outcome(wid, waiter.acks)]
        self.sub_waiters[wid] = waiter
        return wid, to_send, []

    def watch(self, keys: Iterable[TopicKey]) -> tuple[int, list[Outcome]]:
        """A waiter over those of ``keys`` still active and not acked in this session."""
        wid = self.new_waiter_id()
        remaining = {k for k in keys if k in self.topics and not self.topics[k].acked}
        if not remaining:
            return wid, [Outcome(wid, [])]
        self.sub_waiters[wid] = Waiter(wid, remaining)
        return wid, []

    def take_unsent(self) -> list[Topic]:
        """Mark the connection ready and return every active topic not yet sent on this session."""
        self.ready = True
        out = []
        for topic in self.topics.values():
            if topic.sent_session != self.session:
                topic.sent_session = self.session
                topic.resend = False
                out.append(topic)
        return out

    def ack(self, key: TopicKey, ack: Any) -> list[Outcome]:
        topic = self.topics.get(key)
        if topic is not None:
            topic.acked = True
            topic.last_ack = ack
        return self._progress(self.sub_waiters, key, ack)

    def reject(self, key: TopicKey, error: BaseException) -> list[Outcome]:
        """Kraken refused the topic: it leaves the active set and its waiters fail."""
        self.topics.pop(key, None)
        out = []
        for wid, waiter in list(self.sub_waiters.items()):
            if key in waiter.remaining:
                del self.sub_waiters[wid]
                out.append(Outcome(wid, error=error))
        return out

    # unsubscribe ----------------------------------------------------------------------------------
    def remove(self, channel: str, symbol: str | None, ident: Mapping[str, Any]) -> list[Topic]:
        """Remove every active topic matched by channel/symbol/ident; return them (with their
        ``sent_session`` so the caller knows whether an unsubscribe must go over the wire)."""
        removed = [t for k, t in self.topics.items() if k.matches(channel, symbol, ident)]
        for t in removed:
            del self.topics[t.key]
        return removed

    def drop_waiting_for(self, keys: Iterable[TopicKey]) -> list[Outcome]:
        """Subscribe waiters stop waiting for removed topics (resolved with what they have)."""
        out: list[Outcome] = []
        for key in keys:
            out.extend(self._progress(self.sub_waiters, key, None, count=False))
        return out

    def add_unsub_waiter(self, keys: Iterable[TopicKey]) -> tuple[int, list[Outcome]]:
        wid = self.new_waiter_id()
        waiter = Waiter(wid, set(keys))
        if not waiter.remaining:
            return wid, [Outcome(wid, [])]
        self.unsub_waiters[wid] = waiter
        return wid, []

    def unsubscribe(
        self, items: Iterable[tuple[TopicKey, dict[str, Any]]], non_identity: frozenset[str]
    ) -> tuple[int, list[Topic], list[Outcome]]:
        """Remove the topics matched by ``items`` (a parameter left out matches any value; the
        ``non_identity`` keys never count). Returns (waiter id, the removed topics that are live on
        this session and need an unsubscribe frame, immediate outcomes)."""
        removed: list[Topic] = []
        for key, params in items:
            ident = {k: v for k, v in params.items() if k not in non_identity}
            removed.extend(self.remove(key.channel, key.symbol, ident))
        outcomes = self.drop_waiting_for(t.key for t in removed)
        live = [t for t in removed if self.ready and t.sent_session == self.session]
        wid, more = self.add_unsub_waiter(t.key for t in live)
        return wid, live, outcomes + more

    def unsub_ack(self, key: TopicKey, ack: Any) -> list[Outcome]:
        return self._progress(self.unsub_waiters, key, ack)

    # connection -----------------------------------------------------------------------------------
    def connection_lost(self) -> list[Outcome]:
        """The socket is gone: new session, nothing acked. Unsubscribe waiters are done (the server
        dropped everything with the socket); subscribe waiters keep waiting for the resubscribe."""
        self.session += 1
        self.ready = False
        for topic in self.topics.values():
            topic.acked = False
        out = [Outcome(wid, w.acks) for wid, w in self.unsub_waiters.items()]
        self.unsub_waiters.clear()
        return out

    def expire(self, waiter_id: int) -> None:
        """The caller of ``waiter_id`` stopped waiting (timeout, cancelled): forget the waiter. The topics it
        still waited for stay active (re-sent after a reconnect); a repeated subscribe sends them again."""
        waiter = self.sub_waiters.pop(waiter_id, None)
        if waiter is not None:
            for key in waiter.remaining:
                topic = self.topics.get(key)
                if topic is not None and not topic.acked:
                    topic.resend = True
        self.unsub_waiters.pop(waiter_id, None)

    @property
    def waiting(self) -> int:
        """Subscribe and unsubscribe waiters not yet answered."""
        return len(self.sub_waiters) + len(self.unsub_waiters)

    def fail_all(self, error: BaseException) -> list[Outcome]:
        out = [Outcome(wid, error=error) for wid in (*self.sub_waiters, *self.unsub_waiters)]
        self.sub_waiters.clear()
        self.unsub_waiters.clear()
        return out

    @staticmethod
    def _progress(waiters: dict[int, Waiter], key: TopicKey, ack: Any, *, count: bool = True) -> list[Outcome]:
        out: list[Outcome] = []
        for wid, waiter in list(waiters.items()):
            if key in waiter.remaining:
                waiter.remaining.discard(key)
                if count:
                    waiter.acks.append(ack)
                if not waiter.remaining:
                    del waiters[wid]
                    out.append(Outcome(wid, waiter.acks))
        return out
