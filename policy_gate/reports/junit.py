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

Written as text, not built with :mod:`xml.etree.ElementTree`: for 10,000 findings the
tree and its serialisation cost several times the budget of the whole report. Every value
goes through the escaping ElementTree applies (``&``, ``<``, ``>``; in attributes also
``"``, tab, CR and LF), after characters XML 1.0 cannot carry (control characters, lone
surrogates from undecodable file names) are shown escaped as ``\\xNN``/``\\uNNNN`` text.
The document is what ``ET.indent`` and ``ET.tostring`` write for the same tree, in ASCII:
other characters are character references (``&#8230;``), as ElementTree writes them to
an ASCII file (tests/test_report_writers.py compares them). Titles kept in attributes
(names, messages) are on one line: line breaks in them are shown as ``\\n``/``\\r``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from policy_gate import __version__
from policy_gate.findings import CATEGORIES, Severity
from policy_gate.policy.evaluate import BudgetBreach, Decision, Status
from policy_gate.reports.interface import (
    ACCEPTED_ORDER,
    ReportData,
    notice_place,
    notice_repo_path,
    repo_path,
    scanners_by_category,
    suppression_place,
)

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF];
# the rest, listed (a negated class of those ranges takes 5 ms to compile). None of these
# is printable (str.isprintable), which is how most texts skip the search.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 forbids shown as an escape sequence."""

    def repl(match: re.Match[str]) -> str:
        code = ord(match.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _ILLEGAL.sub(repl, text)


def _one_line(text: str) -> str:
    """For attributes shown as titles: no line breaks (kept visible as ``\\n``)."""
    return xml_text(text.replace("\r", "\\r").replace("\n", "\\n"))


def _plain(text: str) -> bool:
    """Printable ASCII without ``&<>"``: no escaping changes it, in text or attributes."""
    return (
        text.isascii()
        and text.isprintable()
        and "&" not in text
        and "<" not in text
        and ">" not in text
        and '"' not in text
    )


def _ascii(text: str) -> str:
    """Characters beyond ASCII as character references: the document is ASCII, half the
    memory of a text holding one such character, and faster to join and encode."""
    return text if text.isascii() else text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _escape_text(text: str) -> str:
    """Element text as ElementTree writes ``xml_text(text)`` (to an ASCII file)."""
    if _plain(text):
        return text
    if not text.isprintable():  # what XML 1.0 forbids is not printable
        text = xml_text(text)
    return _ascii(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _escape_attr(text: str) -> str:
    """An attribute value as ElementTree writes it (to an ASCII file): the value as it is,
    without ``xml_text`` or ``_one_line``."""
    if _plain(text):
        return text
    return _ascii(
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
        .replace("\t", "&#09;")
    )


class _Escape:
    """Memoised escaping: messages, rules, paths and decision steps repeat across
    thousands of findings. Escaping works character by character, so the escaped parts of
    a text joined are the escaped text."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.attrs: dict[str, str] = {}

    def text(self, value: str) -> str:
        try:
            return self.texts[value]
        except KeyError:
            out = self.texts[value] = _escape_text(value)
            return out

    def attr(self, value: str) -> str:
        """A title attribute: on one line, then escaped."""
        try:
            return self.attrs[value]
        except KeyError:
            out = value if _plain(value) else _escape_attr(_one_line(value))
            self.attrs[value] = out
            return out


def _attrs(esc: _Escape, **attrs: str) -> str:
    return "".join(f' {name}="{esc.attr(value)}"' for name, value in attrs.items())


def _leaf(tag: str, attrs: str, text: str = "") -> str:
    """An element without children; ``attrs`` and ``text`` are escaped already."""
    return f"<{tag}{attrs}>{text}</{tag}>" if text else f"<{tag}{attrs} />"


def _el(esc: _Escape, tag: str, text: str | None = None, **attrs: str) -> str:
    return _leaf(tag, _attrs(esc, **attrs), esc.text(text) if text else "")


# Indentation as ET.indent writes it: testsuites > testsuite > testcase > failure.
_SUITE = "\n  "
_CASE = "\n    "
_RESULT = "\n      "


def _properties(esc: _Escape, values: dict[str, str]) -> str:
    items = "".join(_RESULT + _el(esc, "property", name=k, value=v) for k, v in values.items())
    return f"<properties>{items}{_CASE}</properties>" if items else "<properties />"


def _loc(d: Decision) -> str:
    """The place, on one line (a file name may contain a newline)."""
    return d.finding.location.replace("\r", "\\r").replace("\n", "\\n")


def _grades(d: Decision, e: Callable[[str], str]) -> str:
    """The lines of a violation's failure text before its message: grades, scanners, title
    (``e`` escapes each value)."""
    f = d.finding
    confidence = f", confidence: {e(d.confidence.label)}" if d.confidence else ""
    title = f"title: {e(f.title)}\n" if f.title else ""
    return (
        f"severity: {e(d.severity.label)}{confidence}\n"
        f"scanners: {e(', '.join(f.scanners))}\n{title}"
    )


def _reasons(d: Decision, e: Callable[[str], str]) -> str:
    """The lines after its message: ids, package, fix, link, why it fails (the decision's
    steps) and the category's rationale."""
    f = d.finding
    lines = []
    if f.ids:
        lines.append(f"ids: {e(', '.join(f.ids))}\n")
    if f.dependency:
        dep = f.dependency
        lines.append(
            f"package: {e(dep.package)} {e(dep.version or dep.requirement or '(unpinned)')}"
            + (f"; fixed in {e(', '.join(dep.fixed_versions))}" if dep.fixed_versions else "")
            + "\n"
        )
    if f.fix:
        lines.append(f"fix: {e(f.fix)}\n")
    if f.help_url:
        lines.append(f"more: {e(f.help_url)}\n")
    if d.steps:
        lines.append("why:\n")
        lines.extend(f"  - {e(step)}\n" for step in d.steps)
    cat = d.category_policy
    if cat.rationale:
        cites = f" [{e(', '.join(cat.sources))}]" if cat.sources else ""
        lines.append(f"rationale: {e(cat.rationale)}{cites}\n")
    return "".join(lines)


def _brief(d: Decision) -> str:
    return f"{d.severity.label}: {_loc(d)}: {d.finding.message}"


def _accepted_brief(data: ReportData, d: Decision) -> str:
    return f"{_brief(d)}\n      accepted: {data.why(d)}\n"


class _Suite:
    """A ``<testsuite>``, written onto ``parts`` as its children come; its start tag, which
    holds the counts, fills the slot kept for it at ``close``."""

    def __init__(self, esc: _Escape, parts: list[str], name: str, timestamp: str) -> None:
        self.esc = esc
        self.parts = parts
        self.name = name
        self.timestamp = timestamp
        parts.append(_SUITE)
        self.slot = len(parts)
        parts.append("")  # the start tag, at close
        self.tests = self.failures = self.errors = self.skipped = 0
        self.time = 0.0

    def add(self, child: str) -> None:
        """A child (written) other than a testcase: ``<properties>``."""
        self.parts += (_CASE, child)

    def case(
        self,
        classname: str,
        name: str,
        child: str = "",
        *,
        seconds: float = 0.0,
        attrs: dict[str, str] | None = None,
    ) -> None:
        """A testcase with at most one child element (written)."""
        self.tests += 1
        self.time += seconds
        opening = _attrs(
            self.esc, classname=classname, name=name, time=f"{seconds:.3f}", **(attrs or {})
        )
        self.add_case(opening, child)

    def add_case(self, attrs: str, child: str) -> None:
        """A testcase from its escaped attributes and its child (written, or "")."""
        if child:
            self.parts.append(f"{_CASE}<testcase{attrs}>{_RESULT}{child}{_CASE}</testcase>")
        else:
            self.parts.append(f"{_CASE}<testcase{attrs} />")

    def close(self) -> None:
        """Once every child is written."""
        attrs = (
            f' name="{_escape_attr(xml_text(self.name))}"'
            f' timestamp="{_escape_attr(self.timestamp)}" tests="{self.tests}"'
            f' failures="{self.failures}" errors="{self.errors}" skipped="{self.skipped}"'
            f' time="{self.time:.3f}"'
        )
        if len(self.parts) == self.slot + 1:  # no children
            self.parts[self.slot] = f"<testsuite{attrs} />"
        else:
            self.parts[self.slot] = f"<testsuite{attrs}>"
            self.parts.append(f"{_SUITE}</testsuite>")


def _categories(data: ReportData) -> list[str]:
    checked = list(data.policy.known_categories())
    seen = {d.finding.category for d in data.evaluation.decisions}
    extra = sorted(c for c in seen if c not in checked)
    return [c for c in CATEGORIES if c in checked] + extra


def _by_rule(decisions: Iterable[Decision]) -> dict[str, list[Decision]]:
    groups: dict[str, list[Decision]] = defaultdict(list)
    names: dict[tuple[str, str], str] = {}  # (scanner, rule id) -> the qualified rule
    for d in decisions:
        lead = d.finding.sources[0]
        name = names.get((lead.scanner, lead.rule_id))
        if name is None:
            name = names[(lead.scanner, lead.rule_id)] = lead.qualified_rule
        groups[name].append(d)
    return dict(sorted(groups.items()))


class _Violations:
    """One testcase per violation, written with the parts findings share memoised."""

    def __init__(self, esc: _Escape, prefix: str = "") -> None:
        self.esc = esc
        self.prefix = prefix  # file attributes name repository paths (repo_path)
        self.middles: dict[tuple[object, ...], str] = {}
        self.rules: dict[tuple[str, str], tuple[str, str]] = {}
        self.severities: dict[Severity, str] = {}

    def write(self, suite: _Suite, category: str, violations: Iterable[Decision]) -> None:
        esc = self.esc
        text, attr = esc.text, esc.attr
        rules, middle, severities = self.rules, self.middle, self.severities
        prefix = self.prefix
        start = f'{_CASE}<testcase classname="{attr(category)}" name="'
        parts = suite.parts
        count = len(parts)
        for d in violations:
            f = d.finding
            lead = f.sources[0]
            rule = rules.get((lead.scanner, lead.rule_id))
            if rule is None:
                rule = self.rule(lead.scanner, lead.rule_id, f.qualified_rule, category)
            place = f.location
            if _plain(place):
                place_attr = place_text = place
            else:
                place_attr, place_text = attr(place), text(_loc(d))
            number = f.start_line
            if not number:
                line = ""
            elif type(number) is int:
                line = f' line="{number}"'
            else:
                line = f' line="{attr(str(number))}"'
            fingerprint = f.fingerprint
            if fingerprint and not (fingerprint.isascii() and fingerprint.isalnum()):
                fingerprint = _escape_text(fingerprint)  # a hex digest needs no escaping
            last = f"fingerprint: {fingerprint}\n" if fingerprint else ""
            severity = severities.get(d.severity) or self.severity(d.severity)
            file_attr = attr(repo_path(prefix, f.path))
            parts.append(
                f'{start}{rule[0]} {place_attr}" time="0.000" file="{file_attr}"{line}>'
                f'{_RESULT}<failure message="{place_attr}: {attr(f.message)}" type="{severity}">'
                f"{rule[1]}{place_text}\n{middle(d)}{last}</failure>{_CASE}</testcase>"
            )
        added = len(parts) - count
        suite.tests += added
        suite.failures += added

    def severity(self, severity: Severity) -> str:
        out = self.severities[severity] = self.esc.attr(severity.label)
        return out

    def rule(self, scanner: str, rule_id: str, qualified: str, category: str) -> tuple[str, str]:
        """(the rule in a testcase name, the start of the failure text)."""
        esc = self.esc
        out = self.rules[(scanner, rule_id)] = (
            esc.attr(qualified),
            f"{esc.text(qualified)} ({esc.text(category)}) at ",
        )
        return out

    def middle(self, d: Decision) -> str:
        """The failure text between its first line (rule, category, place) and its last
        (the fingerprint): the same for the violations of a rule decided alike."""
        f = d.finding
        src = f.sources
        key = (
            d.severity,
            d.confidence,
            src[0].scanner if len(src) == 1 else f.scanners,
            f.title,
            f.message,
            f.ids,
            f.dependency,
            f.fix,
            f.help_url,
            d.steps,
            id(d.category_policy),
        )
        try:
            return self.middles[key]
        except KeyError:
            e = self.esc.text
            out = f"{_grades(d, e)}message: {e(f.message)}\n{_reasons(d, e)}"
            self.middles[key] = out
            return out


def build(data: ReportData) -> ET.Element:
    """The ``<testsuites>`` element (see the module docstring for its structure), parsed
    from the text ``render`` writes (with defusedxml, like every XML the gate parses)."""
    from defusedxml.ElementTree import (  # type: ignore[import-untyped,unused-ignore]
        fromstring,
    )

    element: ET.Element = fromstring(render(data).encode("utf-8"))
    return element


class _Document:
    """The document as it is written: its parts, and its testsuites, whose counts the root
    ``<testsuites>`` tag sums once every suite is closed."""

    def __init__(self, stamp: str) -> None:
        self.esc = _Escape()
        self.stamp = stamp
        self.parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', ""]  # [1]: the root tag
        self.suites: list[_Suite] = []

    def suite(self, name: str) -> _Suite:
        """A new testsuite, written after those before it."""
        suite = _Suite(self.esc, self.parts, name, self.stamp)
        self.suites.append(suite)
        return suite

    def text(self, seconds: float) -> str:
        """The whole document, its root tag filled in (``seconds``: the scan's time)."""
        suites = self.suites
        self.parts[1] = (
            f'<testsuites name="policy-gate" tests="{sum(s.tests for s in suites)}"'
            f' failures="{sum(s.failures for s in suites)}"'
            f' errors="{sum(s.errors for s in suites)}"'
            f' skipped="{sum(s.skipped for s in suites)}"'
            f' time="{seconds:.3f}" timestamp="{_escape_attr(self.stamp)}">'
        )
        self.parts.append("\n</testsuites>\n")
        return "".join(self.parts)


def render(data: ReportData) -> str:
    """A complete XML 1.0 document: a testsuite per category, then the gate's own (when it
    has anything to say), then the scanners'."""
    doc = _Document(data.generated_at)
    coverage = scanners_by_category(data)
    by_category: dict[str, list[Decision]] = defaultdict(list)
    for d in data.ordered():
        by_category[d.finding.category].append(d)
    violations = _Violations(doc.esc, data.path_prefix)
    for category in _categories(data):
        _category_suite(
            doc, data, category, by_category.get(category, []), coverage.get(category, []),
            violations,
        )
    _gate_suite(data, doc)
    _scanners_suite(data, doc)
    return doc.text(data.result.seconds)


def _category_suite(
    doc: _Document,
    data: ReportData,
    category: str,
    mine: list[Decision],
    ran: list[str],
    violations: _Violations,
) -> None:
    """One category's testsuite: ``mine`` (its decisions, most important first), checked
    by the scanners ``ran``."""
    suite = doc.suite(category)
    cat_policy = data.policy.categories.get(category)
    if cat_policy is not None:
        values = {"fail": cat_policy.fail.describe()}
        if cat_policy.rationale:
            values["rationale"] = cat_policy.rationale
        suite.add(_properties(doc.esc, values))
    if not mine:
        _no_findings_case(suite, category, ran)
    # violations first, most severe first (ReportData.ordered()), one testcase each
    failing: list[Decision] = []
    others: list[Decision] = []  # the per-rule testcases below hold no violation
    for d in mine:
        (failing if d.status is Status.VIOLATION else others).append(d)
    violations.write(suite, category, failing)
    for rule, group in _by_rule(others).items():
        by_status: dict[Status, list[Decision]] = defaultdict(list)
        for d in group:
            by_status[d.status].append(d)
        _below_case(suite, category, rule, by_status.get(Status.BELOW_THRESHOLD))
        _accepted_cases(suite, data, category, rule, by_status)
        _tolerated_cases(suite, category, rule, by_status)
    _budget_cases(suite, category, [b for b in data.evaluation.budgets if b.category == category])
    suite.close()


def _no_findings_case(suite: _Suite, category: str, ran: list[str]) -> None:
    """A category without findings still shows it was enforced: passing when a scanner
    that checks it ran, skipped when none did."""
    if not ran:
        child = _el(suite.esc, "skipped", message=f"no scanner that checks {category} ran")
        suite.skipped += 1
    else:
        child = _el(suite.esc, "system-out", f"checked by {', '.join(ran)}: no findings\n")
    suite.case(category, f"{category}: no findings", child)


def _below_case(suite: _Suite, category: str, rule: str, below: list[Decision] | None) -> None:
    """A rule's findings below the fail threshold: one passing testcase listing them."""
    if not below:
        return
    text = (
        f"{len(below)} finding(s) below the {category} fail threshold "
        f"({below[0].category_policy.fail.describe()}); reported, not failing:\n"
        + "".join(f"  - {_brief(d)}\n" for d in below)
    )
    suite.case(category, f"{rule} (below threshold)", _el(suite.esc, "system-out", text))


def _accepted_cases(
    suite: _Suite, data: ReportData, category: str, rule: str,
    by_status: dict[Status, list[Decision]],
) -> None:
    """A rule's findings over the threshold that do not fail this run: a passing testcase
    per status (checked, and passed by a recorded decision), each finding with why."""
    for status in ACCEPTED_ORDER:
        accepted = by_status.get(status)
        if not accepted:
            continue
        text = (
            f"{len(accepted)} finding(s) over the {category} fail threshold, "
            f"{status.value}: not failing this run.\n"
            + "".join(f"  - {_accepted_brief(data, d)}" for d in accepted)
        )
        suite.case(category, f"{rule} ({status.value})", _el(suite.esc, "system-out", text))


def _tolerated_cases(
    suite: _Suite, category: str, rule: str, by_status: dict[Status, list[Decision]]
) -> None:
    """A rule's findings excluded by path or disabled: a skipped testcase per status (not
    checked), with the reasons."""
    for status in (Status.EXCLUDED, Status.DISABLED):
        tolerated = by_status.get(status)
        if not tolerated:
            continue
        # the last step of the decision says why it is not enforced
        reasons = list(dict.fromkeys(step for d in tolerated for step in d.steps[-1:]))
        child = _el(
            suite.esc,
            "skipped",
            "".join(f"  - {_brief(d)}\n" for d in tolerated),
            message=f"{len(tolerated)} finding(s) {status.value}: " + "; ".join(reasons),
        )
        suite.case(category, f"{rule} ({status.value})", child)
        suite.skipped += 1


def _budget_cases(suite: _Suite, category: str, breaches: list[BudgetBreach]) -> None:
    """A failing testcase per budget the category exceeded."""
    for breach in breaches:
        child = _el(
            suite.esc,
            "failure",
            f"The {category} budget allows {breach.allowed} {breach.severity.label} "
            f"finding(s); {breach.found} were found, so each of them is a violation.\n",
            message=f"{category} budget exceeded: {breach.found} {breach.severity.label} "
            f"finding(s), {breach.allowed} allowed",
            type=breach.severity.label,
        )
        suite.case(category, f"budget:{breach.severity.label}", child)
        suite.failures += 1


def _scanners_suite(data: ReportData, doc: _Document) -> None:
    """The run's facts as properties, and a testcase per scanner: an error when it failed,
    skipped when it was skipped or disabled, else passing with what it found."""
    suite = doc.suite("scanners")
    esc = doc.esc
    suite.add(_run_properties(data, esc))
    for run in data.result.runs:
        child = ""
        if run.status == "failed":
            child = _el(
                esc, "error", run.reason + "\n", message=run.reason or "failed", type="failed"
            )
            suite.errors += 1
        elif run.status in ("skipped", "disabled"):
            reason = run.reason or run.status
            if run.status == "skipped":
                reason = f"failed, but optional in the policy: {reason}"
            child = _el(esc, "skipped", message=reason)
            suite.skipped += 1
        elif run.output is not None:
            out = run.output
            text = (
                f"{run.name} {run.version}: {out.raw_results} result(s), "
                f"{out.files_scanned} file(s) scanned\n" + "".join(f"{n}\n" for n in out.notes)
            )
            child = _el(esc, "system-out", text)
        suite.case("scanners", run.name, child, seconds=run.seconds)
    suite.close()


def _gate_suite(data: ReportData, doc: _Document) -> None:
    """Notices and the inputs the decisions rested on; no testsuite when there is nothing
    to say."""
    ev = data.evaluation
    inputs = ev.inputs
    changes = data.changes
    waivers = inputs.waivers if inputs is not None else None
    baseline = inputs.baseline if inputs is not None else None
    if not (ev.notices or ev.suppressions or waivers or baseline or changes):
        return
    suite = doc.suite("policy-gate")
    esc = doc.esc
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
    suite.add(_properties(esc, values))

    names: dict[str, int] = {}
    for n in data.notices():
        place = notice_place(n)
        name = f"{n.kind} {place}".strip()
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:  # testcase names stay unique (CI tools key results by name)
            name = f"{name} #{names[name]}"
        repo_file = notice_repo_path(n, data.path_prefix)
        attrs = {"file": repo_file} if repo_file else {}
        if repo_file and n.line:
            attrs["line"] = str(n.line)
        if n.fails:
            child = _el(esc, "failure", n.message + "\n", message=n.message, type=n.kind)
            suite.failures += 1
        else:
            child = _el(esc, "system-out", f"warning: {n.message}\n")
        suite.case("policy-gate", name, child, attrs=attrs)
    if ev.suppressions:
        honoured = sum(1 for u in ev.suppressions if u.honoured)
        text = (
            f"{len(ev.suppressions)} inline suppression comment(s), {honoured} honoured by "
            f"the policy (inline_suppressions: {data.policy.inline_suppressions}):\n"
            + "".join(
                f"  - {suppression_place(u)}: {u.suppression.text} — "
                f"{'honoured' if u.honoured else 'not honoured'}: {u.why}; "
                f"covers {u.covered} finding(s)\n"
                for u in ev.suppressions
            )
        )
        suite.case("policy-gate", "inline suppressions", _el(esc, "system-out", text))
    suite.close()


def _run_properties(data: ReportData, esc: _Escape) -> str:
    """The scanners testsuite's properties: what decided the run (tool, verdict, policy)."""
    values = {
        "tool": f"policy-gate {__version__}",
        "verdict": data.evaluation.verdict.value,
        "exit_code": str(data.evaluation.verdict.exit_code),
        "policy": data.policy.name,
        "policy_sha256": data.policy.sha256,
    }
    if data.result.advisory_info is not None:
        values["advisories"] = data.result.advisory_info.summary()
    return _properties(esc, values)


__all__ = ["build", "render", "xml_text"]
