"""The ``krakenkit`` command: rollout, ticker, book, balance, order, sandbox, doctor.

Run ``krakenkit --help`` (or ``python -m krakenkit.cli``). Every command works against the built-in
sandbox (``--sandbox``, started in-process; or ``--sandbox-url`` for a running ``krakenkit sandbox``)
or Kraken itself (``--live``, credentials from ``API_SPOT_KEY``/``API_SPOT_SECRET`` and
``API_FUTURES_KEY``/``API_FUTURES_SECRET``).
"""

from __future__ import annotations

from .main import main

__all__ = ["main"]
