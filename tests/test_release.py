"""The release (docs/releasing.md): what .github/workflows/release.yml may do, and the steps
of scripts/release.py it runs, on real and broken inputs. The workflow's schema, zizmor and
SHA pins are checked with every workflow in tests/test_action_metadata.py."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import policy_gate

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
DIGEST = "ghcr.io/mojaloop/policy-gate@sha256:" + "ab" * 32


def _release_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release", REPO / "scripts" / "release.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = _release_module()


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def _steps(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def test_only_a_source_tag_starts_a_release(workflow: dict[str, Any]) -> None:
    assert workflow[True] == {"push": {"tags": ["source/v[0-9]+.[0-9]+.[0-9]+"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_each_job_has_only_the_permissions_it_uses(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {}
    expected = {
        "prepare": {"contents": "read"},
        "image": {"contents": "read", "packages": "write", "id-token": "write",
                  "attestations": "write"},
        "dist": {"contents": "read", "id-token": "write", "attestations": "write"},
        "pypi": {"id-token": "write"},
        "release": {"contents": "write"},
    }
    jobs = workflow["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == expected
    for name, job in jobs.items():
        assert job["timeout-minutes"] <= 45, name
        for step in _steps(job, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False, name
    # The publishing identity is the protected environment, not a stored token.
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    assert "password" not in str(jobs["pypi"]) and "secrets." not in str(jobs["pypi"])
    assert jobs["release"]["needs"] == ["prepare", "image", "pypi"]


def test_the_image_is_the_dockerfile_the_tests_build(workflow: dict[str, Any]) -> None:
    image = workflow["jobs"]["image"]
    (build,) = _steps(image, "docker/build-push-action")
    opts = build["with"]
    # tests/test_container.py builds `Dockerfile` in context `.` with only BASE_IMAGE and
    # PIP_CERT replaced (no Docker Hub and a TLS-intercepting proxy here); the release builds
    # the same file with no arguments at all, so its base is the Dockerfile's digest pin.
    assert (opts["context"], opts["file"]) == (".", "Dockerfile")
    assert not {"build-args", "target", "build-contexts", "secrets", "cache-from"} & set(opts)
    assert opts["push"] is True
    assert re.search(r'"build-image.sh"\), "Dockerfile", "\.", TAG\]',
                     (REPO / "tests" / "test_container.py").read_text())
    # Provenance and SBOM are attested against the pushed digest, and pushed beside it.
    digest = "${{ steps.build.outputs.digest }}"
    for action in ("actions/attest-build-provenance", "actions/attest-sbom"):
        (attest,) = _steps(image, action)
        assert attest["with"]["subject-digest"] == digest
        assert attest["with"]["push-to-registry"] is True


def test_release_commit_changes_only_action_yml(workflow: dict[str, Any]) -> None:
    run = "\n".join(s.get("run", "") for s in workflow["jobs"]["release"]["steps"])
    assert "pin-action --image \"${IMAGE}@${DIGEST}\" action.yml" in run
    assert "git diff --stat --exit-code -- . ':!action.yml'" in run
    assert 'git commit --quiet -m "release v${VERSION}' in run and "action.yml\n" in run
    assert "gh release create \"v${VERSION}\" --verify-tag" in run


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"] == {"path": "policy_gate/__init__.py"}
    assert release.version() == policy_gate.__version__
    # The installed package's metadata was built by hatchling from that one source.
    assert importlib.metadata.version("policy-gate") == policy_gate.__version__
    dockerfile = (REPO / "Dockerfile").read_text()
    assert not re.search(r"\bVERSION\b|image\.version", dockerfile)


def test_check_accepts_the_matching_tag_and_refuses_the_rest(tmp_path: Path) -> None:
    (tmp_path / "policy_gate").mkdir()
    (tmp_path / "policy_gate" / "__init__.py").write_text('"""x"""\n__version__ = "1.2.0"\n')
    (tmp_path / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-12-07\n\n### Fixed\n- a thing\n\n"
        "## [1.1.0] - 2026-11-01\n\n- older\n\n[1.2.0]: https://example.invalid/v1.2.0\n")
    assert release.check("source/v1.2.0", tmp_path) == "1.2.0"
    for tag, says in [("v1.2.0", "is not source/vX.Y.Z"),
                      ("source/v1.2.0-rc1", "is not source/vX.Y.Z"),
                      ("source/v1.3.0", "does not match __version__ 1.2.0")]:
        with pytest.raises(release.ReleaseError, match=re.escape(says)):
            release.check(tag, tmp_path)
    assert release.changelog_section((tmp_path / "CHANGELOG.md").read_text(), "1.2.0") == (
        "### Fixed\n- a thing")
    with pytest.raises(release.ReleaseError, match=r"no `## \[1.3.0\]"):
        release.changelog_section((tmp_path / "CHANGELOG.md").read_text(), "1.3.0")
    with pytest.raises(release.ReleaseError, match="is empty"):
        release.changelog_section("## [Unreleased]\n", "Unreleased")


def test_this_repositorys_changelog_and_version_are_readable() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    assert release.changelog_section(text, "Unreleased")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "release.py"), "check",
                           "--tag", "source/v0.0.0"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"release: tag source/v0.0.0 does not match __version__ "
                           f"{policy_gate.__version__} (policy_gate/__init__.py): bump it, "
                           "or tag the right commit\n")


def test_pinned_action_runs_the_image_and_is_still_a_valid_action(tmp_path: Path) -> None:
    original = (REPO / "action.yml").read_text()
    pinned = release.pin_action(original, DIGEST)
    lines = zip(original.splitlines(), pinned.splitlines(), strict=True)
    changed = [(a, b) for a, b in lines if a != b]
    assert changed == [("  image: Dockerfile", f"  image: docker://{DIGEST}")]
    assert yaml.safe_load(pinned)["runs"] == {"using": "docker", "image": f"docker://{DIGEST}"}
    (tmp_path / "action.yml").write_text(pinned)
    checker = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(checker) if checker.exists() else str(shutil.which(
        "check-jsonschema")), "--builtin-schema", "vendor.github-actions",
        str(tmp_path / "action.yml")], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for bad in ["ghcr.io/mojaloop/policy-gate:1.2.0", "ghcr.io/mojaloop/policy-gate@sha256:abc",
                DIGEST + "\n  image: Dockerfile"]:
        with pytest.raises(release.ReleaseError, match="not an image reference by sha256"):
            release.pin_action(original, bad)
    with pytest.raises(release.ReleaseError, match="2 `image: Dockerfile` lines"):
        release.pin_action(original + "\n  image: Dockerfile\n", DIGEST)
    with pytest.raises(release.ReleaseError, match="0 `image: Dockerfile` lines"):
        release.pin_action(pinned, DIGEST)


def test_notes_say_how_to_verify(tmp_path: Path) -> None:
    (tmp_path / "CHANGELOG.md").write_text("## [1.2.0] - 2026-12-07\n\n- Added a thing\n")
    text = release.notes("1.2.0", DIGEST, "mojaloop/policy-gate", tmp_path)
    assert text.startswith("- Added a thing\n\n## Use it\n")
    assert f"gh attestation verify oci://{DIGEST} --owner mojaloop" in text
    assert "--signer-workflow mojaloop/policy-gate/.github/workflows/release.yml" in text
    assert "--source-ref refs/tags/source/v1.2.0" in text
    assert "pip install 'policy-gate[scanners]==1.2.0'" in text
