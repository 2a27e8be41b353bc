import os

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own runs root; the dataset cache is shared per session so
    generated data (mnist1d) is built once."""
    monkeypatch.setenv("TUIDL_RUNS", str(tmp_path / "runs"))
    # checkpoint at every epoch end, so tests that count writes don't depend on timing
    monkeypatch.setenv("TUIDL_CHECKPOINT_INTERVAL", "0")
    monkeypatch.setenv("TUIDL_DATA", os.environ.get("TUIDL_TEST_DATA", str(_data_dir())))
    yield


_DATA = None


def _data_dir():
    global _DATA
    if _DATA is None:
        import tempfile

        _DATA = tempfile.mkdtemp(prefix="tuidl-test-data-")
    return _DATA
