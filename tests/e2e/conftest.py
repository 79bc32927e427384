"""The `up` process fixtures of test_up.py, for every end-to-end module."""

from tests.e2e.test_up import database_url, http, up

__all__ = ["database_url", "http", "up"]
