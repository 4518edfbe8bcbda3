"""`arena plan` through the real CLI: offline from a real Hugging Face cache layout and the catalog, online against a
loopback stand-in for the Hub's tree listing (HF_ENDPOINT). RAM arithmetic is checked against the preflight itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from arena.config.loader import load_config
from arena.errors import UsageError
from arena.models.compare import TYPICAL_BPW
from arena.models.facts import read_facts
from arena.models.plan import ALLOWANCE_BASE, ALLOWANCE_PER_B, parse_ram, stem_of
from arena.models.preflight import RUNTIME_OVERHEAD, estimate_memory, preflight
from tests.support.synthetic_gguf import write_synthetic_gguf
from tests.test_models_hub import populate_cache

ROOT = Path(__file__).resolve().parent.parent
HUGE = 10**15

CONFIG = """\
version: 1
models:
  - {{id: gemma3-270m, name: Gemma 3 270M, family: gemma3, params: 270M, quant: Q4_K_M, n_ctx: 1024, source: {{path: '{gemma}'}}}}
  - {{id: smollm2-135m, name: SmolLM2 135M Instruct, family: smollm2, params: 135M, quant: Q4_1, n_ctx: 1024, source: {{path: '{smollm}'}}}}
  - {{id: q7-q2, name: Qwen2.5 7B Instruct, family: qwen2.5, params: 7B, quant: Q2_K, source: {{repo: bartowski/Qwen2.5-7B-Instruct-GGUF, file: Qwen2.5-7B-Instruct-Q2_K.gguf}}}}
  - {{id: q3-q6, name: Qwen2.5 3B Instruct, family: qwen2.5, params: 3B, quant: Q6_K, source: {{repo: bartowski/Qwen2.5-3B-Instruct-GGUF, file: Qwen2.5-3B-Instruct-Q6_K.gguf}}}}
  - {{id: q3-q8, name: Qwen2.5 3B Instruct, family: qwen2.5, params: 3B, quant: Q8_0, source: {{repo: bartowski/Qwen2.5-3B-Instruct-GGUF, file: Qwen2.5-3B-Instruct-Q8_0.gguf}}}}
  - {{id: q72, name: Qwen2.5 72B Instruct, family: qwen2.5, params: 72B, quant: IQ3_XXS, source: {{repo: bartowski/Qwen2.5-72B-Instruct-GGUF, file: Qwen2.5-72B-Instruct-IQ3_XXS.gguf}}}}
  - {{id: q32, name: Qwen2.5 32B Instruct, family: qwen2.5, params: 32B, quant: Q6_K, source: {{repo: bartowski/Qwen2.5-32B-Instruct-GGUF, file: Qwen2.5-32B-Instruct-Q6_K.gguf}}}}
matchups:
  - {{id: demo, big: gemma3-270m, small: smollm2-135m}}
  - {{id: qwen-3gb, big: q7-q2, small: q3-q6}}
  - {{id: qwen-32gb, big: q72, small: q32}}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, gemma_path: Path, smollm_path: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plan")
    cfg = root / "models.yaml"
    cfg.write_text(CONFIG.format(gemma=gemma_path, smollm=smollm_path), encoding="utf-8")
    tiny = write_synthetic_gguf(root / "src" / "tiny-F32.gguf", n_layer=1)
    cached = populate_cache(root / "hf", tiny)  # someone/Tiny-GGUF: on disk, not in the catalog
    return {"cfg": cfg, "hf": root / "hf", "cached": cached, "home": root / "arena"}


