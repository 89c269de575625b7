"""SPDX licence expressions: parsing (with the ``license-expression`` library) and judging
an expression against a licence policy's allow and deny lists.

Semantics (docs/dependencies.md, "Licences"):

* A licence id is *acceptable* when it is on ``allow`` and not on ``deny`` (deny wins when
  an id is on both lists). Ids compare case-insensitively, after the library's own
  normalisation (``GPL-3.0`` and ``GPL-3.0-only`` are one id; ``mit`` is ``MIT``).
* ``A OR B`` passes when any branch passes: the user of the package may elect that
  branch, so ``(MIT OR GPL-3.0-only)`` passes (M6a's ``(MIT OR Apache-2.0)`` rule). A
  denied id can never be the elected branch, but it does not spoil an OR that another,
  acceptable branch satisfies.
* ``A AND B`` passes when every part passes.
* ``A WITH exception`` is judged by its base licence ``A``.
* An expression that fails is *denied* when an id that makes it fail is on ``deny``,
  else *not allowed*.
* A string that is not valid SPDX is corrected only by curated data, never guessed: the
  whole string, else each operand between ``(``, ``)``, ``OR``, ``AND`` and ``WITH``, is
  looked up in LicenseLynx's reviewed map of licence names to SPDX ids (its "stable"
  map only: ``Apache 2.0``, ``Apache2``, ``MIT License``, ``The MIT License``,
  ``BSD 3-Clause`` …); the result must then parse as SPDX. What is still not SPDX is
  *unknown*: ambiguous names such as ``BSD`` or ``GPL`` (which BSD? which GPL?), a
  missing licence, ``NOASSERTION``/``NONE`` and npm's ``SEE LICENSE IN <file>`` (a
  custom licence only a person can read). npm's ``UNLICENSED`` ("no rights granted") is
  not an SPDX id either, but it is a clear statement rather than missing data: it is
  *not allowed*.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)
from licenselynx.licenselynx import LicenseLynx

ALLOWED = "allowed"
NOT_ALLOWED = "not-allowed"
DENIED = "denied"
UNKNOWN = "unknown"

NPM_UNLICENSED = "UNLICENSED"
_NO_ASSERTION = frozenset({"NOASSERTION", "NONE"})
_CUSTOM_PREFIXES = ("licenseref-", "documentref-")


@functools.lru_cache(maxsize=1)
def licensing() -> Licensing:
    """The SPDX licence list as the library ships it (loaded once: it is not small)."""
    return get_spdx_licensing()


@dataclass(frozen=True, slots=True)
class Parsed:
    """A declared licence string, parsed: ``expression`` is the normalised SPDX
    expression, or None with ``reason`` saying why the string is not one."""

    declared: str | None
    expression: str | None
    reason: str = ""
    tree: Any = None  # the library's expression object


@functools.lru_cache(maxsize=4096)
def parse(declared: str | None) -> Parsed:
    """Parse a declared licence string into a normalised SPDX expression."""
    if declared is None or not declared.strip():
        return Parsed(declared, None, "no licence is declared")
    text = declared.strip()
    if text.upper() in _NO_ASSERTION:
        return Parsed(declared, None, f"the licence is declared as '{text}'")
    if text.upper().startswith("SEE LICENSE IN"):
        return Parsed(declared, None, f"the licence is only given as '{text}'")
    if text == NPM_UNLICENSED:
        return Parsed(declared, NPM_UNLICENSED)
    strict = _strict(declared, text)
    if strict.expression is not None or strict.reason == _NOTHING:
        return strict
    corrected = _corrected(text)
    if corrected is not None and corrected != text:
        again = _strict(declared, corrected)
        if again.expression is not None:
            return again
    return strict


_NOTHING = "no licence is declared"
# What separates the operands of an expression, as SPDX and npm's spdx-correct read it.
_OPERATORS = re.compile(r"(\(|\)|\s+(?:OR|AND|WITH)\s+)", re.IGNORECASE)
MAX_DECLARED_CHARS = 400  # a licence field longer than this is a licence text, not a name


def _corrected(text: str) -> str | None:
    """The SPDX expression a non-SPDX licence string stands for, by LicenseLynx's curated
    map (the whole string, else operand by operand), or None."""
    if len(text) > MAX_DECLARED_CHARS:
        return None
    whole = _mapped(text.strip("() \t"))
    if whole is not None:
        return whole
    out: list[str] = []
    for token in _OPERATORS.split(text):
        if not token.strip():
            continue
        if _OPERATORS.fullmatch(token):
            out.append(token.strip().upper() if token.strip() not in "()" else token.strip())
            continue
        operand = token.strip()
        known = _known_id(operand) or _mapped(operand)
        if known is None:
            return None
        out.append(known)
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _known_id(operand: str) -> str | None:
    """A single SPDX id (or LicenseRef) as written, normalised by the library."""
    parsed = _strict(operand, operand)
    if parsed.expression is not None and isinstance(parsed.tree, LicenseSymbol):
        return parsed.expression
    return None


def _mapped(name: str) -> str | None:
    """The SPDX id LicenseLynx's reviewed ("stable") map gives a licence name, if any."""
    try:
        found = LicenseLynx.map(name)
    except Exception:  # a library fault is no licence, never a crash of the check
        return None
    if found is None or not found.is_spdx_identifier():
        return None
    return str(found.id)


