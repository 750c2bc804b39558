"""The same failure reads the same however its log was carried: coloured by a terminal, pasted into a bug report
without the colour codes' ESC, timestamped by a CI runner, written to a pod's log file by the container runtime,
printed by BuildKit, or relayed line by line by Airflow's BashOperator or KubernetesPodOperator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline_sre.diagnosis import diagnose_lines, learned
from pipeline_sre.diagnosis.extract import ErrorExtractor, uncolour, without_carriers, without_prefixes

PLAIN = """\
Running extract for 2024-03-01
Traceback (most recent call last):
  File "/opt/etl/load.py", line 41, in <module>
    conn = psycopg2.connect(dsn)
  File "/usr/lib/python3/dist-packages/psycopg2/__init__.py", line 122, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
psycopg2.OperationalError: could not connect to server: Connection refused
\tIs the server running on host "warehouse.internal" (10.0.3.7) and accepting
\tTCP/IP connections on port 5432?
""".splitlines()

CARRIERS: dict[str, Callable[[str], str]] = {
    "terminal colours": lambda ln: f"\x1b[31m{ln}\x1b[0m",
    "colours pasted without their ESC": lambda ln: f"[1;31m{ln}[0m",
    "GitHub Actions timestamps": lambda ln: f"2024-03-01T12:34:56.1234567Z {ln}",
    "a pod's log file (CRI)": lambda ln: f"2024-03-01T12:34:56.123456789Z stderr F {ln}",
    "BuildKit": lambda ln: f"#12 3.456 {ln}",
    "Docker Compose v1": lambda ln: f"etl_worker_1     | {ln}",
    "Docker Compose v2": lambda ln: f"pipelines-etl-worker-1  | {ln}",
    "Airflow's BashOperator relay": lambda ln: f"[2024-03-01, 12:34:56 UTC] {{subprocess.py:93}} INFO - {ln}",
    "Airflow's KubernetesPodOperator relay": lambda ln: (
        f"[2024-03-01, 12:34:56 UTC] {{pod_manager.py:472}} INFO - [base] {ln}"
    ),
}


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_carried_log_gives_the_plain_logs_answer(carrier: str) -> None:
    plain = diagnose_lines(PLAIN)
    carried = diagnose_lines([CARRIERS[carrier](ln) for ln in PLAIN])
    assert plain.category == "transient_network"
    assert (carried.category, carried.exception) == (plain.category, plain.exception)
    assert "could not connect to server: Connection refused" in carried.excerpt
    assert "\x1b" not in carried.excerpt and "[0m" not in carried.excerpt


@pytest.mark.parametrize("carrier", CARRIERS)
def test_the_model_reads_a_carried_log_as_the_plain_one(carrier: str) -> None:
    def read(lines: list[str]) -> str:
        ex = ErrorExtractor()
        ex.feed_many(lines)
        return learned.model_text(ex.blocks(), list(ex.context))

    assert read([CARRIERS[carrier](ln) for ln in PLAIN]) == read(PLAIN)


@pytest.mark.parametrize("carrier", [c for c in CARRIERS if "colour" not in c])
def test_the_rules_read_a_carried_line_as_the_plain_line(carrier: str) -> None:
    # colour codes are taken out before anything reads a line (``uncolour``); what carried a line, here
    assert [without_carriers(CARRIERS[carrier](ln)) for ln in PLAIN] == PLAIN
    # the relays' own records stay as they are
    record = "[2024-03-01, 12:34:56 UTC] {pod_manager.py:472} INFO - Pod etl-x has phase Failed"
    assert without_carriers(record) == "{pod_manager.py:472} INFO - Pod etl-x has phase Failed"


def test_colour_codes_go_and_text_stays() -> None:
    assert uncolour("\x1b[1;31mERROR\x1b[0m: \x1b]8;;https://x\x07link\x1b]8;;\x07 failed") == "ERROR: link failed"
    # without a reset code nothing shows the log was coloured: bracketed text is the message's own
    assert uncolour("retrying in [5m] after [2m]") == "retrying in [5m] after [2m]"
    assert uncolour("[32mPASS[0m tests [31mFAIL[0m build") == "PASS tests FAIL build"


def test_without_prefixes_keeps_messages_and_levels_and_drops_what_carried_them() -> None:
    text = "\n".join(
        [
            "[2024-03-01, 12:34:56 UTC] {subprocess.py:93} INFO - Can't open /data/parents.txt",
            "2024-03-01 12:34:56,789 ERROR [main] org.apache.spark.SparkContext: Error initializing SparkContext.",
            "2024-03-01T12:34:56.1234567Z Process completed with exit code 1.",
            '  File "/opt/etl/load.py", line 41, in <module>',
            "plain words",
        ]
    )
    assert without_prefixes(text).splitlines() == [
        "Can't open /data/parents.txt",
        "error [main] org.apache.spark.SparkContext: Error initializing SparkContext.",
        "Process completed with exit code 1.",
        '  File "/opt/etl/load.py", line 41, in <module>',
        "plain words",
    ]
