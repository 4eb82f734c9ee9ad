"""The house rules of docs/architecture.md, checked on every import of the code: wings import only the
wings below them, no module imports itself round a circle, only engine/backends/<name>/ imports a rule
engine, only cli/ and service/ print, and every package folder is installed."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import networkx as nx
import pytest

from conftest import REPO

# Floors from the bottom up; a module may import its own floor and any floor below.
FLOORS = (
    ("engine", "errors", "suggest"),
    ("knowledge",),
    ("intake",),
    ("decide",),
    ("backends",),
    ("graph", "workbench", "cohort"),
    ("explain",),
    ("cli", "service"),
)
ENGINE_PACKAGES = {"durable": "durable", "durable_rules_engine": "durable", "clips": "clips"}
FOLDERS = {"engine": "clonus.engine", "cli": "clonus.cli", "service": "clonus.service"}


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            if "namespace" in path.parts:
                continue
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


MODULES = modules()


def wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if parts[1] != "engine" else parts[2] if len(parts) > 2 else "engine"


def floor(module: str) -> int:
    name = wing(module)
    return next(i for i, names in enumerate(FLOORS) if name in names)


def imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Every clonus module (and third-party top-level name) imported, at module level or in a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            out.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names
                       if f"{target}.{alias.name}" in MODULES)
    return out


def test_the_code_is_where_the_checks_look():
    assert "clonus.engine.decide.advisor" in MODULES and "clonus.cli.main" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_floor_and_below(module):
    mine = floor(module)
    for target, line in imports(module, MODULES[module]):
        if target.startswith("clonus.") and target in MODULES:
            assert floor(target) <= mine, \
                f"{MODULES[module].relative_to(REPO)}:{line}: {wing(module)} imports {target} from a floor above"
            if wing(module) in FLOORS[floor(module)] and wing(target) != wing(module):
                assert floor(target) < mine, f"{MODULES[module].relative_to(REPO)}:{line}: two wings of one floor " \
                    f"({wing(module)}, {wing(target)}) must talk through the floor below"


def test_no_module_imports_itself_round_a_circle():
    graph: nx.DiGraph[str] = nx.DiGraph()
    for module, path in MODULES.items():
        for target, _ in imports(module, path):
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph.add_edge(module, target)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import circles: {cycles}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_a_backend_imports_a_rule_engine(module):
    for target, line in imports(module, MODULES[module]):
        top = target.split(".")[0]
        if top in ENGINE_PACKAGES:
            assert module.startswith(f"clonus.engine.backends.{ENGINE_PACKAGES[top]}"), \
                f"{MODULES[module].relative_to(REPO)}:{line}: imports {top} outside engine/backends/"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if wing(m) not in ("cli", "service")))
def test_only_the_faces_print_or_exit(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else \
                f"{getattr(node.func.value, 'id', '')}.{node.func.attr}" if isinstance(node.func, ast.Attribute) else ""
            assert name not in ("print", "sys.exit", "exit", "typer.echo", "typer.Exit"), \
                f"{MODULES[module].relative_to(REPO)}:{node.lineno}: {name}() outside cli/ and service/"


def test_every_package_folder_is_installed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert folders <= listed, f"packages missing from pyproject.toml: {sorted(folders - listed)}"
    for package in listed - {"clonus", "clonus.kb"}:
        assert package in folders, f"pyproject.toml lists {package}, which has no __init__.py"
