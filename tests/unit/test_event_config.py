"""Event subscriptions from the config file ([[events.subscriptions]]) and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.core.config import ConfigError, EventSubscriptionConfig, load_settings

TOML = """
[server]
mode = "production"
events_retry_scale = 0.5

[[events.subscriptions]]
name = "bot"
endpoint_url = "https://bot.example/events"
included_event_types = ["Microsoft.Communication.ChatMessageReceived"]
secret = "a-long-enough-secret"

[[events.subscriptions]]
name = "audit"
endpointUrl = "https://audit.example/events"
eventDeliverySchema = "CloudEventSchemaV1_0"
max_delivery_attempts = 3
"""


def test_subscriptions_come_from_events_tables(tmp_path: Path) -> None:
    path = tmp_path / "sb.toml"
    path.write_text(TOML)
    settings = load_settings(config_file=path, environ={})
    assert settings.events_retry_scale == 0.5
    assert settings.events_subscriptions == (
        EventSubscriptionConfig(
            name="bot",
            endpoint_url="https://bot.example/events",
            included_event_types=("Microsoft.Communication.ChatMessageReceived",),
            secret="a-long-enough-secret",
        ),
        EventSubscriptionConfig(
            name="audit",
            endpoint_url="https://audit.example/events",
            event_delivery_schema="CloudEventSchemaV1_0",
            max_delivery_attempts=3,
        ),
    )


def test_subscriptions_come_from_json_in_the_environment() -> None:
    env = {"SWITCHBOARD_EVENTS_SUBSCRIPTIONS": '[{"name": "bot", "endpointUrl": "http://h/e"}]'}
    settings = load_settings(environ=env)
    assert settings.events_subscriptions == (EventSubscriptionConfig("bot", "http://h/e"),)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('name = "x"', "needs 'endpoint_url'"),
        ('name = "x"\nendpoint_url = "http://h"\ncolour = "red"', "Unknown key 'colour'"),
        ('name = "x"\nendpoint_url = "http://h"\nmax_delivery_attempts = "3"', "Invalid type"),
        ('name = "x"\nendpoint_url = "http://h"\nincluded_event_types = "A"', "Invalid type"),
        ('name = "x"\nendpoint_url = "http://h"\nadvanced_filters = "A"', "Invalid type"),
        ('name = "x"\nendpoint_url = "http://h"\nis_subject_case_sensitive = 1', "Invalid type"),
    ],
)
def test_malformed_subscription_tables_name_the_problem(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "sb.toml"
    path.write_text(f"[[events.subscriptions]]\n{table}\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=path, environ={})


def test_secrets_are_not_echoed_in_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "sb.toml"
    path.write_text('[[events.subscriptions]]\nname = "x"\nsecret = 12345678\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=path, environ={})
    assert "12345678" not in caught.value.message


def test_unknown_keys_in_the_events_table_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sb.toml"
    path.write_text("[events]\nsubscription = []\n")
    with pytest.raises(ConfigError, match=r"events\.subscription"):
        load_settings(config_file=path, environ={})


FILTERED = """
[[events.subscriptions]]
name = "calls-for-alice"
endpoint_url = "https://bot.example/calls"
included_event_types = ["Microsoft.Communication.IncomingCall"]
subject_begins_with = "/caller/"
is_subject_case_sensitive = true
advanced_filters = [
  { operator_type = "StringIn", key = "data.to.rawId", values = ["8:acs:alice"] },
  { operatorType = "IsNotNull", key = "data.serverCallId" },
]
"""


def test_subscription_filters_come_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sb.toml"
    path.write_text(FILTERED)
    [configured] = load_settings(config_file=path, environ={}).events_subscriptions
    assert configured.subject_begins_with == "/caller/"
    assert configured.is_subject_case_sensitive is True
    assert configured.advanced_filters == (
        {"operator_type": "StringIn", "key": "data.to.rawId", "values": ["8:acs:alice"]},
        {"operatorType": "IsNotNull", "key": "data.serverCallId"},
    )
