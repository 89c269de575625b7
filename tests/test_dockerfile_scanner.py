"""The Dockerfile scanner (M9 pinned bases; M4a root user, ports, ADD, upgrades): every
rule positive and negative, and the parser's corners (ARG substitution, stages, escapes,
continuations, heredocs, malformed input)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from policy_gate.base.fileset import walk
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import CI, UNSCANNED, Confidence, Finding, Severity
from policy_gate.scanners.dockerfile import (
    DockerfileScanner,
    check,
    find_upgrade,
    is_dockerfile,
    judge_image,
)
from policy_gate.scanners.interface import ScanContext

REPO = Path(__file__).resolve().parents[1]
DIGEST = "@sha256:" + "a" * 64
OK_TAIL = "USER 1000:1000\n"  # a non-root final stage, so other rules are tested alone


def run(text: str, ports: frozenset[int] = frozenset()) -> list[Finding]:
    return check("dockerfile", "Dockerfile", text, ports)


def rules(text: str, ports: frozenset[int] = frozenset()) -> list[tuple[str, int | None]]:
    return [(f.rule_id, f.start_line) for f in run(text, ports)]


# -- M9: base images -----------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    ["node", "node:latest", "node:lts", "node:lts-alpine3.16", "node:alpine", "node:current",
     "node:stable", "node:18", "node:18.17", "node:18-alpine", "ubuntu:22.04",
     "registry.example:5000/team/node", "registry.example:5000/node:lts"],
)
def test_floating_base_images_are_unpinned(image: str) -> None:
    found = run(f"FROM {image}\n{OK_TAIL}")
    assert [(f.rule_id, f.severity, f.confidence) for f in found] == [
        ("unpinned-base-image", Severity.MEDIUM, Confidence.HIGH)
    ]
    assert found[0].category == CI and found[0].start_line == 1
    assert found[0].help_url and found[0].fix and "M9" in found[0].message


def test_m9_examples() -> None:
    assert rules(f"FROM node:16.15.0-alpine\n{OK_TAIL}") == [("base-image-not-digest-pinned", 1)]
    assert rules(f"FROM node:lts-alpine3.16\n{OK_TAIL}") == [("unpinned-base-image", 1)]


def test_digest_is_best_and_tag_only_is_low() -> None:
    assert rules(f"FROM node:16.15.0-alpine{DIGEST}\n{OK_TAIL}") == []
    # a digest pins even a floating tag or no tag at all
    assert rules(f"FROM node:lts{DIGEST}\n{OK_TAIL}") == []
    assert rules(f"FROM registry.example:5000/node{DIGEST}\n{OK_TAIL}") == []
    low = run(f"FROM registry.example:5000/node:18.17.1\n{OK_TAIL}")
    assert [(f.rule_id, f.severity) for f in low] == [
        ("base-image-not-digest-pinned", Severity.LOW)
    ]
    assert judge_image("node@sha256:abc").rule == "unpinned-base-image"  # malformed digest


def test_arg_defaults_are_substituted_into_from() -> None:
    text = f"ARG NODE_VERSION=18.17.1-alpine\nFROM node:${{NODE_VERSION}}\n{OK_TAIL}"
    found = run(text)
    assert [(f.rule_id, f.start_line) for f in found] == [("base-image-not-digest-pinned", 2)]
    assert "node:18.17.1-alpine" in found[0].message
    assert rules(f"ARG V=lts-alpine\nFROM node:$V\n{OK_TAIL}") == [("unpinned-base-image", 2)]
    assert rules(f'ARG IMG="node:18.17.1{DIGEST}"\nFROM $IMG\n{OK_TAIL}') == []
    assert rules(f"ARG V\nFROM node:${{V:-18.17.1}}{DIGEST}\n{OK_TAIL}") == []


def test_arg_without_default_in_from_is_unpinned() -> None:
    found = run(f"ARG BASE\nFROM ${{BASE}}\n{OK_TAIL}")
    assert [(f.rule_id, f.start_line) for f in found] == [("unpinned-base-image", 2)]
    assert "BASE" in found[0].message and "no default" in found[0].message
    # a stage ARG is not visible to FROM
    text = f"FROM node:18.17.1{DIGEST} AS a\nARG V=18.17.1\nFROM node:$V\n{OK_TAIL}"
    assert rules(text) == [("unpinned-base-image", 3)]


def test_stage_references_are_not_images() -> None:
    text = (f"FROM node:18.17.1-alpine{DIGEST} AS base\nRUN true\n"
            "FROM base AS build\nRUN make\nFROM build\nFROM BUILD\nFROM 0\n" + OK_TAIL)
    assert rules(text) == []
    text = f"FROM --platform=$BUILDPLATFORM node:18.17.1{DIGEST} AS b\nFROM scratch\n{OK_TAIL}"
    assert rules(text) == []


def test_copy_from_an_external_image() -> None:
    text = (f"FROM node:18.17.1{DIGEST} AS a\nCOPY --from=a /x /y\n"
            f"COPY --from=nginx:latest /a /b\nCOPY --from=nginx:1.25.3{DIGEST} /a /b\n{OK_TAIL}")
    assert rules(text) == [("unpinned-base-image", 3)]


# -- M4a: root user ------------------------------------------------------------------


@pytest.mark.parametrize("user", ["root", "0", "0:0", "root:root"])
def test_explicit_root_user(user: str) -> None:
    found = run(f"FROM node:18.17.1{DIGEST}\nUSER node\nUSER {user}\n")
    assert [(f.rule_id, f.severity, f.confidence, f.start_line) for f in found] == [
        ("root-user", Severity.HIGH, Confidence.HIGH, 3)
    ]


def test_no_user_means_root() -> None:
    found = run(f"FROM node:18.17.1{DIGEST}\nRUN true\n")
    assert [(f.rule_id, f.severity, f.start_line) for f in found] == [
        ("root-user", Severity.HIGH, 1)
    ]
    assert "no USER" in found[0].message


@pytest.mark.parametrize("user", ["node", "1000", "1000:1000", "app:app"])
def test_non_root_user(user: str) -> None:
    assert rules(f"FROM node:18.17.1{DIGEST}\nUSER {user}\n") == []


def test_final_stage_decides_the_user() -> None:
    # the builder runs as root (fine: it is not shipped), the final stage does not
    text = f"FROM node:18.17.1{DIGEST} AS build\nUSER root\nFROM node:18.17.1{DIGEST}\nUSER node\n"
    assert rules(text) == []
    # the reverse: root in the final stage
    text = f"FROM node:18.17.1{DIGEST} AS build\nUSER node\nFROM node:18.17.1{DIGEST}\n"
    assert rules(text) == [("root-user", 3)]
    # a final stage built FROM a stage inherits its USER
    text = f"FROM node:18.17.1{DIGEST} AS base\nUSER node\nFROM base\nRUN true\n"
    assert rules(text) == []
    text = f"FROM node:18.17.1{DIGEST} AS base\nUSER 0\nFROM base\nRUN true\n"
    assert rules(text) == [("root-user", 2)]


def test_user_from_a_variable() -> None:
    assert rules(f"FROM node:18.17.1{DIGEST}\nARG U=node\nUSER $U\n") == []
    assert rules(f"FROM node:18.17.1{DIGEST}\nENV U=root\nUSER ${{U}}\n") == [("root-user", 3)]
    found = run(f"FROM node:18.17.1{DIGEST}\nUSER $UNKNOWN\n")
    # unknown is graded as root (tests/test_hostile_policy_inputs.py has every spelling)
    assert [(f.rule_id, f.confidence) for f in found] == [("root-user", Confidence.HIGH)]


# -- M4a: ports, ADD, upgrades -------------------------------------------------------


def test_exposed_ports_against_the_allowlist() -> None:
    text = f"FROM node:18.17.1{DIGEST}\nEXPOSE 3000 8080/tcp\nEXPOSE 4000-4001\n{OK_TAIL}"
    allowed = frozenset({3000, 4000})
    found = run(text, allowed)
    assert [(f.rule_id, f.severity, f.start_line) for f in found] == [
        ("exposed-port", Severity.MEDIUM, 2), ("exposed-port", Severity.MEDIUM, 3)
    ]
    assert "8080" in found[0].message and "4001" in found[1].message
    assert rules(text, frozenset({3000, 8080, 4000, 4001})) == []
    assert rules(text) == []  # an empty allowlist allows every port
    # only the shipped image counts: EXPOSE in a builder stage is not in it
    text = f"FROM node:18.17.1{DIGEST} AS b\nEXPOSE 9999\nFROM node:18.17.1{DIGEST}\n{OK_TAIL}"
    assert rules(text, allowed) == []
    text = f"FROM node:18.17.1{DIGEST}\nARG P=3000\nEXPOSE $P\nEXPOSE $Q\n{OK_TAIL}"
    assert rules(text, allowed) == [("exposed-port", 4)]


def test_add_instead_of_copy() -> None:
    text = (f"FROM node:18.17.1{DIGEST}\nADD app.tgz /app\nADD https://example.com/x /x\n"
            "ADD --checksum=sha256:" + "b" * 64 + " https://example.com/y /y\n"
            'ADD ["a b", "/c"]\nCOPY . /app\n' + OK_TAIL)
    found = run(text)
    assert [(f.rule_id, f.severity, f.start_line) for f in found] == [
        ("add-instead-of-copy", Severity.LOW, 2),
        ("add-instead-of-copy", Severity.MEDIUM, 3),
        ("add-instead-of-copy", Severity.LOW, 4),
        ("add-instead-of-copy", Severity.LOW, 5),
    ]


@pytest.mark.parametrize(
    "command",
    ["apt-get upgrade -y", "apt-get update && apt-get -y dist-upgrade",
     "apt-get -o Dpkg::Options::=--force-confold -y upgrade", "apt full-upgrade",
     "apk upgrade", "apk --no-cache upgrade", "yum update -y", "dnf upgrade",
     "sudo yum -y update", "microdnf update", "zypper dup"],
)
def test_package_upgrade(command: str) -> None:
    found = run(f"FROM node:18.17.1{DIGEST}\nRUN {command}\n{OK_TAIL}")
    assert [(f.rule_id, f.severity, f.start_line) for f in found] == [
        ("package-upgrade", Severity.LOW, 2)
    ]


@pytest.mark.parametrize(
    "command",
    ["apt-get update && apt-get install -y curl", "apk add --no-cache curl",
     "yum update -y openssl", "dnf upgrade openssl", "apk upgrade openssl",
     "echo apt-get upgrade is bad", "pip install --upgrade pip"],
)
def test_not_a_package_upgrade(command: str) -> None:
    assert rules(f"FROM node:18.17.1{DIGEST}\nRUN {command}\n{OK_TAIL}") == []
    assert find_upgrade(command) is None


def test_exec_form_run() -> None:
    text = f'FROM node:18.17.1{DIGEST}\nRUN ["apt-get", "upgrade", "-y"]\n{OK_TAIL}'
    assert rules(text) == [("package-upgrade", 2)]


# -- parsing -------------------------------------------------------------------------


def test_line_continuations_and_comments() -> None:
    text = (
        "# a comment\n\nARG BASE=node:lts\n"
        "FROM \\\n    ${BASE}\n"
        "RUN apt-get update \\\n"
        "    # a comment inside the continuation\n\n"
        "    && apt-get upgrade -y \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        + OK_TAIL
    )
    found = run(text)
    assert [(f.rule_id, f.start_line, f.end_line) for f in found] == [
        ("unpinned-base-image", 4, 5), ("package-upgrade", 6, 10)
    ]


def test_escape_directive() -> None:
    text = ("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
            "RUN dir C:\\ && `\n    apt-get upgrade\nUSER ContainerUser\n")
    assert rules(text) == [("unpinned-base-image", 2), ("package-upgrade", 3)]
    # not a directive once an instruction was seen: then the backslash continues lines
    text = f"FROM node:18.17.1{DIGEST}\n# escape=`\nRUN true \\\n  && apk upgrade\n{OK_TAIL}"
    assert rules(text) == [("package-upgrade", 3)]


def test_heredocs() -> None:
    text = (
        f"FROM node:18.17.1{DIGEST}\n"
        "RUN <<EOF\nset -e\napt-get update\napt-get -y upgrade\nEOF\n"
        "COPY <<-'CONF' /etc/app.conf\n\tUSER root\n\tFROM nothing\n\tCONF\n"
        "RUN python3 <<PY\nprint('apt-get upgrade')\nPY\n"
        + OK_TAIL
    )
    found = run(text)
    # the heredoc body is the RUN's script; COPY's body is file content, not instructions
    assert [(f.rule_id, f.start_line, f.end_line) for f in found] == [("package-upgrade", 2, 6)]


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("", "no FROM", None),
        ("# only a comment\n", "no FROM", None),
        ("RUN true\nFROM node\n", "RUN before the first FROM", 1),
        ("FROM node:18.17.1\nFROMM x\n", "unknown instruction", 2),
        ("FROM\n", "cannot read", 1),
        ("FROM a b c d\n", "cannot read", 1),
        ("FROM node:18.17.1\nRUN <<EOF\necho never ends\n", "not terminated", 2),
        ("# escape=x\nFROM node\n", "invalid escape", 1),
    ],
)
def test_malformed(text: str, reason: str, line: int | None, tree: Callable[..., Path]) -> None:
    root = tree({"Dockerfile": text})
    out = DockerfileScanner().scan(ScanContext(walk(root), ScannerSettings()))
    assert len(out.findings) == 1 and out.raw_results == 1
    f = out.findings[0]
    assert f.category == UNSCANNED and reason in f.message and f.start_line == line


def test_scanner_over_a_tree(tree: Callable[..., Path]) -> None:
    root = tree({
        "Dockerfile": f"FROM node:18.17.1{DIGEST}\nUSER node\n",
        "svc/Dockerfile.prod": "FROM node:lts\nUSER node\n",
        "svc/test.Dockerfile": f"FROM node:18.17.1{DIGEST}\n",
        "Containerfile": "FROM node:18.17.1\nUSER 1\n",
        "Dockerfile.dockerignore": "*\n",
        "docs/dockerfile.md": "FROM nothing\n",
        "tools/dockerfile.py": "print()\n",
        "big/Dockerfile": "FROM node:lts\n" + "RUN true\n" * 50,
        "bin/Dockerfile": b"\xff\xfe",
    })
    settings = ScannerSettings(options={"max_file_bytes": 200, "allowed_ports": [3000]})
    scanner = DockerfileScanner()
    fileset = walk(root)
    assert scanner.targets(fileset) == (
        "Containerfile", "Dockerfile", "big/Dockerfile", "bin/Dockerfile",
        "svc/Dockerfile.prod", "svc/test.Dockerfile",
    )
    out = scanner.scan(ScanContext(fileset, settings))
    got = sorted((f.path, f.rule_id) for f in out.findings)
    assert got == [
        ("Containerfile", "base-image-not-digest-pinned"),
        ("big/Dockerfile", "file-not-analysed"),
        ("bin/Dockerfile", "file-not-analysed"),
        ("svc/Dockerfile.prod", "unpinned-base-image"),
        ("svc/test.Dockerfile", "root-user"),
    ]
    assert out.raw_results == len(out.findings) and out.files_scanned == 6
    assert all(f.flaw_key == f"dockerfile:{f.rule_id}" or f.category == UNSCANNED
               for f in out.findings)


def test_targets_names() -> None:
    assert is_dockerfile("Dockerfile") and is_dockerfile("a/dockerfile")
    assert is_dockerfile("Dockerfile.alpine") and is_dockerfile("x/api.Dockerfile")
    assert is_dockerfile("Containerfile") and not is_dockerfile("Dockerfile.dockerignore")
    assert not is_dockerfile("dockerfile.py") and not is_dockerfile("Dockerfiles/README")


def test_this_repositorys_dockerfile_is_clean() -> None:
    """The gate's own image: base pinned by digest through an ARG, USER 1001:1001."""
    assert run((REPO / "Dockerfile").read_text(), frozenset({3000})) == []
