"""Fail-open inputs a pull request controls (issue 14, round 2): waivers whose dates or
paths would waive more than a reviewer sees, and Dockerfiles that run as root under
another spelling. Each case is refused (exit 2, file, line and fix) or fails the gate."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

import pathspec
import pytest

from policy_gate.base.patterns import PathPatterns, too_broad
from policy_gate.findings import Confidence, Severity
from policy_gate.policy.loader import PolicyError, Problem
from policy_gate.policy.waivers import load_waivers
from policy_gate.scanners.dockerfile import check
from tests.conftest import GateRun

NAME = ".policy-gate/waivers.yaml"
TODAY = dt.date(2026, 11, 25)
REASON = "constant command list, reviewed"
DIGEST = "@sha256:" + "a" * 64
FROM = f"FROM node:18.17.1{DIGEST}\n"


def rule_waiver(paths: str, *extra: str) -> str:
    lines = ["version: 1", "waivers:", "  - rule: bandit:B602", f"    paths: {paths}",
             f"    reason: {REASON}", "    owner: team-core", "    expires: 2026-12-20",
             *(f"    {e}" for e in extra)]
    return "\n".join(lines) + "\n"


def problems(text: str, today: dt.date = TODAY) -> list[Problem]:
    with pytest.raises(PolicyError) as info:
        load_waivers(text, NAME, today=today)
    return info.value.problems


# -- waivers: `created` in the future ------------------------------------------------------


@pytest.mark.parametrize("created", ["2026-11-26", "2027-01-01", "2099-12-31"])
def test_a_waiver_created_in_the_future_is_refused(created: str) -> None:
    """A future `created` would move the start of the lifetime cap (M1) past today, so a
    waiver could last a year under a 30-day cap."""
    text = rule_waiver('["scripts/**"]', f"created: {created}").replace(
        "expires: 2026-12-20", "expires: 2099-12-31")
    [problem] = problems(text)
    assert (problem.file, problem.line, problem.where) == (NAME, 8, "waivers.0.created")
    assert "future" in problem.message and created in problem.message
    assert TODAY.isoformat() in problem.message
    assert problem.hint and "today" in problem.hint


def test_a_waiver_created_today_or_before_loads() -> None:
    for created in ("2026-11-25", "2026-11-24", "2020-01-01"):
        ws = load_waivers(rule_waiver('["scripts/**"]', f"created: {created}"), NAME,
                          today=TODAY)
        assert ws.waivers[0].created == dt.date.fromisoformat(created)


def test_the_date_defaults_to_today_in_utc() -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    text = rule_waiver('["scripts/**"]', f"created: {tomorrow}").replace(
        "expires: 2026-12-20", f"expires: {tomorrow + dt.timedelta(days=3)}")
    with pytest.raises(PolicyError, match="future"):
        load_waivers(text, NAME)


# -- waivers: paths that cover (nearly) every file --------------------------------------

TOO_BROAD = [
    "**", "*", "**/*", "/**", "*.py", "**/*.py", "/**/*.py", "*.js", "*.md", "*.*", "?*",
    "[a-z]*", "[!.]*", "*[a-z]*", "*.[jt]s", "*.p[y]", ".*", "**/", "*/**/*.py",
    "**/[a-z]*/**", "*/", "*.py*",
]
NARROW = [
    "scripts/**", "tools/*.py", "*.test.js", "test_*.py", "*_test.py", "**/tests/**",
    "app.py", "src/legacy/", "docs/*.md", "**/migrations/*.py", "conftest.py",
    "Dockerfile*", "*.min.js", ".env", "src/**/*.py", "**/fixtures/*.json",
]


@pytest.mark.parametrize("pattern", TOO_BROAD)
def test_a_path_pattern_covering_every_file_of_a_kind_is_refused(pattern: str) -> None:
    """Judged by what the pattern matches (the gate's own matcher on probe paths at
    several depths, names and extensions), not by a list of forbidden strings."""
    assert too_broad(pattern)
    [problem] = problems(rule_waiver(f"[scripts/**, {pattern!r}]"))
    assert (problem.line, problem.where) == (4, "waivers.0.paths.1")
    assert pattern in problem.message and "every" in problem.message
    assert problem.hint and "directories" in problem.hint


@pytest.mark.parametrize("pattern", NARROW)
def test_a_path_pattern_naming_directories_or_files_loads(pattern: str) -> None:
    assert not too_broad(pattern)
    ws = load_waivers(rule_waiver(f"[{pattern!r}]"), NAME, today=TODAY)
    assert ws.waivers[0].paths == (pattern,)


def test_patterns_narrow_one_by_one_but_everything_together_are_refused() -> None:
    """Split over one waiver's paths, or over several waivers of the same rule."""
    parts = ["[a-f]*.py", "[g-t]*.py", "[u-w]*.py", "[x-z]*.py", "[A-Z]*.py", "_*.py"]
    assert not any(too_broad(*parts[i : i + 2]) for i in (0, 2, 4)) and too_broad(*parts)
    [problem] = problems(rule_waiver(repr(parts)))
    assert (problem.line, problem.where) == (4, "waivers.0.paths")
    assert "together" in problem.message and "bandit:B602" in problem.message

    def three(*rules: str) -> str:
        head, _, body = rule_waiver(repr(parts[:2])).partition("waivers:\n")
        bodies = [body] + [rule_waiver(repr(parts[i : i + 2])).partition("waivers:\n")[2]
                           for i in (2, 4)]
        return head + "waivers:\n" + "".join(
            b.replace("bandit:B602", r) for b, r in zip(bodies, rules, strict=True))

    [problem] = problems(three("bandit:B602", "bandit:B602", "bandit:B101"))
    assert problem.where == "waivers.1.paths" and "lines 3, 8" in problem.message
    # each rule's paths are judged together, not with another rule's
    text = three("bandit:B602", "bandit:B101", "bandit:B303")
    assert len(load_waivers(text, NAME, today=TODAY).waivers) == 3


