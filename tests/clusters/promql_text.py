"""Reading PromQL as text: the series selectors of an expression (metric names and their
matchers) and the labels it groups by, for the checks of the rules and the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["grouping_labels", "label_names", "selector_texts", "selectors"]

PROMQL_WORDS = set(
    "by without on ignoring group_left group_right bool and or unless offset inf nan "
    "sum min max avg group count stddev stdvar topk bottomk quantile count_values".split()
)


def selectors(expr: str) -> Iterator[tuple[str, set[str]]]:
    """(metric name, label names in its matcher) for every series selector in a PromQL string."""
    return ((name, label_names(matcher)) for name, matcher in selector_texts(expr))


def label_names(matcher: str) -> set[str]:
    """The label names a ``{...}`` matcher tests."""
    return set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matcher))


def selector_texts(expr: str) -> Iterator[tuple[str, str]]:
    """(metric name, its ``{...}`` matcher as written, or "") for every series selector."""
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range durations, Grafana's $__rate_interval
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", expr):
        name, matcher = match.group(1), match.group(2) or ""
        if name.lower() in PROMQL_WORDS or expr[match.end() :].lstrip().startswith("("):
            continue  # a function, an aggregation or a keyword
        if _inside_braces_or_quotes(expr, match.start()) or _inside_grouping(expr, match.start()):
            continue
        yield name, matcher


def _inside_braces_or_quotes(expr: str, at: int) -> bool:
    before = expr[:at]
    return before.count("{") > before.count("}") or before.count('"') % 2 == 1


def _inside_grouping(expr: str, at: int) -> bool:
    opening = re.search(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)$", expr[:at]
    )
    return opening is not None


def grouping_labels(expr: str) -> set[str]:
    clauses = re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr)
    return {label.strip() for clause in clauses for label in clause.split(",") if label.strip()}
