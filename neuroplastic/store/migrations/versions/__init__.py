"""Revision files of the run store schema, oldest first (``v0001_initial`` is the base)."""
