"""Ingest: readers per format, validation, quarantine, provenance, idempotent loads."""
