"""The core never depends on Textual: the CLI, scripts and other front ends use it without a UI toolkit.

Two independent checks: (1) the source of every core module, lazy imports inside functions included (calling such a
function would pull Textual in), names neither `textual` nor the shells (`arena.tui`, `arena.cli`); (2) importing
every core module in a fresh interpreter leaves `textual` out of sys.modules.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE_PACKAGES = ("records", "config", "models", "engine", "battle", "store", "stats", "prompts")
CORE_MODULE_FILES = ("errors.py", "paths.py", "untrusted.py", "__init__.py")
FORBIDDEN = ("textual", "arena.tui", "arena.cli")


def core_files() -> list[Path]:
    files = [REPO / "arena" / name for name in CORE_MODULE_FILES]
    for pkg in CORE_PACKAGES:
        files += sorted((REPO / "arena" / pkg).rglob("*.py"))
    return files


def module_name(path: Path, root: Path = REPO) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path = REPO) -> list[tuple[int, str]]:
    """Every module name an import statement in the file refers to (absolute; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def test_core_source_never_imports_textual_or_the_shells() -> None:
    files = core_files()
    assert len(files) > 30, "the core packages were not found"  # a wrong path must not make this test vacuous
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {name}"
        for path in files
        for line, name in imported_names(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    ]
    assert offenders == []


def test_the_ast_check_would_catch_a_lazy_textual_import(tmp_path: Path) -> None:
    # The checker itself: a function-level and a relative import are both seen.
    (tmp_path / "arena" / "battle").mkdir(parents=True)
    probe = tmp_path / "arena" / "battle" / "probe.py"
    probe.write_text("def f():\n    from textual.app import App\n    from ..tui import app\n", encoding="utf-8")
    names = [n for _, n in imported_names(probe, tmp_path)]
    assert "textual.app" in names and "arena.tui" in names


_PROBE = """
import importlib, json, sys
mods = json.loads(sys.argv[1])
for m in mods:
    importlib.import_module(m)
print(json.dumps(sorted(k for k in sys.modules if k == "textual" or k.startswith(("textual.", "arena.tui", "arena.cli")))))
"""


@pytest.mark.parametrize("scope", ["each package", "everything"])
def test_importing_the_core_does_not_load_textual(scope: str) -> None:
    modules = sorted({module_name(p) for p in core_files()})
    groups = [modules] if scope == "everything" else [[m for m in modules if m.split(".")[1:2] == [pkg]] for pkg in CORE_PACKAGES]
    for group in groups:
        assert group
        res = subprocess.run(
            [sys.executable, "-c", _PROBE, json.dumps(group)], cwd=REPO, capture_output=True, text=True, timeout=120,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout.strip().splitlines()[-1]) == [], f"{group[0]}...: {res.stdout}"
