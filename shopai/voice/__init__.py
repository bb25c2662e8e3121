"""Offline voice search: audio capture, recognition against the catalog, fuzzy product matching."""
