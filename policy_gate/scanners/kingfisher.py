"""kingfisher (MongoDB, Apache-2.0): committed credentials, found by several hundred
provider rules (the Betterleaks and Veles catalogues it embeds) and policy-gate's own
(``policy_gate/rules/kingfisher``), offline: no validation call, no update check.

What kingfisher reads is decided by the gate, not by kingfisher:

* **A mirror of the scope, not the tree.** Given thousands of files one by one, kingfisher
  treats each as a repository of its own (34 s on Django 4.2 where one directory takes
  1 s). So the files of the shared walk are copied, as the gate reads them (no link
  followed, no more than ``max_file_bytes``), into a private directory that holds nothing
  else, and kingfisher scans that: no ignore file, link or ``.git`` of the tree decides
  anything, and a file replaced after the walk cannot be read in its stead. Binary files
  are left out as detect-secrets leaves them out (listed as not read); text in UTF-16/32
  kingfisher decodes itself. The copy is made in a private directory on the memory file
  system when it has room (else in the scanner's work directory) and removed after the run
  (``kingfisher_mirror``). kingfisher is started first and the mirror filled while it
  loads its rules (``KingfisherScanner._run`` says why the answer stays the same).
* **No name hides a file.** The Betterleaks catalogue skips, before any rule runs, every
  path its global prefilter names (lockfiles, ``node_modules/``, ``go.sum``, ``*.svg``,
  virtualenvs …), and kingfisher skips a file named like an archive (``server.key``): in
  the gate nothing is exempt by its name, so such a file goes into the mirror under a
  neutral name (``kingfisher_mirror.PREFILTERED`` and ``ARCHIVE_SUFFIXES`` are the pinned
  version's lists; tests/test_kingfisher.py checks them against the real tool), as does a
  file called ``.git``, or one whose name is not UTF-8 (it could not be told apart in the report).
  Archives are not extracted (their members could not be accounted for): a zip archive is
  listed as not read, like a binary file.
* **Every result, strictly accounted.** ``--confidence low``, ``--no-dedup``,
  ``--include-hidden-findings`` and ``--no-ignore`` (the gate grades, deduplicates and
  judges inline comments itself), ``--no-limits`` (the gate bounds the size); its JSON
  lines are parsed strictly, and the files it says it scanned and the findings it says it
  had must be the ones given and the ones printed, or the run fails closed.

Its report holds the raw secrets (``snippet``, ``validate_command``): none of its output
is ever quoted, in an error or anywhere else. A secret is shown as a masked preview and
identified by ``sha1:<hex>`` of its value, the hash detect-secrets reports, so the two
engines agreeing on a line are one finding.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from policy_gate.base.digest import tree_digest
from policy_gate.base.fileset import FileSet
from policy_gate.base.process import (
    Completed,
    ScannerError,
    Started,
    console_script,
    find_tool,
    run_tool,
    scanner_env,
    start_tool,
    stderr_tail,
)
from policy_gate.base.redact import mask, redact_message, sha1_hex
from policy_gate.catalogue import KINGFISHER, KINGFISHER_RULES_DIR, ScannerSettings
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
from policy_gate.scanners.filetext import as_text
from policy_gate.scanners.interface import EarlyStart, ScanContext, Scanner, columns, require
from policy_gate.scanners.kingfisher_mirror import (
    MEMORY_FS,
    Mirror,
    fill_mirror,
    mirror_place,
    plan_mirror,
    remove_mirror,
)
from policy_gate.scanners.secret_shapes import grade as grade_secret

# The kingfisher release the prefilter list and the report format were checked against.
CHECKED_VERSIONS = ("2.14.",)
# 0: no findings; 200: findings; 205: validated findings (never here: nothing is validated).
EXIT_CODES = {0: False, 200: True, 205: True}
# Where the compiled rules (a Vectorscan database, ~15 s to build) are kept between runs;
# kingfisher uses the directory only when this user owns it and no one else can write it.
RULE_CACHE_ENV = "POLICY_GATE_KINGFISHER_CACHE"
# Rules that find a value by the credential name beside it (a password assigned in code, a
# URL's password), not by a provider's format: secret_shapes grades them as such. Every
# rule of policy-gate's own (ids "policy-gate.…") is one, except those in its providers*.yaml.
KEYWORD_RULES = frozenset({
    "betterleaks.generic-credential-uri",
    "betterleaks.curl-auth-header",
    "betterleaks.curl-auth-user",
})
# Helper rules (`visible: false` in the pinned version: `kingfisher rules list --format
# json`; tests/test_kingfisher.py checks this list against it): parts another rule pairs
# with a credential to validate it. kingfisher's exit status ignores their findings; the
# gate asks for them (--include-hidden-findings) because some are secrets (an AWS secret
# key found without its key id). True: the part is a secret, graded by its context like a
# name-found credential; False: an identifier (an account name, a client id, a host),
# never a credential by itself: graded low.
HELPER_RULES: dict[str, bool] = {
    **dict.fromkeys((
        "betterleaks.aws-secret-access-key", "betterleaks.alibaba-sts-security-token",
        "betterleaks.cloudinary-api-key", "betterleaks.exoscale-api-secret",
        "betterleaks.ovh-application-key", "betterleaks.ovh-consumer-key",
        "betterleaks.polymarket-api-secret", "betterleaks.polymarket-passphrase",
        "veles.secrets/packagistsecret-api-key",
    ), True),
    **dict.fromkeys((
        "betterleaks.aikido-client-id", "betterleaks.algolia-application-id",
        "betterleaks.alibaba-access-key-id", "betterleaks.alibaba-sts-access-key-id",
        "betterleaks.artifactory-jfrog-url", "betterleaks.auth0-client-id.1",
        "betterleaks.auth0-domain.1", "betterleaks.azure-client-id",
        "betterleaks.azure-storage-account-name", "betterleaks.azure-tenant-id",
        "betterleaks.browserstack-username.1", "betterleaks.canva-client-id",
        "betterleaks.clickhouse-cloud-key-id", "betterleaks.cloudflare-account-id.1",
        "betterleaks.cloudinary-cloud-name", "betterleaks.ebay-client-id",
        "betterleaks.langfuse-public-key.1", "betterleaks.lark-app-id",
        "betterleaks.miro-client-id", "betterleaks.mongodb-atlas-service-account-id",
        "betterleaks.mux-access-token-id.1", "betterleaks.paypal-client-id.1",
        "betterleaks.planetscale-id", "betterleaks.plivo-auth-id",
        "betterleaks.polymarket-address", "betterleaks.ramp-client-id",
        "betterleaks.razorpay-key-id.1", "betterleaks.salesforce-instance-url.1",
        "betterleaks.snowflake-account-host.1", "betterleaks.supabase-project-url",
        "betterleaks.tableau-personal-access-token-name.1", "betterleaks.tableau-server-host.1",
        "betterleaks.upstash-redis-rest-url.1", "betterleaks.wiz-client-id.1",
        "betterleaks.zoho-client-id.1", "veles.secrets/hcpclientcredentials-client-id",
        "veles.secrets/packagistorgreadtoken-repository",
        "veles.secrets/packagistorgupdatetoken-repository",
    ), False),
}
HELPER_IDENTIFIER = ("a part another rule pairs with a credential to check it (an account "
                     "name, a client id, a host), not a secret by itself")
OWN_RULE_PREFIX = "policy-gate."
# Built-in rules policy-gate's own replace (same format, placeholders left out): not run.
REPLACED_RULES = ("betterleaks.slack-webhook-url",)
# A private key block (PEM, SSH2, PuTTY: policy-gate's providers-keys.yaml), and the header
# detect-secrets hashes for one (so the engines' findings of one key are one finding).
_PEM_BEGIN = re.compile(r"BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?|^PuTTY-User-Key-File-[0-9]+")
_CONFIDENCE = {"low": Confidence.LOW, "medium": Confidence.MEDIUM, "high": Confidence.HIGH}
# The line is searched for the value's context up to this length (secret_shapes).
MAX_GRADED_LINE = 65536
ROTATE = "Rotate it, remove it from the code and history, and load it from a secret store."


@functools.cache
def own_provider_rules() -> frozenset[str]:
    """policy-gate's rules that match a provider's own format: the ids in providers*.yaml."""
    ids: set[str] = set()
    for path in KINGFISHER_RULES_DIR.glob("providers*.y*ml"):
        ids.update(re.findall(r"^[ \t]*(?:-[ \t]*)?id:[ \t]*['\"]?([\w./-]+)",
                              path.read_text("utf-8"), re.M))
    return frozenset(ids)


def keyword_rule(rule_id: str) -> bool:
    """Whether the rule finds a credential by its name rather than its format."""
    if rule_id.startswith(OWN_RULE_PREFIX):
        return rule_id not in own_provider_rules()
    return rule_id in KEYWORD_RULES or HELPER_RULES.get(rule_id, False)


def rule_key(rule_id: str) -> str:
    """kingfisher's rule id as the policy's `rules:` keys can name it ('veles.secrets/x'
    -> 'veles.secrets-x')."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", rule_id).strip("-") or "unknown"


