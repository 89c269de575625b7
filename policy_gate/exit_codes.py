"""The gate's exit codes: one contract for the command line, the Action and the verdicts
(CI systems and people's scripts branch on them)."""

from __future__ import annotations

EXIT_PASS = 0
EXIT_VIOLATIONS = 1  # the policy is violated (or a change to it awaits review)
EXIT_USAGE = 2  # a bad argument, input or policy file
EXIT_INTERNAL = 3  # a scanner or the gate itself failed: the result cannot be trusted
