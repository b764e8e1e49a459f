"""Derivatives REST authentication against the sandbox, signed by the tests' own tiny signer."""

from __future__ import annotations

from urllib.parse import quote, unquote_plus, urlencode

import httpx
from sbfut_helpers import Venue, authent

D = "/derivatives/api/v3"


def _flip(sig: str) -> str:
    ch = "A" if sig[5] != "A" else "B"
    return sig[:5] + ch + sig[6:]


async def test_get_and_post_accepted(venue: Venue) -> None:
    c = await venue.client()
    try:
        r = await c.get(D + "/accounts")
        assert r.json()["result"] == "success"
        r = await c.get(D + "/openorders")
        assert r.json()["result"] == "success"
        r = await c.post(
            D + "/sendorder",
            {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "0.001", "limitPrice": "1000"},
        )
        assert r.json()["sendStatus"]["status"] == "placed"
    finally:
        await c.aclose()


async def test_one_char_change_rejected_get_and_post(venue: Venue) -> None:
    c = await venue.client()
    try:
        qs = "symbol=PF_XBTUSD"
        h = c.headers("", D + "/openorders")
        h["Authent"] = _flip(h["Authent"])
        r = await c.http.get(D + "/openorders", headers=h)
        assert r.status_code == 200
        assert r.json() == {"result": "error", "error": "authenticationError", "serverTime": r.json()["serverTime"]}
        # signature over other data than what is sent
        body = "orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.001&limitPrice=1000"
        h = c.headers(body.replace("1000", "1001"), D + "/sendorder")
        h["Content-Type"] = "application/x-www-form-urlencoded"
        r = await c.http.post(D + "/sendorder", content=body.encode(), headers=h)
        assert r.json()["error"] == "authenticationError"
        # correct signature, one char of the query changed in transit
        h = c.headers(qs, D + "/leveragepreferences")
        r = await c.http.put(D + "/leveragepreferences?symbol=PF_ETHUSD", headers=h)
        assert r.json()["error"] == "authenticationError"
        # unknown key
        h = c.headers("", D + "/accounts")
        h["APIKey"] = "nope"
        r = await c.http.get(D + "/accounts", headers=h)
        assert r.json()["error"] == "authenticationError"
        assert venue.exchange.orders(c.key) == []
    finally:
        await c.aclose()


async def test_derivatives_prefix_is_stripped_and_history_signs_full_path(venue: Venue) -> None:
    c = await venue.client()
    try:
        n = c.nonce()
        # /derivatives/api/v3/accounts signs /api/v3/accounts
        good = {"APIKey": c.key, "Nonce": n, "Authent": authent(c.secret, "", n, "/api/v3/accounts")}
        r = await c.http.get(D + "/accounts", headers=good)
        assert r.json()["result"] == "success"
        n = c.nonce()
        full = {"APIKey": c.key, "Nonce": n, "Authent": authent(c.secret, "", n, D + "/accounts")}
        r = await c.http.get(D + "/accounts", headers=full)
        assert r.json()["error"] == "authenticationError"
        # /api/history/... signs its full path
        n = c.nonce()
        h = {"APIKey": c.key, "Nonce": n, "Authent": authent(c.secret, "", n, "/api/history/v3/account-log")}
        r = await c.http.get("/api/history/v3/account-log", headers=h)
        assert r.status_code == 200 and "logs" in r.json()
        n = c.nonce()
        h = {"APIKey": c.key, "Nonce": n, "Authent": authent(c.secret, "", n, "/history/v3/account-log")}
        r = await c.http.get("/api/history/v3/account-log", headers=h)
        assert r.status_code == 401
        # /api/auth/... also signs its full path; failure is a 401 with error/message/suberror
        r = await c.get("/api/auth/v1/api-keys/v3/check")
        assert r.status_code == 200 and r.json()["apiKey"] == c.key
        h = c.headers("", "/api/auth/v1/api-keys/v3/check")
        h["Authent"] = _flip(h["Authent"])
        r = await c.http.get("/api/auth/v1/api-keys/v3/check", headers=h)
        assert r.status_code == 401 and set(r.json()) == {"error", "message", "suberror"}
    finally:
        await c.aclose()


async def test_body_with_url_encoded_characters(venue: Venue) -> None:
    c = await venue.client()
    try:
        cli = "my order #1 & 50% off/é=?+"
        body = urlencode(
            {
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": "0.001",
                "limitPrice": "1000",
                "cliOrdId": cli,
            }
        )
        assert "%20" in body or "+" in body
        r = await c.post(
            D + "/sendorder",
            {
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": "0.001",
                "limitPrice": "1000",
                "cliOrdId": cli,
            },
        )
        status = r.json()["sendStatus"]
        assert status["status"] == "placed"
        assert status["orderEvents"][0]["order"]["cliOrdId"] == cli
        # the decoded text is not what is signed: hashing the unencoded body must fail
        assert unquote_plus(body) != body
        h = c.headers(unquote_plus(body), D + "/sendorder")
        h["Content-Type"] = "application/x-www-form-urlencoded"
        r = await c.http.post(D + "/sendorder", content=body.encode(), headers=h)
        assert r.json()["error"] == "authenticationError"
        # GET with an encoded query: the raw query string is what is signed
        qs = "cliOrdIds=" + quote("a b/c", safe="")
        h = c.headers(qs, D + "/fills")
        r = await c.http.get(D + "/fills?" + qs, headers=h)
        assert r.json()["result"] == "success"
    finally:
        await c.aclose()


async def test_nonce_rules(venue: Venue) -> None:
    c = await venue.client()
    try:
        h = c.headers("", D + "/accounts", nonce="1000")
        assert (await c.http.get(D + "/accounts", headers=h)).json()["result"] == "success"
        h = c.headers("", D + "/accounts", nonce="1000")
        assert (await c.http.get(D + "/accounts", headers=h)).json()["error"] == "nonceDuplicate"
        h = c.headers("", D + "/accounts", nonce="999")
        assert (await c.http.get(D + "/accounts", headers=h)).json()["error"] == "nonceBelowThreshold"
        h = c.headers("", D + "/accounts", nonce="1001")
        assert (await c.http.get(D + "/accounts", headers=h)).json()["result"] == "success"
        # without a Nonce header the nonce is the empty string
        h = c.headers("", D + "/accounts", nonce="")
        assert "Nonce" not in h
        assert (await c.http.get(D + "/accounts", headers=h)).json()["result"] == "success"
    finally:
        await c.aclose()


async def test_public_endpoints_need_no_key(venue: Venue) -> None:
    async with httpx.AsyncClient(base_url=venue.base) as http:
        r = await http.get(D + "/instruments")
        assert r.json()["result"] == "success"
        r = await http.get(D + "/accounts")
        assert r.json()["error"] == "authenticationError"
