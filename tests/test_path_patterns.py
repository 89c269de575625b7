"""The fast matcher of gitignore-style patterns agrees with pathspec on every path."""

from __future__ import annotations

import itertools

import pathspec
import pytest

from policy_gate.base.patterns import PathPatterns
from policy_gate.policy.loader import load_policy

PARTS = ("node_modules", "foo", "bar", "abs", "x.min.js", "a.map", "docs", "r.md", "abc",
         "bx", "coverage", "src", "t.pyc", ".venv", "__pycache__", "q")
EXTRA = ["foo/**/bar", "/abs", "*.py[co]", "docs/*.md", "a?c", "[ab]x/", "src/**"]


@pytest.mark.parametrize("negated", [False, True])
def test_agrees_with_pathspec(negated: bool) -> None:
    patterns = [*load_policy("builtin:mojaloop").exclude, *EXTRA]
    if negated:  # not allowed in a policy, but the matcher must still be right
        patterns.append("!foo/bar")
    reference = pathspec.GitIgnoreSpec.from_lines(patterns)
    fast = PathPatterns(patterns)
    checked = 0
    for k in range(1, 4):
        for combo in itertools.product(PARTS, repeat=k):
            path = "/".join(combo)
            for candidate in (path, path + "/"):
                assert fast.match_file(candidate) == bool(reference.match_file(candidate)), (
                    candidate
                )
                checked += 1
    assert checked > 8000


def test_no_patterns_match_nothing() -> None:
    assert not PathPatterns([]).match_file("a/b.py")
