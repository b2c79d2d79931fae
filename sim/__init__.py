"""The L2 physical side: microgrid physics, signing meters, scenarios, the federation bus."""

import os as _os

# Keccak through safe-pysha3 (a declared dependency): ~7x faster per hash than eth-hash's
# default pycryptodome backend, and py-evm hashes a lot per block. Set before any hashing.
_os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
