from __future__ import annotations

import resource
from typing import Any

import pytest

from pipeline_sre.diagnosis import ErrorBlock, extract_errors
from tests.unit.diagnosis.diag_testutil import LOGS, load_expected, read_lines

CORPUS = sorted(p.name for p in LOGS.iterdir() if p.suffix in (".log", ".jsonl"))


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, Any]]:
    return load_expected()


def _noise(n: int, start: int = 0) -> list[str]:
    return [
        f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{worker.py:{100 + i % 7}}} INFO - "
        f"processed batch {i} "
        f"with {i * 7 % 1000} rows in {i % 97} ms\n"
        for i in range(start, start + n)
    ]


def test_corpus_blocks(expected: dict[str, dict[str, Any]]) -> None:
    assert set(CORPUS) == set(expected), "every corpus file needs an entry in expected.yaml"
    for name in CORPUS:
        exp = expected[name]
        blocks = extract_errors(read_lines(name))
        if not exp["evidence"]:
            assert blocks == [], name
            continue
        assert blocks, name
        top = blocks[0]
        assert top.exception == exp["exception"], name
        assert exp["evidence"] in top.evidence, (name, top.evidence)
        assert top.evidence in top.text or top.kind == "airflow3_structured", name
        if "kind" in exp:
            assert top.kind == exp["kind"], (name, top.kind)
        assert 1 <= top.line_start <= top.line_end


def test_chained_root_cause_first_and_chain_order() -> None:
    top = extract_errors(read_lines("airflow2_chained_keyerror.log"))[0]
    assert top.exception == "KeyError"
    assert top.root_cause_chain == ["ValueError", "KeyError"]
    assert top.frames[0].endswith("in enrich")
    assert top.line_start == 3  # the "Task failed with exception" header line


def test_direct_cause_chain() -> None:
    top = extract_errors(read_lines("airflow2_direct_cause_psycopg.log"))[0]
    assert top.root_cause_chain == ["airflow.exceptions.AirflowException", "psycopg2.OperationalError"]
    assert "server closed the connection unexpectedly" in top.message


def test_jvm_deepest_cause_and_user_frames() -> None:
    top = extract_errors(read_lines("spark_executor_heap.log"))[0]
    assert top.kind == "spark" or top.kind == "jvm"
    assert top.frames[0].startswith("org.apache.spark") or top.frames[0].startswith("com.acme")
    assert "com.acme.etl.JoinJob$.buildLookup(JoinJob.scala:77)" in top.frames


def test_py4j_wrapper_reports_jvm_root() -> None:
    top = extract_errors(read_lines("pyspark_py4j_filenotfound.log"))[0]
    assert top.exception == "java.io.FileNotFoundException"
    assert top.root_cause_chain[0] == "py4j.protocol.Py4JJavaError"
    assert top.root_cause_chain[-1] == "java.io.FileNotFoundException"


def test_structured_record_chain() -> None:
    top = extract_errors(read_lines("airflow3_structured_chain.jsonl"))[0]
    assert top.root_cause_chain == ["RuntimeError", "KeyError"]
    assert top.frames[0] == "/opt/airflow/dags/payments.py:33 in net_amount"
    assert top.line_start == 4


def test_trailing_airflow_noise_does_not_hide_error() -> None:
    blocks = extract_errors(read_lines("airflow2_filenotfound.log"))
    assert blocks[0].exception == "FileNotFoundError"
    assert all("Marking task" not in b.evidence for b in blocks[:1])


def test_wrapper_ranks_below_real_cause() -> None:
    blocks = extract_errors(read_lines("airflow2_bash_wrapper.log"))
    assert blocks[0].exception == "ModuleNotFoundError"
    assert any(b.exception == "airflow.exceptions.AirflowException" for b in blocks[1:])


def test_error_in_middle_of_ten_thousand_lines() -> None:
    err = read_lines("airflow2_filenotfound.log")[6:15]
    lines = _noise(6000) + err + _noise(6000, 6000)
    blocks = extract_errors(iter(lines))
    assert blocks[0].exception == "FileNotFoundError"
    assert blocks[0].line_start == 6001


