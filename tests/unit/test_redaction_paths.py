"""Every offline command that prints log-derived text (diagnose, its JSON lines, redact, signatures) masks
the same secrets the one Redactor masks; the online surfaces are covered where they are built (MCP answers
in test_mcp_final_pass.py, console pages in test_console_auth.py, notifications in test_notify.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_sre.diagnosis import Redactor
from pipeline_sre.surfaces.cli import offline

# Fake values in the shapes of real ones: a key/value password, a JDBC URI credential, a GitHub token, an AWS
# secret key, a bearer token and a PEM key block.
PLANTED = {
    "password=": "FakeHunter2-pw",
    "jdbc": "FakeJdbcPass9",
    "github": "ghp_FakeFakeFakeFakeFakeFakeFakeFake1234",
    "aws": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY123",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLWZha2U",
    "pem": "MIIEowIBAAKCAQEAfakefakefakefakefakefake",
}
LOG = (
    "[2026-12-03 10:00:00] INFO connecting with password=FakeHunter2-pw\n"
    "[2026-12-03 10:00:01] INFO url jdbc:postgresql://etl:FakeJdbcPass9@db.internal:5432/warehouse\n"
    "[2026-12-03 10:00:02] INFO token ghp_FakeFakeFakeFakeFakeFakeFakeFake1234\n"
    "[2026-12-03 10:00:03] INFO aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY123\n"
    "[2026-12-03 10:00:04] INFO Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLWZha2U\n"
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAfakefakefakefakefakefake\n"
    "-----END RSA PRIVATE KEY-----\n"
    "Traceback (most recent call last):\n"
    '  File "etl.py", line 3, in load\n'
    'psycopg2.OperationalError: FATAL:  password authentication failed for user "etl"\n'
)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    (tmp_path / "task.log").write_text(LOG)
    (tmp_path / "again.log").write_text(LOG)
    return tmp_path


def test_the_redactor_itself_masks_every_planted_value() -> None:
    out = Redactor().redact(LOG)
    assert not [k for k, v in PLANTED.items() if v in out]
    assert "FATAL:  password authentication failed" in out, "an error message is evidence, not a secret"


@pytest.mark.parametrize(
    "args",
    [
        ["diagnose", "{d}/task.log"],
        ["diagnose", "{d}/task.log", "--format", "json"],
        ["diagnose", "{d}"],
        ["redact", "{d}/task.log"],
        ["signatures", "{d}/task.log"],
    ],
)
def test_no_planted_value_reaches_the_output(
    args: list[str], log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = offline.fast([a.format(d=log_dir) for a in args])
    out, err = capsys.readouterr()
    assert code == 0 and out
    assert not [k for k, v in PLANTED.items() if v in out + err]


def test_redact_prints_exactly_what_the_redactor_gives(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert offline.fast(["redact", str(log_dir / "task.log")]) == 0
    assert capsys.readouterr().out == Redactor().redact(LOG)


def test_a_reader_that_stops_early_ends_redact_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    big.write_text("INFO line password=FakeHunter2-pw\n" * 200_000)
    cmd = f"{sys.executable} -m pipeline_sre redact {big} | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.stdout == "INFO line password=[REDACTED:password]\n"
    assert done.stderr == "" and done.returncode == 141
