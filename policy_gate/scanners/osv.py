"""osv: known vulnerabilities in the npm packages a repository's lockfiles install.

Lockfiles (package-lock.json v1-v3, npm-shrinkwrap.json, yarn.lock) are parsed as data by
:mod:`policy_gate.dependencies.npm`; nothing is installed or run. Every installed package,
direct or transitive, is matched against OSV advisories:

- offline, against the advisory database the runner loaded (``ScanContext.advisory_db``);
- else online, ``POST {osv_url}/v1/querybatch`` then ``GET {osv_url}/v1/vulns/{id}`` for
  each advisory found (osv.dev unless the policy or ``--osv-url`` names a mirror). When
  the service cannot be reached the scan fails closed, naming the cause (M4a: STOP when
  vulnerability data is unavailable).

One finding per (package instance in a lockfile, flaw), aliases merged. What npm would
install from but this scanner cannot read (a lockfile that is a symbolic link or of another
package manager, a package.json with dependencies and no lockfile, a lockfile that does
not parse) is a ``manifest-not-audited`` finding, graded high: never a silent pass. The
runner has already refused advisory data without (fresh) npm records.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from policy_gate import __version__
from policy_gate.advisories.database import (
    Advisory,
    AdvisoryIndex,
    fix_version,
)
from policy_gate.base.fileset import FileSet
from policy_gate.base.process import ScannerError
from policy_gate.catalogue import OSV
from policy_gate.dependencies.npm import (
    LockfileError,
    declared_dependencies,
    find_lockfiles,
    find_manifests,
    lockless_manifests,
    manifest_path,
    parse_lockfile,
    unauditable,
)
from policy_gate.findings import (
    Finding,
)
from policy_gate.packages import NPM, Package
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext, Scanner
from policy_gate.scanners.vulnerability import (
    PUBLIC_OSV_API,
    network_cause,
    not_audited,
    osv_unreachable,
    vulnerable_package,
)

PUBLIC_API = PUBLIC_OSV_API
UNPARSEABLE_FIX = ("Make it a file npm itself can read (regenerate it with npm or yarn); "
                   "until then nothing it installs is audited.")
BATCH = 1000  # osv.dev's limit per querybatch
HTTP_TIMEOUT = 30.0


class OSVScanner(Scanner):
    info = OSV
    executable = ""  # runs in-process: no tool to execute

    def version(self, ctx: ScanContext) -> str:
        return __version__

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        """The lockfiles, and what it finds but cannot audit (each reported as such)."""
        return find_manifests(fileset)

    def cache_files(self, ctx: ScanContext) -> tuple[str, ...]:
        """The lockfiles and the package.json beside each (it says which packages are
        direct, and which for development only)."""
        lockfiles = self.targets(ctx.fileset)
        return (*lockfiles, *(manifest_path(rel) for rel in lockfiles))

    def scan(self, ctx: ScanContext) -> ScanOutput:
        if not self.targets(ctx.fileset):
            return ScanOutput([], self.version(ctx), 0, 0)
        lockfiles = find_lockfiles(ctx.fileset)
        findings = self._unaudited(ctx)
        inventory: list[Package] = []
        for rel in lockfiles:
            try:
                inventory += parse_lockfile(ctx.root, rel)
            except LockfileError as exc:
                findings.append(not_audited(self.name, exc.path, exc.reason, exc.line,
                                            fix=UNPARSEABLE_FIX))
        distinct = sorted({(p.name, p.version) for p in inventory})
        ctx.progress(
            self.name, f"matching {len(distinct)} npm packages from {len(lockfiles)} lockfiles"
        )
        if ctx.advisory_db is not None:
            db, source = ctx.advisory_db, f"offline database {ctx.advisory_db.source}"
            found = {(n, v): db.advisories(NPM, n, v) for n, v in distinct}
        else:
            base = api_base(ctx.osv_url)
            db, found = query_api(self.name, base, distinct, ctx.settings.timeout)
            source = f"OSV API {base}"
        fixes = {(n, v): fix_version(NPM, n, v, advs, db) for (n, v), advs in found.items() if advs}
        vulnerable = [
            vulnerability_finding(self.name, pkg, adv, fixes[(pkg.name, pkg.version)])
            for pkg in inventory
            for adv in found.get((pkg.name, pkg.version), ())
        ]
        findings += vulnerable
        notes = [
            f"{len(inventory)} packages ({len(distinct)} distinct name@version) in "
            f"{len(lockfiles)} lockfiles matched against the {source}: "
            f"{len(vulnerable)} findings"
        ]
        return ScanOutput(
            findings, self.version(ctx), len(findings), len(lockfiles), notes, inventory=inventory,
            examined={"npm packages": len(distinct)},
        )

    def _unaudited(self, ctx: ScanContext) -> list[Finding]:
        """What npm would install from but this audit cannot read: a lockfile that is a
        link or another package manager's, a package.json that declares dependencies with
        no lockfile to pin them (one that cannot be read says so too)."""
        findings = [not_audited(self.name, rel, reason, fix=fix)
                    for rel, reason, fix in unauditable(ctx.fileset)]
        for rel in lockless_manifests(ctx.fileset):
            try:
                count = declared_dependencies(ctx.root, rel)
            except LockfileError as exc:
                findings.append(not_audited(self.name, exc.path, exc.reason, exc.line,
                                            fix=UNPARSEABLE_FIX))
                continue
            if count:
                findings.append(not_audited(
                    self.name, rel,
                    f"it declares {count} dependencies, and no lockfile in its directory or "
                    "above pins the versions npm installs for them",
                    fix="Commit the package-lock.json npm writes (`npm install "
                        "--package-lock-only`), or npm-shrinkwrap.json / yarn.lock."))
        return findings


def api_base(osv_url: str | None) -> str:
    """``https://host/v1/query`` (pip-audit's form) or ``https://host`` -> ``https://host``."""
    url = (osv_url or PUBLIC_API).rstrip("/")
    for suffix in ("/v1/querybatch", "/v1/query", "/v1"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def _request(scanner: str, url: str, payload: object | None, timeout: float) -> Any:
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by api_base users
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json", "User-Agent": f"policy-gate/{__version__}"},
    )
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ScannerError(scanner, f"the OSV URL must be http(s): {url}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ScannerError(
            scanner, osv_unreachable(url, f"it answered HTTP {exc.code}", "the npm packages")
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = str(getattr(exc, "reason", exc))
        why = network_cause(reason) or reason
        raise ScannerError(scanner, osv_unreachable(url, why, "the npm packages")) from None
    except ValueError as exc:
        raise ScannerError(scanner, f"the OSV API at {url} answered non-JSON ({exc})") from None


def query_api(
    scanner: str, base: str, packages: Sequence[tuple[str, str]], timeout: float
) -> tuple[AdvisoryIndex, dict[tuple[str, str], list[Advisory]]]:
    """querybatch for ids, then each record in full; merged as the offline path does."""
    deadline = time.monotonic() + timeout
    hits: dict[tuple[str, str], list[str]] = {}
    for start in range(0, len(packages), BATCH):
        chunk = packages[start : start + BATCH]
        answer = _request(
            scanner,
            f"{base}/v1/querybatch",
            {
                "queries": [
                    {"package": {"name": n, "ecosystem": NPM}, "version": v} for n, v in chunk
                ]
            },
            _left(scanner, deadline),
        )
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(chunk):
            raise ScannerError(
                scanner, "the OSV API's querybatch answer does not have one result per query"
            )
        for pkg, result in zip(chunk, results, strict=True):
            if isinstance(result, dict) and result.get("next_page_token"):
                raise ScannerError(
                    scanner,
                    f"the OSV API paged its answer for {pkg[0]}@{pkg[1]}; paging is not supported",
                )
            vulns = result.get("vulns") if isinstance(result, dict) else None
            hits[pkg] = [str(v["id"]) for v in vulns or [] if isinstance(v, dict) and "id" in v]
    index = AdvisoryIndex(source=base)
    for vuln_id in sorted({i for ids in hits.values() for i in ids}):
        record = _request(
            scanner,
            f"{base}/v1/vulns/{urllib.parse.quote(vuln_id, safe='')}",
            None,
            _left(scanner, deadline),
        )
        if not isinstance(record, dict) or record.get("id") != vuln_id:
            raise ScannerError(scanner, f"the OSV API returned no record for {vuln_id}")
        index.add(record, vuln_id)
    found = {
        pkg: index.merge(NPM, pkg[0], [index.records[i] for i in ids if i in index.records])
        for pkg, ids in hits.items()
    }
    return index, found


def _left(scanner: str, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ScannerError(scanner, "timed out querying the OSV API")
    return min(HTTP_TIMEOUT, left)


def vulnerability_finding(scanner: str, pkg: Package, adv: Advisory, fix: str | None) -> Finding:
    return vulnerable_package(
        scanner,
        pkg,
        advisory=adv.id,
        aliases=adv.aliases,
        fixed=adv.fixed,
        description=adv.description,
        fix=fix,
        severity=adv.severity,
    )