def test_the_breadth_check_means_what_the_matcher_matches() -> None:
    """A broad pattern really matches files at every depth; a narrow one does not."""
    deep = ("a.py", "pkg/a.py", "x/y/z/service.py")
    assert all(PathPatterns(["[a-z]*"]).match_file(p) for p in deep)
    assert all(PathPatterns(["*.py"]).match_file(p) for p in deep)
    assert not any(PathPatterns(["*_test.py"]).match_file(p) for p in deep)


def test_a_waivers_file_refused_by_the_gate_names_file_line_and_fix(
    tree: Callable[..., Path], gate: Callable[..., GateRun]
) -> None:
    root = tree({
        "app.py": "import subprocess\nsubprocess.call(input(), shell=True)\n",
        NAME: textwrap.dedent("""\
            version: 1
            waivers:
              - rule: bandit:B602
                paths: ["*.py"]
                reason: accepted while the scripts are rewritten
                owner: team-core
                expires: 2026-12-20
              - rule: bandit:B602
                paths: ["scripts/**"]
                reason: accepted while the scripts are rewritten
                owner: team-core
                created: 2026-12-01
                expires: 2026-12-20
            """),
    })
    run = gate(root, "--scanner", "bandit", env={"POLICY_GATE_TODAY": TODAY.isoformat()})
    assert run.code == 2, run.output
    assert f"{NAME}:4" in run.stderr and "'*.py' would waive the rule in every" in run.stderr
    assert f"{NAME}:12" in run.stderr and "2026-12-01 is in the future" in run.stderr


# -- Dockerfiles: every spelling of root --------------------------------------------------

ROOT_USERS = [
    "root", "0", "00", "0000", "+0", "-0", "0:0", "0:1000", "root:", "root:root", "00:00",
    '"root"', "'0'", "r\\oot", "ContainerAdministrator", '"NT AUTHORITY\\SYSTEM"',
]


