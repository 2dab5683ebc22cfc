import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from monitor.dev.localserver import LocalServer  # noqa: E402


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv
