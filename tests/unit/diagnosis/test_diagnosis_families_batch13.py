"""Families of phrasing added after batch 13's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
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
                "<--- Last few GCs --->\n",
                "[3120:0x5c1e0a0]   612004 ms: Mark-sweep (reduce) 4011.2 (4102.5) -> 4010.8 (4103.5) MB, "
                "2210.4 / 0.1 ms  (average mu = 0.051, current mu = 0.002) "
                "allocation failure scavenge might not succeed\n",
            ],
            "oom",
        ),
        (["##[error]Resource not accessible by integration\n"], "permission_denied"),
        (
            [
                "Pulling image ghcr.io/acme/loader:1.4.2\n",
                "Error response from daemon: manifest unknown\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "2024.01.09 10:11:12.000100 [ 4411 ] <Error> executeQuery: Code: 16, e.displayText() = DB::Exception: "
                "There is no column with name total. There are columns: day, region, amount\n"
            ],
            "schema_mismatch",
        ),
        (
            [
                "│ Query schema: [id: STRING NOT NULL, amount: DOUBLE NOT NULL]\n",
                "│ Sink schema:  [key: BYTES, id: STRING, amount: DOUBLE]\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "load.py", line 40, in <module>\n',
                "pyarrow.lib.ArrowInvalid: Could not convert 'n/a' with type str: tried to convert to double\n",
            ],
            "data_quality",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "prep.py", line 12, in <module>\n',
                "pandas._libs.tslibs.np_datetime.OutOfBoundsDatetime: "
                "Out of bounds nanosecond timestamp: 2301-01-01 00:00:00\n",
            ],
            "data_quality",
        ),
        (
            ["ERROR psycopg2.errors.StringDataRightTruncation: value too long for type character varying(12)\n"],
            "data_quality",
        ),
        (["ValueError: Out of range float values are not JSON compliant: nan\n"], "data_quality"),
        (
            [
                "OSError: Parquet magic bytes not found in footer. "
                "Either the file is corrupted or this is not a parquet file.\n"
            ],
            "data_quality",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/usr/lib/spark/python/pyspark/worker.py", line 98, in main\n',
                "Exception: Python in worker has different version 3.8 than that in driver 3.10, PySpark cannot run "
                "with different minor versions.\n",
            ],
            "dependency",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/usr/lib/python2.7/site-packages/airflow/operators/bash_operator.py", line 90, in execute\n',
                "UnicodeDecodeError: 'ascii' codec can't decode byte 0xe2 in position 21: ordinal not in range(128)\n",
            ],
            "code_bug",
        ),
        (
            [
                "No output has been received in the last 10m0s, this potentially indicates a stalled build or "
                "something wrong with the build itself.\n",
                "The build has been terminated\n",
            ],
            "timeout",
        ),
        (
            [
                "ERROR indexer - Failed Message #7, REST response:TOO_MANY_REQUESTS; errorMessage:"
                "EsRejectedExecutionException[rejected execution (queue capacity 50) on bulk shard]\n"
            ],
            "throttled",
        ),
        (
            [
                "[2024-01-09T10:11:12,000][WARN ][o.e.c.r.a.DiskThresholdMonitor] flood stage disk watermark [95%] "
                "exceeded on [node-1][/usr/share/elasticsearch/data] free: 1.1gb[1.2%], all indices on this node will "
                "be marked read-only\n"
            ],
            "resource_exhausted",
        ),
        (
            [
                'ERROR 2024/01/09 10:11:12 Bulk response item: {"status":429,"error":{"type":"cluster_block_exception",'
                '"reason":"index [events] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, '
                'index has read-only-allow-delete block];"}}\n'
            ],
            "resource_exhausted",
        ),
        (
            [
                "[Sarama] 2024/01/09 10:11:12 consumer/broker/3 abandoned subscription to clicks/4 because consuming "
                "was taking too long\n"
            ],
            "kafka_consumer",
        ),
        (
            [
                "Jan 09 10:11:12 host systemd[1]: exporter.service: Watchdog timeout (limit 30s)!\n",
                "Jan 09 10:11:12 host systemd[1]: exporter.service: "
                "Killing process 811 (exporter) with signal SIGABRT.\n",
            ],
            "killed_external",
        ),
        (
            [
                "ERROR ~ Error executing process > 'ALIGN (s1)'\n",
                "Caused by:\n",
                "  Process `ALIGN (s1)` terminated with an error exit status (129)\n",
            ],
            "killed_external",
        ),
    ],
)
def test_batch13_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
