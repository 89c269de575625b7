"""detect-secrets: committed credentials. Run on explicit files from the shared walk (so
no git, no ignore files and no symlinks decide what is read), with the filters that would
let a pull request hide a secret switched off, and without network verification."""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_gate.base.fileset import FileSet
from policy_gate.base.process import (
    ScannerError,
    console_script,
    find_tool,
    run_tool,
    scanner_env,
    stderr_tail,
)
from policy_gate.base.redact import find_secret, mask, sha1_hex
from policy_gate.base.treefile import TreeFileError, read_line, read_tree_file
from policy_gate.catalogue import DETECT_SECRETS
from policy_gate.findings import (
    SECRET,
    Confidence,
    Finding,
    SecretInfo,
    Severity,
    Source,
    sha256_hex,
)
from policy_gate.results import ScanOutput
from policy_gate.scanners.detect_secrets_prefilter import NOT_APPLIED
from policy_gate.scanners.filetext import Text, as_text
from policy_gate.scanners.interface import (
    LeftOut,
    ScanContext,
    Scanner,
    chunked,
    map_batches,
    parse_report,
    require,
    split_evenly,
    tree_path,
)
from policy_gate.scanners.secret_shapes import grade as grade_secret

UNKNOWN_PREVIEW = "********"
BINARY_NOTE = "binary files not scanned for secrets (NUL byte found)"
LOCK_NOTE = "lock files scanned without the high-entropy plugins"
# Text detect-secrets cannot read itself (it drops whatever is not UTF-8, silently): a
# UTF-8 copy is scanned instead, line for line (policy_gate.scanners.filetext).
DECODED_NOTES = {
    "bom": "files in UTF-16/UTF-32 (byte-order mark) scanned as text",
    "shape": "files in UTF-16 without a byte-order mark scanned as text",
    "declared": "files in the encoding they declare (e.g. Latin-1) scanned as text",
    "lossy": "text files that are not valid UTF-8 and declare no encoding scanned with "
             "undecodable bytes replaced",
}
# Files per detect-secrets run: at least MIN_BATCH_FILES, or a process's share of the files
# in BATCHES_PER_PROCESS runs when that is more. Enough runs for useful progress on a big
# tree, few enough that its ~0.3 s start-up stays small next to the work: on 100,000 tiny
# files, batches of 500 spent more time starting detect-secrets than scanning.
MIN_BATCH_FILES = 500
BATCHES_PER_PROCESS = 8

_FILTERS = "detect_secrets.filters."
# An inline `pragma: allowlist secret` is written by whoever writes the code, including the
# pull request under review: detect-secrets reports every secret and the gate decides about
# each pragma itself (policy_gate.policy.suppressions).
ALLOWLIST_FILTER = _FILTERS + "allowlist.is_line_allowlisted"
# Filters that skip whole files by name. The gate already skips binaries by content, and
# these would silently hide e.g. any path containing "swagger" (every Mojaloop API spec) or
# an IDE settings file (.iml, .prefs) with a database password.
ALWAYS_DISABLED_FILTERS = (
    _FILTERS + "heuristic.is_non_text_file",
    _FILTERS + "heuristic.is_swagger_file",
)
# Lock files are full of integrity hashes that the entropy plugins would flag by the
# hundred, but they also carry registry URLs with tokens in them: scan them with every
# plugin except the entropy ones instead of not at all.
LOCK_FILTER = _FILTERS + "heuristic.is_lock_file"
ENTROPY_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString")
LOCK_FILES = frozenset(
    {
        "Brewfile.lock.json",
        "Cartfile.resolved",
        "composer.lock",
        "Gemfile.lock",
        "Package.resolved",
        "package-lock.json",
        "Podfile.lock",
        "yarn.lock",
        "Pipfile.lock",
        "poetry.lock",
        "Cargo.lock",
        "packages.lock.json",
    }
)

