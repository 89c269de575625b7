"""The waivers file: loading (every error names file:line and a fix), hostile YAML, and
matching by fingerprint, rule + paths, and advisory alias (pure data, no scan)."""

from __future__ import annotations

import datetime as dt
import hashlib
import textwrap

import jsonschema
import pytest

from policy_gate.findings import (
    DEPENDENCY,
    LICENSE,
    SAST,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
)
from policy_gate.policy.loader import PolicyError, Problem
from policy_gate.policy.waivers import EMPTY, MAX_BYTES, Waiver, WaiverSet, load_waivers, schema

NAME = ".policy-gate/waivers.yaml"
FP = "0123456789abcdef0123456789abcdef"
OTHER_FP = "fedcba9876543210fedcba9876543210"
REASON = "constant command list, reviewed"
# The scan's date: after every `created` here (a future one: test_hostile_policy_inputs).
TODAY = dt.date(2030, 1, 1)


def load(text: str) -> WaiverSet:
    return load_waivers(textwrap.dedent(text), NAME, TODAY)


def problems(text: str | bytes) -> list[Problem]:
    data = textwrap.dedent(text) if isinstance(text, str) else text
    with pytest.raises(PolicyError) as info:
        load_waivers(data, NAME, TODAY)
    return info.value.problems


def sast(path: str, *rules: str, fingerprint: str = FP) -> Finding:
    sources = tuple(
        Source(r.split(":")[0], r.split(":", 1)[1], Severity.HIGH, Confidence.HIGH, "m")
        for r in rules
    )
    return Finding(
        category=SAST,
        sources=sources,
        path=path,
        start_line=3,
        end_line=3,
        message="m",
        flaw_key="CWE-78",
        cwe=("CWE-78",),
        fingerprint=fingerprint,
    )


def dependency(
    package: str = "lodash",
    advisory: str = "GHSA-aaaa-bbbb-cccc",
    aliases: tuple[str, ...] = ("CVE-2026-1234",),
    ecosystem: str = "npm",
    fingerprint: str = FP,
) -> Finding:
    return Finding(
        category=DEPENDENCY,
        sources=(Source("osv", "vulnerable-dependency", Severity.HIGH, Confidence.HIGH, "m"),),
        path="package-lock.json",
        start_line=10,
        end_line=10,
        message="m",
        flaw_key=advisory,
        fingerprint=fingerprint,
        dependency=DependencyInfo(
            ecosystem=ecosystem,
            package=package,
            version="4.17.20",
            advisory=advisory,
            aliases=aliases,
        ),
    )


VALID = """\
version: 1
waivers:
  - id: WVR-12
    fingerprint: 0123456789abcdef0123456789abcdef
    reason: "False positive: the command is a constant list"
    owner: alice@example.org
    expires: 2026-12-31
    created: 2026-11-20
  - rule: bandit:B602
    paths: ["scripts/**", "tools/*.py"]
    reason: developer scripts run with trusted input only
    owner: platform-team
    expires: "2027-01-15"
  - advisory: CVE-2026-1234
    package: lodash
    justification: vulnerable_code_not_in_execute_path
    reason: >
      only the build uses the vulnerable template function
    owner: bob@example.org
    expires: 2026-12-01
"""


# --- loading ------------------------------------------------------------------------------


def test_valid_file_loads_every_kind_with_its_line() -> None:
    ws = load(VALID)
    assert ws.file == NAME
    assert ws.sha256 == hashlib.sha256(VALID.encode()).hexdigest()
    fp, rule, adv = ws.waivers
    assert [w.kind for w in ws.waivers] == ["fingerprint", "rule", "advisory"]
    assert [w.index for w in ws.waivers] == [1, 2, 3]
    assert [w.line for w in ws.waivers] == [3, 9, 14]
    assert fp == Waiver(
        index=1,
        file=NAME,
        line=3,
        id="WVR-12",
        fingerprint=FP,
        rule=None,
        paths=(),
        advisory=None,
        package=None,
        reason="False positive: the command is a constant list",
        owner="alice@example.org",
        expires=dt.date(2026, 12, 31),
        created=dt.date(2026, 11, 20),
        justification=None,
    )
    assert fp.location == f"{NAME}:3"
    assert fp.describe() == (
        f"waiver WVR-12 ({NAME}:3, owner alice@example.org, expires 2026-12-31)"
    )
    assert rule.paths == ("scripts/**", "tools/*.py")
    assert rule.expires == dt.date(2027, 1, 15)  # a quoted date is the same date
    assert rule.created is None
    assert rule.describe() == f"waiver #2 ({NAME}:9, owner platform-team, expires 2027-01-15)"
    assert rule.subject == "rule bandit:B602 in scripts/**, tools/*.py"
    assert adv.reason == "only the build uses the vulnerable template function"  # stripped
    assert adv.justification == "vulnerable_code_not_in_execute_path"
    assert adv.subject == "advisory CVE-2026-1234 in lodash"


