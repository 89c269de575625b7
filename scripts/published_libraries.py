"""Build policy_gate/base/published-libraries.txt: the SHA-256 of the JavaScript files of
browser libraries projects commonly vendor, as published on npm.

The gate leaves a file out of code analysis as ``published-library`` only when its bytes
are those of a file in this table (docs/generated-content.md): a vendored, unmodified copy
of a released library is the dependency audit's business, not the repository's code. The
table ships with the gate; nothing in a scanned tree can extend it.

Every tarball is checked against the registry's ``dist.integrity`` (sha512; sha1
``dist.shasum`` only for releases older than integrity hashes) before a byte of it is read.
Only JavaScript files of at least MIN_BYTES are listed (smaller files cost nothing to
scan), and not the minified ones (``minified-javascript`` recognises those).

    python scripts/published_libraries.py            # rewrite the table
    python scripts/published_libraries.py --check    # exit 1 if the table is out of date

To add a library or a release, edit LIBRARIES, run the script and review the diff.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import io
import json
import sys
import tarfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import semver

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from policy_gate.base.generated import (  # noqa: E402
    PUBLISHED_SUFFIXES,
    PUBLISHED_TABLE,
    PUBLISHED_TABLE_HEADER,
    canonical_javascript,
    is_minified,
)

TABLE = REPO / "policy_gate" / "base" / PUBLISHED_TABLE
REGISTRY = "https://registry.npmjs.org/"
MIN_BYTES = 8 * 1024
MAX_TARBALL = 64 * 1024 * 1024
Select = Callable[[semver.Version], bool]


@dataclass(frozen=True)
class Library:
    """An npm package, which of its releases to list, and which of its files (globs on
    the path inside the package) projects copy into their trees."""

    name: str
    versions: Select
    paths: tuple[str, ...]


def _majors(*majors: int, also: tuple[str, ...] = ()) -> Select:
    return lambda v: v.major in majors or str(v) in also


def _since(low: str) -> Select:
    return lambda v: v >= semver.Version.parse(low)


LIBRARIES = (
    # jquery: every 3.x, and the last releases of the 1.x and 2.x lines that are still
    # vendored (1.11/1.12, 2.1/2.2; Django shipped 2.1.4 and 2.2.3 before 3.x).
    Library("jquery", lambda v: v.major == 3 or (v.major, v.minor) in {
        (1, 11), (1, 12), (2, 1), (2, 2)}, ("dist/*",)),
    Library("jquery-migrate", _majors(1, 3), ("dist/*",)),
    Library("jquery-ui", _since("1.12.0"), ("dist/*", "ui/*.js", "ui/widgets/*")),
    Library("select2", _majors(4), ("dist/js/*",)),
    Library("xregexp", _majors(2, 3, 4, 5), ("*",)),
    Library("bootstrap", _since("3.3.0"), ("dist/js/*", "js/dist/*")),
    Library("popper.js", _majors(1), ("dist/*",)),
    Library("@popperjs/core", _majors(2), ("dist/umd/*", "dist/cjs/*")),
    Library("moment", _since("2.18.0"), ("moment.js", "min/moment-with-locales.js")),
    Library("lodash", _since("4.17.0"), ("lodash.js", "core.js")),
    Library("underscore", _since("1.8.0"), ("underscore.js", "underscore-umd.js",
                                            "underscore-esm.js")),
    Library("d3", _majors(3, 4, 5, 6, 7), ("d3.js", "dist/d3.js")),
    Library("chart.js", _majors(2, 3, 4), ("dist/Chart.js", "dist/chart.js",
                                           "dist/chart.umd.js", "dist/Chart.bundle.js")),
    Library("vue", _majors(2), ("dist/vue.js", "dist/vue.runtime.js")),
    Library("htmx.org", _majors(1, 2), ("dist/htmx.js",)),
    Library("datatables.net", _majors(1, 2), ("js/*",)),
)


def fetch(url: str, limit: int) -> bytes:
    """The body at ``url`` (the registry only), at most ``limit`` bytes."""
    if not url.startswith(REGISTRY):
        raise SystemExit(f"refusing to fetch {url}: not the npm registry")
    req = urllib.request.Request(url, headers={  # noqa: S310 - https, registry only
        "Accept": "application/vnd.npm.install-v1+json"})
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - as above
        data: bytes = resp.read(limit + 1)
    if len(data) > limit:
        raise SystemExit(f"{url}: larger than {limit} bytes")
    return data


def releases(lib: Library) -> list[tuple[str, dict[str, str]]]:
    """(version, dist) of the releases of ``lib`` to list, oldest first."""
    doc = json.loads(fetch(REGISTRY + urllib.parse.quote(lib.name, safe="@"), MAX_TARBALL))
    out = []
    for text, meta in doc["versions"].items():
        try:
            version = semver.Version.parse(text)
        except ValueError:
            continue
        if not version.prerelease and not version.build and lib.versions(version):
            out.append((version, meta["dist"]))
    return [(str(v), dist) for v, dist in sorted(out, key=lambda item: item[0])]


def verified(data: bytes, dist: dict[str, str], what: str) -> bytes:
    """``data`` if it is the tarball the registry vouches for, else stop."""
    integrity = dist.get("integrity", "")
    for item in integrity.split():
        algo, _, digest = item.partition("-")
        if algo == "sha512":
            if base64.b64decode(digest) != hashlib.sha512(data).digest():
                raise SystemExit(f"{what}: tarball does not match dist.integrity")
            return data
    shasum = dist.get("shasum", "")
    # Releases published before npm recorded sha512 have only a SHA-1 shasum: a check
    # against corruption (the registry is reached over https), not a security boundary.
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    if not shasum or sha1 != shasum:
        raise SystemExit(f"{what}: tarball does not match dist.shasum")
    return data


def files(lib: Library, version: str, dist: dict[str, str]) -> Iterator[tuple[str, bytes]]:
    """(path inside the package, bytes) of the files of one release the table lists."""
    what = f"{lib.name}@{version}"
    data = verified(fetch(dist["tarball"], MAX_TARBALL), dist, what)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or member.size < MIN_BYTES:
                continue
            path = member.name.split("/", 1)[-1]  # "package/…" (some old ones differ)
            if not path.lower().endswith(PUBLISHED_SUFFIXES) or any(c.isspace() for c in path):
                continue
            if not any(fnmatch.fnmatchcase(path, pat) for pat in lib.paths):
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            content = extracted.read()
            if not is_minified(content):
                yield path, content


def build() -> list[str]:
    """The table's lines: ``sha256 size package@version path`` of each file's canonical
    form (line ends normalised, as the gate hashes it), one per distinct file (the oldest
    release that published it), sorted."""
    jobs = [(lib, version, dist) for lib in LIBRARIES for version, dist in releases(lib)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda job: list(files(*job)), jobs))
    seen: dict[str, str] = {}
    for (lib, version, _), found in zip(jobs, results, strict=True):
        for path, content in found:
            text = canonical_javascript(content)
            digest = hashlib.sha256(text).hexdigest()
            seen.setdefault(digest, f"{digest} {len(text)} {lib.name}@{version} {path}")
    return sorted(seen.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed table instead of writing it")
    args = parser.parse_args()
    text = PUBLISHED_TABLE_HEADER + "".join(line + "\n" for line in build())
    if args.check:
        same = TABLE.read_text("utf-8") == text
        print("up to date" if same else f"{TABLE} is out of date: run {Path(__file__).name}")
        return 0 if same else 1
    TABLE.write_text(text, "utf-8")
    entries = text.count("\n") - PUBLISHED_TABLE_HEADER.count("\n")
    print(f"{TABLE.relative_to(REPO)}: {entries} files, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