_S, _C = Severity, Confidence
_HIGH = (_S.HIGH, _C.HIGH)
# Keyed by detect-secrets' `secret_type` strings (plugins' class attribute in 1.5).
GRADES: Mapping[str, tuple[Severity, Confidence]] = {
    "Private Key": (_S.CRITICAL, _C.HIGH),
    "AWS Access Key": _HIGH,
    "GitHub Token": _HIGH,
    "GitLab Token": _HIGH,
    "Slack Token": _HIGH,
    "Stripe Access Key": _HIGH,
    "Twilio API Key": _HIGH,
    "SendGrid API Key": _HIGH,
    "NPM tokens": _HIGH,
    "PyPI Token": _HIGH,
    "OpenAI Token": _HIGH,
    "Azure Storage Account access key": _HIGH,
    "Discord Bot Token": _HIGH,
    "Telegram Bot Token": _HIGH,
    "Mailchimp Access Key": _HIGH,
    "Artifactory Credentials": _HIGH,
    "IBM Cloud IAM Key": _HIGH,
    "IBM COS HMAC Credentials": _HIGH,
    "SoftLayer Credentials": _HIGH,
    "Square OAuth Secret": _HIGH,
    "Basic Auth Credentials": (_S.HIGH, _C.MEDIUM),
    "Cloudant Credentials": (_S.HIGH, _C.MEDIUM),
    "JSON Web Token": (_S.MEDIUM, _C.MEDIUM),
    "Secret Keyword": (_S.MEDIUM, _C.LOW),
    "Base64 High Entropy String": (_S.MEDIUM, _C.LOW),
    "Hex High Entropy String": (_S.MEDIUM, _C.LOW),
    "Public IP (ipv4)": (_S.LOW, _C.LOW),
}
UNKNOWN_GRADE = (_S.MEDIUM, _C.MEDIUM)


def plan(jobs: int) -> tuple[int, int]:
    """(parallel detect-secrets processes, --cores for each).

    Without --cores, every multi-file detect-secrets run starts a pool of cpu_count()
    workers, so `jobs` runs side by side would oversubscribe the machine; the budget of
    `jobs` cores is split explicitly instead. On Django 4.2 (2,407 text files, 2 cores)
    `jobs` runs of one core and one run of `jobs` cores were equal within noise (42-52 s).
    """
    return max(1, jobs), 1


def detect_secrets_command() -> list[str]:
    """How to start detect-secrets: through its own interpreter with the line prefilter
    (policy_gate.scanners.detect_secrets_prefilter: same report, ~6x less CPU) when the
    executable is the console script pip installs; otherwise the executable as it is."""
    exe = find_tool("detect-secrets")
    script = console_script(exe) if exe else None
    if script is None or not script.module.startswith("detect_secrets."):
        return ["detect-secrets"]  # run_tool runs it, or reports it missing
    # -I: the prefilter's own directory (this package, which has a detect_secrets.py) must
    # not shadow the real detect_secrets; -X utf8 since -I ignores PYTHONUTF8.
    return [script.interpreter, "-I", "-B", "-X", "utf8", str(PREFILTER)]


PREFILTER = Path(__file__).with_name("detect_secrets_prefilter.py")


def rule_id(kind: str) -> str:
    """A stable id from the type name ('Public IP (ipv4)' -> 'public-ip-ipv4'), so waivers
    and baselines can name a rule without depending on the plugin's class name."""
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "unknown"


@dataclass(frozen=True, slots=True)
class _Inventory:
    """Which files go to detect-secrets, and which cannot and why."""

    regular: tuple[str, ...]
    lock: tuple[str, ...]
    binary: tuple[str, ...]
    left_out: LeftOut  # too big or unreadable: an unscanned finding each
    # files whose text detect-secrets reads from a UTF-8 copy (see DECODED_NOTES)
    decoded: dict[str, Text] = field(default_factory=dict)

    @property
    def text_files(self) -> int:
        return len(self.regular) + len(self.lock)

    def file_notes(self) -> dict[str, str]:
        """How each file not read as plain UTF-8 with every plugin was treated."""
        notes = {rel: BINARY_NOTE for rel in self.binary}
        notes.update((rel, DECODED_NOTES[text.how]) for rel, text in self.decoded.items())
        notes.update((rel, LOCK_NOTE) for rel in self.lock)
        return notes


# One detect-secrets run: (argv, its files, the directory they are read from).
_Batch = tuple[list[str], list[str], Path]