def test_max_blocks_and_order() -> None:
    lines = read_lines("airflow2_misleading_warn.log")
    assert len(extract_errors(lines, max_blocks=1)) == 1
    blocks = extract_errors(lines, max_blocks=5)
    assert blocks[0].exception == "PermissionError"
    assert len(blocks) <= 5


def test_fallback_exit_codes_and_signals() -> None:
    lines = ["starting\n", "doing work\n", "Task exited with return code Negsignal.SIGKILL\n"]
    blocks = extract_errors(lines)
    assert blocks and blocks[0].kind == "fallback"
    assert "SIGKILL" in blocks[0].evidence
    blocks = extract_errors(["run\n", "subprocess returned non-zero exit status 3\n"])
    assert "non-zero exit status 3" in blocks[0].evidence


def test_empty_and_clean_logs() -> None:
    assert extract_errors([]) == []
    assert extract_errors(_noise(500)) == []


def test_non_utf8_and_binary_content() -> None:
    raw = [b"\xff\xfe garbage \x00\x01\n", b"ERROR something \xe9\xe8 broke: KeyError\n", "caf\u00e9 ok\n"]
    blocks = extract_errors(raw)  # type: ignore[arg-type]
    assert blocks and "something" in blocks[0].evidence
    text = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: bad \udcff value\n'
    blocks = extract_errors(text)  # a whole string is split into lines
    assert blocks[0].exception == "ValueError"


def test_fifty_megabyte_line_is_capped() -> None:
    huge = "ERROR " + "x" * (50 * 1024 * 1024) + "\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    blocks = extract_errors(
        [
            "start\n",
            huge,
            "Traceback (most recent call last):\n",
            '  File "a.py", line 3, in g\n',
            "ZeroDivisionError: division by zero\n",
        ]
    )
    assert blocks[0].exception == "ZeroDivisionError"
    assert all(len(b.text) <= 20_000 and len(b.evidence) <= 1000 for b in blocks)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 400


def test_errorblock_is_frozen() -> None:
    b = ErrorBlock("E", "m", [], 1, 1, "e", "t", "fallback", [])
    with pytest.raises(AttributeError):
        b.message = "x"  # type: ignore[misc]


def test_indented_traceback_is_read_dedented() -> None:
    lines = [
        "    Traceback (most recent call last):\n",
        '      File "/app/x.py", line 3, in f\n',
        "        g()\n",
        "    urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='h', port=1): Max retries exceeded\n",
    ]
    top = extract_errors(lines)[0]
    assert top.exception == "urllib3.exceptions.MaxRetryError"
    assert top.frames == ["/app/x.py:3 in f"]


def test_traceback_that_lost_its_indent_keeps_its_exception() -> None:
    # a traceback pasted outside a code block (nasa/opera-sds-pcm#414, trimmed): frames and source lines start the
    # line, so before, the first frame was read as the exception and the OSError fell out of a buried excerpt
    lines = [
        "Traceback (most recent call last):\n",
        'File "/home/ops/hysds/job_worker.py", line 1410, in run_job\n',
        "post_processor_sigs.append(func(job, context))\n",
        'File "/opt/conda/lib/python3.9/shutil.py", line 266, in copyfile\n',
        "with open(dst, 'wb') as fdst:\n",
        "     ^^^^^^^^^^^^^^^\n",
        'File "<frozen importlib._bootstrap>", line 1006, in _gcd_import\n',
        'File "/app/retry.py", line 9, in call\n',
        "raise\n",
        "OSError: [Errno 28] No space left on device: '/data/work/jobs/2023'\n",
    ]
    top = extract_errors([*_noise(50), *lines, *_noise(50, 50)])[0]
    assert top.exception == "OSError"
    assert top.evidence.startswith("OSError: [Errno 28] No space left on device")
    assert top.frames[0] == "/app/retry.py:9 in call"
    # an exception whose type is lower-case but carries a message is still the exception
    sock = extract_errors(
        [
            "Traceback (most recent call last):\n",
            'File "/a.py", line 1, in f\n',
            "s.recv(1)\n",
            "socket.timeout: timed out\n",
        ]
    )[0]
    assert sock.exception == "socket.timeout"


