"""Credentials from the environment: API_SPOT_KEY / API_SPOT_SECRET (and API_FUTURES_*), optionally
from a .env file. The secret never shows in logs, reprs or tracebacks; a missing variable is named.
Key rotation without downtime: see docs/credentials.md (CredentialStore)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from _target import target

from krakenkit import Credentials, CredentialStore, MissingCredentialsError
from krakenkit.rest import SpotClient

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

with target() as t:
    if t.live:
        creds = Credentials.from_env("spot")  # the real environment
    else:
        # write the sandbox's key to a throwaway .env file, as a deployment would hold it
        env_file = Path(tempfile.mkdtemp()) / ".env"
        env_file.write_text(
            f"# krakenkit example\nexport API_SPOT_KEY={t.spot_key}\nAPI_SPOT_SECRET='{t.spot_secret}'\n"
        )
        os.environ.pop("API_SPOT_KEY", None)
        os.environ.pop("API_SPOT_SECRET", None)
        creds = Credentials.from_env("spot", env_file=env_file)
    logging.info("loaded %s", creds)  # key shortened, secret as ***
    assert creds.secret_value() not in repr(creds)
    with SpotClient(creds.api_key, creds.api_secret, environment=t.environment) as client:  # the Secret as it is
        print("balance assets:", sorted(client.get_account_balance().raw))
    store = CredentialStore(creds)
    print("store holds", store.current().masked_key)
    try:
        Credentials.from_env("futures", environ={})
    except MissingCredentialsError as exc:
        print("missing:", exc.message)
    print("OK env credentials")
