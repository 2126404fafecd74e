"""Fixtures of the web pages' tests; the helpers are in webworld.py (importable by name)."""

from __future__ import annotations

import pytest
from webworld import Web, build_web


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    return build_web(tmp_path_factory.mktemp("web") / "data")


@pytest.fixture(scope="session")
def site():
    """One ``fieldsync serve`` on the demo data for every browser test of the session."""
    from browser import Site
    from servers import fieldsync_demo_server

    with fieldsync_demo_server() as peer:
        yield Site(f"http://127.0.0.1:{peer.port}", peer)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium (``make install`` puts it there), one process for the session."""
    from browser import CHROMIUM
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make install` installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screens(tmp_path_factory):
    from browser import Screens

    return Screens(tmp_path_factory.mktemp("screenshots"))
