"""Trimmed logs as people paste them: a cut marker is never the evidence, a bare "error:" label gives way to
what follows it (or to a specific line elsewhere), and a log without an error line shows the last lines the
rules read in its excerpt."""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_a_traceback_cut_before_its_exception_line_gives_way_to_the_chained_cause() -> None:
    log = (
        "INFO starting extract\n"
        "KeyError: 'started_at'\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "/app/pipeline.py", line 431, in extract\n'
        "    self._extract_source(step, source)\n"
        "...\n"
    )
    d = diagnose_lines(_lines(log))
    assert d.evidence != "..." and "KeyError: 'started_at'" in d.excerpt


def test_a_bare_error_label_gives_way_to_the_termination_reason() -> None:
    log = "error:\n\n      Last State:     Terminated\n      Reason:       OOMKilled\n      Exit Code:    137\n"
    d = diagnose_lines(_lines(log))
    assert "OOMKilled" in d.evidence and d.category == "oom"


def test_a_bare_error_label_takes_its_message_from_the_next_line() -> None:
    d = diagnose_lines(_lines("Error:\n  Not found: Dataset analytics:events was not found in location US\n"))
    assert "Not found: Dataset" in d.evidence


def test_without_an_error_line_the_excerpt_holds_the_last_lines_read() -> None:
    log = (
        "Jan 25 11:17:12Z worker-1 start-worker GCP Metadata Service says termination is imminent\n"
        "Jan 25 11:17:12Z worker-1 start-worker Got graceful-termination request with finish-tasks=false\n"
        "...\n"
    )
    d = diagnose_lines(_lines(log))
    assert "termination is imminent" in d.excerpt and d.evidence != "..."
