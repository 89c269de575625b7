"""Keeping secret values out of every output.

A secret is shown only as a masked preview (a few characters at each end for long values,
nothing for short ones) and a hash, so a reader can tell which credential to rotate
without the report becoming a second leak.
"""

from __future__ import annotations

import hashlib
import re

_QUOTED = re.compile(r"""(['"`])(?:(?!\1).){1,2000}\1""")


def mask(value: str) -> str:
    """'ABCDEFGHIJKLMNOPQRST' -> 'AB****************ST'; short values are fully masked."""
    if len(value) >= 16:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * max(len(value), 8)


def sha1_hex(value: str) -> str:
    """The hash detect-secrets reports as ``hashed_secret`` (used to correlate)."""
    return hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest()


def redact_message(message: str) -> str:
    """Mask every quoted literal in a scanner message (bandit prints the password)."""
    return _QUOTED.sub(lambda m: m.group(1) + mask(m.group(0)[1:-1]) + m.group(1), message)


def find_secret(line: str, hashed_secret: str, max_len: int = 512) -> str | None:
    """Recover which substring of a line detect-secrets flagged, by its SHA-1.

    detect-secrets reports only the hash; to show a masked preview we search the line's
    token-like substrings for one with that hash. Bounded: lines are cut to max_len.
    """
    line = line[:max_len]
    candidates = _candidate_tokens(line)
    for token in candidates:
        if sha1_hex(token) == hashed_secret:
            return token
    # Fall back to every substring (short lines only, to stay cheap).
    if len(line) <= 200:
        for start in range(len(line)):
            for end in range(start + 1, len(line) + 1):
                if sha1_hex(line[start:end]) == hashed_secret:
                    return line[start:end]
    return None


def _candidate_tokens(line: str) -> list[str]:
    pieces = set(re.split(r"""[\s'"`=:,;(){}\[\]<>]+""", line))
    pieces |= {m.group(0)[1:-1] for m in _QUOTED.finditer(line)}
    pieces |= {line.strip()}
    return [p for p in pieces if p]
