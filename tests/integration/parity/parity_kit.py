"""Helpers of the parity suite: "zero bytes sent", measured at the transports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Wire:
    """What the code under test tried to send: HTTP requests (method, URL) and WebSocket connects (URL)."""

    http: list[str] = field(default_factory=list)
    ws: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return not self.http and not self.ws

    def clear(self) -> None:
        self.http.clear()
        self.ws.clear()
