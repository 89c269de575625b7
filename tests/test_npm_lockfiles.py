"""npm lockfile parsing: package-lock v1/v2/v3, yarn.lock v1 and berry, and a real
lockfile npm writes at test time."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from policy_gate.base.fileset import walk
from policy_gate.dependencies.npm import LockfileError, find_lockfiles, parse_lockfile
from policy_gate.packages import Package
from tests.conftest import make_tree

ROOT_MANIFEST = json.dumps({
    "name": "svc", "version": "1.0.0",
    "dependencies": {"express": "^4.17.0", "@scope/lib": "1.0.0"},
    "devDependencies": {"mocha": "10.0.0"},
    "optionalDependencies": {"fsevents": "2.3.2"},
})

# v2: both 'packages' and the legacy 'dependencies' (ignored); v3: 'packages' only.
V3 = {
    "name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
    "packages": {
        "": {"name": "svc", "version": "1.0.0",
             "dependencies": {"express": "^4.17.0", "@scope/lib": "1.0.0"},
             "devDependencies": {"mocha": "10.0.0"},
             "optionalDependencies": {"fsevents": "2.3.2"}},
        "node_modules/express": {"version": "4.17.1", "license": "MIT",
                                 "dependencies": {"qs": "6.7.0", "debug": "2.6.9"}},
        "node_modules/qs": {"version": "6.7.0", "license": "BSD-3-Clause"},
        "node_modules/debug": {"version": "2.6.9", "dependencies": {"ms": "2.0.0"}},
        "node_modules/ms": {"version": "2.0.0"},
        "node_modules/@scope/lib": {"version": "1.0.0", "dependencies": {"qs": "^6.10.0"},
                                    "peerDependencies": {"react": ">=17"}},
        # nested: @scope/lib needs a newer qs than the hoisted one
        "node_modules/@scope/lib/node_modules/qs": {"version": "6.11.0"},
        "node_modules/react": {"version": "18.2.0", "peer": True},
        "node_modules/mocha": {"version": "10.0.0", "dev": True,
                               "dependencies": {"debug": "4.3.4"}},
        "node_modules/mocha/node_modules/debug": {"version": "4.3.4", "dev": True,
                                                  "dependencies": {"ms": "2.1.2"}},
        "node_modules/mocha/node_modules/ms": {"version": "2.1.2", "dev": True},
        "node_modules/fsevents": {"version": "2.3.2", "optional": True},
        "node_modules/chokidar-ish": {"version": "1.0.0", "devOptional": True},
        "node_modules/local-ws": {"resolved": "packages/ws", "link": True},
        "packages/ws": {"name": "local-ws", "version": "0.0.0"},
    },
}


def lock_text(doc: object) -> str:
    return json.dumps(doc, indent=2) + "\n"


def by_ref(packages: list[Package]) -> dict[str, Package]:
    return {f"{p.name}@{p.version}": p for p in packages}


@pytest.mark.parametrize("version", [2, 3])
def test_package_lock_v2_v3(tmp_path: Path, version: int) -> None:
    doc = {**V3, "lockfileVersion": version}
    if version == 2:
        doc["dependencies"] = {"ignored": {"version": "9.9.9"}}
    root = make_tree(tmp_path, {"package-lock.json": lock_text(doc)})
    pkgs = parse_lockfile(root, "package-lock.json")
    refs = by_ref(pkgs)
    # every node_modules entry except the link; the workspace dir is the project's code
    assert len(pkgs) == 12
    assert "ignored@9.9.9" not in refs and "local-ws@0.0.0" not in refs
    assert refs["express@4.17.1"].direct and not refs["express@4.17.1"].dev
    assert refs["express@4.17.1"].license == "MIT"
    assert refs["qs@6.7.0"].path == ("express@4.17.1", "qs@6.7.0")
    assert refs["qs@6.7.0"].direct is False
    assert refs["qs@6.11.0"].path == ("@scope/lib@1.0.0", "qs@6.11.0")
    assert refs["ms@2.0.0"].path == ("express@4.17.1", "debug@2.6.9", "ms@2.0.0")
    assert refs["ms@2.1.2"].path == ("mocha@10.0.0", "debug@4.3.4", "ms@2.1.2")
    assert refs["ms@2.1.2"].dev and refs["mocha@10.0.0"].dev and refs["mocha@10.0.0"].direct
    assert refs["react@18.2.0"].peer
    assert refs["react@18.2.0"].path == ("@scope/lib@1.0.0", "react@18.2.0")
    assert refs["fsevents@2.3.2"].optional and refs["fsevents@2.3.2"].direct
    # devOptional can reach production: optional, not dev
    assert refs["chokidar-ish@1.0.0"].optional and not refs["chokidar-ish@1.0.0"].dev
    # lines point at each entry
    lines = (root / "package-lock.json").read_text().splitlines()
    for p in pkgs:
        assert p.line is not None
        assert lines[p.line - 1].strip().startswith('"node_modules/')
        assert p.manifest == "package-lock.json" and p.ecosystem == "npm"


def test_package_lock_v1_with_package_json(tmp_path: Path) -> None:
    doc = {
        "name": "svc", "version": "1.0.0", "lockfileVersion": 1, "requires": True,
        "dependencies": {
            "express": {"version": "4.17.1", "requires": {"qs": "6.7.0", "debug": "2.6.9"}},
            "qs": {"version": "6.7.0"},
            "debug": {"version": "2.6.9", "requires": {"ms": "2.0.0"}},
            "ms": {"version": "2.0.0"},
            "@scope/lib": {"version": "1.0.0", "requires": {"qs": "^6.10.0"},
                           "dependencies": {"qs": {"version": "6.11.0"}}},
            "mocha": {"version": "10.0.0", "dev": True, "requires": {"debug": "4.3.4"},
                      "dependencies": {
                          "debug": {"version": "4.3.4", "dev": True,
                                    "requires": {"ms": "2.1.2"}},
                          "ms": {"version": "2.1.2", "dev": True}}},
            "fsevents": {"version": "2.3.2", "optional": True},
            "aliased": {"version": "npm:lodash@4.17.20"},
            "local": {"version": "file:../local"},
        },
    }
    root = make_tree(tmp_path, {"package-lock.json": lock_text(doc),
                                "package.json": ROOT_MANIFEST})
    pkgs = parse_lockfile(root, "package-lock.json")
    refs = by_ref(pkgs)
    assert len(pkgs) == 11  # the file: dependency is the project's own code
    assert "lodash@4.17.20" in refs  # an alias is matched under its real name
    assert refs["qs@6.11.0"].path == ("@scope/lib@1.0.0", "qs@6.11.0")
    assert refs["ms@2.1.2"].path == ("mocha@10.0.0", "debug@4.3.4", "ms@2.1.2")
    assert refs["ms@2.1.2"].dev and not refs["ms@2.0.0"].dev
    assert refs["express@4.17.1"].direct and refs["debug@2.6.9"].direct is False
    assert refs["fsevents@2.3.2"].optional
    lines = (root / "package-lock.json").read_text().splitlines()
    assert lines[refs["qs@6.11.0"].line - 1].strip().startswith('"qs": {')  # type: ignore[operator]
    assert refs["qs@6.11.0"].line > refs["@scope/lib@1.0.0"].line  # type: ignore[operator]


def test_package_lock_v1_without_package_json_does_not_guess_direct(tmp_path: Path) -> None:
    doc = {"lockfileVersion": 1, "dependencies": {
        "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}}}}
    root = make_tree(tmp_path, {"package-lock.json": lock_text(doc)})
    refs = by_ref(parse_lockfile(root, "package-lock.json"))
    assert refs["a@1.0.0"].direct is None
    assert refs["b@2.0.0"].path == ("a@1.0.0", "b@2.0.0")  # from the nesting


YARN_V1 = """\
# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@scope/lib@1.0.0":
  version "1.0.0"
  resolved "https://registry.yarnpkg.com/@scope/lib/-/lib-1.0.0.tgz#abc"
  integrity sha512-AAAA
  dependencies:
    qs "^6.10.0"

