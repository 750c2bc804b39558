"""Test doubles for the backends pipeline-sre talks to (import from the submodules, e.g.
`tests.fakes.airflow_api`, so `python -m tests.fakes.airflow_api` runs without a double import)."""
