"""The public API, pinned: the names ``krakenkit``, ``krakenkit.toolkit``, ``krakenkit.books`` and
``krakenkit_sandbox`` export, that each of them resolves, that every exception class of the SDK is importable
from ``krakenkit``, and that the documentation and examples import only public names.

A change to one of the lists below is a change of the public API: make it on purpose, in both places.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import krakenkit

ROOT = Path(__file__).resolve().parents[2]

KRAKENKIT = [
    "APIConnectionError",
    "APITimeoutError",
    "AccountError",
    "AccountState",
    "AsyncDerivativesClient",
    "AsyncSafeOrderSubmitter",
    "AsyncSpotClient",
    "AuthenticationError",
    "ChecksumMismatchError",
    "ConnectionLostError",
    "CredentialStore",
    "Credentials",
    "DeadMansSwitch",
    "DeadlineElapsedError",
    "DerivativesBook",
    "DerivativesClient",
    "DerivativesRateLimiter",
    "DuplicateClientOrderIdError",
    "Environment",
    "FillRecorder",
    "InsecureTransportWarning",
    "InsufficientFundsError",
    "InternalServerError",
    "InvalidArgumentsError",
    "InvalidKeyError",
    "InvalidNonceError",
    "InvalidPriceError",
    "InvalidResponseError",
    "InvalidSignatureError",
    "JSONNestingError",
    "JournalError",
    "KrakenAPIError",
    "KrakenDeprecationWarning",
    "KrakenError",
    "LIVE",
    "MarketModeError",
    "MarketSuspendedError",
    "MissingCredentialsError",
    "NoRateLimit",
    "NotFoundError",
    "OrderError",
    "OrderInsufficientFundsError",
    "OrderJournal",
    "OrderLimitError",
    "OrderMinimumError",
    "OrderNotPlacedError",
    "OrderOutcomeUnknownError",
    "OrderRejectedError",
    "OrderWithdrawnError",
    "PermissionDeniedError",
    "PositionError",
    "PostWouldExecuteError",
    "RateLimitError",
    "RateLimiter",
    "ReconnectGate",
    "RetryPolicy",
    "SafeOrderSubmitter",
    "Sandbox",
    "Secret",
    "SequenceGapError",
    "ServiceUnavailableError",
    "SpotBook",
    "SpotClient",
    "SpotL3Book",
    "SpotRateLimiter",
    "StreamOverflowError",
    "SymbolFormatError",
    "SymbolMapper",
    "TESTNET",
    "TemporaryLockoutError",
    "TradingPausedError",
    "UnknownAssetPairError",
    "UnknownOrderError",
    "UnknownSymbolError",
    "ValidationError",
    "WS_KEY_MAP",
    "WebsocketAPIClient",
    "WebsocketClient",
    "__version__",
    "derivatives_rate_limiter",
    "error_from_futures",
    "error_from_futures_status",
    "error_from_spot",
    "is_definitive_rejection",
    "is_outcome_unknown_error",
    "shared_derivatives_rate_limiter",
    "shared_spot_rate_limiter",
    "spot_rate_limiter",
]

TOOLKIT = [
    "AccountState",
    "AsyncOrderJournal",
    "AsyncSafeOrderSubmitter",
    "Backfill",
    "DeadMansSwitch",
    "FINAL_EXCHANGE_STATES",
    "FINAL_STATUSES",
    "Fill",
    "FillRecorder",
    "Found",
    "FuturesBackfill",
    "FuturesRestVenue",
    "GateCore",
    "GateEvent",
    "JournalEntry",
    "JournalError",
    "JournalEvent",
    "JournalFill",
    "JournalStatus",
    "OrderJournal",
    "OrderNotPlacedError",
    "OrderRequest",
    "OrderView",
    "OrderWithdrawnError",
    "Position",
    "ReconcileReport",
    "ReconnectGate",
    "Refused",
    "Revalidate",
    "SafeOrderSubmitter",
    "SpotBackfill",
    "SpotRestVenue",
    "SpotWsVenue",
    "SubmitResult",
    "UNRESOLVED_STATUSES",
    "Venue",
    "default_owner",
]

BOOKS = [
    "BookSnapshot",
    "DerivativesBook",
    "L3Order",
    "Level",
    "SpotBook",
    "SpotL3Book",
    "checksum_v2",
    "checksum_v2_level3",
    "format_level_fragment",
]

SANDBOX = ["FaultInjector", "Sandbox", "SandboxContext", "__version__", "describe", "run_forever", "serve"]

PINNED = {
    "krakenkit": KRAKENKIT,
    "krakenkit.toolkit": TOOLKIT,
    "krakenkit.books": BOOKS,
    "krakenkit_sandbox": SANDBOX,
}

# Exception classes of the SDK that are not API: raised and caught inside one command, never reaching a caller.
NOT_RAISED_TO_CALLERS = {"krakenkit.cli.rollout.LayerFailed"}


@pytest.mark.parametrize("module", sorted(PINNED))
def test_the_exported_names_are_exactly_the_pinned_list(module: str) -> None:
    exported = importlib.import_module(module).__all__
    assert len(exported) == len(set(exported)), "a name is listed twice in __all__"
    assert sorted(exported) == PINNED[module]


@pytest.mark.parametrize("module", sorted(PINNED))
def test_every_exported_name_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    unresolved = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert unresolved == []
    star: dict[str, object] = {}
    exec(f"from {module} import *", star)  # the lazy exports work through `import *` too
    assert set(mod.__all__) <= set(star)


def test_lazy_names_are_the_objects_of_their_home_module() -> None:
    from krakenkit import books, toolkit, ws
    from krakenkit.rest import derivatives, spot

    assert krakenkit.SpotClient is spot.SpotClient
    assert krakenkit.DerivativesClient is derivatives.DerivativesClient
    assert krakenkit.WebsocketClient is ws.WebsocketClient
    assert krakenkit.SpotBook is books.SpotBook
    assert krakenkit.JournalError is toolkit.JournalError
    assert set(KRAKENKIT) <= set(dir(krakenkit))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        krakenkit.NoSuchName


def test_the_sandbox_re_export_is_the_sandbox_distribution() -> None:
    import krakenkit.sandbox
    import krakenkit_sandbox

    assert set(krakenkit.sandbox.__all__) == set(SANDBOX) - {"__version__"}
    for name in krakenkit.sandbox.__all__:
        assert getattr(krakenkit.sandbox, name) is getattr(krakenkit_sandbox, name)
    assert krakenkit.Sandbox is krakenkit_sandbox.Sandbox


def _sdk_modules() -> list[ModuleType]:
    modules = [krakenkit]
    for info in pkgutil.walk_packages(krakenkit.__path__, "krakenkit."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # running it is its import
        modules.append(importlib.import_module(info.name))
    return modules


def test_every_exception_class_of_the_sdk_is_importable_from_krakenkit() -> None:
    defined: dict[str, type[BaseException]] = {}
    for module in _sdk_modules():
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                if not name.startswith("_"):
                    defined[f"{module.__name__}.{name}"] = obj
    assert len(defined) >= 45  # the walk found the tree (_core.errors alone defines ~40)
    assert "krakenkit.toolkit.journal.JournalError" in defined
    missing = [
        where
        for where, cls in sorted(defined.items())
        if where not in NOT_RAISED_TO_CALLERS
        and (cls.__name__ not in krakenkit.__all__ or getattr(krakenkit, cls.__name__) is not cls)
    ]
    assert missing == [], "export these from krakenkit (the _LAZY table of krakenkit/__init__.py)"
    assert NOT_RAISED_TO_CALLERS <= set(defined), "a listed exception is gone: drop it from the list"


# --- the documentation and the examples use public names only -------------------------------------------

PAGES = sorted(
    [
        *ROOT.glob("docs/*.md"),
        ROOT / "README.md",
        ROOT / "sandbox" / "README.md",
        *ROOT.glob("examples/*.py"),
    ]
)
FROM_IMPORT = re.compile(r"\bfrom\s+(krakenkit\w*(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n`]*)")
PLAIN_IMPORT = re.compile(r"^\s*import\s+(krakenkit\w*(?:\.\w+)*)", re.MULTILINE)


def _imports(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for module, names in FROM_IMPORT.findall(text):
        names = re.sub(r"#[^\n]*", "", names).strip("() \n")
        found.append((module, [n.split(" as ")[0].strip() for n in names.split(",") if n.strip()]))
    found.extend((module, []) for module in PLAIN_IMPORT.findall(text))
    return found


def test_the_pages_are_found() -> None:
    names = {p.name for p in PAGES}
    assert {"index.md", "rate-limits.md", "README.md", "rate_limits.py", "_target.py"} <= names
    assert all(p.is_file() for p in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_no_page_names_krakenkit_core(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    lines = [f"{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1) if "krakenkit._core" in line]
    assert lines == []


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_import_on_a_page_is_public_and_resolves(page: Path) -> None:
    problems = []
    for module, names in _imports(page.read_text(encoding="utf-8")):
        if any(part.startswith("_") for part in module.split(".")):
            problems.append(f"{module}: a private module")
            continue
        mod = importlib.import_module(module)
        for name in names:
            if name == "*":
                continue
            if name.startswith("_") or not hasattr(mod, name):
                problems.append(f"from {module} import {name}: not a public name there")
    assert problems == []


def test_the_import_scanner_sees_private_and_multi_line_imports() -> None:
    text = (
        "```python\nfrom krakenkit._core.ratelimit import NoRateLimit\n"
        "from krakenkit import (SpotClient,  # comment\n    NoRateLimit as N)\n```\n"
        "`from krakenkit.sandbox import Sandbox`, then\nimport krakenkit_sandbox\n"
    )
    assert _imports(text) == [
        ("krakenkit._core.ratelimit", ["NoRateLimit"]),
        ("krakenkit", ["SpotClient", "NoRateLimit"]),
        ("krakenkit.sandbox", ["Sandbox"]),
        ("krakenkit_sandbox", []),
    ]
