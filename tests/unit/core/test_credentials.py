"""Credentials from env / .env, secrets never shown, rotation."""

from __future__ import annotations

import logging
import pickle
import traceback
from pathlib import Path

import pytest

from krakenkit import MissingCredentialsError
from krakenkit._core.credentials import Credentials, CredentialStore, parse_env_file, parse_env_text
from krakenkit._core.secrets import Secret

SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="


def test_parse_env_text_forms() -> None:
    text = """
# a comment
API_SPOT_KEY=plainkey
export API_SPOT_SECRET="quoted # not a comment"
SINGLE='lit\\n eral'
DOUBLE="a\\nb \\"q\\""
INLINE=value # trailing comment
HASHED=abc#def
EMPTY=
  SPACED  =  spaced value
MULTI="line1
line2"
not a line
"""
    env = parse_env_text(text)
    assert env["API_SPOT_KEY"] == "plainkey"
    assert env["API_SPOT_SECRET"] == "quoted # not a comment"
    assert env["SINGLE"] == "lit\\n eral"
    assert env["DOUBLE"] == 'a\nb "q"'
    assert env["INLINE"] == "value"
    assert env["HASHED"] == "abc#def"
    assert env["EMPTY"] == ""
    assert env["SPACED"] == "spaced value"
    assert env["MULTI"] == "line1\nline2"
    assert "not" not in env


def test_missing_env_file_is_empty(tmp_path: Path) -> None:
    assert parse_env_file(tmp_path / "nope.env") == {}


def test_from_env_spot_and_futures() -> None:
    env = {
        "API_SPOT_KEY": "spotkey123456",
        "API_SPOT_SECRET": SECRET,
        "API_FUTURES_KEY": "futkey123456",
        "API_FUTURES_SECRET": "c2VjcmV0",
    }
    spot = Credentials.from_env("spot", environ=env)
    fut = Credentials.from_env("futures", environ=env)
    assert (spot.api_key, spot.secret_value(), spot.product) == ("spotkey123456", SECRET, "spot")
    assert (fut.api_key, fut.secret_value(), fut.product) == ("futkey123456", "c2VjcmV0", "futures")
    assert Credentials.from_env("derivatives", environ=env).product == "futures"
    with pytest.raises(ValueError, match="product"):
        Credentials.from_env("options", environ=env)


def test_from_env_file_and_precedence(tmp_path: Path) -> None:
    f = tmp_path / ".env"
    f.write_text(f"export API_SPOT_KEY=filekey000000\nAPI_SPOT_SECRET='{SECRET}'\n")
    c = Credentials.from_env("spot", env_file=f, environ={})
    assert c.api_key == "filekey000000" and c.secret_value() == SECRET
    assert str(f) in c.source
    # the process environment wins over the file
    c2 = Credentials.from_env("spot", env_file=f, environ={"API_SPOT_KEY": "envkey0000000"})
    assert c2.api_key == "envkey0000000" and c2.secret_value() == SECRET


def test_missing_variables_are_named(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentialsError, match="API_SPOT_KEY and API_SPOT_SECRET are not set"):
        Credentials.from_env("spot", environ={})
    with pytest.raises(MissingCredentialsError, match=r"^API_FUTURES_SECRET is not set") as info:
        Credentials.from_env("futures", environ={"API_FUTURES_KEY": "k"})
    assert info.value.field == "API_FUTURES_SECRET"
    with pytest.raises(MissingCredentialsError, match=r"\.env"):
        Credentials.from_env("spot", env_file=tmp_path / ".env", environ={"API_SPOT_KEY": "k"})
    assert Credentials.maybe_from_env("spot", environ={}) is None


def test_secret_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    c = Credentials.from_env("spot", environ={"API_SPOT_KEY": "AKEYWITHLENGTH42", "API_SPOT_SECRET": SECRET})
    for text in (repr(c), str(c), f"{c}", f"{c!r}", repr(c.api_secret), str([c]), repr({"c": c})):
        assert SECRET not in text
        assert "AKEYWITHLENGTH42" not in text
    assert "AKEY…TH42" in repr(c)
    with caplog.at_level(logging.INFO):
        logging.getLogger("krakenkit.test").info("using %s / %r", c, c)
    assert SECRET not in caplog.text
    try:
        raise RuntimeError(f"failed with {c}")
    except RuntimeError:
        tb = traceback.format_exc()
    assert SECRET not in tb
    with pytest.raises(TypeError):
        pickle.dumps(c)


def test_empty_values_refused() -> None:
    with pytest.raises(MissingCredentialsError):
        Credentials("", Secret("x"))
    with pytest.raises(MissingCredentialsError):
        Credentials("key", Secret(""))
    # a plain str secret is wrapped
    c = Credentials("key", "plain")  # type: ignore[arg-type]
    assert isinstance(c.api_secret, Secret) and c.secret_value() == "plain"


def test_rotation_swaps_atomically_and_notifies(tmp_path: Path) -> None:
    old = Credentials("oldkey-000000", Secret("b2xk"))
    store = CredentialStore(old)
    seen: list[tuple[str, str]] = []
    store.on_rotate(lambda a, b: seen.append((a.api_key, b.api_key)))
    new = Credentials("newkey-000000", Secret("bmV3"))
    assert store.rotate(new) is old
    assert store.current() is new and store.previous is old
    assert seen == [("oldkey-000000", "newkey-000000")]
    with pytest.raises(ValueError, match="futures"):
        store.rotate(Credentials("f", Secret("x"), "futures"))
    # reload from .env: unchanged -> no swap; changed -> swap
    f = tmp_path / ".env"
    f.write_text("API_SPOT_KEY=newkey-000000\nAPI_SPOT_SECRET=bmV3\n")
    assert store.reload_from_env(f, environ={}) is False
    f.write_text("API_SPOT_KEY=third-0000000\nAPI_SPOT_SECRET=dGhpcmQ=\n")
    assert store.reload_from_env(f, environ={}) is True
    assert store.current().api_key == "third-0000000"
    assert "dGhpcmQ=" not in repr(store)
