"""`policy-gate init`: adopt the gate on an existing repository in one command.

A legacy repository has hundreds of findings on day one; failing on all of them would
stop adoption, and ignoring them would let new ones through. So init writes the policy
(Mojaloop's, by ``extends``), an empty waivers file, the CI file that runs the gate, and a
baseline of today's findings, wired together so that the next scan passes and only new
findings fail. Everything it writes is read back and checked before it says it is done;
a failure part-way restores what was there.

The baseline is made by the caller (the command line's ``baseline create`` piece), so
there is one way to record findings, not two.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from policy_gate import __version__
from policy_gate.base.git import Repo
from policy_gate.base.gitrun import GitError, printable
from policy_gate.base.yamlsafe import YamlProblem, load

POLICY = ".github/policy-gate.yaml"
WAIVERS = ".policy-gate/waivers.yaml"
BASELINE = ".policy-gate/baseline.json"
WORKFLOW = ".github/workflows/policy-gate.yml"
CIRCLE_CONFIG = ".circleci/config.yml"
# The mojaloop/build orb merges this file's jobs and workflows into the pipeline it
# generates (dynamic config, `setup: true`), so a Mojaloop service adds jobs here.
CIRCLE_ADDITIONAL = ".circleci/additional-workflows.yaml"
# The pull-request workflow of the orb's pipeline, which an added job joins.
ORB_WORKFLOW = "build_and_test"
CI_SYSTEMS = ("github", "circleci")

# Pins as the gate's own workflows check demands them: an action by full commit id, an
# image by digest. Names are restricted to characters that need no quoting in YAML.
_SHA = re.compile(r"[0-9a-f]{40}")
_ACTION = re.compile(r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)@(?P<sha>[0-9a-f]{40})")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}")
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")
_PLACEHOLDER = re.compile(r"\{%(\w+)%\}")
DEFAULT_ACTION = "mojaloop/policy-gate"


class InitError(Exception):
    """One line for the user; the command exits 2 with it."""


@dataclass(frozen=True)
class InitOptions:
    path: Path
    ci: str
    force: bool
    extends: str
    action_ref: str | None
    image: str | None
    branch: str | None
    advisories: str | None


@dataclass(frozen=True)
class Planned:
    """A file init writes (relative to the repository root)."""

    path: str
    text: str


@dataclass(frozen=True)
class Plan:
    root: Path
    files: tuple[Planned, ...]
    printed: str | None  # a CircleCI job to add by hand to a config that exists
    printed_into: str | None  # where it goes


# The baseline maker: (repository root, policy file) -> (the baseline's JSON text, the
# categories of its entries, one per entry).
Record = Callable[[Path, Path], tuple[str, list[str]]]


def run(opts: InitOptions, record: Record, echo: Callable[[str], None]) -> None:
    """Plan, write, record the baseline, print the next steps. InitError: nothing is left
    changed; SystemExit from ``record`` (a scan that failed) also restores the tree."""
    plan = make_plan(opts)
    with _restoring_on_failure() as written:
        for planned in plan.files:
            _write(plan.root, planned, opts.force, written)
        baseline_text, categories = record(plan.root, plan.root / POLICY)
        _write(plan.root, Planned(BASELINE, baseline_text), opts.force, written)
    echo(next_steps(plan, categories))


def make_plan(opts: InitOptions) -> Plan:
    """Every file's text, and what init refuses before writing anything."""
    root = _repository_top(opts.path)
    branch = opts.branch or _default_branch(root)
    if not _BRANCH.fullmatch(branch) or ".." in branch:
        raise InitError(f"--branch {printable(branch)!r} is not a plain branch name")
    if opts.ci not in CI_SYSTEMS:
        raise InitError(f"--ci must be one of {', '.join(CI_SYSTEMS)}")
    values = {"version": __version__, "branch": branch}
    files = [Planned(POLICY, policy_text(opts, root.name)),
             Planned(WAIVERS, _template("waivers.yaml", values))]
    printed = printed_into = None
    if opts.ci == "github":
        repo, sha = _action(opts.action_ref)
        files.append(Planned(WORKFLOW, _template(
            "github-workflow.yml", {**values, "action": repo, "action_sha": sha})))
    else:
        job = _template("circleci-job.yml", {**values, "image": _image(opts.image)})
        ci_file, printed_into, text = _circleci(root, job)
        if text is None:
            printed = job
        else:
            files.append(Planned(ci_file, text))
            printed_into = None
    refused = [f.path for f in (*files, Planned(BASELINE, "")) if _exists(root / f.path)]
    if refused and not opts.force:
        verb = "exists" if len(refused) == 1 else "exist"
        raise InitError(f"{', '.join(refused)} already {verb} in {printable(str(root))}: "
                        "init overwrites nothing without --force")
    return Plan(root, tuple(files), printed, printed_into)


