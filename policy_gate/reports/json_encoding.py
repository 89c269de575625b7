"""JSON written as text straight from the findings, for the two reports that hold thousands
of them (the JSON report and SARIF): building a dict per finding only to encode it costs
more than the budget for a whole report.

``JsonText`` encodes every distinct string once (messages, rules, decision steps and paths
repeat across thousands of findings) and writes a scanner's raw result (``Source``) the
one way both reports list it. What it writes is ASCII (other characters as ``\\u``
escapes) and is what ``json.dumps`` writes for the same value; tests/test_report_writers.py
holds each report's findings equal to the dicts they stand for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from policy_gate.findings import Confidence, Severity, Source

dumps = json.JSONEncoder(separators=(",", ":")).encode  # compact and ASCII-only
encode_str = json.encoder.encode_basestring_ascii  # what dumps writes for a str
_SEVERITY = {s: dumps(s.label) for s in Severity}
_CONFIDENCE = {c: dumps(c.label) for c in Confidence}
_LITERALS = {True: "true", False: "false", None: "null"}


def grade(value: Severity | Confidence | None) -> str:
    """``value.label`` (or None) as JSON; the labels are written once, at import."""
    if type(value) is Severity:
        return _SEVERITY[value]
    if type(value) is Confidence:
        return _CONFIDENCE[value]
    return "null" if value is None else dumps(value.label)


def flag(value: object) -> str:
    """True, False or None as JSON (anything else as ``dumps`` writes it)."""
    if value is True or value is False or value is None:
        return _LITERALS[value]
    return dumps(value)


def number(value: object) -> str:
    """An int (a line, an index) as JSON, without the encoder's call for the common case."""
    return int.__repr__(value) if type(value) is int else dumps(value)


class JsonText:
    """Remembers the JSON of every string and string array it wrote: a report writes each
    distinct one once however many findings carry it.

    ``clean`` is applied to a string before it is encoded and ``encode`` writes what is not
    a string: SARIF makes lone surrogates U+FFFD (they cannot be written as UTF-8), the
    JSON report writes them as escapes."""

    def __init__(
        self,
        clean: Callable[[str], str] | None = None,
        encode: Callable[[Any], str] = dumps,
    ) -> None:
        # str -> its JSON; only str keys are added, so 1 never finds True's entry
        self.strings: dict[object, str] = {None: "null"}
        self.arrays: dict[tuple[str, ...], str] = {}
        self._clean = clean
        self._encode = encode

    def string(self, value: object) -> str:
        """A string (anything else too) as JSON; each distinct string is encoded once."""
        try:
            return self.strings[value]
        except (KeyError, TypeError):
            pass
        if type(value) is str:
            text = value if self._clean is None else self._clean(value)
            out = self.strings[value] = encode_str(text)
            return out
        return self._encode(value)

    def array(self, values: tuple[str, ...]) -> str:
        """A tuple of strings as a JSON array; each distinct tuple is written once."""
        try:
            return self.arrays[values]
        except KeyError:
            out = self.arrays[values] = "[" + ",".join(map(self.string, values)) + "]"
            return out

    def sources_array(self, sources: tuple[Source, ...], rule_key: str) -> str:
        """The scanners' raw results behind a finding as a JSON array, as both reports list
        them; ``rule_key`` is what each report calls a rule id (``rule_id``, ``ruleId``)."""
        string = self.string
        key = f'"{rule_key}":'
        listed = ",".join(
            f'{{"scanner":{string(s.scanner)},{key}{string(s.rule_id)}'
            f',"severity":{grade(s.severity)},"confidence":{grade(s.confidence)}'
            f',"message":{string(s.message)}}}'
            for s in sources
        )
        return f"[{listed}]"