def test_truncated_traceback_uses_its_header() -> None:
    lines = [
        "[2020-11-09 01:04:19,301] {taskinstance.py:1128} ERROR - Error while fetching server API version: "
        "('Connection aborted.', ConnectionRefusedError(111, 'Connection refused'))\n",
        "Traceback (most recent call last):\n",
        '  File "/usr/lib/python3/urllib3/connectionpool.py", line 677, in urlopen\n',
    ]
    top = extract_errors(lines)[0]
    assert top.exception is None
    assert "Connection refused" in top.message and "Connection refused" in top.evidence


def test_bare_exception_line_without_log_prefix() -> None:
    top = extract_errors(["starting\n", "ValueError: The key 'how' in args is reserved.\n", "bye\n"])[0]
    assert top.exception == "ValueError"
    top = extract_errors(["{ ThrottlingException: Rate exceeded\n", "at Request.extractError (x.js:51:27)\n"])[0]
    assert top.exception == "ThrottlingException"


def test_weak_line_is_the_last_resort() -> None:
    blocks = extract_errors(["INFO ok\n", "the import did not succeed: constraint violated on row 7\n"])
    assert blocks and "violated" in blocks[0].evidence and blocks[0].kind == "fallback"


def test_failure_line_without_error_keyword_is_the_last_resort() -> None:
    # "... has expired" / "... stopped unexpectedly" are whole failures without an error keyword
    for line, word in (
        ("AADSTS700082: The refresh token has expired due to inactivity.\n", "expired"),
        ("The spark driver has stopped unexpectedly and is restarting.\n", "unexpectedly"),
    ):
        blocks = extract_errors(["INFO starting run 42\n", line])
        assert blocks and word in blocks[0].evidence and blocks[0].kind == "fallback", line
    assert extract_errors(["INFO cache entry expired, refreshing\n"]) == []


def test_a_notebooks_traceback_keeps_its_exception() -> None:
    # IPython 7 as Colab prints it (batch 61): each frame a line of its own with numbered source under it, library
    # frames folded into "N frames", blank lines between; the exception at the end is the block's, not the first frame
    lines = [
        "---------------------------------------------------------------------------\n",
        "\n",
        "ResourceExhaustedError                    Traceback (most recent call last)\n",
        "\n",
        "/usr/local/lib/python3.6/dist-packages/tensorflow_core/python/client/session.py in _do_call(self, fn)\n",
        "   1364     try:\n",
        "-> 1365       return fn(*args)\n",
        "   1366     except errors.OpError as e:\n",
        "\n",
        "18 frames\n",
        "\n",
        "<ipython-input-7-3f2a9c1b> in <module>()\n",
        "----> 1 model.fit(train, epochs=3)\n",
        "\n",
        "ResourceExhaustedError: 2 root error(s) found.\n",
    ]
    (block,) = extract_errors(lines)
    assert block.kind == "python_traceback"
    assert block.exception == "ResourceExhaustedError"
    assert block.message == "2 root error(s) found."
    assert any("<ipython-input-7-3f2a9c1b> in <module>" in f for f in block.frames)


def test_an_ipython_8_traceback_keeps_its_exception() -> None:
    lines = [
        "---------------------------------------------------------------------------\n",
        "KeyError                                  Traceback (most recent call last)\n",
        "Cell In[4], line 1\n",
        "----> 1 frame['region']\n",
        "\n",
        "File /opt/conda/lib/python3.11/site-packages/pandas/core/frame.py:3893, in DataFrame.__getitem__(self, key)\n",
        "   3891 if self.columns.nlevels > 1:\n",
        "-> 3893 indexer = self.columns.get_loc(key)\n",
        "\n",
        "KeyError: 'region'\n",
    ]
    (block,) = extract_errors(lines)
    assert (block.exception, block.message) == ("KeyError", "'region'")
