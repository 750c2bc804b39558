from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import Redactor, redact

# All values below are made up for these tests; none is a real credential.
CASES = [
    ("aws_access_key", "aws_access_key_id = AKIAZ3FAKEEXAMPLE7QX", "AKIAZ3FAKEEXAMPLE7QX"),
    ("aws_access_key", "session key ASIAY4FAKEEXAMPLE2AB in use", "ASIAY4FAKEEXAMPLE2AB"),
    (
        "aws_secret_key",
        "aws_secret_access_key: Zx9FakeSecretKeyValue/abcdEFGH+123456789",
        "Zx9FakeSecretKeyValue",
    ),
    (
        "private_key",
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBFAKE\\n-----END PRIVATE KEY-----\\n"',
        "MIIEvQIBFAKE",
    ),
    (
        "azure_storage_key",
        "AccountName=acme;AccountKey=ZmFrZWtleWZha2VrZXlmYWtla2V5ZmFrZQ==;EndpointSuffix=x",
        "ZmFrZWtleWZha2Vr",
    ),
    (
        "azure_storage_key",
        "Endpoint=sb://x/;SharedAccessKeyName=r;SharedAccessKey=FakeSasKeyValue123456=",
        "FakeSasKeyValue123456",
    ),
    (
        "azure_sas",
        "https://acme.blob.core.windows.net/c/f?sv=2022-11-02&sig=FakeSig%2Babcdefghijklmnop%3D",
        "FakeSig%2Babcdef",
    ),
    ("github_token", "GITHUB_TOKEN ghp_FakeFakeFakeFakeFakeFakeFakeFake1234", "ghp_FakeFakeFakeFake"),
    ("github_token", "using gho_FakeFakeFakeFakeFakeFakeFakeFake5678", "gho_FakeFakeFake"),
    ("github_token", "ghs_FakeFakeFakeFakeFakeFakeFakeFake9012 expired", "ghs_FakeFakeFake"),
    ("github_token", "ghu_FakeFakeFakeFakeFakeFakeFakeFake3456", "ghu_FakeFakeFake"),
    ("github_token", "github_pat_11FAKEFAKE0abcdefghij_klmnopqrstuvwxyzFAKEFAKE", "github_pat_11FAKEFAKE"),
    ("gitlab_token", "CI token glpat-FakeFake1234FakeFake", "glpat-FakeFake1234"),
    ("slack_token", "bot xoxb-000000000000-000000000000-FakeFakeFakeFakeFake", "xoxb-000000000000"),
    ("slack_token", "user xoxp-000000000000-000000000000-FakeFakeFake", "xoxp-000000000000"),
    ("slack_token", "app xapp-1-A0FAKE-0000000000-fakefakefakefake", "xapp-1-A0FAKE"),
    (
        "slack_webhook",
        "POST https://hooks.slack.com/services/T0FAKE000/B0FAKE000/FakeFakeFakeFakeFake1234",
        "FakeFakeFakeFake",
    ),
    ("stripe_key", "stripe key sk_live_FakeFakeFake1234567890", "sk_live_FakeFake"),
    ("stripe_key", "restricted rk_live_FakeFakeFake1234567890", "rk_live_FakeFake"),
    ("twilio_key", "twilio SK0123456789abcdef0123456789abcdef", "SK0123456789abcdef"),
    ("twilio_key", "account ACfedcba9876543210fedcba9876543210", "ACfedcba98765"),
    ("sendgrid_key", "SENDGRID=SG.FakeFakeFake123456.FakeFakeFakeFakeFakeFake1234567", "SG.FakeFakeFake"),
    ("databricks_token", "DATABRICKS_TOKEN dapi0123456789abcdef0123456789abcdef", "dapi0123456789abcdef"),
    ("openai_key", "key sk-proj-FakeFakeFakeFakeFakeFake1234567890", "sk-proj-FakeFake"),
    ("openai_key", "legacy sk-FakeFakeFakeFakeFakeFakeFake12", "sk-FakeFakeFake"),
    ("anthropic_key", "x-api sk-ant-api03-FakeFakeFakeFakeFakeFake-1234", "sk-ant-api03-Fake"),
    ("jwt", "id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.ZmFrZXNpZ25hdHVyZQ", "eyJzdWIiOiJmYWtlIn0"),
    ("authorization", "Authorization: Bearer FakeBearerToken.abc-123", "FakeBearerToken"),
    ("authorization", "headers={'Authorization': 'Basic ZmFrZTpmYWtl'}", "ZmFrZTpmYWtl"),
    ("uri_credentials", "postgresql://loader:Fake-Pa55word!@db.internal:5432/dw", "Fake-Pa55word!"),
    ("uri_credentials", "amqp://guest:guestfake@rabbit:5672//", "guestfake"),
    ("password", "password=FakeHunter2", "FakeHunter2"),
    ("password", 'db_password: "fake horse battery"', "fake horse battery"),
    ("password", '{"client_secret": "fakeclientsecret123"}', "fakeclientsecret123"),
    ("password", "API_KEY='fake-api-key-value'", "fake-api-key-value"),
    ("password", "--password FakeCliPass", "FakeCliPass"),
    ("password", "auth_token => fakeauthtoken42", "fakeauthtoken42"),
    # AWS STS bearer-token and context-credential prefixes
    ("aws_access_key", "sts token ABIAZ3FAKEEXAMPLE7QX", "ABIAZ3FAKEEXAMPLE7QX"),
    ("aws_access_key", "ctx=ACCAY4FAKEEXAMPLE2AB", "ACCAY4FAKEEXAMPLE2AB"),
    # a storage account key with no AccountKey= in sight (88 base64 characters ending in ==)
    (
        "azure_storage_key",
        "IDENTITY = 'x', " + "FakeStorageKey" * 6 + "+/==",
        "FakeStorageKeyFakeStorage",
    ),
    ("azure_client_secret", "(secret: Fak8Q~FakeFakeFakeFakeFake.Fake-Fake~12)", "Fak8Q~FakeFake"),
    ("azure_client_secret", "<value>~Ab1Q~FakeFakeFakeFakeFakeFakeFakeFake</value>", "Ab1Q~FakeFake"),
    ("gcp_api_key", "maps key AIzaFakeFakeFakeFakeFakeFakeFake-_12345 loaded", "AIzaFakeFake"),
    ("gitlab_token", "runner token GR1348941FakeFakeFakeFake1234", "GR1348941FakeFake"),
    ("gitlab_token", "flags glffct-FakeFakeFakeFake12345", "glffct-FakeFake"),
    ("gitlab_token", "cookie _gitlab_session=0fake1fake2fake3fake4fake5fake6f", "0fake1fake2fake3"),
    (
        "private_key",
        "key MIIBOgIBAAJBAFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake== end",
        "MIIBOgIBAAJBAFakeFake",
    ),
]


