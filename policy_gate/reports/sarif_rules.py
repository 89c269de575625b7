"""SARIF rule descriptors (``reportingDescriptor``): what GitHub code scanning shows about a
rule beside each of its alerts — a title, a description, help (why it matters under the
policy, how to fix it, standards and weaknesses), its tags and the security severity and
precision that rank its alerts. A run's rules are built from the findings that carry each
rule id, so what they say is what those findings agree on (sarif.py writes the runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

from policy_gate.findings import SECRET, Confidence, Severity
from policy_gate.policy.evaluate import Decision

MAX_TAGS_PER_RULE = 10  # 20 accepted, only 10 shown
MAX_DESCRIPTION_CHARS = 1024  # GitHub's limit on short/full descriptions

# GitHub maps security-severity > 9.0 to critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low; 0.0 means "no security severity".
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}

PRECISION: dict[Confidence | None, str] = {
    Confidence.HIGH: "high",
    Confidence.MEDIUM: "medium",
    Confidence.LOW: "low",
    None: "medium",  # the scanner did not say how sure it is
}


def _clip(text: str, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.S)
    return (match.group(1) if match else text).strip()


def _humanise(rule_id: str) -> str:
    words = re.sub(r"[-_]+", " ", rule_id).strip()
    return words[:1].upper() + words[1:] if words else rule_id


def _common(values: Iterable[str]) -> str:
    """The value every finding agrees on, or '' when they differ (or none has one)."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else ""


_FINDING = attrgetter("finding")
_CATEGORY = attrgetter("category")
_TITLE = attrgetter("title")
_MESSAGE = attrgetter("message")
_FIX = attrgetter("fix")
_HELP_URL = attrgetter("help_url")
_CWE = attrgetter("cwe")
_SEVERITY = attrgetter("severity")
_CONFIDENCE = attrgetter("confidence")


def descriptor(rule_id: str, decisions: Sequence[Decision]) -> dict[str, Any]:
    """A reportingDescriptor built from the findings that carry this rule id."""
    findings = list(map(_FINDING, decisions))
    lead = decisions[0]
    cat = lead.category_policy
    kinds = set(map(_CATEGORY, findings))
    title = _common(map(_TITLE, findings))
    if SECRET in kinds:
        message = _common(f.message for f in findings if f.category != SECRET)
    else:
        message = _common(map(_MESSAGE, findings))
    if title and " " in title:
        short = title  # a human title ("AWS Access Key in source")
    elif message:
        short = _first_sentence(message)  # titles like "blacklist" or the rule id
    else:
        short = _humanise(title or rule_id)
    full = message or short
    fixes = set(map(_FIX, findings)) - {"", None}
    fix = _common(fixes)
    fixes_vary = len(fixes) > 1
    help_uri = _common(set(map(_HELP_URL, findings)) - {"", None})
    categories = sorted(kinds)
    cwes = sorted(set(chain.from_iterable(map(_CWE, findings))), key=lambda c: (len(c), c))
    severity = max(map(_SEVERITY, decisions))
    confidences = set(map(_CONFIDENCE, decisions)) - {None}
    confidence = max(confidences) if confidences else None

    text = [full]
    markdown = [full]
    if cat.rationale:
        text += ["", f"Why it matters ({cat.name} policy): {cat.rationale}"]
        markdown += ["", f"**Why it matters ({cat.name} policy):** {cat.rationale}"]
    if fix:
        text += ["", f"How to fix: {fix}"]
        markdown += ["", f"**How to fix:** {fix}"]
    elif fixes_vary:
        text += ["", "How to fix: see each result (the fix depends on the finding)."]
        markdown += ["", "**How to fix:** see each result (the fix depends on the finding)."]
    if help_uri:
        text += ["", f"More information: {help_uri}"]
        markdown += ["", f"**More information:** <{help_uri}>"]
    if cat.sources:
        text += ["", "Standards: " + ", ".join(cat.sources)]
        markdown += ["", "**Standards:** " + ", ".join(cat.sources)]
    if cwes:
        text += ["", "Weaknesses: " + ", ".join(cwes)]
        markdown += ["", "**Weaknesses:** " + ", ".join(cwes)]

    tags = list(dict.fromkeys(["security", *categories, *cwes]))[:MAX_TAGS_PER_RULE]
    rule: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": _clip(short)},
        "fullDescription": {"text": _clip(full)},
        "help": {"text": "\n".join(text), "markdown": "\n".join(markdown)},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": PRECISION[confidence],
            "tags": tags,
            "category": lead.finding.category,
            "policySources": list(cat.sources),
        },
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule
