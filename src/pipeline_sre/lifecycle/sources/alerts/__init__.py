"""Alertmanager alerts: the webhook intake and verification."""