def policy_text(opts: InitOptions, name: str) -> str:
    """The policy: `extends` the given one, names the waivers file, and makes every file
    that decides what the gate enforces (the CI file too) need a security review."""
    review = [POLICY, WAIVERS, BASELINE,
              WORKFLOW if opts.ci == "github" else CIRCLE_CONFIG]
    if opts.ci == "circleci":
        review.append(CIRCLE_ADDITIONAL)
    advisories = ""
    if opts.advisories:
        # The policy file is in .github/; its paths are relative to it.
        advisories = ("# Offline advisory data in the repository (air-gapped CI).\n"
                      f"advisories:\n  database: {json.dumps('../' + opts.advisories)}\n")
    extends = opts.extends
    return _template("policy.yaml", {
        "version": __version__,
        "name": json.dumps(name or "repository"),
        "extends": json.dumps(extends),
        "extends_text": "Mojaloop's policy" if extends == "builtin:mojaloop" else extends,
        "review_paths": ", ".join(json.dumps(p) for p in review),
        "advisories": advisories,
    })


def next_steps(plan: Plan, categories: Sequence[str]) -> str:
    """What to do now: commit, see the baselined findings, shrink the baseline."""
    counts = ", ".join(f"{c} {n}" for c, n in sorted(Counter(categories).items()))
    lines = ["policy-gate: written " + ", ".join([f.path for f in plan.files] + [BASELINE])
             + f" ({len(categories)} finding(s) baselined{': ' if counts else ''}{counts})."]
    if plan.printed is not None:
        lines += [f"policy-gate: {plan.printed_into} exists and was not changed; add this "
                  "job to it (and to a workflow's jobs):", "", "jobs:", plan.printed]
    lines += [
        "Next steps:",
        f"  1. Commit them: git add {' '.join([f.path for f in plan.files] + [BASELINE])}"
        " && git commit -m 'Adopt policy-gate'",
        "     The pull request that adds them changes the gate's own inputs: it gets the "
        "verdict `review` until a security lead merges it.",
        f"  2. See the baselined findings: policy-gate scan . --policy {POLICY} "
        f"--baseline {BASELINE} --format json --output ../policy-gate.json",
        "     passes, counting them as accepted (in the baseline); the JSON report lists "
        "each with \"baselined\": true, and `policy-gate explain FINGERPRINT "
        f"--policy {POLICY} --baseline {BASELINE}` says why one is accepted.",
        "  3. Shrink the baseline: fix a baselined finding, then record again with "
        f"`policy-gate baseline create . --policy {POLICY} --output {BASELINE}`; a "
        "fixed finding drops out, and no new one may be added that way without review.",
        "  New findings fail from now on; accept one deliberately with a waiver in "
        f"{WAIVERS} (reason, owner, expiry: docs/waivers.md).",
    ]
    return "\n".join(lines)


def _repository_top(path: Path) -> Path:
    try:
        repo = Repo.open(path)
    except GitError as exc:
        raise InitError(f"{printable(str(path))} is not a git repository: {exc}") from None
    if repo.prefix:
        raise InitError(f"{printable(str(path))} is inside the repository "
                        f"{printable(str(repo.toplevel))}: run init at its top")
    return repo.toplevel


def _default_branch(root: Path) -> str:
    """main, or master where only that exists (older Mojaloop services)."""
    repo = Repo.open(root)
    for name in ("main", "master"):
        with contextlib.suppress(GitError):
            repo.resolve(f"refs/heads/{name}")
            return name
    return "main"