@pytest.mark.parametrize("user", ROOT_USERS)
def test_every_spelling_of_uid_0_is_root(user: str) -> None:
    found = check("dockerfile", "Dockerfile", f"{FROM}USER node\nUSER {user}\n", frozenset())
    assert [(f.rule_id, f.severity, f.confidence, f.start_line) for f in found] == [
        ("root-user", Severity.HIGH, Confidence.HIGH, 3)
    ]


@pytest.mark.parametrize(
    "lines",
    [
        "ARG ROOT_USER=root\nUSER ${ROOT_USER}",
        "ARG ROOT_USER=0\nUSER $ROOT_USER",
        "ENV U=0000\nUSER ${U}:1000",
        "USER ${UNSET:-0}",
        "ARG U\nUSER ${U:-root}",
    ],
)
def test_root_through_a_variable(lines: str) -> None:
    found = check("dockerfile", "Dockerfile", f"{FROM}{lines}\n", frozenset())
    assert [(f.rule_id, f.confidence) for f in found] == [("root-user", Confidence.HIGH)]


def test_root_through_a_global_arg() -> None:
    text = f"ARG ROOT_USER=00\n{FROM}ARG ROOT_USER\nUSER $ROOT_USER\n"
    found = check("dockerfile", "Dockerfile", text, frozenset())
    assert [(f.rule_id, f.start_line) for f in found] == [("root-user", 4)]


@pytest.mark.parametrize("user", ["node", "1000", "1000:0", "10", "app", "0app", "rooter",
                                  "ROOT", "ContainerUser"])
def test_users_that_are_not_root(user: str) -> None:
    assert check("dockerfile", "Dockerfile", f"{FROM}USER {user}\n", frozenset()) == []


@pytest.mark.parametrize("user", ["$UNKNOWN", "${NOPE}:1000", "${U#x}", ":1000"])
def test_a_user_that_cannot_be_resolved_is_graded_as_root(user: str) -> None:
    """Unknown is not safe: graded as root, so the Mojaloop policy (ci fails on medium
    severity and medium confidence) fails it."""
    [finding] = check("dockerfile", "Dockerfile", f"{FROM}USER {user}\n", frozenset())
    assert (finding.rule_id, finding.severity, finding.confidence) == (
        "root-user", Severity.HIGH, Confidence.HIGH)
    assert "cannot be resolved" in finding.message


def test_the_gate_fails_every_root_spelling(
    tree: Callable[..., Path], gate: Callable[..., GateRun]
) -> None:
    spellings = ["0000", "0:1000", "root:", "${ROOT_USER}", "$UNKNOWN"]
    root = tree({f"svc{i}/Dockerfile": f"{FROM}ARG ROOT_USER=0\nUSER {user}\n"
                 for i, user in enumerate(spellings)})
    run = gate(root, "--scanner", "dockerfile")
    assert run.code == 1, run.output
    failed = {f["path"] for f in run.findings(rule_id="root-user", status="violation")}
    assert failed == {f"svc{i}/Dockerfile" for i in range(len(spellings))}


@pytest.mark.parametrize("pattern", ["**/", "*/", "a/**/", "[a-z]*/", "**/b/", "/x/"])
def test_the_matcher_agrees_with_pathspec_on_directory_patterns(pattern: str) -> None:
    """pathspec searches its expressions (``**/`` is a bare ``/``); the joined matcher
    once matched them from the start only, so ``**/`` matched nothing."""
    reference = pathspec.GitIgnoreSpec.from_lines([pattern])
    fast = PathPatterns([pattern])
    for path in ("a.py", "a/b.py", "x/y/z.py", "b/c", "kq7/a.py", "x/a\nb/c.py", "a/"):
        assert fast.match_file(path) == bool(reference.match_file(path)), path
