"""The console's side of sign-in: signed session cookies, CSRF tokens, the trusted SSO header. Users,
sessions and the login throttle themselves live in the store (`store/users.py`).

- A session cookie holds a random token signed with the console secret (itsdangerous); the store keeps
  only the token's SHA-256, the user, the role, the CSRF token and the expiry. Logging out deletes it.
- Every POST carries the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`) and
  an Origin (or Referer) of the console itself; the login form uses a signed, short-lived token instead.
- Failed logins are counted in the store per client address + user name and per client address, so
  all replicas share the count; over the limit the login is refused before the password is checked.
- The SSO header is believed only when the TCP peer is one of `console.trusted_proxies`.
"""

from __future__ import annotations

import hmac
import ipaddress

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from pipeline_sre.errors import InvalidInput
from pipeline_sre.settings.console import ConsoleConfig
from pipeline_sre.store.users import check_name

SESSION_COOKIE = "psre_session"
SECURE_SESSION_COOKIE = "__Host-psre_session"  # the __Host- prefix: Secure, Path=/, no Domain
LOGIN_TOKEN_MAX_AGE_S = 30 * 60


class CookieSigner:
    """Signs session tokens for the cookie and issues the login form's CSRF tokens."""

    def __init__(self, secret: str) -> None:
        self._signer = TimestampSigner(secret, salt="pipeline-sre.console.session")
        self._login = URLSafeTimedSerializer(secret, salt="pipeline-sre.console.login")

    def sign(self, token: str) -> str:
        return self._signer.sign(token).decode()

    def unsign(self, value: str, max_age_s: int) -> str | None:
        try:
            return self._signer.unsign(value, max_age=max_age_s).decode()
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None

    def login_token(self, nonce: str) -> str:
        return self._login.dumps(nonce)

    def check_login_token(self, token: str, nonce: str | None) -> bool:
        """The login form's token must be fresh, ours, and bound to the nonce in the browser's cookie."""
        if not token or not nonce:
            return False
        try:
            value = self._login.loads(token, max_age=LOGIN_TOKEN_MAX_AGE_S)
        except (BadSignature, SignatureExpired):
            return False
        return isinstance(value, str) and hmac.compare_digest(value, nonce)


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted_proxy(config: ConsoleConfig, peer: str | None) -> bool:
    addr = _ip(peer)
    return addr is not None and any(addr in net for net in config.proxy_networks())


def client_address(config: ConsoleConfig, peer: str | None, forwarded_for: str | None) -> str:
    """The client's address: the TCP peer, or behind a trusted proxy the last untrusted X-Forwarded-For hop."""
    if forwarded_for and is_trusted_proxy(config, peer):
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            if not is_trusted_proxy(config, hop):
                return hop[:64]
    return (peer or "unknown")[:64]


def is_loopback_peer(peer: str | None) -> bool:
    addr = _ip(peer)
    return addr is not None and addr.is_loopback


def sso_user(config: ConsoleConfig, peer: str | None, header_value: str | None) -> str | None:
    """The SSO user name, only when the header is configured, present, well-formed and from a trusted proxy."""
    if not config.trusted_header or not header_value or not is_trusted_proxy(config, peer):
        return None
    name = header_value.strip()
    try:
        return check_name(name)
    except InvalidInput:
        return None
