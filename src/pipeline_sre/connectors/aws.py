"""What every AWS-backed connector shares: boto3 clients built from an MWAA connection's settings, and
AWS errors turned into the product's typed errors (credential, throttling, access and path problems)."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pipeline_sre.errors import BackendRefused, BackendUnavailable, ConfigError, NotFound, PipelineSreError
from pipeline_sre.settings.backends import MwaaConnection

USER_AGENT_EXTRA = "pipeline-sre/0.1"


CREDENTIAL_CODES = frozenset(
    {
        "ExpiredTokenException",
        "ExpiredToken",
        "RequestExpired",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationTokenException",
        "InvalidAccessKeyId",
        "InvalidToken",
    }
)


THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)


# Error codes meaning "this identity or botocore may not use this path": another path may still work.
PATH_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnknownOperationException"})


class AwsSettings(Protocol):
    """What a boto3 client is built from: MwaaConnection, KinesisConnection."""

    @property
    def region(self) -> str | None: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def max_attempts(self) -> int: ...


def aws_client(
    environment: str,
    conn: AwsSettings,
    service: Literal["mwaa", "logs", "cloudwatch"],
    *,
    endpoint: str | None = None,
    section: str = "mwaa",
) -> Any:
    """A boto3 client with standard-mode retries and the connection's timeouts (blocking: use a thread).
    An MwaaConnection names its own endpoints; `section` is the config section named in errors."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound
    except ImportError:
        raise ConfigError(
            f"environment '{environment}' uses AWS ({section}), which needs boto3: pip install 'pipeline-sre[aws]'"
        ) from None
    if isinstance(conn, MwaaConnection):
        endpoint = conn.endpoint_url if service == "mwaa" else conn.logs_endpoint_url
    config = Config(
        retries={"mode": "standard", "total_max_attempts": conn.max_attempts},
        connect_timeout=min(conn.timeout_seconds, 10.0),
        read_timeout=conn.timeout_seconds,
        user_agent_extra=USER_AGENT_EXTRA,
        # MWAA's API puts "env."/"api." before the host; an explicit endpoint is used as given.
        inject_host_prefix=endpoint is None,
    )
    try:
        session = boto3.session.Session(profile_name=conn.profile, region_name=conn.region)
        return session.client(service, endpoint_url=endpoint, config=config)
    except ProfileNotFound:
        raise ConfigError(f"environment '{environment}': AWS profile {conn.profile!r} is not configured") from None
    except NoRegionError:
        raise ConfigError(
            f"environment '{environment}': no AWS region; set {section}.region or AWS_REGION/AWS_DEFAULT_REGION"
        ) from None
    except BotoCoreError as err:
        raise ConfigError(f"environment '{environment}': cannot set up AWS {service}: {type(err).__name__}") from None


def aws_error(err: Exception, *, environment: str, api: str, what: str) -> PipelineSreError:
    """One typed error for any botocore failure; messages name the environment and API, never a secret."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    where = f"AWS {api} for environment '{environment}' ({what})"
    credentials_hint = "refresh them (aws sso login, new session credentials or the instance/task role) and retry"
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return BackendRefused(f"{where}: no usable AWS credentials were found; {credentials_hint}")
    name = type(err).__name__
    if name in ("TokenRetrievalError", "UnauthorizedSSOTokenError", "SSOTokenLoadError", "CredentialRetrievalError"):
        return BackendRefused(
            f"AWS credentials for environment '{environment}' are expired or invalid ({name}); {credentials_hint}"
        )
    if isinstance(err, ConnectTimeoutError | ReadTimeoutError | EndpointConnectionError | ConnectionClosedError):
        return BackendUnavailable(f"{where} is unreachable: {name}")
    if not isinstance(err, ClientError):
        return BackendUnavailable(f"{where} failed: {name}")
    error = err.response.get("Error", {})
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")[:200]
    meta = err.response.get("ResponseMetadata", {})
    attempts = int(meta.get("RetryAttempts", 0)) + 1
    if code in CREDENTIAL_CODES:
        return BackendRefused(
            f"AWS credentials for environment '{environment}' are expired or invalid ({code} calling {api}); "
            f"{credentials_hint}"
        )
    if code in THROTTLE_CODES:
        return BackendUnavailable(
            f"{where} is throttled ({code}) after {attempts} attempt(s) with backoff; retry later or raise "
            f"the account's {api} quota"
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return BackendRefused(f"{where}: access denied; the IAM identity needs permission for {api}")
    if code == "ResourceNotFoundException":
        return NotFound(f"{where}: not found ({message or code})")
    status = int(meta.get("HTTPStatusCode", 0) or 0)
    if status >= 500 or code in ("InternalServerException", "ServiceUnavailableException", "InternalFailure"):
        return BackendUnavailable(f"{where} failed on the AWS side ({code}) after {attempts} attempt(s)")
    return BackendRefused(f"{where} was refused: {code}{': ' + message if message else ''}")


class PathUnavailable(Exception):
    """This access path is not permitted to the identity or not supported; the next fallback may be."""

    def __init__(self, error: PipelineSreError) -> None:
        super().__init__(error.message)
        self.error = error


def path_error(err: Exception, *, environment: str, api: str, what: str) -> Exception:
    """`aws_error`, wrapped in PathUnavailable when the identity or botocore may not use `api`."""
    if isinstance(err, PipelineSreError):
        return err
    error = aws_error(err, environment=environment, api=api, what=what)
    response = getattr(err, "response", None)
    code = str(response.get("Error", {}).get("Code") or "") if isinstance(response, dict) else ""
    return PathUnavailable(error) if code in PATH_DENIED_CODES else error
