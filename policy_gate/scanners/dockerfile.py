"""Dockerfiles: the base image is explicitly versioned (M9) and the image does not run as
root, expose unlisted ports, use ``ADD`` or upgrade packages wholesale (M4a).

Parsed here, in-process, rather than by hadolint: the gate needs the resolved base image
(``ARG`` defaults substituted into ``FROM``, stage names told apart from images) and the
effective user of the *final* stage, which a line linter does not compute. Nothing in the
scanned tree is executed or fetched.

=============================  =================================================  =========
rule id                        when                                               severity
=============================  =================================================  =========
``unpinned-base-image``        no tag, ``latest``, a floating tag (``lts``,       medium
                               ``alpine``, ``18``, ``18.17``), an ``ARG`` with
                               no default; also ``COPY --from=<image>``
``base-image-not-digest-       versioned (x.y.z) tag but no ``@sha256:`` digest   low
pinned``
``root-user``                  the final stage runs as root (``USER root``, uid   high
                               0 in any spelling: ``0``, ``0000``, ``+0:1000``,
                               ``ContainerAdministrator``; a user that cannot be
                               resolved; or no ``USER`` at all)
``exposed-port``               ``EXPOSE`` of a port outside ``allowed_ports``     medium
``add-instead-of-copy``        ``ADD`` (a remote URL without ``--checksum``:      low
                               medium)
``package-upgrade``            ``apt-get upgrade``/``dist-upgrade``, ``apk        low
                               upgrade``, ``yum``/``dnf update`` of everything
=============================  =================================================  =========

"Explicitly versioned" (M9: ``node:16.15.0-alpine`` is OK, ``lts-alpine3.16`` is not)
means a digest, or a tag that *starts* with a full ``x.y.z`` version: ``node:18`` and
``node:18.17`` move with every patch release, so they are floating too.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from policy_gate import __version__
from policy_gate.base.fileset import FileSet
from policy_gate.base.redact import mask
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.catalogue import DOCKERFILE
from policy_gate.findings import CI, Confidence, Finding, Severity, Source, content_key
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext, Scanner, unscanned_finding

RULE_UNPINNED = "unpinned-base-image"
RULE_NOT_DIGEST = "base-image-not-digest-pinned"
RULE_ROOT = "root-user"
RULE_PORT = "exposed-port"
RULE_ADD = "add-instead-of-copy"
RULE_UPGRADE = "package-upgrade"

_BEST = "https://docs.docker.com/build/building/best-practices/"
HELP = {
    RULE_UNPINNED: _BEST + "#pin-base-image-versions",
    RULE_NOT_DIGEST: _BEST + "#pin-base-image-versions",
    RULE_ROOT: _BEST + "#user",
    RULE_PORT: "https://docs.docker.com/reference/dockerfile/#expose",
    RULE_ADD: _BEST + "#add-or-copy",
    RULE_UPGRADE: _BEST + "#apt-get",
}
TITLES = {
    RULE_UNPINNED: "Base image not explicitly versioned",
    RULE_NOT_DIGEST: "Base image not pinned by digest",
    RULE_ROOT: "Container runs as root",
    RULE_PORT: "Port outside the allowlist exposed",
    RULE_ADD: "ADD instead of COPY",
    RULE_UPGRADE: "Package-manager upgrade in the image build",
}

INSTRUCTIONS = frozenset(
    {
        "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
        "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
        "HEALTHCHECK", "SHELL",
    }
)
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"(?<!<)<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$")
# A full x.y.z version at the start of the tag (optionally `v`): 16.15.0-alpine, 3.12.13-slim.
_VERSIONED_TAG = re.compile(r"^v?\d+\.\d+\.\d+(?![\d.])")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash"})


class DockerfileError(Exception):
    """The file is not a Dockerfile we can read; reported as not analysed."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the logical line after the keyword, continuations joined
    line: int  # first physical line (1-based)
    end_line: int
    heredocs: tuple[str, ...] = ()  # bodies of `<<EOF` documents, in order


@dataclass
class Stage:
    index: int
    name: str | None
    base: str  # the image or stage reference as resolved
    line: int
    parent: Stage | None  # the stage it is built FROM, when it names one
    instructions: list[Instruction] = field(default_factory=list)
    vars: dict[str, str | None] = field(default_factory=dict)