class DetectSecretsScanner(Scanner):
    info = DETECT_SECRETS
    executable = "detect-secrets"
    distribution = "detect-secrets"

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return fileset.files

    def scan(self, ctx: ScanContext) -> ScanOutput:
        version = self.version(ctx)
        inv = _inventory(ctx.root, self.targets(ctx.fileset), ctx.max_file_bytes)
        # the UTF-8 copies live only as long as this scan
        with tempfile.TemporaryDirectory(prefix="decoded-", dir=ctx.work_dir) as tmp:
            copies = _write_copies(Path(tmp), inv.decoded)
            return self._scan(ctx, version, inv, copies)

    def _scan(
        self, ctx: ScanContext, version: str, inv: _Inventory, copies: Path
    ) -> ScanOutput:
        """detect-secrets over the inventory's text files (the decoded ones through their
        copies), in parallel batches; then one finding per result and per file left out."""
        processes, cores = plan(ctx.jobs)
        work = _batches(inv, ctx.root, copies, processes, cores)
        reports, notes = self._run_batches(ctx, work, processes, inv.text_files)
        findings = self._results(ctx, reports, copies, inv)
        findings += inv.left_out.findings
        return ScanOutput(
            findings, version, len(findings), inv.text_files, sorted(notes),
            unread=(*inv.binary, *inv.left_out.paths),
            file_notes=inv.file_notes(),
        )

    def _run_batches(
        self, ctx: ScanContext, work: list[_Batch], processes: int, total: int
    ) -> tuple[list[Any], set[str]]:
        """Every batch's report, on ``processes`` threads with progress over ``total``
        files, and the notes the runs gave (the prefilter not applied)."""
        done = 0
        lock = threading.Lock()
        notes: set[str] = set()

        def run(item: _Batch) -> Any:
            nonlocal done
            argv, batch, cwd = item
            # "./" keeps a file named "-x" from being read as an option. A lone file takes
            # detect-secrets' single-file path, which turns a backslash in a name into "/"
            # and then silently fails to open the file: naming it twice keeps every run on
            # the multi-file path (results are a set per file, so nothing is doubled).
            names = batch * 2 if len(batch) == 1 else batch
            full = [*argv, *(f"./{f}" for f in names)]
            completed = run_tool(
                self.name,
                full,
                timeout=ctx.settings.timeout,
                cwd=cwd,
                # Read files as UTF-8 whatever the runner's locale: under another encoding
                # detect-secrets silently drops files it cannot decode.
                env=scanner_env({"PYTHONUTF8": "1"}),
            )
            if completed.returncode != 0:
                raise ScannerError(
                    self.name, f"exited {completed.returncode}{stderr_tail(completed)}"
                )
            report = parse_report(self.name, completed)
            if NOT_APPLIED in completed.stderr:
                notes.add("the line prefilter was not applied (detect-secrets version not "
                          "checked against it): results are the same, only slower")
            with lock:
                done += len(batch)
                message = f"{done}/{total} files"
            ctx.progress(self.name, message)
            return report

        return map_batches(run, work, processes), notes

    def _results(
        self, ctx: ScanContext, reports: list[Any], copies: Path, inv: _Inventory
    ) -> list[Finding]:
        """One finding per secret in the reports, failing closed on an unexpected shape."""
        findings: list[Finding] = []
        cache: dict[Path, list[str]] = {}
        for report in reports:
            results = require(self.name, report, "results", dict, "report")
            for key, items in results.items():
                if not isinstance(items, list):
                    raise ScannerError(
                        self.name, f"unexpected output: results[{key!r}] is not a list"
                    )
                for i, item in enumerate(items):
                    where = f"results[{key!r}][{i}]"
                    findings.append(self._finding(ctx, item, where, cache, copies, inv))
        return findings

    def _finding(
        self, ctx: ScanContext, item: Any, where: str, cache: dict[Path, list[str]],
        copies: Path, inv: _Inventory,
    ) -> Finding:
        kind = require(self.name, item, "type", str, where)
        path = tree_path(require(self.name, item, "filename", str, where))
        # the line as detect-secrets read it: from the UTF-8 copy when there is one
        source = (copies if path in inv.decoded else ctx.root) / path
        hashed = require(self.name, item, "hashed_secret", str, where).lower()
        line = require(self.name, item, "line_number", int, where)
        require(self.name, item, "is_verified", bool, where)
        if not re.fullmatch(r"[0-9a-f]{40}", hashed):
            raise ScannerError(self.name, f"unexpected output: {where}.hashed_secret is not SHA-1")
        severity, confidence = GRADES.get(kind, UNKNOWN_GRADE)
        read_line(source, line, cache)  # the file's lines, into the cache
        line, value = locate(kind, hashed, cache.get(source, []), line)
        text = read_line(source, line, cache)
        # identified by the whole credential, as kingfisher identifies it (a PEM key: by
        # its BEGIN header, which is what detect-secrets hashes)
        ident = sha1_hex(value) if value else hashed
        preview = mask(value) if value else UNKNOWN_PREVIEW
        confidence, message = graded(kind, confidence, value, text, path,
                                     f"({preview}, sha1:{ident[:7]}…)",
                                     read_line(source, line - 1, cache))
        key, end = ident, line
        if kind == PRIVATE_KEY:
            # detect-secrets hashes only the BEGIN line, the same for every RSA key: identify
            # the key by its body, so a baselined key swapped for another one is new; and
            # span it to END, so diff mode sees a change of the body as a change of the key.
            body, end = _key_block(cache.get(source, []), line)
            key = body or ident
        return Finding(
            category=SECRET,
            sources=(Source(self.name, rule_id(kind), severity, confidence, message),),
            path=path,
            start_line=line,
            end_line=end,
            message=message,
            flaw_key=f"secret:{ident}",
            content_key=key,
            title=f"{kind} in source",
            secret=SecretInfo(kind=kind, preview=preview, hash=f"sha1:{ident}"),
        )


