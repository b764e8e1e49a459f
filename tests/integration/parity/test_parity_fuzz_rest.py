"""Property: any bad input to any public REST order / amend / cancel method, of every client (Spot and
Derivatives, sync and async), raises ValidationError before the client's transport sees a single request.

Each example starts from a good call of the method (``GOOD`` of the layer's own fuzz suite) and breaks it one
way that is wrong whatever the rest says: a value wrong for its field's kind (named in the error), a
misspelled or unknown keyword, a required field left out, positional arguments, an ``extra_params`` entry
that would set a checked or reserved field, a float, or a malformed ``extra_params`` value.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_validation_fuzz import GOOD, SCALAR_KINDS, _bad_values

from krakenkit import (
    AsyncDerivativesClient,
    AsyncSpotClient,
    DerivativesClient,
    SpotClient,
    ValidationError,
)
from krakenkit._core.validation import ALWAYS_RESERVED, schema_for
from krakenkit._core.validation_ops import SCHEMA_ALIASES

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")

KEY = "parity-fuzz-key-0001"
SECRET = base64.b64encode(b"parity-fuzz-secret-" * 3).decode()
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CALL_OPTIONS = {"max_retries", "timeout", "call_timeout", "extra_params"}

#: (client class, method, schema): every public order / amend / cancel method of every REST client
METHODS = [
    (cls, alias.split(".", 1)[1], schema)
    for alias, schema in SCHEMA_ALIASES.items()
    for cls in (
        (SpotClient, AsyncSpotClient)
        if alias.startswith("spot_rest.")
        else (DerivativesClient, AsyncDerivativesClient)
        if alias.startswith("derivatives.")
        else ()
    )
]


def test_every_rest_order_method_of_every_client_is_covered() -> None:
    assert len(METHODS) == 2 * 8 + 2 * 6 and {m for _, m, _ in METHODS} >= {"submit_order", "cancel_all_orders_after"}
    for cls, method, schema in METHODS:
        assert callable(getattr(cls, method)), (cls, method)
        assert schema in GOOD


class Counting:
    """The client's transport: counts what reaches it and answers Kraken's refusal."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.startswith("/derivatives"):
            return httpx.Response(200, json={"result": "error", "error": "invalidArgument"})
        return httpx.Response(200, json={"error": ["EGeneral:Invalid arguments"]})


def _runner(cls: type[Any], transport: Counting) -> tuple[Any, Callable[[Any], Any], Callable[[], None]]:
    """The client, a function running one of its calls to the end, and the cleanup."""
    mock = httpx.MockTransport(transport)
    if cls in (AsyncSpotClient, AsyncDerivativesClient):
        loop = asyncio.new_event_loop()
        client = cls(KEY, SECRET, http_client=httpx.AsyncClient(transport=mock), max_retries=0)

        def run_async(call: Any) -> Any:
            return loop.run_until_complete(call) if asyncio.iscoroutine(call) else call

        return client, run_async, loop.close
    client = cls(KEY, SECRET, http_client=httpx.Client(transport=mock), max_retries=0)
    return client, lambda result: result, lambda: None


def _kwargs_for(method: str, schema: str) -> dict[str, Any]:
    good = {k: (list(v) if isinstance(v, list) else v) for k, v in GOOD[schema].items()}
    if method == "cancel_all_orders_after" and schema.startswith("derivatives"):
        good["call_timeout"] = 5  # Kraken's own `timeout` is the switch; the call's budget is call_timeout
    return good


Mutation = tuple[tuple[Any, ...], dict[str, Any], str]


def _mutation(schema_name: str, good: dict[str, Any], data: st.DataObject) -> Mutation:
    """(positional args, keyword args, the field the error must name or '' for any)."""
    schema = schema_for(schema_name)
    fields = {f.name: f for f in schema.fields}
    kind = data.draw(st.sampled_from(["value", "typo", "unknown", "drop", "positional", "extra", "extra_value"]))
    kwargs = dict(good)
    scalar = [n for n in good if n in fields and fields[n].kind in SCALAR_KINDS]
    if kind == "value" and scalar:
        name = data.draw(st.sampled_from(sorted(scalar)))
        value = data.draw(_bad_values(fields[name], good[name]))
        assume(value is not None)
        kwargs[name] = value
        return (), kwargs, name
    if kind in ("typo", "unknown") and fields:
        if kind == "typo":
            real = data.draw(st.sampled_from(sorted(fields)))
            typo = real + data.draw(st.sampled_from(["_", "x", "s", "2"]))
        else:
            typo = data.draw(st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True))
        assume(typo not in fields and typo not in CALL_OPTIONS and typo not in schema.reserved)
        assume(all(f.wire_name != typo for f in schema.fields))
        kwargs[typo] = data.draw(st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.just("1")))
        return (), kwargs, typo
    required = [n for n in good if n in fields and fields[n].required]
    if kind == "drop" and required:
        name = data.draw(st.sampled_from(sorted(required)))
        kwargs.pop(name)
        return (), kwargs, name
    if kind == "positional":
        return (data.draw(st.sampled_from(sorted(good) or ["x"])),), kwargs, ""
    if kind == "extra" and fields:
        names = {*fields, *(f.wire_name for f in schema.fields), *ALWAYS_RESERVED, *schema.reserved}
        name = data.draw(st.sampled_from(sorted(names)))
        kwargs["extra_params"] = {name: "1"}
        return (), kwargs, name
    kwargs["extra_params"] = {
        "newfield": data.draw(st.one_of(st.floats(), st.sampled_from(["a\nb", "\x00", "x" * 1001]), st.just([1])))
    }
    return (), kwargs, "newfield"


@pytest.mark.parametrize(("cls", "method", "schema"), METHODS, ids=[f"{c.__name__}.{m}" for c, m, _ in METHODS])
@EXAMPLES
@given(data=st.data())
def test_any_bad_input_is_refused_before_the_transport_sees_a_byte(
    cls: type[Any], method: str, schema: str, data: st.DataObject
) -> None:
    transport = Counting()
    client, run, done = _runner(cls, transport)
    try:
        args, kwargs, field = _mutation(schema, _kwargs_for(method, schema), data)
        with pytest.raises(ValidationError) as info:
            run(getattr(client, method)(*args, **kwargs))
        if field:
            assert info.value.field is not None and info.value.field.startswith(field), (field, str(info.value))
        assert transport.requests == []
    finally:
        done()


@pytest.mark.parametrize(("cls", "method", "schema"), METHODS, ids=[f"{c.__name__}.{m}" for c, m, _ in METHODS])
def test_the_good_base_of_every_method_is_sent(cls: type[Any], method: str, schema: str) -> None:
    """The mutations start from calls that do go out (so every refusal above is the mutation's doing)."""
    transport = Counting()
    client, run, done = _runner(cls, transport)
    try:
        with pytest.raises(Exception) as info:  # Kraken's refusal from the counting transport
            run(getattr(client, method)(**_kwargs_for(method, schema)))
        assert not isinstance(info.value, ValidationError), info.value
        assert len(transport.requests) >= 1
    finally:
        done()