class _Add(Protocol):
    """How the rule helpers record a finding (made by _recorder)."""

    def __call__(self, rule: str, ins: Instruction, severity: Severity,
                 confidence: Confidence, message: str, fix: str,
                 line: int | None = None) -> None: ...


# -- parsing ---------------------------------------------------------------------------


def parse(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions as BuildKit does: parser directives, escape
    character, continuations (comment lines inside them dropped), heredocs."""
    lines = text.splitlines()
    escape = "\\"
    i = 0
    seen: set[str] = set()
    while i < len(lines):  # parser directives: only at the very top
        m = _DIRECTIVE.match(lines[i])
        if not m or m[1].lower() in seen:
            break
        name = m[1].lower()
        seen.add(name)
        if name == "escape":
            if m[2] not in ("\\", "`"):
                raise DockerfileError(f"invalid escape directive {m[2]!r}", i + 1)
            escape = m[2]
        i += 1

    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        current = raw
        while True:
            body = current.rstrip()
            if body.endswith(escape):
                parts.append(body[: -len(escape)])
                i += 1
                # comment and blank lines inside a continuation are skipped
                while i < len(lines) and (
                    not lines[i].strip() or lines[i].lstrip().startswith("#")
                ):
                    i += 1
                if i >= len(lines):
                    break
                current = lines[i]
                continue
            parts.append(current)
            break
        end = i
        i += 1
        logical = " ".join(p.strip() for p in parts).strip()
        keyword, _, args = logical.partition(" ")
        keyword = keyword.upper()
        if keyword not in INSTRUCTIONS:
            raise DockerfileError(f"unknown instruction {keyword[:40]!r}", start + 1)
        heredocs: list[str] = []
        if keyword in ("RUN", "COPY", "ADD"):
            for m in _HEREDOC.finditer(args):
                strip_tabs, word = m[1] == "-", m[3]
                doc: list[str] = []
                while True:
                    if i >= len(lines):
                        raise DockerfileError(
                            f"heredoc <<{word} is not terminated", start + 1
                        )
                    candidate = lines[i].lstrip("\t") if strip_tabs else lines[i]
                    i += 1
                    if candidate.rstrip("\r") == word:
                        break
                    doc.append(candidate)
                heredocs.append("\n".join(doc))
            end = i - 1 if heredocs else end
        out.append(Instruction(keyword, args.strip(), start + 1, end + 1, tuple(heredocs)))
    return out


def substitute(value: str, variables: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """Expand $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}; return the
    text and the names that had no value (the result cannot be trusted for those)."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m[1] or m[4]
        op, word = m[2], m[3] or ""
        current = variables.get(name)
        unset = current is None
        empty = unset or current == ""
        if op == ":-":
            return word if empty else str(current)
        if op == "-":
            return word if unset else str(current)
        if op == ":+":
            return "" if empty else word
        if op == "+":
            return "" if unset else word
        if current is None:
            missing.append(name)
            return ""
        return current

    result = _VAR.sub(repl, value)
    if "${" in result:  # a form this parser does not know (${VAR#pattern}, …)
        missing.append(result[result.index("${"):])
    return result, missing


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def _exec_form(args: str) -> list[str] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _flags(args: str) -> tuple[dict[str, str], str]:
    """Leading `--name=value` / `--name` flags of FROM, RUN, COPY, ADD, and the rest."""
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        flags[name.lower()] = value
        rest = rest.lstrip()
    return flags, rest


def _assignments(args: str) -> list[tuple[str, str | None]]:
    """`ARG A=1 B`, `ENV A=1 B=2` and the legacy `ENV A 1`."""
    words = _words(args)
    if words and "=" not in words[0] and len(words) > 1:
        return [(words[0], " ".join(words[1:]))]  # ENV NAME value
    pairs: list[tuple[str, str | None]] = []
    for w in words:
        name, eq, value = w.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


# -- image references ------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    rule: str | None  # None: fine
    why: str


