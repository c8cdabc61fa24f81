"""`match_papers --interests-file … --top 10 --summary` as a whole process, as an operator runs it.

    .venv/bin/python benchmarks/bench_match_command.py [--subscribers N] [--templates N]
                                                       [--baseline-rev REV | --no-baseline]

Writes a papers file (1,000 papers: the real corpus, extended by recombining its sentences) and an
interests file (N subscribers x 5 lines drawn with Zipf-like popularity from --templates distinct
texts made of the corpus's words, phrases, acronyms, prefixes, ORs, exclusions and fields, so that
hundreds of thousands of distinct texts are in use), then times the command from start to exit:
wall seconds and the peak resident memory of the whole process tree (the command and any process
it forks, summed, sampled every 20 ms with psutil). The baseline is the same command from an
earlier revision of this repository (checked out into a temporary worktree), on the same files,
in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_matching as workload  # noqa: E402

INTERESTS_PER_SUBSCRIBER = 5
POPULARITY_EXPONENT = 0.8  # flatter than bench_matching's: a long tail of distinct texts
# The revision before the interest table, the picks and the process pool.
DEFAULT_BASELINE = "ae7f999"


def write_inputs(folder: Path, subscribers: int, templates: int, seed: int) -> tuple[Path, Path, int]:
    papers = workload.build_papers(1_000, random.Random(seed))
    papers_file = folder / "papers.jsonl"
    with papers_file.open("w", encoding="utf-8") as out:
        for paper in papers:
            record = {
                "id": paper.id,
                "title": paper.title,
                "abstract": paper.abstract,
                "authors": list(paper.authors),
                "ai_keywords": list(paper.ai_keywords),
                "upvotes": paper.upvotes,
                "published": paper.published.isoformat(),
            }
            out.write(json.dumps(record) + "\n")
    rng = np.random.default_rng(seed)
    texts = many_templates(workload.interest_atoms(papers), templates, rng)
    popularity = 1.0 / np.arange(1, len(texts) + 1) ** POPULARITY_EXPONENT
    drawn = rng.choice(
        len(texts), size=(subscribers, INTERESTS_PER_SUBSCRIBER), p=popularity / popularity.sum()
    )
    interests_file = folder / "interests.tsv"
    with interests_file.open("w", encoding="utf-8") as out:
        for subscriber, row in enumerate(drawn.tolist(), start=1):
            out.write("".join(f"{subscriber}\t{texts[i]}\n" for i in row))
    return papers_file, interests_file, len(np.unique(drawn))


def many_templates(atoms: list[str], count: int, rng: np.random.Generator) -> list[str]:
    """`count` distinct interest texts in the forms people type, drawn in vectorized batches."""
    weights = 1.0 / np.arange(1, len(atoms) + 1) ** 0.9
    weights /= weights.sum()
    texts: dict[str, None] = {}
    while len(texts) < count:
        a, b, c = (rng.choice(len(atoms), size=count, p=weights).tolist() for _ in range(3))
        forms, shout = rng.random(count).tolist(), (rng.random(count) < 0.15).tolist()
        for x, y, z, form, upper in zip(a, b, c, forms, shout, strict=True):
            text = _form(atoms[x], atoms[y], atoms[z], form)
            texts[
                text.upper().replace("TITLE:", "title:").replace("ABSTRACT:", "abstract:") if upper else text
            ] = None
            if len(texts) == count:
                break
    return list(texts)


def _form(a: str, b: str, c: str, form: float) -> str:
    if form < 0.35:
        return f"{a} {b}"
    if form < 0.55:
        return f"{a} {b} {c}"
    if form < 0.68:
        return f"{a} OR {b}"
    if form < 0.80:
        return f"{a} -{b}"
    if form < 0.92:
        return f"{a} ({b} OR {c})"
    return f"title:{a} {b}"


def run_command(checkout: Path, papers: Path, interests: Path) -> tuple[float, int, dict]:
    """Wall seconds, peak RSS of the process tree, and the command's summary line."""
    env = {**os.environ, "DEBUG": "true", "PYTHONHASHSEED": "0"}
    command = [sys.executable, "manage.py", "match_papers", "--interests-file", str(interests)]
    command += ["--text-file", str(papers), "--top", "10", "--summary"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = _watch_memory(psutil.Process(process.pid))
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"match_papers failed in {checkout}:\n{err.decode()[-2000:]}")
    return seconds, peak, json.loads(out.decode().strip().splitlines()[-1])


def _watch_memory(process: psutil.Process) -> int:
    peak = 0
    while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.02)
    return peak


def baseline_checkout(revision: str, folder: Path) -> Path:
    checkout = folder / f"baseline-{revision}"
    subprocess.run(["git", "worktree", "add", "--detach", str(checkout), revision], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return checkout


def print_run(name: str, seconds: float, peak: int, summary: dict) -> None:
    stages = {
        k: round(v, 2) for k, v in summary.items() if k.startswith("seconds_") or k.endswith("_seconds")
    }
    print(f"{name}: {seconds:6.1f} s wall, peak {peak / 2**30:.2f} GiB (process tree)")
    print(
        f"  results {summary['results']:,} for {summary['subscribers_with_papers']:,} subscribers; stages {stages}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--templates", type=int, default=450_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--baseline-rev", default=DEFAULT_BASELINE)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-match-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        papers, interests, distinct = write_inputs(folder, args.subscribers, args.templates, args.seed)
        print(
            f"inputs: {args.subscribers:,} subscribers x {INTERESTS_PER_SUBSCRIBER} interests, "
            f"{distinct:,} distinct texts in use, 1,000 papers ({time.perf_counter() - started:.0f} s to write)"
        )
        seconds, peak, summary = run_command(ROOT, papers, interests)
        print_run("this checkout", seconds, peak, summary)
        if args.no_baseline:
            return
        checkout = baseline_checkout(args.baseline_rev, folder)
        try:
            base_seconds, base_peak, base_summary = run_command(checkout, papers, interests)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False)
        print_run(f"baseline {args.baseline_rev}", base_seconds, base_peak, base_summary)
        same = (summary["results"], summary["subscribers_with_papers"]) == (
            base_summary["results"],
            base_summary["subscribers_with_papers"],
        )
        print(
            f"speed-up {base_seconds / seconds:.1f}x, memory {peak / base_peak:.2f}x of the baseline; "
            f"same counts as the baseline: {same}"
        )


if __name__ == "__main__":
    main()
