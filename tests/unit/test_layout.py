"""House rules that can be checked: the core imports no UI code, the UI keeps to
Textual's public API, and no two modules of tuidl import each other (through any chain)."""

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


def module_graph() -> dict[str, dict[str, int]]:
    """tuidl's modules, each with the tuidl modules it imports (at any depth, lazy and
    ``TYPE_CHECKING`` imports too) and the line of the first such import. ``from a import b``
    counts as importing ``a.b`` where that is a module, else ``a``."""
    modules = {}
    for path in sorted((ROOT / "tuidl").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                module = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                while parts and ".".join(parts) not in modules:  # a name inside a module: the module
                    parts.pop()
                if parts and ".".join(parts) != name:
                    edges.setdefault(".".join(parts), node.lineno)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycles():
    """Counting imports inside functions and under TYPE_CHECKING: a cycle hidden by a lazy
    import is still two modules that cannot be read (or moved) one without the other."""
    graph = module_graph()
    assert len(graph) > 100 and "tuidl.core.train.state" in graph["tuidl.core.train.loop"]  # it reads the tree
    found = cycles(graph)
    assert found == [], "import cycles: " + "; ".join(
        ", ".join(f"{a} imports {b} (line {graph[a][b]})" for a in c for b in graph[a] if b in c) for c in found)


def test_the_cycle_check_finds_a_cycle():
    """The check itself: a lazy import back to a module's importer is found."""
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def long_classes(root, limit: int = 400) -> dict[str, int]:
    """The classes under ``root`` longer than ``limit`` lines, as ``path:Name`` (relative to
    ``root``) -> lines."""
    long = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > limit:
                long[f"{path.relative_to(root)}:{node.name}"] = node.end_lineno - node.lineno + 1
    return long


def test_no_class_is_over_400_lines():
    """A class longer than a screenful of screenfuls does too much: none in tuidl/, core or UI."""
    long = long_classes(ROOT / "tuidl")
    assert long == {}


def test_the_app_class_is_at_most_400_lines_and_hands_its_work_on():
    """TuidlApp composes and hands each key and message on: the pane deck, the run
    controller and the key actions live in modules of their own."""
    path = ROOT / "tuidl" / "ui" / "app.py"
    app = next(n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef) and n.name == "TuidlApp")
    assert app.end_lineno - app.lineno + 1 <= 400
    imported = set(imports_of(path))
    assert {"tuidl.ui.panedeck", "tuidl.ui.runcontrol", "tuidl.ui.actions"} <= imported


def test_the_class_length_check_finds_a_long_class(tmp_path):
    """The check itself: a class of 401 lines is found, one of 400 is not."""
    (tmp_path / "m.py").write_text("class Long:\n" + "    x = 1\n" * 400 + "\n\nclass Short:\n" + "    y = 1\n" * 399)
    assert long_classes(tmp_path) == {"m.py:Long": 401}


def test_panes_come_from_one_registry():
    """A pane is one module plus one registry entry: the app names no pane class, and
    every registered pane declares its key, title and what it takes."""
    from tuidl.ui.panes.registry import INFOS, PANES

    app_text = (ROOT / "tuidl" / "ui" / "app.py").read_text()
    for pane in PANES:
        assert pane.__name__ not in app_text or pane.__name__ == "RunsPane"  # its messages' handlers name it
        assert pane.PANE.key and pane.PANE.title and callable(pane.create)
    assert [i.key for i in INFOS] == ["builder", "dataset", "training", "system", "runs"]
    from tuidl.ui.app import TuidlApp

    keys = [(b.key, b.action) for b in TuidlApp.BINDINGS[:len(INFOS)]]
    assert keys == [(str(n), f"show_pane('{i.key}')") for n, i in enumerate(INFOS, 1)]  # 1-5, from the entries
    assert "TabPane#training {\n    row-span: 2;" in TuidlApp.CSS  # the Training pane asks for two grid rows
