"""The one way the gate reads a file of the scanned tree: a regular file only (a link
swapped in after the walk is refused, a FIFO cannot block), and never over the limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policy_gate.base.fileset import FileSet
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.catalogue import ScannerSettings
from policy_gate.scanners.dockerfile import DockerfileScanner
from policy_gate.scanners.interface import ScanContext


def test_reads_a_regular_file_within_the_limit(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"12345")
    assert read_tree_file(tmp_path / "a.txt", 5) == b"12345"
    with pytest.raises(TreeFileError, match="larger than 4 bytes"):
        read_tree_file(tmp_path / "a.txt", 4)


def test_missing_link_and_fifo_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TreeFileError) as missing:
        read_tree_file(tmp_path / "nope", 10)
    assert missing.value.missing
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("AKIA-not-to-be-read")
    (tmp_path / "link").symlink_to(secret)
    with pytest.raises(TreeFileError, match="could not be read") as link:
        read_tree_file(tmp_path / "link", 1000)
    assert not link.value.missing and "AKIA" not in str(link.value)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(TreeFileError, match="not a regular file"):
        read_tree_file(tmp_path / "fifo", 1000)  # returns at once: no writer needed


def test_a_scanner_given_a_link_swapped_in_after_the_walk_does_not_follow_it(
    tmp_path: Path,
) -> None:
    """The walk saw a regular Dockerfile; it was replaced by a link before the scanner read
    it. The scanner reports it unscanned instead of reading the link's target."""
    target = tmp_path / "elsewhere"
    target.write_text("FROM node:lts-alpine\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").symlink_to(target)
    fileset = FileSet(root=root, files=("Dockerfile",))
    out = DockerfileScanner().scan(ScanContext(fileset, ScannerSettings()))
    assert [(f.category, f.path) for f in out.findings] == [("unscanned", "Dockerfile")]
    assert "could not be read" in out.findings[0].message