debug@2.6.9:
  version "2.6.9"
  dependencies:
    ms "2.0.0"

debug@4.3.4:
  version "4.3.4"
  dependencies:
    ms "2.1.2"

express@^4.17.0:
  version "4.17.1"
  dependencies:
    debug "2.6.9"
    qs "6.7.0"

fsevents@2.3.2:
  version "2.3.2"

mocha@10.0.0:
  version "10.0.0"
  dependencies:
    debug "4.3.4"
  optionalDependencies:
    fsevents "2.3.2"

ms@2.0.0:
  version "2.0.0"

ms@2.1.2:
  version "2.1.2"

qs@6.7.0:
  version "6.7.0"

"qs@^6.10.0", qs@^6.11.0:
  version "6.11.0"
"""


def test_yarn_v1(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"yarn.lock": YARN_V1, "package.json": ROOT_MANIFEST})
    pkgs = parse_lockfile(root, "yarn.lock")
    refs = by_ref(pkgs)
    assert len(pkgs) == 10
    assert refs["express@4.17.1"].direct and not refs["express@4.17.1"].dev
    assert refs["qs@6.11.0"].path == ("@scope/lib@1.0.0", "qs@6.11.0")
    assert refs["ms@2.0.0"].path == ("express@4.17.1", "debug@2.6.9", "ms@2.0.0")
    assert refs["ms@2.1.2"].dev and refs["debug@4.3.4"].dev and refs["mocha@10.0.0"].dev
    assert not refs["ms@2.0.0"].dev
    # fsevents is a direct optional dependency (and an optional one of mocha)
    assert refs["fsevents@2.3.2"].optional and not refs["fsevents@2.3.2"].dev
    lines = YARN_V1.splitlines()
    assert lines[refs["qs@6.11.0"].line - 1].startswith('"qs@^6.10.0"')  # type: ignore[operator]


YARN_BERRY = """\
# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 6
  cacheKey: 8

