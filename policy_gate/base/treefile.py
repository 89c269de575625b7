"""Reading one file of the scanned tree the gate's way: never through a link, never more
than a limit, a file that changes while it is read is caught; and the small facts about
its bytes (binary or text, one line, a span of lines) that fingerprints and scanners need.
Both the walk's generated-content evidence and every scanner read files through here."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path


class TreeFileError(Exception):
    """Why a file of the scanned tree was not read; the text goes into an unscanned
    finding or an error message."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


# What read_tree_file asks for after a file's size (a file that grew while being read).
READ_CHUNK = 64 * 1024


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def open_tree_file(path: Path | str, limit: int) -> tuple[int, int]:
    """An open descriptor of a tree file and its size, opened the way every reader of the
    scanned tree must: only a regular file (a link swapped in after the walk is refused,
    O_NOFOLLOW; a FIFO cannot block us, O_NONBLOCK) of at most ``limit`` bytes. The
    caller closes it; TreeFileError says why it was not opened."""
    return _open_regular(path, limit)


def read_below(root: Path, rel: str, limit: int) -> bytes:
    """A file ``rel`` (POSIX, relative) below the directory ``root``, read as
    :func:`read_tree_file` reads, with no component of ``rel`` allowed to be a link: each
    directory is opened relative to its parent with O_NOFOLLOW, so a linked
    ``node_modules/pkg`` cannot lead out of the tree, even when swapped in meanwhile."""
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        raise TreeFileError("not a plain relative path")
    dir_flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(root, dir_flags)
    except FileNotFoundError:
        raise TreeFileError("does not exist", missing=True) from None
    except OSError as exc:
        raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, dir_flags, dir_fd=fd)
            except FileNotFoundError:
                raise TreeFileError("does not exist", missing=True) from None
            except OSError as exc:  # ELOOP/ENOTDIR: a link or not a directory
                raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
            os.close(fd)
            fd = child
        # an open relative to a directory names only the file to audit hooks: say which
        sys.audit("open", str(root / rel), "r", _READ_FLAGS)
        return _read_fd(*_open_regular(parts[-1], limit, fd), limit)
    finally:
        os.close(fd)


def _open_regular(path: Path | str, limit: int, dir_fd: int | None = None) -> tuple[int, int]:
    """:func:`open_tree_file`, optionally relative to an open directory."""
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise TreeFileError("does not exist", missing=True) from None
    except OSError as exc:
        raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TreeFileError("not a regular file")
        if info.st_size > limit:
            raise TreeFileError(f"larger than {limit} bytes")
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError):
            raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
        raise
    return fd, info.st_size


def read_tree_file(path: Path, limit: int) -> bytes:
    """A file's bytes (:func:`open_tree_file`), never more than ``limit`` of them in
    memory; a file that grew past it while being read is caught.

    Plain ``os.read`` calls sized by the file, not a buffered file object: every file of
    the tree is read this way, several times, and ``read(limit + 1)`` on a buffered file
    maps (and unmaps) a buffer of ``limit`` bytes for each one."""
    return _read_fd(*open_tree_file(path, limit), limit)


def _read_fd(fd: int, size: int, limit: int) -> bytes:
    """Read and close an open tree file (of ``size`` bytes when opened)."""
    try:
        # one byte more than its size, so that a file grown since is not cut silently
        chunks = [os.read(fd, size + 1)]
        total = len(chunks[0])
        while chunks[-1] and total <= limit:
            chunks.append(os.read(fd, min(READ_CHUNK, limit + 1 - total)))
            total += len(chunks[-1])
    except OSError as exc:
        raise TreeFileError(f"could not be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if total > limit:
        raise TreeFileError(f"larger than {limit} bytes")
    return chunks[0] if len(chunks) <= 2 else b"".join(chunks)


def within_limit(
    root: Path, files: Iterable[str], limit: int
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Files for a tool that reads each file whole itself: those of at most ``limit``
    bytes, and (file, why not) for the rest (larger, or gone since the walk), which the
    scanner reports as unscanned instead of handing them over."""
    keep: list[str] = []
    left_out: list[tuple[str, str]] = []
    for rel in files:
        try:
            size = os.lstat(root / rel).st_size
        except OSError as exc:
            left_out.append((rel, f"could not be read ({exc.strerror or exc}); not analysed"))
            continue
        if size > limit:
            left_out.append((rel, f"larger than {limit} bytes; not analysed"))
        else:
            keep.append(rel)
    return tuple(keep), tuple(left_out)


# Bytes looked at for a NUL when telling binary files from text.
BINARY_SNIFF = 8192


def is_binary(data: bytes) -> bool:
    """A NUL byte in the first block of a file's bytes: the heuristic git and grep use."""
    return b"\x00" in data[:BINARY_SNIFF]


def read_line(path: Path, line: int | None, cache: dict[Path, list[str]] | None = None) -> str:
    """One line of a file (1-based), or '' if it cannot be read. Used for fingerprints."""
    if line is None or line < 1:
        return ""
    lines: list[str] | None = cache.get(path) if cache is not None else None
    if lines is None:
        try:
            lines = path.read_text("utf-8", "replace").splitlines()
        except (OSError, ValueError):  # ValueError: a NUL or lone surrogate in a tool's path
            lines = []
        if cache is not None:
            cache[path] = lines
    return lines[line - 1] if line <= len(lines) else ""


def read_span(
    path: Path, start: int | None, end: int | None, cache: dict[Path, list[str]] | None = None
) -> str:
    """Lines start..end of a file (1-based, inclusive), joined by newlines: the whole
    flagged statement, for fingerprints. One line when ``end`` is None or not after it."""
    cache = {} if cache is None else cache
    first = read_line(path, start, cache)
    if start is None or start < 1 or end is None or end <= start:
        return first
    return "\n".join(cache.get(path, [])[start - 1 : end])
