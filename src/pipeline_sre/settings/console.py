"""Settings for the approval console (`console:`) and its Slack approvals (`console.slack:`).

Kept free of imports from `pipeline_sre.settings.config` so that config can embed these models. Secrets are
referenced by env var name, never inline.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline_sre.settings.base import Model

Role = Literal["approver", "viewer"]
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class SlackApprovalsConfig(Model):
    """Approve / Deny buttons in Slack: requests are signature-checked, users mapped to approvers."""

    signing_secret_env: str = Field(
        "PIPELINE_SRE_SLACK_SIGNING_SECRET", description="Env var with the Slack app's signing secret"
    )
    bot_token_env: str = Field(
        "PIPELINE_SRE_SLACK_BOT_TOKEN", description="Env var with the bot token (xoxb-...) that posts requests"
    )
    channel: str | None = Field(
        None, description="Channel to post each approval request to (with buttons); unset: no posting"
    )
    user_map: dict[str, str] = Field(
        {}, description="Slack user id -> approver name (one of governance.approvers); nobody else can decide"
    )
    base_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (a proxy, or tests)")
    poll_seconds: int = Field(15, ge=2, le=3600, description="How often new approval requests are looked for")

    @field_validator("user_map")
    @classmethod
    def _user_ids(cls, v: dict[str, str]) -> dict[str, str]:
        for user_id, name in v.items():
            if not _SLACK_USER.match(user_id):
                raise ValueError(f"{user_id!r} is not a Slack user id (like U0123ABCD)")
            if not name.strip() or name != name.strip():
                raise ValueError(f"approver name {name!r} for {user_id} must be non-empty without surrounding spaces")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return v if v.endswith("/") else v + "/"


class ConsoleConfig(Model):
    """The web console: local users (argon2) or a trusted SSO header, signed session cookies, CSRF tokens."""

    session_secret_env: str = Field(
        "PIPELINE_SRE_CONSOLE_SECRET",
        description="Env var with the key that signs session cookies (32+ characters)",
    )
    secure_cookies: bool = Field(
        True, description="Cookies carry Secure (HTTPS only); false is accepted only for loopback clients"
    )
    session_ttl_minutes: int = Field(480, ge=5, le=7 * 24 * 60, description="A login lasts this long")
    public_url: str | None = Field(
        None,
        description="The console's external origin (https://console.example.com); the only Origin accepted on "
        "POSTs when set (behind a proxy), and the link put in Slack messages",
    )
    trusted_header: str | None = Field(
        None, description="Header an SSO proxy sets to the signed-in user's name, e.g. X-Forwarded-User"
    )
    trusted_proxies: list[str] = Field(
        [], description="Addresses / CIDRs the trusted header is accepted from; from anywhere else it is ignored"
    )
    sso_default_role: Role = Field(
        "viewer", description="Role of an SSO user without a local user entry (`users add NAME --role ...`)"
    )
    login_max_failures: int = Field(5, ge=1, le=100, description="Failed logins per client+user per window")
    login_window_minutes: int = Field(15, ge=1, le=24 * 60)
    slack: SlackApprovalsConfig = SlackApprovalsConfig()

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR (e.g. 10.0.0.0/8)") from None
        return v

    @field_validator("trusted_header")
    @classmethod
    def _header(cls, v: str | None) -> str | None:
        if v is not None and not _HEADER.match(v):
            raise ValueError("must be a header name of letters, digits and '-'")
        return v

    @field_validator("public_url")
    @classmethod
    def _public(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for loopback)")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _header_needs_proxies(self) -> ConsoleConfig:
        if self.trusted_header and not self.trusted_proxies:
            raise ValueError("trusted_header needs trusted_proxies: the addresses of the SSO proxy")
        return self

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies]
