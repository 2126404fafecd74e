"""Fixtures of the web pages' tests; the helpers are in webworld.py (importable by name)."""

from __future__ import annotations

import pytest
from webworld import Web, build_web


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    return build_web(tmp_path_factory.mktemp("web") / "data")
