"""Compliance mapping: which Mojaloop facts, PCI DSS requirements and GDPR articles each
gate check gives evidence for, and how one run stands against each of them.

``load_catalogue()`` reads the shipped catalogue; ``build_map(policy)`` merges it with the
policy's own citations; ``assess(data, commit=head_commit(data))`` judges every control as
pass, fail, not-run or not-covered. ``policy_gate.reports.compliance`` renders the result.
Automated evidence supports an assessment; it is not one (docs/compliance.md).
"""

from __future__ import annotations

from policy_gate.compliance.assess import (
    FAIL,
    GLOSSARY,
    NOT_COVERED,
    NOT_RUN,
    PASS,
    STATUSES,
    Assessment,
    CheckResult,
    ControlResult,
    Evidence,
    ScannerEvidence,
    WaiverEvidence,
    assess,
    head_commit,
)
from policy_gate.compliance.catalogue import (
    FRAMEWORKS,
    Catalogue,
    CatalogueError,
    Check,
    Control,
    ControlMap,
    Feature,
    Framework,
    build_map,
    canonical,
    controls_for_rule,
    load_catalogue,
    parse_catalogue,
)

__all__ = [
    "FAIL",
    "FRAMEWORKS",
    "GLOSSARY",
    "NOT_COVERED",
    "NOT_RUN",
    "PASS",
    "STATUSES",
    "Assessment",
    "Catalogue",
    "CatalogueError",
    "Check",
    "CheckResult",
    "Control",
    "ControlMap",
    "ControlResult",
    "Evidence",
    "Feature",
    "Framework",
    "ScannerEvidence",
    "WaiverEvidence",
    "assess",
    "build_map",
    "canonical",
    "controls_for_rule",
    "head_commit",
    "load_catalogue",
    "parse_catalogue",
]
