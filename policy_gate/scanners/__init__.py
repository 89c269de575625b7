"""Scanner adapters, one module per tool, registered by name (the names the policy uses)."""

from __future__ import annotations

from policy_gate.scanners.interface import Scanner


def registry() -> dict[str, Scanner]:
    """Every scanner the gate knows, in the order reports list them."""
    from policy_gate.scanners.bandit import BanditScanner
    from policy_gate.scanners.coverage import CoverageScanner
    from policy_gate.scanners.data_protection import DataProtectionScanner
    from policy_gate.scanners.detect_secrets import DetectSecretsScanner
    from policy_gate.scanners.dockerfile import DockerfileScanner
    from policy_gate.scanners.kingfisher import KingfisherScanner
    from policy_gate.scanners.licenses import LicensesScanner
    from policy_gate.scanners.osv import OSVScanner
    from policy_gate.scanners.pip_audit import PipAuditScanner
    from policy_gate.scanners.safety import SafetyScanner
    from policy_gate.scanners.semgrep import SemgrepScanner
    from policy_gate.scanners.workflows import WorkflowsScanner

    scanners: list[Scanner] = [
        BanditScanner(),
        SemgrepScanner(),
        DetectSecretsScanner(),
        KingfisherScanner(),
        PipAuditScanner(),
        OSVScanner(),
        LicensesScanner(),
        SafetyScanner(),
        DataProtectionScanner(),
        DockerfileScanner(),
        WorkflowsScanner(),
        CoverageScanner(),
    ]
    return {s.name: s for s in scanners}
