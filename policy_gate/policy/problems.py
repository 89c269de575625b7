"""A problem in a policy, waivers file or baseline, and jsonschema's errors in the words
of the file's author: the file, line and key, what is wrong there (with the unit where
the value has one) and how to fix it — never the schema's own vocabulary ("is a
dependency of", "is not valid under any of the given schemas")."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from policy_gate.base import yamlsafe
from policy_gate.catalogue import SCANNERS

# Rule keys may also name the gate's own checks (e.g. policy-gate:bare-nosec).
RULE_SCANNERS = (*(s.name for s in SCANNERS), "policy-gate")
# Reported per file (and a line saying there are more); the rest are not even looked for.
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: int | None
    where: str  # dotted path of the key, e.g. categories.sast.fail.severity
    message: str
    hint: str = ""

    def __str__(self) -> str:
        loc = self.file
        if self.line:
            loc += f":{self.line}"
            if self.column:
                loc += f":{self.column}"
        where = f" {self.where}:" if self.where else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{loc}:{where} {self.message}{hint}"


class PolicyError(Exception):
    """One or more problems in a policy; the CLI prints each and exits 2."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def shown(problems: list[Problem], name: str) -> list[Problem]:
    """The first MAX_PROBLEMS problems, and a line saying there are more: a file of
    60,000 mistakes is refused at once, not validated and listed for minutes."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [
        *problems[:MAX_PROBLEMS],
        Problem(name, None, None, "", "... and more problems not shown",
                "fix these first, then validate again"),
    ]


def dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path)


# The schema's `pattern`s, described: what a value must look like, and an example.
PATTERN_FORMS: dict[str, tuple[str, str]] = {
    "^https?://": ("an http(s) URL", "e.g. https://osv.internal.example"),
    "^(@[^@/\\s]+/)?[^@\\s]+@[^@\\s]+$": (
        "a package and its version", "write name@version, e.g. left-pad@1.3.0 or @scope/pkg@2.0.0"),
    "^\\d{4}-\\d{2}-\\d{2}$": ("an ISO date", "write YYYY-MM-DD, e.g. 2026-12-31"),
    "^(?!/)(?!.*(^|/)\\.\\.(/|$)).+$": (
        "a path inside the repository", "give it relative to the repository's root, without "
        "a leading / or .."),
    "^(builtin:[a-z0-9-]+|[^\\x00]+\\.ya?ml)$": (
        "a policy", "give a .yaml file (relative to this one) or builtin:mojaloop"),
    "^[^\\x00\\n\\r]+$": ("one line of text", "remove the line break or NUL character"),
}

# The unit of a number, by its key (the last name in its path) or the key above it.
UNITS = {"timeout": "seconds", "rule_timeout": "seconds", "max_file_bytes": "bytes",
         "max_target_bytes": "bytes", "max_days": "days", "warn_before_days": "days",
         "max_age_days": "days", "budgets": "findings", "total": "percent",
         "per_file": "percent", "allowed_ports": ""}

_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text (a string)",
               "number": "a number", "integer": "a whole number", "boolean": "true or false",
               "null": "nothing"}


def unit_of(path: Sequence[str | int]) -> str:
    """'seconds', 'bytes', 'days', 'findings', 'percent' or '' for a number at ``path``."""
    names = [p for p in path if isinstance(p, str)]
    for name in reversed(names[-2:]):
        if name in UNITS:
            return UNITS[name]
    return ""


def type_name(value: object) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "nothing (null)",
    }.get(type(value), type(value).__name__)


def shown_value(value: object, unit: str = "") -> str:
    """A value as the author wrote it, short, with its unit."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = text if len(text) <= 60 else text[:57] + "…"
    return f"{text} {unit}" if unit and isinstance(value, (int, float)) else text


def did_you_mean(value: object, allowed: Sequence[object]) -> str:
    """'did you mean 'high'? ' when ``value`` is a near miss of one allowed value."""
    words = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(value), words, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def schema_problem(
    name: str, located: yamlsafe.Located, err: jsonschema.ValidationError
) -> Problem:
    """A schema error in words a policy's author can act on: the key it is about, what is
    wrong there and what is allowed, instead of jsonschema's view of the schema."""
    path = tuple(err.absolute_path)
    sub: Any = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        return _unknown_key_problem(name, located, err, path, sub)
    if err.validator == "propertyNames" or "propertyNames" in err.absolute_schema_path:
        return _rule_key_problem(name, located, err, path)
    line, col = located.where(path)
    message, hint = _value_words(err, path, sub)
    return Problem(name, line, col, dotted(path), message, hint)


def _unknown_key_problem(
    name: str,
    located: yamlsafe.Located,
    err: jsonschema.ValidationError,
    path: tuple[str | int, ...],
    sub: Any,
) -> Problem:
    """A key the schema does not know, located at the key itself, with the near miss and
    the keys allowed there (the usual typo)."""
    allowed = sorted(sub.get("properties", {}))
    extras = [k for k in _any(err.instance) if k not in allowed]
    key = extras[0] if extras else ""
    line, col = located.where((*path, key))
    return Problem(name, line, col, dotted((*path, key)), f"unknown key '{key}'",
                   f"{did_you_mean(key, allowed)}allowed here: {', '.join(allowed)}")


