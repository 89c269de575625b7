"""The dependency inventory: every package a repository locks or pins, in one type that
the vulnerability audit, the licence check and the SBOM all read."""

from __future__ import annotations

from dataclasses import dataclass

from policy_gate.base.redact import redact_urls

# OSV's ecosystem names, as Package.ecosystem spells them.
PYPI = "PyPI"
NPM = "npm"


@dataclass(frozen=True, slots=True)
class Package:
    """One installed (locked or pinned) package, where a manifest says so."""

    ecosystem: str  # OSV ecosystem name: "npm", "PyPI"
    name: str  # as the ecosystem spells it (npm: "@scope/name"; PyPI: canonical)
    version: str
    manifest: str  # POSIX path of the lockfile/manifest, relative to the scanned root
    line: int | None = None  # where in the manifest, when known
    direct: bool | None = None  # None: the manifest does not say
    dev: bool = False  # only needed to develop or test (npm `dev`; `devOptional` is optional)
    optional: bool = False
    peer: bool = False
    path: tuple[str, ...] = ()  # "name@version" chain from a direct dependency to this one
    license: str | None = None  # as declared (npm lockfiles carry it), not yet validated

    def __post_init__(self) -> None:
        # A git dependency's version is its URL, which may carry a token (lockfile v1:
        # a git+https URL with a token as its user name): masked before any report, the SBOM
        # included, can show it (redact.py).
        for name in ("version", "license"):
            value = getattr(self, name)
            if value and "://" in value:
                object.__setattr__(self, name, redact_urls(value))
        if any("://" in p for p in self.path):
            object.__setattr__(self, "path", tuple(redact_urls(p) for p in self.path))

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def purl(self) -> str:
        """Package URL (https://github.com/package-url/purl-spec)."""
        if self.ecosystem == NPM:
            if self.name.startswith("@") and "/" in self.name:
                scope, bare = self.name.split("/", 1)
                return f"pkg:npm/%40{scope[1:]}/{bare}@{self.version}"
            return f"pkg:npm/{self.name}@{self.version}"
        if self.ecosystem == PYPI:
            return f"pkg:pypi/{self.name}@{self.version}"
        return f"pkg:generic/{self.name}@{self.version}"
