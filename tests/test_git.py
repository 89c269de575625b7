"""policy_gate.base.git against real git and real multi-commit histories built per test,
including file names that break naive parsing, shallow clones and a repository whose
configuration, attributes and hooks try to make git run its programs."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from policy_gate.base import gitrun as gitmod
from policy_gate.base.git import Repo
from policy_gate.base.gitdiff import ChangeSet
from policy_gate.base.gitrun import GitError

EMPTY: frozenset[int] = frozenset()


def _env() -> dict[str, str]:
    """The test's own git runs: no user or system configuration, a fixed identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.org",
        GIT_COMMITTER_NAME="Test Committer",
        GIT_COMMITTER_EMAIL="committer@example.org",
    )
    return env


def git(repo: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=check, capture_output=True, env=_env(),
    ).stdout.decode("utf-8", "surrogateescape").strip()


def write(repo: Path, files: Mapping[str | bytes, str | bytes]) -> None:
    for rel, content in files.items():
        path = Path(os.fsdecode(rel))
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)


def commit(repo: Path, message: str, files: Mapping[str | bytes, str | bytes] | None = None,
           ) -> str:
    if files:
        write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def lines(*items: str) -> str:
    return "".join(f"{i}\n" for i in items)


def numbered(n: int, prefix: str = "l") -> list[str]:
    return [f"{prefix}{i}" for i in range(1, n + 1)]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a base commit on main and a `feature` branch checked out."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    commit(root, "base", {
        "app.txt": lines(*numbered(10)),
        "keep.txt": lines("keep"),
        "gone.txt": lines("gone"),
        "move.txt": lines(*numbered(20, "m")),
        "edit-move.txt": lines(*numbered(20, "e")),
        "sub/inner.txt": lines(*numbered(3, "i")),
        "other/outer.txt": lines(*numbered(3, "o")),
    })
    git(root, "checkout", "-q", "-b", "feature")
    return root


# -- ChangeSet -----------------------------------------------------------------------------


def test_modified_lines_insert_change_and_delete(repo: Path) -> None:
    text = numbered(10)
    text.insert(0, "new first line")  # insert above: every old line moves down one
    text[5] = "l5 changed"  # the old line 5, now line 6
    del text[-2:]  # delete l9, l10
    commit(repo, "edit", {"app.txt": lines(*text)})
    changes = Repo.open(repo).changes("main")
    assert changes.files["app.txt"] == {1, 6}
    assert changes.is_changed("app.txt")
    assert changes.touches("app.txt", 6, None)
    assert changes.touches("app.txt", 2, 7)
    assert changes.touches("app.txt", 7, 2)  # a reversed range is still the range
    assert not changes.touches("app.txt", 2, 5)
    assert not changes.touches("app.txt", 7)
    assert changes.touches("app.txt", None, None)
    assert changes.old_path("app.txt") == "app.txt"
    assert not changes.is_changed("keep.txt")
    assert not changes.touches("keep.txt", None, None)
    assert changes.old_path("keep.txt") == "keep.txt"


def test_a_file_with_only_deletions_changed_without_new_lines(repo: Path) -> None:
    commit(repo, "shrink", {"app.txt": lines(*numbered(5))})
    changes = Repo.open(repo).changes("main")
    assert changes.files["app.txt"] == EMPTY
    assert changes.is_changed("app.txt")
    assert changes.touches("app.txt", None, None)  # a finding without a line counts
    assert not changes.touches("app.txt", 1, 5)


def test_new_untracked_and_ignored_files(repo: Path) -> None:
    commit(repo, "add", {"new.txt": lines("a", "b"), ".gitignore": "*.log\n"})
    write(repo, {"untracked.txt": "u\n", "debug.log": "ignored\n"})
    changes = Repo.open(repo).changes("main")
    assert changes.files["new.txt"] is None
    assert changes.files["untracked.txt"] is None
    assert "debug.log" not in changes.files
    assert not changes.is_changed("debug.log")
    assert changes.touches("new.txt", 1000, None)
    assert changes.old_path("new.txt") is None
    assert changes.old_path("untracked.txt") is None
    assert {"new.txt", "untracked.txt", ".gitignore"} <= changes.added


