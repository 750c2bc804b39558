"""Families of phrasing added after batch 23's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # an FTP mirror without the file asked for
        (
            [
                "[ERROR] urllib failed to download (reason: ftp error: 550 Failed to change directory.): "
                "ftp://ftp.example.org/pub/lib/1.2/lib-1.2.tar.bz2\n"
            ],
            "upstream_missing",
        ),
        # a Kafka record not in Schema Registry's wire format; Kafka Connect's closing line is no external kill
        (
            [
                "Caused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n",
                "[2024-01-02 10:00:00,001] ERROR Task is being killed and will not recover until manually restarted "
                "(org.apache.kafka.connect.runtime.WorkerTask:142)\n",
            ],
            "data_quality",
        ),
        # R's package installation failing, a Go module's toolchain floor above the Go that runs
        (
            [
                "Error: Failed to install 'somepkg' from GitHub:\n",
                "  (converted from warning) installation of package '/tmp/somepkg_1.0.tar.gz' had non-zero exit "
                "status\n",
            ],
            "dependency",
        ),
        (
            [
                "12.3 go: example.com/plugin@v0.0.0-20240101 requires go >= 1.22.0 (running go 1.21.10; "
                "GOTOOLCHAIN=local)\n",
                "12.3 2024/01/02 10:00:00 [FATAL] exit status 1\n",
            ],
            "dependency",
        ),
        # Google's per-minute quota as gRPC's ResourceExhausted words it: a request rate
        (
            [
                "* rpc error: code = ResourceExhausted desc = Insufficient tokens for quota "
                "'logging.googleapis.com/read_requests' and limit 'ReadRequestsPerMinutePerProject' of service "
                "'logging.googleapis.com'\n"
            ],
            "throttled",
        ),
        # a Terraform provider's wait and Helm's wait on a hook: their own time limits
        (
            ["│ Error: Error creating instance\n", "│ Instance creation waiting: WaitWithContext() has timed out\n"],
            "timeout",
        ),
        (
            ["Error: timeout while waiting for state to become 'AVAILABLE' (last state: 'CREATING', timeout: 20m0s)\n"],
            "timeout",
        ),
        (
            [
                "Error: failed pre-install: resource Job/ns/upgrader not ready. status: InProgress, message: Job in "
                "progress\n",
                "context deadline exceeded\n",
            ],
            "timeout",
        ),
    ],
)
def test_batch23_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
