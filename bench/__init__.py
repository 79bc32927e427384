"""Benchmarks: run by hand (`python -m bench.intake`), not part of the test suite."""
