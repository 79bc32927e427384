"""Physician queries: compliance rules and metrics."""
