"""The generated Derivatives methods are current with the endpoint table."""

from __future__ import annotations

import inspect

from krakenkit.rest import derivatives_codegen
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.rest.derivatives_endpoints import DERIV_ENDPOINTS


def test_generated_file_is_current() -> None:
    current = derivatives_codegen.TARGET.read_text()
    assert current == derivatives_codegen.render(), (
        "derivatives_methods.py is stale: run .venv/bin/python -m krakenkit.rest.derivatives_codegen")


def test_sync_and_async_signatures_agree() -> None:
    for name, ep in DERIV_ENDPOINTS.items():
        sync_sig = inspect.signature(getattr(DerivativesClient, name))
        async_fn = getattr(AsyncDerivativesClient, name)
        assert inspect.iscoroutinefunction(async_fn)
        assert not inspect.iscoroutinefunction(getattr(DerivativesClient, name))
        assert sync_sig == inspect.signature(async_fn)
        wire = {p.name for p in ep.params}
        assert wire <= set(sync_sig.parameters)
        required = {n for n, p in sync_sig.parameters.items() if p.default is inspect.Parameter.empty} - {"self"}
        assert required == {p.name for p in ep.params if p.required}
