"""The live WebSocket connections of a running sandbox, by ws key, as the fault injector reaches them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["LiveConnection", "WsRegistry"]


@runtime_checkable
class LiveConnection(Protocol):
    """A live WebSocket connection, as seen by the fault injector."""

    ws_key: str

    def abort(self) -> None:
        """Drop the TCP connection abruptly (no close frame)."""

    def stall(self) -> None:
        """Keep the connection open but send nothing and ignore all input from now on."""

    def inject_text(self, text: str) -> None:
        """Send a raw (non-JSON) text frame."""


class WsRegistry:
    """Live WS connections by ws key (``spotPublicV2``, ``derivativesPrivateV1``, ...)."""

    def __init__(self) -> None:
        self._conns: dict[int, LiveConnection] = {}

    def register(self, conn: LiveConnection) -> None:
        self._conns[id(conn)] = conn

    def unregister(self, conn: LiveConnection) -> None:
        self._conns.pop(id(conn), None)

    def connections(self, ws_key: str | None = None) -> list[LiveConnection]:
        return [c for c in self._conns.values() if ws_key is None or c.ws_key == ws_key]

    def __len__(self) -> int:
        return len(self._conns)