def judge_image(ref: str) -> Verdict:
    """Is an image reference explicitly versioned (M9), and is it digest-pinned?"""
    if _DIGEST.search(ref):
        return Verdict(None, "pinned by digest")
    if "@" in ref:
        return Verdict(RULE_UNPINNED, f"'{ref}' has a malformed digest")
    last = ref.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag:
        return Verdict(RULE_UNPINNED, f"'{ref}' has no tag, so it means ':latest'")
    if tag == "latest":
        return Verdict(RULE_UNPINNED, f"'{ref}' uses the moving 'latest' tag")
    if not _VERSIONED_TAG.match(tag):
        return Verdict(
            RULE_UNPINNED,
            f"'{ref}' uses the floating tag '{tag}' (no full x.y.z version: it moves to new "
            "releases without a change to this file)",
        )
    return Verdict(RULE_NOT_DIGEST, f"'{ref}' is versioned but not pinned by digest")


# `user:password@registry/image` written where an image belongs (not a digest after the @):
# the findings.py URL masking needs a scheme, an image reference has none.
_REGISTRY_CREDENTIALS = re.compile(r"(?<![\w.+-])([\w.+-]+):([^\s@/'\"]+)@(?!sha\d{3}:)")


def mask_registry_credentials(text: str) -> str:
    if "@" not in text:
        return text
    return _REGISTRY_CREDENTIALS.sub(lambda m: f"{mask(m[1])}:{mask(m[2])}@", text)


# -- the scanner -----------------------------------------------------------------------


