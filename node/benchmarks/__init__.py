"""Benchmarks behind `gridledger bench ...` (figures recorded in BENCHMARKS.md)."""
