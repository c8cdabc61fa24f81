"""Interest matching: the query language, the engine and digest planning. Pure Python, no ORM.

parse_interest("diffusion video OR audio")      # -> Query, or InterestSyntaxError
canonical_interest("LLMs  agents")             # -> "(and agent llm)", the dedup key
plan_digests(subscribers, papers)              # -> {subscriber_id: [Match, ...]} best first
plan.items()                                   # every (subscriber_id, [Match, ...]), built in batches
PaperBatch(papers).match(["agents"], top_k=3)  # -> count and best 3; papers indexed once, for many queries
"""

from __future__ import annotations

from .compiler import Query, canonical_interest, parse_interest
from .parser import InterestSyntaxError
from .plan import DigestPlan, PaperBatch, match_papers, plan_digests
from .records import Match, PaperRecord, SubscriberRecord

__all__ = [
    "DigestPlan",
    "InterestSyntaxError",
    "Match",
    "PaperBatch",
    "PaperRecord",
    "Query",
    "SubscriberRecord",
    "canonical_interest",
    "match_papers",
    "parse_interest",
    "plan_digests",
]
