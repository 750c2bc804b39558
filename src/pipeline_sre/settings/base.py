"""The one base model every settings section derives from: unknown keys are refused, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def http_base_url(v: str) -> str:
    """A base URL a client joins paths to: http(s) only, without a trailing slash."""
    if not v.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return v.rstrip("/")
