"""Fail-open cases of pull-request diff mode (issue 14, round 2), on real git repositories
built per test and the real scanners: what git reports must not depend on anything the
repository configures, history the clone lacks must stop the gate, the gate's inputs come
from the base branch as it is now, a base name means one thing, and every input the pull
request can change is read from the base or needs security review."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy_gate import action_entrypoint as ae
from policy_gate.base.git import Repo
from policy_gate.base.gitrun import GitError
from tests.conftest import EXAMPLE_ADVISORIES, EXTENDS_OFFLINE, GateRun
from tests.test_diff_mode import FAKE_AWS, commit, git, write

JOB_PY = "import hashlib\n\n\ndef go(c):\n    hashlib.md5(c)\n"  # bandit B324, semgrep too
CLEAN_PY = "def add(a, b):\n    return a + b\n"
POLICY = ".policy-gate/policy.yaml"


def new_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    commit(root, "base", files)
    git(root, "checkout", "-q", "-b", "feature")
    return root


def statuses(run: GateRun, **match: Any) -> set[str]:
    return {f["status"] for f in run.findings(**match)}


def review_message(run: GateRun) -> str:
    assert run.report is not None, run.output
    review = run.report["review_required"]
    return str(review["message"]) if review else ""


def secrets_of(run: GateRun) -> list[dict[str, Any]]:
    assert run.report is not None, run.output
    return [f for f in run.report["findings"] if f["category"] == "secret"]


def scan_without_advisories(tmp_path: Path, root: Path, *args: str) -> GateRun:
    """The gate fixture names an advisory database; this leaves it to the policy."""
    report = tmp_path / "plain-report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "policy_gate", "scan", str(root), "--format", "json",
         "--output", str(report), *args],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=300,
        check=False,
    )
    loaded = json.loads(report.read_text()) if report.exists() else None
    return GateRun(proc.returncode, proc.stdout, proc.stderr, loaded)


def never_printed(run: GateRun) -> None:
    assert FAKE_AWS not in run.output + json.dumps(run.report)


# -- 5. what git reports does not depend on the repository ----------------------------------


def test_a_file_renamed_out_of_an_excluded_directory_is_new(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """`git mv coverage/x.py src/x.py`: the base never scanned coverage/, so nothing in
    the moved file was ever judged; it is an added file, every line of it new."""
    root = new_repo(tmp_path / "svc", {
        POLICY: EXTENDS_OFFLINE + "\nname: svc\nexclude: [\"coverage/\"]\n",
        "src/app.py": CLEAN_PY,
        "coverage/helper.py": JOB_PY,
    })
    git(root, "mv", "coverage/helper.py", "src/helper.py")
    commit(root, "move the helper into the service")
    run = gate(root, "--diff-base", "main", "--policy", str(root / POLICY),
               "--scanner", "bandit")
    assert run.report is not None, run.output
    assert statuses(run, path="src/helper.py", rule_id="B324") == {"violation"}
    assert run.code == 1
    # a rename inside the scanned part of the tree is still only a move
    git(root, "mv", "src/app.py", "src/core.py")
    commit(root, "rename")
    again = gate(root, "--diff-base", "main", "--policy", str(root / POLICY),
                 "--scanner", "bandit")
    assert again.report is not None
    assert not again.findings(path="src/core.py")


@pytest.mark.parametrize("attributes", ["creds.txt -diff", "creds.txt binary",
                                        "[attr]quiet -diff -text\ncreds.txt quiet", "* -diff"])
def test_gitattributes_do_not_hide_a_secret_in_the_history(
    tmp_path: Path, gate: Callable[..., GateRun], attributes: str
) -> None:
    """`.gitattributes` marks the file binary for git's diff: the key added and deleted
    within the pull request must still be found in the commit that added it."""
    root = new_repo(tmp_path / "svc", {"README.md": "svc\n"})
    leak = commit(root, "config", {".gitattributes": attributes + "\n",
                                   "creds.txt": f"aws_key = {FAKE_AWS}\n"})
    commit(root, "remove the key", {"creds.txt": "aws_key = from the vault\n"})
    run = gate(root, "--diff-base", "main", "--scanner", "kingfisher")
    found = secrets_of(run)
    assert [(f["path"], f["commit"], f["status"]) for f in found] == [
        ("creds.txt", leak, "violation")], run.output
    assert run.code == 1
    never_printed(run)


def test_a_secret_moved_out_of_an_excluded_directory_in_the_history_fails(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """Added where the policy does not look, moved into scope, then deleted: the move is
    where the key entered the scanned tree."""
    root = new_repo(tmp_path / "svc", {
        POLICY: EXTENDS_OFFLINE + "\nname: svc\nexclude: [\"fixtures/\"]\n",
        "README.md": "svc\n",
    })
    commit(root, "fixture", {"fixtures/keys.txt": f"aws_key = {FAKE_AWS}\n"})
    git(root, "mv", "fixtures/keys.txt", "settings.txt")
    moved = commit(root, "use the fixture as settings")
    git(root, "rm", "-q", "settings.txt")
    commit(root, "drop it")
    run = gate(root, "--diff-base", "main", "--policy", str(root / POLICY),
               "--scanner", "kingfisher")
    found = secrets_of(run)
    assert [(f["path"], f["commit"], f["status"]) for f in found] == [
        ("settings.txt", moved, "violation")], run.output
    never_printed(run)


def _history_answers(repo: Repo) -> tuple[Any, ...]:
    changes = repo.changes("main")
    commits = repo.commits("main")
    return (
        dict(changes.files), changes.deleted, dict(changes.renamed), changes.added,
        [c.sha for c in commits],
        [dict(repo.commit_additions(c.sha)) for c in commits],
    )


def test_repository_configuration_does_not_change_what_git_reports(tmp_path: Path) -> None:
    """Local configuration, grafts and replace refs that would make git report fewer
    changes, other prefixes, quoted names or a shorter history: the answers are those of
    a clean clone."""
    root = new_repo(tmp_path / "svc", {"a.txt": "1\n2\n3\n", "old name.txt": "x\n" * 30})
    first = commit(root, "one", {"a.txt": "1\n2\nkey\n3\n", "b\u00e9.txt": "new\n"})
    git(root, "mv", "old name.txt", "new name.txt")
    commit(root, "two", {"new name.txt": "x\n" * 29 + "y\n"})
    write(root, {"notes.txt": "untracked\n"})
    clean = _history_answers(Repo.open(root))
    for key, value in {
        "core.bigFileThreshold": "1", "diff.noprefix": "true", "diff.renames": "false",
        "diff.mnemonicPrefix": "true", "diff.relative": "true", "core.quotePath": "true",
        "diff.algorithm": "minimal", "diff.context": "9", "diff.indentHeuristic": "false",
        "core.attributesFile": str(tmp_path / "attributes"), "log.follow": "true",
        "core.excludesFile": str(tmp_path / "ignore"),
    }.items():
        git(root, "config", key, value)
    (tmp_path / "attributes").write_text("* binary\n")
    (tmp_path / "ignore").write_text("*\n")
    info = root / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "grafts").write_text(git(root, "rev-parse", "HEAD") + "\n")  # HEAD: no parents
    git(root, "replace", first, git(root, "rev-parse", "main"))  # "one" becomes the base
    # the traps are live: git sees one commit, and "one" with the base's content
    assert git(root, "log", "--format=%H") == git(root, "rev-parse", "HEAD")
    assert git(root, "cat-file", "commit", first) != git(
        root, "--no-replace-objects", "cat-file", "commit", first)
    assert _history_answers(Repo.open(root)) == clean


# -- 6. history the clone lacks ------------------------------------------------------------


def _update_branch_history(origin: Path) -> None:
    """F0 adds a key, F1 deletes it, main moves on, the branch is updated from main (M),
    F2: a pull request after GitHub's "Update branch" button."""
    new_repo(origin, {"a.txt": "a\n"})
    git(origin, "checkout", "-q", "main")
    for i in range(1, 6):
        commit(origin, f"B{i}", {"a.txt": f"a\n{i}\n"})
    git(origin, "checkout", "-q", "-B", "feature")
    commit(origin, "F0", {"creds.txt": f"aws_key = {FAKE_AWS}\n"})
    git(origin, "rm", "-q", "creds.txt")
    commit(origin, "F1")
    git(origin, "checkout", "-q", "main")
    commit(origin, "B6", {"a.txt": "a\nb\nc\n"})
    git(origin, "checkout", "-q", "feature")
    git(origin, "merge", "-q", "--no-edit", "-m", "M", "main")
    commit(origin, "F2", {"z.txt": "z\n"})


