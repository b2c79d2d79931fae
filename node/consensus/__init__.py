"""Proof-of-authority consensus between replicas of the embedded chain (L5 + L6)."""
