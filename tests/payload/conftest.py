"""Fixtures shared with tests/qr: see helpers.py."""

from tests.payload.helpers import best, breb  # noqa: F401
