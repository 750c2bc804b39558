"""Metric signals: Prometheus detectors and Kinesis iterator age, their advice and verification."""
