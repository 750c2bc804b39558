from __future__ import annotations

from pipeline_sre.diagnosis import TemplateMiner, extract_errors, mask_variables, signature_of


def _tb(path: str, ts: str, run_id: str, exc: str = "FileNotFoundError") -> list[str]:
    return [
        f"[{ts}] {{taskinstance.py:1979}} INFO - Running run_id={run_id}\n",
        f"[{ts}] {{taskinstance.py:2731}} ERROR - Task failed with exception\n",
        "Traceback (most recent call last):\n",
        '  File "/opt/airflow/dags/load.py", line 44, in load_orders\n',
        '    with open(path, "rb") as fh:\n',
        f"{exc}: [Errno 2] No such file or directory: '{path}'\n",
    ]


def test_same_failure_same_signature_across_runs() -> None:
    a = extract_errors(_tb("/data/landing/2024-05-01/orders.csv", "2024-05-02, 03:00:05 UTC", "scheduled__2024-05-01"))[
        0
    ]
    b = extract_errors(
        _tb("/data/landing/2024-06-17/orders.csv", "2024-06-18, 04:11:09 UTC", "manual__2024-06-17T10:00")
    )[0]
    assert signature_of(a) == signature_of(b)
    assert len(signature_of(a)) == 12
    assert all(c in "0123456789abcdef" for c in signature_of(a))


def test_different_failures_differ() -> None:
    a = extract_errors(_tb("/x/y.csv", "2024-01-01, 00:00:00 UTC", "r1"))[0]
    b = extract_errors(_tb("/x/y.csv", "2024-01-01, 00:00:00 UTC", "r1", exc="PermissionError"))[0]
    c = extract_errors(["ERROR - KeyError: 'amount'\n"])[0]
    assert len({signature_of(a), signature_of(b), signature_of(c)}) == 3


def test_mask_variables() -> None:
    text = (
        "Lost task 17.3 in stage 2.0 (TID 402) (ip-10-1-2-41.ec2.internal executor 7) "
        "at 2024-03-18T10:33:55Z "
        "run 8f0c1d2e-53aa-4f3b-9d0c-5c1a2b3d4e5f path /data/in/2024/part-0001.parquet url s3://b/k?x=1 "
        "host 10.0.0.12:5432 key 'C-88213' hex 0xdeadbeef sha 9f86d081884c7d65"
    )
    out = mask_variables(text)
    for gone in (
        "17.3",
        "402",
        "10.1.2.41",
        "8f0c1d2e",
        "/data/in",
        "s3://",
        "10.0.0.12",
        "C-88213",
        "deadbeef",
        "9f86d081",
    ):
        assert gone not in out, gone
    assert "Lost task" in out and "<UUID>" in out and "<PATH>" in out and "<URL>" in out


def test_template_miner_groups_lines() -> None:
    m = TemplateMiner()
    id1, _ = m.add("Starting task 1 in stage 3 on host 10.0.0.1")
    id2, t2 = m.add("Starting task 2 in stage 3 on host 10.0.0.7")
    id3, _ = m.add("Shutdown hook called")
    assert id1 == id2 and id3 != id1
    assert "<NUM>" in t2 and "<IP>" in t2
    assert m.templates()


def test_access_lines_split_by_method_not_by_leading_address() -> None:
    # OpenStack nova-api access lines (loghub shape): the client address must not be Drain's first key
    from pipeline_sre.diagnosis import TemplateMiner

    m = TemplateMiner()
    get1 = m.add('10.11.10.1 "GET /v2/54fa/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829')
    post = m.add('10.11.10.1 "POST /v2/e974/os-server-external-events HTTP/1.1" status: 200 len: 380 time: 0.09')
    get2 = m.add('10.11.10.1,10.11.21.138 "GET /v2/54fa/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.3')
    assert get1[0] == get2[0] != post[0]
    assert get2[1].startswith('<IP> "GET')