def test_bytes_and_text_load_alike() -> None:
    assert load_waivers(VALID.encode(), NAME) == load_waivers(VALID, NAME)


@pytest.mark.parametrize(
    "text",
    ["", "\n", "# nothing waived yet\n", "version: 1\n", "waivers: []\n", "version: 1\nwaivers:\n"],
)
def test_empty_files_waive_nothing(text: str) -> None:
    ws = load_waivers(text, NAME)
    assert ws.waivers == ()
    assert ws.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert ws.matching(sast("a.py", "bandit:B602")) == []


def test_empty_set_stands_for_no_file() -> None:
    assert EMPTY.waivers == ()
    assert EMPTY.sha256 == ""
    assert EMPTY.matching(dependency()) == []


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$defs"]["waiver"]["additionalProperties"] is False
    assert schema()["additionalProperties"] is False


def doc(*waivers: tuple[str, ...]) -> str:
    """A document of these waivers (each a tuple of `key: value` lines); the first starts
    on line 3."""
    body = "".join("  - " + "\n    ".join(lines) + "\n" for lines in waivers)
    return "version: 1\nwaivers:\n" + body


def waiver(*lines: str) -> str:
    return doc(lines)


def ok(*kind: str, reason: str = REASON, expires: str = "2026-12-31") -> tuple[str, ...]:
    return (*kind, f"reason: {reason}", "owner: alice@example.org", f"expires: {expires}")


