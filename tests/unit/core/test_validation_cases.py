"""Runs the table of user mistakes (``validation_cases.py``) through the validation layer."""

from __future__ import annotations

import pytest
from validation_cases import CASES, Case, cases_for, mistakes

from krakenkit._core.errors import KrakenError, ValidationError
from krakenkit._core.validation import validate


def _run(case: Case) -> object:
    return validate(case.operation, case.params, extra_params=case.extra_params)


@pytest.mark.parametrize("case", [c for c in CASES if not c.ok], ids=str)
def test_mistake_is_refused_naming_field_and_fix(case: Case) -> None:
    with pytest.raises(ValidationError) as info:
        _run(case)
    err = info.value
    assert isinstance(err, case.error), f"{type(err).__name__} is not {case.error.__name__}"
    assert isinstance(err, KrakenError)
    assert case.fragment in str(err), f"{case.fragment!r} not in {str(err)!r}"
    if case.field is not None:
        assert err.field == case.field, f"field {err.field!r}, expected {case.field!r}: {err}"


@pytest.mark.parametrize("case", [c for c in CASES if c.ok], ids=str)
def test_good_input_passes_with_exact_wire(case: Case) -> None:
    wire = _run(case)
    if case.wire is not None:
        assert wire == case.wire
        # exact types too: Decimal stays Decimal (WS), text stays text (REST)
        assert repr(wire) == repr(dict(case.wire))


def test_table_covers_every_api_and_the_issue_mistakes() -> None:
    assert len([c for c in CASES if not c.ok]) >= 99
    for api in ("spot_rest", "spot_ws", "derivatives"):
        assert len(cases_for(api)) >= 20, api
    groups = mistakes()
    # the mistakes the issue names, each refused on all three APIs
    for name in (
        "typo_post_only",
        "zero_quantity",
        "none_price_on_limit",
        "type_upper_case",
        "type_other_api_spelling",
        "side_long",
        "symbol_lower_case",
        "symbol_trailing_newline",
        "client_id_trailing_newline",
        "float_quantity",
        "huge_exponent",
    ):
        assert {c.operation.split(".")[0] for c in groups[name]} == {"spot_rest", "spot_ws", "derivatives"}, name
        assert not any(c.ok for c in groups[name])
