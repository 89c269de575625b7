"""policy-gate: run security scanners on a repository and enforce a policy on the results."""

__version__ = "0.1.0"
REPORT_SCHEMA_VERSION = "1.0"
