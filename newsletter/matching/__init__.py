"""Interest matching: the query language, the engine and digest planning. Pure Python, no ORM.

parse_interest("diffusion video OR audio")      # -> Query, or InterestSyntaxError
canonical_interest("LLMs  agents")             # -> "(and agent llm)", the dedup key
compiled_form("LLMs agents")                   # -> the syntax tree as JSON data, stored with the text
plan_digests(subscribers, papers)              # -> {subscriber_id: [Match, ...]} best first
plan.items()                                   # every (subscriber_id, [Match, ...]), built in batches
plan.picks()                                   # the same without highlighted words (planners store these)
explain_match(interests, paper)                # the highlighted words, when a digest is shown
PaperBatch(papers).match(["agents"], top_k=3)  # -> count and best 3; papers indexed once, for many queries
TrendingOrder(papers).pick(10)                 # -> the 10 most upvoted papers, as Matches (Source.TRENDING)
"""

from __future__ import annotations

from .compiler import Query, canonical_interest, compiled_form, parse_interest
from .explain import explain_match
from .index import PaperIndex
from .interests import InterestTable, compiled_from_forms
from .lines import Line, line_kind, parse_line
from .parser import InterestSyntaxError
from .plan import DigestPlan, PaperBatch, match_papers, plan_digests, plan_table
from .records import Match, PaperRecord, Source, SubscriberRecord
from .trending import ALSO_TRENDING_PAPERS, TrendingOrder

__all__ = [
    "ALSO_TRENDING_PAPERS",
    "DigestPlan",
    "InterestSyntaxError",
    "InterestTable",
    "Line",
    "Match",
    "PaperBatch",
    "PaperIndex",
    "PaperRecord",
    "Query",
    "Source",
    "SubscriberRecord",
    "TrendingOrder",
    "canonical_interest",
    "compiled_form",
    "compiled_from_forms",
    "explain_match",
    "line_kind",
    "match_papers",
    "parse_interest",
    "parse_line",
    "plan_digests",
    "plan_table",
]
