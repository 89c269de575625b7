"""Pull-request diff mode on real multi-commit git histories, with the real scanners:
only what the change introduces fails, the verdict equals a full scan filtered to the
changed lines, secrets in any commit of the change fail, and the policy, waivers and
baseline come from the base ref (a pull request cannot weaken its own gate). The test of
the diff verdict against a full scan runs every scanner; a test about one kind of finding
runs the scanners that report it (``SAST_ONLY``, ``SECRETS_ONLY``, ``DEPENDENCIES_ONLY``)."""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    DEPENDENCIES_ONLY,
    EXAMPLE_ADVISORIES,
    EXTENDS_OFFLINE,
    OFFLINE_POLICY,
    SAST_ONLY,
    SECRETS_ONLY,
    GateRun,
)

# A fake AWS access key id, generated (an id is "AKIA" and 16 base32 characters): the
# secret engines flag it.
FAKE_AWS = "AKIA" + "".join(random.Random(16).choices(string.ascii_uppercase + "234567", k=16))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def commit(repo: Path, message: str, files: dict[str, str] | None = None) -> str:
    if files:
        write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


BASE_FILES = {
    "app.py": """\
        import subprocess


        def run(cmd):
            return subprocess.call(cmd, shell=True)
        """,
    "util.py": """\
        import yaml


        def load(text):
            return yaml.load(text)
        """,
    "requirements.txt": "pyyaml==5.3\nrequests==2.32.3\n",
    "README.md": "service\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "svc"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, BASE_FILES)
    commit(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def changed_lines(repo: Path, base: str) -> dict[str, set[int] | None]:
    """The test's own reading of `git diff` (independent of policy_gate.base.git)."""
    out: dict[str, set[int] | None] = {}
    diff = git(repo, "diff", "-U0", "--no-color", "-M", base)
    current = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            current = None if line == "+++ /dev/null" else line[6:]
            if current is not None:
                out.setdefault(current, set())
        elif line.startswith("--- /dev/null") and current is None:
            pass
        elif line.startswith("@@") and current is not None:
            m = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
            assert m
            start, count = int(m.group(1)), int(m.group(2) or "1")
            lines = out[current]
            assert lines is not None
            lines.update(range(start, start + count))
    return out


def violations(report: dict[str, Any]) -> set[tuple[str, str, int | None]]:
    return {
        (f["rule_id"], f["path"], f["start_line"])
        for f in report["findings"]
        if f["status"] == "violation"
    }


def test_diff_verdict_equals_full_scan_filtered_to_changed_lines(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    base = git(repo, "rev-parse", "main")
    commit(repo, "new flaw in app.py, unrelated edit", {
        "app.py": """\
            import subprocess
            import os


            def run(cmd):
                return subprocess.call(cmd, shell=True)


            def run_again(cmd):
                os.system(cmd)
            """,
        "README.md": "service, now documented\n",
    })
    commit(repo, "add a vulnerable dependency, keep the old one", {
        "requirements.txt": "pyyaml==5.3\nrequests==2.32.3\njinja2==2.10\n",
    })

    full = gate(repo)
    diff = gate(repo, "--diff-base", "main")
    assert full.report is not None and diff.report is not None, full.output + diff.output

    # Full scan filtered by the test's own reading of the diff: findings on added or
    # modified lines, and dependencies the base's requirements did not have.
    changed = changed_lines(repo, base)
    base_pins = set(BASE_FILES["requirements.txt"].split())
    expected = set()
    for f in full.report["findings"]:
        if f["status"] != "violation":
            continue
        if f["dependency"]:
            dep = f["dependency"]
            pin = f"{dep['package']}=={dep['version']}"
            introduced = f["path"] in changed and pin not in base_pins
        else:
            lines = changed.get(f["path"], set())
            span = range(f["start_line"] or 0, (f["end_line"] or f["start_line"] or 0) + 1)
            introduced = lines is None or any(n in lines for n in span)
        if introduced:
            expected.add((f["rule_id"], f["path"], f["start_line"]))

    assert expected, "the change must introduce something for this test to mean anything"
    assert violations(diff.report) == expected
    assert diff.code == 1 and diff.report["verdict"] == "fail"
    # The pre-existing flaws are still shown, as pre-existing, not dropped.
    statuses = {(f["rule_id"], f["path"]): f["status"] for f in diff.report["findings"]}
    assert any(s == "pre-existing" for s in statuses.values())
    assert any(f["dependency"] and f["dependency"]["package"] == "pyyaml"
               and f["status"] == "pre-existing" for f in diff.report["findings"])
    assert any(f["dependency"] and f["dependency"]["package"] == "jinja2"
               and f["status"] == "violation" for f in diff.report["findings"])
    # SAST and secrets read only the changed files.
    assert diff.scanner("bandit")["files_scanned"] < full.scanner("bandit")["files_scanned"]
    assert not any(f["path"] == "util.py" for f in diff.report["findings"])


def test_unchanged_rename_introduces_nothing(repo: Path, gate: Callable[..., GateRun]) -> None:
    git(repo, "mv", "app.py", "service_app.py")
    commit(repo, "rename")
    diff = gate(repo, "--diff-base", "main")
    assert diff.code == 0, diff.output
    assert diff.report is not None
    assert not violations(diff.report)


def test_secret_added_and_removed_within_the_change_still_fails(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    leak = commit(repo, "add config", {"settings.py": f'AWS_KEY = "{FAKE_AWS}"\n'})
    commit(repo, "oops, remove the key", {"settings.py": 'AWS_KEY = os.environ["AWS_KEY"]\n'})
    diff = gate(repo, *SECRETS_ONLY, "--diff-base", "main")
    assert diff.report is not None, diff.output
    secrets = [f for f in diff.report["findings"] if f["category"] == "secret"]
    assert len(secrets) == 1, secrets
    secret = secrets[0]
    assert secret["status"] == "violation"
    assert secret["commit"] == leak
    assert leak[:12] in secret["message"]
    assert diff.code == 1
    # never the value
    everything = diff.output + json.dumps(diff.report)
    assert FAKE_AWS not in everything
    history = diff.scanner("secrets-history")
    assert history["status"] == "ok"


def test_history_skips_file_versions_the_head_scan_reads(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """A one-commit change: the commit's file is the working tree's, so the head scan's
    finding is the one reported and the history starts no second detect-secrets."""
    commit(repo, "add config", {"settings.py": f'AWS_KEY = "{FAKE_AWS}"\n'})
    diff = gate(repo, *SECRETS_ONLY, "--diff-base", "main")
    assert diff.report is not None, diff.output
    secrets = [f for f in diff.report["findings"] if f["category"] == "secret"]
    assert len(secrets) == 1 and secrets[0]["path"] == "settings.py", secrets
    assert secrets[0]["commit"] is None and secrets[0]["status"] == "violation"
    history = diff.scanner("secrets-history")
    assert history["status"] == "ok" and history["files_scanned"] == 0
    assert any("1 the same as the working tree's" in n for n in history["notes"]), history
    # Edited again in the working tree: the commit's version differs and is searched.
    (repo / "settings.py").write_text('AWS_KEY = os.environ["AWS_KEY"]\n')
    dirty = gate(repo, *SECRETS_ONLY, "--diff-base", "main")
    assert dirty.report is not None, dirty.output
    assert dirty.scanner("secrets-history")["files_scanned"] == 1
    secrets = [f for f in dirty.report["findings"] if f["category"] == "secret"]
    assert len(secrets) == 1 and secrets[0]["commit"] is not None, secrets


def test_policy_and_exclude_changes_in_the_pr_do_not_apply(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    git(repo, "checkout", "-q", "main")
    commit(repo, "add the repository policy", {
        ".policy-gate/policy.yaml": EXTENDS_OFFLINE + "\nname: svc\n",
    })
    git(repo, "checkout", "-q", "-B", "feature")
    # The PR adds a flaw in a new file and tries to exclude that file.
    commit(repo, "new module, excluded", {
        "newmod/run.py": "import os, sys\n\n\ndef go(c):\n    os.system(sys.argv[1])\n",
        ".policy-gate/policy.yaml": EXTENDS_OFFLINE + "\nname: svc\nexclude: [\"newmod/\"]\n",
    })
    policy = str(repo / ".policy-gate" / "policy.yaml")
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main", "--policy", policy)
    assert diff.report is not None, diff.output
    assert diff.code == 1
    assert any(f["path"] == "newmod/run.py" and f["status"] == "violation"
               for f in diff.report["findings"])
    review = diff.report["review_required"]
    assert review and ".policy-gate/policy.yaml" in review["message"]
    assert "policy change needs security review" in diff.output

    # A full scan of the same tree (e.g. after merge) uses the new policy.
    full = gate(repo, *SAST_ONLY, "--policy", policy)
    assert full.report is not None
    assert not any(f["path"] == "newmod/run.py" for f in full.report["findings"])


def test_policy_only_change_gets_the_review_verdict(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    git(repo, "checkout", "-q", "main")
    commit(repo, "add the repository policy", {
        ".policy-gate/policy.yaml": EXTENDS_OFFLINE + "\nname: svc\n",
    })
    git(repo, "checkout", "-q", "-B", "feature")
    commit(repo, "relax", {
        ".policy-gate/policy.yaml": EXTENDS_OFFLINE
        + "\nname: svc\nrules:\n  'bandit:B602': {disable: true, reason: too noisy for us}\n",
    })
    policy = str(repo / ".policy-gate" / "policy.yaml")
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main", "--policy", policy)
    assert diff.report is not None, diff.output
    assert diff.report["verdict"] == "review"
    assert diff.code == 1
    # A policy that only warns lets it through, still saying so.
    git(repo, "checkout", "-q", "main")
    commit(repo, "warn only", {
        ".policy-gate/policy.yaml": EXTENDS_OFFLINE
        + "\nname: svc\nreview: {policy_change: warn}\n",
    })
    git(repo, "checkout", "-q", "feature")
    git(repo, "rebase", "-q", "main", "-X", "theirs")
    diff = gate(repo, *SAST_ONLY, "--diff-base", "main", "--policy", policy)
    assert diff.report is not None, diff.output
    assert diff.report["verdict"] == "pass" and diff.code == 0
    assert diff.report["review_required"] is not None


def test_waivers_added_by_the_pr_are_not_applied(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    commit(repo, "new flaw",
           {"job.py": "import os, sys\n\n\ndef go(c):\n    os.system(sys.argv[1])\n"})
    first = gate(repo, *SAST_ONLY, "--diff-base", "main")
    assert first.report is not None and first.code == 1
    target = next(f for f in first.report["findings"] if f["status"] == "violation")
    commit(repo, "waive it myself", {".policy-gate/waivers.yaml": f"""\
        version: 1
        waivers:
          - fingerprint: {target['fingerprint']}
            reason: I say this is fine, trust me
            owner: pr-author
            expires: 2099-01-01
        """})
    second = gate(repo, *SAST_ONLY, "--diff-base", "main", env={"POLICY_GATE_TODAY": "2098-12-30"})
    assert second.report is not None, second.output
    assert second.code == 1
    assert any(f["fingerprint"] == target["fingerprint"] and f["status"] == "violation"
               for f in second.report["findings"])
    assert second.report["review_required"] is not None


def test_missing_base_is_a_usage_error(repo: Path, gate: Callable[..., GateRun]) -> None:
    run = gate(repo, "--diff-base", "no-such-branch")
    assert run.code == 2
    assert "no-such-branch" in run.stderr


def test_github_pull_request_event_turns_diff_mode_on(
    repo: Path, gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    base = git(repo, "rev-parse", "main")
    commit(repo, "rename only", {"extra.md": "docs\n"})
    event = tmp_path / "event.json"
    head = git(repo, "rev-parse", "HEAD")
    event.write_text(json.dumps(
        {"pull_request": {"number": 7, "base": {"sha": base}, "head": {"sha": head}}}
    ))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_WORKSPACE": str(repo)}
    run = gate(repo, *SAST_ONLY, env=env)
    assert run.report is not None, run.output
    assert run.report["diff"] is not None and run.report["diff"]["base"] == base
    assert run.code == 0  # the base's flaws are pre-existing
    full = gate(repo, *SAST_ONLY, "--full-scan", env=env)
    assert full.report is not None and full.report["diff"] is None
    assert full.code == 1


def test_policy_added_by_the_pr_itself_is_refused_with_a_hint(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    commit(repo, "bring my own policy", {
        ".policy-gate/policy.yaml": EXTENDS_OFFLINE + "\nname: mine\nexclude: [\"*.py\"]\n",
    })
    run = gate(repo, "--diff-base", "main", "--policy",
               str(repo / ".policy-gate" / "policy.yaml"))
    assert run.code == 2
    assert "not at the base ref" in run.stderr and "merge the policy first" in run.stderr


def test_upgrading_into_a_still_vulnerable_version_is_introduced(
    repo: Path, gate: Callable[..., GateRun]
) -> None:
    """pyyaml 5.3 -> 5.3.1: the base was vulnerable already, but the change picks a
    version that is still vulnerable (CVE-2020-14343 is fixed in 5.4): it fails."""
    commit(repo, "bump pyyaml", {"requirements.txt": "pyyaml==5.3.1\nrequests==2.32.3\n"})
    diff = gate(repo, *DEPENDENCIES_ONLY, "--diff-base", "main")
    assert diff.report is not None, diff.output
    pyyaml = [f for f in diff.report["findings"]
              if f["dependency"] and f["dependency"]["package"] == "pyyaml"]
    assert pyyaml and {f["status"] for f in pyyaml} == {"violation"}
    assert all(f["dependency"]["version"] == "5.3.1" for f in pyyaml)
    assert diff.code == 1
    # and the same manifest untouched: pre-existing
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "docs-only")
    commit(repo, "docs", {"README.md": "service docs\n"})
    docs = gate(repo, *DEPENDENCIES_ONLY, "--diff-base", "main")
    assert docs.report is not None and docs.code == 0, docs.output
    assert {f["status"] for f in docs.report["findings"]
            if f["category"] == "dependency"} == {"pre-existing"}


def test_a_baseline_edited_by_the_pr_is_read_from_the_base(
    repo: Path, gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    """The PR adds a flaw and re-creates the in-repository baseline so that it lists the
    flaw: the base's baseline is what counts, and the edit needs security review."""
    import os
    import sys

    def create(out: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "policy_gate", "baseline", "create", str(repo),
             "--policy", str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES),
             "--output", str(out), *SAST_ONLY],
            check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"}, timeout=300,
        )

    git(repo, "checkout", "-q", "main")
    create(repo / ".policy-gate" / "baseline.json")
    commit(repo, "baseline")
    git(repo, "checkout", "-q", "-B", "feature")
    write(repo, {"job.py": "import os, sys\n\n\ndef go(c):\n    os.system(sys.argv[1])\n"})
    create(repo / ".policy-gate" / "baseline.json")  # now lists the new flaw too
    commit(repo, "new flaw, baselined by the PR itself")
    run = gate(repo, *SAST_ONLY, "--diff-base", "main", "--baseline",
               str(repo / ".policy-gate" / "baseline.json"))
    assert run.report is not None, run.output
    assert run.code == 1
    job = run.findings(path="job.py", rule_id="py-taint-command-injection")
    assert {f["status"] for f in job} == {"violation"}
    assert any(s["rule_id"] == "B605" for f in job for s in f["sources"])
    review = run.report["review_required"]
    assert review and ".policy-gate/baseline.json" in review["message"]
