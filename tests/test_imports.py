"""The package's import graph: no cycles, and no module imports another module's private names.

Walks the source of phusong.gis, phusong.layers, phusong.analysis and phusong.seeds with
``ast`` (nothing is imported), so the test also covers modules loaded only on demand.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"gis": "phusong.gis", "layers": "phusong.layers", "analysis": "phusong.analysis",
            "seeds": "phusong.seeds", "phusong": "phusong"}


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for folder, dotted in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            mods[".".join([dotted, *parts])] = path
    return mods


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom, this: str, is_pkg: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = this.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str, path: Path) -> list[tuple[str, str | None, int]]:
    """``(module, imported name or None, line)`` for every phusong import of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.startswith("phusong")]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(node.module or "", node, name, path.name == "__init__.py")
            if mod.startswith("phusong"):
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    if sub in MODULES:       # "from pkg import module"
                        out.append((sub, None, node.lineno))
                    else:
                        out.append((mod, a.name, node.lineno))
    return out


def test_modules_found() -> None:
    assert "phusong.analysis.coverage.engine" in MODULES
    assert "phusong.gis.crs" in MODULES


def test_no_module_imports_another_modules_private_names() -> None:
    bad = []
    for name, path in MODULES.items():
        for mod, attr, line in _imports(name, path):
            if attr and attr.startswith("_") and not attr.startswith("__") and mod != name:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {attr} from {mod}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles() -> None:
    """Also through imports made inside functions: a cycle means a rule lives in the wrong room."""
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        graph.add_node(name)
        for mod, _attr, _line in _imports(name, path):
            target = mod
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            # a package's __init__ that only re-exports lazily is not an edge of the cycle
            if target in MODULES and target != name and not MODULES[target].name == "__init__.py":
                graph.add_edge(name, target)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join([*c, c[0]]) for c in cycles)


def test_layering_flows_one_way() -> None:
    """gis imports nothing of layers/analysis; layers nothing of analysis; seeds no analysis."""
    order = {"phusong.gis": 0, "phusong.layers": 1, "phusong.seeds": 1, "phusong.analysis": 2}
    bad = []
    for name, path in MODULES.items():
        here = next((v for k, v in order.items() if name.startswith(k)), None)
        if here is None:
            continue
        for mod, _attr, line in _imports(name, path):
            there = next((v for k, v in order.items() if mod.startswith(k)), None)
            if there is not None and there > here:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


def test_no_top_level_gis_layers_analysis_seeds_installed(tmp_path) -> None:
    """From a folder with none of the repository's folders, only ``phusong`` is importable."""
    import subprocess
    import sys

    code = ("import importlib.util as u, phusong; "
            "print([n for n in ('gis','layers','analysis','seeds') if u.find_spec(n)]); "
            "print(phusong.read_bundle.__module__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "phusong.layers.bundle"
