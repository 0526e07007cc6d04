"""Profile fixtures from tests/payload/helpers.py."""

from tests.payload.helpers import best, breb  # noqa: F401