def kingfisher_command() -> str:
    """The kingfisher binary itself when the executable is the console script pip installs
    for this interpreter (it only starts Python to exec the binary); else as it is."""
    exe = find_tool("kingfisher")
    script = console_script(exe) if exe else None
    if script is None or script.module != "kingfisher" or not script.runs_here():
        return "kingfisher"
    try:
        binary = Path(str(metadata.distribution("kingfisher-bin").locate_file(
            "kingfisher/bin/kingfisher")))
    except metadata.PackageNotFoundError:
        return "kingfisher"
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else "kingfisher"


def rule_cache(root: Path) -> tuple[list[str], str | None]:
    """kingfisher's rule-cache arguments, and a note when no cache can be used: the
    directory named by POLICY_GATE_KINGFISHER_CACHE, else the user's cache directory,
    never inside the scanned tree. Without one the rules are compiled for each run."""
    configured = os.environ.get(RULE_CACHE_ENV, "")
    try:
        base = Path(configured) if configured else Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        ) / "policy-gate" / "kingfisher"
        where = base.resolve()
    except (OSError, RuntimeError):  # no home directory
        return ["--no-rule-cache"], "no rule cache directory: rules compiled for this run"
    tree = root.resolve()
    if where == tree or tree in where.parents:
        return ["--no-rule-cache"], (
            f"the rule cache directory is inside the scanned tree ({RULE_CACHE_ENV}): "
            "not used, rules compiled for this run")
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = where.stat()
    except OSError as exc:
        return ["--no-rule-cache"], (
            f"the rule cache directory cannot be used ({exc.strerror or exc}): rules "
            "compiled for this run")
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return ["--no-rule-cache"], (
            "the rule cache directory is not this user's own, or others can write to it "
            "(kingfisher would not read it): rules compiled for this run")
    return ["--rule-cache-dir", str(where)], None