def test_a_shallow_clone_that_lacks_commits_of_the_change_is_refused(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """fetch-depth: 3 has the merge base (main's tip, through M) but not F0: its key
    would never be searched. Exit 2 saying to fetch the history."""
    origin = tmp_path / "origin"
    _update_branch_history(origin)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "3", "--no-single-branch",
                    "--branch", "feature", f"file://{origin}", str(clone)],
                   check=True, capture_output=True)
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    assert git(clone, "merge-base", "origin/main", "HEAD")  # git finds a merge base
    run = gate(clone, "--diff-base", "origin/main", "--scanner", "kingfisher")
    assert run.code == 2, run.output
    assert "fetch-depth: 0" in run.stderr and "shallow" in run.stderr
    never_printed(run)
    # the whole history: the key is found
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True,
                   capture_output=True)
    full = gate(clone, "--diff-base", "origin/main", "--scanner", "kingfisher")
    assert [f["status"] for f in secrets_of(full)] == ["violation"], full.output
    assert full.code == 1


def test_a_shallow_clone_with_the_whole_change_is_accepted(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    _update_branch_history(origin)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "5", "--no-single-branch",
                    "--branch", "feature", f"file://{origin}", str(clone)],
                   check=True, capture_output=True)
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    repo = Repo.open(clone)
    assert {c.subject for c in repo.commits("origin/main")} == {"F0", "F1", "M", "F2"}


