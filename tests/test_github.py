"""GitHub Actions glue: annotations (injection-proof, capped), outputs, the step summary and
the sticky PR comment against a local emulation of the issue-comments API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from policy_gate import github
from policy_gate.github import (
    GitHubAPIError,
    annotations,
    escape_data,
    escape_property,
    gate_outputs,
    pr_number_from_event,
    read_outputs,
    upsert_pr_comment,
    write_outputs,
    write_step_summary,
)
from policy_gate.policy.evaluate import Status

VULN_PY = """\
import hashlib, subprocess


def run(cmd):
    hashlib.md5(cmd)
"""
EVIL_NAMES = ["evil%0A::error::pwned.py", "a,b::c.py", "x\n::warning::y.py", "r\rcr%25.py"]
TOKEN = "ghs_s3cretTOKENvalue0123456789"


# -- escaping and annotations ------------------------------------------------------------


def test_escaping_matches_actions_core() -> None:
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("50% a\r\nb: c, d") == "50%25 a%0D%0Ab%3A c%2C d"
    assert escape_property("%0A") == "%250A"  # % first: an escaped-looking name survives


def _unescape_property(s: str) -> str:
    # the runner's order (ActionCommand.cs): %25 last, so "%250A" decodes to "%0A"
    for token, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        s = s.replace(token, ch)
    return s


def _unescape_data(s: str) -> str:
    for token, ch in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        s = s.replace(token, ch)
    return s


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    """Parse a line as the runner does: ``::`` + command info up to the next ``::``."""
    assert line.startswith("::")
    end = line.index("::", 2)
    info, data = line[2:end], line[end + 2 :]
    name, _, props = info.partition(" ")
    properties = {}
    for pair in props.split(",") if props else []:
        key, _, value = pair.partition("=")
        properties[key] = _unescape_property(value)
    return name, properties, _unescape_data(data)


def test_file_names_cannot_inject_workflow_commands(scan_data) -> None:
    data = scan_data({name: VULN_PY for name in EVIL_NAMES}, only=["bandit"])
    lines, not_emitted = annotations(data)
    assert not_emitted == 0
    assert len(lines) == len(EVIL_NAMES)
    output = "\n".join(lines) + "\n"  # what the step prints
    printed = output.splitlines()
    assert printed == lines  # no line was split by a CR or LF from a name
    files = set()
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert line.startswith("::error ")
        name, props, message = _parse(line)
        assert name == "error"
        # exactly one command: the properties part holds no further "::"
        assert set(props) == {"file", "line", "endLine", "title"}
        assert props["line"] == "5" and props["endLine"] == "5"
        assert props["title"] == "policy-gate: bandit:B324 (high)"
        assert message.startswith("Use of weak MD5 hash")
        assert "[CWE-328]" in message
        files.add(props["file"])
    assert files == set(EVIL_NAMES)  # decoding gives back every original name


def test_path_prefix_and_warnings_for_annotated_below_threshold(scan_data) -> None:
    data = scan_data({"a.py": VULN_PY, "b.py": 'password = "hunter2hunter2xx"\n'}, only=["bandit"])
    lines, _ = annotations(data, path_prefix="services/api/")
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(errors) == len(data.evaluation.violations)
    expected = [
        d for d in data.evaluation.decisions if d.status is Status.BELOW_THRESHOLD and d.annotate
    ]
    assert expected and len(warnings) == len(expected)
    assert _parse(errors[0])[1]["file"] == "services/api/a.py"
    assert "(below the fail threshold" in _parse(warnings[0])[2]
    assert lines.index(errors[-1]) < lines.index(warnings[0])  # errors first


def test_annotations_are_capped_at_what_github_shows(scan_data) -> None:
    data = scan_data({f"m{i:02d}.py": VULN_PY for i in range(23)}, only=["bandit"])
    violations = len(data.evaluation.violations)
    assert violations == 23
    annotated_below = len(
        [d for d in data.evaluation.decisions if d.status is Status.BELOW_THRESHOLD and d.annotate]
    )
    lines, not_emitted = annotations(data)
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == github.ERRORS_PER_STEP
    assert len(lines) <= github.ERRORS_PER_STEP + github.WARNINGS_PER_STEP
    assert not_emitted == violations + annotated_below - len(lines)

    lines, not_emitted = annotations(data, per_type_limit=50, total_limit=12)
    assert len(lines) == 12 and not_emitted == violations + annotated_below - 12


def test_failed_scanner_is_an_error_annotation(scan_data, scanner_bin, monkeypatch) -> None:
    env = scanner_bin(
        {"bandit": "import sys\nsys.stderr.write('boom\\n::error::x')\nsys.exit(2)\n"}
    )
    monkeypatch.setenv("POLICY_GATE_SCANNER_PATH", env["POLICY_GATE_SCANNER_PATH"])
    data = scan_data({"a.py": VULN_PY}, only=["bandit"])
    lines, _ = annotations(data)
    assert lines[0].startswith("::error title=policy-gate%3A bandit failed::bandit failed")
    assert "%0A::error::x" in lines[0]  # the tool's output stays inside the message
    assert all("\n" not in line for line in lines)


# -- outputs and summary -----------------------------------------------------------------


def test_github_output_heredoc_round_trips(tmp_path: Path, scan_data) -> None:
    out = tmp_path / "github_output"
    out.write_text("earlier=1\n")
    value = "line one\nEOF\nghadelimiter_\n\nlast=line<<x"
    write_outputs(out, {"summary": value, "empty": ""})
    text = out.read_text()
    assert "summary<<ghadelimiter_" in text
    assert read_outputs(out) == {"earlier": "1", "summary": value, "empty": ""}
    with pytest.raises(ValueError):
        write_outputs(out, {"bad\nname": "x"})

    data = scan_data({"a.py": VULN_PY}, only=["bandit"])
    outputs = gate_outputs(data, {"json": "reports/gate.json", "sarif": "reports/gate.sarif"})
    assert outputs["verdict"] == "fail" and outputs["exit-code"] == "1"
    assert outputs["violations"] == "1"
    assert outputs["findings"] == str(len(data.evaluation.decisions))
    assert json.loads(outputs["counts"])["by_status"]["violation"] == 1
    assert outputs["report-sarif"] == "reports/gate.sarif"
    write_outputs(out, outputs)
    assert read_outputs(out)["counts"] == outputs["counts"]


def test_step_summary_never_exceeds_the_limit(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary"
    block = "".join(f"| row {i} | é |\n" for i in range(400))
    written = write_step_summary(summary, block, max_bytes=10_000)
    assert written == len(block.encode())
    written = write_step_summary(summary, block, max_bytes=10_000)
    assert 0 < written < len(block.encode())
    assert summary.stat().st_size <= 10_000
    assert summary.read_text().endswith("*(truncated to fit GitHub's size limit)*\n")
    assert write_step_summary(summary, block, max_bytes=10_000) == 0
    assert github.SUMMARY_MAX_BYTES == 1024 * 1024  # the default limit


def test_pr_number_from_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"number": 42, "pull_request": {"number": 42, "head": {"sha": "a" * 40}}})
    )
    assert pr_number_from_event(event) == 42
    assert github.head_sha_from_event(event) == "a" * 40
    event.write_text(json.dumps({"ref": "refs/heads/main", "commits": []}))
    assert pr_number_from_event(event) is None
    assert pr_number_from_event(tmp_path / "missing.json") is None
    assert pr_number_from_event(None) is None


# -- the sticky comment, against a local issue-comments API ------------------------------


class FakeGitHub:
    """Issue comments of one PR, 2 pages (page size forced to 3 to paginate)."""

    PAGE = 3

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = [
            {"id": 10 + i, "body": f"unrelated comment {i}", "user": {"login": "someone"}}
            for i in range(4)
        ]
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.fail_with: int | None = None
        # GET /user: this account (a user token), or None: 403, as for GITHUB_TOKEN
        self.user: dict[str, Any] | None = None
        self.user_status: int | None = None  # force another status for GET /user
        self.next_id = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length)) if length else None
                fake.calls.append(
                    (
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        payload,
                    )
                )
                return payload

            def _failed(self) -> bool:
                if fake.fail_with is None:
                    return False
                self._send(fake.fail_with, {"message": f"Bad credentials {TOKEN}"})
                return True

            def do_GET(self) -> None:
                self._record()
                if self._failed():
                    return
                parts = urlsplit(self.path)
                if parts.path == "/user":
                    if fake.user_status is not None:
                        self._send(fake.user_status, {"message": "Server Error"})
                    elif fake.user is None:
                        self._send(403, {"message": "Resource not accessible by integration"})
                    else:
                        self._send(200, fake.user)
                    return
                assert parts.path == "/repos/mojaloop/central-ledger/issues/7/comments"
                query = parse_qs(parts.query)
                assert query["per_page"] == ["100"]
                page = int(query.get("page", ["1"])[0])
                start = (page - 1) * fake.PAGE
                items = fake.comments[start : start + fake.PAGE]
                headers = {}
                if start + fake.PAGE < len(fake.comments):
                    nxt = f"{fake.url}{parts.path}?per_page=100&page={page + 1}"
                    headers["Link"] = f'<{nxt}>; rel="next", <{nxt}>; rel="last"'
                self._send(200, items, headers)

            def do_POST(self) -> None:
                payload = self._record()
                if self._failed():
                    return
                fake.next_id += 1
                comment = {
                    "id": fake.next_id,
                    "body": payload["body"],
                    "user": {"login": "github-actions[bot]", "type": "Bot"},
                    "html_url": f"https://github.com/x/y/pull/7#issuecomment-{fake.next_id}",
                }
                fake.comments.append(comment)
                self._send(201, comment)

            def do_PATCH(self) -> None:
                payload = self._record()
                if self._failed():
                    return
                comment_id = int(self.path.rsplit("/", 1)[1])
                assert self.path == f"/repos/mojaloop/central-ledger/issues/comments/{comment_id}"
                comment = next(c for c in fake.comments if c["id"] == comment_id)
                comment["body"] = payload["body"]
                self._send(200, comment)

        return Handler


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def _upsert(fake: FakeGitHub, body: str, **kwargs: Any) -> github.CommentResult:
    return upsert_pr_comment(fake.url, "mojaloop/central-ledger", 7, TOKEN, body, **kwargs)


def test_sticky_comment_is_created_then_updated(fake_github: FakeGitHub) -> None:
    first = _upsert(fake_github, "**FAIL** — 3 violations")
    assert first.action == "created"
    methods = [(m, urlsplit(p).query) for m, p, _, _ in fake_github.calls]
    # who am I (GET /user: 403 for GITHUB_TOKEN), the comments (2 pages), then a new one
    assert methods == [("GET", ""), ("GET", "per_page=100"), ("GET", "per_page=100&page=2"),
                       ("POST", "")]
    _, _, headers, payload = fake_github.calls[-1]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert payload["body"].startswith(github.MARKER + "\n**FAIL**")

    fake_github.calls.clear()
    second = _upsert(fake_github, "**PASS** — 0 violations")
    assert second.action == "updated" and second.id == first.id
    assert [m for m, _, _, _ in fake_github.calls] == ["GET", "GET", "GET", "PATCH"]
    assert fake_github.calls[-1][1].endswith(f"/issues/comments/{first.id}")
    posted = [c for c in fake_github.comments if github.MARKER in c["body"]]
    assert len(posted) == 1 and "**PASS**" in posted[0]["body"]

    # with an author filter, a marker in someone else's comment is not taken over
    fake_github.comments.insert(0, {"id": 5, "body": github.MARKER, "user": {"login": "mallory"}})
    third = _upsert(fake_github, "again", author="github-actions[bot]")
    assert third.action == "updated" and third.id == first.id


def test_long_body_is_truncated(fake_github: FakeGitHub) -> None:
    body = "".join(f"| row {i} | {'x' * 60} |\n" for i in range(2000))
    assert len(body) > 65_536
    _upsert(fake_github, body)
    posted = fake_github.calls[-1][3]["body"]
    assert len(posted) <= 65_536
    assert "truncated" in posted and posted.startswith(github.MARKER)


@pytest.mark.parametrize("status", [401, 500])
def test_api_errors_never_reveal_the_token(fake_github: FakeGitHub, status: int) -> None:
    fake_github.fail_with = status
    with pytest.raises(GitHubAPIError) as info:
        _upsert(fake_github, "body")
    err = info.value
    assert err.status == status
    assert TOKEN not in str(err) and TOKEN not in repr(err.args)
    assert f"HTTP {status}" in str(err) and "Bad credentials" in str(err)
    assert err.__cause__ is None and err.__suppress_context__


def test_token_is_only_sent_to_the_api_origin(fake_github: FakeGitHub) -> None:
    with pytest.raises(ValueError):
        upsert_pr_comment("http://example.com", "a/b", 1, TOKEN, "x")  # clear text
    with pytest.raises(ValueError):
        upsert_pr_comment(fake_github.url, "a/b/../c", 1, TOKEN, "x")
    fake_github.PAGE = 1  # a "next" link to another origin is refused
    original = fake_github.url
    fake_github.url = "http://127.0.0.2:9"
    try:
        with pytest.raises(GitHubAPIError, match="outside the API origin"):
            upsert_pr_comment(original, "mojaloop/central-ledger", 7, TOKEN, "x")
    finally:
        fake_github.url = original


def test_comment_body_fits_a_comment(scan_data, fake_github: FakeGitHub) -> None:
    data = scan_data({f"pkg/m{i:03d}.py": VULN_PY for i in range(60)}, only=["bandit"])
    body = github.comment_body(data)
    assert body.startswith(github.MARKER + "\n**FAIL** — 60 violations")
    assert len(body) <= 65_536
    result = _upsert(fake_github, body)
    assert result.action == "created"
    assert fake_github.calls[-1][3]["body"] == body  # fits: not cut again
