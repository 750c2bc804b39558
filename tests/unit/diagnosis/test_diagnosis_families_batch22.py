"""Families of phrasing added after batch 22's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # an artifact step finding nothing the named run uploaded; a deploy finding no build output
        (["==> (not found) Artifact: nightly-bundle\n", "Error: no artifacts found\n"], "upstream_missing"),
        (
            ['[10:01:02.003] Error: No Output Directory named "build" found after the Build completed.\n'],
            "upstream_missing",
        ),
        # Kubernetes starting a pod whose Secret or ConfigMap was never created
        (['CreateContainerConfigError: secret "warehouse-db-secrets" not found\n'], "upstream_missing"),
        (['Error: configmap "loader-config" not found\n'], "upstream_missing"),
        # a Terraform data source finding no image to start from
        (["* aws_instance.worker: Expected 1 AMI for ID: ami-0abc1234, got none\n"], "upstream_missing"),
        # Elasticsearch: the user authenticated, its roles lack the index privilege
        (
            [
                'error=>{"type"=>"security_exception", "reason"=>"action [indices:data/write/bulk[s]] is unauthorized '
                'for user [writer] with roles [ingest] on indices [events-2024.01.02]"}\n'
            ],
            "permission_denied",
        ),
        # pyarrow unable to merge the schemas of the files it reads
        (['"ArrowInvalid: Can\'t unify schema with duplicate field names"\n'], "schema_mismatch"),
        # Pillow reading an image cut short
        (["OSError: image file is truncated (37 bytes not processed)\n"], "data_quality"),
        # a per-IP request slot of a public API
        (
            [
                "Error: runtime error: open64: 0 Success /osm3s_osm_base Dispatcher_Client::request_read_and_idx::"
                "rate_limited. Another request from your IP is still running.\n"
            ],
            "throttled",
        ),
        # PBS/Torque's wall-time limit
        (["Aborted by PBS Server\n", "Job exceeded its walltime limit. Job was aborted\n"], "timeout"),
        # PostgreSQL's lock table, not the server's memory
        (
            [
                "pg_dump: error: query failed: ERROR:  out of shared memory\n",
                "HINT:  You might need to increase max_locks_per_transaction.\n",
            ],
            "resource_exhausted",
        ),
        # a consumer that could not join its group
        (["Some exception occured while trying to join group billing - System.TimeoutException\n"], "kafka_consumer"),
        # a cast between the code's own classes is the code's fault, a value read as another type the schema's
        (
            [
                "java.lang.ClassCastException: org.example.RecordSchema cannot be cast to java.lang.Class\n",
                "\tat org.example.Converter.convertSchema(Converter.java:24)\n",
            ],
            "code_bug",
        ),
        (
            [
                "java.lang.ClassCastException: java.lang.Integer cannot be cast to java.lang.Long\n",
                "\tat org.apache.spark.sql.catalyst.expressions.BaseGenericInternalRow.getLong(rows.scala:42)\n",
            ],
            "schema_mismatch",
        ),
        # a Celery pool worker SIGKILLed with no time limit in sight: a guess at the OOM killer
        (
            [
                "[2024-01-02 10:00:00,001: ERROR/MainProcess] Process 'ForkPoolWorker-3' pid:91 exited with "
                "'signal 9 (SIGKILL)'\n"
            ],
            "oom",
        ),
    ],
)
def test_batch22_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


def test_celery_sigkill_under_its_hard_time_limit_is_no_oom_guess() -> None:
    lines = [
        "[2024-01-02 10:00:00,001: ERROR/MainProcess] Hard time limit (600.0s) exceeded for tasks.rollup[1f2e]\n",
        "[2024-01-02 10:00:04,002: ERROR/MainProcess] Process 'ForkPoolWorker-2' pid:7 exited with "
        "'signal 9 (SIGKILL)'\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "timeout"


def test_a_pytest_xdist_worker_that_vanished_is_a_guess_at_oom() -> None:
    crashed = ["worker 'gw3' crashed while running 'tests/e2e/test_big.py::test_load'\n", "1 failed, 812 passed\n"]
    got = diagnose_lines(crashed, use_model=False)
    assert (got.category, got.confidence < 0.8) == ("oom", True)
    # a worker that hit a per-test timeout or crashed in native code is no memory guess
    timed_out = ["+++++++++++++++++ Timeout +++++++++++++++++\n", "[gw1] node down: Not properly terminated\n"]
    assert diagnose_lines(timed_out, use_model=False).category != "oom"
    segv = [
        "Fatal Python error: Segmentation fault\n",
        "worker 'gw0' crashed while running 'tests/test_c.py::test_x'\n",
    ]
    assert diagnose_lines(segv, use_model=False).category != "oom"
