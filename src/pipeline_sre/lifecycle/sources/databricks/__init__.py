"""Databricks job runs: status, detection, diagnosis, repair / run-now plans and verification."""
