"""Redaction of the shapes found missing by the held-out probes (issue 11 item 2, issue 12).

The lines are shaped after real public logs and configs (trimmed); every value is made up.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import Redactor, redact
from pipeline_sre.diagnosis.redact import catalog_available, shannon_entropy

AIRFLOW = "[2025-03-04, 10:12:01 UTC] {logging_mixin.py:190} INFO - "

# (line, the made-up secret that must disappear)
SHAPES = [
    ("export DB_PASS=Fake-db-pass-42", "Fake-db-pass-42"),
    ("DB_PASS: fakePass9", "fakePass9"),
    ("connecting with host=db user=etl pass=fakepass123", "fakepass123"),
    ("sshpass -p 'FakeSshPass1' ssh -o StrictHostKeyChecking=no etl@10.0.0.5", "FakeSshPass1"),
    ("+ sshpass -p FakeSshPass2 scp out.csv etl@sftp:/in/", "FakeSshPass2"),
    ("mysql -h db.internal -uroot -pFakeMysqlPass1 warehouse < load.sql", "FakeMysqlPass1"),
    ("mysqldump -u backup -p'FakeMysqlPass2' --all-databases", "FakeMysqlPass2"),
    ("mysql --user=root --password=FakeMysqlPass3 -e 'select 1'", "FakeMysqlPass3"),
    ("sqlplus -s scott/FakeTiger1@//ora.internal:1521/ORCL @load.sql", "FakeTiger1"),
    ("expdp system/FakeOraPass2@XE directory=dp dumpfile=x.dmp", "FakeOraPass2"),
    ("WARNING: login failed for etl, tried password FakeTried99", "FakeTried99"),
    # after a failure's verb a secret's value still goes when it carries a digit or a symbol (a message's word does
    # not), and a word of letters goes when no failure is stated ("loading password:" prints what it loaded)
    ("Error: failed to get token: FakeTok3n-99", "FakeTok3n-99"),
    ("fetching password=FakePw7", "FakePw7"),
    ("INFO loading password: correcthorsebatterystaple", "correcthorsebatterystaple"),
    ("DEBUG got token: FakeLettersOnly", "FakeLettersOnly"),
    ("curl -sS -u admin:FakeCurlPass1 https://nexus.internal/service/rest/v1/status", "FakeCurlPass1"),
    ("curl --user deploy:FakeCurlPass2 -X POST https://ci.internal/job/build", "FakeCurlPass2"),
    ('    <add key="ClearTextPassword" value="FakeNugetPass1" />', "FakeNugetPass1"),
    ("<password>FakeXmlPass1</password>", "FakeXmlPass1"),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY1z2", "wJalrXUtnFEMI/K7MDENG"),
    ("creds loaded: AKIAZ3FAKEEXAMPLE7QX Zx9fAkEsEcReTkEy/abcdEFGH+1234567890abcd", "Zx9fAkEsEcReTkEy"),
    # token families
    ("HF_TOKEN=hf_FakeFakeFakeFakeFakeFakeFakeFakeFa", "hf_FakeFakeFake"),
    ("using hf_FakeFakeFakeFakeFakeFakeFakeFakeFa to pull model", "hf_FakeFakeFake"),
    ("SRC_ACCESS_TOKEN sgp_0123456789abcdef_0123456789abcdef0123456789abcdef01234567", "sgp_0123456789"),
    ("sumo_access_id = suFakeFake1234", "suFakeFake1234"),
    ("fb token EAAC" + "Fake0123" * 12, "EAACFake0123"),
    ("NOTION_TOKEN ntn_12345678901FakeFakeFakeFakeFakeFakeFakeFake123", "ntn_12345678901"),
    ("notion secret_FakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFak", "secret_FakeFake"),
    ("discord_token: MTA0FakeFakeFakeFakeFakeFa.GFake1.FakeFakeFakeFakeFakeFakeFakeFake", "MTA0FakeFake"),
    ("https://discord.com/api/webhooks/123456789012345678/FakeFakeFakeFakeFakeFakeFake", "FakeFakeFakeFake"),
    ("bot token 1234567890:AAFakeFakeFakeFakeFakeFakeFakeFakeF", "1234567890:AAFake"),
    ("OP_SECRET_KEY A3-FAKE12-FAKEFAKE123-FAKE1-FAKE2-FAKE3", "A3-FAKE12"),
    ("CLOUDFLARE_API_KEY=0123456789abcdef0123456789abcdef01234", "0123456789abcdef"),
    ("FLY_API_TOKEN fo1_FakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFak", "fo1_FakeFake"),
    ("mailchimp 0123456789abcdef0123456789abcdef-us14", "0123456789abcdef"),
    ("square sq0atp-FakeFakeFakeFakeFake12", "sq0atp-FakeFake"),
    ("square sq0csp-FakeFakeFakeFakeFakeFakeFakeFakeFakeFake123", "sq0csp-FakeFake"),
    # keyword + high-entropy value
    ("x-signature: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MAk9Xk2", "Zm9vYmFyYmF6"),
    ("service_key=Q2xhc3NpZmllZEZha2VLZXkxMjM0NTY3OA", "Q2xhc3NpZmllZEZh"),
]


@pytest.mark.parametrize(("line", "secret"), SHAPES, ids=[s[1][:12] for s in SHAPES])
def test_shape_is_masked(line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out, out
    assert "[REDACTED:" in out


@pytest.mark.parametrize(("line", "secret"), SHAPES, ids=[s[1][:12] for s in SHAPES])
def test_shape_is_masked_by_our_rules_alone(line: str, secret: str) -> None:
    # the catalogue is optional: our own rules must cover these shapes without it
    out = Redactor(catalog=False).redact(line)
    assert secret not in out, out


KEEP = [
    # errors, not secrets: the evidence must stay readable
    'psycopg2.OperationalError: connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  password '
    'authentication failed for user "airflow"',
    'FATAL:  password authentication failed for user "etl"',
    "google.auth.exceptions.RefreshError: ('invalid_grant: Token has been expired or revoked.', "
    "{'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'})",
    "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    'WARNING - Unable to locate credentials. You can configure credentials by running "aws configure".',
    "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)",
    "Permission denied (publickey,password).",
    "sshpass: command not found",
    "uses: actions/checkout@v4",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "INFO - Using connection ID 'aws_default' for task execution.",
    "key=part-00000-c000.snappy.parquet",
    "session_id: 20240101-run-7",
    "Authentication using password authentication failed",
    "23/05/02 10:00:01 INFO SecurityManager: authentication disabled; ui acls disabled",
    "kafka.consumer: Auto offset commit failed for group etl: Commit cannot be completed",
    # a secret's name as the subject of an error message: the word after it starts the message (rclone's SugarSync
    # login in batch 60 read "failed to get token: [REDACTED:password] error 401" and lost what it failed with)
    "Error: failed to get token: HTTP error 401 (401 Unauthorized)",
    "Error: failed to get access token: connection reset by peer",
    "Failed to refresh token: invalid_grant",
    "unable to obtain credentials: NoCredentialsError",
    "could not read password: EOF",
    "error validating token: expired.",
]


@pytest.mark.parametrize("line", KEEP)
def test_evidence_is_kept(line: str) -> None:
    assert redact(line) == line


def test_openssh_key_printed_line_by_line_with_log_prefixes() -> None:
    red = Redactor()
    lines = [
        AIRFLOW + "-----BEGIN OPENSSH PRIVATE KEY-----",
        AIRFLOW + "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        AIRFLOW + "QyNTUxOQAAACBFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeAA",
        AIRFLOW + "-----END OPENSSH PRIVATE KEY-----",
        AIRFLOW + "Task exited with return code 0",
    ]
    out = [red.redact_line(x) for x in lines]
    assert all("b3BlbnNzaC1" not in x and "QyNTUxOQ" not in x for x in out)
    assert out[1] == out[2] == "[REDACTED:private_key]"
    assert out[4] == lines[4]


def test_rsa_pem_across_redact_line_calls_and_reset() -> None:
    red = Redactor()
    assert red.redact_line("-----BEGIN RSA PRIVATE KEY-----\n") == "[REDACTED:private_key]\n"
    assert red.redact_line("MIIEpAIBAAKCAQEAFakeFakeFake\n") == "[REDACTED:private_key]\n"
    red.reset()
    assert red.redact_line("plain line\n") == "plain line\n"


JSON_LINES = ["{", '  "user": "etl",', '  "password":', '    "FakeJsonPass1",', '  "port": 5432', "}"]


def test_json_value_on_the_next_line() -> None:
    red = Redactor()
    out = [red.redact_line(x) for x in JSON_LINES]
    assert "FakeJsonPass1" not in "".join(out)
    assert out[3] == '    "[REDACTED:password]",'
    assert out[4] == JSON_LINES[4] and out[1] == JSON_LINES[1]
    text = "\n".join(JSON_LINES)
    assert "FakeJsonPass1" not in Redactor().redact(text)
    assert "FakeJsonPass1" not in "".join(Redactor().redact_stream(JSON_LINES))


def test_json_value_after_key_with_airflow_prefix() -> None:
    red = Redactor()
    red.redact_line(AIRFLOW + '  "client_secret":')
    assert red.redact_line(AIRFLOW + '    "FakeClientSecret9"') == AIRFLOW + '    "[REDACTED:password]"'


def test_nested_mapping_after_a_credentials_key_is_not_masked_whole() -> None:
    red = Redactor()
    out = [red.redact_line(x) for x in ["credentials:", "  username: etl", "  password: FakeNested1"]]
    assert out[1] == "  username: etl"
    assert "FakeNested1" not in out[2]


K8S = [
    "apiVersion: v1",
    "data:",
    "  DB_HOST: ZGIuaW50ZXJuYWw=",
    "  tls.key: RmFrZVRsc0tleUZha2VUbHNLZXk=",
    "kind: Secret",
    "metadata:",
    "  name: warehouse-credentials",
    "  namespace: etl",
    "type: Opaque",
]


def test_kubernetes_secret_yaml_data_block() -> None:
    red = Redactor()
    out = [red.redact_line(x) for x in K8S]
    assert "ZGIuaW50ZXJuYWw=" not in "\n".join(out)
    assert "RmFrZVRsc0tleUZh" not in "\n".join(out)
    assert out[2] == "  DB_HOST: [REDACTED:k8s_secret]"
    assert out[6] == "  name: warehouse-credentials"  # metadata is not part of the data block
    assert "RmFrZVRsc0tleUZh" not in Redactor().redact("\n".join(K8S))


def test_kubernetes_string_data_masks_plain_values() -> None:
    text = "kind: Secret\nstringData:\n  username: etl\n  token: plain-fake-token\nmetadata:\n  name: x\n"
    out = Redactor().redact(text)
    assert "plain-fake-token" not in out and "username: [REDACTED:k8s_secret]" in out
    assert "  name: x" in out


def test_configmap_plain_values_stay() -> None:
    text = "apiVersion: v1\ndata:\n  mode: production\n  log_dir: /var/log\nkind: ConfigMap\n"
    assert Redactor().redact(text) == text


def test_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.2


@pytest.mark.skipif(not catalog_available(), reason="kingfisher-secret-scanner not installed")
def test_catalog_catches_a_format_our_rules_do_not_list() -> None:
    # a PyPI upload token: only the catalogue knows this prefix
    line = "twine upload -p pypi-AgEIcHlwaS5vcmcCJGFha2VGYWtlRmFrZUZha2VGYWtlRmFrZUZha2VGYWtlAAIqWzMsIm" + "A" * 60
    assert Redactor(catalog=False).redact(line) == line or "pypi-AgEI" not in Redactor(catalog=False).redact(line)
    assert "pypi-AgEIcHlwaS5vcmc" not in Redactor().redact(line)
    red = Redactor()
    assert "pypi-AgEIcHlwaS5vcmc" not in red.redact_line(line)
