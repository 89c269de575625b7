"""Vulnerability advisory data (OSV records), offline: loading, matching, merging."""

from __future__ import annotations

from policy_gate.advisories.database import (
    Advisory,
    AdvisoryDBError,
    AdvisoryIndex,
    coverage_reason,
    fix_version,
    grade,
    rfc3339,
    severity_of,
)

__all__ = [
    "Advisory",
    "AdvisoryDBError",
    "AdvisoryIndex",
    "coverage_reason",
    "fix_version",
    "grade",
    "rfc3339",
    "severity_of",
]
