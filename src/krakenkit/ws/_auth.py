"""Where Spot WebSocket tokens come from.

The token is fetched with krakenkit's own :class:`krakenkit.rest.AsyncSpotClient`
(``await client.get_web_sockets_token()``), a fresh one per connection. A caller may pass its own
``rest_client`` (anything with that coroutine method) or any ``token_provider`` coroutine function.
While the REST package is not importable, a minimal signed ``POST /0/private/GetWebSocketsToken``
(the same signature rule as :func:`krakenkit._core.signing.spot_api_sign`) is used instead.
"""

from __future__ import annotations

import importlib
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from krakenkit._core import jsonutil
from krakenkit._core.environment import Environment
from krakenkit._core.errors import APIConnectionError, InvalidResponseError, error_from_spot
from krakenkit._core.nonce import nonce_source_for
from krakenkit._core.signing import spot_api_sign

__all__ = ["WS_ONLY_OPTIONS", "SpotTokenSource", "TokenProvider"]

WS_ONLY_OPTIONS = frozenset({"ws_proxy", "open_timeout", "compression", "ssl", "user_agent"})
"""``network_options`` keys meant for WebSockets only; the rest go to the REST client (httpx)."""

log = logging.getLogger("krakenkit.ws")

TokenProvider = Callable[[], Awaitable[str]]


def _token_of(result: Any) -> str:
    token = getattr(result, "token", None)
    if token is None and isinstance(result, Mapping):
        token = result.get("token")
        if token is None and isinstance(result.get("result"), Mapping):
            token = result["result"].get("token")
    if not isinstance(token, str) or not token:
        raise InvalidResponseError(f"GetWebSocketsToken returned no token: {type(result).__name__}")
    return token


class SpotTokenSource:
    """Callable returning a fresh GetWebSocketsToken token on every call."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        environment: Environment,
        *,
        network_options: Mapping[str, Any] | None = None,
        rest_client: Any = None,
    ) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._environment = environment
        self._network_options = dict(network_options or {})
        self._rest_client = rest_client
        self._own_client: Any = None
        self._http: httpx.AsyncClient | None = None
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        client = self._rest_client or self._make_rest_client()
        if client is not None:
            return _token_of(await client.get_web_sockets_token())
        return await self._fallback()

    def _make_rest_client(self) -> Any:
        if self._own_client is not None:
            return self._own_client
        try:
            rest = importlib.import_module("krakenkit.rest")
            cls = rest.AsyncSpotClient
        except (ImportError, AttributeError):
            return None
        kwargs: dict[str, Any] = {"environment": self._environment}
        rest_options = {k: v for k, v in self._network_options.items() if k not in WS_ONLY_OPTIONS}
        if rest_options:
            kwargs["network_options"] = rest_options
        try:
            self._own_client = cls(self._api_key, self._api_secret, **kwargs)
        except TypeError:
            kwargs.pop("network_options", None)
            self._own_client = cls(self._api_key, self._api_secret, **kwargs)
        return self._own_client

    async def _fallback(self) -> str:
        if self._http is None:
            proxy = self._network_options.get("proxy")
            self._http = httpx.AsyncClient(
                proxy=proxy if isinstance(proxy, str) else None,
                timeout=float(self._network_options.get("timeout", 10.0)),
            )
        path = "/0/private/GetWebSocketsToken"
        nonce = nonce_source_for(self._api_key)()
        body = urllib.parse.urlencode({"nonce": nonce})
        headers = {
            "API-Key": self._api_key,
            "API-Sign": spot_api_sign(self._api_secret, path, nonce, body),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        }
        url = self._environment.spot_rest_url.rstrip("/") + path
        try:
            resp = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"GetWebSocketsToken failed: {exc!r}", endpoint=path) from exc
        try:
            data = jsonutil.loads(resp.content)
        except jsonutil.JSONDecodeError as exc:
            raise InvalidResponseError(
                "GetWebSocketsToken: non-JSON response",
                status_code=resp.status_code,
                endpoint=path,
                body_excerpt=resp.text[:200],
            ) from exc
        errors = [e for e in data.get("error") or [] if isinstance(e, str) and not e.startswith("W")]
        if errors:
            raise error_from_spot(errors, endpoint=path, status_code=resp.status_code)
        return _token_of(data.get("result"))

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        client = self._own_client
        self._own_client = None
        if client is not None:
            for name in ("aclose", "close"):
                fn = getattr(client, name, None)
                if fn is not None:
                    res = fn()
                    if hasattr(res, "__await__"):
                        await res
                    break
