"""An API key lives only in the environment: it is sent to the server, and never stored, logged, exported or shown.

A real llama_cpp.server on loopback that requires the key (--api_key), a real round (the remote model against the
local SmolLM2) played through the core with the real engine factory, a vote, every export format; then the DB file
bytes (with its WAL), the exports, the CLI output and every log record down to DEBUG are scanned for the key.
"""

from __future__ import annotations

import logging
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.battle.pacing import Pacer
from arena.records import Vote
from arena.battle.round import Round
from arena.battle.runner import TurnRunner
from arena.battle.session import load_contenders, save_vote
from arena.cli.main import main as arena_main
from arena.config.loader import load_config
from arena.config.types import DisplayPolicy, Schedule
from arena.errors import ArenaError
from arena.store import VoteStore
from tests.support.server import llama_server, models_status

KEY_ENV = "ARENA_TEST_REMOTE_KEY"


@pytest.fixture(scope="module")
def secret() -> str:
    return f"sk-arena-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def keyed_server(smollm_path: Path, secret: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama_cpp.server that answers only requests carrying `secret`; yields its base URL."""
    log = tmp_path_factory.mktemp("keyed") / "server.log"
    with llama_server(smollm_path, timeout_s=120, log_path=log, api_key=secret) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert models_status(port) == 401 and models_status(port, "wrong") == 401  # the key is really required
        yield url


def _config(tmp_path: Path, url: str, smollm_path: Path) -> Path:
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\n"
        "defaults:\n  display_policy: paced\n  schedule: concurrent\n  sampling: {temperature: 0.7, max_tokens: 10}\n"
        "models:\n"
        f"  - {{id: far, name: Far, source: {{remote: {{base_url: '{url}', model: smol, api_key_env: {KEY_ENV}, timeout_s: 120}}}}}}\n"
        f"  - {{id: near, name: Near, n_ctx: 512, n_threads: 1, source: {{path: '{smollm_path}'}}}}\n"
        "matchups:\n  - {id: keyed, big: far, small: near}\n",
        encoding="utf-8",
    )
    return cfg


def _scan(secret: str, places: dict[str, bytes]) -> list[str]:
    needles = [secret.encode(), secret.encode("utf-16-le"), secret[9:].encode()]  # also the random part alone
    return [name for name, data in places.items() if any(n in data for n in needles)]


@pytest.mark.slow
def test_api_key_is_used_but_never_stored_logged_or_exported(
    keyed_server: str, smollm_path: Path, secret: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, secret)
    caplog.set_level(logging.DEBUG)
    config = load_config(_config(tmp_path, keyed_server, smollm_path))
    db = tmp_path / "votes.db"

    contenders = load_contenders(config, "keyed")  # the real factory: RemoteEngine gets the key from the environment
    try:
        matchup = config.matchups["keyed"]
        with VoteStore(db) as store:
            for n in range(2):
                round_ = Round.new(matchup, {m: config.sampling_for(m) for m in ("far", "near")}, DisplayPolicy.PACED,
                                   rng=random.Random(n))
                runner = TurnRunner(contenders.pair(round_), round_, Pacer(DisplayPolicy.PACED), schedule=Schedule.CONCURRENT)
                runner.start(round_.start_turn(f"Say hello number {n}."))
                runner.join(180)
                far = round_.turns[-1].sides[round_.models.index("far")]
                assert far.error is None and far.text.strip(), far.error  # the server accepted the key
                save_vote(store, round_, Vote.TIE, contenders.facts)
            assert store.count() == 2
    finally:
        contenders.unload()

    exports = {}
    for fmt in ("jsonl", "csv", "fastchat"):
        out = tmp_path / f"votes.{fmt}"
        assert arena_main(["--db", str(db), "export", "--format", fmt, "--include-leaks", "-o", str(out)]) == 0
        exports[fmt] = out.read_bytes()
    assert arena_main(["--config", str(tmp_path / "models.yaml"), "--db", str(db), "stats"]) == 0
    assert arena_main(["--config", str(tmp_path / "models.yaml"), "models", "--paths"]) == 0
    assert arena_main(["--config", str(tmp_path / "models.yaml"), "check"]) == 0
    printed = capsys.readouterr()

    places = {f"db:{p.name}": p.read_bytes() for p in tmp_path.glob("votes.db*")}  # the DB, its -wal and -shm
    places |= {f"export:{k}": v for k, v in exports.items()}
    places |= {"stdout": printed.out.encode(), "stderr": printed.err.encode(), "logs": caplog.text.encode()}
    places |= {"log-args": repr([(r.msg, r.args) for r in caplog.records]).encode()}
    assert len(places["db:votes.db"]) > 0 and b"far" in places["export:jsonl"]  # the scan looks at real content
    assert caplog.records, "no log records were captured: the log scan would prove nothing"
    assert _scan(secret, places) == []
    assert KEY_ENV.encode() not in places["db:votes.db"]  # not even the variable's name is kept with the votes


def test_a_wrong_key_names_the_variable_never_the_key(keyed_server: str, smollm_path: Path, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = f"sk-wrong-{uuid.uuid4().hex}"
    monkeypatch.setenv(KEY_ENV, wrong)
    caplog.set_level(logging.DEBUG)
    config = load_config(_config(tmp_path, keyed_server, smollm_path))
    with pytest.raises(ArenaError) as info:
        load_contenders(config, "keyed")
    text = info.value.render()
    assert "HTTP 401" in text and KEY_ENV in text
    assert wrong not in text and wrong not in caplog.text


def test_an_unset_key_variable_is_a_clear_error(keyed_server: str, smollm_path: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    config = load_config(_config(tmp_path, keyed_server, smollm_path))
    with pytest.raises(ArenaError) as info:
        load_contenders(config, "keyed")
    assert KEY_ENV in info.value.render() and "not set" in info.value.render()


def test_models_yaml_refuses_an_inline_key(tmp_path: Path, secret: str) -> None:
    """A key pasted into models.yaml is refused (the config holds only the variable's name), and not echoed back."""
    cfg = tmp_path / "models.yaml"
    cfg.write_text(
        "version: 1\nmodels:\n"
        f"  - {{id: far, name: Far, source: {{remote: {{base_url: 'http://127.0.0.1:9/v1', model: m, api_key: {secret}}}}}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ArenaError) as info:
        load_config(cfg)
    assert info.value.exit_code == 2
    assert secret not in info.value.render()
    assert "api_key_env" in info.value.render()
    assert os.environ.get(KEY_ENV) is None
