"""The gridledger node: ledger access, operator, prosumer agents, regulation, HTTP, CLI.

Layers L1 (user), L3 (system operator), L5 (ledger), L6 (communication) and L7 (regulation)
of the seven-layer transactive-energy model.
"""

import os as _os

# Keccak through safe-pysha3 (a declared dependency): ~7x faster per hash than eth-hash's
# default pycryptodome backend, and py-evm hashes a lot per block. Set before any hashing.
_os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
