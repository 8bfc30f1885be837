"""Helpers to run the real service in tests and benchmarks (not used by the service itself)."""
