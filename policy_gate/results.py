"""What a scan produced, as every layer above the scanners reads it: each scanner's
output and run, the merged result, the advisory data the audits used and the inline
suppression comments found. The runner builds these; the policy, the reports and the
compliance assessment only read them, so none of them imports the runner."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from policy_gate.base.fileset import FileSet
from policy_gate.base.gitdiff import ChangeSet
from policy_gate.catalogue import AUDIT_ECOSYSTEMS, BANDIT, SECRET_ENGINES, SEMGREP
from policy_gate.findings import Finding
from policy_gate.packages import NPM, PYPI, Package

# How a scanner's run ended, as every report names it (the JSON report's schema lists these);
# a run is "running" only until the runner records how it ended.
ScannerStatus = Literal["ok", "failed", "skipped", "disabled"]

# Diff mode's search of every commit of the change for secrets: a run of its own.
HISTORY = "secrets-history"

# Inline suppression comments, by the tool whose syntax they use.
NOSEC = "nosec"
NOSEMGREP = "nosemgrep"
ALLOWLIST = "allowlist"
# The scanners whose results each kind of comment can name: `nosec` bandit's, `nosemgrep`
# semgrep's, the allowlist pragma every secret engine's (the catalogue says which).
SCANNERS_OF: Mapping[str, tuple[str, ...]] = {
    NOSEC: (BANDIT.name,), NOSEMGREP: (SEMGREP.name,), ALLOWLIST: SECRET_ENGINES,
}
# The ecosystems the audits read (pip-audit: PyPI, osv: npm): every report names them,
# with their record counts, even when the data has none.
AUDITED_ECOSYSTEMS = tuple(AUDIT_ECOSYSTEMS.values())


@dataclass
class ScanOutput:
    """What a scanner produced: findings, and how many raw results the tool reported
    (the two are compared in every report: nothing may be lost)."""

    findings: list[Finding]
    version: str
    raw_results: int
    files_scanned: int
    notes: list[str] = field(default_factory=list)
    # Packages the scanner audited or checked (dependency scanners), for the SBOM.
    inventory: list[Package] = field(default_factory=list)
    # Why the scanner ran but could not check everything it should (no coverage report;
    # Python licences not looked up): its controls are "not checked" in the compliance
    # report, never a silent pass.
    not_checked: str = ""
    # What it examined, by kind, and how many ({"npm packages": 40}); empty means
    # `files_scanned` files of the kind its catalogue entry names (`ScannerInfo.examines`).
    # Nothing examined is "not checked" in the compliance report, never a pass.
    examined: dict[str, int] = field(default_factory=dict)
    # Targets it did not read (binary, too large, unreadable: each is reported as a finding
    # or a note), so `files_scanned` can be told file by file (the results cache needs it).
    unread: tuple[str, ...] = ()
    # Facts about single files ("binary files not scanned for secrets"): shown as one note
    # per kind with a count, and kept per file so cached and fresh files add up.
    file_notes: dict[str, str] = field(default_factory=dict)


# How the compliance evidence names an ecosystem's packages.
PACKAGE_WORDS: Mapping[str, str] = {NPM: "npm packages", PYPI: "Python packages"}


def packages_examined(packages: Iterable[Package]) -> dict[str, int]:
    """Distinct name@version per ecosystem, as ``ScanOutput.examined`` counts them; every
    ecosystem the gate reads is named, with 0 when none of its packages was found."""
    seen = {(p.ecosystem, p.name, p.version) for p in packages}
    counts = Counter(ecosystem for ecosystem, _, _ in seen)
    words = {**PACKAGE_WORDS, **{e: f"{e} packages" for e in counts if e not in PACKAGE_WORDS}}
    return {word: counts.get(ecosystem, 0) for ecosystem, word in words.items()}


@dataclass
class CacheUse:
    """How a scanner's answer was obtained, for every report (the JSON `cache` field)."""

    files_from_cache: int = 0
    files_scanned: int = 0
    run_from_cache: bool = False
    # Entries that were there but failed authentication (another key, damaged, forged).
    rejected: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_from_cache": self.files_from_cache,
            "files_scanned": self.files_scanned,
            "run_from_cache": self.run_from_cache,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class ScannerOutcome:
    """What the runner says about one scanner, for the verdict."""

    name: str
    status: str  # "ok", "failed", "skipped" (optional and failed), "disabled"
    reason: str = ""


@dataclass
class ScannerRun:
    name: str
    status: ScannerStatus | Literal["running"]  # "skipped": optional, and could not run
    reason: str = ""
    version: str = ""
    seconds: float = 0.0
    output: ScanOutput | None = None
    # How the answer was obtained when a results cache was given (None: no cache, or the
    # scanner always runs).
    cache: CacheUse | None = None

    @property
    def outcome(self) -> ScannerOutcome:
        return ScannerOutcome(self.name, self.status, self.reason)

    @property
    def findings(self) -> list[Finding]:
        return self.output.findings if self.output else []


