"""modules/config/observability.py: `[alarms]`, `[notifications]`, `[tracing]`, `[apm]`, and the
per-service `alarms`, `tracing` and `apm`, through the loader as a user meets them."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import env_toml, load, run_main, write_config

from modules.config import ConfigError, load_platform
from modules.config.observability import AlarmsConfig, NotificationsConfig
from modules.config.profiles import PROFILES

SERVICE = """
[[services]]
name = "api"
port = 8080
paths = ["/*"]
priority = 10
{extra}
"""
SECRETS = """
[[secrets]]
name = "discord"
description = "Discord webhook URL of the #alerts channel"

[[secrets]]
name = "datadog"
description = "Datadog API key"
"""


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_platform(directory)
    return [str(p) for p in caught.value.problems]


def qa(tmp_path: Path, text: str, profile: str = "development", service: str = "") -> Path:
    return write_config(
        tmp_path,
        {
            "qa": env_toml("10.40.0.0/16", profile)
            + "\n[edge]\nhttp_only = true\n"
            + text
            + SERVICE.format(extra=service)
        },
    )


def test_profiles_set_the_evaluation_window_and_the_notifier_log_retention(tmp_path: Path) -> None:
    (dev,) = load(qa(tmp_path, "")).environments
    prod_config = write_config(
        tmp_path / "p",
        {
            "qa": env_toml("10.40.0.0/16", "production")
            + SERVICE.format(extra='public = false\nhosts = ["api.internal"]')
        },
    )
    (prod,) = load(prod_config).environments
    assert (dev.config.alarms.evaluation_periods, prod.config.alarms.evaluation_periods) == (5, 3)
    assert (dev.config.notifications.log_retention_days, prod.config.notifications.log_retention_days) == (
        30,
        365,
    )
    # Every other threshold is a schema default, the same in both profiles (and so in the reference).
    assert dev.config.alarms.model_dump(exclude={"evaluation_periods"}) == prod.config.alarms.model_dump(
        exclude={"evaluation_periods"}
    )
    assert set(PROFILES["development"]["alarms"]) == {"evaluation_periods"}


def test_nothing_optional_is_on_by_default(tmp_path: Path) -> None:
    (env,) = load(qa(tmp_path, "")).environments
    (api,) = env.services
    assert env.config.alarms.enabled
    assert env.config.notifications.discord_webhook_secret is None
    assert env.config.notifications.alert_emails == [] and env.config.apm is None
    assert not env.traced(api) and env.apm_for(api) is None


def test_service_overrides_and_opt_outs(tmp_path: Path) -> None:
    text = (
        '[tracing]\nmode = "xray"\n\n[apm]\nprovider = "datadog"\nkey_secret = "secret:datadog"\n' + SECRETS
    )
    (env,) = load(
        qa(tmp_path, text, service='alarms = { cpu_percent = 95 }\ntracing = "none"\napm = false')
    ).environments
    (api,) = env.services
    assert api.alarms.cpu_percent == 95 and api.alarms.memory_percent is None
    assert not env.traced(api), "the service's own tracing wins over the environment's"
    assert env.apm_for(api) is None, "apm = false opts the service out"
    (plain,) = load(qa(tmp_path / "plain", text)).environments
    assert plain.traced(plain.services[0])
    assert plain.apm_for(plain.services[0]) is plain.config.apm


def test_a_service_may_trace_alone(tmp_path: Path) -> None:
    (env,) = load(qa(tmp_path, "", service='tracing = "xray"')).environments
    assert env.config.tracing.mode == "none" and env.traced(env.services[0])


def test_the_secrets_named_must_be_declared(tmp_path: Path) -> None:
    text = (
        '[notifications]\ndiscord_webhook_secret = "secret:hook"\n\n'
        '[apm]\nprovider = "sentry"\nkey_secret = "secret:dsn"\n'
        '\n[[secrets]]\nname = "stripe"\ndescription = "Stripe key"\n'
    )
    assert problems(qa(tmp_path, text)) == [
        f"{tmp_path}/qa.toml: notifications.discord_webhook_secret: no [[secrets]] entry named 'hook' "
        "(declared: stripe)",
        f"{tmp_path}/qa.toml: apm.key_secret: no [[secrets]] entry named 'dsn' (declared: stripe)",
    ]


def test_declared_secrets_are_accepted(tmp_path: Path) -> None:
    text = '[notifications]\ndiscord_webhook_secret = "secret:discord"\n' + SECRETS
    (env,) = load(qa(tmp_path, text)).environments
    assert env.config.notifications.discord_webhook_secret == "secret:discord"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[apm]\nprovider = "dynatrace"\nkey_secret = "secret:datadog"\n',
            "apm.provider: Input should be 'datadog', 'newrelic' or 'sentry' (got 'dynatrace')",
        ),
        ('[apm]\nprovider = "datadog"\n', "apm.key_secret: required key is missing"),
        (
            '[apm]\nprovider = "datadog"\nkey_secret = "arn:aws:secretsmanager:eu-west-1:1:secret:x"\n',
            "apm.key_secret: must be secret:<name>, naming a [[secrets]] entry of this file",
        ),
        (
            "[alarms]\nalb_5xx_percent = 150\n",
            "alarms.alb_5xx_percent: Input should be less than or equal to 100",
        ),
        ("[alarms]\nservice_cpu_percent = 0\n", "alarms.service_cpu_percent: Input should be greater than 0"),
        ("[alarms]\nperiod_seconds = 45\n", "alarms.period_seconds: Input should be 60, 300, 900 or 3600"),
        (
            '[notifications]\nalert_emails = ["ops.example.com"]\n',
            "notifications.alert_emails[0]: must be an email address such as ops@example.com",
        ),
        (
            '[notifications]\nalert_https_endpoints = ["http://pager.example.com/sns"]\n',
            "notifications.alert_https_endpoints[0]: must be an https:// URL",
        ),
        (
            "[notifications]\nguardduty_min_severity = 11\n",
            "notifications.guardduty_min_severity: Input should be less",
        ),
        (
            "[tracing]\nsampling_rate = 1.5\n",
            "tracing.sampling_rate: Input should be less than or equal to 1",
        ),
        ("[alarms]\nthreshold = 3\n", "alarms.threshold: unknown key"),
    ],
)
def test_bad_values_are_one_line_each_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    (problem,) = problems(qa(tmp_path, text + SECRETS))
    assert problem.startswith(f"{tmp_path}/qa.toml: {expected}"), problem


def test_a_bad_service_threshold_names_the_service_entry(tmp_path: Path) -> None:
    (problem,) = problems(qa(tmp_path, "", service="alarms = { memory_percent = 101 }"))
    assert problem.startswith(
        f"{tmp_path}/qa.toml: services[0] (api).alarms.memory_percent: Input should be less"
    )


def test_through_the_cli_exit_2_and_no_traceback(tmp_path: Path) -> None:
    config = qa(tmp_path / "config", '[notifications]\nalert_emails = ["nobody"]\n')
    # main.py shows a path relative to the working directory when that is shorter: run it from tmp_path
    result = run_main("synth", "--config", "config", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "config/qa.toml: notifications.alert_emails[0]: must be an email address such as ops@example.com "
        "(got 'nobody')"
    ]
    assert config.is_dir() and not (tmp_path / "out").exists()


def test_every_threshold_has_a_default_in_the_schema() -> None:
    # The reference renders defaults from the schema: a threshold without one would read "required".
    assert all(
        field.default is not None or name == "evaluation_periods"
        for name, field in AlarmsConfig.model_fields.items()
    )
    assert NotificationsConfig.model_fields["log_retention_days"].is_required(), "from the profile"


def test_a_service_may_not_take_a_sidecar_name(tmp_path: Path) -> None:
    text = (
        env_toml("10.40.0.0/16")
        + "\n[edge]\nhttp_only = true\n"
        + SERVICE.replace('"api"', '"xray-daemon"').format(extra="")
    )
    (problem,) = problems(write_config(tmp_path, {"qa": text}))
    assert problem == (
        f"{tmp_path}/qa.toml: services[0] (xray-daemon).name: is the name of a tracing or APM "
        "sidecar container; choose another name (got 'xray-daemon')"
    )
