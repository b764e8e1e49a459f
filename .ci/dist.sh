#!/usr/bin/env bash
# Build and check both distributions (`make dist`):
#   1. wheels and sdists of krakenkit (.) and krakenkit-sandbox (sandbox/) into a temporary folder;
#   2. `twine check --strict` on all four;
#   3. a fresh venv that installs the krakenkit wheel alone (no extras; its dependencies from the package
#      index): no aiohttp in it, `import krakenkit` and every client work, `krakenkit sandbox` says how to
#      install the sandbox; then the sandbox wheel on top: its CLI runs and it serves the SDK's clients.
#
# Usage: .ci/dist.sh [PYTHON]   (PYTHON: the interpreter with build and twine, default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."

py="${1:-.venv/bin/python}"
work="$(mktemp -d "${TMPDIR:-/tmp}/krakenkit-dist.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log() { printf '[dist] %s\n' "$*"; }

log "building into $work/dist"
# --no-isolation: the build backend (hatchling) comes from the dev extra, so this needs no download
"$py" -m build --no-isolation --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$py" -m build --no-isolation --outdir "$work/dist" sandbox >>"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ls -l "$work/dist"
"$py" -m twine check --strict "$work/dist"/*

sdk_wheel="$(ls "$work/dist"/krakenkit-*.whl)"
sandbox_wheel="$(ls "$work/dist"/krakenkit_sandbox-*.whl)"

log "fresh venv with the krakenkit wheel alone"
"$py" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
"$venv_py" -m pip install --quiet --disable-pip-version-check "$sdk_wheel"
"$venv_py" -m pip list --format=freeze --exclude pip --exclude setuptools --exclude krakenkit >"$work/installed.txt"
log "runtime packages of krakenkit alone: $(wc -l <"$work/installed.txt") ($(cut -d= -f1 "$work/installed.txt" | tr '\n' ' '))"
if grep -qi '^aiohttp=' "$work/installed.txt"; then
    log "FAIL: aiohttp is installed with krakenkit alone"; exit 1
fi
(cd "$work" && "$venv_py" - <<'EOF'
import sys
import warnings

import krakenkit
from krakenkit import (
    AsyncDerivativesClient, AsyncSpotClient, DerivativesClient, KrakenDeprecationWarning, SpotClient,
    WebsocketAPIClient, WebsocketClient,
)

warnings.simplefilter("ignore", KrakenDeprecationWarning)  # the Derivatives REST retirement notice

SpotClient().close()
DerivativesClient().close()
AsyncSpotClient()
AsyncDerivativesClient()
WebsocketClient()
WebsocketAPIClient("key", "c2VjcmV0")
assert "aiohttp" not in sys.modules
try:
    krakenkit.Sandbox
except ImportError as exc:
    assert "pip install krakenkit-sandbox" in str(exc), exc
else:
    raise AssertionError("krakenkit.Sandbox without the sandbox distribution")
print("[dist] krakenkit alone: import and clients OK, no aiohttp")
EOF
)
set +e
out="$("$work/venv/bin/krakenkit" sandbox --port 0 2>&1)"
rc=$?
set -e
if [[ $rc -ne 2 || "$out" != *"pip install krakenkit-sandbox"* ]]; then
    log "FAIL: 'krakenkit sandbox' without the sandbox: exit $rc, output: $out"; exit 1
fi
log "'krakenkit sandbox' without the sandbox exits 2 with the install hint"

log "adding the sandbox wheel"
"$venv_py" -m pip install --quiet --disable-pip-version-check "$sandbox_wheel"
"$work/venv/bin/krakenkit-sandbox" --help >/dev/null
(cd "$work" && "$venv_py" - <<'EOF'
from decimal import Decimal

from krakenkit import SpotClient
from krakenkit.sandbox import Sandbox

with Sandbox(seed=1, market=False) as sb:
    key, secret = sb.create_key(balances={"ZUSD": "42"})
    with SpotClient(key, secret, environment=sb.environment) as spot:
        assert spot.get_account_balance()["ZUSD"] == Decimal("42")
print("[dist] with krakenkit-sandbox: CLI present, the sandbox serves the SDK's clients")
EOF
)
log "OK"
