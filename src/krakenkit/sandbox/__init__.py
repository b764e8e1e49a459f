"""krakenkit.sandbox: the local Kraken sandbox, re-exported from the krakenkit-sandbox distribution.

The sandbox is its own distribution (import name ``krakenkit_sandbox``); this module only forwards its
public names, loaded on first use::

    from krakenkit.sandbox import Sandbox      # the same object as krakenkit_sandbox.Sandbox

Install it with ``pip install krakenkit-sandbox`` (or ``pip install "krakenkit[sandbox]"``), or from a
checkout of the repository with ``pip install ./sandbox``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from krakenkit_sandbox import FaultInjector, Sandbox, SandboxContext, describe, run_forever, serve

__all__ = ["FaultInjector", "Sandbox", "SandboxContext", "describe", "run_forever", "serve"]

MISSING_MESSAGE = (
    "the krakenkit sandbox is a separate distribution that is not installed: "
    "pip install krakenkit-sandbox (or, from the krakenkit repository, pip install ./sandbox)"
)


def load() -> Any:
    """The ``krakenkit_sandbox`` module; an ImportError naming the distribution to install when absent."""
    try:
        return importlib.import_module("krakenkit_sandbox")
    except ModuleNotFoundError as exc:
        if exc.name != "krakenkit_sandbox":
            raise  # installed, but one of its own dependencies is missing: that error says which
        raise ModuleNotFoundError(MISSING_MESSAGE, name="krakenkit_sandbox") from None


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'krakenkit.sandbox' has no attribute {name!r}")
    value = getattr(load(), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