def rules_digest() -> str:
    """Every byte of policy-gate's kingfisher rules: the answer changes with any rule."""
    files = sorted(p for p in KINGFISHER_RULES_DIR.rglob("*")
                   if p.is_file() and not p.is_symlink())
    return tree_digest((str(p.relative_to(KINGFISHER_RULES_DIR)), p.read_bytes())
                       for p in files)


# ---------------------------------------------------------------------------- the report


def _fail(completed: Completed, reason: str) -> ScannerError:
    """An error about kingfisher's output that never quotes it (it holds raw secrets):
    the reason, the exit status and the end of stderr, its quoted text masked."""
    tail = redact_message(stderr_tail(completed))
    return ScannerError(KINGFISHER.name, f"{reason} (exit status {completed.returncode}){tail}")


def parse_lines(completed: Completed) -> list[dict[str, Any]]:
    """kingfisher's JSON lines, each an object; anything else fails closed, saying where
    but not what (the output holds the secrets)."""
    records: list[dict[str, Any]] = []
    lines = completed.stdout.split("\n")  # not splitlines(): U+2028 may be in a value
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(completed, f"printed output that is not JSON (line {number}: "
                                   f"{exc.msg} at char {exc.pos})") from None
        except (ValueError, RecursionError) as exc:
            reason = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
            raise _fail(completed, f"printed JSON that cannot be read (line {number}: "
                                   f"{reason})") from None
        if not isinstance(record, dict):
            raise _fail(completed, f"unexpected output: line {number} is not an object")
        records.append(record)
    if not records:
        raise _fail(completed, "printed no output (expected its JSON lines report)")
    return records


