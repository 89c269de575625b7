"""Report formats, one module each; all take the same ReportData."""
