"""``python -m krakenkit.sandbox``: the same as ``krakenkit-sandbox`` (needs krakenkit-sandbox installed)."""

from __future__ import annotations

import sys

from . import MISSING_MESSAGE


def main() -> int:
    try:
        from krakenkit_sandbox.cli import main as sandbox_main
    except ModuleNotFoundError as exc:
        if exc.name != "krakenkit_sandbox":
            raise
        sys.stderr.write(f"krakenkit: {MISSING_MESSAGE}\n")
        return 2
    return sandbox_main(prog="python -m krakenkit.sandbox")


if __name__ == "__main__":
    raise SystemExit(main())