@dataclass(frozen=True, slots=True)
class _Result:
    """One finding as kingfisher reported it (the value stays in memory only)."""

    rule_id: str
    rule_name: str
    value: str
    path: str  # in the tree
    line: int
    confidence: Confidence
    where: str  # "line 3 of its report", for errors
    # kingfisher's columns on the line: 0-based, the end inclusive (None if not given)
    column_start: int | None = None
    column_end: int | None = None


class _ReadTooFew(ScannerError):
    """kingfisher read none of the files the mirror holds: it listed its input before the
    mirror was moved in (``KingfisherScanner._run`` runs it again, once)."""


def _audit(audit: Any, mirror: Mirror, findings: int) -> None:
    """The report's own account must match what it was given and what it printed: every
    file scanned, every repository it made of them completed, every finding printed."""
    name = KINGFISHER.name
    summary = require(name, audit, "summary", dict, "audit")
    for key in ("scan_failed", "scan_partial", "pending"):
        if require(name, summary, key, int, "audit.summary"):
            raise ScannerError(name, f"its report says {key} is not 0: scan incomplete")
    repos = require(name, audit, "repositories", list, "audit")
    blobs = counted = 0
    for i, repo in enumerate(repos):
        where = f"audit.repositories[{i}]"
        status = require(name, require(name, repo, "scan", dict, where), "status", str,
                         f"{where}.scan")
        if status != "completed":
            raise ScannerError(name, f"its report says a scan was {status!r}, not completed")
        stats = require(name, repo, "stats", dict, where)
        blobs += require(name, stats, "blobs_scanned", int, f"{where}.stats")
        counted += require(name, stats, "findings", int, f"{where}.stats")
    if blobs != len(mirror.names):
        error = _ReadTooFew if blobs == 0 else ScannerError
        raise error(name, f"scanned {blobs} files of the {len(mirror.names)} it was "
                          "given: its answer cannot be trusted")
    if counted != findings:
        raise ScannerError(name, f"its report counts {counted} findings but lists "
                                 f"{findings}: results were lost")


def _results(completed: Completed, records: list[dict[str, Any]], mirror: Mirror
             ) -> list[_Result]:
    """The findings of the report, checked against its audit record and exit status."""
    name = KINGFISHER.name
    audits = [r for r in records if "audit" in r]
    if len(audits) != 1 or "audit" not in records[-1]:
        raise _fail(completed, "unexpected output: no single audit record at the end")
    results = [_result(r, i, mirror) for i, r in enumerate(records[:-1], 1)]
    _audit(records[-1]["audit"], mirror, len(results))
    # its exit status counts the findings of visible rules only (HELPER_RULES)
    shown = sum(1 for r in results if r.rule_id not in HELPER_RULES)
    if EXIT_CODES[completed.returncode] != bool(shown):
        raise ScannerError(name, f"exit status {completed.returncode} does not match the "
                                 f"{shown} findings of visible rules it reported")
    return results


