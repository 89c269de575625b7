"""Issue 19's scale target for `policy-gate aggregate`: 200 reports of 5,000 findings each in
under 10 s and under 1 GiB on 2 cores, with an HTML page that stays small.

The reports are made from a real one: the gate's JSON report of examples/vulnerable-service
(run here), whose findings are repeated with new fingerprints, places, advisories (a pool of
300, so some hit many repositories) and waivers (a pool of owners and expiry dates) until each
report holds --findings findings. The floor it is compared with: reading and parsing the same
files with `json.loads` in one process, nothing else.

    python benchmarks/aggregate_bench.py [--reports 200] [--findings 5000] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, log, measure, wait_for_idle, write_readme_section

BEGIN, END = "<!-- aggregate-bench:begin -->", "<!-- aggregate-bench:end -->"
OWNERS = ["payments-team", "ledger-team", "security", "platform", "api-team"]


def real_report(work: Path) -> dict[str, object]:
    out = work / "seed.json"
    m = measure([sys.executable, "-m", "policy_gate", "scan",
                 str(REPO / "examples" / "vulnerable-service"),
                 "--policy", str(REPO / "examples" / "policy.yaml"),
                 "--advisories", str(REPO / "examples" / "advisories"),
                 "--format", "json", "--output", str(out), "-q"])
    if m.returncode not in (0, 1):
        raise RuntimeError(f"the seed scan exited {m.returncode}: {m.stderr[-800:]}")
    doc: dict[str, object] = json.loads(out.read_text("utf-8"))
    return doc


def synthesise(seed: dict[str, object], index: int, findings: int, rng: random.Random,
               ) -> str:
    findings_of_seed = seed["findings"]
    assert isinstance(findings_of_seed, list)
    # One finding in ten is a vulnerable dependency, one in fifty is waived.
    base = [f for f in findings_of_seed if not f.get("dependency")]
    dep = next(f for f in findings_of_seed if f.get("dependency"))
    waiver = {"id": "", "file": ".policy-gate/waivers.yaml", "line": 1, "owner": "",
              "expires": "", "reason": "risk accepted until the upgrade lands", "kind": "id"}
    out = []
    for i in range(findings):
        f = dict(base[i % len(base)] if i % 10 else dep)
        f["fingerprint"] = f"{index:08x}{i:024x}"
        f["path"] = f"src/module_{i % 400}/file_{i % 37}.js"
        f["start_line"] = f["end_line"] = 1 + i % 900
        if f.get("dependency"):
            adv = rng.randrange(300)
            f["dependency"] = {**f["dependency"], "advisory": f"GHSA-bench-{adv:04d}",
                               "package": f"pkg-{adv % 120}", "fix_version": f"{adv % 9}.0.1"}
        if i % 50 == 0:
            f["status"] = "waived"
            f["waiver"] = {**waiver, "id": f"w-{index}-{i % 400}",
                           "owner": OWNERS[(index + i) % len(OWNERS)],
                           "expires": f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}"}
        out.append(json.dumps(f, separators=(",", ":")))
    parts = ["{"]  # the gate's own layout (reports/json_report.py render)
    for key, value in seed.items():
        if key == "findings":
            continue
        if isinstance(value, list) and value:
            body = ",\n    ".join(json.dumps(v, separators=(",", ":")) for v in value)
            parts.append(f"\n  {json.dumps(key)}: [\n    {body}\n  ],")
        else:
            parts.append(f"\n  {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))},")
    return "".join(parts) + '\n  "findings": [\n    ' + ",\n    ".join(out) + "\n  ]\n}\n"


def screenshot(page: Path, png: Path) -> None:
    """The page as a browser draws it (Debian's chromium; flags that keep it off the
    network), to look at: the matrix must stay readable with hundreds of rows."""
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        proc = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--window-size=1400,2400",
             f"--screenshot={png}", page.as_uri()],
            capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium failed: {proc.stderr[-800:]}")
    log(f"screenshot {png} in {time.perf_counter() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--write", action="store_true", help="write the results into README.md")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="also render the HTML page in headless Chromium into PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aggregate-bench-") as tmp:
        work = Path(tmp)
        seed = real_report(work)
        rng = random.Random(19)
        reports = work / "reports"
        total = 0
        for n in range(args.reports):
            folder = reports / f"org-{n % 7}" / f"service-{n:03d}"
            folder.mkdir(parents=True)
            text = synthesise(seed, n, args.findings, rng)
            total += len(text)
            (folder / "policy-gate.json").write_text(text, "utf-8")
        log(f"{args.reports} reports, {total / 2**20:.0f} MiB of JSON")
        wait_for_idle(20)
        started = time.perf_counter()
        for file in sorted(reports.rglob("*.json")):
            json.loads(file.read_bytes())
        floor = time.perf_counter() - started
        out = work / "out"
        out.mkdir()
        m = measure([sys.executable, "-m", "policy_gate", "aggregate", str(reports),
                     "--json", str(out / "org.json"), "--markdown", str(out / "org.md"),
                     "--html", str(out / "org.html"), "--as-of", "2026-12-07"])
        if m.returncode != 0:
            raise RuntimeError(f"aggregate exited {m.returncode}: {m.stderr[-800:]}")
        html = (out / "org.html").stat().st_size
        table = (
            "| reports x findings | JSON read | aggregate wall | CPU | peak RSS (tree) | "
            "vs json.loads alone | HTML page |\n|---|---:|---:|---:|---:|---:|---:|\n"
            f"| {args.reports} x {args.findings} | {total / 2**20:.0f} MiB | {m.seconds:.2f} s "
            f"| {m.cpu_seconds:.2f} s | {m.tree_rss_kb / 1024:.0f} MiB | "
            f"{m.seconds / floor:.2f}x ({floor:.2f} s, one process) | {html / 1024:.0f} KiB |\n")
        print(table)
        if args.screenshot:
            screenshot(out / "org.html", args.screenshot)
        if args.write:
            write_readme_section(BEGIN, END, "Aggregate over many reports (issue 19, "
                                 "aggregate_bench.py)", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
