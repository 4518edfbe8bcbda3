"""Team arena benchmark: many voters on one loaded demo pair (`arena serve --team --matchup demo`), all real parts.

(a) Queueing: 1, 2 and 4 simulated voters, each a thread playing rounds back to back the way the app does (both sides
    at once through the real gateway with the RemoteEngine, fixed max_tokens, own session and voter headers).
    Per round: the time until both answers are complete (queue wait included); per request: the queue wait the gateway
    measured (its /team/status). Reported as ratios against one voter alone, measured in the same run.
(b) Memory: the whole team process tree (the `arena serve --team` process, its model servers and N real browser
    sessions: websocket connections to textual-serve, each of which starts `arena tui --team-gateway` and plays one
    round by typing a prompt) for N = 1, 2, 4, against one normal `arena tui --matchup demo` session (in-process
    llama.cpp, on a pseudo-terminal) after one round. Read from /proc: the sum of VmHWM (each process's peak; the sum
    over-states the tree's simultaneous peak), VmRSS now, and Pss (shared pages such as Python's libraries split
    between the processes that map them, so the sum does not count them twice).

Run: .venv/bin/python benchmarks/team.py            (about 5-8 minutes on 2 cores)
     .venv/bin/python benchmarks/team.py --quick    (fewer rounds)
Options: --config FILE (default: the shipped models.yaml, matchup demo), --max-tokens N (simulated voters), --json.
"""

from __future__ import annotations

import argparse
import asyncio
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
    return {"total": total, "by_kind": by_kind, "processes": len(pids), "sessions": len(kinds["sessions"])}


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

def single_session(config: Path | None, db: Path) -> dict[str, int]:
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
    try:
        wait_until(lambda: b"Type a prompt below" in screen, "the single session to load")
        mark = len(screen)
        os.write(master, SESSION_PROMPT.encode() + b"\r")
        wait_until(lambda: b"Vote:" in screen[mark:], "the single session's round")
        return memory(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)


# -- main ---------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, help="models.yaml with a `demo` matchup (default: the shipped one)")
    ap.add_argument("--quick", action="store_true", help="2 rounds per voter instead of 3")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rounds = 2 if args.quick else 3

    from arena.config.loader import load_config

    config = load_config(args.config)
    demo = config.matchups["demo"]
    models = [demo.big, demo.small]
    tmp = Path(tempfile.mkdtemp(prefix="arena-team-bench-"))
    port = free_port()
    print(f"starting the team ({', '.join(models)}) ...", file=sys.stderr)
    team = Team(args.config, tmp / "team.db", port)
    result: dict[str, object] = {"cores": len(os.sched_getaffinity(0)), "max_tokens": args.max_tokens}
    try:
        queueing = []
        for voters in (1, 2, 4):
            print(f"(a) {voters} simulated voter(s), {rounds} rounds each ...", file=sys.stderr)
            queueing.append(simulate(team.gateway, models, voters, rounds, args.max_tokens))
        result["queueing"] = queueing

        mem = []
        hold: list = []
        loop = asyncio.new_event_loop()
        have = 0
        for n in (1, 2, 4):
            print(f"(b) {n} browser session(s) in the team, one round each ...", file=sys.stderr)
            loop.run_until_complete(browser_sessions(port, team.gateway, n - have, hold))
            have = n
            time.sleep(1.0)  # let the sessions redraw after their rounds before reading /proc
            mem.append({"sessions": n, **tree_memory(team.proc.pid)})
        result["team_memory"] = mem
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
    result["team_exit_code"] = code
    print("(b) one normal `arena tui --matchup demo` session, one round ...", file=sys.stderr)
    result["single_session"] = single_session(args.config, tmp / "single.db")
    report(result)
    if args.json:
        print(json.dumps(result, indent=2))


def report(r: dict) -> None:
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
    single = r["single_session"]
    print("\nMemory (MiB; sum over the processes)\n")
    print("| what | processes | VmHWM sum | VmRSS sum | Pss sum | Pss vs one normal session |")
    print("|---|---|---|---|---|---|")
    print(f"| one normal `arena tui --matchup demo` session (baseline) | 1 | {single['hwm'] / 1024:.0f} | "
          f"{single['rss'] / 1024:.0f} | {single['pss'] / 1024:.0f} | 1.00 |")
    for row in r["team_memory"]:
        t = row["total"]
        print(f"| team, {row['sessions']} browser session(s) | {row['processes']} | {t['hwm'] / 1024:.0f} | "
              f"{t['rss'] / 1024:.0f} | {t['pss'] / 1024:.0f} | {t['pss'] / max(1, single['pss']):.2f} |")
    last = r["team_memory"][-1]["by_kind"]
    n = r["team_memory"][-1]["sessions"] or 1
    print(f"\nOf which (team with {r['team_memory'][-1]['sessions']} sessions, VmRSS): team process "
          f"{last['team']['rss'] / 1024:.0f} MiB, model servers {last['servers']['rss'] / 1024:.0f} MiB, sessions "
          f"{last['sessions']['rss'] / 1024:.0f} MiB ({last['sessions']['rss'] / 1024 / n:.0f} MiB each; Pss "
          f"{last['sessions']['pss'] / 1024 / n:.0f} MiB each). Team exit code after SIGTERM: {r['team_exit_code']}.")


if __name__ == "__main__":
    main()
