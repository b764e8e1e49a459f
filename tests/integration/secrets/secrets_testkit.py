"""What a user or a crash reporter could see, and the secret values (and long fragments) hidden in it.

Everything is collected as tagged texts: every log record of every client-side logger at DEBUG (message, args, extra
attributes, and for a record with ``exc_info`` everything below about its exception), and for each
exception: ``repr``, ``str``, ``traceback.TracebackException(..., capture_locals=True)`` (what Sentry-style
reporters capture; it follows ``__cause__`` and ``__context__``), its pickle and the repr of its
unpickled copy (for it and every exception of its chain). Objects add their ``repr`` and ``str``.

Tests keep their own credentials in a :class:`Vault` (whose repr shows nothing) and pass them inline,
so the tests' own frames, which every caught exception's traceback starts from, hold no plain secret:
any hit is the library's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import pickle
import traceback
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from krakenkit._core.secrets import exception_chain
from krakenkit.sandbox import Sandbox

#: Loggers set to DEBUG on top of the root logger (their level may have been raised elsewhere).
LOGGERS = ("krakenkit", "httpx", "httpcore", "websockets", "websockets.client", "asyncio", "hpack", "aiohttp")
#: Loggers of the exchange's side (the sandbox runs in the test's process): what Kraken's servers log is not
#: what the client shows, so they are not scanned.
SERVER_LOGGERS = ("aiohttp", "krakenkit.sandbox", "krakenkit_sandbox", "websockets.server")
#: A secret at least this long also leaks through its first or last FRAGMENT characters.
LONG = 20
FRAGMENT = 12


@dataclass
class Seen:
    """Tagged texts: (where, text)."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:  # a test frame holding it must not show what it collected
        return f"<Seen {len(self.texts)} texts>"

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def exception(self, exc: BaseException, where: str = "raised") -> None:
        for tag, text in seen_in_exception(exc):
            self.add(f"{where}:{type(exc).__name__}:{tag}", text)

    def objects(self, *objects: Any) -> None:
        for obj in objects:
            self.add(f"object:{type(obj).__name__}", f"{obj!r}\n{obj!s}")


def seen_in_exception(exc: BaseException) -> list[tuple[str, str]]:
    """(tag, text) of what a reporter shows of ``exc``: repr/str/pickle of every exception in its chain and
    the capture_locals traceback. A reporter that cannot even build the traceback is a finding too."""
    parts: list[tuple[str, str]] = []
    try:
        te = traceback.TracebackException.from_exception(exc, capture_locals=True)
        parts.append(("traceback", "".join(te.format())))
    except Exception as broken:  # e.g. a local whose repr raises: the reporter breaks (a bug to report)
        parts.append(("traceback-failed", f"capture_locals failed: {broken!r}"))
    for e in exception_chain(exc):
        name = type(e).__name__
        parts.append((f"repr({name})", repr(e)))
        parts.append((f"str({name})", str(e)))
        try:
            blob = pickle.dumps(e)
        except Exception as refused:  # refusing to pickle is fine; its message must be clean too
            parts.append((f"pickle({name})", repr(refused)))
        else:
            parts.append((f"pickle({name})", blob.decode("latin-1")))
            try:
                parts.append((f"unpickled({name})", repr(pickle.loads(blob))))
            except Exception as failed:
                parts.append((f"unpickle-failed({name})", repr(failed)))
    return parts


