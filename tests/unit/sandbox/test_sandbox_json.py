"""The sandbox's own JSON encoder (it does not use the SDK's): Decimal as a JSON number, plain notation."""

from __future__ import annotations

import json
from decimal import Decimal

from krakenkit_sandbox._json import dumps


def test_decimals_are_plain_json_numbers_with_their_exact_digits() -> None:
    out = dumps({"a": Decimal("1E-8"), "b": [Decimal("0.10"), Decimal("-2.5E-7")], "c": Decimal("12345.678")})
    assert out == b'{"a":0.00000001,"b":[0.10,-0.00000025],"c":12345.678}'
    assert json.loads(out, parse_float=Decimal)["a"] == Decimal("0.00000001")


def test_everything_else_is_ordinary_json() -> None:
    assert dumps({"s": "x", "i": 3, "f": 1.5, "n": None, "t": True, "l": (1, 2)}) == (
        b'{"s":"x","i":3,"f":1.5,"n":null,"t":true,"l":[1,2]}'
    )


def test_huge_exponents_are_left_to_msgspec() -> None:
    assert dumps([Decimal("1E+200"), Decimal(7)]) == b"[1E+200,7]"
