"""The workflows scanner: real zizmor (offline) on fixture workflows, the gate's own
pr-target-checkout check, ignore comments that must not silence anything, and the fault
matrix (every way zizmor can fail is a ScannerError naming the scanner)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from policy_gate.base.fileset import walk
from policy_gate.base.process import ScannerError
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import CI, UNSCANNED, Finding, Severity
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.workflows import WorkflowsScanner, is_workflow

REPO = Path(__file__).resolve().parents[1]
SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"

UNPINNED = """\
name: ci
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4  # zizmor: ignore[unpinned-uses]
        with:
          persist-credentials: false
      - uses: someone/thing@main
"""

NO_PERMISSIONS = f"""\
name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
        with:
          persist-credentials: false
      - run: make test
"""

PR_TARGET = f"""\
name: pr
on:
  pull_request_target:
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
        with:
          ref: ${{{{ github.event.pull_request.head.sha }}}}
          persist-credentials: false
      - run: npm test
"""

CLEAN = f"""\
name: ci
on:
  push:
    branches: [main]
  pull_request:
permissions: {{}}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@{SHA} # v4.2.2
        with:
          persist-credentials: false
      - run: make test
"""


def scan(root: Path, timeout: float = 120) -> ScanOutput:
    return WorkflowsScanner().scan(ScanContext(walk(root), ScannerSettings(timeout=timeout)))


def ci(out: ScanOutput, at_least: Severity = Severity.INFO) -> list[Finding]:
    return [f for f in out.findings if f.category == CI
            and f.severity is not None and f.severity >= at_least]


def rules(out: ScanOutput) -> set[str]:
    return {f.rule_id for f in out.findings}


def test_unpinned_action_and_ignore_comment(tree: Callable[..., Path]) -> None:
    out = scan(tree({".github/workflows/ci.yml": UNPINNED}))
    unpinned = sorted(f.start_line or 0 for f in out.findings if f.rule_id == "unpinned-uses")
    # both, including the one a `# zizmor: ignore[unpinned-uses]` comment tried to silence
    assert unpinned == [9, 12]
    first = next(f for f in out.findings if f.start_line == 9)
    assert first.severity == Severity.HIGH and "does not honour" in first.message
    assert first.help_url and first.help_url.startswith("https://docs.zizmor.sh/")
    assert "commit SHA" in first.fix and first.scanner == "workflows"
    assert out.raw_results == sum(len(f.sources) for f in out.findings)


def test_repository_zizmor_config_is_not_read(tree: Callable[..., Path]) -> None:
    """A pull request adding a zizmor.yml that allows any ref changes nothing."""
    relaxed = "rules:\n  unpinned-uses:\n    config:\n      policies:\n        '*': any\n"
    root = tree({".github/workflows/ci.yml": UNPINNED, ".github/zizmor.yml": relaxed,
                 "zizmor.yml": relaxed})
    assert sum(f.rule_id == "unpinned-uses" for f in scan(root).findings) == 2


def test_missing_permissions(tree: Callable[..., Path]) -> None:
    out = scan(tree({".github/workflows/ci.yml": NO_PERMISSIONS}))
    perms = [f for f in out.findings if f.rule_id == "excessive-permissions"]
    assert perms and all(f.severity is not None and f.severity >= Severity.MEDIUM for f in perms)
    assert perms[0].path == ".github/workflows/ci.yml" and perms[0].start_line == 4


def test_pull_request_target_checkout_of_head(tree: Callable[..., Path]) -> None:
    out = scan(tree({".github/workflows/pr.yml": PR_TARGET}))
    assert {"dangerous-triggers", "pr-target-checkout"} <= rules(out)
    own = next(f for f in out.findings if f.rule_id == "pr-target-checkout")
    assert own.severity == Severity.HIGH and own.start_line == 12
    assert "head.sha" in own.message and own.fix and own.help_url


@pytest.mark.parametrize(
    "ref",
    ["${{ github.event.pull_request.head.ref }}", "${{ github.head_ref }}",
     "refs/pull/${{ github.event.number }}/merge"],
)
def test_pr_target_checkout_refs(ref: str, tree: Callable[..., Path]) -> None:
    text = PR_TARGET.replace("${{ github.event.pull_request.head.sha }}", ref)
    assert "pr-target-checkout" in rules(scan(tree({".github/workflows/pr.yml": text})))


def test_pr_target_without_checkout_of_pr_code(tree: Callable[..., Path]) -> None:
    text = PR_TARGET.replace("          ref: ${{ github.event.pull_request.head.sha }}\n", "")
    out = scan(tree({".github/workflows/pr.yml": text}))
    assert "pr-target-checkout" not in rules(out)
    assert "dangerous-triggers" in rules(out)  # zizmor still flags the trigger


def test_clean_workflow_has_no_findings_at_or_above_medium(tree: Callable[..., Path]) -> None:
    action = (f"name: a\ndescription: b\nruns:\n  using: composite\n  steps:\n"
              f"    - uses: actions/setup-node@{SHA} # v4\n")
    out = scan(tree({".github/workflows/ci.yml": CLEAN, "action.yml": action}))
    assert ci(out, Severity.MEDIUM) == []
    assert out.files_scanned == 2


def test_unloadable_files_are_unscanned_and_the_rest_audited(tree: Callable[..., Path]) -> None:
    root = tree({
        ".github/workflows/a-syntax.yml": "name: x\non: [push\njobs: {}\n",
        ".github/workflows/b-schema.yml": "name: x\non: push\njobs:\n  a:\n    steps: 5\n",
        ".github/workflows/c.yml": UNPINNED,
        ".github/workflows/d-dup.yml": "on: push\non: pull_request\n",
    })
    out = scan(root)
    unscanned = sorted((f.path, f.category) for f in out.findings if f.category == UNSCANNED)
    assert unscanned == [(f".github/workflows/{n}.yml", UNSCANNED)
                         for n in ("a-syntax", "b-schema", "d-dup")]
    assert "unpinned-uses" in rules(out)
    schema = next(f for f in out.findings if f.path.endswith("b-schema.yml"))
    assert "runs-on" in schema.message


def test_targets() -> None:
    assert is_workflow(".github/workflows/ci.yml") and is_workflow(".github/workflows/x.yaml")
    assert is_workflow("action.yml") and is_workflow("actions/setup/action.yaml")
    assert is_workflow("sub/.github/workflows/ci.yml")
    assert not is_workflow(".github/dependabot.yml") and not is_workflow("ci.yml")
    assert not is_workflow(".github/workflows/README.md")


def test_no_workflows(tree: Callable[..., Path]) -> None:
    out = scan(tree({"README.md": "hi\n"}))
    assert out.findings == [] and out.files_scanned == 0


def test_this_repository_is_clean() -> None:
    # the example service's workflow is flawed on purpose; benchmark scratch is not ours
    tree = walk(REPO, ["examples/", "benchmarks/.work/"])
    out = WorkflowsScanner().scan(ScanContext(tree, ScannerSettings()))
    assert out.files_scanned >= 3
    assert [f.location for f in out.findings] == []


# -- faults: each is a ScannerError naming the scanner --------------------------------

VERSION_OK = """\
import os, sys, time
if "--version" in sys.argv:
    print("zizmor 1.32.0")
    sys.exit(0)