class Capture(logging.Handler):
    """Every record of every logger, with what its exception shows."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(logging.DEBUG)
        self.seen = seen
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(SERVER_LOGGERS):
            return
        self.records += 1
        try:
            msg = record.getMessage()
        except Exception:  # a bad format string must not hide the args
            msg = f"{record.msg!r} {record.args!r}"
        extras = {k: v for k, v in vars(record).items() if k not in ("msg", "args", "exc_info", "message")}
        self.seen.add(f"log:{record.name}", f"{msg}\n{record.msg!r}\n{record.args!r}\n{extras!r}")
        if record.exc_info and record.exc_info[1] is not None:
            self.seen.exception(record.exc_info[1], f"log:{record.name}")


@contextlib.contextmanager
def capture_everything(seen: Seen) -> Iterator[Capture]:
    """DEBUG on for the root logger and every logger of :data:`LOGGERS`, recorded into ``seen``."""
    handler = Capture(seen)
    root = logging.getLogger()
    old_root = root.level
    olds = {n: logging.getLogger(n).level for n in LOGGERS}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for n in LOGGERS:
        logging.getLogger(n).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root)
        for n, lvl in olds.items():
            logging.getLogger(n).setLevel(lvl)


class Vault:
    """The secret values of a scenario. Its repr shows only names, so a test frame holding it is clean."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Vault {sorted(self._values)}>"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("Vault cannot be pickled")

    def add(self, name: str, value: str | None) -> None:
        if value:
            self._values[name] = value

    def add_all(self, prefix: str, values: Iterable[str]) -> None:
        for i, v in enumerate(sorted(values)):
            self.add(f"{prefix}{i}", v)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def names(self) -> list[str]:
        return list(self._values)

    def fragments(self) -> dict[str, tuple[str, str]]:
        """fragment label -> (secret name, text)."""
        out: dict[str, tuple[str, str]] = {}
        taken: set[str] = set()  # a fragment two secrets share (a key and its mistyped copy) counts once

        def put(label: str, name: str, text: str) -> None:
            if text not in taken:
                taken.add(text)
                out[label] = (name, text)

        for name, value in self._values.items():
            put(name, name, value)
            if len(value) >= LONG:  # a long prefix or suffix is a leak too (a truncated DEBUG line)
                put(f"{name}[:{FRAGMENT}]", name, value[:FRAGMENT])
                put(f"{name}[-{FRAGMENT}:]", name, value[-FRAGMENT:])
        return out


@dataclass(frozen=True)
class Leak:
    secret: str
    fragment: str
    where: str
    context: str

    def __str__(self) -> str:
        return f"{self.fragment} in {self.where}: ...{self.context}..."


def find_leaks(vault: Vault, seen: Seen) -> list[Leak]:
    """One :class:`Leak` per (secret, place) where any of its fragments shows; plus every broken reporter."""
    found: dict[tuple[str, str], Leak] = {}
    for label, (name, fragment) in vault.fragments().items():
        for where, text in seen.texts:
            at = text.find(fragment)
            if at >= 0 and (name, where) not in found:
                found[(name, where)] = Leak(name, label, where, text[max(0, at - 100) : at + len(fragment) + 20])
    for where, text in seen.texts:
        if where.endswith(":traceback-failed"):
            found[("<reporter>", where)] = Leak("<reporter>", "traceback-failed", where, text)
    return list(found.values())


def leak_summary(leaks: list[Leak]) -> str:
    """``secret: n place(s)`` lines, then every leak (the assertion message)."""
    per: dict[str, int] = {}
    for leak in leaks:
        per[leak.secret] = per.get(leak.secret, 0) + 1
    head = ", ".join(f"{k}: {v}" for k, v in sorted(per.items()))
    return f"{len(leaks)} leak(s) [{head}]\n" + "\n".join(str(leak) for leak in leaks)


def assert_clean(vault: Vault, seen: Seen) -> None:
    leaks = find_leaks(vault, seen)
    assert not leaks, leak_summary(leaks)


def spot_key(sb: Sandbox, vault: Vault, **kwargs: Any) -> tuple[str, str]:
    """A new Spot key of the sandbox, noted in the vault (``spot_key``, ``spot_secret``)."""
    key, secret = sb.create_key(**kwargs)
    vault.add("spot_key", key)
    vault.add("spot_secret", secret)
    return key, secret


def futures_key(sb: Sandbox, vault: Vault) -> tuple[str, str]:
    """A new Derivatives key of the sandbox, noted in the vault (``futures_key``, ``futures_secret``)."""
    key, secret = sb.create_futures_key()
    vault.add("futures_key", key)
    vault.add("futures_secret", secret)
    return key, secret


def signed_challenge(secret: str, challenge: str) -> str:
    """Kraken's Derivatives WS ``signed_challenge`` (computed here, by the documented rule, to scan for it)."""
    import hmac

    sha = hashlib.sha256(challenge.encode()).digest()
    return base64.b64encode(hmac.new(base64.b64decode(secret), sha, hashlib.sha512).digest()).decode()


# --- a WebSocket server on 127.0.0.1 that accepts the handshake and never answers ----------------------------


@contextlib.asynccontextmanager
async def silent_ws_server() -> AsyncIterator[str]:
    """``ws://127.0.0.1:<port>/ws/v1`` of a server that completes the WebSocket handshake, then reads and
    never writes (no challenge, no ack, no pong)."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            key = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            await writer.drain()
            while await reader.read(4096):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, StopIteration):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws/v1"
    finally:
        server.close()
        for w in writers:
            w.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1.0)
