"""``python -m krakenkit_sandbox``: the ``krakenkit-sandbox`` command (see :mod:`krakenkit_sandbox.cli`)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m krakenkit_sandbox"))