def _result(record: dict[str, Any], number: int, mirror: Mirror) -> _Result:
    name = KINGFISHER.name
    where = f"line {number} of its report"
    rule = require(name, record, "rule", dict, where)
    found = require(name, record, "finding", dict, where)
    rule_id = require(name, rule, "id", str, f"{where}: rule")
    # the display name: builtins drop their catalogue's prefix, policy-gate's own too
    rule_name = require(name, rule, "name", str, f"{where}: rule").removeprefix(OWN_RULE_PREFIX)
    value = require(name, found, "snippet", str, f"{where}: finding")
    line = require(name, found, "line", int, f"{where}: finding")
    level = require(name, found, "confidence", str, f"{where}: finding")
    reported = require(name, found, "path", str, f"{where}: finding")
    if line < 1:
        raise ScannerError(name, f"unexpected output: {where}: line {line} is not a line")
    if level not in _CONFIDENCE:
        raise ScannerError(name, f"unexpected output: {where}: unknown confidence level")
    path = mirror.names.get(reported)
    if path is None:
        raise ScannerError(name, f"unexpected output: {where} names a file it was not given")
    start, end = found.get("column_start"), found.get("column_end")
    return _Result(rule_id, rule_name, value, path, line, _CONFIDENCE[level], where,
                   start if type(start) is int else None, end if type(end) is int else None)


# ---------------------------------------------------------------------------- findings


class _Lines:
    """Lines of the mirrored files, as kingfisher counts them (LF), for grading."""

    def __init__(self, mirror: Mirror) -> None:
        self.by_rel = {rel: mirror.work / name for name, rel in mirror.names.items()}
        self.cache: dict[str, list[str]] = {}

    def get(self, rel: str, line: int) -> str:
        lines = self._lines(rel)
        return lines[line - 1][:MAX_GRADED_LINE] if 0 < line <= len(lines) else ""

    def count(self, rel: str) -> int:
        lines = self._lines(rel)
        return len(lines) - 1 if lines and lines[-1] == "" else len(lines)

    def _lines(self, rel: str) -> list[str]:
        lines = self.cache.get(rel)
        if lines is None:
            try:
                data = self.by_rel[rel].read_bytes()
            except OSError:
                data = b""
            text = as_text(data, rel)
            lines = (text.data if text else data).decode("utf-8", "replace").split("\n")
            self.cache[rel] = lines
        return lines


def _key_identity(value: str, header: str) -> tuple[str, str, int]:
    """(the hash detect-secrets gives the key: its BEGIN header's, the content key: its
    body's, the lines it spans after the first) for a private key block."""
    lines = value.split("\n")
    body: list[str] = []
    for text in lines[1:]:
        if text.lstrip().startswith("-----END"):
            break
        body.append(text.strip())
    flaw = sha1_hex(header)
    return flaw, sha256_hex("".join(body))[:40] if body else flaw, len(lines) - 1


def graded(result: _Result, line: str, before: str, shown: str) -> tuple[Confidence, str]:
    """The confidence and message of one result (policy_gate.scanners.secret_shapes): an
    identifier or an entropy-only value with no credential context is LOW and says so; a
    provider format keeps kingfisher's own grade (or lower)."""
    kind = result.rule_name
    if HELPER_RULES.get(result.rule_id) is False:
        return Confidence.LOW, (f"{kind} {shown}, graded low confidence: {HELPER_IDENTIFIER}."
                                " The credential it belongs to is reported by its own rule")
    keyword = keyword_rule(result.rule_id)
    grade = grade_secret(not keyword, result.value, line, result.path, keyword=keyword,
                         before=before)
    confidence = grade.confidence if keyword else min(result.confidence, grade.confidence)
    if confidence == Confidence.LOW and grade.note:
        return confidence, (f"{kind} {shown}, graded low confidence: {grade.note}. If it is "
                            f"a credential after all: {ROTATE[0].lower()}{ROTATE[1:]}")
    why = f", {grade.note}" if grade.note else ""
    return confidence, f"{kind} committed to the repository {shown}{why}. {ROTATE}"


