"""Interest matching at scale: a million subscribers x a thousand papers, on this machine.

    .venv/bin/python benchmarks/bench_matching.py [--subscribers N] [--papers N] [--seed N]

Subscribers follow 5 interests each, drawn with Zipf-like popularity from words, phrases, acronyms,
prefixes, ORs and exclusions of the real corpus (tests/fixtures/corpus/papers.jsonl); papers are the
corpus extended to --papers by recombining its real sentences. Prints seconds and memory per stage,
a naive regex baseline measured on a sample and extrapolated, and a check against the reference
evaluator on a sample of subscribers.

Memory is the process's resident set size (psutil), sampled every 5 ms while each stage runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import threading
import time
from collections import Counter
from itertools import islice, pairwise
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsletter.matching import (  # noqa: E402
    DigestPlan,
    PaperRecord,
    SubscriberRecord,
    parse_interest,
    plan_digests,
)
from newsletter.matching.index import PaperIndex, match_interests  # noqa: E402
from newsletter.matching.records import load_papers  # noqa: E402
from newsletter.matching.reference import reference_plan  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "papers.jsonl"
TODAY = dt.date(2026, 5, 8)
INTERESTS_PER_SUBSCRIBER = 5
TEMPLATES = 60_000  # distinct interest texts on offer; subscribers share them by popularity
ZIPF_EXPONENT = 1.05
MAX_TOPIC_SHARE = 0.05
STOPWORDS = set(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "are",
        "our",
        "into",
        "via",
        "using",
        "based",
        "towards",
        "toward",
        "their",
        "its",
        "can",
        "not",
        "than",
        "more",
        "less",
        "over",
        "under",
        "when",
        "what",
        "which",
        "while",
        "also",
        "new",
        "model",
        "models",
        "learning",
        "large",
        "language",
        "data",
        "method",
        "methods",
        "approach",
        "results",
        "show",
        "task",
        "tasks",
        "paper",
        "propose",
        "proposed",
    ]
)
ACRONYMS = ["LLM", "LLMs", "VLM", "RL", "RAG", "NeRF", "VAE", "GANs", "ViT", "MoE", "SAE", "TTS", "ASR"]


class PeakRss:
    """Highest resident set size seen while the `with` block runs."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0

    def __enter__(self) -> PeakRss:
        self.peak = self.process.memory_info().rss
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


# --- papers ----------------------------------------------------------------------------------------------


def build_papers(count: int, rng: random.Random) -> list[PaperRecord]:
    """The corpus, then papers made of its real sentences recombined; synthetic upvotes, dates, authors."""
    corpus = load_papers(CORPUS)
    sentences = [s for p in corpus for s in re.split(r"(?<=[.!?])\s+", p.abstract) if len(s) > 40]
    titles = [p.title for p in corpus]
    papers = []
    for number in range(count):
        if number < len(corpus):
            base = corpus[number]
            title, abstract = base.title, base.abstract
        else:
            title = rng.choice(titles)
            abstract = " ".join(rng.sample(sentences, rng.randint(5, 9)))
        papers.append(
            PaperRecord(
                id=number,
                title=title,
                abstract=abstract,
                authors=[f"Author{rng.randint(1, 3000)} Family{rng.randint(1, 3000)}" for _ in range(3)],
                ai_keywords=_keywords(title, rng),
                upvotes=int(rng.paretovariate(1.2)) - 1,
                published=TODAY - dt.timedelta(days=rng.randint(0, 6)),
            )
        )
    return papers


def _keywords(title: str, rng: random.Random) -> list[str]:
    words = [w for w in re.findall(r"[A-Za-z]{4,}", title) if w.lower() not in STOPWORDS]
    return [" ".join(rng.sample(words, min(2, len(words)))) for _ in range(2)] if words else []


# --- interests -------------------------------------------------------------------------------------------


def interest_atoms(papers: list[PaperRecord]) -> list[str]:
    """Topics of the corpus: title words, title phrases, acronyms and prefixes, the broader first.

    A topic is something matching at most MAX_TOPIC_SHARE of the papers: people follow
    "speculative decoding", not "model".
    """
    words: Counter[str] = Counter()
    phrases: Counter[str] = Counter()
    for paper in papers[:573]:
        title_words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{3,}", paper.title)]
        words.update(set(w for w in title_words if w not in STOPWORDS))
        phrases.update(f'"{a} {b}"' for a, b in pairwise(title_words) if STOPWORDS.isdisjoint((a, b)))
    candidates = (
        ACRONYMS + [w for w, n in words.items() if n >= 2] + [p for p, n in phrases.items() if n >= 2]
    )
    candidates += [w[:5] + "*" for w, n in words.most_common(300) if len(w) >= 7 and w[:5].isalpha()]
    share = _match_share(candidates, papers)
    topics = [a for a in candidates if 0 < share[a] <= MAX_TOPIC_SHARE]
    return sorted(topics, key=lambda a: -share[a])


