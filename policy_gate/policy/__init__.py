"""Policy: load and validate (loader), the typed model (model), and evaluate findings
against it (evaluate)."""