PRIVATE_KEY = "Private Key"
# Plugins that found the value by its entropy alone, or by a credential name beside it
# (every other plugin matches a provider's format): policy_gate.scanners.secret_shapes
# grades these by what the value is and where it stands.
ENTROPY_KINDS = frozenset({"Base64 High Entropy String", "Hex High Entropy String"})
KEYWORD_KIND = "Secret Keyword"
# The line is searched for the flagged value up to this length (an ILP packet in a
# Postman collection's request body sits well past the first 512 characters).
MAX_GRADED_LINE = 65536
ROTATE = "Rotate it, remove it from the code and history, and load it from a secret store."


# What a plugin hashes is not always the credential: detect-secrets 1.5 hashes a regex's
# groups when it has any (GitHub Token: "ghp"; GitLab Token: "glpat"; Azure: the key with
# "AccountKey=" before it), and some regexes stop short of the provider's format (a Stripe
# key's first 24 characters, a JWT without its signature, a Discord or OpenAI token's
# older length). Each pattern's group "h" is the plugin's own regex (what it hashes), the
# whole match or group "v" the credential as kingfisher reports it, so that the two
# engines agree on its sha1 and are one finding. tests/test_engines_agree.py checks each
# against both real engines.
FULL_VALUES: Mapping[str, tuple[re.Pattern[str], ...]] = {
    "GitHub Token": (re.compile(r"(?P<h>ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}"),),
    "GitLab Token": (
        re.compile(r"(?P<h>glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)"),
        re.compile(r"glcbt-(?P<h>[0-9a-fA-F]{2}_)[A-Za-z0-9_\-]{20,50}(?!\w)"),
    ),
    "Stripe Access Key": (re.compile(r"(?P<h>(?:r|s)k_live_[0-9a-zA-Z]{24})[0-9a-zA-Z]*"),),
    "OpenAI Token": (re.compile(
        r"(?P<h>sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})[A-Za-z0-9_-]*"),),
    "Discord Bot Token": (re.compile(
        r"(?P<h>[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27})[a-zA-Z\d_-]*"),),
    # the plugin's last part is lazy: it hashes "header.payload." without the signature
    "JSON Web Token": (re.compile(
        r"(?P<h>eyJ[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.?)(?:(?<=\.)[A-Za-z0-9/\\_-]*={0,2})?"),),
    "Azure Storage Account access key": (
        re.compile(r"(?P<h>AccountKey=(?P<v>[a-zA-Z0-9+/=]{88}))"),),
    # no group: the delimiters around the token are hashed with it
    "Artifactory Credentials": (
        re.compile(r'(?P<h>(?:\s|=|:|"|^)(?P<v>AKC[a-zA-Z0-9]{10,})(?:\s|"|$))'),
        re.compile(r'(?P<h>(?:\s|=|:|"|^)(?P<v>AP[\dABCDEF][a-zA-Z0-9]{8,})(?:\s|"|$))'),
    ),
    # ".+" runs to the end of the line: whatever follows the token is hashed with it
    "NPM tokens": (
        re.compile(r"//.+/:_authToken=\s*(?P<h>(?P<v>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9]).*)"),),
}
BASE64_KIND = "Base64 High Entropy String"
# A YAML key whose value is a block scalar (`key: |`, `- >-`): detect-secrets reads YAML
# parsed, and reports a block's value at its key's line.
_BLOCK_START = re.compile(r"(?:^|:|-)\s*[|>][-+0-9]*\s*(?:#.*)?$")


