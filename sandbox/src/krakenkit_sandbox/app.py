"""The sandbox server: aiohttp app, runner (background thread or current loop), inspection API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import threading
from collections.abc import Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from .context import RequestLog, SandboxContext
from .faults import FaultInjector
from .futures import FuturesExchange
from .middleware import fault_middleware
from .placed import duplicate_ids, futures_placed, spot_placed
from .registry import WsRegistry
from .spot.engine import INTERNAL, OrderError
from .spot.exchange import SpotExchange
from .spot.market import find_asset, find_pair
from .spot.participants import MarketSimulator
from .spot.rest import SpotRest
from .spot.ws import WS_PATHS, SpotWs

__all__ = ["Sandbox", "describe", "run_forever", "serve"]

log = logging.getLogger("krakenkit.sandbox")
T = TypeVar("T")


class Sandbox:
    """A local Kraken-compatible exchange (Spot REST + WS v2, Futures via the plug-in).

    ``with Sandbox(seed=1) as sb:`` runs it in a background thread with its own event loop;
    ``async with Sandbox(seed=1) as sb:`` runs it in the current loop.
    """

    def __init__(
        self,
        seed: int = 1,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: bool = True,
        market: bool = True,
        fast_mode: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock``: the exchange's time source (unix seconds; default ``time.time``). Tests inject one
        to move time forward (token expiry, GTD expiry, rate-limit decay) without waiting."""
        self.host = host
        self._port = port
        self.ctx = SandboxContext(
            seed=seed,
            rng=random.Random(seed),
            faults=FaultInjector(),
            ws_registry=WsRegistry(),
            request_log=RequestLog(),
            rate_limits=rate_limits,
            market=market,
            fast_mode=fast_mode,
        )
        if clock is not None:
            self.ctx.clock = clock
        self.spot = SpotExchange(self.ctx)
        self.rest = SpotRest(self.spot)
        self.ws = SpotWs(self.spot)
        self.sim = MarketSimulator(self.spot, random.Random(seed * 31 + 7))
        self.sim.seed_books()
        self.futures: Any = None
        try:
            self.futures = FuturesExchange(self.ctx)
        except Exception:  # pragma: no cover - keep Spot usable if the plug-in breaks
            log.exception("futures plug-in failed to start")
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False

    # lifecycle ---------------------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[fault_middleware(self.ctx)], client_max_size=4 * 1024 * 1024)
        self.rest.add_routes(app)
        self.ws.add_routes(app)
        if self.futures is not None:
            self.futures.add_routes(app)
        app.router.add_post("/_sandbox/faults", self._admin_faults)
        app.router.add_get("/_sandbox/orders", self._admin_orders)
        app.router.add_get("/_sandbox/balances", self._admin_balances)
        app.router.add_post("/_sandbox/keys", self._admin_keys)
        app.router.add_get("/_sandbox/requests", self._admin_requests)
        app.router.add_get("/_sandbox/placed_orders", self._admin_placed_orders)
        app.router.add_get("/_sandbox/duplicates", self._admin_duplicates)
        return app

    async def start(self) -> None:
        if self._started:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.ctx.loop = loop
        self.ctx.faults._bind(self.ctx.ws_registry, loop)
        # shutdown_timeout: on stop, requests still held by a fault (late arrival, trickle, hold) are
        # cancelled after this long instead of aiohttp's 60 s
        self._runner = web.AppRunner(self._build_app(), handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else self._port
        self._tasks.append(asyncio.create_task(self.ws.heartbeat_loop()))
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        if self.ctx.market:
            self._tasks.append(asyncio.create_task(self.sim.run()))
        if self.futures is not None:
            await self.futures.start()
        self._started = True
        log.info("sandbox listening on %s", self.rest_url)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.ctx.faults.cancel_held()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self.spot.stop()
        if self.futures is not None:
            with contextlib.suppress(Exception):
                await self.futures.stop()
        await self.ws.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            if self.spot.engine.expire_due():
                self.spot.publish()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Sandbox:
        ready = threading.Event()
        errors: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="krakenkit-sandbox", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the server loop (from any thread) and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return fn()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn()

        async def wrap() -> T:
            return fn()

        coro: Coroutine[Any, Any, T] = wrap()
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    # public API ------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def ws_urls(self) -> dict[str, str]:
        base = f"ws://{self.host}:{self._port}"
        urls = {key: base + path for path, key in WS_PATHS.items()}
        urls["derivativesPublicV1"] = base + "/ws/v1"
        urls["derivativesPrivateV1"] = base + "/ws/v1"
        return urls

    @property
    def environment(self) -> Any:
        """A ``krakenkit.Environment`` pointing at this sandbox, for the krakenkit SDK's clients
        (``SpotClient(key, secret, environment=sb.environment)``). Needs the krakenkit SDK installed;
        the sandbox itself does not (other clients use :attr:`rest_url` and :attr:`ws_urls`)."""
        try:
            from krakenkit import Environment
        except ImportError as exc:
            raise ImportError(
                "Sandbox.environment is a krakenkit.Environment and needs the krakenkit SDK "
                "(pip install krakenkit); other clients use Sandbox.rest_url and Sandbox.ws_urls"
            ) from exc
        return Environment(
            spot_rest_url=self.rest_url, futures_rest_url=self.rest_url, ws_urls=self.ws_urls, name="sandbox"
        )

    @property
    def faults(self) -> FaultInjector:
        return self.ctx.faults

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.ctx.request_log]

    def set_rate_limits(self, enabled: bool) -> None:
        self.ctx.rate_limits = bool(enabled)
        if enabled:
            self._call(self.spot.rest_limiter.reset)
            self._call(self.spot.trading_limiter.reset)

    def create_key(
        self,
        permissions: Any = None,
        balances: Mapping[str, Any] | None = None,
        tier: str = "intermediate",
        otp: str | None = None,
        nonce_window: int = 0,
    ) -> tuple[str, str]:
        """A new Spot account + API key: ``(api_key, api_secret)``.

        ``nonce_window``: as Kraken's key setting, lets nonces arrive out of order by up to this much
        (a used nonce is still refused); 0 (default) means strictly increasing.

        ``permissions``: subset of query_funds, query_open, query_closed, query_ledger, trade, cancel,
        withdraw, export, websocket, deposit, earn (default: all but withdraw). ``otp``: a static
        password, or ``"totp:<base32 secret>"``.
        """
        k = self._call(
            lambda: self.spot.create_key(permissions, dict(balances) if balances else None, tier, otp, nonce_window)
        )
        return k.key, k.secret

    def create_futures_key(self, balances: Mapping[str, Any] | None = None, nonce_window: int = 0) -> tuple[str, str]:
        """A new Derivatives key: ``(api_key, api_secret)``. ``nonce_window``: 0 (default) means every
        numeric ``Nonce`` must be above the highest seen (else ``nonceBelowThreshold``); a used nonce is
        always ``nonceDuplicate``."""
        if self.futures is None:
            raise RuntimeError("the Futures plug-in (krakenkit_sandbox.futures) is not available")
        fut = self.futures
        result: tuple[str, str] = self._call(lambda: fut.create_key(balances, _window(nonce_window)))
        return result

    def set_nonce_window(self, api_key: str, nonce_window: int) -> None:
        """Change the nonce window of a Spot or Derivatives key (0: strictly increasing)."""
        window = _window(nonce_window)

        def run() -> None:
            if self._futures_key(api_key):
                self.futures.engine.accounts[api_key].nonce_window = window
                return
            k = self._key(api_key)
            k.nonce_window = window
            if window == 0:
                k.recent_nonces.clear()

        self._call(run)

    def placed_orders(self, api_key: str | None = None, cl_ord_id: str | None = None) -> list[dict[str, Any]]:
        """Every order the sandbox placed, Spot then Derivatives (of ``api_key``, or of every key), with
        its fills, optionally only those with client order id ``cl_ord_id`` (Spot ``cl_ord_id``,
        Derivatives ``cliOrdId``). Shape: see :mod:`krakenkit_sandbox.placed`. For chaos tests: an id
        with two filled orders was executed twice."""

        def get() -> list[dict[str, Any]]:
            out = spot_placed(self.spot, api_key)
            if self.futures is not None:
                out += futures_placed(self.futures, api_key)
            return [o for o in out if cl_ord_id is None or o["cl_ord_id"] == cl_ord_id]

        return self._call(get)

    def duplicate_client_ids(self, api_key: str | None = None, filled_only: bool = False) -> dict[str, int]:
        """Client order ids with more than one placed order (``filled_only``: more than one with fills,
        that is executed more than once), and how many."""
        return duplicate_ids(self.placed_orders(api_key), filled_only)

    def _key(self, api_key: str) -> Any:
        k = self.spot.keys.keys.get(api_key)
        if k is None:
            raise KeyError("unknown api key")
        return k

    def _futures_key(self, api_key: str) -> bool:
        fut = self.futures
        return api_key not in self.spot.keys.keys and fut is not None and api_key in fut.engine.accounts

    def orders(self, api_key: str) -> list[dict[str, Any]]:
        """Every order of the key's account (open and closed).

        Spot key: REST ``QueryOrders`` form plus ``txid``, oldest first. Futures key: the Derivatives
        ``orders/status`` form (from the Futures plug-in).
        """
        if self._futures_key(api_key):
            fut = self.futures
            result: list[dict[str, Any]] = self._call(lambda: fut.orders(api_key))
            return result

        def get() -> list[dict[str, Any]]:
            acc = self.spot.engine.account(self._key(api_key).account)
            out = []
            for o in sorted(acc.orders.values(), key=lambda o: o.seq):
                info = self.rest.order_info(o, True)
                info["txid"] = o.txid
                out.append(info)
            return out

        return self._call(get)

    def balances(self, api_key: str) -> dict[str, Decimal]:
        """Balances by asset; for a Futures key those of its flex account (as the plug-in reports them)."""
        if self._futures_key(api_key):
            fut = self.futures
            raw: dict[str, str] = self._call(lambda: fut.balances(api_key))
            return {k: Decimal(v) for k, v in raw.items()}
        return self._call(lambda: self.spot.balances_of(self._key(api_key)))

    def holds(self, api_key: str) -> dict[str, Decimal]:
        return self._call(lambda: self.spot.holds_of(self._key(api_key)))

    def deposit(self, api_key: str, asset: str, amount: Any) -> None:
        a = find_asset(asset)

        def run() -> None:
            self.spot.engine.credit(self._key(api_key).account, a.key if a else asset, Decimal(str(amount)))
            self.spot.publish()

        self._call(run)

    def market_tick(self, n: int = 1) -> None:
        """Advance the simulated market by ``n`` rounds (useful with ``market=False``)."""

        def run() -> None:
            for _ in range(n):
                self.sim.tick()

        self._call(run)

    def take(self, symbol: str, side: str, qty: Any) -> None:
        """Make a simulated participant send a market order (moves the last price, fills stops)."""
        pair = find_pair(symbol)
        if pair is None:
            raise KeyError(symbol)

        def run() -> None:
            with contextlib.suppress(OrderError):
                self.spot.engine.add_order(INTERNAL, pair, side, "market", Decimal(str(qty)))
            self.spot.publish()

        self._call(run)

    # admin over HTTP -------------------------------------------------------------------------------------
    async def _admin_faults(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            cmds = body if isinstance(body, list) else [body]
            for cmd in cmds:
                if isinstance(cmd, dict) and cmd.get("action") == "set_nonce_window":
                    self.set_nonce_window(str(cmd.get("api_key", "")), cmd.get("nonce_window", 0))
                else:
                    self.faults.apply_admin(cmd)
        except KeyError:
            return web.json_response({"ok": False, "error": "unknown api key"}, status=404)
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _admin_orders(self, request: web.Request) -> web.Response:
        try:
            return web.json_response(self.orders(request.query.get("key", "")))
        except KeyError:
            return web.json_response({"error": "unknown key"}, status=404)

    async def _admin_balances(self, request: web.Request) -> web.Response:
        try:
            return web.json_response({k: str(v) for k, v in self.balances(request.query.get("key", "")).items()})
        except KeyError:
            return web.json_response({"error": "unknown key"}, status=404)

    async def _admin_keys(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            body = {}
        kind = body.get("kind", "spot")
        window = body.get("nonce_window", 0)
        try:
            if kind == "futures":
                key, secret = self.create_futures_key(body.get("balances"), window)
            else:
                key, secret = self.create_key(
                    body.get("permissions"),
                    body.get("balances"),
                    body.get("tier", "intermediate"),
                    body.get("otp"),
                    _window(window),
                )
        except (ValueError, TypeError, RuntimeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"api_key": key, "api_secret": secret})

    async def _admin_placed_orders(self, request: web.Request) -> web.Response:
        key = request.query.get("key") or None
        orders = self.placed_orders(key, request.query.get("cl_ord_id") or None)
        return web.json_response(orders, dumps=_dumps)

    async def _admin_duplicates(self, request: web.Request) -> web.Response:
        filled = request.query.get("filled_only", "").lower() in ("1", "true", "yes")
        return web.json_response(self.duplicate_client_ids(request.query.get("key") or None, filled))

    async def _admin_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests[-500:], dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)


