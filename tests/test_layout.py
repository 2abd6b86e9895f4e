"""The package layout is the architecture: a package imports only from the packages below it.

If this fails, an import points the wrong way (e.g. the state reaching into the engine):
move the shared piece down, or pass it in (see docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

# lowest first; a module may import from its own layer and the ones before it
LAYERS = [
    {"mocksrv.config", "mocksrv.errors", "mocksrv.client"},
    {"mocksrv.openapi"},
    {"mocksrv.exchange"},
    {"mocksrv.wire"},
    {"mocksrv.state"},
    {"mocksrv.engine"},
    {"mocksrv.behaviours"},
    {"mocksrv.admin"},
    {"mocksrv.console"},
    {"mocksrv.serving"},
    {"mocksrv", "mocksrv.__main__", "mocksrv.pytest_plugin"},
]


def layer_of(module: str) -> int:
    """The layer of a dotted module name: its longest prefix named in LAYERS."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        for rank, names in enumerate(LAYERS):
            if prefix in names:
                return rank
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def imports(path: Path) -> set[str]:
    """Every mocksrv module the file imports (type-only imports included: they show the dependency too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" if node.module == "mocksrv" else node.module
                         for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "mocksrv" or name.startswith("mocksrv.")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_import_points_down_the_layers() -> None:
    wrong = []
    for path in sorted((ROOT / "mocksrv").rglob("*.py")):
        module = module_name(path)
        for imported in sorted(imports(path)):
            if layer_of(imported) > layer_of(module):
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_no_module_is_outside_a_package_or_listed_layer() -> None:
    for path in (ROOT / "mocksrv").rglob("*.py"):
        layer_of(module_name(path))


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The state importing the engine is what the first test exists to catch."""
    source = tmp_path / "world.py"
    source.write_text("from mocksrv.engine.pipeline import Pipeline\nimport mocksrv.serving.cli\n")
    assert imports(source) == {"mocksrv.engine.pipeline", "mocksrv.serving.cli"}
    assert layer_of("mocksrv.engine.pipeline") > layer_of("mocksrv.state.world")
