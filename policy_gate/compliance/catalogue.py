"""The catalogue of controls (Mojaloop facts, PCI DSS requirements, GDPR articles) and the
mapping from each control to the checks that cover it.

The mapping has two sources, merged: the catalogue's own list (``catalogue.yaml``, package
data) and the policy — each category's and rule's ``sources`` and the ``mojaloop`` /
``pci-dss`` metadata of the semgrep rules. The policy half is what lets a security lead
change the evidence by editing ``sources``; the catalogue half keeps controls the policy
does not cite (or cites under another name) covered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.resolver import Resolver

from policy_gate.catalogue import BANDIT
from policy_gate.policy.model import Policy

FRAMEWORKS: tuple[str, ...] = ("mojaloop", "pci-dss", "gdpr")
CHECK_KINDS: tuple[str, ...] = ("category", "rule", "scanner", "feature")

# Where a check's link to a control came from, in the order reports list them.
CATALOGUE = "catalogue"
POLICY = "policy"
RULE_METADATA = "rule metadata"


# The C loader (libyaml) parses the gate's own YAML (the catalogue and ~110 kB of semgrep
# rules) several times faster than the pure-Python one; both build the same data.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogueError(ValueError):
    """The catalogue is malformed: a packaging or editing mistake, never scanned input."""


@dataclass(frozen=True)
class Check:
    """Something that produces evidence: ``kind:name`` as written in the catalogue."""

    kind: str  # category | rule | scanner | feature
    name: str  # "sast", "bandit:B501", "pip-audit", "sbom"

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Check:
        kind, sep, name = text.partition(":")
        if not sep or kind not in CHECK_KINDS or not name.strip():
            raise CatalogueError(f"check {text!r} is not kind:name (kinds: {CHECK_KINDS})")
        if kind == "rule" and ":" not in name:
            raise CatalogueError(f"rule check {text!r} must be rule:<scanner>:<rule id>")
        return cls(kind, name.strip())


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    reference: str


@dataclass(frozen=True)
class Control:
    id: str  # canonical: "M11", "PCI DSS 6.2.4", "GDPR Art. 32"
    framework: str
    title: str
    requirement: str
    source: str
    checks: tuple[Check, ...] = ()
    manual: str = ""  # what automated evidence cannot show
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    frameworks: Mapping[str, Framework]
    features: Mapping[str, Feature]
    controls: tuple[Control, ...]

    def control(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.id == control_id), None)


_MOJALOOP = re.compile(r"^m(\d+)([a-z]?)$")
_PCI = re.compile(
    r"^(?:pci(?:[\s-]*dss)?)?\s*(?:v?4(?:\.0(?:\.1)?)?\s+)?(?:req(?:uirement)?\.?\s*)?"
    r"(\d{1,2}(?:\.\d{1,2}){1,3})$"
)
_GDPR = re.compile(r"^gdpr\s*(?:art(?:icle)?\.?\s*)?(\d{1,3})(?:\s*\(.*\))?$")


def canonical(source: str, *, pci: bool = False) -> str | None:
    """The catalogue id a citation means ("pci-dss 6.2.4" -> "PCI DSS 6.2.4"), or None.

    Policies are written by hand, so spelling varies; a bare number counts as PCI DSS only
    where the context says so (the ``pci-dss`` metadata key)."""
    text = " ".join(source.strip().lower().split())
    m = _MOJALOOP.match(text)
    if m:
        return f"M{m.group(1)}{m.group(2)}"
    if text.startswith("gdpr"):
        g = _GDPR.match(text)
        return f"GDPR Art. {g.group(1)}" if g else None
    if text.startswith("pci") or pci:
        p = _PCI.match(text)
        return f"PCI DSS {p.group(1)}" if p else None
    return None


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise CatalogueError(f"{where}: `{key}` must be a non-empty string")
    return " ".join(value.split())


def parse_catalogue(doc: Any) -> Catalogue:
    """Validate and build a catalogue from its YAML document."""
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise CatalogueError("catalogue must be a mapping with `version: 1`")
    frameworks = {
        fid: Framework(fid, _text(f, "title", fid), _text(f, "reference", fid))
        for fid, f in (doc.get("frameworks") or {}).items()
    }
    if set(frameworks) != set(FRAMEWORKS):
        raise CatalogueError(f"frameworks must be exactly {FRAMEWORKS}")
    features: dict[str, Feature] = {}
    for fid, f in (doc.get("features") or {}).items():
        params = {k: v for k, v in f.items() if k not in ("title", "description")}
        features[fid] = Feature(
            fid, _text(f, "title", fid), _text(f, "description", fid), params
        )
    controls: list[Control] = []
    for entry in doc.get("controls") or []:
        cid = _text(entry, "id", "control")
        if canonical(cid) != cid:
            raise CatalogueError(f"control id {cid!r} is not canonical ({canonical(cid)!r})")
        framework = _text(entry, "framework", cid)
        if framework not in frameworks:
            raise CatalogueError(f"{cid}: unknown framework {framework!r}")
        checks = tuple(Check.parse(str(c)) for c in entry.get("checks") or [])
        for check in checks:
            if check.kind == "feature" and check.name not in features:
                raise CatalogueError(f"{cid}: unknown feature {check.name!r}")
        manual = _text(entry, "manual", cid, required=False)
        if not checks and not manual:
            raise CatalogueError(f"{cid}: a control with no check must say what `manual` needs")
        controls.append(Control(
            id=cid,
            framework=framework,
            title=_text(entry, "title", cid),
            requirement=_text(entry, "requirement", cid),
            source=_text(entry, "source", cid),
            checks=checks,
            manual=manual,
            related=tuple(str(r) for r in entry.get("related") or []),
        ))
    ids = [c.id for c in controls]
    if len(set(ids)) != len(ids):
        raise CatalogueError("duplicate control ids")
    for c in controls:
        for r in c.related:
            if r not in ids:
                raise CatalogueError(f"{c.id}: related control {r!r} is not in the catalogue")
    return Catalogue(frameworks, features, tuple(controls))


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the gate (trusted package data, parsed once)."""
    text = resources.files("policy_gate.compliance").joinpath("catalogue.yaml").read_text("utf-8")
    return parse_catalogue(yaml.load(text, Loader=_Loader))  # noqa: S506 - a safe loader


