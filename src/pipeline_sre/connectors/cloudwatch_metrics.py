"""CloudWatch metrics for Kinesis: `GetRecords.IteratorAgeMilliseconds` per stream, through boto3.

One `GetMetricData` call reads the iterator age (statistic Maximum, one value per `period_seconds`) of up to
500 streams over a window, following `NextToken`; the streams are the configured ones, or every stream that
reports the metric (`ListMetrics`, namespace AWS/Kinesis, dimension StreamName). boto3 is sync: callers run
these methods in a worker thread. Credentials come from the standard chain (environment, `profile`, SSO,
instance/task role); AWS errors become typed errors naming the environment and the API, never a secret.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline_sre.connectors.mwaa import aws_client, aws_error
from pipeline_sre.errors import PipelineSreError

NAMESPACE = "AWS/Kinesis"
ITERATOR_AGE = "GetRecords.IteratorAgeMilliseconds"
MAX_QUERIES = 500  # GetMetricData's limit per call


class KinesisConnection(BaseModel):
    """Kinesis streams watched through CloudWatch metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str | None = Field(None, description="AWS region (default: the profile's or AWS_REGION)")
    profile: str | None = Field(None, description="Named profile; default: the standard credential chain")
    endpoint_url: str | None = Field(None, description="CloudWatch endpoint override (VPC endpoint, tests)")
    streams: list[str] = Field([], description="Stream names; empty: every stream reporting the iterator age")
    threshold_ms: float = Field(60_000, gt=0, description="Iterator age (ms) above which a stream is behind")
    period_seconds: int = Field(60, ge=60, le=3600, description="CloudWatch period of the Maximum statistic")
    window_minutes: int = Field(15, ge=5, le=24 * 60, description="How far back detection reads the metric")
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    max_attempts: int = Field(5, ge=1, le=20, description="botocore standard-mode attempts (first try included)")

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v


Series = list[tuple[float, float]]  # (Unix time, value), oldest first


class CloudWatchMetrics:
    def __init__(self, environment: str, conn: KinesisConnection, *, client: Any = None) -> None:
        self.environment = environment
        self.conn = conn
        self.calls = 0
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = aws_client(
                    self.environment, self.conn, "cloudwatch", endpoint=self.conn.endpoint_url, section="kinesis"
                )
            return self._client

    def _error(self, err: Exception, api: str) -> PipelineSreError:
        if isinstance(err, PipelineSreError):
            return err
        return aws_error(err, environment=self.environment, api=f"CloudWatch {api}", what=f"{NAMESPACE} {ITERATOR_AGE}")

    def streams(self) -> list[str]:
        """The configured streams, else every stream that reports the iterator age."""
        if self.conn.streams:
            return list(self.conn.streams)
        names: set[str] = set()
        token: str | None = None
        try:
            while True:
                kwargs: dict[str, Any] = {"Namespace": NAMESPACE, "MetricName": ITERATOR_AGE}
                if token:
                    kwargs["NextToken"] = token
                self.calls += 1
                page = self.client.list_metrics(**kwargs)
                for metric in page.get("Metrics") or []:
                    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
                    if set(dims) == {"StreamName"}:
                        names.add(dims["StreamName"])
                token = page.get("NextToken")
                if not token:
                    return sorted(names)
        except Exception as err:
            raise self._error(err, "ListMetrics") from None

    def iterator_age(self, streams: list[str], start: float, end: float) -> dict[str, Series]:
        """Maximum iterator age per period of each stream between `start` and `end` (Unix times)."""
        out: dict[str, Series] = {s: [] for s in streams}
        for offset in range(0, len(streams), MAX_QUERIES):
            chunk = streams[offset : offset + MAX_QUERIES]
            ids = {f"s{i}": name for i, name in enumerate(chunk)}
            queries = [
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": ITERATOR_AGE,
                            "Dimensions": [{"Name": "StreamName", "Value": name}],
                        },
                        "Period": self.conn.period_seconds,
                        "Stat": "Maximum",
                    },
                    "ReturnData": True,
                }
                for qid, name in ids.items()
            ]
            token: str | None = None
            try:
                while True:
                    kwargs: dict[str, Any] = {
                        "MetricDataQueries": queries,
                        "StartTime": datetime.fromtimestamp(start, UTC),
                        "EndTime": datetime.fromtimestamp(end, UTC),
                        "ScanBy": "TimestampAscending",
                    }
                    if token:
                        kwargs["NextToken"] = token
                    self.calls += 1
                    page = self.client.get_metric_data(**kwargs)
                    for result in page.get("MetricDataResults") or []:
                        name = ids.get(str(result.get("Id")))
                        if name is None:
                            continue
                        points = zip(result.get("Timestamps") or [], result.get("Values") or [], strict=False)
                        out[name] += [(ts.timestamp(), float(v)) for ts, v in points]
                    token = page.get("NextToken")
                    if not token:
                        break
            except Exception as err:
                raise self._error(err, "GetMetricData") from None
        return {name: sorted(points) for name, points in out.items()}