@dataclass(frozen=True, slots=True)
class EcosystemInfo:
    """What the data holds for one ecosystem: an audit of that ecosystem is only as good
    as this (a database with no npm records answers "no known vulnerabilities" to every
    npm package)."""

    records: int = 0  # records (not withdrawn) that affect a package of the ecosystem
    newest: datetime | None = None  # the newest 'modified' among them (withdrawn too), UTC

    def age_days(self, now: datetime | None = None) -> float | None:
        if self.newest is None:
            return None
        return ((now or datetime.now(UTC)) - self.newest).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """What every report states about the data an audit used (M4a)."""

    source: str
    records: int
    withdrawn: int
    newest: datetime | None  # the newest 'modified' timestamp, UTC
    ecosystems: Mapping[str, EcosystemInfo] = field(default_factory=dict)

    def age_days(self, now: datetime | None = None) -> float | None:
        if self.newest is None:
            return None
        now = now or datetime.now(UTC)
        return (now - self.newest).total_seconds() / 86400

    def ecosystem(self, name: str) -> EcosystemInfo:
        return self.ecosystems.get(name) or EcosystemInfo()

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        age = self.age_days(now)
        shown = sorted(set(self.ecosystems) | set(AUDITED_ECOSYSTEMS))
        return {
            "source": self.source,
            "records": self.records,
            "withdrawn": self.withdrawn,
            "newest": _stamp(self.newest),
            "age_days": round(age, 2) if age is not None else None,
            "ecosystems": {
                name: {
                    "records": (eco := self.ecosystem(name)).records,
                    "newest": _stamp(eco.newest),
                    "age_days": round(a, 2) if (a := eco.age_days(now)) is not None else None,
                }
                for name in shown
            },
        }

    def summary(self, now: datetime | None = None) -> str:
        age = self.age_days(now)
        newest = self.newest.strftime("%Y-%m-%d") if self.newest else "unknown"
        days = f"{int(age)} days old" if age is not None else "age unknown"
        per = []
        for name in AUDITED_ECOSYSTEMS:
            eco = self.ecosystem(name)
            when = f", newest {eco.newest:%Y-%m-%d}" if eco.newest and eco.records else ""
            per.append(f"{name} {eco.records} record{'' if eco.records == 1 else 's'}{when}")
        others = len(set(self.ecosystems) - set(AUDITED_ECOSYSTEMS))
        if others:
            per.append(f"{others} other ecosystem{'' if others == 1 else 's'}")
        return (f"advisory database {self.source}: {self.records} records, newest "
                f"{newest} ({days}); {'; '.join(per)}")

    def to_json(self) -> dict[str, Any]:
        """Everything, for the results cache (which must not lose the per-ecosystem data
        the coverage check needs): read back with :meth:`from_json`."""
        return {
            "source": self.source,
            "records": self.records,
            "withdrawn": self.withdrawn,
            "newest": self.newest.isoformat() if self.newest else None,
            "ecosystems": {
                name: [eco.records, eco.newest.isoformat() if eco.newest else None]
                for name, eco in sorted(self.ecosystems.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatabaseInfo:
        """The inverse of :meth:`to_json`; KeyError, TypeError or ValueError when ``data``
        is not what it wrote (an entry of an older version lacks 'ecosystems')."""
        ecosystems = {
            str(name): EcosystemInfo(int(count), _from_iso(newest))
            for name, (count, newest) in data["ecosystems"].items()
        }
        return cls(
            source=str(data["source"]),
            records=int(data["records"]),
            withdrawn=int(data["withdrawn"]),
            newest=_from_iso(data["newest"]),
            ecosystems=ecosystems,
        )


def _stamp(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _from_iso(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not a timestamp")
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Suppression:
    """One inline suppression comment. ``text`` and ``reason`` hold only what follows the
    marker: the code before it may be the very secret the comment is about."""

    path: str  # root-relative POSIX path
    line: int  # 1-based line of the comment
    kind: str  # NOSEC | NOSEMGREP | ALLOWLIST
    rules: tuple[str, ...]  # rule ids as written; () = every rule of the tool
    reason: str  # free text after the ids ('' if none), printable, capped
    applies_to: int  # the line it silences
    text: str  # the comment from its marker onward, printable, capped
    # SHA-1s of the values on its line outside the comment (and not in it): a secret found
    # on the line with one of these hashes is the code's, so the comment's text may be
    # shown; any other secret there may be in the comment (policy.withheld). Hashes only,
    # as every report already shows a secret's; never rendered.
    code_values: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def bare(self) -> bool:
        """Silences every rule of its tool on the line (the pragma has no per-rule form,
        so it is never called bare)."""
        return not self.rules and self.kind in (NOSEC, NOSEMGREP)

    @property
    def scanners(self) -> tuple[str, ...]:
        """The scanners whose results it can silence."""
        return SCANNERS_OF[self.kind]


@dataclass
class ScanResult:
    root: Path
    fileset: FileSet
    runs: list[ScannerRun]
    findings: list[Finding]  # merged
    started: float
    seconds: float
    osv_url: str | None = None
    advisories: str | None = None
    notes: list[str] = field(default_factory=list)
    # The offline advisory data the audits used (source, records, newest, age), if any.
    advisory_info: DatabaseInfo | None = None
    # True when the offline database was not read: the tree has nothing to audit.
    advisories_unread: bool = False
    # Inline suppression comments in the files the file-local scanners read.
    suppressions: list[Suppression] = field(default_factory=list)
    # Diff mode: what the change touched (None on a full scan).
    changes: ChangeSet | None = None
    # Diff mode: the files given to the file-local scanners (SAST, secrets).
    changed_files: tuple[str, ...] = ()
