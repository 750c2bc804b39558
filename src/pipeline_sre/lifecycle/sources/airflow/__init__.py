"""Airflow DAG runs: detection, triage, diagnosis from task logs, remediation plans and verification."""
