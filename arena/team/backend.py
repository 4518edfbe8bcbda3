"""The session side of a team arena: a `Backend` whose engines talk to the team's gateway instead of loading models.

`arena tui --team-gateway URL` (what `arena serve --team` runs for each browser) uses it. Every model is reached as
`URL/m/<model id>/v1` with the session's identity in two headers (`X-Arena-Session`: random per session process;
`X-Arena-Voter`: the voter's name, read when the engine is made, which is when the models "load"). Facts and presence
come from the local catalog: the team server runs on this machine and has the files, so the reveal still shows the
quant facts. The RAM preflight counts nothing: the models live in the team's servers, which checked memory once.

Nothing here imports llama_cpp, so a session process stays small (see the README's "Team arena" for its RSS).
"""

from __future__ import annotations

import http.client
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from arena.config.types import Config, ModelSpec, RemoteSource
from arena.engine.remote import RemoteEngine
from arena.engine.types import Engine
from arena.errors import ModelError
from arena.models.backend import ModelBackend
from arena.records import ModelFacts
from arena.team.gateway import SESSION_HEADER, VOTER_HEADER

DEFAULT_TIMEOUT_S = 60.0  # a read timeout: the gateway sends a keep-alive at least every few seconds while queued


def model_base_url(gateway_url: str, model_id: str) -> str:
    return f"{gateway_url.rstrip('/')}/m/{quote(model_id, safe='')}/v1"


@dataclass
class ServedBackend:
    """`Backend` over a team gateway. `voter`: called when an engine is made (the voter may be named after start-up)."""

    config: Config
    gateway_url: str
    voter: Callable[[], str | None] = lambda: None
    session_id: str = field(default_factory=lambda: secrets.token_hex(8))

    def __post_init__(self) -> None:
        parts = urlsplit(self.gateway_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelError(f"The team gateway URL {self.gateway_url!r} is not an http(s) URL",
                             "pass the URL `arena serve --team` prints, e.g. http://127.0.0.1:8765")
        self._catalog = ModelBackend(self.config)

    def headers(self) -> dict[str, str]:
        voter = self.voter()
        # Header values must be one line of latin-1: percent-encode the name (the gateway decodes it).
        return {SESSION_HEADER: self.session_id, VOTER_HEADER: quote(voter or self.session_id, safe="")}

    def engine_for(self, spec: ModelSpec) -> Engine:
        timeout = spec.source.timeout_s if isinstance(spec.source, RemoteSource) else DEFAULT_TIMEOUT_S
        # n_ctx known for local models: old turns are dropped by the same estimate as with a remote server, before
        # sending (llama_cpp.server would answer a too-long conversation with an HTTP 400).
        n_ctx = None if isinstance(spec.source, RemoteSource) else spec.n_ctx
        return RemoteEngine(spec.id, model_base_url(self.gateway_url, spec.id), spec.id, timeout_s=timeout,
                            n_ctx=n_ctx, extra_headers=self.headers())

    def facts_for(self, spec: ModelSpec) -> ModelFacts:
        return self._catalog.facts_for(spec)

    def is_present(self, spec: ModelSpec) -> bool:
        """Served by the gateway (a remote model is always present; a local one when its file is here)."""
        served = self.served()
        if served is not None and spec.id not in served:
            return False
        return self._catalog.is_present(spec)

    def preflight(self, specs: Sequence[ModelSpec], *, force: bool = False) -> str | None:
        return None  # the models live in the team's servers, which checked memory once when they started

    def served(self) -> set[str] | None:
        """The model ids the gateway serves (None when it cannot be asked: then the catalog decides)."""
        doc = self._status()
        ids = doc.get("served") if doc is not None else None
        return {str(x) for x in ids} if isinstance(ids, list) else None

    def health(self) -> TeamHealth | None:
        """The team's model servers, as counts (None when the gateway cannot be asked)."""
        doc = self._status()
        models = doc.get("models") if doc is not None else None
        return TeamHealth.from_status(models) if isinstance(models, dict) else None

    def _status(self) -> dict[str, object] | None:
        parts = urlsplit(self.gateway_url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        try:
            conn.request("GET", parts.path.rstrip("/") + "/team/status", headers=self.headers())
            resp = conn.getresponse()
            doc = json.loads(resp.read(1 << 20)) if resp.status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            return None
        finally:
            conn.close()
        return doc if isinstance(doc, dict) else None


def _count(doc: dict[str, object], key: str) -> int:
    value = doc.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class TeamHealth:
    """The team's model servers as `/team/status` counts them. Never which model: every session may be told, before
    its vote, that *a* server crashed, but not whose answers it was giving."""

    restarting: int
    down: int
    restarts: int

    @classmethod
    def from_status(cls, models: dict[str, object]) -> TeamHealth:
        return cls(_count(models, "restarting"), _count(models, "down"), _count(models, "restarts"))

    def notice(self, before: TeamHealth | None) -> tuple[str, bool] | None:
        """What a session should be told about the change since `before` (message, is_error), or None.

        Every session is told, not only the one whose round failed: a voter reading or typing would otherwise learn of
        a crash only from their next failed turn."""
        if before is None:  # the first look: only a server that is already down is news
            before = TeamHealth(restarting=self.restarting, down=0, restarts=self.restarts)
        if self == before:
            return None
        if self.down > before.down:
            return ("A model server of the team is down: it kept crashing and is no longer restarted. Tell whoever "
                    "runs `arena serve --team`; its terminal and log say why.", True)
        if self.restarts > before.restarts or self.restarting > before.restarting:
            return ("A model server of the team crashed and is being restarted; a turn that was answering failed "
                    "(both sides) and can be run again with ctrl+r once it is back.", True)
        if self.restarting < before.restarting or self.down < before.down:
            return ("The team's model servers are all running again.", False)
        return None
