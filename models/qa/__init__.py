"""QA audits: samples, findings, reviews, scores and reports."""
