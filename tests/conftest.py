import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from monitor.dev.localserver import LocalServer  # noqa: E402


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


def pytest_addoption(parser):
    parser.addoption("--browser", action="store_true",
                     help="also run the tests marked `browser` (need Debian's chromium: apt-get install chromium)")


def pytest_collection_modifyitems(config, items):
    """`browser` tests need a system Chromium: deselected (listed as such, never skipped) unless --browser; .ci/run
    installs Chromium and runs them."""
    if config.getoption("--browser"):
        return
    kept = [item for item in items if "browser" not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if "browser" in item.keywords])
        items[:] = kept