def test_uncommitted_and_staged_edits_count(repo: Path) -> None:
    write(repo, {"app.txt": lines(*numbered(10), "worktree line")})
    write(repo, {"keep.txt": lines("keep", "staged")})
    git(repo, "add", "keep.txt")
    changes = Repo.open(repo).changes("main")
    assert changes.files["app.txt"] == {11}
    assert changes.files["keep.txt"] == {2}


def test_renames_deletions_and_edited_renames(repo: Path) -> None:
    git(repo, "mv", "move.txt", "moved.txt")
    git(repo, "mv", "edit-move.txt", "edited.txt")
    text = numbered(20, "e")
    text[9] = "e10 changed"
    write(repo, {"edited.txt": lines(*text)})
    git(repo, "rm", "-q", "gone.txt")
    commit(repo, "move things")
    changes = Repo.open(repo).changes("main")
    assert changes.renamed == {"moved.txt": "move.txt", "edited.txt": "edit-move.txt"}
    assert "moved.txt" not in changes.files
    assert not changes.touches("moved.txt", None, None)
    assert changes.files["edited.txt"] == {10}
    assert changes.old_path("moved.txt") == "move.txt"
    assert changes.old_path("edited.txt") == "edit-move.txt"
    assert changes.deleted == ("gone.txt",)
    assert "move.txt" not in changes.deleted and "edit-move.txt" not in changes.deleted


def test_subdirectory_root_drops_changes_outside_it(repo: Path) -> None:
    commit(repo, "both", {
        "sub/inner.txt": lines("i1", "I2", "i3"),
        "other/outer.txt": lines("o1", "O2", "o3"),
        "sub/deep/new.txt": "n\n",
    })
    git(repo, "mv", "other/outer.txt", "sub/outer.txt")  # moved in from outside: new here
    commit(repo, "move in")
    write(repo, {"sub/untracked.txt": "u\n", "untracked-top.txt": "t\n"})
    r = Repo.open(repo / "sub")
    assert r.root == (repo / "sub").resolve()
    assert r.toplevel == repo.resolve()
    assert r.prefix == "sub/"
    changes = r.changes("main")
    assert dict(changes.files) == {
        "deep/new.txt": None, "inner.txt": {2}, "outer.txt": None, "untracked.txt": None
    }
    assert changes.renamed == {}
    assert r.show("main", "inner.txt", 1000) == b"i1\ni2\ni3\n"
    assert r.show("main", "outer.txt", 1000) is None
    assert Repo.open(repo / "sub" / "deep").prefix == "sub/deep/"


def test_merge_base_not_the_moving_base_branch(repo: Path) -> None:
    feature_commit = commit(repo, "feature", {"app.txt": lines(*numbered(10), "feature")})
    git(repo, "checkout", "-q", "main")
    main_base = git(repo, "rev-parse", "HEAD")
    commit(repo, "main moves on", {"keep.txt": lines("keep", "main only")})
    git(repo, "checkout", "-q", "feature")
    r = Repo.open(repo)
    changes = r.changes("main")
    assert changes.base == main_base == r.merge_base("main")
    assert changes.head == feature_commit == r.head()
    assert changes.base_ref == "main"
    assert set(changes.files) == {"app.txt"}  # main's own change is not the PR's
    assert [c.sha for c in r.commits("main")] == [feature_commit]


