"""Offline vulnerability data: an OSV-compatible query server for air-gapped audits."""

from __future__ import annotations

from policy_gate.osv.server import (
    AdvisoryDBError,
    AdvisoryIndex,
    OSVServer,
    rfc3339,
    serve_advisories,
)

__all__ = ["AdvisoryDBError", "AdvisoryIndex", "OSVServer", "rfc3339", "serve_advisories"]
