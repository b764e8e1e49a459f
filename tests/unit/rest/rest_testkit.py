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
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0, outcome_grace=0)


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
