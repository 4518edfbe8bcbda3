"""Store benchmark: vote commit latency, and `arena stats` over 1,000,000 votes, each against a bare-SQLite baseline.

Run: .venv/bin/python benchmarks/store.py            (about a minute or two; needs ~1.5 GB of free disk in the temp dir)
     .venv/bin/python benchmarks/store.py --votes 100000 --commits 500    (quick)

Targets (DESIGN.md): vote commit p99 < 10 ms; `arena stats` over 1,000,000 votes < 2 s with bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arena.store import VoteStore  # noqa: E402
from arena.store.synthetic import BIG, EPOCH, FACTS, SMALL, make_record  # noqa: E402
from arena.store.votes import MODEL_COLUMNS, VOTE_COLUMNS, vote_row  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_commits(folder: Path, n: int, synchronous: str) -> list[float]:
    """Milliseconds per record_vote (both models' facts upserted + the vote, one fsynced transaction)."""
    rng = random.Random(1)
    records = [make_record(i, rng, answer_chars=1500) for i in range(n)]  # ~ a real answer pair: 2 x 1.5 KB of text
    store = VoteStore(folder / f"commits-{synchronous}.db", synchronous=synchronous)
    times = []
    for rec in records:
        start = time.perf_counter()
        store.record_vote(rec, FACTS)
        times.append((time.perf_counter() - start) * 1000)
    store.close()
    return times


def bench_bare_commits(folder: Path, n: int) -> list[float]:
    """Baseline: sqlite3 INSERT + COMMIT of the same payload into a one-table DB with the same pragmas (WAL, FULL)."""
    rng = random.Random(1)
    payloads = [json.dumps(vote_row(make_record(i, rng, answer_chars=1500))) for i in range(n)]
    conn = sqlite3.connect(folder / "bare.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
    times = []
    for payload in payloads:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (str(uuid.uuid4()), payload))
        conn.execute("COMMIT")
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return times


def build_big_db(path: Path, n: int, answer_chars: int) -> float:
    """n synthetic votes over 3 matchups, bulk-inserted with executemany in one transaction. Returns seconds."""
    VoteStore(path).close()  # schema via the real migrations
    rng = random.Random(2)
    templates = [vote_row(make_record(i, rng, answer_chars=answer_chars)) for i in range(512)]
    col = {c: i for i, c in enumerate(VOTE_COLUMNS)}
    pairs = [(f"{BIG}-{k}", f"{SMALL}-{k}") for k in range(3)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size=-262144")  # 256 MB page cache for the random-uuid primary key during the load
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for k, (big, small) in enumerate(pairs):
        for model_id, base in ((big, FACTS[BIG]), (small, FACTS[SMALL])):
            facts: dict[str, object] = {**base.to_dict(), "id": model_id, "name": f"{base.name} #{k}"}
            facts.update(requantized=0, first_seen=EPOCH.isoformat(), last_seen=EPOCH.isoformat())
            conn.execute(
                f"INSERT INTO models ({', '.join(MODEL_COLUMNS)}) VALUES ({', '.join('?' * len(MODEL_COLUMNS))})",
                [facts[c] for c in MODEL_COLUMNS],
            )

    def rows():  # a generator: executemany streams it, the million rows never sit in memory together
        for i in range(n):
            row = list(templates[i % len(templates)])
            big, small = pairs[i % 3]
            rename = {BIG: big, SMALL: small}
            row[col["uuid"]] = str(uuid.uuid4())
            row[col["tstamp"]] = (EPOCH + timedelta(seconds=i * 7)).isoformat(timespec="milliseconds")
            row[col["matchup_id"]] = f"matchup-{i % 3}"
            row[col["voter"]] = f"voter{i % 5}"
            for name in ("model_a", "model_b", "big_model", "small_model", "winner_model"):
                if row[col[name]] is not None:
                    row[col[name]] = rename[row[col[name]]]
            yield row

    conn.executemany(f"INSERT INTO battles ({', '.join(VOTE_COLUMNS)}) VALUES ({', '.join('?' * len(VOTE_COLUMNS))})", rows())
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")  # what a long-lived DB accumulates anyway (sqlite_stat1); harmless if absent
    conn.close()
    return elapsed


# VmHWM, not getrusage: on Linux ru_maxrss survives exec, so a child forked from this (big) process would report our peak.
_PEAK_RSS = """
def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_STATS_CHILD = _PEAK_RSS + """
import json, sys, time
start = time.perf_counter()
from arena.store import Filters, VoteStore
from arena.stats.report import build_report
store = VoteStore(sys.argv[1], create=False)
rows_total = 0
agg_s = 0.0
for matchup in store.matchups():
    big, small = store.matchup_models(matchup)
    t_agg = time.perf_counter()
    rows = store.aggregate(Filters(matchup=matchup))
    agg_s += time.perf_counter() - t_agg
    rows_total += sum(r.count for r in rows)
    build_report(rows, big, small, matchup=matchup)
store.close()
print(json.dumps({"seconds": time.perf_counter() - start, "votes": rows_total, "aggregate_s": agg_s,
                  "maxrss_mb": peak_rss_mb()}))
"""

_AGG_ONLY_CHILD = _PEAK_RSS + """
import json, sys, time
from arena.store import Filters, VoteStore
store = VoteStore(sys.argv[1], create=False)
start = time.perf_counter()
rows = store.aggregate(Filters())
print(json.dumps({"seconds": time.perf_counter() - start, "votes": sum(r.count for r in rows),
                  "maxrss_mb": peak_rss_mb()}))
"""

_BARE_CHILD = _PEAK_RSS + """
import json, sqlite3, sys, time
start = time.perf_counter()
conn = sqlite3.connect(sys.argv[1])
n = conn.execute("SELECT count(*) FROM battles").fetchone()[0]
print(json.dumps({"seconds": time.perf_counter() - start, "votes": n,
                  "maxrss_mb": peak_rss_mb()}))
"""


def _child(code: str, db: Path) -> dict[str, float]:
    """Run in a fresh process so peak RSS is the query's own, not this benchmark's bulk loader's."""
    out = subprocess.run([sys.executable, "-c", code, str(db)], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _cli_stats(db: Path) -> float:
    """Wall time of the real command, interpreter start-up included: `arena --db DB stats`."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "arena", "--db", str(db), "stats"], cwd=REPO, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--votes", type=int, default=1_000_000)
    p.add_argument("--commits", type=int, default=2000)
    p.add_argument("--answer-chars", type=int, default=200, help="answer length in the bulk votes (default 200)")
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir, deleted afterwards)")
    args = p.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="arena-store-bench-", dir=args.dir)
    folder = Path(tmp.name)
    print(f"# store benchmark: {os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}, work dir {folder}", flush=True)

    full = bench_commits(folder, args.commits, "FULL")
    normal = bench_commits(folder, args.commits, "NORMAL")
    bare = bench_bare_commits(folder, args.commits)
    print(f"commit latency measured over {args.commits} votes each", flush=True)

    big = folder / "million.db"
    load_s = build_big_db(big, args.votes, args.answer_chars)
    size_mb = big.stat().st_size / 2**20
    print(f"bulk load: {args.votes:,} votes in {load_s:.1f} s ({args.votes / load_s:,.0f} votes/s), DB {size_mb:,.0f} MB", flush=True)
    _child(_BARE_CHILD, big)  # warm the page cache the same way for everyone
    stats = _child(_STATS_CHILD, big)
    agg = _child(_AGG_ONLY_CHILD, big)
    count = _child(_BARE_CHILD, big)
    cli_s = min(_cli_stats(big) for _ in range(2))
    assert stats["votes"] <= args.votes and agg["votes"] <= args.votes

    ms = lambda v: f"{v:.2f} ms"  # noqa: E731
    rows = [
        ("record_vote p50 (WAL, synchronous=FULL)", ms(statistics.median(full)), ms(statistics.median(bare)), statistics.median(full) / statistics.median(bare), "-"),
        ("record_vote p99 (WAL, synchronous=FULL)", ms(_pct(full, 0.99)), ms(_pct(bare, 0.99)), _pct(full, 0.99) / _pct(bare, 0.99), "< 10 ms"),
        ("record_vote max (WAL, synchronous=FULL)", ms(max(full)), ms(max(bare)), max(full) / max(bare), "-"),
        ("record_vote p99 with synchronous=NORMAL (not used)", ms(_pct(normal, 0.99)), ms(_pct(bare, 0.99)), _pct(normal, 0.99) / _pct(bare, 0.99), "-"),
        (f"aggregate() over {args.votes:,} votes, all matchups", f"{agg['seconds']:.3f} s", f"{count['seconds']:.3f} s", agg["seconds"] / count["seconds"], "-"),
        ("aggregate() per matchup, summed (3 index range scans)", f"{stats['aggregate_s']:.3f} s", f"{count['seconds']:.3f} s", stats["aggregate_s"] / count["seconds"], "-"),
        ("stats work in-process (open + aggregate + build_report per matchup)", f"{stats['seconds']:.3f} s", f"{count['seconds']:.3f} s", stats["seconds"] / count["seconds"], "< 2 s"),
        ("`arena --db DB stats` wall time, process start included", f"{cli_s:.3f} s", "-", float("nan"), "< 2 s"),
        ("peak RSS of the stats process", f"{stats['maxrss_mb']:.0f} MB", f"{count['maxrss_mb']:.0f} MB", stats["maxrss_mb"] / count["maxrss_mb"], "bounded"),
    ]  # fmt: skip
    print()
    print("Baseline: bare sqlite3 INSERT+COMMIT of the same payload with the same pragmas; bare `SELECT count(*)` in a fresh process.")
    print(f"Bulk DB: {args.votes:,} votes, 3 matchups, {args.answer_chars}-char answers, {size_mb:,.0f} MB.\n")
    print("| measure | arena | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    for name, ours, base, ratio, target in rows:
        print(f"| {name} | {ours} | {base} | {'-' if ratio != ratio else f'{ratio:.2f}x'} | {target} |")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
