"""safety (pyup.io): an optional second opinion on pinned Python dependencies.

It audits the same generated requirements file pip-audit gets (never the repository's own
manifests, so nothing from the tree is installed or resolved), with pyup's database
instead of OSV. Unpinned requirements and unreadable manifests are pip-audit's to report;
safety reports only vulnerabilities. Its ids are pyup ids, so its findings do not merge
with pip-audit's (keyed on PYSEC/GHSA); the CVE, when given, is kept as an alias.
"""

from __future__ import annotations

import json
from typing import Any

from packaging.utils import canonicalize_name

from policy_gate.base.fileset import FileSet
from policy_gate.base.process import ScannerError, run_tool, stderr_tail
from policy_gate.catalogue import SAFETY
from policy_gate.dependencies.python import find_manifests, parse_manifests
from policy_gate.findings import Finding
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext, Scanner, parse_json, require
from policy_gate.scanners.pip_audit import (
    Advisory,
    distinct_pins,
    pins_for,
    private_dir,
    vulnerability_finding,
)

# safety 2.x/3.x `check`: 0 clean, 64 vulnerabilities found, anything else a failure
# (invalid key, database unreachable, malformed database, invalid requirement, ...).
EXIT_CLEAN, EXIT_VULNERABLE = 0, 64


class SafetyScanner(Scanner):
    info = SAFETY
    executable = "safety"
    distribution = "safety"

    def cacheable(self, ctx: ScanContext) -> bool:
        return False  # its own online database changes as advisories are published

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return find_manifests(fileset)

    def scan(self, ctx: ScanContext) -> ScanOutput:
        """raw_results counts Sources emitted; one safety vulnerability maps to every
        manifest line pinning that version (the notes give safety's own count)."""
        version = self.version(ctx)
        if not self.targets(ctx.fileset):
            return ScanOutput([], version, 0, 0)
        manifests = parse_manifests(ctx.fileset)
        pins = distinct_pins(manifests.pinned)
        if not pins:
            return ScanOutput([], version, 0, len(manifests.manifests),
                              examined={"pinned Python packages": 0})
        ctx.progress(self.name, f"auditing {len(pins)} pinned packages")
        with private_dir(ctx, self.name) as work:
            requirements = work / "pinned.txt"
            # safety has no duplicate-name restriction, so one file holds every pin
            requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins), "utf-8")
            argv = ["safety", "check", "--output", "json", "-r", str(requirements)]
            db = ctx.settings.options.get("db")
            if isinstance(db, str) and db:
                argv += ["--db", db]  # a local copy of the database, for offline sites
            completed = run_tool(self.name, argv, timeout=ctx.settings.timeout, cwd=work)
        if completed.returncode not in (EXIT_CLEAN, EXIT_VULNERABLE):
            raise ScannerError(self.name, f"exited {completed.returncode}{stderr_tail(completed)}")
        advisories = self._parse(_json_report(self.name, completed.stdout))
        if completed.returncode == EXIT_VULNERABLE and not advisories:
            raise ScannerError(self.name, "exited 64 (vulnerabilities) but listed none")
        findings: list[Finding] = [
            vulnerability_finding(self.name, pin, adv)
            for adv in advisories
            for pin in pins_for(manifests.pinned, adv.package, adv.version)
        ]
        notes = [
            f"safety reported {len(advisories)} vulnerabilities; mapped to "
            f"{len(findings)} manifest lines"
        ]
        return ScanOutput(findings, version, len(findings), len(manifests.manifests), notes,
                          examined={"pinned Python packages": len(pins)})

    def _parse(self, report: Any) -> list[Advisory]:
        vulns = require(self.name, report, "vulnerabilities", list, "report")
        advisories = []
        for i, vuln in enumerate(vulns):
            where = f"vulnerabilities[{i}]"
            vuln_id = str(require(self.name, vuln, "vulnerability_id", (str, int), where))
            package = canonicalize_name(require(self.name, vuln, "package_name", str, where))
            analyzed = require(self.name, vuln, "analyzed_version", str, where)
            text = require(self.name, vuln, "advisory", str, where)
            fixed = vuln.get("fixed_versions") or []
            if not isinstance(fixed, list):
                raise ScannerError(self.name, f"unexpected output: {where}.fixed_versions is "
                                   f"{type(fixed).__name__}")
            cve = vuln.get("CVE")
            primary = cve if isinstance(cve, str) and cve else f"PYUP-{vuln_id}"
            aliases = tuple(sorted({f"PYUP-{vuln_id}"} - {primary}))
            advisories.append(
                Advisory(package, analyzed, primary, aliases, tuple(str(f) for f in fixed), text)
            )
        return advisories


def _json_report(scanner: str, stdout: str) -> Any:
    """safety 3.x may print a deprecation banner before the JSON: start at the first '{'
    that begins a line."""
    try:
        return parse_json(scanner, stdout)
    except ScannerError:
        start = stdout.find("\n{")
        if start < 0:
            raise
        try:
            return json.loads(stdout[start:])
        except (ValueError, RecursionError):  # not JSON, or too deep / too long a number
            raise ScannerError(scanner, "printed output that is not a JSON report") from None
