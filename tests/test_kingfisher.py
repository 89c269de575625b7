"""kingfisher, the default secret engine, run for real through the gate on trees built
here: every credential found where it was written (behind names its embedded rules skip,
option-looking names, UTF-16, names that are not UTF-8, ignore files), nothing lost, no
value shown on any channel, links not followed, binary and oversize files reported as
before; merged with detect-secrets into one finding; diff mode's history searched with it.
Credentials are generated here at run time from a seeded RNG and pieces (no provider
prefix is written out whole), so this file holds none.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from policy_gate import runner
from policy_gate.base.fileset import walk
from policy_gate.base.process import Completed, ScannerError, Started, start_tool
from policy_gate.base.redact import mask, sha1_hex
from policy_gate.catalogue import KINGFISHER_RULES_DIR
from policy_gate.cli_output import FORMATS
from policy_gate.policy.loader import load_policy
from policy_gate.scanners import kingfisher as kf
from policy_gate.scanners import kingfisher_mirror as km
from policy_gate.scanners.interface import ScanContext
from tests.conftest import OFFLINE_POLICY, GateRun
from tests.test_hostile_repos import FullRun, build, run_gate

RNG = random.Random(0x4B1F15)
ALNUM = string.ascii_letters + string.digits
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"
WINDOW = 8  # no run of this many characters of a secret may be shown anywhere


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def github_token() -> str:
    return "gh" + "p_" + rand(ALNUM, 36)


def aws_key_id() -> str:
    return "AK" + "IA" + rand(B32, 16)


def rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


@dataclass(frozen=True)
class Planted:
    """A credential written into the tree: where, and what must never be shown."""

    path: str
    line: int
    value: str


def policy(tmp: Path, text: str = "") -> Path:
    path = tmp / "policy.yaml"
    path.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\nname: kingfisher-test\n{text}")
    return path


def channels(run: FullRun | GateRun) -> dict[str, str]:
    if isinstance(run, FullRun):
        return run.texts()
    return {"stdout": run.stdout, "stderr": run.stderr, "report": json.dumps(run.report)}


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    """Where a secret, or any WINDOW characters of one, is shown."""
    parts = {s[i:i + WINDOW] for v in secrets for s in v.split("\n") if len(s) >= WINDOW
             for i in range(len(s) - WINDOW + 1)}
    return [f"{name} at {i}" for name, text in texts.items()
            for i in range(len(text) - WINDOW + 1) if text[i:i + WINDOW] in parts]


def kingfisher_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if "kingfisher" in f["scanners"] and f["secret"]]


# ---------------------------------------------------------------------------- one tree

# Names the Betterleaks rules kingfisher embeds skip before any rule runs (one per
# pattern of km.PREFILTERED), and names they do not (controls).
SKIPPED_NAMES = [
    "gitleaks.toml", "img/logo.svg", "fonts/x.ttf", "go.sum", "go.work.sum",
    "vendor/modules.txt", "vendor/github.com/acme/lib/client.go", "gradlew",
    "gradle.lockfile", "mvnw.cmd", ".mvn/wrapper/MavenWrapperDownloader.java",
    "node_modules/pkg/index.js", "web/package-lock.json", "yarn.lock",
    "bower_components/x/y.js", "static/jquery-3.7.1.min.js", "javascript.json",
    "Pipfile.lock", "venv/lib/site.py", "lib/python3.11/site-packages/mod.py",
    "pkg-1.0.dist-info/METADATA", "vendor/bundle/x.rb", "tool.gem",
    "gradle/verification-metadata.xml", "db/Database.refactorlog",
]
CONTROL_NAMES = ["vendor/other/x.go", "lib/x.py", "Cargo.lock", "composer.lock",
                 "x.min.js", "dist/app.js", "package.json", "go.summary", "docs/x.md"]
# Names kingfisher takes for archives, and so skips with --no-extract-archives (one per
# entry of km.ARCHIVE_SUFFIXES), and archive-like names it reads (controls).
ARCHIVE_NAMES = ["x.aab", "x.apk", "x.bz2", "x.bzip2", "x.docx", "x.ear", "x.egg", "x.epub",
                 "x.tar.gz", "x.gzip", "x.ipa", "x.JAR", "x.key", "x.numbers", "x.nupkg",
                 "x.odp", "x.ods", "x.odt", "x.pages", "x.pptx", "x.tar", "x.tgz", "x.vsix",
                 "x.war", "x.xlsx", "x.xpi", "x.xz", "x.zip", "x.zipx"]
ARCHIVE_CONTROLS = ["x.7z", "x.rar", "x.whl", "x.deb", "x.docm", "x.tbz2", "x.zst", "x.lz4"]


@dataclass
class Scanned:
    root: Path
    planted: list[Planted]
    secrets: list[str]  # every value in the tree, shown nowhere (the link's target too)
    run: FullRun
    key_lines: tuple[int, int]  # the private key's BEGIN and END lines


def plant_tree(root: Path, outside: Path) -> tuple[list[Planted], list[str], tuple[int, int]]:
    planted: list[Planted] = []
    files: dict[str | bytes, str | bytes] = {}

    def add(path: str, text: str, line: int, value: str) -> None:
        files[path] = text
        planted.append(Planted(path, line, value))

    t1, aws = github_token(), aws_key_id()
    add("config.py", f'"""settings"""\n\nTOKEN = "{t1}"\n# aws\nKEY_ID = "{aws}"\n', 3, t1)
    planted.append(Planted("config.py", 5, aws))
    for name in ("-rf", "--rules-path=x", "-"):
        t = github_token()
        add(name, f"token: {t}\n", 1, t)
    t = github_token()
    add("sub/app.js", f"const x = 1;\nconst gh = createOctokit('{t}');\n", 2, t)
    t = github_token()  # identical files: both reported
    add("dup/a.txt", f"t = {t}\n", 1, t)
    add("dup/b.txt", f"t = {t}\n", 1, t)
    t = github_token()
    files["utf16.txt"] = f"one\ntwo\ntoken = {t}\n".encode("utf-16")
    planted.append(Planted("utf16.txt", 3, t))
    t = github_token()  # UTF-16 without a byte-order mark
    files["utf16le.txt"] = f"one\ntoken = {t}\n".encode("utf-16-le")
    planted.append(Planted("utf16le.txt", 2, t))
    t = github_token()
    files["sub/.git"] = f"gitdir: ../elsewhere\ntoken = {t}\n"
    planted.append(Planted("sub/.git", 2, t))
    t = github_token()  # a name that is not UTF-8
    files[b"caf\xe9.txt"] = f"x\ntoken = {t}\n"
    planted.append(Planted("caf\udce9.txt", 2, t))
    # ignore files of every kind name files that are read all the same
    files[".gitignore"] = "config.py\n"
    files[".ignore"] = "sub/\n"
    files[".kingfisherignore"] = "dup/\n"
    for name in [*SKIPPED_NAMES, *CONTROL_NAMES]:
        t = github_token()
        add(name, f"# {name}\nvalue = \"{t}\"\n", 2, t)
    t = github_token()
    add("other/yarn.lock", f"x\n{t}\n", 2, t)  # a second yarn.lock: its own neutral name
    for name in ARCHIVE_NAMES:  # named like archives, text inside
        t = github_token()
        add(f"named/{name}", f"# {name}\nvalue = \"{t}\"\n", 2, t)
    pem = rsa_key()
    add("keys/id_rsa", "# deploy key\n" + pem, 2, pem)
    add("certs/server.key", pem, 1, pem)  # a PEM key named like a Keynote archive
    key_lines = (2, 1 + pem.count("\n"))
    # not read: a binary file, a zip, one over max_file_bytes, a link out of the tree
    hidden = [github_token() for _ in range(4)]
    files["blob.bin"] = b"\x00\x01\x02" + f"token={hidden[0]}".encode() + b"\x00"
    files["data.json"] = km.ZIP_MAGIC + f" token={hidden[3]}\n".encode()
    files["big.txt"] = f"token = {hidden[1]}\n" + "x" * 5000 + "\n"
    outside.write_text(f"token = {hidden[2]}\n")
    build(root, files)
    (root / "link.txt").symlink_to(outside)
    return planted, [p.value for p in planted] + hidden, key_lines


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    tmp = tmp_path_factory.mktemp("kingfisher")
    root = tmp / "repo"
    planted, secrets, key_lines = plant_tree(root, tmp / "outside.txt")
    rules = policy(tmp, "max_file_bytes: 4096\n")
    run = run_gate(root, tmp / "out", "--scanner", "kingfisher", "--policy", str(rules))
    return Scanned(root, planted, secrets, run, key_lines)


def test_every_credential_is_found_where_it_was_written(scanned: Scanned) -> None:
    """Behind the names kingfisher's embedded rules skip, option-looking names, a `.git`
    file, UTF-16, a name that is not UTF-8, files ignore files name: found all the same."""
    report = scanned.run.report
    assert scanned.run.code == 1, scanned.run.stderr[-2000:]
    found = {(f["path"], f["start_line"], f["secret"]["hash"])
             for f in kingfisher_findings(report)}
    missing = [(p.path, p.line) for p in scanned.planted
               if (p.path, p.line, f"sha1:{sha1_hex(p.value)}") not in found
               and not p.value.startswith("-----")]
    assert missing == []
    key = [f for f in kingfisher_findings(report) if f["path"] == "keys/id_rsa"]
    assert [(f["start_line"], f["end_line"]) for f in key] == [scanned.key_lines]


def test_nothing_is_lost_and_every_file_is_accounted_for(scanned: Scanned) -> None:
    report = scanned.run.report
    entry = next(s for s in report["scanners"] if s["name"] == "kingfisher")
    assert entry["status"] == "ok", entry
    assert entry["raw_results"] > len(scanned.planted)  # AWS's id by two rules, and more
    sources = [s for f in report["findings"] for s in f["sources"]
               if s["scanner"] == "kingfisher"]
    assert entry["raw_results"] == entry["results_in_report"] == len(sources)
    texts = {p.path for p in scanned.planted} | {".gitignore", ".ignore",
                                                 ".kingfisherignore"}
    assert entry["files_scanned"] == len(texts)
    notes = " ".join(entry["notes"])
    assert "1 binary files not scanned" in notes and "1 zip archives not scanned" in notes
    # + other/yarn.lock, sub/.git, certs/server.key, the name that is not UTF-8
    renamed = len(SKIPPED_NAMES) + len(ARCHIVE_NAMES) + 4
    assert f"{renamed} files scanned under a neutral name" in notes


def test_values_are_masked_and_hashed_never_shown(scanned: Scanned) -> None:
    report = scanned.run.report
    by_place = {(f["path"], f["start_line"]): f for f in kingfisher_findings(report)}
    for p in scanned.planted:
        secret = by_place[p.path, p.line]["secret"]
        if p.value.startswith("-----"):  # identified as detect-secrets identifies a key
            header = "BEGIN RSA " + "PRIVATE KEY"
            assert secret == {"kind": "private-key", "preview": mask(header),
                              "hash": f"sha1:{sha1_hex(header)}"}
        else:
            assert secret["preview"] == mask(p.value)
    texts = channels(scanned.run)
    # OpenVEX: no file, as no dependency advisory is waived (nothing to state)
    assert {f"report.{fmt}" for fmt in FORMATS if fmt != "openvex"} <= set(texts)
    assert leaks(texts, scanned.secrets) == []


def test_the_tree_is_left_as_it_was_and_the_copy_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kingfisher reads a copy (not a hard link: that would change the tree's files'
    metadata, which git reads), made in the scanner's work directory when the memory file
    system has no room, and removed after the scan."""
    root = build(tmp_path / "repo", {"a.py": f'TOKEN = "{github_token()}"\n', "b.txt": "x\n"})
    before = {p.name: (p.stat().st_ctime_ns, p.stat().st_nlink) for p in root.iterdir()}
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(km, "MEMORY_FS", tmp_path / "no-such-fs")
    assert km.mirror_place(root, ("a.py", "b.txt"), 4096, work) == work
    settings = load_policy(OFFLINE_POLICY).scanners["kingfisher"]
    output = kf.KingfisherScanner().scan(ScanContext(walk(root), settings, work_dir=work))
    assert {(f.path, f.start_line) for f in output.findings} == {("a.py", 1)}
    assert list(work.iterdir()) == []
    assert {p.name: (p.stat().st_ctime_ns, p.stat().st_nlink) for p in root.iterdir()} == before
    # a memory file system with room is preferred
    monkeypatch.setattr(km, "MEMORY_FS", tmp_path)
    monkeypatch.setattr(km, "MEMORY_FS_SPARE", 0)
    assert km.mirror_place(root, ("a.py", "b.txt"), 4096, work) == tmp_path


