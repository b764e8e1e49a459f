"""Pure core of krakenkit: no I/O. Signing, nonces, errors, ids, symbols, decimals, limits."""
