"""Partner export whose upload is refused.

``upload_to_s3`` logs (made-up, fake) credentials the way careless code does -- an
``AWS_SECRET_ACCESS_KEY=...`` line, a PostgreSQL URI with a password, an ``Authorization: Bearer``
header -- right before failing with ``PermissionError`` carrying an S3-style ``(AccessDenied)`` message.
``notify_partner`` ends ``upstream_failed``. The literals match
``pipeline_sre.sandbox.SANDBOX_LEAKED_SECRETS`` so tests can assert no tool output repeats them.

Rerun: fails the same way every time (the fix is an IAM/bucket-policy change).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import dag, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 0,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}

# Fake values, for redaction tests only.
AWS_SECRET = "sbxFAKEsecret/9dT2vQx7LmN4pR8sKw3Zy6Hb1Jc5UoEe"
DB_PASSWORD = "Sbx-fake-pw-7Qm2Lx9Rt4"
BEARER = "sbx_live_FAKE_tok_4f9c2d7e8a1b6c3d5e0f9a8b7c6d5e4f"
BUCKET_KEY = "s3://acme-partner-exports/daily/partner_feed.parquet"


@dag(
    dag_id="example_permission_denied",
    schedule=None,
    catchup=False,
    tags=["tier:2", "team:partnerships", "domain:exports"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_permission_denied() -> None:
    @task
    def prepare_export() -> str:
        log.info("prepared 1204 rows for %s", BUCKET_KEY)
        return BUCKET_KEY

    @task
    def upload_to_s3(key: str) -> None:
        log.info("debug: environment AWS_ACCESS_KEY_ID=SBXFAKEKEYID0000 AWS_SECRET_ACCESS_KEY=%s", AWS_SECRET)
        log.info("reading manifest from postgresql://etl_user:%s@db.internal:5432/warehouse", DB_PASSWORD)
        log.info("PUT %s headers={'Authorization': 'Bearer %s'}", key, BEARER)
        raise PermissionError(
            f"An error occurred (AccessDenied) when calling the PutObject operation: Access Denied ({key})"
        )

    @task
    def notify_partner() -> None:
        log.info("partner notified")

    upload_to_s3(prepare_export()) >> notify_partner()


example_permission_denied()