def test_links_binary_and_oversize_files(scanned: Scanned) -> None:
    report = scanned.run.report
    assert "link.txt" in report["scan"]["symlinks_not_followed"]
    paths = {f["path"] for f in report["findings"]}
    assert not paths & {"link.txt", "blob.bin", "data.json"}
    big = [f for f in report["findings"] if f["path"] == "big.txt"]
    assert [(f["category"], f["scanner"]) for f in big] == [("unscanned", "kingfisher")]
    assert "larger than 4096 bytes" in big[0]["message"]


# ------------------------------------------------------------ the prefilter, by hand


def by_hand(root: Path, paths: list[str], *flags: str) -> set[str]:
    """The paths real kingfisher reports a finding in when given these files itself."""
    cache, _ = kf.rule_cache(root)
    proc = subprocess.run(
        [kf.kingfisher_command(), "scan", *(f"./{p}" for p in paths), *flags, "-f", "jsonl",
         "-q",         "--no-validate", "--no-update-check", "--git-history", "none", "--no-dedup",
         "--confidence", "low", "--rules-path", str(KINGFISHER_RULES_DIR), *cache],
        cwd=root, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode in (0, 200), proc.stderr[-1000:]
    records = [json.loads(line) for line in proc.stdout.splitlines() if line]
    return {r["finding"]["path"].removeprefix("./") for r in records if "finding" in r}


def test_the_prefilter_list_is_kingfishers(tmp_path: Path) -> None:
    """km.PREFILTERED is the list of the pinned kingfisher: every name it matches gets no
    finding from kingfisher by hand, every other name does (a new version that skips more
    fails here, as does a pattern that no longer skips)."""
    names = [*SKIPPED_NAMES, *CONTROL_NAMES]
    build(tmp_path, {n: f'value = "{github_token()}"\n' for n in names})
    found = by_hand(tmp_path, names)
    assert {n for n in names if km.prefiltered(f"./{n}")} == set(SKIPPED_NAMES)
    assert {n for n in names if n not in found} == set(SKIPPED_NAMES)
    for pattern in km.PREFILTERED:  # each pattern has its sample
        assert any(pattern.search(f"./{n}") for n in SKIPPED_NAMES), pattern.pattern


def test_the_archive_names_are_kingfishers(tmp_path: Path) -> None:
    """km.ARCHIVE_SUFFIXES is what the pinned kingfisher skips by name with
    --no-extract-archives (a text file, a PEM key, is not read when named like one)."""
    names = [*ARCHIVE_NAMES, *ARCHIVE_CONTROLS]
    build(tmp_path, {n: f'value = "{github_token()}"\n' for n in names})
    found = by_hand(tmp_path, names, "--no-extract-archives")
    assert {n for n in names if km.archive_name(n)} == set(ARCHIVE_NAMES)
    assert {n for n in names if n not in found} == set(ARCHIVE_NAMES)
    for suffix in km.ARCHIVE_SUFFIXES:
        assert any(n.lower().endswith(suffix) for n in ARCHIVE_NAMES), suffix


def test_replaced_rules_have_their_replacement() -> None:
    """A built-in rule left out (REPLACED_RULES) is covered by one of policy-gate's own."""
    text = "".join(p.read_text() for p in KINGFISHER_RULES_DIR.glob("*.y*ml"))
    for rule in kf.REPLACED_RULES:
        own = kf.OWN_RULE_PREFIX + rule.split(".", 1)[1]
        assert f"id: {own}\n" in text, own


# ------------------------------------------------------- two engines, and the history


def test_kingfisher_and_detect_secrets_agreeing_are_one_finding(
    tmp_path: Path, gate: Callable[..., GateRun],
) -> None:
    """The same value on the same line is one finding with both engines as sources (a key
    block is identified by its BEGIN header, as detect-secrets does)."""
    token, aws, pem = github_token(), aws_key_id(), rsa_key()
    root = build(tmp_path / "repo", {
        "settings.py": f'TOKEN = "{token}"\nAWS_KEY = "{aws}"\n',
        "deploy.pem": pem,
    })
    both = policy(tmp_path, "scanners:\n  detect-secrets: {enabled: true}\n")
    run = gate(root, "--policy", str(both), "--scanner", "kingfisher",
               "--scanner", "detect-secrets")
    assert run.report is not None and run.code == 1, run.output
    secrets = [f for f in run.report["findings"] if f["category"] == "secret"]
    header = "BEGIN RSA " + "PRIVATE KEY"
    for path, line, value in (("settings.py", 1, token), ("settings.py", 2, aws),
                              ("deploy.pem", 1, header)):
        same = [f for f in secrets if (f["path"], f["start_line"], f["secret"]["hash"])
                == (path, line, f"sha1:{sha1_hex(value)}")]
        assert [sorted(f["scanners"]) for f in same] == [["detect-secrets", "kingfisher"]], (
            path, line, secrets)
    assert len([f for f in secrets if f["path"] == "deploy.pem"]) == 1
    for entry in run.report["scanners"]:
        if entry["name"] in ("kingfisher", "detect-secrets"):
            assert entry["status"] == "ok" and entry["raw_results"] == entry[
                "results_in_report"], entry
    assert leaks(channels(run), [token, aws, pem]) == []


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.org",
                    "-c", "commit.gpgsign=false", *args],
                   cwd=repo, check=True, capture_output=True)


