"""The one retry policy: what is tried again, how often, and how long it waits."""

from __future__ import annotations

import httpx
import pytest
from tenacity import AsyncRetrying, RetryCallState

from pipeline_sre.connectors.retry import RetryPolicy, Transient, failure_of, retry_after, retrying, retrying_for
from pipeline_sre.errors import BackendUnavailable

pytestmark = pytest.mark.anyio


def state_after(err: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(err), err, None))
    return state


async def test_transient_failures_are_tried_again_until_an_answer() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Transient("HTTP 503")
        return "ok"

    assert await retrying(attempt, RetryPolicy.of(3, backoff=0.0)) == "ok"
    assert len(calls) == 3


async def test_attempts_are_bounded_and_the_last_transient_comes_out() -> None:
    calls: list[int] = []

    async def attempt() -> None:
        calls.append(1)
        raise Transient(f"HTTP 50{len(calls)}")

    with pytest.raises(Transient, match="HTTP 503"):
        await retrying(attempt, RetryPolicy.of(2, backoff=0.0))
    assert len(calls) == 3


async def test_running_out_reads_as_the_backend_being_unavailable() -> None:
    async def attempt() -> None:
        raise Transient("ConnectError")

    with pytest.raises(BackendUnavailable, match=r"^Airflow X is unavailable: ConnectError after 3 attempt\(s\)$"):
        await retrying_for("Airflow X", attempt, RetryPolicy.of(2, backoff=0.0))


async def test_anything_else_is_not_tried_again() -> None:
    calls: list[int] = []

    async def attempt() -> None:
        calls.append(1)
        raise ValueError("a write that may have landed")

    with pytest.raises(ValueError):
        await retrying(attempt, RetryPolicy.of(5, backoff=0.0))
    assert len(calls) == 1


def test_waits_grow_with_jitter_under_the_cap_and_retry_after_wins() -> None:
    policy = RetryPolicy.of(5, backoff=1.0, cap=4.0)
    first = policy.wait(state_after(Transient("x"), 1))
    assert 1.0 <= first <= 2.0
    assert policy.wait(state_after(Transient("x"), 6)) == 4.0
    assert policy.wait(state_after(Transient("x", retry_after=2.5), 1)) == 2.5
    assert policy.wait(state_after(Transient("x", retry_after=600), 1)) == 4.0


def test_failure_names_and_retry_after() -> None:
    assert failure_of(httpx.ConnectTimeout("x"), 5) == "ConnectTimeout"  # never sent: named by kind
    assert failure_of(httpx.ReadTimeout("x"), 5) == "timed out after 5s"
    assert failure_of(httpx.RemoteProtocolError("x"), 5) == "RemoteProtocolError"
    assert retry_after(httpx.Response(429, headers={"retry-after": "3"})) == 3.0
    assert retry_after(httpx.Response(429, headers={"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"})) is None
    assert retry_after(httpx.Response(429)) is None
