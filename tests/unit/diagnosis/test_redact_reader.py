"""redact_reader (a text file read in blocks) yields what redact_stream yields for the same file's lines."""

from __future__ import annotations

import io

import pytest

from pipeline_sre.diagnosis import Redactor

KEY_BLOCK = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq3sQ0xvRz9pX2mL4kT8wYh\nQ1w2e3r4t5y6u7i8o9p0\n"
    "-----END RSA PRIVATE KEY-----\n"
)
TEXTS = [
    "INFO start\r\npassword=hunter2hunter2\r\nINFO done\r\n",
    "no newline at the end password: s3cr3t-Value-99",
    "INFO before\n" + KEY_BLOCK + "INFO after\n",
    "x" * 5000 + " token=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\nshort\n",
    "",
    "\n\n\n",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_blocks_of_any_size_give_the_lines_answer(text: str, block: int) -> None:
    by_lines = "".join(Redactor().redact_stream(io.StringIO(text, newline="")))
    by_blocks = "".join(Redactor().redact_reader(io.StringIO(text, newline=""), block))
    assert by_blocks == by_lines


def test_a_key_block_split_between_blocks_is_still_masked() -> None:
    out = "".join(Redactor().redact_reader(io.StringIO("INFO before\n" + KEY_BLOCK), 16))
    assert "MIIEowIBAAKCAQEA" not in out and "Q1w2e3r4t5y6u7i8o9p0" not in out and "INFO before" in out
