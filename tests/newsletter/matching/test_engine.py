"""The fast engine against the deliberately simple reference evaluator, on generated interests and papers."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.matching import PaperRecord, SubscriberRecord, match_papers, plan_digests
from newsletter.matching.records import load_papers
from newsletter.matching.reference import reference_match_papers, reference_plan
from tests.conftest import FIXTURES

CORPUS = load_papers(FIXTURES / "corpus" / "papers.jsonl")
TODAY = dt.date(2026, 5, 8)


def _corpus_words(count: int) -> list[str]:
    """Frequent real words of the corpus, as written (mixed case kept)."""
    words = Counter(w for p in CORPUS[:150] for w in re.findall(r"[A-Za-z]{3,}", p.title))
    return [w for w, _ in words.most_common(count)]


# Words that exercise normalization: hyphens and slashes, acronyms and their plurals and expansions,
# stems, NFKC forms and case.
TRICKY = [
    "self-supervised", "Self-Supervised", "selfsupervised", "self", "supervised", "LLMs", "LLM", "llms",
    "large", "language", "models", "Auto-Encoders", "autoencoder", "auto", "encoder", "NeRFs", "neural",
    "radiance", "fields", "text-to-speech", "TTS", "text", "to", "speech", "vision/language", "ViT",
    "quantization", "quantized", "splat", "splatting", "Straße", "\uff2c\uff2c\uff2d", "MoE", "mixture", "of", "experts",
]  # fmt: skip
VOCABULARY = _corpus_words(30) + TRICKY
word = st.sampled_from(VOCABULARY)


def _phrase_text(words: list[str]) -> str:
    return '"' + " ".join(words) + '"'


def _prefix(w: str) -> str | None:
    letters = re.sub(r"[^A-Za-z]", "", w)
    return letters[: max(2, len(letters) // 2)] + "*" if len(letters) >= 2 else None


leaf = st.one_of(
    word,
    st.lists(word, min_size=1, max_size=3).map(_phrase_text),
    word.map(_prefix).filter(bool),
)
fielded_leaf = st.one_of(leaf, st.tuples(st.sampled_from(["title:", "abstract:"]), leaf).map("".join))


def _group(items: list[str]) -> str:
    return "(" + " ".join(items) + ")"


item = st.recursive(
    fielded_leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(" OR ".join).map(lambda s: f"({s})"),
        st.lists(inner, min_size=1, max_size=3).map(_group),
    ),
    max_leaves=5,
)


@st.composite
def interests(draw: st.DrawFn) -> str:
    positives = draw(st.lists(item, min_size=1, max_size=3))
    negatives = draw(st.lists(item, max_size=2))
    return " ".join(positives + ["-" + n for n in negatives])


@st.composite
def papers(draw: st.DrawFn) -> list[PaperRecord]:
    count = draw(st.integers(1, 6))
    made = []
    for number in range(count):
        made.append(
            PaperRecord(
                id=number,
                title=" ".join(draw(st.lists(word, max_size=8))),
                abstract=" ".join(draw(st.lists(word, max_size=25))),
                ai_keywords=[" ".join(k) for k in draw(st.lists(st.lists(word, max_size=3), max_size=3))],
                upvotes=draw(st.integers(0, 50)),
                published=TODAY - dt.timedelta(days=draw(st.integers(0, 20))),
            )
        )
    return made


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interest=interests(), batch=papers())
def test_engine_matches_exactly_what_the_reference_matches(interest: str, batch: list[PaperRecord]):
    assert match_papers([interest], batch, today=TODAY) == reference_match_papers(
        [interest], batch, today=TODAY
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    readers=st.lists(
        st.tuples(st.lists(interests(), min_size=1, max_size=4), st.integers(0, 4)), min_size=1, max_size=6
    ),
    batch=papers(),
    data=st.data(),
)
def test_plans_equal_the_reference_plans(readers: list, batch: list[PaperRecord], data: st.DataObject):
    subscribers = [SubscriberRecord(id=n, interests=texts, top_k=k) for n, (texts, k) in enumerate(readers)]
    sent = data.draw(
        st.lists(st.tuples(st.integers(0, len(readers) - 1), st.integers(0, len(batch) - 1)), max_size=5)
    )
    engine = plan_digests(subscribers, batch, already_sent=sent, today=TODAY)
    assert dict(engine) == reference_plan(subscribers, batch, already_sent=sent, today=TODAY)


def test_engine_and_reference_agree_on_the_corpus_for_every_kind_of_interest():
    interests = [
        "LLMs agents", "diffusion video OR audio", '"gaussian splatting" -nerf', "self-supervised",
        "quantiz*", "title:RL", "SAE", '"vision-language model"', "(speech OR audio) -title:music",
        'abstract:"large language models" (reasoning OR planning)', "author:nobody",
    ]  # fmt: skip
    for interest in interests:
        assert match_papers([interest], CORPUS, today=TODAY) == reference_match_papers(
            [interest], CORPUS, today=TODAY
        ), interest
