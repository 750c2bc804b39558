"""Checks added after batch 27's misses were studied (issue 12): a cloud API's JSON error body is read with the errors
nested in it, since the outer message is often generic ("See inner errors for details").

Its families of phrasing are in test_diagnosis_families_by_batch.py.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.extract import ErrorExtractor


def _blocks(line: str) -> list[str]:
    ex = ErrorExtractor()
    ex.feed_many([line + "\n"])
    return [b.text for b in ex.blocks()]


def test_nested_details_of_an_error_body_are_its_lines() -> None:
    body = (
        '{"code":"InvalidTemplateDeployment","message":"The deployment is not valid. See inner errors for details.",'
        '"details":[{"code":"QuotaExceeded","message":"exceeding approved Total Regional Cores quota",'
        '"details":[{"code":"CoreLimit","message":"Current Limit: 4, Additional Required: 6"}]}]}'
    )
    (text,) = _blocks(body)
    assert "The deployment is not valid" in text
    assert "QuotaExceeded: exceeding approved Total Regional Cores quota" in text
    assert "CoreLimit: Current Limit: 4, Additional Required: 6" in text


def test_error_object_of_a_rest_api_is_read() -> None:
    # Google's and Azure's REST error body: {"error": {"code", "message", "details"}}
    body = '{"error": {"code": 429, "message": "Quota exceeded for quota metric \'Requests\' per minute"}}'
    (text,) = _blocks(body)
    assert "429: Quota exceeded for quota metric 'Requests' per minute" in text
    assert diagnose_lines([body + "\n"], use_model=False).category == "throttled"


def test_record_without_nested_errors_is_unchanged() -> None:
    assert _blocks('{"level": "info", "message": "deployment accepted", "details": []}') == []