# -- 7. inputs from the base branch as it is now --------------------------------------------


def _waiver(paths: str) -> str:
    return (
        "version: 1\nwaivers:\n  - rule: bandit:B324\n"
        f"    paths: [\"{paths}\"]\n    reason: constant commands only, reviewed\n"
        "    owner: team-core\n    expires: 2099-01-20\n"
    )


def test_a_waiver_removed_on_main_after_the_branch_point_no_longer_applies(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = new_repo(tmp_path / "svc", {
        "README.md": "svc\n", ".policy-gate/waivers.yaml": _waiver("jobs/*.py"),
    })
    commit(root, "a job", {"jobs/nightly.py": JOB_PY})
    env = {"POLICY_GATE_TODAY": "2099-01-01"}
    waived = gate(root, "--diff-base", "main", "--scanner", "bandit", env=env)
    assert waived.code == 0 and statuses(waived, rule_id="B324") == {"waived"}, waived.output
    git(root, "checkout", "-q", "main")
    git(root, "rm", "-q", ".policy-gate/waivers.yaml")
    commit(root, "revoke the jobs waiver")
    git(root, "checkout", "-q", "feature")
    run = gate(root, "--diff-base", "main", "--scanner", "bandit", env=env)
    assert run.report is not None, run.output
    assert statuses(run, rule_id="B324") == {"violation"}
    assert run.code == 1
    # the pull request did not touch the waivers: no review needed
    assert run.report["review_required"] is None
    assert run.report["diff"]["base"] == git(root, "merge-base", "main", "HEAD")


def test_a_policy_tightened_on_main_after_the_branch_point_applies(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = new_repo(tmp_path / "svc", {
        POLICY: EXTENDS_OFFLINE + "\nname: svc\nexclude: [\"legacy/\"]\n",
        "README.md": "svc\n",
    })
    commit(root, "legacy job", {"legacy/job.py": JOB_PY})
    git(root, "checkout", "-q", "main")
    commit(root, "legacy is production code now", {POLICY: EXTENDS_OFFLINE + "\nname: svc\n"})
    git(root, "checkout", "-q", "feature")
    run = gate(root, "--diff-base", "main", "--policy", str(root / POLICY),
               "--scanner", "bandit")
    assert run.report is not None, run.output
    assert statuses(run, path="legacy/job.py", rule_id="B324") == {"violation"}
    assert run.report["review_required"] is None


def test_on_github_the_inputs_come_from_the_events_base_commit(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """Checked out at the PR head (not the test merge): the merge base is the branch
    point, the waivers come from pull_request.base.sha."""
    root = new_repo(tmp_path / "svc", {
        "README.md": "svc\n", ".policy-gate/waivers.yaml": _waiver("jobs/*.py"),
    })
    commit(root, "a job", {"jobs/nightly.py": JOB_PY})
    git(root, "checkout", "-q", "main")
    git(root, "rm", "-q", ".policy-gate/waivers.yaml")
    base = commit(root, "revoke the jobs waiver")
    git(root, "checkout", "-q", "feature")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 3, "base": {"sha": base}, "head": {"sha": git(root, "rev-parse", "HEAD")}}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_WORKSPACE": str(root), "POLICY_GATE_TODAY": "2099-01-01"}
    run = gate(root, "--scanner", "bandit", env=env)
    assert run.report is not None, run.output
    assert statuses(run, rule_id="B324") == {"violation"}
    # an explicit --diff-base on a pull_request event: the waivers still come from the
    # event's base, whatever the base name points at
    git(root, "branch", "-f", "stale", git(root, "merge-base", "main", "HEAD"))
    named = gate(root, "--diff-base", "stale", "--scanner", "bandit", env=env)
    assert named.report is not None, named.output
    assert statuses(named, rule_id="B324") == {"violation"}


# -- 8. one meaning per base name --------------------------------------------------------


def test_a_tag_shadowing_the_remote_branch_is_ambiguous(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """`--diff-base origin/main` with a tag `origin/main` at the pull request's head:
    git would pick the tag and see no change at all."""
    origin = new_repo(tmp_path / "origin", {"README.md": "svc\n"})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "feature", f"file://{origin}",
                    str(clone)], check=True, capture_output=True)
    commit(clone, "a job", {"jobs/nightly.py": JOB_PY})
    git(clone, "tag", "origin/main", "HEAD")
    run = gate(clone, "--diff-base", "origin/main", "--scanner", "bandit")
    assert run.code == 2, run.output
    assert "refs/tags/origin/main" in run.stderr and "refs/remotes/origin/main" in run.stderr
    full = gate(clone, "--diff-base", "refs/remotes/origin/main", "--scanner", "bandit")
    assert full.code == 1 and statuses(full, rule_id="B324") == {"violation"}, full.output


def test_base_names_resolve_to_exactly_one_commit(tmp_path: Path) -> None:
    root = new_repo(tmp_path / "svc", {"a.txt": "a\n"})
    main = git(root, "rev-parse", "main")
    second = commit(root, "two", {"a.txt": "b\n"})
    repo = Repo.open(root)
    assert repo.resolve("main") == main
    assert repo.resolve("refs/heads/main") == main
    assert repo.resolve("heads/main") == main
    assert repo.resolve(main) == main
    assert repo.resolve("HEAD") == second
    assert repo.resolve("feature~1") == main
    assert repo.resolve("HEAD^") == main
    git(root, "tag", "main", second)
    repo = Repo.open(root)  # answers are kept for a run: refs do not move during one
    with pytest.raises(GitError, match="ambiguous") as info:
        repo.resolve("main")
    assert "refs/heads/main" in str(info.value) and "refs/tags/main" in str(info.value)
    with pytest.raises(GitError, match="ambiguous"):
        repo.resolve("main~0")
    assert repo.resolve("refs/tags/main") == second
    with pytest.raises(GitError, match="full"):
        repo.resolve(main[:12])  # an abbreviated id could also be a branch name
    git(root, "branch", main, second)  # a branch named like a commit
    repo = Repo.open(root)
    with pytest.raises(GitError, match="ambiguous"):
        repo.resolve(main)
    with pytest.raises(GitError, match="unknown git revision"):
        repo.resolve("nope")


# -- 9. every input the pull request can change ---------------------------------------------


@pytest.mark.parametrize("how", ["cli", "policy"])
def test_an_advisory_database_in_the_repository_is_read_from_the_base(
    tmp_path: Path, gate: Callable[..., GateRun], how: str
) -> None:
    """The pull request adds a vulnerable pin and deletes the advisories about it."""
    root = tmp_path / "svc"
    root.mkdir()
    shutil.copytree(EXAMPLE_ADVISORIES, root / "advisories")
    new_repo_files = {
        "requirements.txt": "requests==2.32.3\n",
        POLICY: EXTENDS_OFFLINE + "\nname: svc\n"
        + ("advisories: {database: ../advisories, max_age_days: 100000}\n"
           if how == "policy" else ""),
    }
    write(root, new_repo_files)
    git(root, "init", "-q", "-b", "main")
    commit(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    shutil.rmtree(root / "advisories" / "pypa" / "jinja2")
    commit(root, "jinja2, and a tidier database",
           {"requirements.txt": "requests==2.32.3\njinja2==2.10\n"})
    args = ["--diff-base", "main", "--policy", str(root / POLICY), "--scanner", "pip-audit"]
    if how == "cli":
        run = gate(root, *args, "--advisories", str(root / "advisories"))
    else:
        run = scan_without_advisories(tmp_path, root, *args)
    assert run.report is not None, run.output
    jinja = [f for f in run.report["findings"]
             if f["dependency"] and f["dependency"]["package"] == "jinja2"]
    assert jinja and {f["status"] for f in jinja} == {"violation"}, run.output
    assert "advisories/" in review_message(run)
    assert run.code == 1


def test_semgrep_rules_outside_the_scanned_directory_come_from_the_base(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    rule = ("rules:\n  - id: no-pickle-loads\n    pattern: pickle.loads(...)\n"
            "    message: untrusted pickle\n    languages: [python]\n    severity: ERROR\n")
    root = new_repo(tmp_path / "repo", {
        POLICY: EXTENDS_OFFLINE + "\nname: svc\nscanners:\n  semgrep:\n"
        "    rules: [\"../rules/\"]\n",
        "rules/pickle.yaml": rule,
        "svc/app.py": CLEAN_PY,
    })
    commit(root, "load the cache; the rule is too noisy", {
        "svc/cache.py": "import pickle\n\n\ndef load(b):\n    return pickle.loads(b)\n",
        "rules/pickle.yaml": "rules: []\n",
    })
    run = gate(root / "svc", "--diff-base", "main", "--policy", str(root / POLICY),
               "--scanner", "semgrep")
    assert run.report is not None, run.output
    assert "violation" in statuses(run, path="cache.py", rule_id="no-pickle-loads")
    assert "rules/" in review_message(run)
    assert run.code == 1


WORKFLOW = """\
name: security
on: pull_request
permissions: {{}}
jobs:
  gate:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
          fetch-depth: 0
      - uses: mojaloop/policy-gate@0123456789abcdef0123456789abcdef01234567 # v1.0.0
        with:
          fail-on-violations: {fail}
"""


def test_a_change_to_the_workflow_that_runs_the_gate_needs_review(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = new_repo(tmp_path / "repo", {
        ".github/workflows/security.yml": WORKFLOW.format(fail="true"),
        ".github/workflows/docs.yml": "name: docs\non: push\njobs: {}\n",
        "svc/app.py": CLEAN_PY,
    })
    commit(root, "docs only", {".github/workflows/docs.yml": "name: docs\non: [push]\njobs: {}\n"})
    calm = gate(root / "svc", "--diff-base", "main", "--scanner", "bandit")
    assert calm.code == 0 and review_message(calm) == "", calm.output
    commit(root, "report only", {".github/workflows/security.yml": WORKFLOW.format(fail="false")})
    run = gate(root / "svc", "--diff-base", "main", "--scanner", "bandit")
    assert run.report is not None, run.output
    assert run.report["verdict"] == "review" and run.code == 1
    assert ".github/workflows/security.yml" in review_message(run)
    # deleting it, or moving the gate to a new workflow file, is a change too
    git(root, "rm", "-q", ".github/workflows/security.yml")
    commit(root, "gone")
    assert gate(root / "svc", "--diff-base", "main", "--scanner", "bandit").code == 1


def test_the_running_workflow_and_a_renamed_action_are_recognised(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """A fork of the action under another name, and a workflow that calls the gate
    through a composite action: GITHUB_WORKFLOW_REF and GITHUB_ACTION_REPOSITORY name
    them."""
    lenient = WORKFLOW.replace("mojaloop/policy-gate", "acme/sec-gate")
    root = new_repo(tmp_path / "repo", {
        ".github/workflows/ci.yml": lenient.format(fail="true"),
        ".github/workflows/nightly.yml": "name: nightly\non: push\njobs: {}\n",
        "app.py": CLEAN_PY,
    })
    commit(root, "quieter", {
        ".github/workflows/ci.yml": lenient.format(fail="false"),
        ".github/workflows/nightly.yml": "name: nightly\non: [push]\njobs: {}\n",
    })
    plain = gate(root, "--diff-base", "main", "--scanner", "bandit")
    assert plain.code == 0 and review_message(plain) == "", plain.output
    named = gate(root, "--diff-base", "main", "--scanner", "bandit",
                 env={"GITHUB_ACTION_REPOSITORY": "acme/sec-gate"})
    assert ".github/workflows/ci.yml" in review_message(named), named.output
    assert "nightly" not in review_message(named)
    running = gate(root, "--diff-base", "main", "--scanner", "bandit", env={
        "GITHUB_REPOSITORY": "acme/svc",
        "GITHUB_WORKFLOW_REF": "acme/svc/.github/workflows/nightly.yml@refs/pull/9/merge"})
    assert ".github/workflows/nightly.yml" in review_message(running), running.output
    assert running.code == 1


def test_a_policy_turned_into_a_link_to_a_laxer_file_is_refused(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """The base also has the link's target: reading "the base's version" through the
    pull request's link would apply the lax file, and no input would seem changed."""
    root = new_repo(tmp_path / "svc", {
        POLICY: EXTENDS_OFFLINE + "\nname: svc\n",
        "fixtures/lax.yaml": EXTENDS_OFFLINE + "\nname: lax\nexclude: [\"jobs/\"]\n",
        "README.md": "svc\n",
    })
    (root / POLICY).unlink()
    (root / POLICY).symlink_to("../fixtures/lax.yaml")
    commit(root, "a job, and one policy file instead of two", {"jobs/nightly.py": JOB_PY})
    run = gate(root, "--diff-base", "main", "--policy", str(root / POLICY),
               "--scanner", "bandit")
    assert run.code == 2, run.output
    assert "symbolic link" in run.stderr


def test_review_paths_match_repository_paths_from_a_subdirectory(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    root = new_repo(tmp_path / "repo", {
        POLICY: EXTENDS_OFFLINE + "\nname: svc\nreview: {paths: [\"deploy/prod.env\"]}\n",
        "deploy/prod.env": "LOG_LEVEL=info\n",
        "svc/app.py": CLEAN_PY,
    })
    commit(root, "debug in production", {"deploy/prod.env": "LOG_LEVEL=debug\n"})
    run = gate(root / "svc", "--diff-base", "main", "--policy", str(root / POLICY),
               "--scanner", "bandit")
    assert "deploy/prod.env" in review_message(run), run.output
    assert run.code == 1


def test_a_pull_request_cannot_turn_diff_mode_off_or_aim_it_at_itself(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """On a pull_request event, `full-scan: true` or `diff-base: HEAD` set by the pull
    request's own workflow must not let it bring its own policy."""
    root = new_repo(tmp_path / "svc", {POLICY: EXTENDS_OFFLINE + "\nname: svc\n",
                                       "README.md": "svc\n"})
    base = git(root, "rev-parse", "main")
    commit(root, "a job, excluded", {
        "jobs/nightly.py": JOB_PY,
        POLICY: EXTENDS_OFFLINE + "\nname: svc\nexclude: [\"jobs/\"]\n",
    })
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": 4, "base": {"sha": base}, "head": {"sha": git(root, "rev-parse", "HEAD")}}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_WORKSPACE": str(root)}
    policy = str(root / POLICY)
    full = gate(root, "--full-scan", "--policy", policy, "--scanner", "bandit",
                env=env)
    assert full.report is not None, full.output
    assert statuses(full, path="jobs/nightly.py", rule_id="B324") == {"violation"}
    assert POLICY in review_message(full) and full.code == 1
    itself = gate(root, "--diff-base", "HEAD", "--policy", policy, "--scanner", "bandit",
                  env=env)
    assert itself.code == 2, itself.output
    assert "pull request" in itself.stderr


def test_fail_on_violations_false_does_not_pass_a_review_verdict(tmp_path: Path) -> None:
    """`fail-on-violations: false` is the pull request's to set; a `review` verdict (the
    change touches the gate's inputs) still fails. The verdict is read from the JSON
    report, so the action writes one even when `formats` leaves it out."""
    from tests.test_action_entrypoint import CAPS, gh

    plan = ae.plan(gh(formats="sarif", fail_on_violations="false"), tmp_path, CAPS)
    assert "json" in plan.reports
    assert "json" not in ae.plan(gh(formats="sarif"), tmp_path, CAPS).reports
    assert ae.final_exit_code(1, False) == 0
    assert ae.final_exit_code(1, False, "fail") == 0
    assert ae.final_exit_code(1, False, "review") == 1
    assert ae.final_exit_code(1, True, "review") == 1
    assert ae.final_exit_code(0, False, "pass") == 0
