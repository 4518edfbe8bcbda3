"""What `arena serve --team` starts and stops: the checks before anything starts, the model servers, the gateway.

    plan = plan_team(config, matchup="demo")        # which models, where; raises with the fix when one cannot run
    with TeamRuntime(plan, log_dir) as team:        # servers up (memory checked once), gateway listening
        team.gateway.url                            # what every session gets as --team-gateway

Local models run in one llama_cpp.server each (`arena.team.servers`); models whose source is `remote:` in
models.yaml are not started but proxied as they are (their API key is read here, from the team's environment, and
never reaches a session). That is how a team points at models served on other machines.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena.config.types import Config, ModelSpec, RemoteSource
from arena.errors import ArenaError, ModelError, UsageError
from arena.models.backend import cpu_threads
from arena.team.gateway import Gateway, Route
from arena.team.servers import ServerSpec, Supervisor

# llama-cpp-python's `server` extra: what `python -m llama_cpp.server` imports (module names, then pip names).
SERVER_DEPS = {
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "sse_starlette": "sse-starlette",
    "starlette_context": "starlette-context",
    "pydantic_settings": "pydantic-settings",
}


@dataclass(frozen=True)
class TeamPlan:
    record_id: str  # the matchup or ladder the sessions play
    ladder: bool
    local: list[ServerSpec] = field(default_factory=list)
    remote: dict[str, Route] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # ladder models not on disk, left out
    memory_note: str | None = None  # the preflight's refusal when --force overrode it

    @property
    def model_ids(self) -> list[str]:
        return [s.model_id for s in self.local] + list(self.remote)


def missing_server_deps() -> list[str]:
    return [pip for module, pip in SERVER_DEPS.items() if importlib.util.find_spec(module) is None]


def check_server_deps() -> None:
    missing = missing_server_deps()
    if missing:
        raise ArenaError(
            "`arena serve --team` runs each local model in llama-cpp-python's server (`python -m llama_cpp.server`), "
            f"which needs packages that are not installed here: {', '.join(missing)}",
            "install the serve extra: `pip install 'quant-arena[serve]'` (from a checkout: `.venv/bin/pip install -e "
            "'.[serve]'`; scripts/run.sh installs it), or put only `remote:` models in the matchup",
        )


def check_port_free(host: str, port: int) -> None:
    """Refuse early, before models load, when the web port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"Cannot use --host {host!r}: {exc}", "pass an address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does: a port in TIME_WAIT is free
        try:
            s.bind(addr)
        except OSError as exc:
            raise UsageError(
                f"Port {port} on {host} is not available for the team's web page ({exc.strerror or exc})",
                f"pass another --port (e.g. --port {port + 1}), or stop the program that uses it",
            ) from None


def plan_team(
    config: Config,
    *,
    matchup: str | None = None,
    ladder: str | None = None,
    force: bool = False,
    threads: int | None = None,
    available: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> TeamPlan:
    """Which models the team serves and how. Raises (with the fix) for an unknown id, a model not on disk, a missing
    API key, or not enough memory for the local models together (unless `force`)."""
    from arena.config.yamlsafe import suggest
    from arena.models.preflight import preflight
    from arena.models.resolve import describe

    if matchup and ladder:
        raise UsageError("--matchup and --ladder both name what to play", "give one of them")
    if ladder:
        if ladder not in config.ladders:
            raise UsageError(f"There is no ladder '{ladder}' in {config.path}.{suggest(ladder, config.ladders)}",
                             f"pick one of: {', '.join(config.ladders) or '(none defined)'}")
        record_id, ids = ladder, list(config.ladders[ladder].models)
    else:
        matchup = matchup or config.defaults.matchup
        if not matchup:
            raise UsageError("`arena serve --team` needs to know what the team plays",
                             "pass --matchup ID or --ladder ID (see `arena models`), or set defaults.matchup in models.yaml")
        if matchup not in config.matchups:
            raise UsageError(f"There is no matchup '{matchup}' in {config.path}.{suggest(matchup, config.matchups)}",
                             f"pick one of: {', '.join(config.matchups)}")
        m = config.matchups[matchup]
        record_id, ids = matchup, [m.big, m.small]

    env = os.environ if environ is None else environ
    n_local = sum(1 for i in ids if not isinstance(config.model(i).source, RemoteSource))
    # A round runs its two sides at once, each in its own server: each gets half the cores (as the in-process
    # scheduler gives two local models), unless the model sets n_threads.
    per_server = max(1, (threads or cpu_threads()) // (2 if n_local >= 2 else 1))
    local: list[ServerSpec] = []
    remote: dict[str, Route] = {}
    facts: list[tuple[ModelSpec, Any]] = []
    absent: list[tuple[ModelSpec, ModelError]] = []
    for model_id in ids:
        spec = config.model(model_id)
        src = spec.source
        if isinstance(src, RemoteSource):
            key = env.get(src.api_key_env) if src.api_key_env else None
            if src.api_key_env and not key:
                raise ModelError(
                    f"Model '{spec.id}' reads its API key from the environment variable {src.api_key_env}, which is "
                    "not set for the team server",
                    f"export {src.api_key_env}=... before `arena serve --team` (the sessions never see the key)",
                )
            remote[spec.id] = Route(src.base_url, src.model, key, src.timeout_s)
            continue
        described = describe(spec, config)
        if described.path is None or described.facts is None:
            absent.append((spec, ModelError(
                f"Model '{spec.id}' ({spec.name}) is not on disk, and the team server runs it from its file",
                f"run `arena pull {record_id}` first (it downloads or builds every model of it)")))
            continue
        local.append(ServerSpec.for_model(spec, described.path, per_server))
        facts.append((spec, described.facts))

    skipped: list[str] = []
    if absent:
        if not ladder or len(local) + len(remote) < 2:
            raise absent[0][1]
        skipped = [spec.id for spec, _ in absent]
    result = preflight(facts, available=available)
    result.raise_if_refused(force=force)
    return TeamPlan(record_id, bool(ladder), local, remote, skipped, None if result.ok else result.message)


class TeamRuntime:
    """The running team: model servers + gateway. `start()` / `close()`, or use it as a context manager."""

    def __init__(
        self,
        plan: TeamPlan,
        log_dir: Path,
        *,
        gateway_port: int = 0,
        grace_s: float = 0.5,
        health_timeout_s: float = 600.0,
        on_event: Callable[[str], None] | None = None,
        supervisor_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.plan = plan
        self.supervisor = Supervisor(plan.local, log_dir, health_timeout_s=health_timeout_s, on_event=on_event,
                                     **dict(supervisor_options or {}))
        self._gateway_port = gateway_port
        self._grace_s = grace_s
        self._gateway: Gateway | None = None

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise RuntimeError("the team runtime is not started")
        return self._gateway

    def _resolve(self, model_id: str) -> Route:
        route = self.plan.remote.get(model_id)
        return route if route is not None else self.supervisor.route(model_id)

    def start(self) -> TeamRuntime:
        if self.plan.local:
            self.supervisor.start()
        try:
            self._gateway = Gateway(self._resolve, self.plan.model_ids, status=self.supervisor.status,
                                    port=self._gateway_port, grace_s=self._grace_s).start()
        except BaseException:
            self.supervisor.stop()
            raise
        return self

    def close(self) -> None:
        try:
            if self._gateway is not None:
                self._gateway.close()  # first: ends the streams, so the servers stop promptly
        finally:
            self.supervisor.stop()

    def __enter__(self) -> TeamRuntime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()
