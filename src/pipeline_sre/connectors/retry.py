"""The one retry policy of the backend clients, on tenacity: bounded attempts, exponential backoff with jitter.

A client wraps one attempt of its request in a function that returns the answer, raises `Transient` for
an outcome another attempt may cure, or raises its typed error for anything else. Which outcomes are
transient is the client's to say (it knows whether its request was a write), with the shared rules below:

- A request that never left this process (`NOT_SENT`: the connection was not made) may always be sent
  again, whatever it would have done.
- A read may be sent again after a timeout, a broken connection or a server error (`SERVER_BUSY`).
- A write that may have reached the backend is never sent again here: after a timeout or a 5xx it may
  have taken effect. Only a write the backend deduplicates itself (an idempotency token, a deterministic
  name, a precondition that refuses a second one) is retried like a read; the client says so.

boto3 clients are not covered: botocore retries them in its `standard` mode (`connectors/aws.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from pipeline_sre.errors import BackendUnavailable

T = TypeVar("T")

# Errors raised before the request left this process: safe to send again, whatever the method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A gateway or server that is down or overloaded answers these; a retry may find it back.
SERVER_BUSY = frozenset({500, 502, 503, 504})
BACKOFF_CAP_S = 4.0


class Transient(Exception):
    """One attempt failed in a way the next may not. `what` names the failure for the final message;
    `retry_after` is the server's own wait (Retry-After), used instead of the backoff."""

    def __init__(self, what: str, *, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts` in all (a connection's `max_retries` + 1); waits of `backoff` * 2^n plus up to `backoff`
    of jitter, never longer than `cap`."""

    attempts: int
    backoff: float = 0.25
    cap: float = BACKOFF_CAP_S

    @classmethod
    def of(cls, max_retries: int, backoff: float = 0.25, cap: float = BACKOFF_CAP_S) -> RetryPolicy:
        return cls(attempts=max_retries + 1, backoff=backoff, cap=cap)

    def wait(self, state: RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failed, Transient) and failed.retry_after is not None:
            return min(max(failed.retry_after, 0.0), self.cap)
        backoff = wait_exponential_jitter(multiplier=self.backoff, max=self.cap, jitter=self.backoff)
        return float(backoff(state))


async def retrying(attempt: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """The first answer of `attempt`; its non-transient errors as they are; after `policy.attempts`
    transient failures, the last `Transient` (the caller turns it into its own typed error)."""
    retry = AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=policy.wait,
        retry=retry_if_exception_type(Transient),
        reraise=True,
    )
    return await retry(attempt)


async def retrying_for(where: str, attempt: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """`retrying`, with running out of attempts reported the one way users and tests know it:
    BackendUnavailable("<where> is unavailable: <last failure> after N attempt(s)")."""
    try:
        return await retrying(attempt, policy)
    except Transient as last:
        raise BackendUnavailable(f"{where} is unavailable: {last.what} after {policy.attempts} attempt(s)") from None


def failure_of(err: httpx.TransportError, timeout_seconds: float) -> str:
    """How a failed exchange reads in a message: a timeout with its limit, anything else by its kind."""
    if isinstance(err, httpx.TimeoutException) and not isinstance(err, NOT_SENT):
        return f"timed out after {timeout_seconds:g}s"
    return type(err).__name__


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, when the server gave a number."""
    raw = response.headers.get("retry-after", "").strip()
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
