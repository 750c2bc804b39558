from pathlib import Path

import pytest

from pipeline_sre.errors import ConfigError, UnknownEnvironment
from pipeline_sre.settings.config import Settings, load_settings, meta_from_tags, parse_settings

GOOD = """
environments:
  prod:
    airflow: {url: "https://airflow.example.com/", username_env: AF_USER, password_env: AF_PASS}
    dags:
      - {match: "billing_*", tier: 1, business_critical: true, owner: payments}
  dev:
    airflow: {url: "http://127.0.0.1:8080", version: "2"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline-sre.yaml"
    path.write_text(text)
    return path


def test_loads_environments_and_globs(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    _name, prod = settings.environment("prod")
    assert prod.airflow.url == "https://airflow.example.com"
    meta = prod.meta_for("billing_daily")
    assert (meta.tier, meta.business_critical, meta.owner) == (1, True, "payments")
    assert prod.meta_for("other", ["tier:2", "team:data"]).tier == 2


def test_error_names_file_key_and_allowed_values(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('version: "2"', 'version: "9"'))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(path) in err.value.message
    assert "environments.dev.airflow.version" in err.value.message
    assert "'auto', '2' or '3'" in err.value.message


def test_inline_password_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("username_env: AF_USER", "password: hunter2"))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "environments.prod.airflow.password: unknown key" in err.value.message
    assert "password_env" in err.value.message
    assert "hunter2" not in err.value.message


def test_unknown_environment_lists_valid_ones(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    with pytest.raises(UnknownEnvironment) as err:
        settings.environment("staging")
    assert "prod" in err.value.message and "dev" in err.value.message


def test_zero_config_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPELINE_SRE_CONFIG", raising=False)
    monkeypatch.setenv("PIPELINE_SRE_AIRFLOW_URL", "http://localhost:8080")
    monkeypatch.setenv("PIPELINE_SRE_AIRFLOW_TOKEN", "t0ken-value")
    settings = load_settings()
    assert list(settings.environments) == ["default"]
    assert settings.environments["default"].airflow.secret("token_env") == "t0ken-value"
    assert "t0ken-value" in settings.sensitive_values()


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, "environments:\n  prod: [unclosed\n"))
    assert "invalid YAML" in err.value.message and "line" in err.value.message


def test_severity_rules() -> None:
    settings = load_settings_from_text()
    sev = settings.severity
    assert sev.classify(1, True, 2)[0] == "SEV1"
    assert sev.classify(1, True, 1)[0] == "SEV2"
    assert sev.classify(3, False, 10)[0] == "SEV4"


def load_settings_from_text() -> Settings:

    return parse_settings({"environments": {"x": {"airflow": {"url": "http://a"}}}}, "test")


def test_meta_from_tags() -> None:
    meta = meta_from_tags("d", ["tier:1", "business_critical", "team:payments"])
    assert (meta.tier, meta.business_critical, meta.owner) == (1, True, "payments")


def test_unknown_keys_in_every_section_name_the_allowed_ones() -> None:
    env = {"airflow": {"url": "http://x"}, "mwaa": {"name": "a", "region": "eu-west-1", "bogus": 1}}
    with pytest.raises(ConfigError) as err:
        parse_settings({"environments": {"p": env}}, "test.yaml")
    assert "environments.p.mwaa.bogus: unknown key; allowed keys: name, region" in err.value.message


def test_a_policy_only_file_applies_to_the_quick_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_SRE_AIRFLOW_URL", "http://127.0.0.1:8080")
    path = tmp_path / "pipeline-sre.yaml"
    path.write_text(
        "governance:\n  mode: dry_run\n  approvers: [alice]\n  environments:\n    default: {allow_dags: ['*']}\n"
    )
    settings = load_settings(path)
    assert list(settings.environments) == ["default"]
    assert settings.environments["default"].airflow.url == "http://127.0.0.1:8080"
    assert settings.governance.approvers == ["alice"]


def test_a_policy_only_file_with_nothing_to_apply_to_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPELINE_SRE_AIRFLOW_URL", raising=False)
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path / "no-sandbox-here"))
    path = tmp_path / "pipeline-sre.yaml"
    path.write_text("governance:\n  mode: live\n  approvers: [alice]\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "sets no environments: and there is nothing for it to apply to" in err.value.message
    assert "PIPELINE_SRE_AIRFLOW_URL" in err.value.message and "pipeline-sre sandbox up" in err.value.message


def test_config_before_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from pipeline_sre.surfaces.cli.app import app

    missing = tmp_path / "missing.yaml"
    res = CliRunner().invoke(app, ["--config", str(missing), "failures"])
    # the message wraps at the runner's 80 columns, wherever the temporary path puts the file's name
    assert res.exit_code == 2 and "missing.yaml" in res.output.replace("\n", "")