# (id, document, line, where, words in the message)
ERRORS: list[tuple[str, str, int, str, str]] = [
    ("unknown top-level key", "version: 1\nwaiver: []\n", 2, "waiver", "unknown key 'waiver'"),
    ("version", "version: 2\nwaivers: []\n", 1, "version", "2 is not allowed"),
    ("not a mapping", "- fingerprint: x\n", 1, "", "must be a mapping"),
    ("waivers not a list", "waivers:\n  a: 1\n", 1, "waivers", "expected a list or nothing"),
    ("waiver not a mapping", "waivers:\n  - just text\n", 2, "waivers.0", "expected a mapping"),
    (
        "unknown waiver key",
        waiver(*ok(f"fingerprint: {FP}"), "expiry: 2026-12-31"),
        7,
        "waivers.0.expiry",
        "unknown key 'expiry'",
    ),
    (
        "missing expires",
        waiver(f"fingerprint: {FP}", f"reason: {REASON}", "owner: a@example.org"),
        3,
        "waivers.0",
        "missing `expires`",
    ),
    (
        "missing owner",
        waiver(f"fingerprint: {FP}", f"reason: {REASON}", "expires: 2026-12-31"),
        3,
        "waivers.0",
        "missing `owner`",
    ),
    (
        "missing reason",
        waiver(f"fingerprint: {FP}", "owner: a@example.org", "expires: 2026-12-31"),
        3,
        "waivers.0",
        "missing `reason`",
    ),
    ("nothing waived", waiver(*ok()), 3, "waivers.0", "does not say what it waives"),
    (
        "two kinds",
        waiver(*ok(f"fingerprint: {FP}", "advisory: CVE-2026-1")),
        4,
        "waivers.0.advisory",
        "both `fingerprint` and `advisory`",
    ),
    (
        "rule without paths",
        waiver(*ok("rule: bandit:B602")),
        3,
        "waivers.0.rule",
        "needs `paths`",
    ),
    (
        "paths without rule",
        waiver(*ok(f"fingerprint: {FP}", "paths: [a.py]")),
        4,
        "waivers.0.paths",
        "only narrows a `rule`",
    ),
    (
        "package without advisory",
        waiver(*ok(f"fingerprint: {FP}", "package: lodash")),
        4,
        "waivers.0.package",
        "only narrows an `advisory`",
    ),
    (
        "justification without advisory",
        waiver(*ok(f"fingerprint: {FP}", "justification: component_not_present")),
        4,
        "waivers.0.justification",
        "applies only to an `advisory`",
    ),
    (
        "unknown justification",
        waiver(*ok("advisory: CVE-2026-1", "justification: not_exploitable")),
        4,
        "waivers.0.justification",
        "'not_exploitable' is not allowed",
    ),
    (
        "fingerprint in capitals",
        waiver(*ok(f"fingerprint: {FP.upper()}")),
        3,
        "waivers.0.fingerprint",
        "is not a finding fingerprint",
    ),
    (
        "fingerprint too short",
        waiver(*ok("fingerprint: 3f9a")),
        3,
        "waivers.0.fingerprint",
        "is not a finding fingerprint",
    ),
    (
        "rule without scanner",
        waiver(*ok("rule: B602", "paths: [a.py]")),
        3,
        "waivers.0.rule",
        "is not a qualified rule id",
    ),
    (
        "advisory is a CWE",
        waiver(*ok("advisory: cwe-78")),
        3,
        "waivers.0.advisory",
        "weakness class, not an advisory",
    ),
    (
        "advisory is a sentence",
        waiver(*ok("advisory: the lodash bug")),
        3,
        "waivers.0.advisory",
        "is not an advisory id",
    ),
    (
        "reason too short",
        waiver(*ok(f"fingerprint: {FP}", reason='"  a b c d  "')),
        4,
        "waivers.0.reason",
        "reason is too short",
    ),
    (
        "reason not text",
        waiver(*ok(f"fingerprint: {FP}", reason="[one, two]")),
        4,
        "waivers.0.reason",
        "expected a string, got a list",
    ),
    (
        "owner blank",
        waiver(f"fingerprint: {FP}", f"reason: {REASON}", 'owner: "  "', "expires: 2026-12-31"),
        5,
        "waivers.0.owner",
        "owner is empty",
    ),
    (
        "no such day",
        waiver(*ok(f"fingerprint: {FP}", expires="2026-02-30")),
        6,
        "waivers.0.expires",
        "2026-02-30 is not a real date",
    ),
    (
        "not a leap year",
        waiver(*ok(f"fingerprint: {FP}", expires="2027-02-29")),
        6,
        "waivers.0.expires",
        "2027-02-29 is not a real date",
    ),
    (
        "day first",
        waiver(*ok(f"fingerprint: {FP}", expires='"31/12/2026"')),
        6,
        "waivers.0.expires",
        "'31/12/2026' is not an ISO date",
    ),
    (
        "date and time",
        waiver(*ok(f"fingerprint: {FP}", expires="2026-12-31T10:00:00Z")),
        6,
        "waivers.0.expires",
        "is not an ISO date",
    ),
    (
        "date as a number",
        waiver(*ok(f"fingerprint: {FP}", expires="20261231")),
        6,
        "waivers.0.expires",
        "expected a string, got an integer",
    ),
    (
        "created after expires",
        waiver(*ok(f"fingerprint: {FP}"), "created: 2027-01-01"),
        7,
        "waivers.0.created",
        "created 2027-01-01 is after expires 2026-12-31",
    ),
    (
        "created month 13",
        waiver(*ok(f"fingerprint: {FP}"), "created: 2026-13-01"),
        7,
        "waivers.0.created",
        "2026-13-01 is not a real date",
    ),
    (
        "path leaves the tree",
        waiver(*ok("rule: bandit:B602", "paths: [scripts/, ../other/x.py]")),
        4,
        "waivers.0.paths.1",
        "points outside the scanned tree",
    ),
    (
        "path is everything",
        waiver(*ok("rule: bandit:B602", "paths: ['**']")),
        4,
        "waivers.0.paths.0",
        "every file",
    ),
    (
        "path is every file name",
        waiver(*ok("rule: bandit:B602", "paths: ['*']")),
        4,
        "waivers.0.paths.0",
        "every file",
    ),
    (
        "negated path",
        waiver(*ok("rule: bandit:B602", "paths: ['!src/']")),
        4,
        "waivers.0.paths.0",
        "negated pattern",
    ),
    (
        "paths empty",
        waiver(*ok("rule: bandit:B602", "paths: []")),
        4,
        "waivers.0.paths",
        "`paths` is empty",
    ),
    (
        "paths a string",
        waiver(*ok("rule: bandit:B602", "paths: scripts/**")),
        4,
        "waivers.0.paths",
        "expected a list, got a string",
    ),
    (
        "id a number",
        waiver(*ok("id: 12", f"fingerprint: {FP}")),
        3,
        "waivers.0.id",
        "expected a string, got an integer",
    ),
    (
        "duplicate fingerprint",
        doc(ok(f"fingerprint: {FP}"), ok(f"fingerprint: {FP}")),
        7,
        "waivers.1.fingerprint",
        "duplicates the waiver on line 3 (same fingerprint)",
    ),
    (
        "duplicate advisory, other case",
        doc(
            ok("advisory: GHSA-aaaa-bbbb-cccc", "package: lodash"),
            ok("advisory: ghsa-AAAA-bbbb-cccc", "package: lodash"),
        ),
        8,
        "waivers.1.advisory",
        "duplicates the waiver on line 3 (same advisory)",
    ),
    (
        "duplicate rule, paths reordered",
        doc(ok("rule: bandit:B602", "paths: [a/, b/]"), ok("rule: bandit:B602", "paths: [b/, a/]")),
        8,
        "waivers.1.rule",
        "duplicates the waiver on line 3 (same rule)",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "where", "words"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_each_error_names_the_line_the_key_and_a_fix(
    text: str, line: int, where: str, words: str
) -> None:
    found = problems(text)
    assert len(found) == 1, "\n".join(map(str, found))  # reported once, not twice
    problem = found[0]
    assert problem.file == NAME
    assert (problem.line, problem.where) == (line, where), str(problem)
    assert words in problem.message
    assert problem.hint, f"no fix suggested: {problem}"
    assert str(problem).startswith(f"{NAME}:{line}:")


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = doc(
        ok("fingerprint: 3f9a", expires="2026-02-30"), ok("advisory: CWE-78", reason="short")
    )
    found = problems(text)
    assert [(p.line, p.where) for p in found] == [
        (3, "waivers.0.fingerprint"),
        (6, "waivers.0.expires"),
        (7, "waivers.1.advisory"),
        (8, "waivers.1.reason"),
    ]


def test_related_but_different_waivers_are_not_duplicates() -> None:
    text = doc(
        ok("advisory: CVE-2026-1234", "package: lodash"),
        ok("advisory: CVE-2026-1234", "package: underscore"),
        ok("advisory: CVE-2026-1234"),
        ok("rule: bandit:B602", "paths: [a/]"),
        ok("rule: bandit:B602", "paths: [b/]"),
    )
    assert len(load(text).waivers) == 5


def test_dates_on_the_edges() -> None:
    ws = load(waiver(*ok(f"fingerprint: {FP}", expires="2028-02-29"), "created: 2028-02-29"))
    assert ws.waivers[0].expires == ws.waivers[0].created == dt.date(2028, 2, 29)


# --- hostile and oversized input -------------------------------------------------------


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcde", "bcdef", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    found = problems("\n".join(lines) + "\n")
    assert len(found) == 1
    assert "alias bomb" in found[0].message
    assert found[0].hint


def test_duplicate_keys_are_refused_with_their_line() -> None:
    text = waiver(*ok(f"fingerprint: {FP}", expires="2026-12-31"), "expires: 2099-12-31")
    (problem,) = problems(text)
    assert problem.line == 7
    assert "duplicate key 'expires'" in problem.message
    assert "silently keep the last" in problem.hint


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("base: &b {owner: x}\nwaivers:\n  - <<: *b\n", "merge keys"),
        ("waivers:\n  - 1: x\n", "keys must be plain strings"),
        ("version: 1\n---\nversion: 1\n", "more than one YAML document"),
        ("waivers:\n  - reason: [unclosed\n", "YAML syntax error"),
        (b"waivers: []\n# \xff\xfe\n", "not UTF-8"),
    ],
)
def test_hostile_yaml_is_refused(text: str | bytes, words: str) -> None:
    (problem,) = problems(text)
    assert words in problem.message
    assert problem.file == NAME
    assert problem.hint


