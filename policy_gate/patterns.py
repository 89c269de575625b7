"""Gitignore-style path patterns: the policy's excludes, directory overrides, waiver
paths, review paths. One matcher, so that every part of the gate reads a pattern alike."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pathspec


class PathPatterns:
    """Gitignore-style patterns (pathspec's reading of them), matched fast.

    pathspec resolves negation and priority in Python for every path, ~50 µs a path with
    ten patterns: a tenth of a second per 2,000 files walked. Without negated patterns
    (the policy refuses them), a path matches when any pattern's expression does, so the
    expressions pathspec compiled are joined into one."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(list(patterns))
        live = [p for p in self.spec.patterns if p.include is not None]
        regexes = [getattr(p, "regex", None) for p in live]
        self._union: re.Pattern[str] | None = None
        if all(p.include for p in live) and all(isinstance(r, re.Pattern) for r in regexes):
            joined = "|".join(
                f"(?:{r.pattern.replace('(?P<ps_d>', '(?:')})"
                for r in regexes
                if isinstance(r, re.Pattern)
            )
            self._union = re.compile(joined or r"(?!)")

    def match_file(self, path: str) -> bool:
        if self._union is None:
            return bool(self.spec.match_file(path))
        return self._union.match(path) is not None


def compile_patterns(patterns: Iterable[str]) -> PathPatterns:
    return PathPatterns(patterns)


__all__ = ["PathPatterns", "compile_patterns"]
