"""pytest plugin (entry point ``pytest11``): the ``fake_bedrock`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fastconverse.testing import FakeBedrock


@pytest.fixture
def fake_bedrock() -> Iterator[FakeBedrock]:
    """A running FakeBedrock on a free port, closed after the test."""
    with FakeBedrock() as fake:
        yield fake
