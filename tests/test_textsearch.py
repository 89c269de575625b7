"""base.textsearch: one grep tells which files may hold a word; whatever it cannot tell
for every file is None, and the reader then reads them all (never fewer)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from policy_gate.base import textsearch
from policy_gate.base.fileset import walk
from policy_gate.policy.suppressions import MARKER_WORDS, find_suppressions

FILES = {
    "a.py": "x = 1  # nosec B101 - fixture\n",
    "-rf.py": "y = 2  # nosec\n",  # a name grep could read as an option
    "dir with space/b.js": "eval(x) // NoSemgrep: js-eval\n",
    "line\nbreak.txt": "pass = 'x'  # pragma: allowlist secret\n",
    "plain.py": "z = 3\n",
    "blob.bin": "nosec\0\0binary",
    "Ünïcode.yaml": "key: v  # pragma: whitelist secret\n",
}


def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_files_that_hold_a_word(tmp_path: Path) -> None:
    root = tree(tmp_path)
    files = walk(root).files
    found = textsearch.files_containing(root, files, MARKER_WORDS)
    assert found == set(FILES) - {"plain.py"}


def test_a_long_list_is_split_over_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree(tmp_path)
    monkeypatch.setattr(textsearch, "ARGV_BYTES", 8)  # one file a run
    assert textsearch.files_containing(root, walk(root).files, MARKER_WORDS) == (
        set(FILES) - {"plain.py"})


def test_no_answer_when_grep_is_missing_or_cannot_read_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tree(tmp_path)
    files = walk(root).files
    assert textsearch.files_containing(root, (*files, "gone.py"), MARKER_WORDS) is None
    if os.geteuid() != 0:  # root reads a file whatever its mode
        (root / "plain.py").chmod(0)
        assert textsearch.files_containing(root, files, MARKER_WORDS) is None
        (root / "plain.py").chmod(0o644)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert textsearch.files_containing(root, files, MARKER_WORDS) is None


def test_suppressions_are_the_same_with_and_without_grep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tree(tmp_path)
    files = walk(root).files
    with_grep = find_suppressions(root, files, 1 << 20)
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    without = find_suppressions(root, files, 1 << 20)
    assert with_grep == without
    assert {s.path for s in with_grep} == {"a.py", "-rf.py", "dir with space/b.js",
                                           "line\nbreak.txt", "Ünïcode.yaml"}