def credential(kind: str, line: str, hashed: str) -> str | None:
    """The credential on ``line`` whose part detect-secrets hashed to ``hashed``: the
    plugin's whole token (FULL_VALUES), an entropy value without a name glued to it, or
    else the substring with that hash; None when it is not on the line."""
    line = line[:MAX_GRADED_LINE]
    for pattern in FULL_VALUES.get(kind, ()):
        for match in pattern.finditer(line):
            if sha1_hex(match.group("h")) == hashed:
                return match.group("v" if "v" in pattern.groupindex else 0)
    value = find_secret(line, hashed, max_len=MAX_GRADED_LINE)
    return unglued(value) if value is not None and kind == BASE64_KIND else value


def unglued(value: str) -> str:
    """The value of a ``name=value`` the base64 plugin took as one string (its alphabet
    holds "_" and "=": ``_authToken=<token>`` in an .npmrc): in base64 an "=" is padding,
    only at the end, so one followed by more characters ends a name."""
    core = value.rstrip("=")
    name, eq, rest = core.rpartition("=")
    return rest + value[len(core):] if eq and name and rest else value


def locate(kind: str, hashed: str, lines: list[str], number: int) -> tuple[int, str | None]:
    """(the line the credential is on, the credential): on the reported line, or when
    that line opens a YAML block scalar, on the block's first line (a PEM key's BEGIN; a
    value that spans lines is on none of them, so no further line is searched); an
    entropy or keyword value not on its line, on the nearest line that has it."""
    text = lines[number - 1] if 0 < number <= len(lines) else ""
    value = credential(kind, text, hashed)
    if value is None and not _BLOCK_START.search(text[:MAX_GRADED_LINE]):
        return _nearest(kind, hashed, lines, number) if kind in VALUE_KINDS else (number, None)
    if value is not None:
        return number, value
    indent = len(text) - len(text.lstrip())
    for at, below in enumerate(lines[number : number + 50], number + 1):
        if below.strip():
            if len(below) - len(below.lstrip()) <= indent:
                break  # an empty block
            value = credential(kind, below, hashed)
            return (at, value) if value is not None else (number, None)
    return number, None


# detect-secrets parses YAML, and after a flow mapping (`- {repo: …, rev: '…'}`, as
# pre-commit configs are written) reports a quoted value a line or two before or after
# its own. The value it hashed is exact, so its nearest line within this reach is its own.
YAML_LINE_REACH = 8
VALUE_KINDS = ENTROPY_KINDS | {KEYWORD_KIND}


def _nearest(kind: str, hashed: str, lines: list[str], number: int) -> tuple[int, str | None]:
    """The line nearest ``number`` holding the value hashed to ``hashed``, and the value;
    (number, None) when no line within YAML_LINE_REACH has it."""
    for offset in range(1, YAML_LINE_REACH + 1):
        for at in (number - offset, number + offset):
            if 0 < at <= len(lines):
                value = credential(kind, lines[at - 1], hashed)
                if value is not None:
                    return at, value
    return number, None


