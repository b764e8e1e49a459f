"""Helpers for the REST client unit tests: scripted ``httpx.MockTransport`` replies and a Derivatives client
wired to them (no waiting between retries, no rate limiter unless a test passes one)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest._base import RetryPolicy
from krakenkit.rest.derivatives import DerivativesClient

Handler = Callable[[httpx.Request], httpx.Response]
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0)


def replying(*docs: Any) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering each request with the next of ``docs`` (a JSON document, an ``httpx.Response`` as
    it is, or an exception to raise) and the list of requests it received."""
    seen: list[httpx.Request] = []
    it: Iterator[Any] = iter(docs)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        doc = next(it)
        if isinstance(doc, httpx.Response):
            return doc
        if isinstance(doc, BaseException):
            raise doc
        return httpx.Response(200, json=doc)

    return handler, seen


def deriv_client(
    handler: Handler, api_key: str | None, api_secret: str | None, *, first_nonce: int = 1, **kw: Any
) -> DerivativesClient:
    """A DerivativesClient on ``handler`` with nonces counting up from ``first_nonce``."""
    nonces = itertools.count(first_nonce)
    kw.setdefault("retry_policy", NO_WAIT)
    kw.setdefault("rate_limiter", NoRateLimit())
    return DerivativesClient(
        api_key,
        api_secret,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        nonce_source=lambda: next(nonces),
        **kw,
    )


class FakeTime:
    """One fake clock for a client's call budget (``monotonic``) and its server-clock estimate (``time``):
    :func:`drive` advances it on every Sleep step (and by ``per_send`` on every send)."""

    def __init__(self, start: float = 1_900_000_000.0, per_send: float = 0.01) -> None:
        self.now = start
        self.per_send = per_send

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - 1_000_000_000.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


def on_fake_time(client: Any, clock: FakeTime) -> Any:
    """Point ``client``'s budget and server clock at ``clock`` (offset 0, unmeasured: 2 s uncertainty)."""
    from krakenkit._core.deadline import ServerClock

    client._monotonic = clock.monotonic
    client._server_clock = ServerClock(clock=clock.time)
    return client


def drive(client: Any, call: Any, handler: Handler, clock: FakeTime, steps: list[str]) -> Any:
    """Run ``client._flow(call)`` by hand: sends go to ``handler``, sleeps advance ``clock``. Returns the result
    (or raises the flow's error); ``steps`` receives the steps seen (``"AddOrder"``, ``"sleep 11.25"``, ...)."""
    from krakenkit.rest._base import Sleep

    flow = client._flow(call)
    reply: Any = None
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                steps.append(f"sleep {step.seconds:.2f}")
                clock.advance(step.seconds)
                reply = None
            else:
                steps.append(step.request.url.path.rsplit("/", 1)[-1])
                clock.advance(clock.per_send)
                try:
                    reply = handler(step.request)
                except httpx.HTTPError as exc:
                    reply = exc
            step = flow.send(reply)
    except StopIteration as stop:
        return stop.value
    finally:
        flow.close()
