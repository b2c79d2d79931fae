"""Suite-wide settings: hypothesis runs derandomized, so every run draws the same examples.

Set HYPOTHESIS_PROFILE=explore to search with fresh random inputs instead.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
