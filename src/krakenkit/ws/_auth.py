"""Where Spot WebSocket tokens come from.

The token is fetched with krakenkit's own :class:`krakenkit.rest.AsyncSpotClient`
(``await client.get_web_sockets_token()``), a fresh one per connection. A caller may pass its own
``rest_client`` (anything with that coroutine method) or any ``token_provider`` coroutine function
(returning the token as a ``str`` or a :class:`~krakenkit._core.secrets.Secret`).

The key and secret are held as :class:`~krakenkit._core.secrets.Secret` values and the token is handed on
as one: none of them is ever a plain local of a frame that can raise.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from krakenkit._core.environment import Environment
from krakenkit._core.errors import InsecureTransportWarning, InvalidResponseError
from krakenkit._core.secrets import Secret, reveal

__all__ = ["WS_ONLY_OPTIONS", "SpotTokenSource", "TokenProvider"]

WS_ONLY_OPTIONS = frozenset({"ws_proxy", "open_timeout", "compression", "ssl", "user_agent"})
"""``network_options`` keys meant for WebSockets only; the rest go to the REST client (httpx)."""

log = logging.getLogger("krakenkit.ws")

TokenProvider = Callable[[], Awaitable[str | Secret]]


def _token_of(result: Any) -> Secret:
    """The token of a ``GetWebSocketsToken`` answer (an object with ``.token``, or its JSON), as a Secret."""
    token = getattr(result, "token", None)
    if token is None and isinstance(result, Mapping):
        token = result.get("token")
        if token is None and isinstance(result.get("result"), Mapping):
            token = result["result"].get("token")
    if isinstance(token, Secret) and token:
        return token
    if not isinstance(token, str) or not token:
        kind = type(result).__name__
        del result, token
        raise InvalidResponseError(f"GetWebSocketsToken returned no token: {kind}")
    return Secret(token)


class SpotTokenSource:
    """Callable returning a fresh GetWebSocketsToken token (a Secret) on every call."""

    def __init__(
        self,
        api_key: Secret,
        api_secret: Secret,
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
        self.calls = 0

    def __repr__(self) -> str:
        return f"<SpotTokenSource {self._environment.spot_rest_url} key=Secret('***') calls={self.calls}>"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("SpotTokenSource cannot be pickled")

    async def __call__(self) -> Secret:
        self.calls += 1
        client = self._rest_client or self._make_rest_client()
        return _token_of(await client.get_web_sockets_token())

    def _make_rest_client(self) -> Any:
        if self._own_client is not None:
            return self._own_client
        rest = importlib.import_module("krakenkit.rest")
        kwargs: dict[str, Any] = {"environment": self._environment}
        rest_options = {k: v for k, v in self._network_options.items() if k not in WS_ONLY_OPTIONS}
        if rest_options:
            kwargs["network_options"] = rest_options
        # the key is revealed inline, for the REST client's constructor only; the secret stays a Secret
        with warnings.catch_warnings():
            # the WebsocketClient warned about these network_options when it was built: once per client
            warnings.simplefilter("ignore", InsecureTransportWarning)
            self._own_client = rest.AsyncSpotClient(reveal(self._api_key), self._api_secret, **kwargs)
        return self._own_client

    async def aclose(self) -> None:
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