def _env(setup: dict[str, Path], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_")) and "proxy" not in k.lower()}
    env.update(PYTHONPATH=str(ROOT), HF_HOME=str(setup["hf"]), ARENA_HOME=str(setup["home"]), **extra)
    return env


def plan(setup: dict[str, Path], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "arena", "--config", str(setup["cfg"]), "plan", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(setup, **env), timeout=120)


def test_parse_ram() -> None:
    assert parse_ram("16G") == 16 * 10**9 and parse_ram("16GB") == 16 * 10**9 and parse_ram("16GiB") == 16 * 2**30
    assert parse_ram("512M") == 512 * 10**6 and parse_ram("8") == 8 * 10**9 and parse_ram("1.5T") == 1.5e12
    for bad in ("lots", "-1G", "0", "16X"):
        with pytest.raises(UsageError):
            parse_ram(bad)
    assert stem_of("Qwen2.5-7B-Instruct-Q2_K.gguf") == "Qwen2.5-7B-Instruct"
    assert stem_of("gemma-2-9b-it-IQ3_XXS.gguf") == "gemma-2-9b-it"


def test_plan_offline_json_schema_and_ram_arithmetic(setup: dict[str, Path]) -> None:
    run = plan(setup, "--ram", "8G", "--json", HF_HUB_OFFLINE="1")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert set(out) == {"config", "ram", "ram_source", "offline", "offline_reason", "tolerance", "runtime_overhead",
                        "models", "matchups", "pairs", "ladders", "look_for", "notes"}  # fmt: skip
    assert out["ram"] == 8 * 10**9 and out["ram_source"] == "--ram"
    assert out["offline"] is True and out["offline_reason"] == "HF_HUB_OFFLINE=1"
    assert out["tolerance"] == 0.25 and out["runtime_overhead"] == RUNTIME_OVERHEAD
    models = {m["id"]: m for m in out["models"]}
    for m in models.values():
        assert set(m) == {"id", "name", "family", "params", "quant", "bits_per_weight", "non_embedding_bits_per_weight",
                          "source", "path", "on_disk", "in_catalog", "memory", "pull", "note"}  # fmt: skip
        mem = m["memory"]
        assert mem["total"] == mem["weights"] + mem["kv_cache"] + mem["compute"]

    # The demo pair: exact, and exactly what the preflight adds up before the matchup loads.
    config = load_config(setup["cfg"])
    pairs = [(config.model(i), read_facts(config.model(i).source.path)) for i in ("gemma3-270m", "smollm2-135m")]
    demo = next(p for p in out["matchups"] if p["matchup"] == "demo")
    assert demo["exact"] is True and demo["needed"] == preflight(pairs, available=HUGE).needed
    assert demo["fits"] is (demo["needed"] <= 8 * 10**9) is True
    assert demo["pull_bytes"] == 0
    assert demo["comparison"]["shape"] == "bigger model, more bits per weight" and demo["comparison"]["memory_matched"] is False
    assert models["gemma3-270m"]["memory"]["exact"] and models["gemma3-270m"]["memory"]["n_ctx"] == 1024

    # A catalog pair not on disk: weights = params x typical bits/weight, plus the stated allowance, plus the app.
    q7, q3 = models["q7-q2"], models["q3-q6"]
    assert q7["memory"]["weights"] == int(7e9 * TYPICAL_BPW["Q2_K"] / 8)
    assert q7["memory"]["kv_cache"] + q7["memory"]["compute"] == int(ALLOWANCE_BASE + ALLOWANCE_PER_B * 7)
    assert q7["pull"] == {"bytes": q7["memory"]["weights"], "action": "download", "basis": "estimate"}
    qwen3 = next(p for p in out["matchups"] if p["matchup"] == "qwen-3gb")
    assert qwen3["needed"] == q7["memory"]["total"] + q3["memory"]["total"] + RUNTIME_OVERHEAD
    assert qwen3["fits"] is True and qwen3["exact"] is False and qwen3["comparison"]["intended"] is True
    assert qwen3["pull_bytes"] == q7["pull"]["bytes"] + q3["pull"]["bytes"]
    qwen32 = next(p for p in out["matchups"] if p["matchup"] == "qwen-32gb")
    assert qwen32["fits"] is False and qwen32["needed"] > 8 * 10**9

    # Other pairs that fit: same family, bigger at fewer bits, memory-matched. q7-q2 vs q3-q8 qualifies.
    found = {(p["big"], p["small"]) for p in out["pairs"]}
    assert ("q7-q2", "q3-q8") in found
    for p in out["pairs"]:
        assert p["fits"] and p["comparison"]["intended"] and p["comparison"]["memory_matched"] and p["needed"] <= 8 * 10**9

    # The file in the HF cache that the catalog does not name is a candidate, measured from its header.
    tiny = models["file:tiny-F32.gguf"]
    facts = read_facts(setup["cached"])
    assert tiny["on_disk"] and not tiny["in_catalog"]
    assert tiny["memory"]["total"] == estimate_memory(facts, min(4096, facts.context_length or 4096)).total

    # A ladder: qwen2.5 at three sizes whose two largest fit together in 8 GB (72B and 32B are dropped).
    ladder = next(x for x in out["ladders"] if x["family"] == "qwen2.5")
    assert set(ladder["models"]) == {"q7-q2", "q3-q6", "q3-q8"} and ladder["peak_needed"] <= 8 * 10**9
    totals = sorted((models[i]["memory"]["total"] for i in ladder["models"]), reverse=True)
    assert ladder["peak_needed"] == totals[0] + totals[1] + RUNTIME_OVERHEAD

    look = {x["repo"]: x for x in out["look_for"]}
    assert look["bartowski/Qwen2.5-3B-Instruct-GGUF"]["have"] == ["Q6_K", "Q8_0"]
    assert "Qwen2.5-3B-Instruct-Q2_K.gguf" in look["bartowski/Qwen2.5-3B-Instruct-GGUF"]["look_for"]
    assert all(x["listing"] is None for x in out["look_for"])  # offline: nothing listed


def test_plan_offline_text(setup: dict[str, Path]) -> None:
    run = plan(setup, "--ram", "8G", HF_HUB_OFFLINE="1")
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert "offline: catalog and files on disk only (HF_HUB_OFFLINE=1)" in text
    assert "fits     demo: Gemma 3 270M Q4_K_M + SmolLM2 135M Instruct Q4_1" in text
    assert "fits     qwen-3gb:" in text and "too big  qwen-32gb:" in text
    assert "look for Qwen2.5-7B-Instruct-<QUANT>.gguf" in text
    assert "GGUF files on this machine that models.yaml does not name" in text and str(setup["cached"]) in text
    family = plan(setup, "--ram", "8G", "--family", "qwen2.5", HF_HUB_OFFLINE="1")
    assert family.returncode == 0 and "demo:" not in family.stdout and "qwen-3gb" in family.stdout


def test_plan_text_shows_untrusted_file_names_through_the_sanitizer(setup: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "arena"
    evil = home / "models" / "evil\x1b]0;pwned\x07-Q2_K.gguf"
    evil.parent.mkdir(parents=True)
    evil.write_bytes(setup["cached"].read_bytes())
    run = plan({**setup, "home": home}, "--ram", "8G", HF_HUB_OFFLINE="1")
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "evil\u241b]0;pwned\u2407-Q2_K.gguf" in run.stdout


def test_plan_bad_ram_is_a_usage_error(setup: dict[str, Path]) -> None:
    run = plan(setup, "--ram", "lots", HF_HUB_OFFLINE="1")
    assert run.returncode == 2 and "--ram" in run.stderr and "Traceback" not in run.stderr


# -- online, against a loopback stand-in for the Hub's tree API ------------------------------------------------------

LISTING = {
    "bartowski/Qwen2.5-7B-Instruct-GGUF": [("Qwen2.5-7B-Instruct-Q2_K.gguf", 3_015_940_800), ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", 4_683_073_248), ("README.md", 9_000)],
}  # fmt: skip


class _Tree(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        path = self.path.split("?", 1)[0]
        for repo, files in LISTING.items():
            if path == f"/api/models/{repo}/tree/main":
                body = json.dumps([{"type": "file", "path": f, "size": s, "oid": "0" * 40} for f, s in files]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        body = b'{"error": "Repository not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tree)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_plan_online_lists_real_files_and_sizes(setup: dict[str, Path], hub: str) -> None:
    run = plan(setup, "--ram", "8G", "--json", HF_ENDPOINT=hub)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["offline"] is False
    look = {x["repo"]: x for x in out["look_for"]}
    listed = look["bartowski/Qwen2.5-7B-Instruct-GGUF"]
    assert listed["listing"] == [{"file": f, "size": s} for f, s in sorted(LISTING["bartowski/Qwen2.5-7B-Instruct-GGUF"][:2])]
    assert look["bartowski/Qwen2.5-3B-Instruct-GGUF"]["listing"] is None and look["bartowski/Qwen2.5-3B-Instruct-GGUF"]["listing_error"]
    q7 = next(m for m in out["models"] if m["id"] == "q7-q2")
    assert q7["pull"] == {"bytes": 3_015_940_800, "action": "download", "basis": "hub listing"}
    assert q7["memory"]["weights"] == 3_015_940_800  # the listed size, not the estimate
    text = plan(setup, "--ram", "8G", HF_ENDPOINT=hub).stdout
    assert "on the Hub: Qwen2.5-7B-Instruct-Q2_K.gguf 3.02 GB, Qwen2.5-7B-Instruct-Q4_K_M.gguf 4.68 GB" in text
    assert "--offline" not in text
    offline = plan(setup, "--ram", "8G", "--offline", "--json", HF_ENDPOINT=hub)
    assert json.loads(offline.stdout)["offline_reason"] == "--offline was given"


def test_plan_without_ram_uses_available_memory(setup: dict[str, Path]) -> None:
    run = plan(setup, "--json", HF_HUB_OFFLINE="1")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["ram_source"] == "available now (MemAvailable)" and out["ram"] > 0
    for p in out["matchups"]:
        assert p["fits"] is (p["needed"] <= out["ram"])


def test_catalog_ladders_are_planned(setup: dict[str, Path]) -> None:
    """Ladders another part of the app may add to the catalog (`config.ladders`): each listed with its peak pair."""
    from dataclasses import dataclass, field
    from types import SimpleNamespace

    from arena.config.types import Config
    from arena.models.plan import build_plan

    @dataclass(frozen=True)
    class WithLadders(Config):
        ladders: dict = field(default_factory=dict)

    base = load_config(setup["cfg"])
    config = WithLadders(base.path, base.models, base.matchups, base.defaults, {"qwen": SimpleNamespace(models=("q72", "q7-q2", "q3-q6"))})
    plan_ = build_plan(config, 8 * 10**9, offline="test")
    ladder = next(x for x in plan_.ladders if x.origin == "catalog ladder qwen")
    needs = {c.id: c.need.total for c in plan_.candidates if c.need}
    assert ladder.models == ["q72", "q7-q2", "q3-q6"] and ladder.fits is False
    assert ladder.peak_needed == needs["q72"] + needs["q7-q2"] + RUNTIME_OVERHEAD


def test_a_hub_that_never_answers_does_not_hang_the_plan(setup: dict[str, Path]) -> None:
    """A listener that accepts connections and never replies: each listing gives up after --listing-timeout."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        run = plan(setup, "--ram", "8G", "--json", "--listing-timeout", "0.5", HF_ENDPOINT=endpoint)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["offline"] is False
    assert out["look_for"] and all(x["listing"] is None and "Timeout" in x["listing_error"] for x in out["look_for"])
