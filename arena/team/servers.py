"""One `python -m llama_cpp.server` per local model of the team, on a free loopback port: started, watched, restarted
when it crashes (a bounded number of times), and stopped with the team.

- Settings come from the model's ModelSpec: n_ctx, chat_format, n_gpu_layers, threads (see `ServerSpec.for_model`);
  `logits_all` is turned off (memory, see `argv`). `interrupt_requests` is turned off: llama_cpp.server's default lets a new request cut off the stream that is
  running, which would let one voter's request end another's answer.
- Health: a server is up when GET /v1/models answers 200 (llama_cpp.server loads the model before it listens).
- Crashes: a server that exits while up is restarted on a fresh port, at most `max_restarts` times within `window_s`
  (default 3 in 10 minutes); after that it is reported down and left down (it would most likely crash again: out of
  memory, a broken file). Events are reported without naming the model (voters may read /team/status).
- Shutdown: `stop()` (also from atexit) terminates every server, then kills what is left after a grace period. The
  servers run in their own process group, so a Ctrl+C in the team's terminal reaches only the team process, which then
  stops them in order (otherwise they would die on their own and look like crashes). If the team process is killed
  with -9, the kernel kills them (PR_SET_PDEATHSIG, see `arena.team.child`).
- Every process is started by the supervisor's one thread (`_keep`): the kernel's parent-death signal follows the
  *thread* that started a child, so a server started from a short-lived thread would die with that thread.
"""

from __future__ import annotations

import atexit
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from arena.config.types import ModelSpec
from arena.errors import ModelError
from arena.team.gateway import SERVER_DOWN, SERVER_RESTARTING, Route, Unavailable

LOG_TAIL_LINES = 15


class State(str, Enum):
    STARTING = "starting"
    UP = "up"
    RESTARTING = "restarting"
    DOWN = "down"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ServerSpec:
    """What one model server runs."""

    model_id: str
    path: Path
    n_ctx: int = 4096
    n_threads: int = 1
    chat_format: str | None = None
    n_gpu_layers: int = 0

    @classmethod
    def for_model(cls, spec: ModelSpec, path: Path, threads: int) -> ServerSpec:
        return cls(spec.id, path, spec.n_ctx, spec.n_threads or threads, spec.chat_format, spec.n_gpu_layers)

    def argv(self, port: int) -> list[str]:
        args = [
            "--model", str(self.path), "--model_alias", self.model_id,
            "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads),
            "--n_gpu_layers", str(self.n_gpu_layers),
            "--interrupt_requests", "False",  # see the module doc: one voter's request must not end another's
            # The server's default keeps every position's logits (for `logprobs`, which the arena never asks for):
            # with Gemma-3's 262k vocabulary that cost 120 MB more RSS in one round (545 vs 427 MB, measured).
            "--logits_all", "False",
        ]
        if self.chat_format:
            args += ["--chat_format", self.chat_format]
        return args


class ServerStartError(ModelError):
    """A model server did not come up; the message carries the tail of its log."""


