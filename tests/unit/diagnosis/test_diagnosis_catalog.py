"""Canonical failure messages of the tools pipelines run on, by category (catalog_phrasings.yaml).

The catalogue was written from the tools' documented error texts, not from any benchmark batch: it checks that
the rules know the common wording of each category before a real log adds its own noise around it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.models import CATEGORIES

_CATALOG: dict[str, list[str]] = yaml.safe_load(
    (Path(__file__).with_name("catalog_phrasings.yaml")).read_text(encoding="utf-8")
)
_CASES = [(category, text) for category, texts in _CATALOG.items() for text in texts]


def test_the_catalog_covers_every_category() -> None:
    assert set(_CATALOG) == set(CATEGORIES) - {"unknown"}
    assert all(len(texts) >= 10 for texts in _CATALOG.values())


@pytest.mark.parametrize(("category", "text"), _CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(_CASES)])
def test_a_canonical_message_is_put_in_its_category(category: str, text: str) -> None:
    lines = [line + "\n" for line in text.split("\n")]
    assert diagnose_lines(lines, use_model=False).category == category
    assert diagnose_lines(lines).category == category
