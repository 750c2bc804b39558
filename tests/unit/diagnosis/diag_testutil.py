"""Shared helpers for the diagnosis tests (a plain module: the test folder is not a package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline_sre.diagnosis import learned

LOGS = Path(__file__).resolve().parents[2] / "data" / "logs"


def read_lines(name: str) -> list[str]:
    with open(LOGS / name, "rb") as fh:
        return [b.decode("utf-8", errors="replace") for b in fh]


def load_expected() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = yaml.safe_load((LOGS / "expected.yaml").read_text(encoding="utf-8"))
    return data


def model_reads(monkeypatch: pytest.MonkeyPatch, category: str, probability: float) -> None:
    """Make the packaged model read every text as ``category`` with ``probability`` (the rest spread evenly), so a
    test of what happens when the model answers does not depend on what the latest training made of its log."""
    classes = learned.load().classes
    rest = (1.0 - probability) / (len(classes) - 1)
    probs = [probability if c == category else rest for c in classes]
    monkeypatch.setattr(learned.Model, "probabilities", lambda self, text: probs)
