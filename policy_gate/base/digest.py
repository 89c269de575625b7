"""Content digests that name what an answer depended on (the results cache's keys, a rule
directory's version): stable across runs and machines."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any


def tree_digest(entries: Iterable[tuple[str, bytes]]) -> str:
    """One SHA-256 over named documents (an advisory database, a rule directory)."""
    digest = hashlib.sha256()
    for name, data in entries:
        digest.update(name.encode("utf-8", "surrogateescape") + b"\x00")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def sha256_json(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
