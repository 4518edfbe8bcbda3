"""Team arena benchmark: many voters on one loaded demo pair (`arena serve --team --matchup demo`), all real parts.

(a) Queueing: 1, 2 and 4 simulated voters, each a thread playing rounds back to back the way the app does (both sides
    at once through the real gateway with the RemoteEngine, fixed max_tokens, own session and voter headers).
    Per round: the time until both answers are complete (queue wait included); per request: the queue wait the gateway
    measured (its /team/status). Reported as ratios against one voter alone, measured in the same run.
(b) Memory: the whole team process tree (the `arena serve --team` process, its model servers and N real browser
    sessions: websocket connections to textual-serve, each of which starts `arena tui --team-gateway` and plays one
    round by typing a prompt) for N = 0 (models loaded, nobody connected), 1, 2, 4, against one normal
    `arena tui --matchup demo` session (in-process llama.cpp, on a pseudo-terminal) after one round, started after the
    team has stopped. Both sides are measured the same way, from /proc, summed over the process tree: the peak of the
    summed VmRSS (sampled every 0.2 s from start-up; a sum of each process's VmHWM would add peaks that did not happen
    at the same time), VmRSS and Pss after the rounds (Pss splits shared pages, e.g. Python's libraries, between the
    processes that map them, so the sum counts them once). Each memory measurement uses a fresh team.
(c) Model size (`--sizes F16,F32`): (b) again with both demo models converted to each llama.cpp file type (a `derived:`
    source in a generated models.yaml in a temp dir; the files are built once by llama.cpp's quantizer into arena's
    models dir, where `arena pull` puts derived models, and reused). Per size the team's extra memory over one plain
    session; then, over the sizes, a least-squares line team(N) = a + b x plain for N = 1, 2, 4 gives the plain session
    (and the pair's GGUF files, from a line plain = p0 + q x files) above which the team is within 1.2x of it.

Run: .venv/bin/python benchmarks/team.py                 (about 3-4 minutes on 2 cores: (a) and (b))
     .venv/bin/python benchmarks/team.py --quick         (fewer rounds in (a))
     .venv/bin/python benchmarks/team.py --sizes F16,F32 (adds (c): about 8 minutes in all, plus about a minute the
                                                         first time to build the F16 and F32 files, 2.4 GB on disk)
     --memory-only skips (a).
Options: --config FILE (default: the shipped models.yaml, matchup demo), --max-tokens N (simulated voters), --json.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import fcntl
import json
import os
import re
import secrets
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arena.engine.remote import RemoteEngine  # noqa: E402
from arena.engine.scheduler import Scheduler  # noqa: E402
from arena.engine.types import ChatParams, Finished  # noqa: E402
from arena.team.backend import model_base_url  # noqa: E402
from arena.team.gateway import SESSION_HEADER, VOTER_HEADER  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]
SESSION_PROMPT = "Name three primary colors and say why each matters."
TIMEOUT_S = 900.0  # hang guard only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, what: str, timeout: float = TIMEOUT_S, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)


def status(gateway: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{gateway}/team/status", timeout=30).read())


# -- /proc ------------------------------------------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            found += descendants(child)
    return found


def memory(pid: int) -> dict[str, int]:
    """kB: VmHWM (peak RSS), VmRSS, Pss."""
    out = {"hwm": 0, "rss": 0, "pss": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["hwm"] = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tree_memory(root: int) -> dict[str, object]:
    pids = [root, *descendants(root)]
    parts = {pid: memory(pid) for pid in pids}
    kinds = {"team": [root], "servers": [p for p in pids if "llama_cpp.server" in cmdline(p)],
             "sessions": [p for p in pids if "--team-gateway" in cmdline(p) and "python" in cmdline(p).split(" ")[0]]}
    total = {k: sum(m[k] for m in parts.values()) for k in ("hwm", "rss", "pss")}
    by_kind = {kind: {k: sum(parts[p][k] for p in ps) for k in ("hwm", "rss", "pss")} for kind, ps in kinds.items()}
    return {"total": total, "by_kind": by_kind, "processes": len(pids), "session_processes": len(kinds["sessions"])}


class TreePeak:
    """Samples the process tree under `root` every `every` s in a thread: the largest sum of VmRSS (and of Pss) seen.
    Sampling the sum counts processes that come and go and never adds per-process peaks that were not simultaneous."""

    def __init__(self, root: int, every: float = 0.2) -> None:
        self.root = root
        self.every = every
        self.rss = 0  # kB
        self.pss = 0  # kB
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-peak", daemon=True)

    def sample(self) -> None:
        parts = [memory(pid) for pid in [self.root, *descendants(self.root)]]
        self.rss = max(self.rss, sum(m["rss"] for m in parts))
        self.pss = max(self.pss, sum(m["pss"] for m in parts))
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def now(self) -> dict[str, int]:
        return {"peak_rss": self.rss, "peak_pss": self.pss}


# -- the team -----------------------------------------------------------------------------------------------------

class Team:
    def __init__(self, config: Path | None, db: Path, port: int) -> None:
        cmd = [sys.executable, "-m", "arena"]
        if config:
            cmd += ["--config", str(config)]
        cmd += ["--db", str(db), "serve", "--team", "--matchup", "demo", "--port", str(port), "--voter", "bench"]
        self.port = port
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                     env=os.environ | {"PYTHONPATH": str(REPO)}, start_new_session=True)
        self.peak = TreePeak(self.proc.pid).__enter__()  # from the start: loading the models may be the peak
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any("voters open" in x for x in self.lines) or self.proc.poll() is not None, "the team")
        if self.proc.poll() is not None:
            raise SystemExit("arena serve --team failed:\n" + "".join(self.lines))
        found = re.search(r"gateway (http://127\.0\.0\.1:\d+)", "".join(self.lines))
        assert found, self.lines
        self.gateway = found.group(1)

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.lines.append(line)

    def stop(self) -> int:
        self.peak.__exit__()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return -9


# -- (a) simulated voters ------------------------------------------------------------------------------------------

def voter_rounds(gateway: str, models: list[str], name: str, rounds: int, max_tokens: int,
                 start: threading.Barrier, out: list[float]) -> None:
    headers = {SESSION_HEADER: secrets.token_hex(8), VOTER_HEADER: name}
    engines = tuple(RemoteEngine(m, model_base_url(gateway, m), m, timeout_s=300, extra_headers=headers) for m in models)
    for engine in engines:
        engine.load()
    scheduler = Scheduler()
    start.wait()
    for i in range(rounds):
        params = ChatParams(seed=1000 + i, max_tokens=max_tokens, temperature=0.7)
        t0 = time.perf_counter()
        results = scheduler.run_pair(engines, (PROMPT, PROMPT), (params, params), "concurrent")  # type: ignore[arg-type]
        out.append(time.perf_counter() - t0)
        if not all(isinstance(r, Finished) for r in results):
            raise SystemExit(f"a round failed: {results}")


def simulate(gateway: str, models: list[str], voters: int, rounds: int, max_tokens: int) -> dict[str, object]:
    before = status(gateway)["requests"]["count"]
    times: list[float] = []
    barrier = threading.Barrier(voters)
    threads = [threading.Thread(target=voter_rounds, args=(gateway, models, f"voter-{v}", rounds, max_tokens, barrier,
                                                         times)) for v in range(voters)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    doc = status(gateway)["requests"]
    new = doc["count"] - before
    waits = doc["recent_waits_s"][-new:] if new else []
    return {
        "voters": voters, "rounds": len(times), "wall_s": wall,
        "round_median_s": statistics.median(times), "round_p95_s": _p95(times),
        "wait_p95_s": _p95(waits), "wait_median_s": statistics.median(waits) if waits else 0.0,
        "rounds_per_min": 60 * len(times) / wall,
    }


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


# -- (b) browser sessions ----------------------------------------------------------------------------------------

async def browser_sessions(port: int, gateway: str, count: int, hold: list) -> None:
    """Open `count` more websocket sessions (each starts `arena tui --team-gateway`), let each play one round."""
    import aiohttp

    http = aiohttp.ClientSession()
    hold.append(http)
    screens: list[bytearray] = []

    async def reader(ws, screen: bytearray) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                screen.extend(msg.data)

    sockets = []
    for _ in range(count):
        ws = await http.ws_connect(f"http://127.0.0.1:{port}/ws?width=140&height=44")
        screen = bytearray()
        screens.append(screen)
        hold.append(asyncio.create_task(reader(ws, screen)))
        sockets.append(ws)
    deadline = time.monotonic() + TIMEOUT_S
    while not all(b"Type a prompt below" in s for s in screens):
        if time.monotonic() > deadline:
            raise SystemExit("the browser sessions did not load")
        await asyncio.sleep(0.1)
    before = status(gateway)["requests"]["count"]
    for ws in sockets:
        await ws.send_json(["stdin", SESSION_PROMPT + "\r"])
    while True:  # both sides of every new session's round have run, and nobody waits
        doc = status(gateway)
        if doc["requests"]["count"] - before >= 2 * count and not doc["queue"]["busy"]:
            break
        if time.monotonic() > deadline:
            raise SystemExit("the sessions' rounds did not finish")
        await asyncio.sleep(0.2)
    hold.extend(sockets)


# -- the baseline: one normal session -------------------------------------------------------------------------------

def single_session(config: Path | None, db: Path) -> dict[str, object]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 44, 140, 0, 0))
    cmd = [sys.executable, "-m", "arena"]
    if config:
        cmd += ["--config", str(config)]
    cmd += ["--db", str(db), "tui", "--matchup", "demo", "--voter", "bench"]
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, cwd=REPO, start_new_session=True,
                            env=os.environ | {"PYTHONPATH": str(REPO), "TERM": "xterm-256color"})
    os.close(slave)
    screen = bytearray()

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data)

    threading.Thread(target=read, daemon=True).start()
    peak = TreePeak(proc.pid).__enter__()
    try:
        wait_until(lambda: b"Type a prompt below" in screen, "the single session to load")
        mark = len(screen)
        os.write(master, SESSION_PROMPT.encode() + b"\r")
        wait_until(lambda: b"Vote:" in screen[mark:], "the single session's round")
        time.sleep(1.0)  # as for the team: let it redraw after the round before reading /proc
        peak.sample()
        return {**tree_memory(proc.pid), **peak.now()}
    finally:
        peak.__exit__()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)


# -- (b) and (c): one memory measurement, and the model-size sweep ----------------------------------------------------

def memory_run(config: Path | None, label: str, tmp: Path, files_bytes: int) -> dict[str, object]:
    """A fresh team: its tree with 0, 1, 2 and 4 browser sessions; then, the team stopped, one plain session."""
    port = free_port()
    print(f"(b) [{label}] starting the team ...", file=sys.stderr)
    team = Team(config, tmp / f"team-{label}.db", port)
    rows: list[dict[str, object]] = []
    try:
        time.sleep(1.0)
        team.peak.sample()
        rows.append({**tree_memory(team.proc.pid), **team.peak.now(), "sessions": 0})
        hold: list = []
        loop = asyncio.new_event_loop()
        have = 0
        for n in (1, 2, 4):
            print(f"(b) [{label}] {n} browser session(s) in the team, one round each ...", file=sys.stderr)
            loop.run_until_complete(browser_sessions(port, team.gateway, n - have, hold))
            have = n
            time.sleep(1.0)  # let the sessions redraw after their rounds before reading /proc
            team.peak.sample()
            rows.append({**tree_memory(team.proc.pid), **team.peak.now(), "sessions": n})
        for item in hold:
            if isinstance(item, asyncio.Task):
                item.cancel()
        for item in hold:
            close = getattr(item, "close", None)
            if close is not None and not isinstance(item, asyncio.Task):
                loop.run_until_complete(close())
        loop.close()
    finally:
        code = team.stop()
    print(f"(b) [{label}] one normal `arena tui --matchup demo` session, one round ...", file=sys.stderr)
    single = single_session(config, tmp / f"single-{label}.db")
    return {"label": label, "files_bytes": files_bytes, "team": rows, "single": single, "team_exit_code": code}


def pair_files(config_path: Path | None) -> tuple[list[str], int]:
    """The demo pair's model ids and the size of their two GGUF files, building what is missing (assembled demo
    files, derived quants) the way `arena pull` does."""
    from arena.config.loader import load_config
    from arena.models.resolve import resolve

    config = load_config(config_path)
    demo = config.matchups["demo"]
    total = 0
    for model_id in (demo.big, demo.small):
        resolved = resolve(config.models[model_id], config, download=True, offline=True)
        if resolved.path is None:
            raise SystemExit(f"model {model_id} has no local file (a remote model): the memory benchmark needs local models")
        total += resolved.path.stat().st_size
    return [demo.big, demo.small], total


def sized_config(config_path: Path | None, type_name: str, tmp: Path) -> Path:
    """A models.yaml in `tmp`: the original models plus both demo models converted to `type_name` (derived sources),
    with `demo` as their matchup. Everything else about the two models (n_ctx, chat_format, sampling) stays the same."""
    import yaml

    from arena.config.loader import load_config

    config = load_config(config_path)
    raw = yaml.safe_load(config.path.read_text())
    demo = config.matchups["demo"]
    for entry in raw["models"]:  # a relative path was relative to the original file
        src = entry.get("source") or {}
        if "path" in src and not Path(str(src["path"])).expanduser().is_absolute():
            src["path"] = str(config.path.parent / str(src["path"]))
    by_id = {entry["id"]: entry for entry in raw["models"]}
    pair = []
    for model_id in (demo.big, demo.small):
        entry = copy.deepcopy(by_id[model_id])  # a shared dict would be written as a YAML alias, which arena refuses
        new_id = f"{model_id}-bench-{type_name.lower()}"
        entry.update(id=new_id, name=f"{entry.get('name', model_id)} ({type_name})", quant=type_name,
                     source={"derived": {"from": model_id, "type": type_name}})
        raw["models"].append(entry)
        pair.append(new_id)
    raw["matchups"] = [{"id": "demo", "big": pair[0], "small": pair[1],
                        "description": f"benchmarks/team.py: the demo pair converted to {type_name}"}]
    raw.pop("ladders", None)
    raw.setdefault("defaults", {})["matchup"] = "demo"
    out = tmp / f"models-{type_name.lower()}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def fit(runs: list[dict], metric: str) -> dict[str, object]:
    """Over the model sizes: plain = p0 + q x files, and for N sessions team(N) = a + b x plain; the team is within
    1.2x of the plain session when plain >= a / (1.2 - b). Needs two sizes or more."""
    plain = [_metric(r["single"], metric) for r in runs]
    files = [r["files_bytes"] / 1024 for r in runs]  # kB, like /proc
    q, p0 = statistics.linear_regression(files, plain)
    out: dict[str, object] = {"metric": metric, "plain_p0_kb": p0, "plain_per_file_kb": q,
                              "plain_max_residual_kb": max(abs(y - p0 - q * x) for x, y in zip(files, plain)),
                              "crossover": []}
    for n in (1, 2, 4):
        team = [_metric(next(row for row in r["team"] if row["sessions"] == n), metric) for r in runs]
        b, a = statistics.linear_regression(plain, team)
        at = a / (1.2 - b) if b < 1.2 and a / (1.2 - b) > 0 else None
        out["crossover"].append({  # type: ignore[union-attr]
            "sessions": n, "a_kb": a, "b": b, "plain_kb": at,
            "max_residual_kb": max(abs(y - a - b * x) for x, y in zip(plain, team)),
            "resident_kb": None if at is None else at - p0,
            "files_bytes": None if at is None else 1024 * (at - p0) / q,
        })
    return out


def per_voter(run: dict, metric: str) -> tuple[float, float]:
    """Least squares over N = 1, 2, 4 sessions: (team with no session, extrapolated; cost per session), kB."""
    rows = [row for row in run["team"] if row["sessions"] >= 1]
    slope, intercept = statistics.linear_regression([row["sessions"] for row in rows], [_metric(row, metric) for row in rows])
    return intercept, slope


def _metric(row: dict, metric: str) -> int:
    return int(row["total"][metric]) if metric in ("rss", "pss", "hwm") else int(row[metric])


# -- main ---------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, help="models.yaml with a `demo` matchup (default: the shipped one)")
    ap.add_argument("--quick", action="store_true", help="2 rounds per voter instead of 3")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--memory-only", action="store_true", help="skip (a), the queueing measurement")
    ap.add_argument("--sizes", default="", metavar="TYPES",
                    help="comma-separated llama.cpp file types, e.g. F16,F32: measure memory also with both demo models "
                         "converted to each (built once into arena's models dir) and fit where the team is within 1.2x")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rounds = 2 if args.quick else 3
    sizes = [t.strip().upper() for t in args.sizes.split(",") if t.strip()]
    if sizes:
        from arena.models.quantize import ftype_value

        for t in sizes:
            ftype_value(t)  # an unknown name fails here, before anything runs

    tmp = Path(tempfile.mkdtemp(prefix="arena-team-bench-"))
    models, files = pair_files(args.config)
    configs: list[tuple[str, Path | None]] = [("shipped", args.config)]
    for t in sizes:
        path = sized_config(args.config, t, tmp)
        print(f"(c) building the demo pair at {t} (once; then reused) ...", file=sys.stderr)
        configs.append((t, path))
    sized_files = {label: pair_files(path)[1] if label != "shipped" else files for label, path in configs}

    result: dict[str, object] = {"cores": len(os.sched_getaffinity(0)), "max_tokens": args.max_tokens,
                                 "load_average_start": os.getloadavg()}
    if not args.memory_only:
        port = free_port()
        print(f"(a) starting the team ({', '.join(models)}) ...", file=sys.stderr)
        team = Team(args.config, tmp / "queue.db", port)
        try:
            queueing = []
            for voters in (1, 2, 4):
                print(f"(a) {voters} simulated voter(s), {rounds} rounds each ...", file=sys.stderr)
                queueing.append(simulate(team.gateway, models, voters, rounds, args.max_tokens))
            result["queueing"] = queueing
        finally:
            result["queue_team_exit_code"] = team.stop()

    runs = [memory_run(path, label, tmp, sized_files[label]) for label, path in configs]
    result["memory"] = runs
    if len(runs) >= 2:
        result["fit"] = {m: fit(runs, m) for m in ("peak_rss", "pss")}
    result["load_average_end"] = os.getloadavg()
    report(result)
    if args.json:
        print(json.dumps(result, indent=2))


MIB = 1024  # kB per MiB


def report(r: dict) -> None:
    if "queueing" in r:
        q = r["queueing"]
        base = q[0]
        print(f"\nQueueing ({r['cores']} cores; max_tokens {r['max_tokens']} per side; both sides at once per round)\n")
        print("| voters | rounds | time to both answers per round, median (p95) | vs 1 voter | queue wait per request p95 "
              "| in 1-voter rounds | rounds/min, all voters |")
        print("|---|---|---|---|---|---|---|")
        for row in q:
            print(f"| {row['voters']} | {row['rounds']} | {row['round_median_s']:.1f} s ({row['round_p95_s']:.1f} s) | "
                  f"{row['round_median_s'] / base['round_median_s']:.2f}x | {row['wait_p95_s']:.1f} s | "
                  f"{row['wait_p95_s'] / base['round_median_s']:.2f} | {row['rounds_per_min']:.1f} "
                  f"({row['rounds_per_min'] / base['rounds_per_min']:.2f}x) |")

    print("\nMemory (MiB; sums over the process tree; peak = largest sampled sum of VmRSS; RSS and Pss after the rounds)\n")
    print("| demo pair (GGUF files) | what | processes | peak RSS | RSS | Pss | peak RSS vs plain | Pss vs plain |")
    print("|---|---|---|---|---|---|---|---|")
    for run in r["memory"]:
        single = run["single"]
        pair = f"{run['label']} ({run['files_bytes'] / 1e6:.0f} MB)"
        print(f"| {pair} | one normal `arena tui` session (baseline) | {single['processes']} | "
              f"{single['peak_rss'] / MIB:.0f} | {single['total']['rss'] / MIB:.0f} | {single['total']['pss'] / MIB:.0f} "
              f"| 1.00 | 1.00 |")
        for row in run["team"]:
            t = row["total"]
            print(f"| {pair} | team, {row['sessions']} browser session(s) | {row['processes']} | "
                  f"{row['peak_rss'] / MIB:.0f} | {t['rss'] / MIB:.0f} | {t['pss'] / MIB:.0f} | "
                  f"{row['peak_rss'] / single['peak_rss']:.2f} | {t['pss'] / single['total']['pss']:.2f} |")
    for run in r["memory"]:
        last = run["team"][-1]
        by = last["by_kind"]
        n = last["session_processes"] or 1
        c_rss, v_rss = per_voter(run, "peak_rss")
        c_pss, v_pss = per_voter(run, "pss")
        single = run["single"]
        print(f"\n[{run['label']}] team with {last['sessions']} sessions, VmRSS: team process {by['team']['rss'] / MIB:.0f} "
              f"MiB, model servers {by['servers']['rss'] / MIB:.0f} MiB, sessions {by['sessions']['rss'] / MIB:.0f} MiB "
              f"({by['sessions']['rss'] / MIB / n:.0f} MiB each; Pss {by['sessions']['pss'] / MIB / n:.0f} MiB each). "
              f"Fit over 1/2/4 sessions: per session {v_rss / MIB:.0f} MiB peak RSS / {v_pss / MIB:.0f} MiB Pss; "
              f"the team's fixed cost over one plain session (the fit at 0 sessions minus the plain session): "
              f"{(c_rss - single['peak_rss']) / MIB:.0f} MiB peak RSS / {(c_pss - single['total']['pss']) / MIB:.0f} "
              f"MiB Pss. Team exit code after SIGTERM: {run['team_exit_code']}.")
    for metric, f in (r.get("fit") or {}).items():
        name = {"peak_rss": "peak RSS", "pss": "Pss"}[metric]
        largest = max(run["files_bytes"] for run in r["memory"]) / 1e6
        print(f"\nWhere 1.2x holds ({name}; least squares over {len(r['memory'])} model sizes, the largest {largest:.0f} MB "
              f"of files): plain session = {f['plain_p0_kb'] / MIB:.0f} MiB + {f['plain_per_file_kb']:.2f} x the pair's "
              f"GGUF files (largest residual {f['plain_max_residual_kb'] / MIB:.0f} MiB)")
        for c in f["crossover"]:
            line = (f"  team with {c['sessions']} session(s) = {c['a_kb'] / MIB:.0f} MiB + {c['b']:.2f} x plain "
                    f"(largest residual {c['max_residual_kb'] / MIB:.0f} MiB)")
            if c["plain_kb"] is None:
                print(line + ": never within 1.2x")
                continue
            extrapolated = " (extrapolated)" if c["files_bytes"] / 1e6 > largest else ""
            print(f"{line}: within 1.2x when one plain session takes >= {c['plain_kb'] / MIB:.0f} MiB, i.e. the part "
                  f"that grows with the models (plain minus {f['plain_p0_kb'] / MIB:.0f} MiB) >= "
                  f"{c['resident_kb'] / MIB:.0f} MiB: a pair of GGUF files >= {c['files_bytes'] / 1e6:.0f} MB{extrapolated}")
    print(f"\nLoad average (1/5/15 min) at start {' / '.join(f'{x:.1f}' for x in r['load_average_start'])}, "
          f"at end {' / '.join(f'{x:.1f}' for x in r['load_average_end'])}")


if __name__ == "__main__":
    main()
