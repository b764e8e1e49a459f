"""examples/reconnect_gate_backfill.py runs by itself against the sandbox and shows pause, backfill, resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "reconnect_gate_backfill.py"


def test_reconnect_example_runs() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    closed, backfill, opened = (
        out.index("[gate] CLOSED"),
        out.index("[gate] backfill done"),
        out.index("[gate] OPEN again"),
    )
    assert closed < backfill < opened
    assert out.count("(from rest)") + out.count("(from ws)") == 3
    assert "fills in AccountState: 3, in the journal: 3 -> OK" in out and out.rstrip().endswith("done")
