"""Chaos fixtures: restartable fake providers, and the real-server fixture of the web
tests (``serve``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.harness import FakesFactory
from tests.web.conftest import serve  # noqa: F401 - a fixture, used by name


@pytest.fixture
def fakes() -> Iterator[FakesFactory]:
    """``fakes()``: a fake SSL Wireless and a fake Graph API that can go down and back."""
    factory = FakesFactory()
    yield factory
    factory.close()
