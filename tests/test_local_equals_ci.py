"""Local = CI: in a git work tree the gate reads what a CI checkout has — the files git
tracks and the untracked files it does not ignore, from the working tree — so a used
checkout (caches, a virtualenv, an earlier report) gives the verdict and counts a fresh
clone gives. Ignore rules decide about untracked files only: a tracked file is read
whatever `.gitignore` says, so nothing a pull request commits escapes the scan."""

from __future__ import annotations

import json
import random
import string
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from policy_gate.base.fileset import ALL_FILES, BY_GIT, GATE_OUTPUT, FileSet, walk
from policy_gate.gate import select_files
from tests.conftest import GateRun, make_tree, real_tool

AWS_KEY = "AKIA" + "".join(random.Random(18).choices(string.ascii_uppercase + "234567", k=16))
AWS_RULE = "policy-gate.aws-access-key-id"
Gate = Callable[..., GateRun]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org",
         "-c", "commit.gpgsign=false", "-c", "protocol.file.allow=always", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout


def scanned(root: Path, **kwargs: bool) -> FileSet:
    return walk(root, selection=select_files(root, **kwargs))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed service whose `.gitignore` names a file it also tracks (added before
    the rule, or with --force), then the work tree a developer has after a day of work."""
    root = make_tree(tmp_path / "svc", {
        "app.py": "print('hi')\n",
        "config/settings.py": f"KEY = '{AWS_KEY}'\n",
        ".gitignore": ".venv/\n*.log\n/report.json\nconfig/settings.py\nbuild/\n",
    })
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A", "--force")
    git(root, "commit", "-q", "-m", "service")
    make_tree(root, {
        ".venv/lib/site.py": f"KEY = '{AWS_KEY}'\n",
        ".venv/pyvenv.cfg": "home = /usr\n",
        "debug.log": f"key {AWS_KEY}\n",
        "report.json": json.dumps({"note": f"key {AWS_KEY}"}),
        "build/lib/app.py": "print('hi')\n",
        "src/new.py": "print('not committed yet')\n",
    })
    return root


def test_git_lists_what_a_checkout_has_and_ignore_rules_touch_only_untracked(
        repo: Path) -> None:
    fs = scanned(repo)
    assert fs.selected_by == BY_GIT
    # tracked (one of them matches .gitignore: still read), and the untracked new file
    assert set(fs.files) == {"app.py", "config/settings.py", ".gitignore", "src/new.py"}
    # what git ignores and does not track is not read; an ignored directory not entered
    assert set(fs.unselected) == {".venv/", "debug.log", "report.json", "build/"}
    assert "tracked files and untracked files git does not ignore, 4 files" in (
        fs.selection_summary())
    # --all-files reads everything, as without git
    everything = scanned(repo, all_files=True)
    assert everything.selected_by == ALL_FILES and everything.selection_reason == "--all-files"
    assert set(everything.files) == set(walk(repo).files) == {
        *fs.files, ".venv/lib/site.py", ".venv/pyvenv.cfg", "debug.log", "report.json",
        "build/lib/app.py"}


def test_edits_deletions_and_the_repositorys_own_git_settings(repo: Path) -> None:
    """The working tree is read (an uncommitted edit counts, a deleted tracked file is
    gone); `.git/info/exclude` hides untracked files like `.gitignore`, but neither a
    repository's configured excludes file nor the user's can hide anything (git runs with
    neither)."""
    (repo / "app.py").write_text("print('edited')\n")
    (repo / "config" / "settings.py").unlink()
    (repo / ".git" / "info" / "exclude").write_text("scratch/\n")
    hide = repo.parent / "hide-everything"
    hide.write_text("*\n")
    git(repo, "config", "core.excludesFile", str(hide))
    make_tree(repo, {"scratch/notes.txt": "x\n", "later.py": "print(1)\n"})
    fs = scanned(repo)
    assert set(fs.files) == {"app.py", ".gitignore", "src/new.py", "later.py"}
    assert "scratch/" in fs.unselected


def test_a_subdirectory_is_scanned_with_the_repositorys_rules(repo: Path) -> None:
    make_tree(repo, {"config/local.log": "x\n", "config/extra.py": "y = 1\n"})
    fs = scanned(repo / "config")
    assert fs.selected_by == BY_GIT
    assert set(fs.files) == {"settings.py", "extra.py"}
    assert fs.unselected == ("local.log",)


def test_links_are_never_followed_and_ignored_ones_are_not_listed(repo: Path) -> None:
    (repo / "linked.py").symlink_to(repo / "app.py")
    (repo / "out.log").symlink_to("/etc/passwd")
    fs = scanned(repo)
    assert fs.symlinks == ("linked.py",)  # untracked, not ignored: a checkout would have it
    assert "out.log" in fs.unselected and "linked.py" not in fs.files


def test_submodules_and_nested_repositories_are_read_whole(repo: Path, tmp_path: Path) -> None:
    """git does not list inside a submodule or a nested repository: what is checked out
    there is read (as a checkout with its submodules has it), ignored files included."""
    lib = make_tree(tmp_path / "lib", {"lib.py": "x = 1\n", ".gitignore": "*.log\n"})
    git(lib, "init", "-q", "-b", "main")
    git(lib, "add", "-A")
    git(lib, "commit", "-q", "-m", "lib")
    git(repo, "submodule", "add", "-q", str(lib), "vendor/lib")
    git(repo, "commit", "-q", "-m", "submodule")
    make_tree(repo, {"vendor/lib/debug.log": "x\n", "tools/nested/run.py": "y = 2\n"})
    git(repo / "tools" / "nested", "init", "-q")
    fs = scanned(repo)
    assert {"vendor/lib/lib.py", "vendor/lib/debug.log", "tools/nested/run.py",
            ".gitmodules"} <= set(fs.files)


def test_a_sparse_checkout_reads_what_is_checked_out(repo: Path) -> None:
    git(repo, "sparse-checkout", "set", "--no-cone", "/app.py", "/.gitignore")
    assert not (repo / "config" / "settings.py").exists()
    assert set(scanned(repo).files) == {"app.py", ".gitignore", "src/new.py"}


def test_without_git_every_file_is_read_and_the_reason_given(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = make_tree(tmp_path / "plain", {"a.py": "x = 1\n"})
    fs = scanned(plain)
    assert (fs.selected_by, fs.selection_reason) == (ALL_FILES, "not a git work tree")
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    fs = scanned(repo)
    assert fs.selected_by == ALL_FILES and "debug.log" in fs.files
    assert "git is not installed" in fs.selection_reason
    assert "untracked files git ignores are read too" in fs.selection_reason


def test_the_gates_own_outputs_are_never_read(repo: Path) -> None:
    (repo / ".gitignore").write_text(".venv/\n")  # report.json no longer ignored
    out = repo / "report.json"
    fs = walk(repo, selection=select_files(repo), outputs=[out, repo / "later.sarif"])
    assert "report.json" not in fs.files
    assert fs.exclusions()["report.json"] == GATE_OUTPUT
    assert "1 the gate's own report output" in fs.exclusion_summary()


@pytest.mark.skipif(real_tool("kingfisher") is None, reason="needs kingfisher")
def test_a_used_checkout_and_a_fresh_clone_agree(gate: Gate, repo: Path, tmp_path: Path) -> None:
    """The same verdict and counts, and the secret in the tracked file `.gitignore` names
    is found in both; the copies in untracked ignored files are not read. An earlier
    report written into the tree (not ignored) is not read either."""
    (repo / ".gitignore").write_text(".venv/\n*.log\nconfig/settings.py\nbuild/\n")
    git(repo, "add", "src/new.py", ".gitignore")
    git(repo, "commit", "-q", "-m", "more")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    runs = {}
    for name, root in (("used", repo), ("clone", clone)):
        runs[name] = run = gate(root, "--scanner", "kingfisher",
                                "--format", "json", "--output", str(root / "report.json"))
        assert run.code == 1, run.output
        assert run.report is not None
        assert run.report["scan"]["selection"]["by"] == "git"
        assert "files read: git: tracked files and untracked files git does not ignore" in (
            run.stdout)
        secrets = [(f["path"], f["status"]) for f in run.findings(rule_id=AWS_RULE)]
        assert secrets == [("config/settings.py", "violation")], secrets
    used, fresh = (runs[n].report for n in ("used", "clone"))
    assert used is not None and fresh is not None
    for key in ("verdict", "summary"):
        assert used[key] == fresh[key], key
    assert used["scan"]["files"] == fresh["scan"]["files"] == 4
    assert used["scan"]["selection"]["untracked_ignored_not_read"] == 3  # .venv, log, build
    assert used["scan"]["excluded_reasons"] == {"report.json": GATE_OUTPUT}
    # --all-files reads the caches too
    everything = gate(repo, "--scanner", "kingfisher", "--all-files")
    assert everything.report is not None
    assert {f["path"] for f in everything.findings(rule_id=AWS_RULE)} >= {
        "config/settings.py", ".venv/lib/site.py", "debug.log"}


def test_coverage_reports_a_ci_job_wrote_are_read_though_git_ignores_them(
        tmp_path: Path) -> None:
    """The scan does not read untracked ignored files, but the coverage check still finds
    the reports the CI job wrote there (git ignores them in every real repository)."""
    from policy_gate.catalogue import ScannerSettings
    from policy_gate.scanners.coverage import CoverageScanner
    from policy_gate.scanners.interface import ScanContext
    from tests.test_coverage_scanner import M7, NYC_COBERTURA, js_service

    root = js_service(tmp_path / "svc")
    make_tree(root, {".gitignore": "coverage/\nlcov.info\n"})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "service")
    make_tree(root, {"coverage/cobertura-coverage.xml": NYC_COBERTURA})
    fs = scanned(root)
    assert fs.unselected == ("coverage/",) and not fs.excluded
    out = CoverageScanner().scan(ScanContext(fs, ScannerSettings(timeout=60, options=M7)))
    assert ("coverage/cobertura-coverage.xml", "total-branches") in {
        (f.path, f.rule_id) for f in out.findings}


def test_a_scan_path_git_ignores_says_so(gate: Gate, repo: Path) -> None:
    """`scan build/` of an ignored directory has nothing git lists: exit 2, saying why and
    how to read it anyway."""
    run = gate(repo / "build", "--scanner", "bandit")
    assert run.code == 2, run.output
    assert "no files to scan" in run.stderr
    assert "1 untracked entries git ignores, not read: --all-files reads them" in run.stderr
    run = gate(repo / "build", "--scanner", "bandit", "--all-files")
    assert run.code == 0, run.output
    assert run.report is not None and run.report["scan"]["files"] == 1
