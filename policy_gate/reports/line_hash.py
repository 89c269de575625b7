"""GitHub's ``primaryLocationLineHash``: the partial fingerprint code scanning matches
alerts by, computed as ``github/codeql-action/upload-sarif`` computes it (its
``src/fingerprints.ts``) when a SARIF result has none.

The algorithm, in the upload action's terms: the file is read as UTF-8 (undecodable bytes
become U+FFFD) and taken as UTF-16 code units; spaces and tabs are skipped, CR LF and a
lone CR become LF. Each line's hash is a polynomial rolling hash (base 37, modulo 2**64,
written in lower-case hex without leading zeros) of the 100 code units that start at the
line's first kept character, running on over the following lines, then an end-of-file
unit (65535) and zeros. ``:n`` counts the lines of the file, in order, whose hash is the
same (a repeated line). A result whose file ends before its line gets no hash, as there.

Writing the hash ourselves keeps a SARIF file uploaded by other means (the REST API,
which computes nothing) from duplicating alerts; the upload action keeps a hash that is
already there (and warns if it would have computed another). The window is compared
as text rather than rolled character by character: the same hashes, in C-speed slices.
"""

from __future__ import annotations

import re
from pathlib import Path

from policy_gate.base.treefile import TreeFileError, read_below

BLOCK = 100  # code units in a line's window
EOF = 0xFFFF
MASK = (1 << 64) - 1
MAX_BYTES = 16 * 1024 * 1024  # a file larger than this is not hashed (see Hasher.why)

_POWERS = tuple(pow(37, BLOCK - 1 - k, 1 << 64) for k in range(BLOCK))
_SKIPPED = str.maketrans("", "", " \t")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _utf16_units(match: re.Match[str]) -> str:
    """A character outside the BMP as its two UTF-16 surrogates (JavaScript's charCodeAt)."""
    code = ord(match.group(0)) - 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def _window_hash(window: str) -> str:
    total = 0
    for unit, power in zip(window, _POWERS, strict=True):
        total += ord(unit) * power
    return format(total & MASK, "x")


def line_hashes(text: str, wanted: set[int] | None = None) -> dict[int, str]:
    """Line number (1-based) -> ``hash:count`` for the lines in ``wanted`` (every line:
    None), as upload-sarif gives them for a file whose decoded content is ``text``."""
    if not text.isascii():
        text = _ASTRAL.sub(_utf16_units, text)
    stream = text.replace("\r\n", "\n").replace("\r", "\n").translate(_SKIPPED)
    stream += chr(EOF)
    starts = [0]
    at = stream.find("\n")
    while at != -1:
        starts.append(at + 1)  # the EOF unit always follows the last LF
        at = stream.find("\n", at + 1)
    padded = stream + "\0" * BLOCK
    last = len(starts) if wanted is None else min(max(wanted, default=0), len(starts))
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    for number in range(1, last + 1):
        start = starts[number - 1]
        window = padded[start : start + BLOCK]
        count = seen[window] = seen.get(window, 0) + 1
        if wanted is None or number in wanted:
            out[number] = f"{_window_hash(window)}:{count}"
    return out


class Hasher:
    """The line hashes of the scanned tree's files, each file read (never through a link)
    and hashed once; ``why`` holds, per file, why it could not be."""

    def __init__(self, root: Path, wanted: dict[str, set[int]]) -> None:
        self.root = root
        self.wanted = wanted  # path -> the lines results are on, hashed in one pass
        self.files: dict[str, dict[int, str] | None] = {}
        self.why: dict[str, str] = {}

    def get(self, path: str, line: int) -> str | None:
        """The hash of ``line`` of ``path`` (relative to the root), if it has one."""
        try:
            hashes = self.files[path]
        except KeyError:
            hashes = self.files[path] = self._hash(path)
        return None if hashes is None else hashes.get(line)

    def _hash(self, path: str) -> dict[int, str] | None:
        try:
            data = read_below(self.root, path, MAX_BYTES)
        except TreeFileError as exc:
            self.why[path] = str(exc)
            return None
        return line_hashes(data.decode("utf-8", "replace"), self.wanted.get(path, set()))
