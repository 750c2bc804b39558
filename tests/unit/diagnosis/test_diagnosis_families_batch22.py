"""Checks added after batch 22's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines


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
