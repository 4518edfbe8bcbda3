"""The layer order is a checked contract: `.importlinter` (import-linter) holds it, this test runs it.

records/errors/paths < config, stats < prompts, engine < models, store < battle < tui < cli; the core never imports
Textual; no import loops between the modules of a package outside `arena.tui`. Function-level (lazy) imports count.
A second test breaks a copy of the package on purpose, so the contract can be seen to fail (a wrong config or path
must not make the first test pass vacuously).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / ".importlinter"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the `arena` package under `root` (its own interpreter: the graph is built from `root`)."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))"
    return subprocess.run(
        [sys.executable, "-c", code, str(CONFIG)],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=300,
        check=False,
    )


def test_the_layer_contract_holds() -> None:
    run = lint_imports(REPO)
    assert "Contracts: 3 kept, 0 broken." in run.stdout, run.stdout + run.stderr
    assert run.returncode == 0


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("arena/store/filters.py", "from arena.battle import session", "Layers"),  # upward: store -> battle
        ("arena/config/types.py", "def f():\n    from arena.stats import counts", "Layers"),  # siblings, lazily
        ("arena/models/hub.py", "def f():\n    from textual.app import App", "Textual"),
        ("arena/prompts/types.py", "def f():\n    from arena.prompts import suite", "loops"),  # a loop inside a package
    ],
)
def test_the_contract_catches_a_violation(tmp_path: Path, module: str, line: str, broken: str) -> None:
    shutil.copytree(REPO / "arena", tmp_path / "arena", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + "\n\n" + line + "\n", encoding="utf-8")
    run = lint_imports(tmp_path)
    assert run.returncode != 0, run.stdout
    broken_section = run.stdout.split("Broken contracts", 1)[1]
    assert broken in broken_section, broken_section