def test_history_is_searched_with_kingfisher(tmp_path: Path,
                                             gate: Callable[..., GateRun]) -> None:
    """A token added in one commit of the change and removed in the next is found by the
    head's engine, in the blob as git stores it (an attribute that hides its diff from
    `git diff` output does not hide it)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    build(repo, {"README.md": "# svc\n", ".gitattributes": "*.cfg -diff\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    token = github_token()
    build(repo, {"app.cfg": f"[auth]\ntoken = {token}\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add config")
    build(repo, {"app.cfg": "[auth]\ntoken = from-the-environment\n"})
    git(repo, "commit", "-q", "-am", "remove the token")
    run = gate(repo, "--diff-base", "main", "--scanner", "kingfisher")
    assert run.report is not None and run.code == 1, run.output
    history = next(s for s in run.report["scanners"] if s["name"] == "secrets-history")
    engine = next(s for s in run.report["scanners"] if s["name"] == "kingfisher")
    assert history["status"] == "ok" and history["version"] == engine["version"], history
    found = [f for f in run.report["findings"] if f["commit"]]
    assert [(f["path"], f["start_line"], f["scanners"]) for f in found] == [
        ("app.cfg", 2, ["kingfisher"])]
    assert found[0]["secret"]["hash"] == f"sha1:{sha1_hex(token)}"
    assert leaks(channels(run), [token]) == []


# ---------------------------------------------------------------------- the adapter


def answer(stdout: str, code: int = 200, stderr: str = "") -> Completed:
    return Completed(("kingfisher",), code, stdout, stderr, 0.0)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[km.Mirror]:
    root = build(tmp_path / "tree", {"app.py": "x = 1\n", "yarn.lock": "y\n"})
    yield km.build_mirror(root, ("app.py", "yarn.lock"), 4096, tmp_path / "work")


def record(path: str = "./in/m/tree/app.py", **finding: Any) -> str:
    base = {"snippet": "not-a-secret-value", "line": 1, "confidence": "high", "path": path}
    return json.dumps({"rule": {"id": "betterleaks.github-pat", "name": "github-pat"},
                       "finding": {**base, **finding}})


def audit(blobs: int = 2, findings: int = 1, **summary: int) -> str:
    return json.dumps({"audit": {
        "summary": {"scan_failed": 0, "scan_partial": 0, "pending": 0, **summary},
        "repositories": [{"scan": {"status": "completed"},
                          "stats": {"blobs_scanned": blobs, "findings": findings}}]}})


def test_the_mirror_renames_what_kingfisher_would_skip(mirror: km.Mirror) -> None:
    assert mirror.names == {"./in/m/tree/app.py": "app.py",
                            "./in/m/renamed/000001/yarn.lock.txt": "yarn.lock"}
    assert all(not km.prefiltered(name) for name in mirror.names)
    assert mirror.renamed == ["yarn.lock"] and mirror.inputs == ("./in",)
    # the whole mirror is in kingfisher's input, nothing is left where it was made
    assert all((mirror.work / name).is_file() for name in mirror.names)
    assert not (mirror.work / km.BUILD).exists()


def test_a_report_that_adds_up(mirror: km.Mirror) -> None:
    completed = answer(record() + "\n" + audit())
    results = kf._results(completed, kf.parse_lines(completed), mirror)
    assert [(r.path, r.line, r.confidence.name) for r in results] == [("app.py", 1, "HIGH")]


@pytest.mark.parametrize(("stdout", "code", "reason"), [
    (audit(blobs=1, findings=0), 0, "scanned 1 files of the 2"),
    (record() + "\n" + audit(findings=2), 200, "counts 2 findings but lists 1"),
    (record() + "\n" + audit(), 0, "exit status 0 does not match"),
    (audit(findings=0, scan_partial=1), 0, "scan_partial is not 0"),
    (record(path="./in/m/tree/elsewhere.py") + "\n" + audit(), 200,
     "names a file it was not given"),
    (record(line=0) + "\n" + audit(), 200, "is not a line"),
    (record(confidence="certain") + "\n" + audit(), 200, "unknown confidence level"),
    (record(), 200, "no single audit record at the end"),
    (audit(findings=0) + "\n" + audit(findings=0), 0, "no single audit record"),
], ids=["blobs", "count", "exit", "partial", "path", "line", "confidence", "no-audit",
        "two-audits"])
def test_a_report_that_does_not_add_up_fails_closed(
    mirror: km.Mirror, stdout: str, code: int, reason: str,
) -> None:
    completed = answer(stdout, code)
    with pytest.raises(ScannerError) as failed:
        kf._results(completed, kf.parse_lines(completed), mirror)
    assert failed.value.scanner == "kingfisher" and reason in failed.value.reason


def test_unparsable_output_is_never_quoted() -> None:
    secret = github_token()
    for stdout in (f"<html>{secret}</html>", f'{{"finding": "{secret}"', f"[{secret!r}]",
                   ""):
        with pytest.raises(ScannerError) as failed:
            kf.parse_lines(answer(stdout, 200, stderr=f"error: bad value '{secret}'"))
        assert secret[4:12] not in str(failed.value), str(failed.value)
        assert failed.value.scanner == "kingfisher"


def test_rule_ids_and_kinds() -> None:
    assert kf.rule_key("veles.secrets/bitbucketcredentials") == "veles.secrets-bitbucketcredentials"
    assert kf.keyword_rule("policy-gate.credential-assignment")
    assert not kf.keyword_rule("policy-gate.aws-access-key-id")  # in providers.yaml
    assert kf.keyword_rule("betterleaks.generic-credential-uri")
    assert not kf.keyword_rule("betterleaks.github-pat")


def test_the_rule_cache_is_never_in_the_tree_nor_anyone_elses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    monkeypatch.setenv(kf.RULE_CACHE_ENV, str(tree / ".cache"))
    args, note = kf.rule_cache(tree)
    assert args == ["--no-rule-cache"] and note and "inside the scanned tree" in note
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv(kf.RULE_CACHE_ENV, str(shared))
    args, note = kf.rule_cache(tree)
    assert args == ["--no-rule-cache"] and note and "others can write" in note
    own = tmp_path / "own"
    monkeypatch.setenv(kf.RULE_CACHE_ENV, str(own))
    assert kf.rule_cache(tree) == (["--rule-cache-dir", str(own.resolve())], None)
    assert own.stat().st_mode & 0o777 == 0o700
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv(kf.RULE_CACHE_ENV, str(blocked / "cache"))
    args, note = kf.rule_cache(tree)
    assert args == ["--no-rule-cache"] and note and "cannot be used" in note


def test_a_rule_cache_kingfisher_cannot_write_still_gives_every_result(
    tmp_path: Path, gate: Callable[..., GateRun],
) -> None:
    """Measured: kingfisher compiles its rules in memory when the cache directory cannot
    be created (~15 s more), with the same results; the gate says so in a note."""
    if os.geteuid() == 0:
        blocked = tmp_path / "not-a-dir"
        blocked.write_text("")
        cache = blocked / "cache"
    else:
        cache = Path("/proc/policy-gate-cache")
    token = github_token()
    root = build(tmp_path / "repo", {"a.txt": f"token = {token}\n"})
    run = gate(root, "--scanner", "kingfisher", env={kf.RULE_CACHE_ENV: str(cache)},
               timeout=600)
    assert run.report is not None and run.code == 1, run.output
    entry = run.scanner("kingfisher")
    assert entry["status"] == "ok" and any("rules compiled for this run" in n
                                          for n in entry["notes"]), entry
    assert [f["path"] for f in kingfisher_findings(run.report)] == ["a.txt"]


def test_a_run_that_listed_the_mirror_too_early_is_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kingfisher is started before the mirror is filled. Made to list it before a single
    file is there (the copy waits for it to finish), it reads none; the gate sees that in
    its report and runs it again on the whole mirror, whose findings stand."""
    root = build(tmp_path / "repo", {"a.py": f'TOKEN = "{github_token()}"\n', "b.txt": "x\n"})
    fill, runs = km.fill_mirror, list[Started]()

    def late_fill(mirror: km.Mirror, places: list[tuple[str, str]], **kw: Any) -> km.Mirror:
        started = runs[-1]
        started.proc.wait(timeout=120)  # it has listed (and scanned) an empty mirror
        return fill(mirror, places, **kw)

    def recorded(*args: Any, **kw: Any) -> Started:
        runs.append(start_tool(*args, **kw))
        return runs[-1]

    monkeypatch.setattr(kf, "fill_mirror", late_fill)
    monkeypatch.setattr(kf, "start_tool", recorded)
    settings = load_policy(OFFLINE_POLICY).scanners["kingfisher"]
    output = kf.KingfisherScanner().scan(ScanContext(walk(root), settings, work_dir=tmp_path))
    assert len(runs) == 1
    assert output.files_scanned == 2
    assert {(f.path, f.start_line) for f in output.findings} == {("a.py", 1)}


