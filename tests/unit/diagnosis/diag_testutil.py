"""Shared helpers for the diagnosis tests (a plain module: the test folder is not a package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

LOGS = Path(__file__).resolve().parents[2] / "data" / "logs"


def read_lines(name: str) -> list[str]:
    with open(LOGS / name, "rb") as fh:
        return [b.decode("utf-8", errors="replace") for b in fh]


def load_expected() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = yaml.safe_load((LOGS / "expected.yaml").read_text(encoding="utf-8"))
    return data
