"""The package's import graph, read with ``ast`` (issue 14): no import circle, function-level
imports included, and the spiders imported only by what runs a crawl (the runner, the CLI)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qiosk_scraper"
SPIDERS = "qiosk_scraper.spiders"
# What may run a spider: the crawl runner and the command line above it.
ABOVE_SPIDERS = ("qiosk_scraper.crawl", "qiosk_scraper.cli", "qiosk_scraper.demo")


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules ``name`` imports, anywhere in its source (function bodies too;
    not ``if TYPE_CHECKING:`` blocks): ``from a import b`` counts as importing ``a.b`` when
    that is a module, else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {  # ``if TYPE_CHECKING:`` imports never run
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {target for target in found if target in known and target != name}


def graph() -> dict[str, set[str]]:
    known = module_names()
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_is_read_from_the_source() -> None:
    edges = graph()
    assert "qiosk_scraper.spiders.outlet" in edges["qiosk_scraper.crawl"]
    assert "qiosk_scraper.archive" in edges["qiosk_scraper.pipelines"]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_the_package_imports_itself_in_a_circle() -> None:
    assert circles(graph()) == []


def test_only_the_runner_and_the_command_line_import_the_spiders() -> None:
    edges = graph()
    importers = {
        name
        for name, targets in edges.items()
        if any(t == SPIDERS or t.startswith(SPIDERS + ".") for t in targets)
        and not name.startswith(SPIDERS)
    }
    assert {n for n in importers if not n.startswith(ABOVE_SPIDERS)} == set()


def test_only_the_archive_and_datasettes_connection_import_sqlite() -> None:
    """One package talks to SQLite (Datasette's own connections aside): every other module
    passes records to :class:`qiosk_scraper.archive.Archive`."""
    users = set()
    for name, path in module_names().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found = [node.module or ""]
            else:
                continue
            if any(f.split(".")[0] in ("sqlite3", "sqlite_utils") for f in found):
                users.add(name)
    outside = {
        u
        for u in users
        if u != "qiosk_scraper.archive" and not u.startswith("qiosk_scraper.archive.")
    }
    assert outside == {"qiosk_scraper.datasette"}
    assert "qiosk_scraper.archive.store" in users


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in ``tests/support/``; a test module imports none of its peers."""
    tests = Path(__file__).resolve().parent
    found = {
        (path.name, node.module)
        for path in tests.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith(("test_", "conftest"))
    }
    assert found == set()
