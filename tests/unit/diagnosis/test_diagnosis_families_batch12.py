"""Families of phrasing added after batch 12's misses were studied (issue 12).

Each line is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        (
            [
                "2024-03-02 08:10:11.120000: Caught exception RefreshError\n",
                "2024-03-02 08:10:11.120000: This request is being retried\n",
            ],
            "credentials",
        ),
        (
            ["Kafka error: Message consumption error: UnknownTopicOrPartition (Broker: Unknown topic or partition)\n"],
            "upstream_missing",
        ),
        (
            [
                "ERROR: Traceback (most recent call last):\n",
                '  File "/usr/lib/python3.11/gzip.py", line 507, in _read_eof\n',
                "EOFError: Compressed file ended before the end-of-stream marker was reached\n",
            ],
            "data_quality",
        ),
        (["gzip: sample_R1.fastq.gz: unexpected end of file\n"], "data_quality"),
        (
            [
                "MapperParsingException[failed to parse [event_time]]; nested: "
                'IllegalArgumentException[Invalid format: "Mar 02 08:10:11"];\n'
            ],
            "schema_mismatch",
        ),
        (
            [
                "Database Error in model orders_daily (models/marts/orders_daily.sql)\n",
                "  Name order_key not found inside DBT_INTERNAL_DEST at [41:17]\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "$ snakemake --use-conda -n\n",
                "KeyError in line 88 of /work/pipeline/workflow/Snakefile:\n",
                "'sample_pairs'\n",
            ],
            "code_bug",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "load_boxes.py", line 6, in <module>\n',
                "    data = json.load(f)\n",
                "ValueError: Unterminated string starting at: line 1 column 912345 (char 912344)\n",
            ],
            "data_quality",
        ),
        (
            ["fatal: unable to access 'https://git.example.test/etl.git/': The requested URL returned error: 500\n"],
            "transient_network",
        ),
        (
            [
                "Mar 02 08:10:00Z worker-gpu-7 start-worker polling for termination-time\n",
                "Mar 02 08:10:08Z worker-gpu-7 systemd-logind Power key pressed.\n",
            ],
            "killed_external",
        ),
    ],
)
def test_batch12_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


def test_a_plain_value_error_stays_a_code_bug() -> None:
    # only a JSON document cut mid-way is the data; any other ValueError is still read as the code's
    lines = ["Traceback (most recent call last):\n", "ValueError: invalid literal for int() with base 10: 'x'\n"]
    assert diagnose_lines(lines, use_model=False).category == "code_bug"
