"""`arena check` through the real CLI in subprocesses: every mistake class exits 2 with one located paragraph.

The corpus lives in tests/data/bad_configs/: each file's first line is `# expect: fragment | fragment ...` and the
offending line carries the marker `# <-- error`, whose line number must appear in the message. Big and binary cases
are generated in tmp_path instead of being committed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "data" / "bad_configs"
MARKER = "# <-- error"
TIMEOUT_S = 30.0  # a hang would hit this; a normal run takes well under a second
QUICK_S = 10.0  # generous for a loaded 2-core CI machine; the point is "no hang, no quadratic blow-up"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARENA_CONFIG", "ARENA_DB")}
    env["ARENA_HOME"] = str(home)  # nothing under the user's real data dir is consulted
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_check(*args: str, home: Path, cwd: Path = ROOT) -> Run:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "arena", *args],
        cwd=cwd,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


@pytest.fixture(scope="session")
def arena_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("arena_home")


@pytest.fixture(scope="session")
def corpus_runs(arena_home: Path) -> dict[str, Run]:
    """One real `arena check FILE` process per corpus file, a few at a time (process start-up dominates)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(lambda p: (p.name, run_check("check", str(p), home=arena_home)), corpus_files())
        return dict(runs)


def expectations(path: Path) -> tuple[list[str], int | None]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].startswith("# expect:"), f"{path.name}: first line must be '# expect: ...'"
    fragments = [f.strip() for f in lines[0][len("# expect:") :].split("|") if f.strip()]
    marked = [i + 1 for i, line in enumerate(lines) if MARKER in line]
    return fragments, (marked[0] if marked else None)


def assert_one_paragraph_error(run: Run, path_text: str) -> str:
    assert run.returncode == 2, f"exit {run.returncode}, stderr: {run.stderr!r}"
    assert "Traceback" not in run.stderr + run.stdout
    message = run.stderr.strip()
    assert message.startswith("arena: ")
    assert "\n" not in message, f"not one paragraph: {message!r}"
    assert path_text in message, f"file not named: {message!r}"
    assert "Fix:" in message
    assert run.seconds < QUICK_S
    return message


def test_corpus_is_not_empty() -> None:
    assert len(corpus_files()) >= 40


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_bad_file_is_rejected_with_location(path: Path, corpus_runs: dict[str, Run]) -> None:
    run = corpus_runs[path.name]
    message = assert_one_paragraph_error(run, path.name)
    fragments, line = expectations(path)
    if line is not None:
        assert re.search(rf"\bline {line}\b", message), f"expected line {line}: {message!r}"
    lowered = message.lower()
    for fragment in fragments:
        assert fragment.lower() in lowered, f"missing {fragment!r} in {message!r}"


# -- generated cases: too big, binary, empty, hostile structure ------------------------------------------------------


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


