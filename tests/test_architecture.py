"""The package's layout rules, checked on its source with ``ast`` (nothing is imported).

- no import cycle between lls_topics modules (lazy, function-level imports included);
- only ``lls_topics.__main__`` imports ``lls_topics.cli``;
- no module calls another module's underscore-prefixed function or method.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lls_topics"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(current: str, is_pkg: bool, level: int, module: str | None) -> str:
    """The absolute name of a (possibly relative) ``from ... import``."""
    if level == 0:
        return module or ""
    base = current.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def read_package(root: Path) -> dict[str, tuple[ast.Module, bool]]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        out[module_name(path, root)] = (ast.parse(path.read_text(encoding="utf-8")),
                                        path.name == "__init__.py")
    return out


def import_graph(modules: dict[str, tuple[ast.Module, bool]], top: str
                 ) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Edges module -> imported modules of the package, and private names imported
    from another module as (importer, source module, name)."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str]] = []
    for name, (tree, is_pkg) in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == top and a.name in modules:
                        edges[name].add(a.name)
            elif isinstance(node, ast.ImportFrom):
                src = resolve(name, is_pkg, node.level, node.module)
                if src.split(".")[0] != top:
                    continue
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    if sub in modules:  # ``from . import plotting``
                        edges[name].add(sub)
                        continue
                    if src in modules and src != top:
                        edges[name].add(src)
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        private.append((name, src, a.name))
    return edges, private


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        color[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if color.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if not color.get(v):
                found = visit(v)
                if found:
                    return found
        stack.pop()
        color[u] = 2
        return None

    for u in sorted(edges):
        if not color.get(u):
            found = visit(u)
            if found:
                return found
    return None


def foreign_private_calls(modules: dict[str, tuple[ast.Module, bool]]
                          ) -> list[tuple[str, int, str]]:
    """Calls ``obj._name(...)`` on anything but ``self``, ``cls`` or ``super()``, and
    calls of a private function defined in another module: (module, line, text)."""
    found = []
    for name, (tree, _) in modules.items():
        defined = {n.name for n in ast.walk(tree)
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr.startswith("_") and \
                    not f.attr.startswith("__"):
                owner = f.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and \
                        owner.func.id == "super":
                    continue
                # a private method of a class defined in this same module is its own
                if isinstance(owner, ast.Name) and owner.id in defined:
                    continue
                found.append((name, node.lineno, ast.unparse(f)))
            elif isinstance(f, ast.Name) and f.id.startswith("_") and \
                    not f.id.startswith("__") and f.id not in defined:
                found.append((name, node.lineno, f.id))
    return found


@pytest.fixture(scope="module")
def package():
    return read_package(PKG)


def test_no_import_cycle(package):
    edges, _ = import_graph(package, "lls_topics")
    assert find_cycle(edges) is None, f"import cycle: {' -> '.join(find_cycle(edges))}"


def test_only_main_imports_cli(package):
    edges, _ = import_graph(package, "lls_topics")
    importers = sorted(m for m, targets in edges.items() if "lls_topics.cli" in targets)
    assert importers == ["lls_topics.__main__"]


def test_no_private_names_across_modules(package):
    _, private = import_graph(package, "lls_topics")
    assert private == []
    assert foreign_private_calls(package) == []


def test_the_checks_catch_planted_defects(tmp_path):
    """Each rule fails on a small package that breaks it."""
    root = tmp_path / "toy"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("from .b import helper\n\ndef f():\n    from . import cli\n")
    (root / "b.py").write_text("from .a import f\nfrom ._util import _hidden\n\n"
                               "def helper(x):\n    return x._secret() + _hidden()\n")
    (root / "cli.py").write_text("")
    (root / "_util.py").write_text("def _hidden():\n    return 1\n")
    mods = read_package(root)
    edges, private = import_graph(mods, "toy")
    assert find_cycle(edges) is not None
    assert "toy.cli" in edges["toy.a"]
    assert ("toy.b", "toy._util", "_hidden") in private
    calls = {text for _, _, text in foreign_private_calls(mods)}
    assert {"x._secret", "_hidden"} <= calls