def _window(value: Any) -> int:
    """A nonce window: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"nonce_window must be a whole number >= 0, got {value!r}")
    return value


def describe(sb: Sandbox) -> str:
    """URLs of a running sandbox and a ready-made Spot key, as text for the CLI to print."""
    key, secret = sb.create_key()
    lines = ["krakenkit sandbox", f"  REST (Spot + Futures): {sb.rest_url}"]
    for name, url in sb.ws_urls.items():
        lines.append(f"  WS {name}: {url}")
    lines += [
        "  Spot key:",
        f"    api_key    = {key}",
        f"    api_secret = {secret}",
    ]
    if sb.futures is not None:
        try:
            fk, fs = sb.create_futures_key()
            lines += ["  Futures key:", f"    api_key    = {fk}", f"    api_secret = {fs}"]
        except Exception:  # pragma: no cover
            log.exception("could not create a futures key")
    lines.append(f"  Admin: POST {sb.rest_url}/_sandbox/faults  GET {sb.rest_url}/_sandbox/orders?key=...")
    return "\n".join(lines)


def serve(
    port: int,
    seed: int = 1,
    *,
    host: str = "127.0.0.1",
    fast_mode: bool = False,
    market: bool = True,
    rate_limits: bool = True,
    on_ready: Callable[[Sandbox], None] | None = None,
) -> None:
    """Run a sandbox on ``port`` (0 = a free one) until interrupted (SIGINT / SIGTERM).

    Used by ``krakenkit-sandbox``, ``python -m krakenkit_sandbox`` and ``krakenkit sandbox``.
    ``on_ready(sb)`` is called once it listens (``sb.rest_url`` / ``sb.ws_urls`` are then final).
    Logs, prints nothing.
    """

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        async with Sandbox(
            seed=seed, port=port, host=host, fast_mode=fast_mode, market=market, rate_limits=rate_limits
        ) as sb:
            if on_ready is not None:
                on_ready(sb)
            log.info("sandbox ready on %s (fast_mode=%s)", sb.rest_url, fast_mode)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def run_forever(port: int = 8787) -> None:
    serve(port, 1)
