"""The JUnit XML report, for CI systems that show test results (Jenkins, GitLab, Azure,
GitHub via test-report actions).

Entry point: :func:`render` ``(data: ReportData) -> str`` — a complete XML 1.0 document.

Structure (and why):

* ``<testsuites name="policy-gate">`` with totals.
* One ``<testsuite>`` per category the policy checks (``sast``, ``secret``, ``dependency``,
  ``unscanned``), even when it has no findings — then it holds one passing testcase
  ``<category>: no findings``, so CI shows the category was enforced (``<skipped>`` when no
  scanner that checks the category ran).
* **One testcase per violation**, named ``scanner:rule path:line`` (``classname`` is the
  category, ``file``/``line`` attributes carry the place), with exactly one ``<failure>``:
  ``message`` = location and message, ``type`` = effective severity, text = rule, ids, fix,
  why it fails (decision steps) and the category's rationale. Many consumers show only
  the first ``<failure>`` of a testcase (Jenkins JUnit/xUnit, Azure PublishTestResults,
  mikepenz/action-junit-report) and some parsers reject several results per testcase
  (junitparser), so several failures in one testcase would hide violations; a name that
  includes the place keeps testcases unique (Jenkins keys results by class + name).
* Per rule, findings below the fail threshold make one **passing** testcase
  ``scanner:rule (below threshold)`` whose ``<system-out>`` lists them; findings excluded
  by path or disabled by rule make one ``<skipped>`` testcase per rule and status, with
  the reason.
* Per rule, findings over the fail threshold that do not fail this run (suppressed by an
  inline comment the policy honours, waived, baselined, pre-existing in diff mode) make
  one **passing** testcase per status, ``scanner:rule (waived)``, whose ``<system-out>``
  lists each with why it is accepted (the waiver with its owner, expiry and reason; the
  comment; the baseline; the diff's base). Passing, not ``<skipped>``: the finding was
  checked and the gate decided it passes this run by a recorded decision, whereas
  skipped means "not checked" (excluded paths, disabled rules, scanners that did not
  run) and CI dashboards count it as such.
* Budget breaches are a failing testcase ``budget:<severity>`` in their category.
* A ``scanners`` testsuite (its properties: verdict, exit code, policy name and sha256)
  with a testcase per scanner: ``<error>`` when it failed,
  ``<skipped message=reason>`` when skipped (optional and failed) or disabled, passing
  with its version and result count otherwise.
* A ``policy-gate`` testsuite when the run had notices or rested on waivers, a baseline,
  a diff or inline suppression comments (its properties say which): one testcase per
  notice — ``<failure>`` when it fails the build (a change to the gate's own policy,
  waivers or baseline; a stale waiver under ``stale: fail``), passing with the message in
  ``<system-out>`` otherwise — and one passing ``inline suppressions`` testcase listing
  every comment found and whether the policy honours it.

Built with :mod:`xml.etree.ElementTree` (never string concatenation). Characters XML 1.0
cannot carry (control characters, lone surrogates from undecodable file names) are
shown escaped as ``\\xNN``/``\\uNNNN`` text instead.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable

from policy_gate import __version__
from policy_gate.findings import CATEGORIES, SUPPRESSION
from policy_gate.policy.evaluate import Decision, Status
from policy_gate.reports.interface import (
    ACCEPTED_ORDER,
    ReportData,
    notice_place,
    suppression_place,
)
from policy_gate.scanners import registry

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 forbids shown as an escape sequence."""

    def repl(match: re.Match[str]) -> str:
        code = ord(match.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _ILLEGAL.sub(repl, text)


def _one_line(text: str) -> str:
    """For attributes shown as titles: no line breaks (kept visible as ``\\n``)."""
    return xml_text(text.replace("\r", "\\r").replace("\n", "\\n"))


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _one_line(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def _loc(d: Decision) -> str:
    """The place, on one line (a file name may contain a newline)."""
    return d.finding.location.replace("\r", "\\r").replace("\n", "\\n")


def scanners_by_category(data: ReportData) -> dict[str, list[str]]:
    """category -> the scanners that check it and ran to completion ("ok"). The gate
    itself looks for inline suppression comments on every scan, whichever scanners ran."""
    known = registry()
    out: dict[str, list[str]] = defaultdict(list)
    out[SUPPRESSION].append("policy-gate")
    for run in data.result.runs:
        scanner = known.get(run.name)
        # a scanner that had nothing to check (no coverage report) checked nothing
        checked = run.output is not None and not run.output.not_checked
        if scanner is not None and run.status == "ok" and checked:
            for category in scanner.categories:
                out[category].append(run.name)
    return dict(out)


def not_checked_reasons(data: ReportData) -> dict[str, str]:
    """category -> why a scanner for it ran but checked nothing (e.g. no coverage report)."""
    known = registry()
    out: dict[str, str] = {}
    for run in data.result.runs:
        scanner = known.get(run.name)
        if scanner is not None and run.output is not None and run.output.not_checked:
            for category in scanner.categories:
                out.setdefault(category, f"{run.name}: {run.output.not_checked}")
    return out


def _details(d: Decision) -> str:
    f = d.finding
    lines = [
        f"{f.qualified_rule} ({f.category}) at {_loc(d)}",
        f"severity: {d.severity.label}"
        + (f", confidence: {d.confidence.label}" if d.confidence else ""),
        f"scanners: {', '.join(f.scanners)}",
    ]
    if f.title:
        lines.append(f"title: {f.title}")
    lines.append(f"message: {f.message}")
    if f.ids:
        lines.append(f"ids: {', '.join(f.ids)}")
    if f.dependency:
        dep = f.dependency
        lines.append(
            f"package: {dep.package} {dep.version or dep.requirement or '(unpinned)'}"
            + (f"; fixed in {', '.join(dep.fixed_versions)}" if dep.fixed_versions else "")
        )
    if f.fix:
        lines.append(f"fix: {f.fix}")
    if f.help_url:
        lines.append(f"more: {f.help_url}")
    if d.steps:
        lines.append("why:")
        lines.extend(f"  - {step}" for step in d.steps)
    rationale = d.category_policy.rationale
    if rationale:
        cites = f" [{', '.join(d.category_policy.sources)}]" if d.category_policy.sources else ""
        lines.append(f"rationale: {rationale}{cites}")
    if f.fingerprint:
        lines.append(f"fingerprint: {f.fingerprint}")
    return "\n".join(lines) + "\n"


def _brief(d: Decision) -> str:
    return f"{d.severity.label}: {_loc(d)}: {d.finding.message}"


def _accepted_brief(data: ReportData, d: Decision) -> str:
    return f"{_brief(d)}\n      accepted: {data.why(d)}\n"


class _Suite:
    def __init__(self, parent: ET.Element, name: str, timestamp: str) -> None:
        self.el = ET.SubElement(parent, "testsuite", {"name": xml_text(name)})
        self.el.set("timestamp", timestamp)
        self.tests = self.failures = self.errors = self.skipped = 0
        self.time = 0.0

    def case(
        self,
        classname: str,
        name: str,
        *,
        seconds: float = 0.0,
        attrs: dict[str, str] | None = None,
    ) -> ET.Element:
        self.tests += 1
        self.time += seconds
        return _el(
            self.el,
            "testcase",
            classname=classname,
            name=name,
            time=f"{seconds:.3f}",
            **(attrs or {}),
        )

    def close(self) -> None:
        self.el.set("tests", str(self.tests))
        self.el.set("failures", str(self.failures))
        self.el.set("errors", str(self.errors))
        self.el.set("skipped", str(self.skipped))
        self.el.set("time", f"{self.time:.3f}")


def _categories(data: ReportData) -> list[str]:
    checked = list(data.policy.known_categories())
    seen = {d.finding.category for d in data.evaluation.decisions}
    extra = sorted(c for c in seen if c not in checked)
    return [c for c in CATEGORIES if c in checked] + extra


def _by_rule(decisions: Iterable[Decision]) -> dict[str, list[Decision]]:
    groups: dict[str, list[Decision]] = defaultdict(list)
    for d in decisions:
        groups[d.finding.qualified_rule].append(d)
    return dict(sorted(groups.items()))


def build(data: ReportData) -> ET.Element:
    """The ``<testsuites>`` element (see the module docstring for its structure)."""
    ev = data.evaluation
    stamp = data.generated_at
    root = ET.Element("testsuites", {"name": "policy-gate"})
    suites: list[_Suite] = []
    ordered = data.ordered()
    coverage = scanners_by_category(data)

    for category in _categories(data):
        suite = _Suite(root, category, stamp)
        suites.append(suite)
        cat_policy = data.policy.categories.get(category)
        if cat_policy is not None:
            props = ET.SubElement(suite.el, "properties")
            _el(props, "property", name="fail", value=cat_policy.fail.describe())
            if cat_policy.rationale:
                _el(props, "property", name="rationale", value=cat_policy.rationale)
        mine = [d for d in ordered if d.finding.category == category]
        if not mine:
            ran = coverage.get(category, [])
            case = suite.case(category, f"{category}: no findings")
            if not ran:
                _el(case, "skipped", message=f"no scanner that checks {category} ran")
                suite.skipped += 1
            else:
                _el(case, "system-out", f"checked by {', '.join(ran)}: no findings\n")
        # violations first, most severe first (ReportData.ordered()), one testcase each
        for d in (d for d in mine if d.status is Status.VIOLATION):
            f = d.finding
            attrs = {"file": f.path}
            if f.start_line:
                attrs["line"] = str(f.start_line)
            case = suite.case(category, f"{f.qualified_rule} {_loc(d)}", attrs=attrs)
            _el(
                case,
                "failure",
                _details(d),
                message=f"{_loc(d)}: {f.message}",
                type=d.severity.label,
            )
            suite.failures += 1
        for rule, group in _by_rule(mine).items():
            below = [d for d in group if d.status is Status.BELOW_THRESHOLD]
            if below:
                case = suite.case(category, f"{rule} (below threshold)")
                _el(
                    case,
                    "system-out",
                    f"{len(below)} finding(s) below the {category} fail threshold "
                    f"({below[0].category_policy.fail.describe()}); reported, not failing:\n"
                    + "".join(f"  - {_brief(d)}\n" for d in below),
                )
            for status in ACCEPTED_ORDER:
                accepted = [d for d in group if d.status is status]
                if not accepted:
                    continue
                case = suite.case(category, f"{rule} ({status.value})")
                _el(
                    case,
                    "system-out",
                    f"{len(accepted)} finding(s) over the {category} fail threshold, "
                    f"{status.value}: not failing this run.\n"
                    + "".join(f"  - {_accepted_brief(data, d)}" for d in accepted),
                )
            for status in (Status.EXCLUDED, Status.DISABLED):
                tolerated = [d for d in group if d.status is status]
                if not tolerated:
                    continue
                # the last step of the decision says why it is not enforced
                reasons = list(dict.fromkeys(step for d in tolerated for step in d.steps[-1:]))
                case = suite.case(category, f"{rule} ({status.value})")
                _el(
                    case,
                    "skipped",
                    "".join(f"  - {_brief(d)}\n" for d in tolerated),
                    message=f"{len(tolerated)} finding(s) {status.value}: " + "; ".join(reasons),
                )
                suite.skipped += 1
        for breach in (b for b in ev.budgets if b.category == category):
            case = suite.case(category, f"budget:{breach.severity.label}")
            _el(
                case,
                "failure",
                f"The {category} budget allows {breach.allowed} {breach.severity.label} "
                f"finding(s); {breach.found} were found, so each of them is a violation.\n",
                message=f"{category} budget exceeded: {breach.found} {breach.severity.label} "
                f"finding(s), {breach.allowed} allowed",
                type=breach.severity.label,
            )
            suite.failures += 1

    gate = _gate_suite(data, root, stamp)
    if gate is not None:
        suites.append(gate)

    scanners = _Suite(root, "scanners", stamp)
    suites.append(scanners)
    _run_properties(data, scanners.el)
    for run in data.result.runs:
        case = scanners.case("scanners", run.name, seconds=run.seconds)
        if run.status == "failed":
            _el(case, "error", run.reason + "\n", message=run.reason or "failed", type="failed")
            scanners.errors += 1
        elif run.status in ("skipped", "disabled"):
            reason = run.reason or run.status
            if run.status == "skipped":
                reason = f"failed, but optional in the policy: {reason}"
            _el(case, "skipped", message=reason)
            scanners.skipped += 1
        elif run.output is not None:
            out = run.output
            text = (
                f"{run.name} {run.version}: {out.raw_results} result(s), "
                f"{out.files_scanned} file(s) scanned\n" + "".join(f"{n}\n" for n in out.notes)
            )
            _el(case, "system-out", text)

    for suite in suites:
        suite.close()
    root.set("tests", str(sum(s.tests for s in suites)))
    root.set("failures", str(sum(s.failures for s in suites)))
    root.set("errors", str(sum(s.errors for s in suites)))
    root.set("skipped", str(sum(s.skipped for s in suites)))
    root.set("time", f"{data.result.seconds:.3f}")
    root.set("timestamp", stamp)
    return root


def _gate_suite(data: ReportData, root: ET.Element, stamp: str) -> _Suite | None:
    """Notices and the inputs the decisions rested on; None when there is nothing to say."""
    ev = data.evaluation
    inputs = ev.inputs
    changes = data.changes
    waivers = inputs.waivers if inputs is not None else None
    baseline = inputs.baseline if inputs is not None else None
    if not (ev.notices or ev.suppressions or waivers or baseline or changes):
        return None
    suite = _Suite(root, "policy-gate", stamp)
    props = ET.SubElement(suite.el, "properties")
    values: dict[str, str] = {
        "review_required": "true" if ev.policy_change is not None else "false",
    }
    if waivers is not None:
        values["waivers"] = f"{waivers.file} ({len(waivers.waivers)} waiver(s))"
        values["waivers_sha256"] = waivers.sha256
    if baseline is not None:
        values["baseline"] = f"{baseline.source} ({len(baseline.entries)} entries)"
    if changes is not None:
        values["diff_base"] = f"{changes.base_ref} {changes.base}"
        values["diff_changed_files"] = str(len(changes.files))
    for name, value in values.items():
        _el(props, "property", name=name, value=value)

    names: dict[str, int] = {}
    for n in data.notices():
        place = notice_place(n)
        name = f"{n.kind} {place}".strip()
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:  # testcase names stay unique (CI tools key results by name)
            name = f"{name} #{names[name]}"
        attrs = {"file": n.file} if n.file else {}
        if n.file and n.line:
            attrs["line"] = str(n.line)
        case = suite.case("policy-gate", name, attrs=attrs)
        if n.fails:
            _el(case, "failure", n.message + "\n", message=n.message, type=n.kind)
            suite.failures += 1
        else:
            _el(case, "system-out", f"warning: {n.message}\n")
    if ev.suppressions:
        honoured = sum(1 for u in ev.suppressions if u.honoured)
        case = suite.case("policy-gate", "inline suppressions")
        _el(
            case,
            "system-out",
            f"{len(ev.suppressions)} inline suppression comment(s), {honoured} honoured by "
            f"the policy (inline_suppressions: {data.policy.inline_suppressions}):\n"
            + "".join(
                f"  - {suppression_place(u)}: {u.suppression.text} — "
                f"{'honoured' if u.honoured else 'not honoured'}: {u.why}; "
                f"covers {u.covered} finding(s)\n"
                for u in ev.suppressions
            ),
        )
    return suite


def _run_properties(data: ReportData, suite: ET.Element) -> None:
    props = ET.SubElement(suite, "properties")
    values = {
        "tool": f"policy-gate {__version__}",
        "verdict": data.evaluation.verdict.value,
        "exit_code": str(data.evaluation.verdict.exit_code),
        "policy": data.policy.name,
        "policy_sha256": data.policy.sha256,
    }
    if data.result.advisory_info is not None:
        values["advisories"] = data.result.advisory_info.summary()
    for name, value in values.items():
        _el(props, "property", name=name, value=value)


def render(data: ReportData) -> str:
    root = build(data)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


__all__ = ["build", "render", "xml_text"]
