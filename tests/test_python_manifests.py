"""Python manifests are parsed as data: pins, unpinned requirements, includes, lockfiles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from policy_gate.base.fileset import walk
from policy_gate.dependencies import ManifestScan, find_manifests, parse_manifests
from policy_gate.dependencies.python import URL_REASON, manifest_kind


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def scan(root: Path) -> ManifestScan:
    return parse_manifests(walk(root))


def pins(result: ManifestScan) -> set[tuple[str, str, str, int | None]]:
    return {(p.name, p.version, p.manifest_path, p.line) for p in result.pinned}


def unpinned(result: ManifestScan) -> dict[str, tuple[str, int | None, str]]:
    return {u.name: (u.manifest_path, u.line, u.reason) for u in result.unpinned}


@pytest.mark.parametrize(
    ("path", "kind"),
    [("requirements.txt", "requirements"), ("a/requirements-dev.txt", "requirements"),
     ("dev-requirements.txt", "requirements"), ("requirements/base.txt", "requirements"),
     ("x/requirements/test.txt", "requirements"), ("constraints.txt", "requirements"),
     ("notes.txt", None), ("requirements.in", None), ("pyproject.toml", "pyproject"),
     ("poetry.lock", "poetry.lock"), ("Pipfile.lock", "Pipfile.lock"), ("uv.lock", "uv.lock"),
     ("pylock.toml", "pylock"), ("pylock.dev.toml", "pylock"), ("setup.py", "setup.py"),
     ("setup.cfg", "setup.cfg"), ("setup.txt", None)],
)
def test_manifest_names(path: str, kind: str | None) -> None:
    assert manifest_kind(path) == kind


def test_requirements_file(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", """\
# comment line
--index-url https://pypi.org/simple
jinja2==2.10 \\
    --hash=sha256:0000
Requests[security]==2.19.0 ; python_version >= "3"   # trailing comment
flask>=2
numpy==1.*
bar===1.0
baz===not.pep440!
django
-e git+https://user:s3cret@github.com/org/private.git#egg=private
./vendor/pkg
https://example.com/dl/pkg-1.0.tar.gz
foo @ git+https://github.com/org/foo
not a requirement !!
""")
    result = scan(tmp_path)
    assert result.manifests == ["requirements.txt"]
    assert pins(result) == {
        ("jinja2", "2.10", "requirements.txt", 3),
        ("requests", "2.19.0", "requirements.txt", 5),
        ("bar", "1.0", "requirements.txt", 8),
    }
    marker = next(p.marker for p in result.pinned if p.name == "requests")
    assert marker == 'python_version >= "3"'
    found = unpinned(result)
    assert found["flask"][:2] == ("requirements.txt", 6)
    assert "range" in found["flask"][2]
    assert "wildcard" in found["numpy"][2]
    assert "PEP 440" in found["baz"][2]
    assert found["django"][2] == "has no version constraint at all"
    assert found["private"][1] == 11 and URL_REASON in found["private"][2]
    assert found["pkg"][2] == URL_REASON
    assert found["foo"][2] == URL_REASON
    assert any("cannot be parsed" in reason for _, _, reason in found.values())
    assert len(result.unpinned) == 9
    texts = " ".join(u.requirement_text for u in result.unpinned)
    assert "s3cret" not in texts  # credentials in VCS URLs are masked
    assert not result.errors


def test_includes_stay_inside_the_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(tmp_path, "outside.txt", "evil==6.6.6\n")
    write(repo, "requirements.txt",
          "-r sub/base.txt\n--requirement=../outside.txt\n-c /etc/hosts\n-r missing.txt\n"
          "-r linked.txt\n")
    write(repo, "sub/base.txt", "django==3.2\n-r ../requirements.txt\n-r more.in\n")
    write(repo, "sub/more.in", "pyyaml==5.3\n")
    os.symlink(tmp_path / "outside.txt", repo / "linked.txt")
    result = scan(repo)
    assert pins(result) == {
        ("django", "3.2", "sub/base.txt", 1),
        ("pyyaml", "5.3", "sub/more.in", 1),  # any name once included
    }
    reasons = {(e.path, e.line): e.reason for e in result.errors}
    assert "escapes the repository root" in reasons[("requirements.txt", 2)]
    assert "absolute path" in reasons[("requirements.txt", 3)]
    assert "does not exist in the scanned tree" in reasons[("requirements.txt", 4)]
    assert "symbolic link" in reasons[("requirements.txt", 5)]  # never followed
    assert sorted(result.manifests) == ["requirements.txt", "sub/base.txt", "sub/more.in"]


def test_pyproject_pep621_and_poetry(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "demo"
dependencies = [
  "jinja2==2.10",
  "click>=8",
  "demo[extra]",
]

[project.optional-dependencies]
extra = ["rich==13.0.0", "mylib @ https://example.com/mylib.zip"]

[dependency-groups]
test = ["pytest==8.0.0", {include-group = "extra"}]

[tool.poetry.dependencies]
python = "^3.11"
requests = "2.19.0"
urllib3 = "^1.26"
private = {git = "https://github.com/org/private.git"}
attrs = {version = "==21.4.0", markers = "sys_platform == 'linux'"}
multi = [{version = "1.0", python = "<3.12"}, {version = ">=2", python = ">=3.12"}]

[tool.poetry.group.dev.dependencies]
pyyaml = "5.3"
""")
    result = scan(tmp_path)
    assert pins(result) == {
        ("jinja2", "2.10", "pyproject.toml", 8),
        ("rich", "13.0.0", "pyproject.toml", 14),
        ("pytest", "8.0.0", "pyproject.toml", 17),
        ("requests", "2.19.0", "pyproject.toml", 21),
        ("attrs", "21.4.0", "pyproject.toml", 24),
        ("multi", "1.0", "pyproject.toml", 25),
        ("pyyaml", "5.3", "pyproject.toml", 28),
    }
    found = unpinned(result)
    assert set(found) == {"click", "mylib", "urllib3", "private", "multi"}
    assert found["click"][1] == 9
    assert found["private"][2] == URL_REASON
    assert not result.errors


