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
        ids = doc.get("served") if isinstance(doc, dict) else None
        return {str(x) for x in ids} if isinstance(ids, list) else None
