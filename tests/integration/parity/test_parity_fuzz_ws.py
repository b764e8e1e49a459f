"""Property: any bad input to any public WebSocket order / amend / cancel method of ``WebsocketAPIClient``
raises ValidationError before anything exists that could send: no connection, no token fetch, no waiter.

The same mutations as the REST property (``test_parity_fuzz_rest``), on the WebSocket schemas of the layer.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_parity_fuzz_rest import EXAMPLES, KEY, SECRET, _mutation
from test_validation_fuzz import GOOD

from krakenkit import ValidationError, WebsocketAPIClient
from krakenkit._core.validation_ops import SCHEMA_ALIASES

#: (method, schema): every public order / amend / cancel method of the WebSocket trading client, but
#: cancel_all_spot_orders_after, whose switch is ``timeout_seconds=`` (the schema's ``timeout``; the method's own
#: ``timeout=`` is the call's reply timeout), so the schema-driven mutations do not apply to it as named; its
#: refusals are covered one by one in tests/unit/ws/test_ws_secrets_and_input.py
WS_METHODS = [
    (alias.split(".", 1)[1], schema)
    for alias, schema in SCHEMA_ALIASES.items()
    if alias.startswith("spot_ws.") and alias != "spot_ws.cancel_all_spot_orders_after"
]


def test_every_ws_order_method_is_covered() -> None:
    assert len(WS_METHODS) == 7
    for method, schema in WS_METHODS:
        assert callable(getattr(WebsocketAPIClient, method)), method
        assert schema in GOOD


@pytest.mark.parametrize(("method", "schema"), WS_METHODS, ids=[m for m, _ in WS_METHODS])
@EXAMPLES
@given(data=st.data())
def test_any_bad_ws_input_is_refused_before_anything_can_send(method: str, schema: str, data: st.DataObject) -> None:
    api = WebsocketAPIClient(KEY, SECRET)
    args, kwargs, field = _mutation(
        schema, {k: (list(v) if isinstance(v, list) else v) for k, v in GOOD[schema].items()}, data
    )
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValidationError) as info:
            loop.run_until_complete(getattr(api, method)(*args, **kwargs))
        if field:
            assert info.value.field is not None and info.value.field.startswith(field), (field, str(info.value))
        assert api.ws._connections == {}  # no connection was even opened
    finally:
        loop.close()
