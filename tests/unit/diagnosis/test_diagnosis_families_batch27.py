"""Checks added after batch 27's misses were studied (issue 12): a cloud API's JSON error body is read with the errors
nested in it, since the outer message is often generic ("See inner errors for details"), and a JSON log record's
"error" field (zap, logrus) is read with its message.

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


def test_error_field_of_a_json_log_record_is_read_with_its_message() -> None:
    # zap's JSON: a generic message, the cause in "error" (batch 27's miss was the same record in logfmt)
    record = (
        '{"level":"error","ts":1700000000.1,"msg":"Unable to create job","error":"the server does not allow access '
        'to the requested resource (post jobs.batch)","job":"nightly"}'
    )
    d = diagnose_lines([record + "\n"], use_model=False)
    assert d.category == "permission_denied"
    assert d.evidence.startswith("Unable to create job: the server does not allow access to the requested resource")


def test_error_field_already_in_the_message_is_not_repeated() -> None:
    (text,) = _blocks('{"level":"error","msg":"dial failed: connection refused","error":"connection refused"}')
    assert text.count("connection refused") == 1