"""


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        ("os.kill(os.getpid(), 11)\n", "killed by SIGSEGV"),
        ("sys.stdout.write('[{\"ident\": \"unpinned-uses\", ')\nsys.exit(2)\n", "exited 2"),
        ("print('error: something broke', file=sys.stderr)\nsys.exit(1)\n", "something broke"),
        ("print('Found 3 problems')\n", "not JSON"),
        ("print('')\n", "no output"),
        ("print('{}')\n", "not a list"),
        ("print('[{\"ident\": \"x\"}]')\n", "no 'desc' field"),
        ("print('[{\"ident\": \"x\", \"desc\": \"d\", \"url\": \"u\", \"determinations\": "
         "{\"severity\": \"High\", \"confidence\": \"High\"}, \"locations\": []}]')\n",
         "locations is empty"),
        ("import json\nprint(json.dumps([{\"ident\": \"x\", \"desc\": \"d\", \"url\": \"u\", "
         "\"determinations\": {\"severity\": \"High\", \"confidence\": \"High\"}, "
         "\"locations\": [{\"symbolic\": {\"kind\": \"Primary\", \"key\": {\"Local\": "
         "{\"verbatim_path\": \"./elsewhere.yml\"}}}}]}]))\n", "not given"),
        ("print('failed to load file://./nowhere.yml as workflow', file=sys.stderr)\n"
         "sys.exit(1)\n", "exited 1"),
        ("time.sleep(30)\n", "timed out"),
    ],
    ids=["crash", "partial", "nonzero", "garbage", "empty", "object", "missing-field",
         "no-locations", "foreign-path", "unknown-load-failure", "timeout"],
)
def test_faults(body: str, expect: str, tree: Callable[..., Path],
                scanner_bin: Callable[[dict[str, str]], dict[str, str]],
                monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree({".github/workflows/ci.yml": CLEAN})
    for key, value in scanner_bin({"zizmor": VERSION_OK + body}).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ScannerError) as err:
        # 3 s only where the timeout is the fault: on a loaded machine a fake may take
        # longer than that just to start
        scan(root, timeout=3 if expect == "timed out" else 120)
    assert err.value.scanner == "workflows" and expect in str(err.value)


def test_missing_zizmor(tree: Callable[..., Path],
                        scanner_bin: Callable[[dict[str, str]], dict[str, str]],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree({".github/workflows/ci.yml": CLEAN})
    env = scanner_bin({})
    (Path(env["POLICY_GATE_SCANNER_PATH"]) / "zizmor").unlink(missing_ok=True)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ScannerError) as err:
        scan(root)
    assert err.value.scanner == "workflows" and "not installed" in str(err.value)


def test_no_token_reaches_zizmor(tree: Callable[..., Path],
                                 scanner_bin: Callable[[dict[str, str]], dict[str, str]],
                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """zizmor is offline and never sees a GitHub token, nor a zizmor config."""
    seen = tmp_path / "seen.txt"
    body = (f"open({str(seen)!r}, 'w').write(repr(sys.argv) + repr(sorted(os.environ)))\n"
            "print('[]')\n")
    root = tree({".github/workflows/ci.yml": CLEAN})
    for key, value in scanner_bin({"zizmor": VERSION_OK + body}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("GH_TOKEN", "ghs_secret")
    monkeypatch.setenv("ZIZMOR_CONFIG", "/tmp/evil.yml")
    assert scan(root).findings == []
    text = seen.read_text()
    for flag in ("--offline", "--no-config", "--no-ignores", "./.github/workflows/ci.yml"):
        assert flag in text
    assert "GITHUB_TOKEN" not in text and "GH_TOKEN" not in text and "ZIZMOR_CONFIG" not in text