@cache
def semgrep_rule_metadata() -> dict[str, dict[str, Any]]:
    """rule id -> metadata of the gate's own semgrep rules (package data)."""
    from policy_gate.catalogue import SEMGREP_RULES_DIR as RULES_DIR

    out: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(RULES_DIR).glob("*.yaml")):
        text = path.read_text("utf-8")
        pairs = _ids_and_metadata(text)
        if pairs is None:  # not the plain shape the event reader follows: load it all
            doc = yaml.load(text, Loader=_Loader) or {}  # noqa: S506 - a safe loader
            pairs = [(rule.get("id"), rule.get("metadata"))
                     for rule in doc.get("rules") or [] if isinstance(rule, dict)]
        for rule_id, meta in pairs:
            if isinstance(rule_id, str):
                out[rule_id] = meta if isinstance(meta, dict) else {}
    return out


class _Unfollowed(Exception):
    """The YAML uses something :func:`_ids_and_metadata` leaves to the full loader."""


class _Replay(Composer, SafeConstructor, Resolver):
    """``yaml.SafeLoader`` reading recorded parser events instead of a stream."""

    def __init__(self, events: list[Event]) -> None:
        self._events = events[::-1]
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def check_event(self, *choices: type[Event]) -> bool:
        return bool(self._events) and (not choices or isinstance(self._events[-1], choices))

    def peek_event(self) -> Event:
        return self._events[-1]

    def get_event(self) -> Event:
        return self._events.pop()


_NULL = ScalarEvent(None, None, (True, False), "~")  # stands for a missing `id`, `metadata`
_TAGGED = (ScalarEvent, CollectionStartEvent)


