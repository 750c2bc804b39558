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


def _lines(text: str) -> list[str]:
    return [line + "\n" for line in text.split("\n")]


@pytest.mark.parametrize(("category", "text"), _CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(_CASES)])
def test_the_rules_put_a_canonical_message_in_its_category(category: str, text: str) -> None:
    assert diagnose_lines(_lines(text), use_model=False).category == category


def test_the_model_under_the_rules_rarely_overrules_them_on_canonical_messages() -> None:
    # the model may replace a rule answer below its `rules_sure` threshold (chosen on real
    # logs, where that nets more right answers than wrong ones); on these textbook messages it may cost a few
    wrong = [text for category, text in _CASES if diagnose_lines(_lines(text)).category != category]
    assert len(wrong) <= len(_CASES) // 50, wrong
