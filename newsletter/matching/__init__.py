"""Interest matching: the query language, the engine and digest planning. Pure Python, no ORM.

parse_interest("diffusion video OR audio")      # -> Query, or InterestSyntaxError
canonical_interest("LLMs  agents")             # -> "(and agent llm)", the dedup key
plan_digests(subscribers, papers)              # -> {subscriber_id: [Match, ...]} best first
plan.items()                                   # every (subscriber_id, [Match, ...]), built in batches
plan.picks()                                   # the same without highlighted words (planners store these)
explain_match(interests, paper)                # the highlighted words, when a digest is shown
"""

from __future__ import annotations

from .compiler import Query, canonical_interest, parse_interest
from .explain import explain_match
from .interests import InterestTable
from .parser import InterestSyntaxError
from .plan import DigestPlan, match_papers, plan_digests, plan_table
from .records import Match, PaperRecord, SubscriberRecord

__all__ = [
    "DigestPlan",
    "InterestSyntaxError",
    "InterestTable",
    "Match",
    "PaperRecord",
    "Query",
    "SubscriberRecord",
    "canonical_interest",
    "explain_match",
    "match_papers",
    "parse_interest",
    "plan_digests",
    "plan_table",
]
