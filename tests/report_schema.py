"""Validate a JSON report against the schema the package ships (policy_gate/reports/schema/),
compiled once per process: every gate run of the suite (conftest's gate_process) and the
report tests check their reports with it.

    from report_schema import assert_valid_report
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from policy_gate.reports import json_report


@cache
def validator() -> jsonschema.protocols.Validator:
    """The shipped schema, checked against its metaschema and compiled once."""
    schema = json_report.schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def report_errors(doc: Any) -> list[str]:
    """Every place ``doc`` breaks the schema, as `path: message` lines; under a nullable
    object (`anyOf` null or the object) the object's own error, not "not valid under any"."""
    out = []
    for error in sorted(validator().iter_errors(doc), key=lambda e: list(map(str, e.path))):
        leaf = best_match([error])
        out.append(f"{'/'.join(map(str, leaf.absolute_path)) or '(top)'}: {leaf.message}")
    return out


def assert_valid_report(doc: Any) -> None:
    """Fail with every schema error (capped) when ``doc`` is not a valid report."""
    if validator().is_valid(doc):  # the common case: one pass, no error objects
        return
    errors = report_errors(doc)
    raise AssertionError(f"the JSON report breaks its schema ({len(errors)} errors):\n"
                         + "\n".join(errors[:20]))