def test_special_file_contents(repo: Path) -> None:
    commit(repo, "base files", {
        "crlf.txt": b"a\r\nb\r\nc\r\n",
        "nonl.txt": b"a\nb",
        "empty.txt": b"",
        "full.txt": b"x\ny\n",
        "bin.dat": b"\x00\x01binary\n",
        "script.sh": b"echo hi\n",
    })
    base = git(repo, "rev-parse", "HEAD")
    write(repo, {
        "crlf.txt": b"a\r\nB\r\nc\r\n",
        "nonl.txt": b"a\nb\nc",
        "empty.txt": b"one\ntwo\n",
        "full.txt": b"",
        "bin.dat": b"\x00\x02binary\n",
        "new-empty.txt": b"",
    })
    (repo / "script.sh").chmod(0o755)
    commit(repo, "edit")
    changes = Repo.open(repo).changes(base)
    assert changes.files["crlf.txt"] == {2}
    assert changes.files["nonl.txt"] == {2, 3}  # b gained its newline, c is new
    assert changes.files["empty.txt"] == {1, 2}
    assert changes.files["full.txt"] == EMPTY
    assert changes.files["bin.dat"] is None  # binary: no lines to point at
    assert changes.old_path("bin.dat") == "bin.dat"
    assert changes.files["new-empty.txt"] is None
    assert changes.files["script.sh"] == EMPTY  # mode only


def test_symlink_becoming_a_file_is_new(repo: Path) -> None:
    (repo / "link").symlink_to("keep.txt")
    base = commit(repo, "link")
    (repo / "link").unlink()
    write(repo, {"link": "now a file\n"})
    changes = Repo.open(repo).changes(base)
    assert changes.files["link"] is None
    assert changes.old_path("link") is None