def is_dockerfile(path: str) -> bool:
    """Dockerfile, Containerfile, Dockerfile.<variant>, <variant>.Dockerfile (not
    Dockerfile.dockerignore, and not `dockerfile.py`: the prefix form is case-sensitive)."""
    name = path.rsplit("/", 1)[-1]
    lower = name.lower()
    if lower.endswith(".dockerignore"):
        return False
    return (
        lower in ("dockerfile", "containerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or lower.endswith((".dockerfile", ".containerfile"))
    )


class DockerfileScanner(Scanner):
    info = DOCKERFILE
    executable = ""  # in-process

    def version(self, ctx: ScanContext) -> str:
        return __version__

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return tuple(f for f in fileset.files if is_dockerfile(f))

    def scan(self, ctx: ScanContext) -> ScanOutput:
        files = self.targets(ctx.fileset)
        options = ctx.settings.options
        limit = ctx.max_file_bytes
        allowed = frozenset(int(p) for p in options.get("allowed_ports", ()))
        findings: list[Finding] = []
        for rel in files:
            try:
                text = read_tree_file(ctx.root / rel, limit).decode("utf-8")
            except TreeFileError as exc:
                findings.append(unscanned_finding(self.name, rel, str(exc)))
                continue
            except UnicodeDecodeError as exc:
                findings.append(
                    unscanned_finding(self.name, rel, f"not UTF-8 text (byte {exc.start})")
                )
                continue
            try:
                findings += check(self.name, rel, text, allowed)
            except DockerfileError as exc:
                reason = mask_registry_credentials(exc.reason)
                findings.append(unscanned_finding(self.name, rel, reason, exc.line))
        return ScanOutput(findings, self.version(ctx), len(findings), len(files))


def check(scanner: str, rel: str, text: str, allowed_ports: frozenset[int]) -> list[Finding]:
    """Every finding for one Dockerfile. Raises DockerfileError when it cannot be read."""
    out: list[Finding] = []
    add = _recorder(scanner, rel, out)
    build = _Build()
    for ins in parse(text):
        build.read(ins, add)
    if not build.stages:
        raise DockerfileError("no FROM instruction")
    chain = build.final_chain()
    _check_user(chain, add)
    if allowed_ports:
        for stage in reversed(chain):
            for ins in stage.instructions:
                if ins.keyword == "EXPOSE":
                    _check_expose(ins, stage.vars, allowed_ports, add)
    return out


def _recorder(scanner: str, rel: str, out: list[Finding]) -> _Add:
    """How the rules record a finding about ``rel`` in ``out``: its message and fix masked
    of registry credentials, its identity the instruction's text."""

    def add(rule: str, ins: Instruction, severity: Severity, confidence: Confidence,
            message: str, fix: str, line: int | None = None) -> None:
        message, fix = mask_registry_credentials(message), mask_registry_credentials(fix)
        out.append(
            Finding(
                category=CI,
                sources=(Source(scanner, rule, severity, confidence, message),),
                path=rel,
                start_line=line or ins.line,
                end_line=line or ins.end_line,
                message=message,
                flaw_key=f"{scanner}:{rule}",
                content_key=content_key(f"{ins.keyword} {ins.args}"),
                title=TITLES[rule],
                help_url=HELP[rule],
                fix=fix,
            )
        )

    return add


@dataclass
class _Build:
    """The stages read so far, as a build resolves them: which image each starts from and
    which variables it sees. The instruction-level rules (images, ADD, RUN) are checked
    as it goes; the final stage's user and ports once every stage is known."""

    # Global ARGs (before the first FROM) are the only variables FROM can use.
    global_args: dict[str, str | None] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    by_name: dict[str, Stage] = field(default_factory=dict)

    def earlier(self, ref: str) -> Stage | None:
        """The stage ``ref`` names (by name or by index), if it is one read so far."""
        stage = self.by_name.get(ref.lower())
        if stage is None and ref.isdigit() and int(ref) < len(self.stages):
            stage = self.stages[int(ref)]
        return stage

    def read(self, ins: Instruction, add: _Add) -> None:
        if ins.keyword == "ARG" and not self.stages:
            for name, value in _assignments(ins.args):
                self.global_args[name] = value
        elif ins.keyword == "FROM":
            self._start_stage(ins, add)
        elif not self.stages:
            raise DockerfileError(f"{ins.keyword} before the first FROM", ins.line)
        else:
            self._in_stage(self.stages[-1], ins, add)

    def _start_stage(self, ins: Instruction, add: _Add) -> None:
        """FROM: a new stage, built on an earlier one or on an image (checked: M9)."""
        _, rest = _flags(ins.args)
        words = rest.split()
        if not words or (len(words) not in (1, 3)) or (
            len(words) == 3 and words[1].lower() != "as"
        ):
            raise DockerfileError(f"cannot read 'FROM {ins.args}'", ins.line)
        ref, missing = substitute(words[0], self.global_args)
        stage_name = words[2].lower() if len(words) == 3 else None
        parent = self.earlier(ref)
        stage = Stage(len(self.stages), stage_name, ref, ins.line, parent)
        stage.vars.update(parent.vars if parent else {})
        self.stages.append(stage)
        if stage_name:
            self.by_name[stage_name] = stage
        if parent is None and ref.lower() != "scratch":
            _check_image(ins, ref, missing, "base image", add)

    def _in_stage(self, stage: Stage, ins: Instruction, add: _Add) -> None:
        """Any other instruction: the stage's variables, and the rules about it."""
        stage.instructions.append(ins)
        if ins.keyword == "ARG":
            for name, value in _assignments(ins.args):
                stage.vars[name] = value if value is not None else self.global_args.get(name)
        elif ins.keyword == "ENV":
            for name, value in _assignments(ins.args):
                stage.vars[name] = value or ""
        elif ins.keyword == "COPY":
            flags, _ = _flags(ins.args)
            source = flags.get("from")
            if source:
                ref, missing = substitute(source, stage.vars | self.global_args)
                if self.earlier(ref) is None:
                    _check_image(ins, ref, missing, "COPY --from image", add)
        elif ins.keyword == "ADD":
            _check_add(ins, add)
        elif ins.keyword == "RUN":
            _check_run(ins, add)

    def final_chain(self) -> list[Stage]:
        """The final stage, then each stage it is built on: what the image runs as."""
        chain = [self.stages[-1]]
        while chain[-1].parent is not None:
            chain.append(chain[-1].parent)
        return chain


def _check_image(ins: Instruction, ref: str, missing: list[str], what: str, add: _Add) -> None:
    """An image a build pulls (FROM, COPY --from) is explicitly versioned (M9) and pinned."""
    if missing:
        names = ", ".join(sorted(set(missing)))
        add(RULE_UNPINNED, ins, Severity.MEDIUM, Confidence.HIGH,
            f"{what} '{ins.args}' depends on {names}, which has no default here, so "
            "the image is whatever the build passes in (M9).",
            "Give the ARG a default that names a versioned image pinned by digest, "
            "e.g. ARG NODE_IMAGE=node:18.17.1-alpine@sha256:<digest>.")
        return
    verdict = judge_image(ref)
    if verdict.rule == RULE_UNPINNED:
        add(RULE_UNPINNED, ins, Severity.MEDIUM, Confidence.HIGH,
            f"{what}: {verdict.why}. A floating base lets upstream change what is built "
            "and shipped (M9: node:16.15.0-alpine is OK, lts-alpine3.16 is not).",
            "Use a full version tag and pin its digest, e.g. "
            "node:18.17.1-alpine@sha256:<digest> (docker buildx imagetools inspect "
            "<image> prints it).")
    elif verdict.rule == RULE_NOT_DIGEST:
        add(RULE_NOT_DIGEST, ins, Severity.LOW, Confidence.HIGH,
            f"{what}: {verdict.why}; a tag can be re-pushed, a digest cannot.",
            f"Append the digest: {ref}@sha256:<digest> (keep the tag for readers).")


# uid 0 as the runtime reads it (strconv.Atoi: a sign and any number of zeros), and the
# administrators of Windows containers (user names there are case-insensitive).
_UID_ZERO = re.compile(r"[+-]?0+")
_WINDOWS_ADMINS = frozenset({"containeradministrator", "nt authority\\system"})


def effective_user(args: str, variables: Mapping[str, str | None]) -> str | None:
    """The user part of a USER instruction as the build sees it: variables substituted,
    quotes and escapes removed (BuildKit's word processing). None: it cannot be known."""
    value, missing = substitute(args.strip(), variables)
    words = _words(value)
    if missing or len(words) != 1:
        return None
    user = words[0].split(":", 1)[0]
    return user or None


def is_root(user: str) -> bool:
    """Every spelling of uid 0: root, 0, 00, +0, ContainerAdministrator."""
    return user == "root" or bool(_UID_ZERO.fullmatch(user)) or user.casefold() in _WINDOWS_ADMINS


def _check_user(chain: list[Stage], add: _Add) -> None:
    for stage in chain:  # final stage first, then the stages it builds on
        users = [i for i in stage.instructions if i.keyword == "USER"]
        if not users:
            continue
        ins = users[-1]
        user = effective_user(ins.args, stage.vars)
        if user is None:
            # Unknown is not safe: graded as root, so the gate fails closed.
            add(RULE_ROOT, ins, Severity.HIGH, Confidence.HIGH,
                f"The final image's user is '{ins.args}', which cannot be resolved here "
                "(a variable without a value, or no user name), so it is treated as root: "
                "if it is root, a flaw in the service becomes root in the container (M4a).",
                "Set a fixed non-root user, e.g. USER 1000:1000 (node images: USER node), "
                "or give the ARG a non-root default.")
        elif is_root(user):
            add(RULE_ROOT, ins, Severity.HIGH, Confidence.HIGH,
                f"The final image runs as root (USER {ins.args}, user '{user}' is uid 0): a "
                "flaw in the service becomes root in the container (M4a).",
                "End the final stage with a non-root user, e.g. USER 1000:1000 "
                "(node images: USER node).")
        return
    top = chain[-1]
    first = chain[0]
    line_ins = Instruction("FROM", first.base, first.line, first.line)
    scratch = top.base.lower() == "scratch"
    add(RULE_ROOT, line_ins, Severity.HIGH, Confidence.HIGH if scratch else Confidence.MEDIUM,
        "The final stage has no USER instruction, so the container runs as the base "
        f"image's user ('{top.base}'), which is root for node, python, alpine and most "
        "others (M4a).",
        "Add a non-root user at the end of the final stage, e.g. USER 1000:1000 "
        "(node images: USER node).")


def _check_add(ins: Instruction, add: _Add) -> None:
    flags, rest = _flags(ins.args)
    sources = _exec_form(rest) or _words(rest)
    sources = sources[:-1] if len(sources) > 1 else sources
    remote = [s for s in sources if re.match(r"^(https?://|git@|git://|ssh://)", s)]
    if remote and "checksum" not in flags:
        add(RULE_ADD, ins, Severity.MEDIUM, Confidence.HIGH,
            f"ADD downloads {remote[0]} at build time without a checksum: whatever that URL "
            "serves goes into the image, unverified (M4a).",
            "Download in a RUN step and verify a pinned checksum (or ADD --checksum=sha256:…), "
            "or vendor the file and COPY it.")
    else:
        add(RULE_ADD, ins, Severity.LOW, Confidence.HIGH,
            "ADD also fetches URLs and unpacks archives implicitly; COPY does only what it "
            "says (M4a warns on ADD).",
            "Use COPY for local files; unpack archives explicitly in a RUN step.")


def _check_run(ins: Instruction, add: _Add) -> None:
    _, rest = _flags(ins.args)
    exec_form = _exec_form(rest)
    scripts = [" ".join(exec_form)] if exec_form is not None else [rest]
    for m, body in zip(_HEREDOC.finditer(rest), ins.heredocs, strict=False):
        before = rest[: m.start()].strip()
        if not before or before in _SHELLS or before.split()[-1] in _SHELLS:
            scripts.append(body)  # the heredoc is the script itself
    for script in scripts:
        found = find_upgrade(script)
        if found:
            add(RULE_UPGRADE, ins, Severity.LOW, Confidence.HIGH,
                f"'{found}' upgrades every package in the image to whatever the mirror "
                "has today: builds stop being reproducible and the base image's tested "
                "state is lost (M4a warns on it).",
                "Move to a newer (pinned) base image instead, or upgrade only the packages "
                "a security fix needs (apt-get install --only-upgrade <pkg>).")
            return


_SEPARATORS = re.compile(r"&&|\|\||[;|&\n()]")
_APT_VALUE_OPTS = frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release"})


def find_upgrade(script: str) -> str | None:
    """The first whole-system package upgrade in a shell script, or None."""
    for command in _SEPARATORS.split(script.replace("\\\n", " ")):
        words = _words(command)
        while words and (words[0] in ("sudo", "env", "exec", "command")
                         or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
            words = words[1:]
        if not words:
            continue
        tool = words[0].rsplit("/", 1)[-1]
        args: list[str] = []
        skip = False
        for w in words[1:]:
            if skip:
                skip = False
                continue
            if w.startswith("-"):
                skip = tool in ("apt-get", "apt") and w in _APT_VALUE_OPTS
                continue
            args.append(w)
        if not args:
            continue
        sub, packages = args[0], args[1:]
        text = " ".join(words)
        if tool in ("apt-get", "apt") and sub in ("upgrade", "dist-upgrade", "full-upgrade"):
            return text
        if tool == "apk" and sub == "upgrade" and not packages:
            return text
        if tool in ("yum", "dnf", "microdnf", "tdnf") and sub in (
            "update", "upgrade", "distro-sync", "upgrade-minimal", "update-minimal"
        ) and not packages:
            return text
        if tool == "zypper" and sub in ("update", "up", "dist-upgrade", "dup") and not packages:
            return text
    return None


def _check_expose(ins: Instruction, variables: Mapping[str, str | None],
                  allowed: frozenset[int], add: _Add) -> None:
    for word in ins.args.split():
        value, missing = substitute(word, variables)
        spec = value.split("/", 1)[0]
        low, _, high = spec.partition("-")
        if missing or not low.isdigit() or (high and not high.isdigit()):
            add(RULE_PORT, ins, Severity.MEDIUM, Confidence.MEDIUM,
                f"EXPOSE {word}: the port cannot be resolved here, so it cannot be checked "
                f"against the allowed ports {sorted(allowed)} (M4a).",
                "EXPOSE a literal port from the policy's dockerfile.allowed_ports.")
            continue
        ports = range(int(low), int(high or low) + 1)
        outside = [p for p in ports if p not in allowed]
        if outside:
            add(RULE_PORT, ins, Severity.MEDIUM, Confidence.HIGH,
                f"EXPOSE {word}: port {outside[0]} is not in the policy's allowed ports "
                f"{sorted(allowed)}; every open port is attack surface (M4a).",
                "Remove the EXPOSE, or add the port to scanners.dockerfile.allowed_ports in "
                "the policy if the service really listens on it.")