def _rule_key_problem(
    name: str,
    located: yamlsafe.Located,
    err: jsonschema.ValidationError,
    path: tuple[str | int, ...],
) -> Problem:
    """A key of ``rules`` (or an override's) that is not ``scanner:rule-id``, or names a
    scanner there is none of."""
    bad = err.instance
    line, col = located.where((*path, str(bad)) if isinstance(bad, str) else path)
    where = dotted((*path, str(bad)))
    scanner = str(bad).split(":", 1)[0]
    if ":" in str(bad) and scanner not in RULE_SCANNERS:
        return Problem(name, line, col, where, f"unknown scanner '{scanner}'",
                       f"{did_you_mean(scanner, RULE_SCANNERS)}known scanners: "
                       f"{', '.join(RULE_SCANNERS)}")
    return Problem(name, line, col, where, f"'{bad}' is not a rule key",
                   "write it as scanner:rule-id, e.g. bandit:B101")


def _value_words(
    err: jsonschema.ValidationError, path: tuple[str | int, ...], sub: Any
) -> tuple[str, str]:
    """(what is wrong, how to fix it) for a value, by the kind of rule it breaks."""
    value, unit = err.instance, unit_of(path)
    validator, limit = str(err.validator), _any(err.validator_value)
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _range_words(value, unit, sub)
    words: dict[str, tuple[str, str]] = {
        "enum": (f"{shown_value(value)} is not allowed",
                 f"{did_you_mean(value, sub.get('enum', []))}use one of: "
                 + ", ".join(map(str, sub.get("enum", [])))),
        "const": (f"{shown_value(value)} is not allowed",
                  f"write `{path[-1] if path else 'it'}: {limit}`"),
        "minLength": ("is empty", "write a value, or leave the key out"),
        "maxLength": (f"is {len(str(value))} characters long", f"at most {limit} are allowed"),
        "minItems": ("is empty", f"list at least {limit}"),
        "maxItems": (f"lists {len(value) if isinstance(value, list) else '?'} items",
                     f"at most {limit} are allowed"),
        "uniqueItems": (f"lists {_repeated(value)} more than once", "list each once"),
    }
    if validator in words:
        return words[validator]
    if validator == "type":
        wanted = limit if isinstance(limit, list) else [limit]
        what = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in wanted)
        if unit and set(wanted) <= {"number", "integer"}:
            what += f" of {unit}"
        hint = "quote it" if "string" in wanted else (f"e.g. {path[-1]}: 600" if unit ==
                                                      "seconds" else "")
        return f"expected {what}, got {type_name(value)} ({shown_value(value)})", hint
    if validator == "required":
        missing = next((k for k in limit if isinstance(value, dict) and k not in value), "?")
        return f"missing `{missing}`", f"add `{missing}:` here"
    if validator == "dependentRequired":
        return _dependent_words(value, limit)
    if validator == "pattern":
        form, example = PATTERN_FORMS.get(str(limit), ("of the expected form", ""))
        return f"{shown_value(value)} is not {form}", example
    return _combined_words(err, path, sub)


def _range_words(value: object, unit: str, sub: Any) -> tuple[str, str]:
    """A number out of range, with its unit and the range allowed."""
    low = (f"more than {sub['exclusiveMinimum']}" if "exclusiveMinimum" in sub
           else f"at least {sub['minimum']}" if "minimum" in sub else "")
    high = f"at most {sub['maximum']}" if "maximum" in sub else ""
    allowed = " and ".join(x for x in (low, high) if x)
    too = "large" if "maximum" in sub and isinstance(value, (int, float)) and \
        value > sub["maximum"] else "small"
    return (f"{shown_value(value, unit)} is too {too}",
            f"give {allowed}{' ' + unit if unit else ''}")


def _dependent_words(value: object, limit: Any) -> tuple[str, str]:
    """A key that needs another beside it (a rule's `severity` or `disable` its `reason`)."""
    present = value if isinstance(value, dict) else {}
    for key, needs in (limit or {}).items():
        missing = [n for n in needs if key in present and n not in present]
        if missing:
            example = "why the rule is changed" if missing[0] == "reason" else "…"
            return (f"`{key}` needs `{missing[0]}` beside it",
                    f"add `{missing[0]}: <{example}>`")
    return "a key is missing beside another", ""


def _combined_words(
    err: jsonschema.ValidationError, path: tuple[str | int, ...], sub: Any
) -> tuple[str, str]:
    """anyOf/oneOf (a rule setting; `extends`), and anything else: its description."""
    if err.validator in ("anyOf", "oneOf") and path and path[0] == "rules":
        return "a rule setting needs `disable` or `severity`", "and a `reason` saying why"
    # The branch the value has the shape of (a list, say) says what is wrong with it.
    shaped = [e for e in err.context or () if e.validator not in ("type", "oneOf", "anyOf")]
    if err.validator == "oneOf" and shaped:
        sub_schema: Any = shaped[0].schema if isinstance(shaped[0].schema, dict) else {}
        return _value_words(shaped[0], tuple(shaped[0].absolute_path), sub_schema)
    if err.validator == "oneOf" and path == ("extends",):
        return (f"{shown_value(err.instance)} is not a policy or a list of policies",
                "give a .yaml file (relative to this one) or builtin:mojaloop, or a list "
                "of them")
    description = sub.get("description") if isinstance(sub, dict) else None
    return err.message, str(description or "")


def _repeated(value: object) -> str:
    items = value if isinstance(value, list) else []
    seen: list[object] = []
    for item in items:
        if item in seen:
            return shown_value(item)
        seen.append(item)
    return "an item"


def _any(value: object) -> Any:
    """jsonschema's ``validator_value`` (its type admits an 'unset' marker)."""
    return value
