"""Families of phrasing added after batch 17's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # compilers killed mid-build: cargo's report of rustc, sccache's, and cargo's summary under sccache's line
        (
            [
                "error: could not compile `acme-core` (lib)\n",
                "Caused by:\n",
                "  process didn't exit successfully: `rustc --crate-name acme_core -C codegen-units=16` "
                "(signal: 9, SIGKILL: kill)\n",
            ],
            "oom",
        ),
        (["sccache: Compile terminated by signal 9\n", "error: could not compile `acme-server` (lib test)\n"], "oom"),
        # a release asset that is not there, by curl -f alone and under Homebrew's download error
        (
            [
                "Downloading v1.2.0/tool-linux-x86_64...\n",
                "curl: (22) The requested URL returned error: 404\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "==> Downloading https://github.com/acme/tool/releases/download/v0.0.7/tool-darwin.tgz\n",
                "curl: (22) The requested URL returned error: 404 Not Found\n",
                "Error: An exception occurred within a child process:\n",
                '  DownloadError: Failed to download resource "tool"\n',
            ],
            "upstream_missing",
        ),
        (
            [
                "FAILED tests/test_datasets.py::test_dataset_availability - AssertionError: Datasets not available on "
                "Hugging Face:\n",
                "  acme/sentiment-data - revision 0123abcd\n",
            ],
            "upstream_missing",
        ),
        # alembic while the database lags the migration history
        (
            [
                "ERROR [alembic.util.messaging] Target database is not up to date.\n",
                "  FAILED: Target database is not up to date.\n",
            ],
            "schema_mismatch",
        ),
        # Python's json on documents damaged mid-way
        (
            [
                "Error messages:\n",
                "\tExpecting ',' delimiter\n",
                "\tExpecting property name enclosed in double quotes\n",
            ],
            "data_quality",
        ),
        # R's configure script, Bundler and Composer
        (
            [
                "------------------------- ANTICONF ERROR ---------------------------\n",
                "Configuration failed because libxml-2.0 was not found. Try installing:\n",
                " * deb: libxml2-dev (Debian, Ubuntu, etc)\n",
            ],
            "dependency",
        ),
        (
            [
                "Resolving dependencies...\n",
                'Bundler could not find compatible versions for gem "bundler":\n',
                "  In Gemfile:\n",
                "    bundler (~> 1.13)\n",
            ],
            "dependency",
        ),
        (
            [
                "Your requirements could not be resolved to an installable set of packages.\n",
                "  Problem 1\n",
                "    - Root composer.json requires php ^8.2 but your php version (8.1.33) does not satisfy that "
                "requirement.\n",
            ],
            "dependency",
        ),
        # a self-hosted runner gone mid-job
        (
            [
                "The self-hosted runner: i-0123abcd lost communication with the server. Verify the machine is running "
                "and has a healthy network connection.\n"
            ],
            "killed_external",
        ),
        # a panic that carries the database's refusal
        (
            [
                "thread 'main' panicked at 'called `Result::unwrap()` on an `Err` value: db error: FATAL: sorry, too "
                "many clients already'\n"
            ],
            "resource_exhausted",
        ),
    ],
)
def test_batch17_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