def _match_share(atoms: list[str], papers: list[PaperRecord]) -> dict[str, float]:
    index = PaperIndex(papers)
    roots = [parse_interest(a).root for a in atoms]
    counts = match_interests(roots, index).weights.getnnz(axis=1)
    return {a: c / len(papers) for a, c in zip(atoms, counts.tolist(), strict=True)}


def interest_templates(atoms: list[str], count: int, rng: np.random.Generator) -> list[str]:
    """Distinct interest texts, the earlier made of the more popular atoms."""
    weights = 1.0 / np.arange(1, len(atoms) + 1) ** 0.9
    weights /= weights.sum()
    templates: dict[str, None] = {}
    while len(templates) < count:
        a, b, c = (atoms[i] for i in rng.choice(len(atoms), size=3, p=weights))
        form = rng.random()
        if form < 0.45:
            text = a
        elif form < 0.65:
            text = f"{a} {b}"
        elif form < 0.75:
            text = f"{a} OR {b}"
        elif form < 0.85:
            text = f"{a} -{b}"
        elif form < 0.92:
            text = f"{a} ({b} OR {c})"
        else:
            text = f"title:{a}" if not a.endswith("*") or rng.random() < 0.5 else f"abstract:{a}"
        # People type the same thing differently; canonicalization has to fold these together.
        if rng.random() < 0.15:
            text = (
                text.upper()
                .replace(" OR ", " OR ")
                .replace("TITLE:", "title:")
                .replace("ABSTRACT:", "abstract:")
            )
        templates[text] = None
    return list(templates)


def build_subscribers(templates: list[str], count: int, rng: np.random.Generator) -> list[SubscriberRecord]:
    popularity = 1.0 / np.arange(1, len(templates) + 1) ** ZIPF_EXPONENT
    popularity /= popularity.sum()
    drawn = rng.choice(len(templates), size=(count, INTERESTS_PER_SUBSCRIBER), p=popularity).tolist()
    top_k = rng.choice([5, 10, 10, 10, 20], size=count).tolist()
    return [
        SubscriberRecord(id=n + 1, interests=[templates[i] for i in row], top_k=k)
        for n, (row, k) in enumerate(zip(drawn, top_k, strict=True))
    ]


# --- the naive baseline ----------------------------------------------------------------------------------


def naive_digest(subscriber: SubscriberRecord, texts: list[str]) -> list[int]:
    """Each interest as word regexes (all required, no syntax, no stemming) against every paper's text."""
    patterns = [
        [re.compile(r"\b" + re.escape(w.lower())) for w in re.findall(r"[A-Za-z0-9]+", interest)]
        for interest in subscriber.interests
    ]
    scored = []
    for number, text in enumerate(texts):
        hits = sum(1 for words in patterns if words and all(p.search(text) for p in words))
        if hits:
            scored.append((-hits, number))
    scored.sort()
    return [number for _, number in scored[: subscriber.top_k]]


def measure_naive(subscribers: list[SubscriberRecord], papers: list[PaperRecord], sample: int) -> float:
    texts = [f"{p.title}\n{p.abstract}".lower() for p in papers]
    started = time.perf_counter()
    for subscriber in subscribers[:sample]:
        naive_digest(subscriber, texts)
    return (time.perf_counter() - started) / sample


