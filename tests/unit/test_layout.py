"""House rules that can be checked: the core imports no UI code, and the UI keeps to
Textual's public API."""

import ast
import re

from helpers import ROOT

UI_ROOTS = ("textual", "rich", "tuidl.ui")


def imports_of(path):
    """Every module a file imports, at any depth (lazy imports inside functions too);
    relative imports resolved against the file's package."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                yield ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def test_no_core_module_imports_ui_code():
    """Read from the source, so it runs in a blink; the e2e twin below imports them."""
    bad = {}
    for path in sorted((ROOT / "tuidl" / "core").rglob("*.py")):
        hits = [m for m in imports_of(path) if m and (m.split(".")[0] in UI_ROOTS or m.startswith("tuidl.ui"))]
        if hits:
            bad[str(path.relative_to(ROOT))] = hits
    assert bad == {}


def test_the_ui_uses_no_private_textual_api():
    bad = {}
    for path in sorted((ROOT / "tuidl").rglob("*.py")):
        text = path.read_text()
        hits = [m for m in imports_of(path) if m and m.startswith("textual") and any(
            part.startswith("_") for part in m.split("."))]
        hits += re.findall(r"\._(?:driver|compositor)\b", text)
        if hits:
            bad[str(path.relative_to(ROOT))] = hits
    assert bad == {}