def _ids_and_metadata(text: str) -> list[tuple[Any, Any]] | None:
    """(id, metadata) of each rule of a semgrep rules file, as ``yaml.safe_load`` gives
    them; None when the file is not a plain ``rules:`` list of mappings (the caller then
    loads it whole).

    Only each rule's ``id`` and ``metadata`` are built, by the safe loader's own composer
    and constructor from the parser's events; the patterns, most of the file, are skipped.
    That is faster and allocates a fraction of the objects a full load does (at 10,000
    findings, a full load was enough to set off a full garbage collection mid-report).
    Anchors, aliases and tags, which would make the skipped parts matter, and anything
    else unexpected, are left to the full load."""
    try:
        rules = _rule_events(_Events(text))
        if rules is None:
            return None
        pairs = _Replay(_replayed(rules)).get_single_data()
    except (_Unfollowed, StopIteration, yaml.YAMLError):
        return None
    return [(rule_id, metadata) for rule_id, metadata in pairs]


class _Events:
    """The parser's events of one YAML text, read a node at a time. Raises
    :class:`_Unfollowed` at an anchor, an alias, a tag or a merge key: each would make the
    parts :func:`_ids_and_metadata` skips matter."""

    def __init__(self, text: str) -> None:
        self._events = iter(yaml.parse(text, Loader=_Loader))

    def take(self) -> Event:
        """The next event (StopIteration at the end of the text)."""
        return next(self._events)

    def node(self, event: Event, keep: list[Event] | None) -> None:
        """Read the node ``event`` starts, keeping its events or not."""
        depth = 0
        while True:
            if isinstance(event, AliasEvent) or (
                isinstance(event, NodeEvent) and event.anchor is not None
            ) or (isinstance(event, _TAGGED) and event.tag is not None):
                raise _Unfollowed
            if keep is not None:
                keep.append(event)
            if isinstance(event, CollectionStartEvent):
                depth += 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            if depth == 0:
                return
            event = self.take()

    def key(self, event: Event) -> str:
        """A mapping key: only a plain string (no merge key ``<<``)."""
        self.node(event, None)
        if not isinstance(event, ScalarEvent) or (event.value == "<<" and event.implicit[0]):
            raise _Unfollowed
        return event.value

    def mapping(self, start: Event) -> Iterator[tuple[str, Event]]:
        """(key, first event of the value) of each entry; the caller reads the value."""
        if not isinstance(start, MappingStartEvent) or start.anchor or start.tag:
            raise _Unfollowed
        while not isinstance(event := self.take(), MappingEndEvent):
            yield self.key(event), self.take()


_RuleEvents = tuple[list[Event], list[Event]]  # the events of one rule's id, its metadata


def _rule_events(events: _Events) -> list[_RuleEvents] | None:
    """The id and metadata events of each rule; None when the text is not one document,
    a mapping whose ``rules`` is a plain sequence. Other keys and items that are not
    mappings (not rules) are read past."""
    if not isinstance(events.take(), StreamStartEvent) or not isinstance(
        events.take(), DocumentStartEvent
    ):
        return None
    rules: list[_RuleEvents] = []
    for name, value in events.mapping(events.take()):
        if name != "rules":
            events.node(value, None)
            continue
        if not isinstance(value, SequenceStartEvent) or value.anchor or value.tag:
            return None
        rules = []  # a repeated key: the last one counts
        while not isinstance(item := events.take(), SequenceEndEvent):
            if isinstance(item, MappingStartEvent):
                rules.append(_id_and_metadata_events(events, item))
            else:
                events.node(item, None)  # not a rule
    if not isinstance(events.take(), DocumentEndEvent) or not isinstance(
        events.take(), StreamEndEvent
    ):
        return None  # more than one document
    return rules


def _id_and_metadata_events(events: _Events, start: Event) -> _RuleEvents:
    """One rule's ``id`` and ``metadata`` events, the rest of the rule read past; a
    missing one stands as null, as ``rule.get()`` on the full load gives."""
    found: dict[str, list[Event]] = {}
    for name, first in events.mapping(start):
        if name in ("id", "metadata"):
            found[name] = []
            events.node(first, found[name])
        else:
            events.node(first, None)
    return found.get("id") or [_NULL], found.get("metadata") or [_NULL]


