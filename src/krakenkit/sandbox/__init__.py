"""krakenkit.sandbox: a local Kraken-compatible exchange for tests and development.

    from krakenkit.sandbox import Sandbox

    with Sandbox(seed=1) as sb:
        key, secret = sb.create_key()
        ...  # point any client at sb.rest_url / sb.ws_urls / sb.environment
"""

from .app import Sandbox, describe, run_forever, serve
from .context import SandboxContext
from .faults import FaultInjector

__all__ = ["FaultInjector", "Sandbox", "SandboxContext", "describe", "run_forever", "serve"]
