"""Series summaries, durations, detectors' subject joins and config models (no services)."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from pipeline_sre.connectors.mwaa import mwaa_airflow_connection
from pipeline_sre.connectors.prometheus import PrometheusClient
from pipeline_sre.errors import BackendUnavailable, ConfigError, InvalidInput
from pipeline_sre.lifecycle import metrics
from pipeline_sre.lifecycle.compact import size
from pipeline_sre.lifecycle.sources.signals import detectors
from pipeline_sre.settings.backends import MwaaConnection, PrometheusConnection, default_detectors
from pipeline_sre.settings.config import parse_settings


def matrix(series: list[tuple[dict[str, str], list[float]]], step: float = 15.0) -> dict[str, Any]:
    return {
        "resultType": "matrix",
        "result": [
            {"metric": labels, "values": [[1000 + i * step, repr(v)] for i, v in enumerate(values)]}
            for labels, values in series
        ],
    }


def test_summary_statistics_of_known_data() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    s = metrics.summarise([float(i) for i in range(100)], values)
    assert s["last"] == 100 and s["min"] == 1 and s["max"] == 100 and s["n"] == 100
    assert s["mean"] == 50.5
    assert s["p50"] == 50.5  # linear interpolation, as numpy.percentile
    assert s["p95"] == 95.05
    assert s["trend"] == "up" and s["change"] == pytest.approx(99 / 50.5, rel=1e-3)


def test_trend_is_flat_for_noise_and_down_for_a_falling_series() -> None:
    times = [float(i) for i in range(60)]
    noise = [100 + (1 if i % 2 else -1) for i in range(60)]
    assert metrics.trend(times, noise)[0] == "flat"
    direction, change = metrics.trend(times, [200 - i for i in range(60)])
    assert direction == "down" and change < 0
    assert metrics.trend([1.0], [5.0]) == ("flat", 0.0)


def test_non_finite_samples_are_counted_not_averaged() -> None:
    s = metrics.summarise([0, 1, 2, 3], [1.0, math.nan, 3.0, math.inf])
    assert s["last"] == "+Inf" and s["non_finite"] == 2 and s["mean"] == 2 and s["max"] == 3
    assert metrics.summarise([0], [math.nan]) == {"last": "NaN", "n": 1}


def test_durations() -> None:
    assert metrics.parse_duration("90s") == 90
    assert metrics.parse_duration("1h30m") == 5400
    assert metrics.parse_duration("500ms") == 0.5
    for bad in ("", "5", "five minutes", "5x", "-5m", "0s"):
        with pytest.raises(InvalidInput):
            metrics.parse_duration(bad)
    assert metrics.format_duration(300) == "5m" and metrics.format_duration(7200) == "2h"


def test_thousand_series_fit_in_4kb_and_keep_the_largest() -> None:
    data = matrix(
        [({"__name__": "lag", "job": "k", "topic": f"t{i}"}, [float(i + j) for j in range(61)]) for i in range(1000)]
    )
    # Its speed is measured in bench/bench_signals.py, never asserted here.
    out = metrics.summarise_result(data, max_series=20, max_bytes=4000, header={"env": "x"})
    assert size(out) <= 4000
    assert out["metric"] == "lag" and out["common_labels"] == {"job": "k"}
    assert out["series_total"] == 1000 and out["series"][0]["labels"] == "topic=t999"
    assert out["overall"]["max"] == 1059 and out["overall"]["min"] == 0 and out["overall"]["up"] == 1000
    shown = len(out["series"])
    assert out["series_omitted"] + shown + out.get("truncated", {}).get("series", 0) == 1000


def test_scalar_and_vector_results() -> None:
    scalar = metrics.summarise_result(
        {"resultType": "scalar", "result": [1000, "4"]}, max_series=5, max_bytes=4000, header={}
    )
    assert scalar["series"][0]["last"] == 4
    vector = metrics.summarise_result(
        {"resultType": "vector", "result": [{"metric": {"a": "1"}, "value": [1000, "2.5"]}]},
        max_series=5,
        max_bytes=4000,
        header={},
    )
    assert vector["series"][0]["labels"] == "a=1" and vector["series"][0]["last"] == 2.5


def test_subject_join_takes_the_largest_value_per_subject() -> None:
    data = {
        "resultType": "vector",
        "result": [
            {"metric": {"app": "a", "stage": "1", "x": "1"}, "value": [0, "3"]},
            {"metric": {"app": "a", "stage": "1", "x": "2"}, "value": [0, "7"]},
            {"metric": {"app": "b"}, "value": [0, "NaN"]},
        ],
    }
    subjects = detectors._subjects(data, ["app", "stage"])
    assert subjects[("a", "1")] == 7 and math.isnan(subjects[("b", "")])


class _Answer(httpx.AsyncBaseTransport):
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body)


@pytest.mark.anyio
async def test_prometheus_errors_are_typed_and_name_the_environment() -> None:
    conn = PrometheusConnection(url="http://prom.test", max_retries=1)
    bad = _Answer(400, {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'})
    async with PrometheusClient("prod", conn, transport=bad) as client:
        with pytest.raises(InvalidInput, match=r"Prometheus in environment 'prod' .* parse error: unexpected"):
            await client.query("up}")
    down = _Answer(503, {"status": "error", "errorType": "unavailable", "error": "x"})
    async with PrometheusClient("prod", conn, transport=down, backoff_base=0.001) as client:
        with pytest.raises(BackendUnavailable, match="HTTP 503 after 2 attempt"):
            await client.query("up")
    assert len(down.requests) == 2


def test_config_sections_validate() -> None:
    settings = parse_settings(
        {
            "environments": {
                "prod": {
                    "airflow": {"url": "https://placeholder.invalid"},
                    "mwaa": {"name": "Prod-Env", "region": "eu-west-1", "airflow_version": "2"},
                    "prometheus": {"url": "http://prom:9090/", "token_env": "PROM_TOKEN"},
                }
            }
        },
        "test",
    )
    env = settings.environments["prod"]
    assert env.mwaa is not None and env.mwaa.task_log_group == "airflow-Prod-Env-Task"
    assert env.prometheus is not None and env.prometheus.url == "http://prom:9090"
    assert [d.kind for d in env.prometheus.detectors] == [d.kind for d in default_detectors()]
    conn = mwaa_airflow_connection(env.airflow, env.mwaa)
    assert conn.version == "2" and conn.username_env is None
    with pytest.raises(ConfigError, match=r"mwaa\.secret_key: unknown key"):
        parse_settings(
            {"environments": {"p": {"airflow": {"url": "http://a"}, "mwaa": {"name": "x", "secret_key": "s"}}}}, "t"
        )
    with pytest.raises(ValueError):
        MwaaConnection(name="1-starts-with-a-digit")


@pytest.mark.anyio
async def test_signal_tools_are_registered_read_only_and_answer_typed_errors() -> None:
    from mcp.server.mcpserver import MCPServer

    from pipeline_sre.lifecycle.runtime import Runtime
    from pipeline_sre.surfaces.mcp.tooling import ToolRegistrar
    from pipeline_sre.surfaces.mcp.tools_signals import register_conf_advice, register_signals

    rt = Runtime(parse_settings({"environments": {"plain": {"airflow": {"url": "http://127.0.0.1:9"}}}}, "t"))
    server = MCPServer(name="t")
    register_signals(ToolRegistrar(server, rt), rt)
    register_conf_advice(ToolRegistrar(server, rt), rt)
    tools = {t.name: t for t in await server.list_tools()}
    assert set(tools) == {"get_metric", "detect_signals", "suggest_conf"}
    for t in tools.values():
        assert t.annotations is not None and t.annotations.read_only_hint and not t.annotations.destructive_hint
    answer = await server.call_tool("get_metric", {"query": "up"})
    text = answer.content[0].text  # type: ignore[union-attr]
    assert answer.is_error and '"error":"invalid_input"' in text and "no prometheus section" in text  # type: ignore[union-attr]
    detected = await server.call_tool("detect_signals", {})
    assert '"count":0' in detected.content[0].text  # type: ignore[union-attr]
    await rt.aclose()


@pytest.mark.anyio
async def test_only_configured_backends_are_listed_and_the_list_stays_lean() -> None:
    import json

    from pipeline_sre.lifecycle.runtime import Runtime
    from pipeline_sre.surfaces.mcp.server import build_server

    rt = Runtime(parse_settings({"environments": {"plain": {"airflow": {"url": "http://127.0.0.1:9"}}}}, "t"))
    tools = await build_server(rt).list_tools()
    names = {t.name for t in tools}
    assert not names & {"get_metric", "detect_signals", "get_job_status", "repair_run", "rollout_config"}
    assert {"list_recent_failures", "propose_action", "close_incident", "suggest_conf"} <= names
    size = len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]))
    assert size <= 15_000, f"tools/list with Airflow only is {size} bytes"