def _replayed(rules: list[_RuleEvents]) -> list[Event]:
    """One document for the safe loader to build: a list of [id, metadata] pairs, from
    the kept events, so each value is what ``yaml.safe_load`` would have made of it."""
    replay: list[Event] = [StreamStartEvent(), DocumentStartEvent(),
                           SequenceStartEvent(None, None, True)]
    for id_events, metadata_events in rules:
        replay += [SequenceStartEvent(None, None, True), *id_events, *metadata_events,
                   SequenceEndEvent()]
    replay += [SequenceEndEvent(), DocumentEndEvent(), StreamEndEvent()]
    return replay


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return []


@dataclass(frozen=True)
class ControlMap:
    """control id -> check key -> where the link came from; and the policy's citations the
    catalogue does not know (shown in the report, never silently dropped)."""

    checks: Mapping[str, Mapping[str, tuple[str, ...]]]
    unknown: Mapping[str, tuple[str, ...]]  # citation as written -> where it is cited
    cwe: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule check -> CWEs

    def controls_of(self, check_key: str) -> set[str]:
        return {cid for cid, checks in self.checks.items() if check_key in checks}


def build_map(
    policy: Policy,
    catalogue: Catalogue | None = None,
    rule_metadata: Mapping[str, Mapping[str, Any]] | None = None,
) -> ControlMap:
    """Merge the catalogue's checks with the policy's and the semgrep rules' citations."""
    cat = catalogue or load_catalogue()
    meta = semgrep_rule_metadata() if rule_metadata is None else rule_metadata
    out: dict[str, dict[str, list[str]]] = {c.id: {} for c in cat.controls}
    unknown: dict[str, list[str]] = {}

    def link(citation: str, check: str, origin: str, where: str, pci: bool = False) -> None:
        cid = canonical(citation, pci=pci)
        if cid is None or cid not in out:
            shown = unknown.setdefault(cid or citation, [])
            if where not in shown:
                shown.append(where)
            return
        origins = out[cid].setdefault(check, [])
        if origin not in origins:
            origins.append(origin)

    for control in cat.controls:
        for check in control.checks:
            out[control.id].setdefault(check.key, []).append(CATALOGUE)
    for name, category in policy.categories.items():
        for source in category.sources:
            link(source, f"category:{name}", POLICY, f"category {name}")
    rule_policies = list(policy.rules.values())
    for override in policy.overrides:
        rule_policies += list(override.rules.values())
    for rule in rule_policies:
        for source in rule.sources:
            link(source, f"rule:{rule.key}", POLICY, f"rule {rule.key}")
    cwe: dict[str, tuple[str, ...]] = {}
    for rule_id, m in sorted(meta.items()):
        key = f"rule:semgrep:{rule_id}"
        for source in _as_list(m.get("mojaloop")):
            link(source, key, RULE_METADATA, f"semgrep rule {rule_id}")
        for source in _as_list(m.get("pci-dss")):
            link(source, key, RULE_METADATA, f"semgrep rule {rule_id}", pci=True)
        for source in _as_list(m.get("gdpr")):
            link(source if source.lower().startswith("gdpr") else f"GDPR {source}", key,
                 RULE_METADATA, f"semgrep rule {rule_id}")
        cwes = tuple(c.split(":", 1)[0].strip() for c in _as_list(m.get("cwe")))
        if cwes:
            cwe[key] = cwes
    # bandit's own CWEs come with each result; where they are less specific, the scanner
    # catalogue's correction is what its findings carry, so the evidence names it too.
    for test, corrected in BANDIT.cwe_corrections.items():
        cwe[f"rule:bandit:{test}"] = (corrected,)
    return ControlMap(
        checks={cid: {k: tuple(v) for k, v in checks.items()} for cid, checks in out.items()},
        unknown={k: tuple(v) for k, v in unknown.items()},
        cwe=cwe,
    )


def controls_for_rule(cmap: ControlMap, rule_key: str, categories: Iterable[str]) -> set[str]:
    """The controls a policy rule setting bears on: its own links plus those of the
    categories its scanner reports (a rule only re-grades findings of those categories)."""
    found = cmap.controls_of(f"rule:{rule_key}")
    for category in categories:
        found |= cmap.controls_of(f"category:{category}")
    return found