"debug@npm:2.6.9":
  version: 2.6.9
  resolution: "debug@npm:2.6.9"
  dependencies:
    ms: 2.0.0
  languageName: node
  linkType: hard

"express@npm:^4.17.0":
  version: 4.17.1
  resolution: "express@npm:4.17.1"
  dependencies:
    debug: 2.6.9
  languageName: node
  linkType: hard

"ms@npm:2.0.0":
  version: 2.0.0
  resolution: "ms@npm:2.0.0"
  languageName: node
  linkType: hard

"svc@workspace:.":
  version: 0.0.0-use.local
  resolution: "svc@workspace:."
  dependencies:
    express: ^4.17.0
  languageName: unknown
  linkType: soft
"""


def test_yarn_berry(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"yarn.lock": YARN_BERRY})
    refs = by_ref(parse_lockfile(root, "yarn.lock"))
    assert set(refs) == {"debug@2.6.9", "express@4.17.1", "ms@2.0.0"}
    assert refs["express@4.17.1"].direct
    assert refs["ms@2.0.0"].path == ("express@4.17.1", "debug@2.6.9", "ms@2.0.0")


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("package-lock.json", '{"lockfileVersion": 3, "packages": {', "not valid JSON"),
    ("package-lock.json", '{"lockfileVersion": 7}', "unsupported lockfileVersion"),
    ("package-lock.json", '{"lockfileVersion": 3, "packages": {"node_modules/a": {}}}',
     "has no version"),
    ("yarn.lock", "a@1:\n  version \"1\"\n\tbad\n", "tab"),
    ("yarn.lock", "a@1:\n   version \"1\"\n", "indentation"),
    ("yarn.lock", "not a header\n", "entry header"),
    ("yarn.lock", "a@1:\n  version \"1\"\n  dependencies:\n    b \"^2\"\n", "has no entry"),
])
def test_malformed_lockfiles_raise(tmp_path: Path, name: str, content: str, needle: str) -> None:
    root = make_tree(tmp_path, {name: content})
    with pytest.raises(LockfileError, match=needle):
        parse_lockfile(root, name)


def test_find_lockfiles(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {
        "package-lock.json": "{}", "a/yarn.lock": "", "b/npm-shrinkwrap.json": "{}",
        "b/package-lock.json": "{}", "node_modules/x/package-lock.json": "{}",
        "c/package.json": "{}",
    })
    assert find_lockfiles(walk(root)) == ("a/yarn.lock", "b/npm-shrinkwrap.json",
                                          "package-lock.json")


@pytest.fixture(scope="module")
def real_lockfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lockfile npm resolves from the registry, now: express@4.17.1 and a dev tool."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    work = tmp_path_factory.mktemp("npm-real")
    (work / "package.json").write_text(json.dumps({
        "name": "real", "version": "1.0.0", "private": True,
        "dependencies": {"express": "4.17.1"}, "devDependencies": {"mocha": "10.0.0"},
    }))
    try:
        done = subprocess.run(  # never runs package scripts; writes only the lockfile
            [npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit",
             "--no-fund"], cwd=work, capture_output=True, text=True, timeout=300, check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("the npm registry did not answer within 300 s")
    if done.returncode != 0 or not (work / "package-lock.json").exists():
        pytest.skip(f"npm could not resolve from the registry: {done.stderr.strip()[-300:]}")
    return work


def test_real_npm_lockfile_every_package_inventoried(real_lockfile: Path) -> None:
    doc = json.loads((real_lockfile / "package-lock.json").read_text())
    entries = {k: v for k, v in doc["packages"].items() if k and not v.get("link")}
    pkgs = parse_lockfile(real_lockfile, "package-lock.json")
    assert len(pkgs) == len(entries) == len(doc["packages"]) - 1
    assert {(p.name, p.version) for p in pkgs} == {
        (v.get("name") or k.rsplit("node_modules/", 1)[-1], v["version"])
        for k, v in entries.items()
    }
    refs = by_ref(pkgs)
    # qs 6.7.0 (CVE-2022-24999) arrives through express
    assert refs["qs@6.7.0"].direct is False
    assert refs["qs@6.7.0"].path == ("express@4.17.1", "qs@6.7.0")
    assert refs["express@4.17.1"].direct and refs["mocha@10.0.0"].dev
    assert all(p.path and p.path[-1] == p.ref for p in pkgs)
    assert all(not p.dev for p in pkgs if p.path[0] == "express@4.17.1")