def graded(
    kind: str, confidence: Confidence, value: str | None, line: str, path: str, shown: str,
    before: str = "",
) -> tuple[Confidence, str]:
    """The confidence and message of one result: an identifier or an entropy-only value
    with no credential context is LOW and says so (secret_shapes); a provider format keeps
    its own grade. A value not found on its line cannot be told from a credential, so an
    entropy result then stays over the Mojaloop threshold (MEDIUM): it fails closed."""
    if value is None:
        why = ""
        if kind in ENTROPY_KINDS or kind == KEYWORD_KIND:
            confidence = Confidence.MEDIUM
            why = " (not found on its line, so not told apart from an identifier)"
        return confidence, f"{kind} committed to the repository {shown}{why}. {ROTATE}"
    provider = kind not in ENTROPY_KINDS and kind != KEYWORD_KIND
    grade = grade_secret(provider, value, line, path, keyword=kind == KEYWORD_KIND,
                         before=before)
    confidence = min(confidence, grade.confidence) if provider else grade.confidence
    if confidence == Confidence.LOW and grade.note:
        return confidence, (f"{kind} {shown}, graded low confidence: {grade.note}. If it is "
                            f"a credential after all: {ROTATE[0].lower()}{ROTATE[1:]}")
    why = f", {grade.note}" if grade.note else ""
    return confidence, f"{kind} committed to the repository {shown}{why}. {ROTATE}"


def _key_block(lines: list[str], begin: int, max_lines: int = 400) -> tuple[str | None, int]:
    """sha256 of a PEM block's body from its BEGIN line (1-based) up to END, if present,
    and the block's last line (END, else the last line read)."""
    body: list[str] = []
    for number, text in enumerate(lines[begin : begin + max_lines], begin + 1):
        if text.lstrip().startswith("-----END"):
            return sha256_hex("".join(body))[:40], number
        body.append(text.strip())
    return None, begin + len(body)


def _inventory(root: Path, files: tuple[str, ...], limit: int) -> _Inventory:
    """Sort files into scannable / binary / cannot-scan, before detect-secrets sees them:
    whatever it would drop silently is either read for it (text in another encoding, via
    a UTF-8 copy) or reported here as an unscanned finding (too big, unreadable)."""
    regular: list[str] = []
    lock: list[str] = []
    left_out = LeftOut(DETECT_SECRETS.name)
    binary: list[str] = []
    decoded: dict[str, Text] = {}
    for rel in files:
        try:
            data = read_tree_file(root / rel, limit)
        except TreeFileError as exc:
            left_out.unreadable(root, rel, exc, "secrets")
            continue
        text = as_text(data, rel)
        if text is None:
            binary.append(rel)
            continue
        if text.transcoded:
            decoded[rel] = text
        (lock if rel.rsplit("/", 1)[-1] in LOCK_FILES else regular).append(rel)
    return _Inventory(tuple(regular), tuple(lock), tuple(binary), left_out, decoded)


def _batches(
    inv: _Inventory, root: Path, copies: Path, processes: int, cores: int
) -> list[_Batch]:
    """The runs: regular and lock files (lock files without the entropy plugins), each
    read from the tree or, when decoded, from its UTF-8 copy under the same relative name
    (so names, filters and results agree); split over ``processes`` and into batches."""
    base = [*detect_secrets_command(), "--cores", str(cores), "scan", "--no-verify"]
    for name in (*ALWAYS_DISABLED_FILTERS, ALLOWLIST_FILTER):
        base += ["--disable-filter", name]
    lock_args = ["--disable-filter", LOCK_FILTER]
    for plugin in ENTROPY_PLUGINS:
        lock_args += ["--disable-plugin", plugin]
    groups = [
        (argv, tuple(f for f in group if (f in inv.decoded) == decoded), cwd)
        for argv, group in ((base, inv.regular), ([*base, *lock_args], inv.lock))
        for decoded, cwd in ((False, root), (True, copies))
    ]
    return [
        (argv, batch, cwd)
        for argv, group, cwd in groups
        for part in split_evenly(group, processes)
        for chunk in chunked(part)
        for batch in _limit(chunk, batch_size(len(part)))
    ]


def _write_copies(where: Path, decoded: Mapping[str, Text]) -> Path:
    """UTF-8 copies of the decoded files under their own relative names in ``where``."""
    for rel, text in decoded.items():
        copy = where / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(text.data)
    return where


def batch_size(share: int) -> int:
    """Files per detect-secrets run for a process given ``share`` files."""
    return max(MIN_BATCH_FILES, -(-share // BATCHES_PER_PROCESS))


def _limit(batch: list[str], size: int) -> list[list[str]]:
    return [batch[i : i + size] for i in range(0, len(batch), size)]
