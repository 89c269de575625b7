"""Dependency manifests, read as data (never installed, built or executed), per ecosystem."""

from __future__ import annotations

from policy_gate.dependencies.python import (
    ManifestError,
    ManifestScan,
    PinnedDependency,
    UnpinnedRequirement,
    find_manifests,
    parse_manifests,
)

__all__ = [
    "ManifestError",
    "ManifestScan",
    "PinnedDependency",
    "UnpinnedRequirement",
    "find_manifests",
    "parse_manifests",
]
