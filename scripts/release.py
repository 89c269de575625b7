"""Release steps that .github/workflows/release.yml runs, kept here so tests run them too.

A release starts from a tag ``source/vX.Y.Z`` on the commit to release (docs/releasing.md).
The version has one source, ``policy_gate/__init__.py``'s ``__version__`` (pyproject.toml
reads it through hatchling's dynamic version); the tag and CHANGELOG.md must agree with it.

    python scripts/release.py check --tag source/v1.2.0      # prints version=1.2.0
    python scripts/release.py notes --version 1.2.0 --image ghcr.io/o/r@sha256:...
    python scripts/release.py pin-action --image ghcr.io/o/r@sha256:... action.yml

``pin-action`` rewrites the action's ``image: Dockerfile`` to the published image by digest:
the release commit (tagged ``vX.Y.Z``) runs the signed image; the default branch keeps
building from the Dockerfile.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE_TAG = re.compile(r"source/v(?P<version>\d+\.\d+\.\d+)")
# An image reference by digest only: a tag could be moved after the release.
IMAGE_BY_DIGEST = re.compile(r"[a-z0-9.-]+(?::\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}")
DOCKERFILE_LINE = re.compile(r"^(?P<indent>[ \t]+)image: Dockerfile[ \t]*$", re.M)


class ReleaseError(Exception):
    """A release input that does not agree with the repository; the message says which."""


def version(repo: Path = REPO) -> str:
    """``__version__`` read without importing the package (the release job installs nothing)."""
    source = (repo / "policy_gate" / "__init__.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "__version__"
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    raise ReleaseError("policy_gate/__init__.py has no `__version__ = \"X.Y.Z\"`")


def changelog_section(text: str, wanted: str) -> str:
    """The body of ``## [wanted]`` in a Keep-a-Changelog file, without its heading."""
    heading = re.compile(rf"^## \[{re.escape(wanted)}\](?: - \d{{4}}-\d{{2}}-\d{{2}})?\s*$", re.M)
    found = heading.search(text)
    if not found:
        raise ReleaseError(f"CHANGELOG.md has no `## [{wanted}] - YYYY-MM-DD` section: "
                           "move the Unreleased entries under it before tagging")
    following = re.compile(r"^## \[", re.M).search(text, found.end())
    body = text[found.end():following.start() if following else len(text)]
    body = re.sub(r"^\[[^\]]+\]: \S+\s*$", "", body, flags=re.M).strip()
    if not body:
        raise ReleaseError(f"CHANGELOG.md's section for {wanted} is empty")
    return body


def check(tag: str, repo: Path = REPO) -> str:
    """The version to release, after checking that the tag and CHANGELOG.md agree with it."""
    matched = SOURCE_TAG.fullmatch(tag)
    if not matched:
        raise ReleaseError(f"tag {tag!r} is not source/vX.Y.Z")
    current = version(repo)
    if matched["version"] != current:
        raise ReleaseError(f"tag {tag} does not match __version__ {current} "
                           "(policy_gate/__init__.py): bump it, or tag the right commit")
    changelog_section((repo / "CHANGELOG.md").read_text(encoding="utf-8"), current)
    return current


def pin_action(action_text: str, image: str) -> str:
    """action.yml with its one ``image: Dockerfile`` replaced by ``docker://IMAGE``."""
    if not IMAGE_BY_DIGEST.fullmatch(image):
        raise ReleaseError(f"{image!r} is not an image reference by sha256 digest")
    lines = DOCKERFILE_LINE.findall(action_text)
    if len(lines) != 1:
        raise ReleaseError(f"action.yml has {len(lines)} `image: Dockerfile` lines, expected 1")
    return DOCKERFILE_LINE.sub(lambda m: f"{m['indent']}image: docker://{image}", action_text)


def notes(wanted: str, image: str, repository: str, repo: Path = REPO) -> str:
    """The GitHub release notes: the changelog section, then how to use and verify."""
    body = changelog_section((repo / "CHANGELOG.md").read_text(encoding="utf-8"), wanted)
    owner = repository.split("/")[0]
    return f"""{body}

## Use it

The action at tag `v{wanted}` runs the published image `{image}`
(the default branch builds from the Dockerfile instead). Pin the tag's commit:

    uses: {repository}@<commit of v{wanted}> # v{wanted}

or install the package: `pip install 'policy-gate[scanners]=={wanted}'`.

## Verify before use

    gh attestation verify oci://{image} --owner {owner} \\
      --signer-workflow {repository}/.github/workflows/release.yml \\
      --source-ref refs/tags/source/v{wanted}
    gh attestation verify oci://{image} --owner {owner} \\
      --predicate-type https://spdx.dev/Document/v2.3

See docs/releasing.md ("Verifying a release").
"""


def main(argv: list[str] | None = None) -> int:
    """The workflow's entry point; a ReleaseError is one line on stderr and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check").add_argument("--tag", required=True)
    notes_cmd = sub.add_parser("notes")
    notes_cmd.add_argument("--version", required=True)
    notes_cmd.add_argument("--image", required=True)
    notes_cmd.add_argument("--repository", required=True)
    pin = sub.add_parser("pin-action")
    pin.add_argument("--image", required=True)
    pin.add_argument("action", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            print(f"version={check(args.tag)}")
        elif args.command == "notes":
            print(notes(args.version, args.image, args.repository), end="")
        else:
            args.action.write_text(pin_action(args.action.read_text(encoding="utf-8"),
                                              args.image), encoding="utf-8")
    except ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
