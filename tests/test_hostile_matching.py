"""Hostile changes against the gate's matching of findings to what accepts them (issue 14):
diff mode's "pre-existing", baseline entries, fingerprint waivers and inline comments.

Each test is a real git repository scanned by the real gate: a change that brings a flaw
in must fail, whichever line the scanner names, whichever copy of an accepted flaw it adds,
and whichever harmless rule a comment names. A test about a Python flaw runs the two
scanners that report it (bandit and semgrep, whose findings merge: ``SAST_ONLY``), a test
about a Dockerfile the Dockerfile check: the other scanners report nothing in these trees,
and each gate run skipped costs a whole scan.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    EXAMPLE_ADVISORIES,
    EXTENDS_OFFLINE,
    OFFLINE_POLICY,
    SAST_ONLY,
    GateRun,
)
from tests.test_diff_mode import commit, git, write

# ------------------------------------------------------------------------------ helpers

DOCKERFILE_ONLY = ("--scanner", "dockerfile")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository on `main`; each test commits its own base, then branches."""
    root = tmp_path / "svc"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def branch(repo: Path, files: dict[str, str]) -> None:
    """Commit ``files`` as the base on main and start the change on `feature`."""
    commit(repo, "base", files)
    git(repo, "checkout", "-q", "-b", "feature")


def statuses(run: GateRun, **match: Any) -> list[tuple[str, int | None, str]]:
    return sorted((f["rule_id"], f["start_line"], f["status"]) for f in run.findings(**match))


def violations(run: GateRun) -> list[tuple[str, str, int | None]]:
    assert run.report is not None, run.output
    return sorted(
        (f["path"], f["rule_id"], f["start_line"])
        for f in run.report["findings"]
        if f["status"] == "violation"
    )


def create_baseline(root: Path, out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "policy_gate", "baseline", "create", str(root),
         "--policy", str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES),
         "--output", str(out), *SAST_ONLY],
        check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"}, timeout=300,
    )


def policy_file(repo: Path, extra: str) -> str:
    path = repo.parent / "policy.yaml"
    path.write_text(EXTENDS_OFFLINE + "\nname: hostile-matching\n" + textwrap.dedent(extra))
    return str(path)


# ------------------------------------------ item 3: a multi-line statement is one flaw

MULTILINE_CALL = """\
    import subprocess, sys


    def run(user):
        return subprocess.call(
            "ls -l",
            shell=True,
        )
    """


