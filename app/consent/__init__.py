"""Consent: records of what a subject agreed to, their revocation, and what revocation does."""
