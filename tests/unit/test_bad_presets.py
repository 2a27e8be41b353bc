"""The corpus of malformed presets (tests/fixtures/bad_presets): each one is rejected
with exit code 2, a message naming the file and the key, and no traceback."""

from pathlib import Path

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from helpers import FIXTURES

CORPUS = sorted((FIXTURES / "bad_presets").glob("*.toml"))


def expectation(path: Path) -> tuple[str, str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    key, _, fragment = first.removeprefix("# expect:").partition("|")
    return key.strip(), fragment.strip()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_rejected_in_process(path):
    key, fragment = expectation(path)
    with pytest.raises(ConfigError) as e:
        P.resolve(P.load(path))
    message = str(e.value)
    assert str(path) in message
    assert fragment in message
    if key:
        assert f": {key}: " in message or message.startswith(f"{path}: {key}:"), message