def _action(ref: str | None) -> tuple[str, str]:
    """owner/repo and commit from --action-ref (a commit id alone means mojaloop's)."""
    if ref and _SHA.fullmatch(ref):
        return DEFAULT_ACTION, ref
    m = _ACTION.fullmatch(ref or "")
    if m is None:
        raise InitError(
            "give --action-ref OWNER/REPO@COMMIT (or the commit alone for "
            f"{DEFAULT_ACTION}): the full 40-hex commit of the policy-gate release "
            f"{__version__} the workflow runs; a tag can be moved, a commit cannot")
    return m["repo"], m["sha"]


def _image(image: str | None) -> str:
    if image is None or not _IMAGE.fullmatch(image):
        raise InitError("give --image NAME@sha256:DIGEST: the policy-gate image "
                        f"({__version__}) pinned by its digest; a tag can be moved")
    return image


def _circleci(root: Path, job: str) -> tuple[str, str | None, str | None]:
    """Where the job goes: a new config; the orb's additional-workflows file beside a
    mojaloop/build config; or, when that file (or another config) exists, nowhere: the job
    is printed, since a pipeline's file holds other jobs and is never rewritten (not even
    with --force). Returns (file, file the printed job belongs in, text or None)."""
    config = root / CIRCLE_CONFIG
    if not _exists(config):
        return CIRCLE_CONFIG, None, ("# CircleCI pipeline, written by `policy-gate init`.\n"
                                     "version: 2.1\n\njobs:\n" + job +
                                     "\nworkflows:\n  policy-gate:\n    jobs:\n"
                                     "      - policy-gate\n")
    if not _uses_build_orb(config):
        return CIRCLE_CONFIG, CIRCLE_CONFIG, None
    if _exists(root / CIRCLE_ADDITIONAL):
        return CIRCLE_ADDITIONAL, CIRCLE_ADDITIONAL, None
    return CIRCLE_ADDITIONAL, None, (
        "# Jobs the mojaloop/build orb merges into its pipeline (written by "
        "`policy-gate init`).\njobs:\n" + job + f"\nworkflows:\n  {ORB_WORKFLOW}:\n"
        "    jobs:\n      - policy-gate:\n          context: org-global\n")


def _uses_build_orb(config: Path) -> bool:
    try:
        doc = load(config.read_bytes(), yaml12_booleans=True).data
    except (OSError, YamlProblem):
        return False
    orbs = doc.get("orbs") if isinstance(doc, dict) else None
    return isinstance(orbs, dict) and any(
        isinstance(v, str) and v.startswith("mojaloop/build@") for v in orbs.values())


def _template(name: str, values: dict[str, str]) -> str:
    text = resources.files("policy_gate").joinpath("init_templates", name).read_text("utf-8")
    missing = {m for m in _PLACEHOLDER.findall(text) if m not in values}
    if missing:  # a template and its values out of step is a bug, not a user error
        raise KeyError(f"{name}: no value for {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: values[m[1]], text)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


@contextlib.contextmanager
def _restoring_on_failure() -> Iterator[list[tuple[Path, bytes | None]]]:
    """Yields the list _write records into; on any failure puts every file back."""
    written: list[tuple[Path, bytes | None]] = []
    try:
        yield written
    except BaseException:
        for path, before in reversed(written):
            with contextlib.suppress(OSError):
                if before is None and path.is_dir() and not path.is_symlink():
                    path.rmdir()  # a directory init made (empty again by now)
                elif before is None:
                    path.unlink()
                else:
                    path.write_bytes(before)
        raise


def _write(root: Path, planned: Planned, force: bool,
           written: list[tuple[Path, bytes | None]]) -> None:
    """Write one file under root, never through a symbolic link (a link in the repository
    could point anywhere); exclusive creation unless --force."""
    target = root / planned.path
    try:
        for parent in reversed(target.relative_to(root).parents):
            here = root / parent
            if here.is_symlink():
                raise InitError(f"cannot write {planned.path}: {parent} is a symbolic link")
            if not here.exists():
                here.mkdir()
                written.append((here, None))
        if target.is_symlink():
            raise InitError(f"cannot write {planned.path}: it is a symbolic link")
        before = target.read_bytes() if force and target.exists() else None
        with target.open("w" if force else "x", encoding="utf-8", newline="\n") as fh:
            written.append((target, before))
            fh.write(planned.text)
    except OSError as exc:
        raise InitError(f"cannot write {planned.path}: {exc.strerror or exc}") from None
