"""Anonymization at ingestion: detectors (detectors.py, with checksums.py), a project's own rules
(custom.py), the anonymizer that walks an item's data (redact.py) and the policy that puts them
together (policy.py)."""