@pytest.mark.parametrize(("kind", "line", "secret"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_secret_kind_is_masked(kind: str, line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out


ORDINARY = [
    "24/03/18 10:21:07 INFO SparkContext: Running Spark version 3.4.1",
    "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
    "[2024-05-02, 03:00:04 UTC] {taskinstance.py:2193} INFO - Starting attempt 1 of 3",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/dags/load.py", line 44, in load_orders',
    "KeyError: 'customer_id'",
    "INFO Using connection ID 'warehouse' for task execution.",
    "Fetched 12 tokens from the tokenizer; 3 passed validation",
    "The author of this change is bob; authentication disabled; ui acls disabled",
    "GET https://api.example.com/v2/orders?page=3 200 OK",
    "s3://acme-raw/clicks/dt=2024-05-20/part-00000.snappy.parquet",
    "09:14:05  Database Error in model stg_orders (models/staging/stg_orders.sql)",
    "Task exited with return code 1",
    "2015-10-18 18:02:02,104 INFO Auth successful for job_1445144423722_0020 (auth:SIMPLE)",
    "security.authentication=kerberos; hadoop.security.authorization=true",
    "Comparing a == b with 88 chars: " + "0123456789" * 8 + "ab==",
    "",
    "   indented line with trailing spaces   ",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_lines_unchanged(line: str) -> None:
    assert redact(line) == line
    assert Redactor().redact_line(line + "\n") == line + "\n"


def test_pem_block_line_by_line_keeps_state() -> None:
    r = Redactor()
    lines = [
        "loading key\n",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "MIIEFAKEFAKEFAKEbase64lineone\n",
        "FAKEFAKEbase64linetwo==\n",
        "-----END RSA PRIVATE KEY-----\n",
        "done\n",
    ]
    out = [r.redact_line(x) for x in lines]
    assert out[0] == "loading key\n"
    assert out[5] == "done\n"
    assert all("FAKE" not in x for x in out)
    assert out[2] == "[REDACTED:private_key]\n"


def test_pem_block_in_text_and_stream() -> None:
    text = "a\n-----BEGIN PRIVATE KEY-----\nMIIEFAKE1\nMIIEFAKE2\n-----END PRIVATE KEY-----\nb\n"
    out = redact(text)
    assert "MIIEFAKE" not in out
    assert out.startswith("a\n") and out.endswith("\nb\n")
    # the same through redact_stream with a tiny batch so the block spans batches
    chunks = list(Redactor().redact_stream(text.splitlines(keepends=True), batch_chars=8))
    joined = "".join(chunks)
    assert "MIIEFAKE" not in joined
    assert joined.endswith("b\n")


def test_unterminated_pem_masks_to_end() -> None:
    out = redact("x\n-----BEGIN EC PRIVATE KEY-----\nMIIFAKE\nmore\n")
    assert "MIIFAKE" not in out and "more" not in out


def test_extra_values() -> None:
    r = Redactor(extra_values=["Tr0ub4dor&3-fake", "", "ab"])
    out = r.redact("login as etl with Tr0ub4dor&3-fake failed; ab stays")
    assert "Tr0ub4dor&3-fake" not in out
    assert "[REDACTED:configured_secret]" in out
    assert "ab stays" in out  # values shorter than 3 characters are ignored


def test_already_redacted_is_stable() -> None:
    once = redact("password=FakeHunter2 postgresql://u:FakePw@h/db")
    assert redact(once) == once


@pytest.mark.parametrize(
    "value",
    [
        b"password=fake\xff\xfe",
        None,
        12345,
        "\x00\x01\x02 token=\u202efake",
        "é" * 10 + " secret: ÿfake",
        "İ" * 5 + " token=fake",
    ],
)
def test_never_raises(value: object) -> None:
    out = redact(value)  # type: ignore[arg-type]
    assert isinstance(out, str)
    assert "token=fake" not in out


def test_non_ascii_length_change_path() -> None:
    # 'İ'.lower() is two characters: the block path must fall back to line by line
    text = "İstanbul ok\npassword=FakeHunter2\nplain\n"
    out = redact(text)
    assert "FakeHunter2" not in out and out.endswith("plain\n") and out.startswith("İstanbul ok\n")


def test_large_clean_text_is_identical() -> None:
    text = "2024-01-01 10:00:00,000 INFO [main] org.example.Worker: processed batch 42 in 12 ms\n" * 20000
    assert redact(text) == text


def test_putty_key_file_is_masked_in_text_line_by_line_and_stream() -> None:
    ppk = (
        "loading ppk\n"
        "PuTTY-User-Key-File-3: ssh-ed25519\n"
        "Encryption: none\n"
        "Public-Lines: 1\n"
        "AAAAC3FakePublicFake\n"
        "Private-Lines: 1\n"
        "AAAAIFakePrivateFake\n"
        "Private-MAC: 0fa1fe2fa3\n"
        "after\n"
    )
    out = redact(ppk)
    assert "FakePrivate" not in out and "FakePublic" not in out
    assert out.startswith("loading ppk\n") and out.endswith("after\n")
    r = Redactor()
    lines = [r.redact_line(x) for x in ppk.splitlines(keepends=True)]
    assert lines[0] == "loading ppk\n" and lines[-1] == "after\n"
    assert all("Fake" not in x for x in lines)
    joined = "".join(Redactor().redact_stream(ppk.splitlines(keepends=True), batch_chars=16))
    assert "FakePrivate" not in joined and joined.endswith("after\n")


def test_putty_header_without_mac_masks_to_end() -> None:
    out = redact("some text here\nPuTTY-User-Key-File-2\nsecret key")
    assert "secret key" not in out and out.startswith("some text here\n")


def test_pem_and_putty_blocks_in_one_text() -> None:
    text = (
        "-----BEGIN PRIVATE KEY-----\nFAKEPEM\n-----END PRIVATE KEY-----\n"
        "mid\nPuTTY-User-Key-File-2: ssh-rsa\nFAKEPPK\nPrivate-MAC: ab\nend\n"
    )
    out = redact(text)
    assert "FAKEPEM" not in out and "FAKEPPK" not in out
    assert "\nmid\n" in out and out.endswith("end\n")
