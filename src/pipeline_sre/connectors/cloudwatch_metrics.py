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

from pipeline_sre.connectors.aws import aws_client, aws_error
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.settings.backends import KinesisConnection

NAMESPACE = "AWS/Kinesis"
ITERATOR_AGE = "GetRecords.IteratorAgeMilliseconds"
MAX_QUERIES = 500  # GetMetricData's limit per call


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