def _strict(declared: str | None, text: str) -> Parsed:
    """``text`` parsed as SPDX as it stands."""
    spdx = licensing()
    try:
        tree = spdx.parse(text, validate=False)
    except ExpressionError as exc:
        return Parsed(declared, None, f"'{text}' is not a valid SPDX expression ({exc})")
    except Exception as exc:  # the library raises assorted errors on odd input
        return Parsed(declared, None, f"'{text}' is not a valid SPDX expression ({exc})")
    if tree is None:
        return Parsed(declared, None, _NOTHING)
    unknown = [
        k for k in spdx.unknown_license_keys(tree) if not k.lower().startswith(_CUSTOM_PREFIXES)
    ]
    if unknown:
        return Parsed(
            declared,
            None,
            f"'{text}' is not a valid SPDX expression (unknown id(s): {', '.join(unknown)})",
        )
    for node in _with_nodes(tree):
        if not node.exception_symbol.is_exception and not _custom(node.exception_symbol.key):
            return Parsed(
                declared,
                None,
                f"'{text}' is not a valid SPDX expression "
                f"('{node.exception_symbol.key}' is not a licence exception)",
            )
    return Parsed(declared, str(tree.render()), tree=tree)


def normalise_id(value: str) -> str:
    """A policy's licence id as the library spells it, lower-cased for comparison."""
    parsed = parse(value)
    if parsed.tree is not None and isinstance(parsed.tree, LicenseSymbol):
        return str(parsed.tree.key).lower()
    return value.strip().lower()


@dataclass(frozen=True, slots=True)
class Judgement:
    status: str  # ALLOWED | NOT_ALLOWED | DENIED | UNKNOWN
    expression: str | None  # normalised SPDX expression (None when unknown)
    blocking: tuple[str, ...] = ()  # ids that make it fail (not allowed, or denied)
    denied: tuple[str, ...] = ()  # those of them on the deny list
    reason: str = ""  # why it is unknown

    @property
    def passes(self) -> bool:
        return self.status == ALLOWED


class Judge:
    """Judges licence strings against one policy's allow and deny lists."""

    def __init__(self, allow: Iterable[str], deny: Iterable[str]) -> None:
        self.deny = frozenset(normalise_id(d) for d in deny)
        self.allow = frozenset(normalise_id(a) for a in allow) - self.deny

    def judge(self, declared: str | None) -> Judgement:
        parsed = parse(declared)
        if parsed.expression is None:
            return Judgement(UNKNOWN, None, reason=parsed.reason)
        if parsed.tree is None:  # UNLICENSED
            blocking: list[str] = [parsed.expression]
        else:
            ok, blocking = self._satisfiable(parsed.tree)
            if ok:
                return Judgement(ALLOWED, parsed.expression)
        unique = tuple(dict.fromkeys(blocking))
        denied = tuple(b for b in unique if b.lower() in self.deny)
        return Judgement(DENIED if denied else NOT_ALLOWED, parsed.expression, unique, denied)

    def _satisfiable(self, node: Any) -> tuple[bool, list[str]]:
        """(passes, the ids that make it fail)."""
        spdx = licensing()
        if isinstance(node, LicenseWithExceptionSymbol):
            return self._satisfiable(node.license_symbol)
        if isinstance(node, LicenseSymbol):
            key = str(node.key)
            return key.lower() in self.allow, [] if key.lower() in self.allow else [key]
        parts = [self._satisfiable(arg) for arg in node.args]
        if isinstance(node, spdx.OR):
            if any(ok for ok, _ in parts):
                return True, []
            return False, [b for _, blocking in parts for b in blocking]
        if isinstance(node, spdx.AND):
            failing = [b for ok, blocking in parts if not ok for b in blocking]
            return not failing, failing
        raise TypeError(f"unexpected licence expression node {type(node).__name__}")


def _with_nodes(tree: Any) -> list[Any]:
    if isinstance(tree, LicenseWithExceptionSymbol):
        return [tree]
    if isinstance(tree, LicenseSymbol):
        return []
    return [n for arg in getattr(tree, "args", ()) for n in _with_nodes(arg)]


def _custom(key: object) -> bool:
    return str(key).lower().startswith(_CUSTOM_PREFIXES)