@pytest.mark.parametrize("as_bytes", [True, False])
def test_files_over_one_mebibyte_are_refused_before_parsing(as_bytes: bool) -> None:
    text = "waivers: []\n" + "#" * MAX_BYTES + "\n"
    (problem,) = problems(text.encode() if as_bytes else text)
    assert "more than the 1048576 allowed" in problem.message
    assert problem.hint


def test_a_file_just_under_the_limit_loads() -> None:
    text = "waivers: []\n"
    text += "#" * (MAX_BYTES - len(text) - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert load_waivers(text, NAME).waivers == ()


# --- matching --------------------------------------------------------------------------


def one(*lines: str) -> Waiver:
    return load(waiver(*ok(*lines))).waivers[0]


def test_fingerprint_matches_only_that_finding() -> None:
    w = one(f"fingerprint: {FP}")
    assert w.matches(sast("a.py", "bandit:B602"))
    assert w.matches(dependency())
    assert not w.matches(sast("a.py", "bandit:B602", fingerprint=OTHER_FP))
    assert not w.matches(sast("a.py", "bandit:B602", fingerprint=""))


@pytest.mark.parametrize(
    ("path", "rules", "expected"),
    [
        ("scripts/deploy.py", ("bandit:B602",), True),
        ("scripts/ops/deep/run.py", ("bandit:B602",), True),
        ("tools/gen.py", ("bandit:B602",), True),
        ("tools/sub/gen.py", ("bandit:B602",), False),  # tools/*.py is one level
        ("src/app.py", ("bandit:B602",), False),  # same rule, other place
        ("scripts/deploy.py", ("bandit:B603",), False),  # same place, other rule
        ("scripts/deploy.py", ("semgrep:python-shell", "bandit:B602"), True),  # merged
        ("src/scripts/deploy.py", ("bandit:B602",), False),  # anchored pattern
    ],
)
def test_rule_waiver_needs_both_the_rule_and_the_path(
    path: str, rules: tuple[str, ...], expected: bool
) -> None:
    w = one("rule: bandit:B602", "paths: ['scripts/**', 'tools/*.py']")
    assert w.matches(sast(path, *rules)) is expected


def test_unanchored_path_pattern_matches_at_any_depth() -> None:
    w = one("rule: semgrep:js-eval", "paths: ['*.test.js']")
    assert w.matches(sast("src/deep/a.test.js", "semgrep:js-eval"))
    assert not w.matches(sast("src/deep/a.js", "semgrep:js-eval"))


@pytest.mark.parametrize(
    "advisory",
    ["GHSA-aaaa-bbbb-cccc", "ghsa-AAAA-BBBB-cccc", "CVE-2026-1234", "cve-2026-1234"],
)
def test_advisory_matches_any_alias_in_any_case(advisory: str) -> None:
    # the finding is named by its GHSA id and carries the CVE as an alias (M5)
    assert one(f"advisory: {advisory}").matches(dependency())


def test_advisory_does_not_match_other_advisories_or_code_findings() -> None:
    w = one("advisory: CVE-2026-9999")
    assert not w.matches(dependency())
    assert not one("advisory: CVE-2026-1234").matches(sast("a.py", "bandit:B602"))


def test_package_restricts_an_advisory_waiver() -> None:
    w = one("advisory: CVE-2026-1234", "package: lodash")
    assert w.matches(dependency("lodash"))
    assert not w.matches(dependency("lodash.merge"))
    assert not w.matches(dependency("Lodash"))  # npm names are exact
    no_dep = sast("a.py", "bandit:B602")
    assert not w.matches(no_dep)


def test_pypi_package_names_compare_normalised() -> None:
    w = one("advisory: PYSEC-2026-1", "package: Django_REST.framework")
    found = dependency("djangorestframework", "PYSEC-2026-1", (), ecosystem="PyPI")
    assert not w.matches(found)
    assert w.matches(dependency("django-rest-framework", "PYSEC-2026-1", (), ecosystem="PyPI"))
    assert w.matches(dependency("django_rest_framework", "PYSEC-2026-1", (), ecosystem="PyPI"))
    # the same spelling rules do not apply to npm
    assert not w.matches(dependency("django-rest-framework", "PYSEC-2026-1", ()))


def test_licence_finding_is_not_waived_by_an_advisory() -> None:
    licence = Finding(
        category=LICENSE,
        sources=(Source("licenses", "denied", Severity.HIGH, Confidence.HIGH, "m"),),
        path="package-lock.json",
        start_line=1,
        end_line=1,
        message="m",
        flaw_key="license:lodash@4.17.20",
        dependency=DependencyInfo(ecosystem="npm", package="lodash", version="4.17.20"),
    )
    assert not one("advisory: CVE-2026-1234", "package: lodash").matches(licence)


def test_matching_returns_every_match_in_file_order() -> None:
    text = doc(
        ok("advisory: CVE-2026-1234"),
        ok(f"fingerprint: {OTHER_FP}"),
        ok(f"fingerprint: {FP}"),
        ok("advisory: GHSA-aaaa-bbbb-cccc", "package: lodash"),
    )
    ws = load(text)
    assert [w.index for w in ws.matching(dependency())] == [1, 3, 4]
    assert ws.matching(sast("a.py", "bandit:B602", fingerprint=OTHER_FP)) == [ws.waivers[1]]
