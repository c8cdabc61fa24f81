"""Interest matching: the query language, the engine and digest planning. Pure Python, no ORM.

parse_interest("diffusion video OR audio")      # -> Query, or InterestSyntaxError
canonical_interest("LLMs  agents")             # -> "(and agent llm)", the dedup key
compiled_form("LLMs agents")                   # -> the syntax tree as JSON data, stored with the text
plan_digests(subscribers, papers)              # -> {subscriber_id: [Match, ...]} best first
plan.items()                                   # every (subscriber_id, [Match, ...]), built in batches
plan.picks()                                   # the same without highlighted words (planners store these)
explain_match(interests, paper)                # the highlighted words, when a digest is shown
PaperBatch(papers).match(["agents"], top_k=3)  # -> count and best 3; papers indexed once, for many queries
"""

from __future__ import annotations

from .compiler import Query, canonical_interest, compiled_form, parse_interest
from .explain import explain_match
from .index import PaperIndex
from .interests import InterestTable, compiled_from_forms
from .parser import InterestSyntaxError
from .plan import DigestPlan, PaperBatch, match_papers, plan_digests, plan_table
from .records import Match, PaperRecord, SubscriberRecord

__all__ = [
    "DigestPlan",
    "InterestSyntaxError",
    "InterestTable",
    "Match",
    "PaperBatch",
    "PaperIndex",
    "PaperRecord",
    "Query",
    "SubscriberRecord",
    "canonical_interest",
    "compiled_form",
    "compiled_from_forms",
    "explain_match",
    "match_papers",
    "parse_interest",
    "plan_digests",
    "plan_table",
]