def test_lockfiles(tmp_path: Path) -> None:
    write(tmp_path, "poetry.lock", """\
[[package]]
name = "jinja2"
version = "2.10"
description = "x"
optional = false

[[package]]
name = "mylib"
version = "0.1.0"

[package.source]
type = "git"
url = "https://github.com/org/mylib.git"
""")
    write(tmp_path, "svc/uv.lock", """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "svc"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "requests"
version = "2.19.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "requests"
version = "2.31.0"
source = { registry = "https://pypi.org/simple" }
""")
    write(tmp_path, "app/Pipfile.lock", json.dumps({
        "_meta": {"hash": {"sha256": "x"}},
        "default": {"django": {"version": "==3.2", "markers": "python_version >= '3.8'"},
                    "local": {"path": ".", "editable": True}},
        "develop": {"pyyaml": {"version": "==5.3"}},
    }, indent=4))
    write(tmp_path, "pylock.toml", """\
lock-version = "1.0"
created-by = "test"

[[packages]]
name = "urllib3"
version = "1.26.4"
marker = "python_version >= '3.8'"

[[packages]]
name = "vcs-thing"
[packages.vcs]
type = "git"
url = "https://github.com/org/vcs-thing"
""")
    result = scan(tmp_path)
    assert pins(result) == {
        ("jinja2", "2.10", "poetry.lock", 2),
        ("requests", "2.19.0", "svc/uv.lock", 10),
        ("requests", "2.31.0", "svc/uv.lock", 15),
        ("django", "3.2", "app/Pipfile.lock", 8),
        ("pyyaml", "5.3", "app/Pipfile.lock", 18),
        ("urllib3", "1.26.4", "pylock.toml", 5),
    }
    found = unpinned(result)
    assert set(found) == {"mylib", "local", "vcs-thing"}
    assert all(reason == URL_REASON for _, _, reason in found.values())


def test_pyproject_ranges_resolved_by_a_lockfile_beside_it(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml",
          '[project]\nname = "x"\ndependencies = ["jinja2>=2", "flask>=2"]\n')
    write(tmp_path, "poetry.lock", '[[package]]\nname = "Jinja2"\nversion = "2.10"\n')
    result = scan(tmp_path)
    assert set(unpinned(result)) == {"flask"}  # not in the lock: still reported
    assert pins(result) == {("jinja2", "2.10", "poetry.lock", 2)}


def test_unparsable_manifests_are_errors_not_silence(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project\nname = 'x'\n")
    write(tmp_path, "Pipfile.lock", "{not json")
    write(tmp_path, "uv.lock", 'package = "nope"\n')
    (tmp_path / "requirements.txt").write_bytes(b"jinja2==2.10  # \xff\n")
    (tmp_path / "constraints.txt").write_bytes(b"\xff\xfejinja2==2.10\n")  # odd UTF-16
    write(tmp_path, "poetry.lock", '[[package]]\nname = "bad\\nname"\nversion = "1"\n')
    result = scan(tmp_path)
    by_path = {e.path: e.reason for e in result.errors}
    assert "TOML" in by_path["pyproject.toml"]
    assert "JSON" in by_path["Pipfile.lock"]
    assert "array" in by_path["uv.lock"]
    assert "UTF-8" in by_path["requirements.txt"]
    assert "utf-16" in by_path["constraints.txt"] and "byte-order mark" in by_path[
        "constraints.txt"]
    assert "invalid package name" in by_path["poetry.lock"]
    assert not result.pinned


def test_find_manifests_uses_the_walked_fileset(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "jinja2==2.10\n")
    write(tmp_path, "vendor/requirements.txt", "jinja2==2.10\n")
    write(tmp_path, "setup.py", "raise SystemExit('never run')\n")
    fileset = walk(tmp_path, exclude=["vendor/"])
    # setup.py is found (to be reported when nothing beside it declares the dependencies
    # as data), never run
    assert find_manifests(fileset) == ("requirements.txt", "setup.py")