# --- the run ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--papers", type=int, default=1_000)
    parser.add_argument("--check", type=int, default=10_000, help="subscribers checked against the reference")
    parser.add_argument("--naive-sample", type=int, default=100)
    parser.add_argument(
        "--read", type=int, default=1_000_000, help="digests read through plan.items() (all by default)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    print(
        f"building {args.subscribers:,} subscribers x {INTERESTS_PER_SUBSCRIBER} interests, {args.papers:,} papers"
    )
    started = time.perf_counter()
    papers = build_papers(args.papers, random.Random(args.seed))
    rng = np.random.default_rng(args.seed)
    templates = interest_templates(interest_atoms(papers), TEMPLATES, rng)
    subscribers = build_subscribers(templates, args.subscribers, rng)
    sent_subscribers = rng.integers(1, args.subscribers + 1, size=args.subscribers // 20)
    already_sent = (
        np.repeat(sent_subscribers, 3),
        rng.integers(0, args.papers, size=sent_subscribers.size * 3),
    )
    print(
        f"  input built in {time.perf_counter() - started:.1f} s (not timed below); examples: {templates[:6]}"
    )

    stats: dict = {}
    with PeakRss() as memory:
        rss_before = memory.process.memory_info().rss
        started = time.perf_counter()
        plan = plan_digests(subscribers, papers, already_sent=already_sent, today=TODAY, stats=stats)
        whole = time.perf_counter() - started
    print_plan(stats, whole, rss_before, memory.peak)

    started = time.perf_counter()
    sample_ids = [s.id for s in subscribers[: args.check]]
    read = {sid: plan[sid] for sid in sample_ids if sid in plan}
    reading = time.perf_counter() - started
    print(f"\nreading digests (Match objects, built lazily): {len(read):,} digests in {reading:.2f} s")
    print(f"  subscribers with a digest: {len(plan):,} of {len(subscribers):,}")
    print_bulk_read(plan, args.read)
    example = next(iter(read.items()), None)
    if example:
        print(f"  e.g. subscriber {example[0]}: {example[1][0]}")

    check_reference(subscribers[: args.check], papers, already_sent, read)
    per_subscriber = measure_naive(subscribers, papers, args.naive_sample)
    naive_total = per_subscriber * len(subscribers)
    print(
        f"\nnaive baseline (regexes per subscriber x every paper), measured on {args.naive_sample} subscribers:"
        f"\n  {per_subscriber * 1000:.1f} ms per subscriber -> {naive_total:,.0f} s extrapolated to "
        f"{len(subscribers):,} ({naive_total / 3600:.1f} h)"
        f"\n  plan_digests is {naive_total / whole:,.0f}x faster"
    )


def print_bulk_read(plan: DigestPlan, count: int) -> None:
    """Every planned subscriber's Matches through plan.items(), as the digest planner reads them.

    Each list is dropped once counted: holding ten million Matches would measure memory, not reading.
    """
    started = time.perf_counter()
    digests = matches = 0
    for _, digest in islice(plan.items(), count):
        digests += 1
        matches += len(digest)
    elapsed = time.perf_counter() - started
    print(
        f"  all through plan.items(): {digests:,} digests ({matches:,} Matches) in {elapsed:.2f} s, "
        f"{digests / max(elapsed, 1e-9):,.0f} digests/s"
    )


def print_plan(stats: dict, whole: float, rss_before: int, peak: int) -> None:
    print("\nplan_digests")
    print(
        f"  interest texts {stats['interest_texts']:,}, distinct texts {stats['distinct_texts']:,}, "
        f"distinct interests {stats['distinct_interests']:,} (invalid {stats['invalid_interests']:,}), "
        f"shared leaves {stats['leaves']:,}"
    )
    print(
        f"  interest x paper matches {stats['interest_paper_matches']:,}; subscriber x paper candidates "
        f"scored (after pruning) {stats['candidate_pairs']:,}; already sent removed among them "
        f"{stats['already_sent_removed']:,}; "
        f"kept {stats['kept_pairs']:,}"
    )
    compile_index = stats["seconds_compile"] + stats["seconds_index_papers"]
    print(f"  compile and index  {compile_index:6.2f} s  (dedup+compile {stats['seconds_compile']:.2f}, "
          f"papers {stats['seconds_index_papers']:.2f})")  # fmt: skip
    print(f"  match              {stats['seconds_match']:6.2f} s")
    print(f"  fan-out and top-K  {stats['seconds_fanout_topk']:6.2f} s")
    print(f"  whole plan         {whole:6.2f} s")
    print(
        f"  memory (RSS, psutil): {mib(rss_before)} before, peak {mib(peak)} during, +{mib(peak - rss_before)}"
    )


def check_reference(
    sample: list[SubscriberRecord], papers: list[PaperRecord], already_sent: tuple, engine: dict
) -> None:
    sample_ids = {s.id for s in sample}
    pairs = [(s, p) for s, p in zip(*(a.tolist() for a in already_sent), strict=True) if s in sample_ids]
    started = time.perf_counter()
    expected = reference_plan(sample, papers, already_sent=pairs, today=TODAY)
    elapsed = time.perf_counter() - started
    same = expected == engine
    print(
        f"\nreference evaluator on {len(sample):,} subscribers ({elapsed:.1f} s): "
        f"{'IDENTICAL' if same else 'DIFFERENT'} results ({sum(map(len, expected.values())):,} matches)"
    )
    if not same:
        wrong = [s for s in sample_ids if expected.get(s) != engine.get(s)]
        print(f"  {len(wrong)} subscribers differ, e.g. {wrong[:5]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
