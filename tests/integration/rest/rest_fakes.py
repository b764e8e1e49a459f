"""A tiny Kraken Spot look-alike on 127.0.0.1 with the faults the sandbox does not have yet: late arrival
(the order reaches the "engine" N seconds after the request, after the client gave up), a garbled HTTP 200
after placing, a trickled body, a held answer. Raw asyncio sockets (HTTP/1.1, keep-alive) in a background
thread, so every byte and every close is under the test's control.

Only what the REST order flow needs: ``Time``, ``AddOrder``, ``AddOrderBatch``, ``OpenOrders``,
``ClosedOrders``, ``Balance`` (signatures are not checked; nonces are, strictly: window 0).
Orders honour Kraken's ``deadline``: processed after it -> ``EService:Deadline elapsed`` (and never placed).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from typing import Any

Behaviour = Callable[["FakeKraken", "Request"], Any]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received: float  # server time the request was fully read

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def params(self) -> dict[str, Any]:
        if self.headers.get("content-type", "").startswith("application/json"):
            data: dict[str, Any] = json.loads(self.body)
            return data
        return dict(urllib.parse.parse_qsl(self.body.decode()))


@dataclass
class Order:
    txid: str
    cl_ord_id: str | None
    ordertype: str
    side: str
    volume: str
    opened: float
    status: str


@dataclass
class Fault:
    """What the next matching requests get instead of a normal answer."""

    kind: str  # "late", "garble", "trickle", "hold", "drop"
    n: int = 1
    delay: float = 2.5  # late: seconds until the engine sees the order; trickle: seconds between bytes
    body: bytes = b""  # garble: the body sent with HTTP 200
    status: int = 200


@dataclass
class FakeKraken:
    strict_nonce: bool = True
    orders: list[Order] = field(default_factory=list)
    log: list[Request] = field(default_factory=list)
    nonce_rejections: int = 0
    rejected: list[tuple[int, int, int]] = field(default_factory=list)  # (nonce, last accepted, log index)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _last_nonce: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    late_processed: int = 0
    _late_done: threading.Condition = field(default_factory=threading.Condition)

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> FakeKraken:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def start() -> None:
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()

            loop.run_until_complete(start())
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        assert loop is not None and self._thread is not None

        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fault(self, name: str, fault: Fault) -> None:
        with self._lock:
            self.faults.setdefault(name, []).append(fault)

    def by_cl_ord_id(self, cl_ord_id: str) -> list[Order]:
        with self._lock:
            return [o for o in self.orders if o.cl_ord_id == cl_ord_id]

    # --- HTTP ------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = Request(method, urllib.parse.urlsplit(target).path, headers, body, time.time())
                with self._lock:
                    self.log.append(req)
                    queue = self.faults.get(req.name) or []
                    fault = queue[0] if queue else None
                    if fault is not None:
                        fault.n -= 1
                        if fault.n <= 0:
                            queue.pop(0)
                if fault is None:
                    status, doc = self._handle(req)
                    await self._send(writer, status, json.dumps(doc).encode())
                    continue
                if not await self._faulty(fault, req, reader, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, length: int | None = None) -> None:
        head = (
            f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nDate: {formatdate(usegmt=True)}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()

    async def _faulty(
        self, fault: Fault, req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer ``req`` with ``fault``; False when the connection is closed."""
        if fault.kind == "late":
            # the request passed the API front door (nonce checked now) and got stuck on the way to the engine:
            # the engine sees it ``delay`` s later; the client never gets an answer (the connection stays open
            # until the client gives up and closes it)
            with self._lock:
                refused = self._nonce_refused(req)
            if refused is None:
                asyncio.get_running_loop().call_later(fault.delay, self._late, req)
            await reader.read(1)
            return False
        if fault.kind == "garble":
            self._handle(req)  # placed for real
            await self._send(writer, fault.status, fault.body)
            return True
        if fault.kind == "drop":
            self._handle(req)
            return False
        if fault.kind == "trickle":
            status, doc = self._handle(req)
            body = json.dumps(doc).encode()
            await self._send(writer, status, b"", length=len(body))
            for i in range(len(body)):
                await asyncio.sleep(fault.delay)
                writer.write(body[i : i + 1])
                await writer.drain()
            return True
        if fault.kind == "hold":  # processed at once, answered late
            status, doc = self._handle(req)
            await asyncio.sleep(fault.delay)
            await self._send(writer, status, json.dumps(doc).encode())
            return True
        raise AssertionError(fault.kind)

    def _late(self, req: Request) -> None:
        req.received = time.time()
        with self._lock:
            self._dispatch(req)
        with self._late_done:
            self.late_processed += 1
            self._late_done.notify_all()

    def wait_late(self, n: int, timeout: float = 10.0) -> bool:
        """Block until ``n`` late requests have reached the "engine" (processed or rejected)."""
        with self._late_done:
            return self._late_done.wait_for(lambda: self.late_processed >= n, timeout)

    # --- a minimal exchange ---------------------------------------------------------------------

    def _handle(self, req: Request) -> tuple[int, dict[str, Any]]:
        with self._lock:
            return self._handle_locked(req)

    def _handle_locked(self, req: Request) -> tuple[int, dict[str, Any]]:
        if req.name == "Time":
            now = time.time()
            return 200, {"error": [], "result": {"unixtime": int(now), "rfc1123": formatdate(now, usegmt=True)}}
        refused = self._nonce_refused(req)
        if refused is not None:
            return refused
        return self._dispatch(req)

    def _nonce_refused(self, req: Request) -> tuple[int, dict[str, Any]] | None:
        nonce = int(req.params().get("nonce", 0))
        if self.strict_nonce and nonce <= self._last_nonce:
            self.nonce_rejections += 1
            self.rejected.append((nonce, self._last_nonce, len(self.log)))
            return 200, {"error": ["EAPI:Invalid nonce"]}
        self._last_nonce = nonce
        return None

    def _dispatch(self, req: Request) -> tuple[int, dict[str, Any]]:
        params = req.params()
        if req.name == "Balance":
            return 200, {"error": [], "result": {"ZUSD": "1000"}}
        if req.name == "AddOrder":
            err = self._deadline_error(params, req.received)
            if err:
                return 200, {"error": [err]}
            order = self._place(params, req.received)
            return 200, {"error": [], "result": {"txid": [order.txid], "descr": {"order": self._descr(order)}}}
        if req.name == "AddOrderBatch":
            err = self._deadline_error(params, req.received)
            if err:
                return 200, {"error": [err]}
            placed = [self._place({**o, "pair": params["pair"]}, req.received) for o in params["orders"]]
            return 200, {
                "error": [],
                "result": {
                    "orders": [
                        {"txid": o.txid, "descr": {"order": self._descr(o)}, "cl_ord_id": o.cl_ord_id} for o in placed
                    ]
                },
            }
        if req.name in ("OpenOrders", "ClosedOrders"):
            want_open = req.name == "OpenOrders"
            cl = params.get("cl_ord_id")
            chosen = [o for o in self.orders if (o.status == "open") == want_open and (cl is None or o.cl_ord_id == cl)]
            key = "open" if want_open else "closed"
            return 200, {"error": [], "result": {key: {o.txid: self._info(o) for o in chosen}, "count": len(chosen)}}
        return 404, {"error": ["EGeneral:Unknown method"]}

    @staticmethod
    def _deadline_error(params: dict[str, Any], now: float) -> str | None:
        dl = params.get("deadline")
        if dl and datetime.fromisoformat(str(dl).replace("Z", "+00:00")).timestamp() < now:
            return "EService:Deadline elapsed"
        return None

    def _place(self, params: dict[str, Any], now: float) -> Order:
        market = params.get("ordertype") == "market"
        order = Order(
            txid=f"OFAKE{next(self._ids):06d}-AAAAA-BBBBBB",
            cl_ord_id=params.get("cl_ord_id"),
            ordertype=str(params.get("ordertype")),
            side=str(params.get("type")),
            volume=str(params.get("volume")),
            opened=now,
            status="closed" if market else "open",
        )
        self.orders.append(order)
        return order

    @staticmethod
    def _descr(o: Order) -> str:
        return f"{o.side} {o.volume} XBTUSD @ {o.ordertype}"

    def _info(self, o: Order) -> dict[str, Any]:
        return {
            "status": o.status,
            "cl_ord_id": o.cl_ord_id,
            "opentm": o.opened,
            "vol": o.volume,
            "vol_exec": o.volume if o.status == "closed" else "0",
            "descr": {
                "pair": "XBTUSD",
                "type": o.side,
                "ordertype": o.ordertype,
                "price": "0",
                "order": self._descr(o),
            },
        }