def test_a_run_that_keeps_reading_too_few_fails_closed(mirror: km.Mirror) -> None:
    """Read none of the files given twice: no third try, the scan fails naming kingfisher;
    read some but not all: it fails at once (the mirror appears whole or not at all)."""
    scanner = kf.KingfisherScanner()
    none = Completed(("kingfisher",), 0, audit(blobs=0, findings=0) + "\n", "", 0.1)
    with pytest.raises(kf._ReadTooFew):
        scanner._results(none, mirror)
    with pytest.raises(ScannerError, match="scanned 0 files of the 2") as caught:
        scanner._results(none, mirror, again=True)
    assert type(caught.value) is ScannerError
    short = Completed(("kingfisher",), 200, record() + "\n" + audit(blobs=1) + "\n", "", 0.1)
    with pytest.raises(ScannerError, match="scanned 1 files of the 2") as caught:
        scanner._results(short, mirror)
    assert type(caught.value) is ScannerError


def test_kingfisher_starts_before_the_walk_and_is_taken_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runner starts kingfisher before it walks the tree (its rules load meanwhile);
    the scan takes that process up (no second start) and its findings are the answer.
    A start the scan never takes up (the scanner is disabled, or fails) is abandoned."""
    root = build(tmp_path / "repo", {"a.py": f'TOKEN = "{github_token()}"\n', "b.txt": "x\n"})
    events: list[str] = []
    walk_fn = walk

    def walked(*args: Any, **kw: Any) -> Any:
        events.append("walk")
        return walk_fn(*args, **kw)

    def started(*args: Any, **kw: Any) -> Started:
        events.append("start")
        return start_tool(*args, **kw)

    monkeypatch.setattr(runner, "walk", walked)
    monkeypatch.setattr(kf, "start_tool", started)
    policy = load_policy(OFFLINE_POLICY)
    result = runner.scan(root, policy, only=["kingfisher"])
    assert events == ["start", "walk"]
    run = next(r for r in result.runs if r.name == "kingfisher")
    assert run.status == "ok"
    assert [(f.path, f.start_line) for f in result.findings if f.category == "secret"] == [
        ("a.py", 1)]
    assert not list(km.MEMORY_FS.glob(f"policy-gate-mirror-kingfisher-*/{km.INPUT}/{km.DONE}"
                                      "/tree/a.py"))


def test_a_key_found_decoded_ends_within_its_file(tmp_path: Path) -> None:
    """A PEM key base64-encoded on one line (a Kubernetes secret's tls.key) is found
    decoded; its finding spans that line, not the decoded key's lines past the file's end."""
    import base64

    encoded = base64.b64encode(rsa_key().encode()).decode()
    root = build(tmp_path / "repo", {
        "secret.yaml": f"apiVersion: v1\nkind: Secret\ndata:\n  tls.key: {encoded}\n"})
    settings = load_policy(OFFLINE_POLICY).scanners["kingfisher"]
    output = kf.KingfisherScanner().scan(ScanContext(walk(root), settings, work_dir=tmp_path))
    keys = [f for f in output.findings if f.path == "secret.yaml"]
    assert keys, "the encoded key is found"
    assert all(f.start_line <= f.end_line <= 4 for f in keys), [
        (f.start_line, f.end_line) for f in keys]


def test_helper_rules_are_kingfishers() -> None:
    """kf.HELPER_RULES is the pinned kingfisher's set of hidden helper rules (`visible:
    false`): its exit status ignores their findings, so the gate must know them."""
    proc = subprocess.run(
        [kf.kingfisher_command(), "rules", "list", "--format", "json", "--rules-path",
         str(KINGFISHER_RULES_DIR)], capture_output=True, text=True, check=True, timeout=300)
    hidden = {r["id"] for r in json.loads(proc.stdout) if r.get("visible") is False}
    assert hidden == set(kf.HELPER_RULES)


def test_a_helper_rules_finding_alone_is_accounted_for_and_graded_by_what_it_holds(
    tmp_path: Path,
) -> None:
    """A file where only helper rules match (a baseline naming the Azure account-name rule
    beside ordinary words: kingfisher exits 0 yet lists them) is a scan that completed: the
    identifier is reported below the threshold; a helper that holds a secret (an AWS secret
    key without its key id) still fails."""
    entry = ('    {{"rule": "kingfisher:betterleaks.azure-storage-account-name",\n'
             '     "path": "tests/{name}.py", "title": "azure-storage-account-name in source"}}')
    baseline = "[\n" + ",\n".join(entry.format(name=n) for n in ("a", "b")) + "\n]\n"
    root = build(tmp_path / "repo", {"baseline.json": baseline})
    run = run_gate(root, tmp_path / "out", "--scanner", "kingfisher", formats=("json",))
    assert run.code == 0, run.stdout[-2000:]
    found = [f for f in run.report["findings"] if f["category"] == "secret"]
    assert found and {f["confidence"] for f in found} == {"low"}, found
    assert all(f["status"] == "below-threshold" for f in found), found
    secret = rand(string.ascii_letters + string.digits + "/+", 40)
    root2 = build(tmp_path / "repo2", {"deploy.sh": f'aws_secret_access_key = "{secret}"\n'})
    run2 = run_gate(root2, tmp_path / "out2", "--scanner", "kingfisher", formats=("json",))
    assert run2.code == 1, run2.stdout[-2000:]
    assert any(f["status"] == "violation" and f["path"] == "deploy.sh"
               for f in run2.report["findings"]), run2.report["findings"]
