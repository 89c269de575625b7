"""policy-gate: run security scanners on a repository and enforce a policy on the results."""

__version__ = "0.1.0"
# The JSON report's format (docs/report-format.md): a new field or value is a minor
# version, with its own schema file, policy_gate/reports/schema/report-<version>.json.
REPORT_SCHEMA_VERSION = "1.1"
# The repository on GitHub: where the release tags, and the files at them, are published.
REPOSITORY = "mojaloop/policy-gate"