@dataclass
class _Server:
    spec: ServerSpec
    log_path: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    state: State = State.STARTING
    deadline: float = 0.0  # for STARTING / RESTARTING: give up after this (monotonic)
    crashes: deque[float] = field(default_factory=deque)  # monotonic times of crashes within the window
    restarts: int = 0
    last_exit: int | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int, timeout_s: float = 2.0) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", "/v1/models")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def log_tail(path: Path, lines: int = LOG_TAIL_LINES, limit: int = 3000) -> str:
    """The last lines of a server log, for an error message (sanitized when the message is rendered)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = "\n".join(text.splitlines()[-lines:])
    return tail[-limit:] or "(the log is empty)"


class Supervisor:
    def __init__(
        self,
        specs: Sequence[ServerSpec],
        log_dir: Path,
        *,
        python: str = sys.executable,
        health_timeout_s: float = 600.0,
        max_restarts: int = 3,
        window_s: float = 600.0,
        poll_s: float = 0.25,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.python = python
        self.health_timeout_s = health_timeout_s
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.poll_s = poll_s
        self.on_event = on_event or (lambda _msg: None)
        self._servers = {s.model_id: _Server(s, log_dir / f"{s.model_id}.log") for s in specs}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = threading.Event()  # all up for the first time, or the start failed
        self._start_error: ServerStartError | None = None
        self._events: deque[str] = deque(maxlen=50)
        self._keeper: threading.Thread | None = None
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------------------------------------
    def start(self, timeout_s: float | None = None) -> Supervisor:
        """Start every server and wait until all answer; raises ServerStartError (after stopping the others)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        self._keeper = threading.Thread(target=self._keep, name="arena-team-servers", daemon=True)
        self._keeper.start()
        try:
            self._started.wait(timeout_s)
        except BaseException:  # Ctrl+C or SIGTERM while the models load: stop what has started
            self.stop()
            raise
        if self._start_error is not None or not self._started.is_set():
            self.stop()
            raise self._start_error or ServerStartError("The model servers did not start in time",
                                                        f"see their logs in {self.log_dir}")
        return self

    def stop(self) -> None:
        """Stop every server (idempotent; safe from atexit and signal handlers)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=30)
        self._terminate_all()  # in case the keeper never ran or is stuck
        try:
            atexit.unregister(self.stop)
        except Exception:  # noqa: BLE001 - interpreter shutting down
            pass

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- what the gateway asks -----------------------------------------------------------------------------------------
    def route(self, model_id: str) -> Route:
        with self._lock:
            server = self._servers[model_id]
            state, port = server.state, server.port
        if state is State.UP:
            return Route(f"http://127.0.0.1:{port}/v1", model_id)
        if state is State.DOWN:
            raise Unavailable(SERVER_DOWN)
        raise Unavailable(SERVER_RESTARTING)

    def state(self, model_id: str) -> State:
        with self._lock:
            return self._servers[model_id].state

    def pid(self, model_id: str) -> int | None:
        with self._lock:
            proc = self._servers[model_id].proc
        return proc.pid if proc is not None else None

    def pids(self) -> list[int]:
        with self._lock:
            return [s.proc.pid for s in self._servers.values() if s.proc is not None]

    def log_path(self, model_id: str) -> Path:
        return self._servers[model_id].log_path

    def status(self) -> dict[str, object]:
        """Counts and blind events: which model is affected is never said (voters may read this)."""
        with self._lock:
            states = [s.state for s in self._servers.values()]
            restarts = sum(s.restarts for s in self._servers.values())
            events = list(self._events)
        return {
            "total": len(states),
            **{st.value: sum(1 for x in states if x is st) for st in State if st is not State.STOPPED},
            "restarts": restarts,
            "events": events,
        }

    # -- the keeper thread -------------------------------------------------------------------------------------------
    def _event(self, message: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {message}"
        with self._lock:
            self._events.append(stamped)
        try:
            self.on_event(message)
        except Exception:  # noqa: BLE001 - a reporting bug must not stop the supervision
            pass

    def _spawn(self, server: _Server) -> None:
        port = free_port()
        with open(server.log_path, "ab") as log:
            log.write(f"\n--- arena: starting on port {port} ---\n".encode())
            log.flush()
            cmd = [self.python, "-m", "arena.team.child", str(os.getpid()), "llama_cpp.server", *server.spec.argv(port)]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, env=os.environ.copy())
        with self._lock:
            server.port, server.proc = port, proc
            server.deadline = time.monotonic() + self.health_timeout_s

    def _keep(self) -> None:
        try:
            for server in self._servers.values():
                self._spawn(server)
            while not self._stop.wait(self.poll_s):
                for server in self._servers.values():
                    self._check(server)
                if not self._started.is_set() and all(s.state is State.UP for s in self._servers.values()):
                    self._started.set()
        except BaseException as exc:  # noqa: BLE001 - the start must never hang on a keeper bug
            if self._started.is_set():
                # After start-up nobody reads _start_error: without this, sessions would be told "restarting" forever
                # and the host's terminal would print nothing. Every server is reported down (a keeper bug or, e.g., no
                # free port or file handle for a restart); the detail, which may name a model, only in the host's log.
                sys.stderr.write(f"arena serve --team: the model-server supervisor stopped: {exc!r}\n")
                self._terminate_all()
                with self._lock:
                    for server in self._servers.values():
                        server.state = State.DOWN
                self._event("the model-server supervisor stopped: every model server is down; restart `arena serve --team`")
                return
            self._start_error = self._start_error or ServerStartError(f"The model-server supervisor failed: {exc!r}")
            self._started.set()
        finally:
            self._terminate_all()

    def _check(self, server: _Server) -> None:
        proc = server.proc
        if server.state in (State.DOWN, State.STOPPED) or proc is None:
            return
        code = proc.poll()
        if server.state in (State.STARTING, State.RESTARTING):
            if code is None and healthy(server.port):
                with self._lock:
                    server.state = State.UP
                if server.restarts:
                    self._event("a model server is back up after a restart")
                return
            if code is None and time.monotonic() < server.deadline:
                return
            timed_out = code is None
            if timed_out:  # never answered: treat like a crash
                proc.kill()
                proc.wait()
                code = proc.returncode
            if server.state is State.STARTING and not self._started.is_set():
                self._start_error = self._start_failure(server, None if timed_out else code)
                self._started.set()
                self._stop.set()
                return
        elif code is None:
            return
        self._crashed(server, code)

    def _crashed(self, server: _Server, code: int | None) -> None:
        now = time.monotonic()
        server.last_exit = code
        while server.crashes and now - server.crashes[0] > self.window_s:
            server.crashes.popleft()
        server.crashes.append(now)
        minutes = f"{self.window_s / 60:g} min"
        if len(server.crashes) > self.max_restarts:
            with self._lock:
                server.state = State.DOWN
            self._event(f"a model server stopped (exit code {code}) for the {len(server.crashes)}th time in {minutes}: "
                        "it is down and not restarted again")
            return
        with self._lock:
            server.state = State.RESTARTING
            server.restarts += 1
        self._event(f"a model server stopped (exit code {code}); restarting it ({len(server.crashes)} of "
                    f"{self.max_restarts} restarts allowed in {minutes})")
        self._spawn(server)

    def _start_failure(self, server: _Server, code: int | None) -> ServerStartError:
        spec = server.spec
        what = f"exited with code {code}" if code is not None else f"did not answer within {self.health_timeout_s:g} s"
        return ServerStartError(
            f"The model server for '{spec.model_id}' ({spec.path}) {what} while starting. The end of its log "
            f"({server.log_path}):\n{log_tail(server.log_path)}\n",
            "check the model file (`arena models`, `arena pull ID`), its n_ctx and chat_format in models.yaml, and "
            "the free memory; the whole log is in the file above",
        )

    def _terminate_all(self, grace_s: float = 10.0) -> None:
        with self._lock:
            for server in self._servers.values():
                if server.state is not State.DOWN:
                    server.state = State.STOPPED
            procs = [s.proc for s in self._servers.values() if s.proc is not None and s.proc.poll() is None]
        for proc in procs:
            try:
                proc.terminate()
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
