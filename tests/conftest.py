"""Suite-wide settings: hypothesis runs derandomized, so every run draws the same examples.

Set HYPOTHESIS_PROFILE=explore to search with fresh random inputs instead.

Key files are encrypted with scrypt n = 2^12 instead of 2^18 (node.keys.kdf's test-only
switch, inherited by the node processes tests start): ~1 s less per key.
"""

from __future__ import annotations

import os

from hypothesis import settings

from gridledger.node.keys.kdf import LIGHT_KDF_ENV

os.environ.setdefault(LIGHT_KDF_ENV, "1")

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
