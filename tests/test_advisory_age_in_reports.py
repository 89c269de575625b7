"""Every report states the age of the advisory data the audit used (issue: M4a)."""

from __future__ import annotations

from rich.console import Console

from policy_gate.cli_output import render_format
from policy_gate.reports import terminal


def test_every_format_states_the_advisory_data_age(scan_data) -> None:
    data = scan_data({"requirements.txt": "jinja2==2.10\n"}, only=["pip-audit"])
    info = data.result.advisory_info
    assert info is not None and info.newest is not None
    newest = info.newest.strftime("%Y-%m-%d")
    for fmt in ("json", "sarif", "junit", "markdown", "cyclonedx"):
        assert newest in render_format(fmt, data), fmt
    console = Console(record=True, width=200)
    terminal.render(data, console)
    assert newest in console.export_text()
