"""How many of the table's mistakes (``tests/unit/core/validation_cases.py``) each REST client refuses
locally, and how many reach the transport. A measurement, not a test (the parity tests assert zero)::

    .venv/bin/python tests/integration/parity/refusal_counts.py            # this tree
    PYTHONPATH=<other tree>/src .venv/bin/python tests/integration/parity/refusal_counts.py

Every bad row of the Spot REST and Derivatives tables runs through its client method (``SCHEMA_ALIASES``
names it) on an ``httpx.MockTransport`` that answers with Kraken's own refusal, so a row that is sent costs
one request and nothing more. Rows whose params are not keyword arguments (``params_not_a_dict``...) are
left out: they fail in the caller's own ``**`` before any library code runs.
"""

from __future__ import annotations

import base64
import json
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "core"))

from validation_cases import CASES, Case

from krakenkit._core.errors import KrakenError, ValidationError
from krakenkit._core.validation_ops import SCHEMA_ALIASES

SECRET = base64.b64encode(b"refusal-counts-secret-" * 3).decode()
REFUSALS = {
    "spot_rest": {"error": ["EGeneral:Invalid arguments"]},
    "derivatives": {"result": "error", "error": "invalidArgument"},
}


def method_names() -> dict[str, str]:
    """Schema name -> client method name."""
    return {schema: alias.split(".", 1)[1] for alias, schema in SCHEMA_ALIASES.items()}


def _client(api: str, sent: list[httpx.Request]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=REFUSALS[api])

    http = httpx.Client(transport=httpx.MockTransport(answer))
    if api == "spot_rest":
        from krakenkit.rest.spot import SpotClient

        return SpotClient("refusalcountskey", SECRET, http_client=http, max_retries=0)
    from krakenkit.rest.derivatives import DerivativesClient

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DerivativesClient("refusalcountskey", SECRET, http_client=http, max_retries=0)


def keyword_call(case: Case) -> bool:
    return isinstance(case.params, dict) and all(isinstance(k, str) for k in case.params)


def run(case: Case) -> str:
    """``refused:<type>`` (nothing sent) or ``sent``."""
    api = case.operation.split(".", 1)[0]
    sent: list[httpx.Request] = []
    client = _client(api, sent)
    method = getattr(client, method_names()[case.operation])
    kwargs: dict[str, Any] = dict(case.params)
    if case.extra_params is not None:
        kwargs["extra_params"] = dict(case.extra_params)
    try:
        method(**kwargs)
    except KrakenError as exc:
        outcome = f"refused:{'ValidationError' if isinstance(exc, ValidationError) else type(exc).__name__}"
    except Exception as exc:  # a raw exception from inside the library
        outcome = f"refused:raw {type(exc).__name__}"
    else:
        outcome = "accepted"
    finally:
        client.close()
    return "sent" if sent else outcome


def main() -> int:
    rows = [c for c in CASES if not c.ok and c.operation.split(".", 1)[0] in REFUSALS]
    skipped = [c.id for c in rows if not keyword_call(c)]
    report: dict[str, Any] = {"skipped (not keyword arguments)": skipped}
    for api in REFUSALS:
        mine = [c for c in rows if c.operation.startswith(api + ".") and keyword_call(c)]
        outcomes = {c.id: run(c) for c in mine}
        tally = Counter(outcomes.values())
        report[api] = {
            "bad rows": len(mine),
            "refused locally": sum(n for k, n in tally.items() if k.startswith("refused")),
            "sent": tally.get("sent", 0),
            "by outcome": dict(sorted(tally.items())),
            "sent rows": sorted(k for k, v in outcomes.items() if v == "sent"),
        }
    import krakenkit

    report["krakenkit"] = str(Path(krakenkit.__file__).parent)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
