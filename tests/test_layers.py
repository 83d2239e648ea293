"""Imports flow one way: no module imports a higher layer, and no imports go round a cycle.

Every module under ``src/bansos_linkage`` is parsed with :mod:`ast`; every import
counts, at module level or inside a function (``if TYPE_CHECKING:`` blocks count for
the layers, not for cycles: they never run). ``docs/architecture.md`` explains the
layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "bansos_linkage"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: Layers, lowest first: a module may import its own layer and those before it.
LAYERS = (
    "standardisation",
    "linkage",
    "assembly & eligibility",
    "review & evaluation",
    "runs",
    "cli & demo",
)
#: Module (or package prefix) -> layer; the longest matching prefix wins.
LAYER_OF = {
    "bansos_linkage.errors": "standardisation",
    "bansos_linkage.schema": "standardisation",
    "bansos_linkage.io": "standardisation",
    "bansos_linkage.datasets": "standardisation",
    "bansos_linkage._version": "standardisation",
    "bansos_linkage.progress": "standardisation",
    # the process allocator settings a batch job (the CLI) applies: imports nothing of ours
    "bansos_linkage.memory": "standardisation",
    "bansos_linkage.standardisation": "standardisation",
    # test data: builds on standardisation only, and only the top layer may use it
    "bansos_linkage.synthetic": "standardisation",
    "bansos_linkage.linkage": "linkage",
    "bansos_linkage.assembly": "assembly & eligibility",
    "bansos_linkage.eligibility": "assembly & eligibility",
    "bansos_linkage.review": "review & evaluation",
    "bansos_linkage.evaluation": "review & evaluation",
    "bansos_linkage.runs": "runs",
    # engines run the linkage stages over partitions (Dask): beside the run folders
    "bansos_linkage.engines": "runs",
    # the assemble run folder (files in, atomic files out + manifest) and its updates
    # and verval workbooks: the runs layer, though they live beside the assembly core
    "bansos_linkage.assembly.files": "runs",
    "bansos_linkage.assembly.update": "runs",
    "bansos_linkage.assembly.worklists": "runs",
    # re-exports assemble_files, update_files, ...: the core imports its modules, never it
    "bansos_linkage.assembly.__init__": "runs",
    "bansos_linkage.cli": "cli & demo",
    "bansos_linkage.demo": "cli & demo",
    "bansos_linkage.__main__": "cli & demo",
    # the public API loads the Linker and the assembly on first use
    "bansos_linkage.__init__": "cli & demo",
}
#: Imported only by these (test data must not leak into the library).
ONLY_FROM = {
    "bansos_linkage.synthetic": (
        "bansos_linkage.synthetic",
        "bansos_linkage.cli",
        "bansos_linkage.demo",
    ),
}
#: Known imports that break the rules, each with why it is still there. Each must
#: still exist (remove it once fixed). The linkage package belongs to its owner.
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_CYCLES: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it is, and whether it ever runs."""

    importer: str
    line: int
    target: str
    runs: bool

    def __repr__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_key(module: str) -> str:
    """The key :data:`LAYER_OF` knows a module by (a package as ``pkg.__init__``)."""
    return f"{module}.__init__" if (SOURCE.parent / module.replace(".", "/")).is_dir() else module


def layer_of(module: str) -> str:
    key = layer_key(module)
    if key in LAYER_OF:
        return LAYER_OF[key]
    prefixes = [p for p in LAYER_OF if key.startswith(p + ".") and not p.endswith("__init__")]
    if not prefixes:
        raise AssertionError(f"{module}: no layer; add it to LAYER_OF in {__file__}")
    return LAYER_OF[max(prefixes, key=len)]


MODULES = {module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The module of ours a dotted name is (or is in), else None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: from the importing module's package
        package = module if layer_key(module).endswith("__init__") else module.rpartition(".")[0]
        anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{anchor}.{base}".rstrip(".")
    for alias in node.names:
        # `from pkg import mod` imports the module pkg.mod; `from pkg import name`, pkg
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def imports_of(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    never = _type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _targets(node, module):
                target = resolve(name)
                if target is not None and target != module:
                    found.append(Import(module, node.lineno, target, node.lineno not in never))
    return found


IMPORTS = [i for module in MODULES for i in imports_of(module)]


def test_every_module_has_a_layer():
    for module in MODULES:
        assert layer_of(module) in LAYERS


def test_no_module_imports_a_higher_layer():
    upward = [
        i
        for i in IMPORTS
        if LAYERS.index(layer_of(i.target)) > LAYERS.index(layer_of(i.importer))
        and (i.importer, i.target) not in KNOWN_UPWARD
    ]
    assert not upward, "imports of a higher layer:\n" + "\n".join(
        f"{i} ({layer_of(i.importer)} -> {layer_of(i.target)})" for i in upward
    )


def test_restricted_modules_are_imported_only_where_allowed():
    wrong = [
        i
        for i in IMPORTS
        for package, allowed in ONLY_FROM.items()
        if (i.target == package or i.target.startswith(package + "."))
        and not any(i.importer == a or i.importer.startswith(a + ".") for a in allowed)
    ]
    assert not wrong, "\n".join(map(repr, wrong))


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        if i.runs and (i.importer, i.target) not in KNOWN_CYCLES:
            edges[i.importer].add(i.target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
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


def test_no_import_cycles():
    edges = graph()
    problems = []
    for component in cycles(edges):
        lines = sorted(
            {repr(i) for i in IMPORTS if i.runs and {i.importer, i.target} <= set(component)}
        )
        problems.append(" <-> ".join(component) + ":\n  " + "\n  ".join(lines))
    assert not problems, "import cycles:\n" + "\n".join(problems)


@pytest.mark.parametrize("known", sorted(KNOWN_UPWARD | KNOWN_CYCLES))
def test_known_exceptions_still_exist(known):
    assert any((i.importer, i.target) == known for i in IMPORTS), f"{known} is fixed: remove it"


def test_the_checker_sees_function_level_and_package_imports():
    by_module = {(i.importer, i.target) for i in IMPORTS}
    assert ("bansos_linkage.cli.demo", "bansos_linkage.demo") in by_module  # in a function
    assert ("bansos_linkage.standardisation", "bansos_linkage.standardisation.names") in by_module
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
