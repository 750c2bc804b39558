"""Slack approvals: approval messages with buttons, and the signed interactivity endpoint the console mounts."""