def test_argument_tainted_on_a_later_line_of_a_call_is_introduced(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """bandit reports B602 on `shell=True` (line 7) of a call that starts on line 5; the
    change makes the command on line 6 user input. The flaw is the statement's: one
    finding, led by the taint rule, with bandit's B602 among its sources."""
    branch(repo, {"app.py": MULTILINE_CALL})
    commit(repo, "run what the user says", {
        "app.py": MULTILINE_CALL.replace('"ls -l",', "sys.argv[1],"),
    })
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main")
    assert [(path, rule) for path, rule, _ in violations(diff)] == [
        ("app.py", TAINT)], diff.output
    [flaw] = diff.findings(rule_id=TAINT)
    assert "B602" in {s["rule_id"] for s in flaw["sources"]}, flaw
    assert flaw["introduced"] is True
    assert diff.code == 1
    # The same change, seen by a full scan filtered to the lines it touched, agrees.
    full = gate(repo, *SAST_ONLY)
    assert [f["status"] for f in full.findings(rule_id=TAINT)] == ["violation"]


CALLS_WITH_SAFE_KEYWORDS = """\
    import hashlib

    import jinja2


    def digest(data):
        return hashlib.md5(
            data,
            usedforsecurity=False,
        ).hexdigest()


    def environment(loader):
        return jinja2.Environment(
            loader=loader,
            autoescape=True,
        )
    """


def test_a_line_removed_from_inside_a_call_introduces_its_flaw(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """Deleting `usedforsecurity=False,` and `autoescape=True,` adds no line, yet makes
    the calls weak hashing (B324) and an XSS-prone template environment (B701)."""
    branch(repo, {"app.py": CALLS_WITH_SAFE_KEYWORDS})
    unsafe = "".join(
        line + "\n" for line in textwrap.dedent(CALLS_WITH_SAFE_KEYWORDS).splitlines()
        if "usedforsecurity" not in line and "autoescape" not in line
    )
    commit(repo, "simplify", {"app.py": unsafe})
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main")
    assert {rule for _, rule, _ in violations(diff)} == {"B324", "B701"}, diff.output
    assert diff.code == 1
    # A removal outside a statement touches nothing: deleting a blank line above the
    # weak hash leaves it pre-existing.
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "unrelated")
    commit(repo, "weak already", {"app.py": unsafe})
    git(repo, "checkout", "-q", "-b", "tidy")
    commit(repo, "tidy", {"app.py": unsafe.replace("import jinja2\n\n\n", "import jinja2\n\n")})
    tidy = gate(repo, *SAST_ONLY, "--diff-base", "unrelated")
    assert tidy.report is not None, tidy.output
    assert not violations(tidy) and tidy.code == 0


BASELINED_MULTILINE = """\
    import subprocess, sys

    PREFIX = "ls "


    def run(name):
        return subprocess.call(
            PREFIX,
            shell=True,
        )
    """


def test_baselined_multiline_call_whose_argument_changes_is_new(
    repo: Path, gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    """A baseline excuses the flagged code it recorded. Changing the command on the
    second line of a baselined call makes it new, as the same change on one line does."""
    commit(repo, "base", {"app.py": BASELINED_MULTILINE})
    baseline = tmp_path / "baseline.json"
    create_baseline(repo, baseline)
    same = gate(repo, *SAST_ONLY, "--baseline", str(baseline))
    assert same.code == 0, same.output
    # re-indenting the call keeps it baselined: whitespace is not the flaw
    write(repo, {"app.py": BASELINED_MULTILINE.replace("    PREFIX,", "      PREFIX,")})
    assert gate(repo, *SAST_ONLY, "--baseline", str(baseline)).code == 0
    write(repo, {"app.py": BASELINED_MULTILINE.replace("PREFIX,", "PREFIX + sys.argv[1],")})
    changed = gate(repo, *SAST_ONLY, "--baseline", str(baseline))
    assert [(path, rule) for path, rule, _ in violations(changed)] == [
        ("app.py", TAINT)], changed.output
    [flaw] = changed.findings(rule_id=TAINT)
    assert "B602" in {s["rule_id"] for s in flaw["sources"]}, flaw
    assert changed.code == 1


def _fake_pem(seed: int, begin: str) -> str:
    """A PEM-shaped block with a made-up body (not a key): detect-secrets flags its BEGIN
    line. The markers are assembled here so that this file holds none."""
    body = base64.b64encode(bytes((seed * 7 + i) % 251 for i in range(192))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    dashes = "-" * 5
    return "\n".join([
        f"{dashes}{begin} RSA PRIVATE KEY{dashes}", *lines, f"{dashes}END RSA PRIVATE KEY{dashes}",
    ]) + "\n"


def test_private_key_swapped_under_an_unchanged_begin_line_is_introduced(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """detect-secrets reports a private key on its BEGIN line, which is the same for every
    RSA key: a change that replaces the key's body adds a new key to the repository."""
    branch(repo, {"deploy/key.pem": _fake_pem(1, "BEGIN")})
    commit(repo, "rotate (into the repository again)", {"deploy/key.pem": _fake_pem(2, "BEGIN")})
    diff = gate(repo, "--diff-base", "main")
    assert diff.report is not None, diff.output
    secrets = [f for f in diff.report["findings"] if f["category"] == "secret"]
    assert secrets and {f["status"] for f in secrets} == {"violation"}, secrets
    assert diff.code == 1


# --------------------------------- item 4: a copy of an accepted flaw is the new finding

FLAW = "    os.system(sys.argv[1])\n"
# semgrep's taint rule leads the merged finding (bandit's B605 alone is low confidence)
TAINT = "py-taint-command-injection"
GO = "def go(cmd):\n" + FLAW + "    return cmd\n"
# Enough unchanged code that git sees a renamed file as a rename.
REST = "".join(f"\n\ndef step_{i}(value):\n    return value + {i}\n" for i in range(12))
WITH_FLAW = "import os, sys\n\n\n" + GO + REST
# A new function above `go` with the same flawed line: git aligns the base's `go` with the
# lower copy, so the line it reports added is the upper one, which a fingerprint (counting
# identical flaws from the top) numbers like the original.
COPY_ABOVE = "import os, sys\n\n\n" + GO.replace("go", "prepare") + "\n\n" + GO + REST


def _baseline_at_base(repo: Path) -> Path:
    commit(repo, "base", {"job.py": WITH_FLAW})
    create_baseline(repo, repo / ".policy-gate" / "baseline.json")
    commit(repo, "baseline")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo / ".policy-gate" / "baseline.json"


def test_copy_inserted_above_a_baselined_flaw_fails_on_the_added_line(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    baseline = _baseline_at_base(repo)
    commit(repo, "do it twice", {"job.py": COPY_ABOVE})
    added = _added_lines(repo, "main", "job.py")
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main", "--baseline", str(baseline))
    assert diff.report is not None, diff.output
    found = statuses(diff, path="job.py", rule_id=TAINT)
    assert [s for _, _, s in found].count("violation") == 1, found
    [(_, line, _)] = [x for x in found if x[2] == "violation"]
    assert line in added  # the copy, not the baselined original
    assert {s for _, _, s in found} == {"violation", "baselined"}
    assert diff.code == 1
    # The full scan agrees on how many are new.
    full = gate(repo, *SAST_ONLY, "--baseline", str(baseline))
    assert [s for _, _, s in statuses(full, rule_id=TAINT)].count("violation") == 1
    assert full.code == 1


def test_copy_above_a_baselined_flaw_in_a_renamed_file_fails(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    baseline = _baseline_at_base(repo)
    git(repo, "mv", "job.py", "task.py")
    commit(repo, "rename", {"task.py": COPY_ABOVE})
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main", "--baseline", str(baseline))
    found = statuses(diff, path="task.py", rule_id=TAINT)
    assert [s for _, _, s in found].count("violation") == 1, found
    [(_, line, _)] = [x for x in found if x[2] == "violation"]
    assert line in _added_lines(repo, "main", "task.py")
    assert diff.code == 1


def test_baseline_with_n_entries_and_n_plus_one_copies_has_exactly_one_new(
    repo: Path, gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    twice = "import os, sys\n\n\ndef go(cmd):\n" + FLAW * 2 + "    return cmd\n"
    commit(repo, "base", {"job.py": twice})
    baseline = tmp_path / "baseline.json"
    create_baseline(repo, baseline)
    for where in range(3):  # a third copy above, between, and below
        lines = twice.splitlines(keepends=True)
        lines.insert(4 + where, FLAW)
        write(repo, {"job.py": "".join(lines)})
        run = gate(repo, *SAST_ONLY, "--baseline", str(baseline))
        got = [s for _, _, s in statuses(run, rule_id=TAINT)]
        assert sorted(got) == ["baselined", "baselined", "violation"], (where, got)
        assert run.code == 1


def _waive_at_base(repo: Path, gate: Callable[..., GateRun]) -> str:
    commit(repo, "base", {"job.py": WITH_FLAW})
    first = gate(repo, *SAST_ONLY, "--policy", _waiver_policy(repo))
    [target] = first.findings(rule_id=TAINT)
    commit(repo, "waive the one we have", {".policy-gate/waivers.yaml": f"""\
        version: 1
        waivers:
          - fingerprint: {target['fingerprint']}
            reason: commands come from our own configuration
            owner: platform-team
            expires: 2099-01-01
        """})
    assert gate(repo, *SAST_ONLY, "--policy", _waiver_policy(repo), env=TODAY).code == 0
    git(repo, "checkout", "-q", "-b", "feature")
    return str(target["fingerprint"])


def _waiver_policy(repo: Path) -> str:
    # detect-secrets takes a fingerprint in a YAML file for a hex secret; not the subject.
    return policy_file(repo, 'exclude: [".policy-gate/"]\n')


TODAY = {"POLICY_GATE_TODAY": "2098-12-30"}


def test_copy_inserted_above_a_waived_flaw_is_not_waived(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """A fingerprint counts identical flaws in a file from the top, so the copy above takes
    over the waived number: in diff mode the waiver stays with the finding that was there."""
    fingerprint = _waive_at_base(repo, gate)
    commit(repo, "do it twice", {"job.py": COPY_ABOVE})
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main", "--policy", _waiver_policy(repo),
                env=TODAY)
    found = statuses(diff, path="job.py", rule_id=TAINT)
    assert sorted(s for _, _, s in found) == ["violation", "waived"], found
    [(_, line, _)] = [x for x in found if x[2] == "violation"]
    assert line in _added_lines(repo, "main", "job.py")
    [copy] = [f for f in diff.findings(rule_id=TAINT) if f["status"] == "violation"]
    assert copy["fingerprint"] == fingerprint  # the waived number, moved onto the copy
    assert any("adds an identical copy" in step for step in copy["decision"])
    assert diff.code == 1


def test_fingerprint_waiver_does_not_cover_a_copy_in_another_file(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    _waive_at_base(repo, gate)
    commit(repo, "same code elsewhere", {"other.py": WITH_FLAW})
    for args in (("--diff-base", "main"), ()):
        run = gate(repo, *SAST_ONLY, *args, "--policy", _waiver_policy(repo), env=TODAY)
        assert violations(run) == [("other.py", TAINT, 5)], run.output
        assert run.code == 1
    assert statuses(run, path="job.py", rule_id=TAINT) == [(TAINT, 5, "waived")]


def _added_lines(repo: Path, base: str, path: str) -> set[int]:
    """The test's own reading of the added lines (numstat-independent)."""
    out = git(repo, "diff", "-U0", "--no-color", "-M", base, "--", path)
    added: set[int] = set()
    for line in out.splitlines():
        if line.startswith("@@"):
            new = line.split()[2].lstrip("+")
            start, _, count = new.partition(",")
            added.update(range(int(start), int(start) + int(count or "1")))
    return added


# ------------------------------ item 16: a comment must name every rule it silences

ONE_LINE_MERGED = (
    "import subprocess; subprocess.call(input(), shell=True)"  # B404 and B602, both CWE-78
)


@pytest.mark.parametrize(
    ("mode", "comment"),
    [
        ("require-reason", "# nosec B404 - the import is reviewed"),
        ("require-reason", "# nosec B602 - reviewed"),  # semgrep saw it too
        ("honour", "# nosec"),  # every bandit rule, but semgrep's is not bandit's
        ("honour", "# nosemgrep"),
    ],
)
def test_a_comment_naming_one_rule_does_not_silence_a_merged_finding(
    tree: Callable[[dict[str, str | bytes]], Path],
    gate: Callable[..., GateRun],
    mode: str,
    comment: str,
) -> None:
    root = tree({"app.py": f"{ONE_LINE_MERGED}  {comment}\n"})
    policy = policy_file(root, f"inline_suppressions: {mode}\n")
    run = gate(root, *SAST_ONLY, "--policy", policy)
    assert run.report is not None, run.output
    [merged] = [f for f in run.report["findings"] if f["category"] == "sast"]
    assert {(s["scanner"], s["rule_id"]) for s in merged["sources"]} >= {
        ("bandit", "B404"), ("bandit", "B602"), ("semgrep", "py-subprocess-shell-true"),
    }
    assert merged["status"] == "violation", merged["decision"]
    assert any("does not silence it" in step for step in merged["decision"])
    assert run.code == 1


def test_comments_naming_every_rule_of_a_merged_finding_silence_it(
    tree: Callable[[dict[str, str | bytes]], Path], gate: Callable[..., GateRun]
) -> None:
    comment = (
        "# nosec B404, B602 - the command is a fixed admin prompt "
        "# nosemgrep: py-subprocess-shell-true - same"
    )
    root = tree({"app.py": f"{ONE_LINE_MERGED}  {comment}\n"})
    policy = policy_file(root, "inline_suppressions: require-reason\n")
    run = gate(root, *SAST_ONLY, "--policy", policy)
    assert run.report is not None, run.output
    [merged] = [f for f in run.report["findings"] if f["category"] == "sast"]
    assert merged["status"] == "suppressed", merged["decision"]
    assert run.code == 0
    uses = {u["kind"]: u["covered"] for u in run.report["suppressions"]}
    assert uses == {"nosec": 1, "nosemgrep": 1}


def test_nosec_on_the_first_line_of_a_call_covers_it_as_bandit_does(
    tree: Callable[[dict[str, str | bytes]], Path], gate: Callable[..., GateRun]
) -> None:
    """bandit honours `nosec` on any line of the flagged statement; the gate judges the
    same span (and still requires the comment to name the rule)."""
    root = tree({"app.py": """\
        import subprocess, sys


        def run(command):
            return subprocess.call(  # nosec B602 - commands come from our configuration
                sys.argv[1],  # nosemgrep: py-taint-command-injection - ok
                shell=True,  # nosemgrep: py-subprocess-shell-true - each on its rule's line
            )
        """})
    policy = policy_file(root, "inline_suppressions: require-reason\n")
    run = gate(root, *SAST_ONLY, "--policy", policy)
    assert run.report is not None, run.output
    [b602] = [f for f in run.findings(category="sast")
              if "B602" in {s["rule_id"] for s in f["sources"]}]
    assert b602["status"] == "suppressed", b602["decision"]
    assert run.code == 0


# ------------------- item 3, Dockerfiles: a finding that points away from its cause

def test_dockerfile_user_removed_or_made_root_through_an_arg_is_introduced(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """The no-USER finding points at `FROM`, and `USER $APP_USER` at its own line: the
    change that removes the USER line, or turns the ARG to root, touches neither."""
    base = "FROM python:3.12-slim\nARG APP_USER=app\nRUN pip install flask\nUSER $APP_USER\n"
    branch(repo, {"Dockerfile": base})
    commit(repo, "drop the user", {"Dockerfile": base.replace("USER $APP_USER\n", "")})
    removed = gate(repo, *DOCKERFILE_ONLY, "--diff-base", "main")
    assert violations(removed) == [("Dockerfile", "root-user", 1)], removed.output
    assert removed.code == 1
    commit(repo, "back, as root", {"Dockerfile": base.replace("=app", "=root")})
    root = gate(repo, *DOCKERFILE_ONLY, "--diff-base", "main")
    assert violations(root) == [("Dockerfile", "root-user", 4)], root.output
    [finding] = root.findings(rule_id="root-user")
    assert any("base's version of this file did not have it" in s for s in finding["decision"])


def test_dockerfile_edit_beside_a_root_image_keeps_it_pre_existing(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """Asking the base's version cuts both ways: an image that ran as root already is
    not blamed on an unrelated edit, and a multi-line RUN that gains an upgrade is."""
    base = "FROM python:3.12-slim\nRUN apt-get update && \\\n    apt-get install -y curl\n"
    branch(repo, {"Dockerfile": base})
    commit(repo, "upgrade too", {"Dockerfile": base.replace(
        "    apt-get install", "    apt-get upgrade -y && \\\n    apt-get install"
    )})
    run = gate(repo, *DOCKERFILE_ONLY, "--diff-base", "main")
    assert run.report is not None, run.output
    found = {f["rule_id"]: f for f in run.report["findings"]}
    assert found["root-user"]["status"] == "pre-existing"
    assert found["package-upgrade"]["introduced"] is True  # on a continuation line


def test_thousands_of_copies_of_a_baselined_flaw_in_a_moved_directory() -> None:
    """Matching pairs copies of one flaw in tiers (same path, same file name, anything),
    so 4,000 identical findings in a moved directory match as quickly as a few; the one
    copy the change added is the new one."""
    from policy_gate.findings import SAST, Confidence, Finding, Severity, Source, merge_findings
    from policy_gate.policy.baseline import create, match

    def finding(path: str, line: int) -> Finding:
        source = Source("bandit", "B101", Severity.LOW, Confidence.HIGH, "assert used")
        return Finding(SAST, (source,), path, line, line, "assert used", "CWE-703",
                       "same-code-everywhere")

    old = merge_findings([finding(f"tests/t{i % 40}.py", 10 + i) for i in range(4000)])
    baseline = create(old, policy_sha256="0" * 64, created="2025-01-01T00:00:00Z")
    moved = [finding(f"suite/t{i % 40}.py", 12 + i) for i in range(4000)]
    added = finding("suite/t7.py", 5)
    head = merge_findings([*moved, added])
    matched = match(baseline, head, lambda f: f.path == "suite/t7.py" and f.start_line == 5)
    assert len(matched) == 4000
    [new] = [f for f in head if f.fingerprint not in matched]
    assert (new.path, new.start_line) == ("suite/t7.py", 5)
