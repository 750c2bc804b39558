"""Where notifications go: signed webhooks and Slack channels, and which events each one receives."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from pipeline_sre.settings.base import Model

EVENTS = ("approval_requested", "escalated", "resolved", "incident_opened", "shadow_plan", "action_executed")


def _check_events(v: list[str] | None) -> list[str] | None:
    if v is not None:
        unknown = sorted(set(v) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(unknown)}; events: {', '.join(EVENTS)}")
    return v


def _check_url(v: str | None) -> str | None:
    if v is not None and not v.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return v


class WebhookChannel(Model):
    """A JSON POST of {event, payload, sent_at} to an endpoint of your own (or a chat tool's incoming hook)."""

    url: str | None = Field(None, description="Endpoint URL (use url_env instead when the URL embeds a token)")
    url_env: str | None = Field(None, description="Env var holding the endpoint URL")
    secret_env: str | None = Field(
        None, description="Env var with an HMAC-SHA256 key; signs '<timestamp>.<body>' into X-Pipeline-SRE-Signature"
    )
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    max_retries: int = Field(3, ge=0, le=10, description="Retries on 5xx, 429 and connection errors")
    events: list[str] | None = Field(None, description=f"Only these events (default: all of {', '.join(EVENTS)})")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _check_url(v)

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str] | None) -> list[str] | None:
        return _check_events(v)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("set exactly one of url or url_env")
        return self


class SlackChannel(Model):
    channel: str = Field(description="Channel id or name to post to, e.g. C0123456789 or #data-oncall")
    token_env: str = Field("PIPELINE_SRE_SLACK_TOKEN", description="Env var holding the bot token (xoxb-...)")
    base_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (a proxy, or tests)")
    timeout_seconds: float = Field(10.0, gt=0, le=60)
    events: list[str] | None = Field(None, description="Only these events (default: all)")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v) or v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str] | None) -> list[str] | None:
        return _check_events(v)


class NotificationsConfig(Model):
    log: bool = Field(True, description="Write every event as a JSON line to the log (stderr)")
    webhooks: list[WebhookChannel] = []
    slack: SlackChannel | None = None

    def secret_env_names(self) -> list[str]:
        """Env vars whose values must be masked wherever they appear."""
        names = [n for w in self.webhooks for n in (w.url_env, w.secret_env) if n]
        if self.slack is not None:
            names.append(self.slack.token_env)
        return names
