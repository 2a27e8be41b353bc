"""The corpus of malformed presets (tests/fixtures/bad_presets): each one is rejected
with exit code 2, a message naming the file and the key, and no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuidl.core import preset as P
from tuidl.core.schema import ConfigError
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


def test_rejected_by_the_command_line():
    """All of them through `tuidl train` in one process per file would be slow; one
    subprocess checks them all the way a user would meet them."""
    script = (
        "import sys\nfrom tuidl.cli import main\n"
        "codes = [main(['train', p]) for p in sys.argv[1:]]\n"
        "print(' '.join(map(str, codes)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *map(str, CORPUS)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "TUIDL_RUNS": os.environ["TUIDL_RUNS"]})
    assert out.stdout.split() == ["2"] * len(CORPUS), out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) >= len(CORPUS)
    for path in CORPUS:
        assert any(str(path) in line for line in errors), path
