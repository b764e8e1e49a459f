"""pytest plugin: the ``kraken_sandbox`` fixture (placeholder until the sandbox lands)."""
