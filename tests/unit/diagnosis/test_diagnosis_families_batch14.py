"""Families of phrasing added after batch 14's misses were studied (issue 12).

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
                "> Task :spark:compileScala\n",
                "Expiring Daemon because JVM heap space is exhausted\n",
                "Daemon will be stopped at the end of the build after running out of JVM memory\n",
            ],
            "oom",
        ),
        (
            [
                "npm notice Publishing to https://registry.npmjs.org/ with tag latest and default access\n",
                "npm notice Access token expired or revoked. Please try logging in again.\n",
                "npm error code E404\n",
                "npm error 404 Not Found - PUT https://registry.npmjs.org/@acme%2floader - Not found\n",
            ],
            "credentials",
        ),
        (
            [
                'level=error msg="Running error: context loading failed: failed to load packages:\n',
                "  err: exit status 1: stderr: go: go.mod requires go >= 1.24.0 "
                '(running go 1.23.4; GOTOOLCHAIN=local)"\n',
            ],
            "dependency",
        ),
        (
            [
                "Run actions/setup-python@v5\n",
                "  Version 3.6 was not found in the local cache\n",
                "  Error: The version '3.6' with architecture 'arm64' was not found for macOS 14.7.\n",
            ],
            "dependency",
        ),
        (
            [
                'Finished Step #2 - "build-image"\n',
                "ERROR\n",
                'ERROR: build step 2 "gcr.io/kaniko-project/executor:latest" failed: context deadline exceeded\n',
            ],
            "timeout",
        ),
        (
            [
                'TrinoUserError(type=USER_ERROR, name=MERGE_TARGET_ROW_MULTIPLE_MATCHES, message="One MERGE target '
                'table row matched more than one source row", query_id=20240102_101112_00042_abcde)\n'
            ],
            "data_quality",
        ),
        (
            [
                "Jan 03 10:11:12 ..... started mapping\n",
                "ReadAlignChunk_processChunks.cpp:204:processChunks EXITING because of FATAL ERROR in input reads: "
                "unknown file format: the read ID should start with @ or >\n",
            ],
            "data_quality",
        ),
        (
            # a provider plugin's crash, relayed by Terraform at DEBUG level
            [
                "2024-01-03T10:11:12.100Z [DEBUG] plugin.terraform-provider-acme_v2.1.0: "
                "panic: runtime error: invalid memory address or nil pointer dereference\n",
                "2024-01-03T10:11:12.100Z [DEBUG] plugin.terraform-provider-acme_v2.1.0: "
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1a2b3c]\n",
                "2024-01-03T10:11:12.101Z [DEBUG] plugin.terraform-provider-acme_v2.1.0: goroutine 88 [running]:\n",
            ],
            "code_bug",
        ),
    ],
)
def test_batch14_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


def test_a_registry_refusing_a_publish_with_404_is_not_a_missing_input() -> None:
    line = "npm error 404 Not Found - PUT https://registry.npmjs.org/acme-tool - Not found\n"
    d = diagnose_lines([line], use_model=False)
    assert d.category != "upstream_missing"


def test_debug_chatter_mentioning_panic_mid_line_stays_debug() -> None:
    # only Go's header ("panic: " at the start or after a relay prefix) lifts a DEBUG line
    d = diagnose_lines(["2024-01-03T10:11:12Z [DEBUG] retry policy: will not panic on timeout\n"])
    assert d.category == "unknown"