def test_nested_repository_and_submodule_are_new_directories(repo: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q")
    commit(lib, "lib", {"lib.txt": "lib\n"})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor")
    commit(repo, "add submodule")
    nested = repo / "nested"
    nested.mkdir()
    git(nested, "init", "-q")
    commit(nested, "nested", {"n.txt": "n\n"})
    changes = Repo.open(repo).changes("main")
    assert changes.new_dirs == ("nested/", "vendor/")
    assert changes.files[".gitmodules"] is None
    assert changes.is_changed("vendor/lib.txt")
    assert changes.touches("nested/n.txt", 1)
    assert changes.old_path("vendor/lib.txt") is None
    assert not changes.is_changed("vendorx/lib.txt")


def test_touches_handles_large_ranges_and_missing_files() -> None:
    changes = ChangeSet(
        base_ref="main", base="b" * 40, head="h" * 40,
        files={"a.py": frozenset({5, 900}), "n.py": None, "d.py": frozenset()},
        deleted=("x.py",), renamed={"a.py": "old.py"}, added=frozenset({"n.py"}),
    )
    assert changes.touches("a.py", 1, 10**9)
    assert not changes.touches("a.py", 6, 899)
    assert changes.touches("a.py", 900)
    assert changes.touches("n.py", 1)
    assert not changes.touches("missing.py", None)
    assert not changes.touches("d.py", 1, 100)
    assert changes.touches("d.py", None)
    assert changes.old_path("a.py") == "old.py"
    assert changes.old_path("n.py") is None
    assert changes.old_path("other.py") == "other.py"


def test_a_directory_replaced_by_a_link_out_of_the_tree_is_not_read(repo: Path,
                                                                    tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner.txt").write_text("i1\nSECRET FROM OUTSIDE\ni3\n")
    commit(repo, "f", {"keep.txt": "kept\n"})
    for child in (repo / "sub").iterdir():
        child.unlink()
    (repo / "sub").rmdir()
    (repo / "sub").symlink_to(outside)
    changes = Repo.open(repo).changes("main")
    assert "sub/inner.txt" in changes.deleted  # git does not look through the link
    assert changes.files["sub"] is None  # the link itself, a new untracked entry
    assert "sub/inner.txt" not in changes.files


# -- file names ----------------------------------------------------------------------------

ODD_NAMES: list[str] = [
    "new\nline.txt",
    "sp ace.txt",
    "per%cent.txt",
    "co::lon.txt",
    'quo"te.txt',
    "back\\slash.txt",
    "tab\tname.txt",
    "-dash.txt",
    "trailing space .txt",
    "ünïcödé.txt",
    "dir with space/inner\nfile.txt",
    os.fsdecode(b"caf\xe9-latin1.txt"),  # not UTF-8: named as os.fsdecode names it
]


def test_file_names_that_break_naive_parsing(repo: Path) -> None:
    base = commit(repo, "odd names", {
        os.fsencode(n): lines("one", "two", "three") for n in ODD_NAMES
    })
    commit(repo, "edit odd names", {
        os.fsencode(n): lines("one", "TWO", "three", "four") for n in ODD_NAMES
    })
    git(repo, "mv", "sp ace.txt", "sp ace\nmoved.txt")
    commit(repo, "move one")
    write(repo, {os.fsencode("untracked\n%::.txt"): "u\n"})
    r = Repo.open(repo)
    changes = r.changes(base)
    for name in ODD_NAMES:
        if name == "sp ace.txt":
            continue
        assert changes.files[name] == {2, 4}, name
        assert r.show(base, name, 100) == b"one\ntwo\nthree\n", name
    assert changes.renamed == {"sp ace\nmoved.txt": "sp ace.txt"}
    assert changes.files["sp ace\nmoved.txt"] == {2, 4}
    assert changes.files["untracked\n%::.txt"] is None
    edit, move = r.commits(base)
    additions = r.commit_additions(edit.sha)
    assert set(additions) == set(ODD_NAMES)
    assert all(v == {2, 4} for v in additions.values())
    assert r.commit_additions(move.sha) == {}  # a pure rename adds nothing


# -- history -------------------------------------------------------------------------------


def test_commits_oldest_first_with_merges(repo: Path) -> None:
    f1 = commit(repo, "f1", {"a.txt": "a\n"})
    git(repo, "checkout", "-q", "-b", "side")
    s1 = commit(repo, "s1", {"s.txt": "s\n"})
    git(repo, "checkout", "-q", "feature")
    f2 = commit(repo, "f2", {"b.txt": "b\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    merge = git(repo, "rev-parse", "HEAD")
    f3 = commit(repo, "f3\n\nbody line", {"c.txt": "c\n"})
    commits = Repo.open(repo).commits("main")
    order = [c.sha for c in commits]
    assert sorted(order) == sorted([f1, s1, f2, merge, f3])
    assert order[0] == f1 and order[-1] == f3
    assert order.index(s1) < order.index(merge) and order.index(f2) < order.index(merge)
    by_sha = {c.sha: c for c in commits}
    assert by_sha[merge].subject == "merge side"
    assert by_sha[f3].subject == "f3"
    assert by_sha[f1].author == "Test Author"
    assert dt.datetime.fromisoformat(by_sha[f1].date).tzinfo is not None
    assert Repo.open(repo).commits("feature") == []


def test_commit_subject_is_first_line_with_control_characters_escaped(repo: Path) -> None:
    commit(repo, "red \x1b[31malert\x07\nsecond line of the same paragraph")
    (c,) = Repo.open(repo).commits("main")
    assert c.subject == "red \\x1b[31malert\\x07"


def test_commit_additions_add_then_delete(repo: Path) -> None:
    added = commit(repo, "add key", {"config.txt": lines("a", "b", "KEY=secret", "c")})
    removed = commit(repo, "remove key", {"config.txt": lines("a", "b", "c")})
    renamed_edit = commit(repo, "edit app", {"app.txt": lines(*numbered(9), "l10 changed")})
    r = Repo.open(repo)
    assert r.commit_additions(added) == {"config.txt": {1, 2, 3, 4}}
    assert r.commit_additions(removed) == {}
    assert r.commit_additions(renamed_edit) == {"app.txt": {10}}
    commit(repo, "binary", {"blob.bin": b"\x00\x01\x02", "link-target.txt": "t\n"})
    (repo / "alink").symlink_to("link-target.txt")
    last = commit(repo, "symlink")
    assert r.commit_additions(last) == {}  # a symlink is not a file with lines
    assert "blob.bin" not in r.commit_additions(f"{last}~1")


def test_commit_additions_of_a_root_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    root = commit(tmp_path, "root", {"a.txt": "1\n2\n"})
    assert Repo.open(tmp_path).commit_additions(root) == {"a.txt": {1, 2}}


def test_commit_additions_of_an_evil_merge_use_the_first_parent(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side", {"side.txt": "side\n"})
    git(repo, "checkout", "-q", "feature")
    commit(repo, "feature", {"keep.txt": lines("keep", "feature")})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    write(repo, {"app.txt": lines(*numbered(10), "EVIL=added in the merge")})
    git(repo, "add", "app.txt")
    git(repo, "commit", "-q", "-m", "innocent merge")
    merge = git(repo, "rev-parse", "HEAD")
    additions = Repo.open(repo).commit_additions(merge)
    assert additions == {"app.txt": {11}, "side.txt": {1}}


def test_commit_additions_relative_to_a_subdirectory_root(repo: Path) -> None:
    c = commit(repo, "both", {"sub/inner.txt": lines("i1", "x"), "other/outer.txt": "o\n"})
    assert Repo.open(repo / "sub").commit_additions(c) == {"inner.txt": {2}}


# -- show ----------------------------------------------------------------------------------


def test_show_reads_the_base_version(repo: Path) -> None:
    commit(repo, "change", {"keep.txt": "changed\n", "added.txt": "new\n"})
    write(repo, {"keep.txt": "worktree\n"})
    r = Repo.open(repo)
    assert r.show("main", "keep.txt", 100) == b"keep\n"
    assert r.show("HEAD", "keep.txt", 100) == b"changed\n"
    assert r.show("main", "added.txt", 100) is None
    assert r.show("main", "no/such/file.txt", 100) is None
    assert r.show("main", "keep.txt/below", 100) is None


def test_show_refuses_large_blobs_links_directories_and_bad_paths(repo: Path) -> None:
    (repo / "link").symlink_to("/etc/passwd")
    commit(repo, "big", {"big.txt": "x" * 5000})
    r = Repo.open(repo)
    assert r.show("HEAD", "big.txt", 5000) == b"x" * 5000
    with pytest.raises(GitError, match=r"5000 bytes, more than the 4999 allowed"):
        r.show("HEAD", "big.txt", 4999)
    with pytest.raises(GitError, match="symbolic link"):
        r.show("HEAD", "link", 10_000)
    with pytest.raises(GitError, match="directory"):
        r.show("HEAD", "sub", 10_000)
    for bad in ("../x", "/etc/passwd", "./keep.txt", "a//b", ""):
        with pytest.raises(GitError, match="not a relative file path"):
            r.show("HEAD", bad, 100)


def test_output_larger_than_the_cap_is_refused(repo: Path) -> None:
    r = Repo.open(repo)
    with pytest.raises(GitError, match="printed more than 10 bytes"):
        r._call(["cat-file", "blob", "HEAD:app.txt"], max_out=10)


# -- errors --------------------------------------------------------------------------------


def test_unknown_and_option_like_refs(repo: Path) -> None:
    r = Repo.open(repo)
    with pytest.raises(GitError, match="unknown git revision 'no-such-branch'") as info:
        r.changes("no-such-branch")
    assert "fetch-depth" not in str(info.value)
    with pytest.raises(GitError, match="not a git revision"):
        r.resolve("--output=/tmp/x")
    with pytest.raises(GitError, match=r"not a git revision: 'a\\x1b\[31m'"):
        r.resolve("a\x1b[31m")
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    with pytest.raises(GitError, match="unknown git revision"):
        r.resolve(tree)
    assert r.resolve("main") == git(repo, "rev-parse", "main")
    assert r.resolve("HEAD") == r.head()


def test_unrelated_histories(repo: Path) -> None:
    git(repo, "checkout", "-q", "--orphan", "lonely")
    commit(repo, "unrelated")
    with pytest.raises(GitError, match="no common ancestor"):
        Repo.open(repo).changes("main")


@pytest.fixture
def origin(repo: Path) -> Path:
    commit(repo, "f1", {"a.txt": "a\n"})
    commit(repo, "f2", {"a.txt": "a\nb\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "m1", {"keep.txt": "keep\nmain\n"})
    git(repo, "checkout", "-q", "feature")
    return repo


def test_shallow_clone_without_the_base_says_to_fetch_history(origin: Path,
                                                              tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature",
        f"file://{origin}", str(clone))
    r = Repo.open(clone)
    with pytest.raises(GitError, match="fetch-depth: 0") as info:
        r.changes("origin/main")
    assert "'origin/main'" in str(info.value)
    with pytest.raises(GitError, match="fetch-depth: 0"):
        r.commits("origin/main")


def test_shallow_clone_without_a_merge_base_says_to_fetch_history(origin: Path,
                                                                  tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", "--branch", "feature",
        f"file://{origin}", str(clone))
    r = Repo.open(clone)
    r.resolve("origin/main")  # the ref is there, its history is not
    with pytest.raises(GitError, match=r"no common ancestor.*fetch-depth: 0"):
        r.merge_base("origin/main")


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain\ndir"
    plain.mkdir()
    with pytest.raises(GitError, match="is not inside a git work tree") as info:
        Repo.open(plain)
    assert "\n" not in str(info.value)
    with pytest.raises(GitError, match=r"missing: No such file"):
        Repo.open(tmp_path / "missing")


def test_inside_the_git_directory_is_not_a_work_tree(repo: Path) -> None:
    with pytest.raises(GitError, match="not inside a git work tree"):
        Repo.open(repo / ".git")


def test_git_missing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo))
    with pytest.raises(GitError, match="git is not installed"):
        Repo.open(repo)


def test_timeout_is_a_git_error(repo: Path) -> None:
    with pytest.raises(GitError, match=r"git rev-parse timed out after 1e-09 s"):
        Repo.open(repo, timeout=1e-9)
    r = Repo.open(repo, timeout=30)
    assert r.head()
    r.timeout = 1e-9
    with pytest.raises(GitError, match="timed out"):
        r.changes("main")


def test_checkout_owned_by_another_user(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's Docker actions see the checkout owned by another uid."""
    make_env = gitmod._environment

    def other_owner(git_exe: str, neutral: list[tuple[str, str]]) -> dict[str, str]:
        return {**make_env(git_exe, neutral), "GIT_TEST_ASSUME_DIFFERENT_OWNER": "1"}

    plain = subprocess.run(["git", "status"], cwd=repo, capture_output=True, text=True,
                           env={**_env(), "GIT_TEST_ASSUME_DIFFERENT_OWNER": "1"})
    assert plain.returncode != 0 and "dubious ownership" in plain.stderr
    monkeypatch.setattr(gitmod, "_environment", other_owner)
    commit(repo, "f", {"a.txt": "a\n"})
    r = Repo.open(repo / "sub")
    assert r.changes("main").files == {}
    assert Repo.open(repo).changes("main").files == {"a.txt": None}


def test_every_call_is_locked_down(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each git run: no pager, hooks, external diff, textconv, fsmonitor, prompt, network;
    a timeout; a minimal environment without the caller's secrets."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("GIT_DIR", "/elsewhere")  # must not redirect the gate
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", "/bin/false")
    calls: list[tuple[list[str], dict[str, str], float]] = []
    real_run = gitmod._run

    def spy(argv: list[str], *, env: dict[str, str], timeout: float, **kw: Any,
            ) -> tuple[int, bytes, bytes]:
        calls.append((list(argv), dict(env), timeout))
        return real_run(argv, env=env, timeout=timeout, **kw)

    monkeypatch.setattr(gitmod, "_run", spy)
    c = commit(repo, "f", {"a.txt": "a\n", "keep.txt": "keep\nx\n"})
    r = Repo.open(repo, timeout=42)
    r.changes("main")
    r.commits("main")
    r.commit_additions(c)
    r.show("main", "keep.txt", 100)
    with pytest.raises(GitError):
        r.resolve("nope")
    assert len(calls) > 10
    for argv, env, timeout in calls:
        joined = " ".join(argv)
        for flag in ("--no-pager", "core.fsmonitor=false", f"core.hooksPath={os.devnull}",
                     "diff.external=", "core.pager=cat", "protocol.allow=never",
                     "core.quotePath=false", f"safe.directory={repo.resolve()}"):
            assert flag in argv or f"-c {flag}" in joined, (flag, argv)
        sub = next(a for a in argv[1:] if not a.startswith("-") and "=" not in a)
        if sub in ("diff", "log"):
            assert {"--no-ext-diff", "--no-textconv", "--no-color"} <= set(argv), argv
        assert env["GIT_TERMINAL_PROMPT"] == "0"
        assert env["GIT_OPTIONAL_LOCKS"] == "0"
        assert env["GIT_CONFIG_NOSYSTEM"] == "1"
        assert env["GIT_CONFIG_GLOBAL"] == os.devnull
        assert not {"GITHUB_TOKEN", "GIT_DIR", "GIT_EXTERNAL_DIFF"} & set(env)
        assert set(env) <= {"PATH", "HOME", "LC_ALL", "LANG", "PAGER", "SSH_ASKPASS"} | {
            k for k in env if k.startswith("GIT_")}
        assert timeout == 42


# -- a hostile repository ------------------------------------------------------------------


def _trap(bin_dir: Path, marks: Path, name: str) -> str:
    """A script that records that it ran (and passes stdin through, like a filter)."""
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho {name} >> "{marks}"\n[ $# -eq 0 ] && exec cat\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def _hostile(repo: Path, tmp_path: Path) -> tuple[Path, str]:
    """Everything a repository can configure to make git run a program."""
    bin_dir = tmp_path / "traps"
    bin_dir.mkdir()
    marks = tmp_path / "fired.log"
    t = {n: _trap(bin_dir, marks, n) for n in (
        "external", "textconv", "diffcmd", "fsmonitor", "clean", "smudge", "process",
        "oddclean", "pager", "gpg", "askpass", "ssh", "credential", "editor", "hook",
    )}
    commit(repo, "attributes", {
        ".gitattributes": "*.txt diff=evil\n*.txt filter=evil\n*.cfg filter=proc\n"
                          "*.odd filter=od.d=x\n",
        "a.cfg": "cfg\n", "b.odd": "odd\n",
    })
    base = git(repo, "rev-parse", "main")
    cfg = {
        "diff.external": t["external"],
        "diff.evil.textconv": t["textconv"],
        "diff.evil.command": t["diffcmd"],
        "core.fsmonitor": t["fsmonitor"],
        "core.pager": t["pager"],
        "pager.log": t["pager"],
        "core.askPass": t["askpass"],
        "core.sshCommand": t["ssh"],
        "core.editor": t["editor"],
        "credential.helper": "!" + t["credential"],
        "filter.evil.clean": t["clean"],
        "filter.evil.smudge": t["smudge"],
        "filter.evil.required": "true",
        "filter.proc.process": t["process"],
        "filter.od.d=x.clean": t["oddclean"],
        "log.showSignature": "true",
        "gpg.program": t["gpg"],
        "remote.origin.url": "ssh://attacker.invalid/x.git",
    }
    for key, value in cfg.items():
        git(repo, "config", key, value)
    hooks = repo / ".git" / "hooks"
    for hook in ("post-checkout", "pre-commit", "post-commit", "post-index-change",
                 "reference-transaction", "fsmonitor-watchman", "pre-auto-gc", "post-merge"):
        (hooks / hook).write_text(Path(t["hook"]).read_text())
        (hooks / hook).chmod(0o755)
    # History worth diffing: edits, a rename, a binary, a merge and a signed commit.
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side", {"side.txt": "side\n"})
    git(repo, "checkout", "-q", "feature")
    commit(repo, "edit", {"app.txt": lines("x", *numbered(10)), "keep.txt": "kept\nmore\n",
                          "a.cfg": "cfg\nmore\n", "b.odd": "odd\nmore\n", "bin.dat": b"\0\1"})
    git(repo, "mv", "move.txt", "moved.txt")
    commit(repo, "move")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge", "side")
    raw = git(repo, "cat-file", "commit", "HEAD")
    header, _, message = raw.partition("\n\n")
    signed = (f"{header}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n"
              f" -----END PGP SIGNATURE-----\n\n{message}\n")
    sha = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=repo,
                         input=signed.encode(), capture_output=True, check=True, env=_env()
                         ).stdout.decode().strip()
    git(repo, "update-ref", "HEAD", sha)
    # Uncommitted work, and every file stat-dirty so git would re-read (and clean) them.
    write(repo, {"keep.txt": "kept\nmore\nworktree\n", "a.cfg": "cfg\nmore\nwt\n",
                 "untracked.txt": "u\n"})
    for path in repo.rglob("*"):
        if ".git" not in path.parts and path.is_file():
            os.utime(path, (1, 1))
    if marks.exists():
        marks.unlink()
    return marks, base


def _fired(marks: Path) -> set[str]:
    return set(marks.read_text().split()) if marks.exists() else set()


def test_the_hostile_traps_are_live_for_plain_git(repo: Path, tmp_path: Path) -> None:
    """Control: the same commands run by plain git do execute the repository's programs,
    so the test below proves the module switches them off."""
    marks, base = _hostile(repo, tmp_path)
    env = {**_env(), "GIT_TERMINAL_PROMPT": "0"}
    for args in (["diff", base], ["diff", "--no-ext-diff", base], ["log", "-1"],
                 ["log", "-p", "-1", "HEAD^"]):
        subprocess.run(["git", *args], cwd=repo, capture_output=True, env=env)
    assert {"external", "diffcmd", "textconv", "fsmonitor", "clean", "process", "oddclean",
            "gpg"} <= _fired(marks)


def test_a_hostile_repository_runs_nothing(repo: Path, tmp_path: Path) -> None:
    marks, base = _hostile(repo, tmp_path)
    r = Repo.open(repo)
    assert r.resolve("main") == base
    assert r.merge_base("main") == base
    head = r.head()
    changes = r.changes("main")
    assert changes.files["keep.txt"] == {1, 2, 3}
    assert changes.files["app.txt"] == {1}
    assert changes.files["a.cfg"] is None and changes.files["b.odd"] is None
    assert changes.files["bin.dat"] is None
    assert changes.files["untracked.txt"] is None
    assert changes.renamed == {"moved.txt": "move.txt"}
    for path in ("keep.txt", "a.cfg", "b.odd", "app.txt", "bin.dat", "moved.txt"):
        r.show(base, path, 10_000)
        r.show(head, path, 10_000)
    commits = r.commits("main")
    subjects = [c.subject for c in commits]
    assert sorted(subjects) == ["attributes", "edit", "merge", "move", "side"]
    assert subjects[0] == "attributes" and subjects[-1] == "merge"
    for c in commits:
        r.commit_additions(c.sha)
    Repo.open(repo / "sub").changes("main")
    assert _fired(marks) == set()
    assert not marks.exists()
