"""Gitignore-style path patterns: the policy's excludes, directory overrides, waiver
paths, review paths. One matcher, so that every part of the gate reads a pattern alike."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

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
            joined = "|".join(_from_start(r.pattern) for r in regexes if isinstance(r, re.Pattern))
            self._union = re.compile(joined or r"(?!)")

    def match_file(self, path: str) -> bool:
        if self._union is None:
            return bool(self.spec.match_file(path))
        return self._union.match(path) is not None


def _from_start(expression: str) -> str:
    """One of pathspec's expressions, to be matched from the start of a path. pathspec
    *searches* (``**/`` compiles to a bare ``/``: any path with a directory), so an
    expression without a leading ``^`` may begin anywhere, newlines included."""
    body = expression.replace("(?P<ps_d>", "(?:")
    return f"(?:{body})" if body.startswith("^") else f"(?:^(?s:.*?)(?:{body}))"


def compile_patterns(patterns: Iterable[str]) -> PathPatterns:
    return PathPatterns(patterns)


# Probe paths for too_broad(): directories at three depths, named as no pattern written for
# a real tree names them, and files of many kinds with ordinary names.
_PROBE_DIRS = ("", "kq7/", "hy5m/uz8r/tb4n/")
_PROBE_STEMS = ("a", "main", "user_service", "Config", "x1", "__init__")
_PROBE_EXTENSIONS = (
    "py", "js", "ts", "tsx", "json", "yaml", "yml", "toml", "txt", "md", "sh", "cfg",
    "html", "go",
)
_PROBE_BARE = ("Dockerfile", "Makefile", "LICENSE", "run", "build", "Procfile")
_PROBE_DOT = (".env", ".npmrc", ".bashrc", ".gitignore", ".pypirc", ".flake8")
_LITERAL_EXTENSION = re.compile(r"\.([A-Za-z0-9_-]{1,16})/?$")


def _probes(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(d + n for n in names for d in _PROBE_DIRS)


_KINDS = (
    _probes(_PROBE_BARE),
    _probes(_PROBE_DOT),
    *(_probes(f"{stem}.{ext}" for stem in _PROBE_STEMS) for ext in _PROBE_EXTENSIONS),
)


@lru_cache(maxsize=1024)
def too_broad(*patterns: str) -> bool:
    """Do ``patterns`` (together) match (nearly) every file of some kind, at any depth?

    Decided by what the patterns match, not how they are spelt: the matcher every part of
    the gate uses is tried on probe paths at three depths under directories no real
    pattern names, with ordinary file names of many kinds (and of the extensions the
    patterns name). ``*.py``, ``[a-z]*``, ``**/`` or ``*/**/*.js`` match at least half the
    probes of a kind: nothing anchors them to a directory or a file name. ``scripts/**``,
    ``*_test.py`` or ``*.test.js`` match none.
    """
    match = PathPatterns(patterns).match_file
    named = {m.group(1) for m in map(_LITERAL_EXTENSION.search, patterns) if m}
    extra = tuple(_probes(f"{stem}.{ext}" for stem in _PROBE_STEMS)
                  for ext in sorted(named - set(_PROBE_EXTENSIONS)))
    for probes in (*extra, *_KINDS):
        needed = (len(probes) + 1) // 2
        misses_allowed = len(probes) - needed
        hits = misses = 0
        for probe in probes:
            if match(probe):
                hits += 1
                if hits >= needed:
                    return True
            else:
                misses += 1
                if misses > misses_allowed:
                    break
    return False


__all__ = ["PathPatterns", "compile_patterns", "too_broad"]

