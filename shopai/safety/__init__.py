"""Data safety: backups, integrity checks and restore."""