GENERATED: dict[str, tuple[bytes, list[str]]] = {
    # 10 MB of valid-looking YAML: refused by size before any parsing.
    "huge.yaml": (b"version: 1\nmodels:\n" + b"  - {id: m, source: {repo: a/b, file: x.gguf}}\n" * 220_000, ["bytes", "refused"]),
    "latin1.yaml": ("version: 1\nmodels:\n  - id: caf\u00e9\n".encode("latin-1"), ["line 3", "not valid utf-8", "0xe9"]),
    "utf16.yaml": ("version: 1\nmodels: []\n".encode("utf-16"), ["utf-16", "save it as utf-8"]),
    "nul.yaml": (b"version: 1\nmodels:\n  - id: a\x00b\n", ["line 3", "character"]),
    "zero_bytes.yaml": (b"", ["is empty"]),
    "deep.yaml": (b"version: 1\nmodels: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", ["line 2", "nested more than"]),
    "wide_alias.yaml": (b"a: &a x\n" + b"b: [" + b"*a," * 100_000 + b"]\n", ["line 1", "anchors and aliases"]),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bad_file(name: str, tmp_path: Path, arena_home: Path) -> None:
    data, fragments = GENERATED[name]
    path = _write(tmp_path, name, data)
    run = run_check("check", str(path), home=arena_home)
    message = assert_one_paragraph_error(run, name).lower()
    for fragment in fragments:
        assert fragment in message, f"missing {fragment!r} in {message!r}"


def test_missing_and_directory_config(tmp_path: Path, arena_home: Path) -> None:
    missing = run_check("--config", str(tmp_path / "nope.yaml"), "check", home=arena_home)
    assert "not found" in assert_one_paragraph_error(missing, "nope.yaml")
    directory = run_check("check", str(tmp_path), home=arena_home)
    assert "directory" in assert_one_paragraph_error(directory, str(tmp_path))


# -- successes -------------------------------------------------------------------------------------------------------


def test_shipped_models_yaml_checks_ok(arena_home: Path) -> None:
    run = run_check("check", home=arena_home)
    assert run.returncode == 0, run.stderr
    from arena.config.loader import load_config

    config = load_config(ROOT / "models.yaml")
    assert f"ok: {len(config.models)} models, {len(config.matchups)} matchups" in run.stdout
    assert run.stderr == ""
    # Hub models are not in this test's empty ARENA_HOME / HF cache lookups may differ: every note names a real id.
    for line in run.stdout.splitlines()[1:]:
        if line.startswith("  warning: matchup "):  # facts vs slots (tests/test_matchup_labels.py)
            assert line.split("matchup ", 1)[1].split(":", 1)[0] in config.matchups
            continue
        assert line.startswith("  note: ")
        model_id = line.split("note: ", 1)[1].split(":", 1)[0]
        assert model_id in config.models
        assert f"run arena pull {model_id}" in line


def test_absent_local_file_is_a_note_not_an_error(tmp_path: Path, arena_home: Path) -> None:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        "  - id: big\n    source: {repo: example-org/never-downloaded-GGUF, file: never-Q2_K.gguf}\n"
        "  - id: small\n    source: {remote: {base_url: 'http://127.0.0.1:9/v1', model: m}}\n"
        "matchups:\n  - {id: m, big: big, small: small}\n",
        encoding="utf-8",
    )
    run = run_check("--config", str(cfg), "check", home=arena_home)
    assert run.returncode == 0, run.stderr
    assert "ok: 2 models, 1 matchups" in run.stdout
    assert "big: not downloaded yet: run arena pull big" in run.stdout
    assert "small:" not in run.stdout  # remote models have no local file


def test_present_path_model_has_no_note(tmp_path: Path, arena_home: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "tiny.gguf").write_bytes(b"GGUF")
    cfg = tmp_path / "models.yaml"
    cfg.write_text("models:\n  - id: tiny\n    source: {path: m/tiny.gguf}\n", encoding="utf-8")
    other = tmp_path / "elsewhere"
    other.mkdir()
    # Run from another directory: relative paths resolve against the YAML file, not the cwd.
    run = run_check("check", str(cfg), home=arena_home, cwd=other)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok: 1 models, 0 matchups (" + str(cfg) + ")"


def test_valid_custom_suite_checks_ok(tmp_path: Path, arena_home: Path) -> None:
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "id: mine\ntitle: My prompts\nprompts:\n"
        "  - {id: p1, category: math, prompt: 'What is 6*7?', check: {type: number, answer: 42}}\n"
        "  - {id: p2, category: cooking, prompt: Name a spice.}\n",
        encoding="utf-8",
    )
    run = run_check("check", str(suite), home=arena_home)
    assert run.returncode == 0, run.stderr
    assert "suite 'mine', 2 prompts (cooking 1, math 1; 1 with objective checks)" in run.stdout


def test_several_files_report_every_error(tmp_path: Path, arena_home: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("models:\n  - id: a\n    source: {repo: a/b, file: x.gguf}\n", encoding="utf-8")
    bad1, bad2 = CORPUS / "n_ctx_zero.yaml", CORPUS / "suite_unknown_key.yaml"
    run = run_check("check", str(bad1), str(good), str(bad2), home=arena_home)
    assert run.returncode == 2
    errors = run.stderr.strip().splitlines()
    assert len(errors) == 2 and bad1.name in errors[0] and bad2.name in errors[1]
    assert "ok: 1 models, 0 matchups" in run.stdout
    assert "Traceback" not in run.stderr


def test_builtin_suites_check_ok(arena_home: Path) -> None:
    from arena.prompts.suite import builtin_suite_names

    if not builtin_suite_names():
        pytest.skip("no built-in suites in arena/prompts/suites yet")
    run = run_check("check", "--suites", home=arena_home)
    assert run.returncode == 0, run.stderr
    assert "suite 'all'" in run.stdout


def test_unknown_suite_name_is_a_config_error(arena_home: Path) -> None:
    run = run_check("check", "no-such-suite-or-file.yaml", home=arena_home)
    assert "not found" in assert_one_paragraph_error(run, "no-such-suite-or-file.yaml")


@pytest.fixture(autouse=True)
def _no_stray_files(arena_home: Path) -> Iterator[None]:
    """`arena check` only reads: it must never create data dirs or databases."""
    yield
    assert not any(arena_home.iterdir()), list(arena_home.iterdir())
