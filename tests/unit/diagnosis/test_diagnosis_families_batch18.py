"""Families of phrasing added after batch 18's misses were studied (issue 12), and the bare signal as a default.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # a build's download step whose file is gone from the server
        (
            [
                "Downloading http://downloads.example.org/libz-1.2.11.tar.gz\n",
                "Download failed with error 404 for: //downloads.example.org/libz-1.2.11.tar.gz\n",
                "Failed to build package boost\n",
            ],
            "upstream_missing",
        ),
        # Go reading a value it cannot take for a time (MySQL's zero dates)
        (
            [
                "error occurred while reading records: \n",
                "failed to scan record data as map: failed to parse datetime from available formats: parsing time "
                '"0000-00-00 00:00:00": month out of range\n',
            ],
            "data_quality",
        ),
        # a toolchain floor printed just above BuildKit's failure line
        (
            [
                "#12 0.354 go: go.mod requires go >= 1.24.0 (running go 1.23.7; GOTOOLCHAIN=local)\n",
                "------\n",
                'ERROR: failed to solve: process "/bin/sh -c go build -o /out/app" did not complete successfully: '
                "exit code: 1\n",
            ],
            "dependency",
        ),
        # no thread left to create (git's pack writer under a container's process limit), Lambda's concurrency floor
        (["error: writing packfile: -1, unable to create thread\n"], "resource_exhausted"),
        (
            [
                'Initializer Failure: Resource handler returned message: "Specified ReservedConcurrentExecutions for '
                "function decreases account's UnreservedConcurrentExecution below its minimum value of [10]. "
                '(Service: Lambda, Status Code: 400)"\n'
            ],
            "resource_exhausted",
        ),
        # Jenkins builds whose agent's machine was terminated or deleted, beside the channel errors that follow
        (
            [
                "EC2 instance for node fleet-a i-0abc123 was terminated\n",
                'Cannot contact i-0abc123: hudson.remoting.ChannelClosedException: Channel "hudson.remoting.Channel@1:'
                'i-0abc123": Remote call on i-0abc123 failed. The channel is closing down or has closed down\n',
                "Finished: ABORTED\n",
            ],
            "killed_external",
        ),
        (
            [
                "Cannot contact pool-x1: hudson.remoting.RequestAbortedException: java.io.IOException: Unexpected "
                "termination of the channel\n",
                "Agent pool-x1 was deleted; cancelling node body\n",
                "Could not connect to pool-x1 to send interrupt signal to process\n",
                "Agent was removed\n",
            ],
            "killed_external",
        ),
    ],
)
def test_batch18_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


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
