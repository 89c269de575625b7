"""Time the dependency audit of large lockfiles against a full offline advisory database.

    python benchmarks/audit_bench.py [--packages 2500] [--pip-audit]

1. npm: a package-lock.json v3 of N packages (a tree: each package depends on two
   others), audited by the ``osv`` scanner in-process against the PyPA database plus one
   synthetic npm OSV record per package (SEMVER ranges; every third package affected,
   with GHSA/CVE alias pairs for every tenth), so the database is full-size and every
   package is matched against real range logic.
2. PyPI: a poetry.lock of >= N packages: every package in the shared PyPA database
   pinned at a version it lists as affected, topped up with the most-downloaded PyPI
   names (from the workplace's package list), matched in-process against the PyPA
   database (the same matching the OSV server answers pip-audit with); with
   ``--pip-audit``, also the whole pip-audit scanner through the runner.

Prints load, parse and match times. Needs the shared PyPA snapshot.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from common import ADVISORIES as PYPA
from common import REPO

sys.path.insert(0, str(REPO))  # the gate of this checkout, installed or not

from policy_gate.advisories.database import AdvisoryIndex
from policy_gate.base.fileset import walk
from policy_gate.catalogue import ScannerSettings
from policy_gate.dependencies.npm import parse_lockfile
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.osv import OSVScanner

PYPI_LIST = Path("/work/.library/env/packages/pypi.tsv")


def npm_tree(n: int, rng: random.Random) -> dict[str, object]:
    names = [f"pkg-{i:05d}" for i in range(n)]
    versions = {name: f"{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
                for name in names}
    packages: dict[str, object] = {
        "": {"name": "bench", "version": "1.0.0",
             "dependencies": {names[i]: versions[names[i]] for i in range(10)}},
    }
    for i, name in enumerate(names):
        deps = {names[j]: versions[names[j]] for j in (2 * i + 1, 2 * i + 2) if j < n}
        packages[f"node_modules/{name}"] = {"version": versions[name], "license": "MIT",
                                            "dependencies": deps}
    return {"name": "bench", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": packages}


def npm_records(lock: dict[str, object]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    packages = lock["packages"]
    assert isinstance(packages, dict)
    for i, (location, entry) in enumerate(sorted(packages.items())):
        if not location:
            continue
        name = location.removeprefix("node_modules/")
        major = int(entry["version"].split(".")[0])
        affected = i % 3 == 0
        # affected: [major.0.0, major.99.0); not affected: the next major's range
        low, fixed = (f"{major}.0.0", f"{major}.99.0") if affected else (
            f"{major + 1}.0.0-rc.1", f"{major + 1}.5.0")
        record: dict[str, object] = {
            "id": f"GHSA-{i:04d}-bench-xxxx", "modified": "2024-10-01T00:00:00Z",
            "summary": f"synthetic advisory for {name}",
            "aliases": [f"CVE-2099-{i:05d}"] if i % 10 == 0 else [],
            "severity": [{"type": "CVSS_V3",
                          "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "npm", "name": name}, "ranges": [
                {"type": "SEMVER", "events": [{"introduced": low},
                                              {"fixed": fixed}]}]}],
        }
        records.append(record)
        if i % 10 == 0:  # the CVE record of the same flaw: merged into one finding
            records.append({**record, "id": f"CVE-2099-{i:05d}", "aliases": []})
    return records


def bench_npm(n: int, work: Path) -> None:
    rng = random.Random(42)
    lock = npm_tree(n, rng)
    repo = work / "npm-repo"
    repo.mkdir()
    (repo / "package-lock.json").write_text(json.dumps(lock, indent=2))
    db_dir = work / "npm-db"
    db_dir.mkdir()
    for record in npm_records(lock):
        (db_dir / f"{record['id']}.json").write_text(json.dumps(record))
    started = time.perf_counter()
    index = AdvisoryIndex.load(PYPA)
    pypa_load = time.perf_counter() - started
    for path in sorted(db_dir.iterdir()):  # the PyPA records plus the npm ones
        index.add(json.loads(path.read_text()), path.name)
    t0 = time.perf_counter()
    packages = parse_lockfile(repo, "package-lock.json")
    t1 = time.perf_counter()
    ctx = ScanContext(fileset=walk(repo), settings=ScannerSettings(), advisory_db=index)
    out = OSVScanner().scan(ctx)
    t2 = time.perf_counter()
    print(f"npm: {len(packages)} packages in package-lock.json; database "
          f"{len(index.records)} records (PyPA load {pypa_load:.2f}s)")
    print(f"  parse lockfile (graph + BFS paths): {t1 - t0:.3f}s")
    print(f"  osv scanner end to end (parse + match + merge + fix): {t2 - t1:.3f}s -> "
          f"{len(out.findings)} findings")


def pypi_pins(n: int) -> list[tuple[str, str]]:
    import yaml

    pins: dict[str, str] = {}
    for pkg_dir in sorted(PYPA.iterdir()):
        for path in sorted(pkg_dir.glob("*.yaml")):
            record = yaml.safe_load(path.read_text())
            listed = [str(v) for a in record.get("affected", []) for v in a.get("versions", [])]
            if listed:
                pins[pkg_dir.name] = listed[0]
                break
    ranked = []
    for line in PYPI_LIST.read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) > 3 and cols[3].isdigit():
            ranked.append((int(cols[3]), cols[0], cols[1]))
    for _rank, name, version in sorted(ranked):
        if len(pins) >= n:
            break
        pins.setdefault(name, version)
    return sorted(pins.items())


def bench_pypi(n: int, work: Path, run_pip_audit: bool) -> None:
    pins = pypi_pins(n)
    started = time.perf_counter()
    index = AdvisoryIndex.load(PYPA)
    load = time.perf_counter() - started
    t0 = time.perf_counter()
    hits = sum(len(index.advisories("PyPI", name, version)) for name, version in pins)
    t1 = time.perf_counter()
    print(f"PyPI: {len(pins)} pinned packages; PyPA database {len(index.records)} records, "
          f"loaded in {load:.2f}s")
    print(f"  in-process matching: {t1 - t0:.3f}s -> {hits} advisories")
    if run_pip_audit:
        from policy_gate.policy.loader import load_policy
        from policy_gate.runner import scan

        repo = work / "py-repo"
        repo.mkdir()
        (repo / "poetry.lock").write_text("".join(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\noptional = false\n\n'
            for name, version in pins))
        policy = load_policy(str(REPO / "tests" / "policies" / "offline-snapshot.yaml"))
        t2 = time.perf_counter()
        result = scan(repo, policy, only=["pip-audit"], advisories=str(PYPA))
        t3 = time.perf_counter()
        run = next(r for r in result.runs if r.name == "pip-audit")
        print(f"  pip-audit scanner via the runner (DB load + local OSV server): "
              f"{t3 - t2:.1f}s, status {run.status}, {len(run.findings)} findings "
              f"{run.reason}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=2500)
    parser.add_argument("--pip-audit", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_npm(args.packages, Path(tmp))
        bench_pypi(args.packages, Path(tmp), args.pip_audit)


if __name__ == "__main__":
    main()