# scheme://user:password@ at the start of a value (a connection string rule's whole URI)
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:([^/?#@\s]+)@")


def to_finding(result: _Result, lines: _Lines) -> Finding:
    """One finding per result: never the value, only its masked preview and hash."""
    shown_value = result.value
    url = _URL_PASSWORD.match(shown_value)
    if url is not None:  # a URL with its credentials: the password is the secret, as the
        shown_value = url.group(1)  # generic URI rule and detect-secrets report it
    flaw = key = sha1_hex(shown_value)
    end, severity = result.line, Severity.HIGH
    header = _PEM_BEGIN.search(result.value.split("\n", 1)[0])
    if header is not None:
        # identified as detect-secrets identifies it (its BEGIN header), told apart from
        # another key by its body, and spanning to END (a changed body is a changed key)
        flaw, key, extra = _key_identity(result.value, header.group(0))
        end, severity, shown_value = result.line + extra, Severity.CRITICAL, header.group(0)
        # a key found decoded (base64 in a Kubernetes secret) spans fewer lines of the file
        end = max(result.line, min(end, lines.count(result.path)))
    preview = mask(shown_value)
    shown = f"({preview}, sha1:{flaw[:7]}…)"
    text = lines.get(result.path, result.line)
    confidence, message = graded(result, text, lines.get(result.path, result.line - 1), shown)
    first_col = last_col = None
    # one line, all of it up to the match in hand (the text kept is cut at MAX_GRADED_LINE)
    if end == result.line and result.column_end is not None and result.column_end < len(text):
        first_col, last_col = columns(result.column_start, result.column_end + 1, 0, True, text)
    return Finding(
        category=SECRET,
        sources=(Source(KINGFISHER.name, rule_key(result.rule_id), severity, confidence,
                        message),),
        path=result.path,
        start_line=result.line,
        end_line=end,
        start_column=first_col,
        end_column=last_col,
        message=message,
        flaw_key=f"secret:{flaw}",
        content_key=key,
        title=f"{result.rule_name} in source",
        secret=SecretInfo(kind=result.rule_name, preview=preview, hash=f"sha1:{flaw}"),
    )


# ---------------------------------------------------------------------------- the scanner


@dataclass
class _Early(EarlyStart):
    """kingfisher started on an empty mirror before the walk (``start_early``)."""

    work: Path
    started: Started
    argv: list[str]
    notes: list[str]

    def abandon(self) -> None:
        self.started.abandon()
        remove_mirror(self.work, 2)


class KingfisherScanner(Scanner):
    info = KINGFISHER
    executable = "kingfisher"
    distribution = "kingfisher-bin"

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return fileset.files

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        """The rules (policy-gate's own) and the engine's version (its built-in rules)."""
        return {"rules": rules_digest(), "kingfisher": self.version(ctx)}

    def start_early(self, root: Path, settings: ScannerSettings, jobs: int) -> _Early | None:
        """kingfisher spends most of a second loading its rules before it lists its input
        (Django 4.2: ~0.8 s of its 1.4 s): started before the walk, on the empty mirror
        the copy will be moved into, that second is spent while the gate walks the tree
        and copies it. Only in memory (MEMORY_FS); ``scan`` says if the files fit."""
        if mirror_place(root, (), 0, None) != MEMORY_FS:
            return None
        work = Path(tempfile.mkdtemp(prefix=f"policy-gate-mirror-{self.name}-", dir=MEMORY_FS))
        try:
            plan_mirror((), work)
            argv, notes = _argv(root, jobs)
            return _Early(work, start_tool(self.name, argv, cwd=work, env=_env()), argv, notes)
        except ScannerError:  # missing, or cannot start: ``scan`` says so in its own words
            remove_mirror(work, 2)
            return None

    def scan(self, ctx: ScanContext) -> ScanOutput:
        version = self.version(ctx)
        targets = self.targets(ctx.fileset)
        place = mirror_place(ctx.root, targets, ctx.max_file_bytes, ctx.work_dir)
        # Measured on Django 4.2 (2 cores): in memory the copy is CPU-bound and a second
        # thread is all that helps; on a busy disk it waits on the journal and 4-8 threads
        # took it from 4.5 s to 0.6 s.
        threads = 2 if place == MEMORY_FS else 4
        early = ctx.early if isinstance(ctx.early, _Early) else None
        if early is not None and place != MEMORY_FS:
            early.abandon()
            early = None
        # named after the run it serves (the head scan or the history's), for whoever
        # reads a process list or the fault matrix
        run = ctx.work_dir.name if ctx.work_dir is not None else self.name
        work = early.work if early else Path(
            tempfile.mkdtemp(prefix=f"policy-gate-mirror-{run}-", dir=place))
        try:
            mirror, places = plan_mirror(targets, work)
            results, notes = self._run(ctx, mirror, places, version, threads, early)
            lines = _Lines(mirror)
            findings = [to_finding(r, lines) for r in results]
        finally:
            if early is not None:
                early.started.abandon()  # gone already, unless something failed
            remove_mirror(work, threads)
        findings += mirror.left_out.findings
        return ScanOutput(
            findings, version, len(findings), len(mirror.names), notes,
            unread=(*mirror.binary, *mirror.archives, *mirror.left_out.paths),
            file_notes=mirror.file_notes(),
        )

    def _run(self, ctx: ScanContext, mirror: Mirror, places: list[tuple[str, str]],
             version: str, threads: int, early: _Early | None
             ) -> tuple[list[_Result], list[str]]:
        """kingfisher over the mirror: its results, and notes on how it ran.

        It is started before the mirror is filled (before the walk, ``start_early``; or
        here): most of its run on a tree like Django's is loading its rules, and it lists
        its input only after that. The mirror appears in its input in one step (a rename),
        so it lists all of it or none; its report says how many files it read, and when
        it listed too early (none) it is run again on the whole mirror, whose answer
        stands. So the answer never depends on how fast the copy was."""
        argv, notes = (early.argv, list(early.notes)) if early else _argv(ctx.root, ctx.jobs)
        if not version.startswith(CHECKED_VERSIONS):
            notes.append(f"kingfisher {version} is not the version policy-gate was checked "
                         f"against ({CHECKED_VERSIONS[0]}x): the paths its rules skip by "
                         "name may differ")
        started = early.started if early else None
        if not places:
            return [], notes
        if started is None:
            started = start_tool(self.name, argv, cwd=mirror.work, env=_env())
        try:
            fill_mirror(mirror, places, root=ctx.root, limit=ctx.max_file_bytes, threads=threads)
        except BaseException:
            started.abandon()
            raise
        if not mirror.names:  # every file binary, an archive or unreadable
            started.abandon()
            return [], notes
        ctx.progress(self.name, f"{len(mirror.names)} files")
        completed = started.finish(timeout=ctx.settings.timeout)
        try:
            return self._results(completed, mirror), notes
        except _ReadTooFew:
            left = ctx.settings.timeout - completed.seconds
            completed = run_tool(self.name, argv, timeout=max(left, 0.001),
                                 budget=ctx.settings.timeout, cwd=mirror.work, env=_env())
            return self._results(completed, mirror, again=True), notes

    def _results(self, completed: Completed, mirror: Mirror, *, again: bool = False
                 ) -> list[_Result]:
        if completed.returncode not in EXIT_CODES:
            raise ScannerError(self.name, f"exited {completed.returncode}"
                                          f"{redact_message(stderr_tail(completed))}")
        try:
            return _results(completed, parse_lines(completed), mirror)
        except _ReadTooFew as exc:
            if again:
                raise ScannerError(self.name, str(exc.reason)) from None
            raise


def _env() -> dict[str, str]:
    return scanner_env({"RUST_BACKTRACE": "0", "NO_COLOR": "1"})


def _argv(root: Path, jobs: int) -> tuple[list[str], list[str]]:
    """kingfisher's command line for a mirror (run in it), and notes on its rule cache."""
    cache_args, note = rule_cache(root)
    argv = [
        kingfisher_command(), "scan", *Mirror.inputs,
        "--format", "jsonl", "--quiet", "--no-validate", "--no-update-check",
        "--git-history", "none", "--no-extract-archives", "--no-ignore", "--no-dedup",
        "--no-limits", "--include-hidden-findings", "--confidence", "low",
        "--jobs", str(max(1, jobs)), "--rules-path", str(KINGFISHER_RULES_DIR),
        *(arg for rule in REPLACED_RULES for arg in ("--exclude-rule", rule)),
        *cache_args,
    ]
    return argv, [note] if note else []
