"""Checks added after batch 18's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py, and the bare signal as a default.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines


def test_a_bare_signal_is_a_default_that_a_rule_explaining_the_kill_outranks() -> None:
    # a shell's bare "Killed" after a tool's progress lines: the OOM killer in the common case (a capped guess), where
    # the rule for a signal without memory evidence used to win at a higher confidence than the guess
    lines = [
        "[M::mm_idx_stat] kmer size: 15; skip: 5; is_hpc: 0; #seq: 287888\n",
        "[M::mm_idx_stat::15.298*3.05] distinct minimizers: 10663799\n",
        "Killed\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert (d.category, d.rule_id) == ("oom", "oom.shell_killed") and d.confidence < 0.8
    # alone, the default still answers
    alone = diagnose_lines(["Task exited with return code -9\n"], use_model=False)
    assert (alone.category, alone.rule_id) == ("killed_external", "killed.signal_without_oom")
