"""Pure parts of the Futures sandbox: signature rules, token buckets, the matching engine."""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal

from krakenkit_sandbox.futures.auth import endpoint_path, sign_challenge, verify_authent, verify_challenge
from krakenkit_sandbox.futures.engine import Engine, OrderRequest
from krakenkit_sandbox.futures.ratelimit import TokenBucket, derivatives_cost, history_cost

# official "Sign challenge" example (docs.kraken.com/api/docs/guides/futures-websockets)
CHALLENGE = "c100b894-1729-464d-ace1-52dbce11db42"
SECRET = "7zxMEF5p/Z8l2p2U7Ghv6x14Af+Fx+92tPgUdVQ748FOIrEoT9bgT+bTRfXc5pz8na+hL/QdrCVG7bh9KpT0eMTm"
SIGNED = "4JEpF3ix66GA2B+ooK128Ift4XQVtc137N9yeg4Kqsn9PI0Kpzbysl9M1IeCEdjg0zl00wkVqcsnG4bmnlMb3A=="


def _independent_authent(secret: str, post_data: str, nonce: str, path: str) -> str:
    digest = hashlib.sha256((post_data + nonce + path).encode()).digest()
    return base64.b64encode(hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()).decode()


def test_challenge_vector() -> None:
    assert sign_challenge(SECRET, CHALLENGE) == SIGNED
    assert verify_challenge(SECRET, CHALLENGE, SIGNED)
    assert not verify_challenge(SECRET, CHALLENGE, SIGNED.replace("4", "5", 1))


def test_endpoint_path_rules() -> None:
    assert endpoint_path("/derivatives/api/v3/sendorder") == "/api/v3/sendorder"
    assert endpoint_path("/api/history/v3/orders") == "/api/history/v3/orders"
    assert endpoint_path("/api/charts/v1/trade/PF_XBTUSD/1h") == "/api/charts/v1/trade/PF_XBTUSD/1h"


def test_verify_authent() -> None:
    data = "orderType=lmt&cliOrdId=a%20b"
    sig = _independent_authent(SECRET, data, "42", "/api/v3/sendorder")
    assert verify_authent(SECRET, sig, [data], "42", "/api/v3/sendorder")
    assert not verify_authent(SECRET, sig, ["orderType=lmt&cliOrdId=a b"], "42", "/api/v3/sendorder")
    assert not verify_authent(SECRET, sig, [data], "43", "/api/v3/sendorder")
    assert not verify_authent(SECRET, sig, [data], "42", "/derivatives/api/v3/sendorder")


def test_token_bucket_refill() -> None:
    b = TokenBucket(500, 50, 500, 0.0)
    assert all(b.try_take(10, 0.0) for _ in range(50))
    assert not b.try_take(10, 0.0)
    assert b.seconds_until(10, 0.0) == 0.2
    assert b.try_take(10, 0.2)
    assert derivatives_cost("batchorder", {}, 3) == 12
    assert derivatives_cost("fills", {"lastFillTime": ["x"]}) == 25
    assert derivatives_cost("fills", {}) == 2
    assert derivatives_cost("openorders", {}) == 2
    assert derivatives_cost("sendorder", {}) == 10
    assert history_cost("orders") == 1


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


def test_engine_is_deterministic_per_seed() -> None:
    a = Engine(3, Clock())
    b = Engine(3, Clock())
    c = Engine(4, Clock())
    assert a.markets["PF_XBTUSD"].levels("buy") == b.markets["PF_XBTUSD"].levels("buy")
    assert a.markets["PF_XBTUSD"].levels("buy") != c.markets["PF_XBTUSD"].levels("buy")
    for e in (a, b):
        e.tick()
    assert a.markets["PF_XBTUSD"].mark == b.markets["PF_XBTUSD"].mark


def test_engine_fill_updates_position_and_balance() -> None:
    e = Engine(1, Clock())
    key, _ = e.create_account({"USD": "10000"})
    st = e.markets["PF_ETHUSD"]
    ask = st.best("sell")
    assert ask is not None
    ask_qty = st.level_qty("sell", ask)
    res = e.place_order(key, OrderRequest("ioc", "PF_ETHUSD", "buy", Decimal("0.1"), limit_price=ask))
    assert res["status"] == "placed"
    acct = e.accounts[key]
    pos = acct.positions["PF_ETHUSD"]
    assert pos.size == Decimal("0.1") and pos.entry == ask
    fee = (Decimal("0.1") * ask * Decimal("0.0005")).quantize(Decimal("0.00000001"))
    assert acct.balances["USD"] == Decimal(10000) - fee
    assert st.level_qty("sell", ask) == ask_qty - Decimal("0.1")
    # closing at a higher price realises the profit
    e.set_mark(symbol="PF_ETHUSD", mark=ask + 100)
    bid = st.best("buy")
    assert bid is not None
    e.place_order(key, OrderRequest("mkt", "PF_ETHUSD", "sell", Decimal("0.1")))
    assert acct.positions["PF_ETHUSD"].size == 0
    assert len(acct.fills) == 2
