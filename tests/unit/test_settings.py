"""The settings module: every app setting read and checked at start, one message naming every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.settings import SettingsError, load_settings, local_settings, setting_specs

ROOT = Path(__file__).resolve().parents[2]


def sample() -> dict[str, str]:
    """The sample's values, minus the emulators' CA file, which exists only once they have started."""
    return {**json.loads((ROOT / "local.settings.sample.json").read_text())["Values"], "TLS_CA_FILE": ""}


def test_the_sample_local_settings_are_valid() -> None:
    settings = load_settings(sample())
    assert settings.organization_domains == ("contoso.example",)
    assert settings.max_message_size_mb == 35
    assert settings.zoom_download_hosts == ("127.0.0.1", "localhost")


def test_defaults_apply_when_optional_settings_are_absent() -> None:
    values = {k: v for k, v in sample().items() if k not in ("ARCHIVE_SCHEDULE", "MAILBOX_FOLDER", "ZOOM_API_URL")}
    settings = load_settings(values)
    assert settings.archive_schedule == "0 0 2 * * *"
    assert settings.mailbox_folder == "Zoom Meetings"
    assert settings.zoom_api_url == "https://api.zoom.us/v2"


def test_one_error_names_every_missing_and_invalid_setting() -> None:
    values = sample()
    del values["ZOOM_CLIENT_ID"]
    values["GRAPH_TENANT_ID"] = ""
    values["MAX_MESSAGE_SIZE_MB"] = "500"
    values["ZOOM_API_URL"] = "http://api.zoom.us/v2"
    values["ARCHIVE_SCHEDULE"] = "daily"
    with pytest.raises(SettingsError) as raised:
        load_settings(values)
    message = str(raised.value)
    for name in ("ZOOM_CLIENT_ID", "GRAPH_TENANT_ID", "MAX_MESSAGE_SIZE_MB", "ZOOM_API_URL", "ARCHIVE_SCHEDULE"):
        assert name in message
    assert len(raised.value.problems) == 5


def test_an_unresolved_key_vault_reference_is_refused_without_printing_it() -> None:
    values = sample()
    values["ZOOM_CLIENT_SECRET"] = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/zoom/)"
    with pytest.raises(SettingsError) as raised:
        load_settings(values)
    assert "ZOOM_CLIENT_SECRET" in str(raised.value)
    assert "Key Vault reference" in str(raised.value)
    assert "kv.vault.azure.net" not in str(raised.value)


def test_secrets_never_appear_in_errors_or_repr() -> None:
    values = sample()
    values["GRAPH_CLIENT_SECRET"] = "s3cr3t-value"
    values["ZOOM_CLIENT_SECRET"] = "z00m-s3cr3t"
    settings = load_settings(values)
    assert "s3cr3t-value" not in repr(settings)
    assert "z00m-s3cr3t" not in repr(settings)
    assert "AccountKey" not in repr(settings)
    values["MAX_MESSAGE_SIZE_MB"] = "lots"
    with pytest.raises(SettingsError) as raised:
        load_settings(values)
    assert "s3cr3t-value" not in str(raised.value)
    assert "'lots'" in str(raised.value)  # a non-secret bad value is shown, to help fix it


def test_storage_through_managed_identity() -> None:
    values = {k: v for k, v in sample().items() if k != "AzureWebJobsStorage"}
    values["AzureWebJobsStorage__accountName"] = "archive1"
    values["AzureWebJobsStorage__clientId"] = "11111111-2222-3333-4444-555555555555"
    storage = load_settings(values).storage
    assert storage.uses_identity
    assert storage.blob_url == "https://archive1.blob.core.windows.net"
    assert storage.table_url == "https://archive1.table.core.windows.net"
    assert storage.client_id == "11111111-2222-3333-4444-555555555555"


def test_storage_is_required_in_one_form_or_the_other() -> None:
    values = {k: v for k, v in sample().items() if k != "AzureWebJobsStorage"}
    with pytest.raises(SettingsError, match="AzureWebJobsStorage"):
        load_settings(values)


def test_an_extra_ca_file_must_exist_and_is_found_from_the_app_folder(tmp_path: Path) -> None:
    values = sample()
    values["TLS_CA_FILE"] = str(tmp_path / "missing.pem")
    with pytest.raises(SettingsError, match="TLS_CA_FILE must name an existing file"):
        load_settings(values)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    values["TLS_CA_FILE"] = str(tmp_path / "ca.pem")
    assert load_settings(values).tls_ca_file == str(tmp_path / "ca.pem")
    values["TLS_CA_FILE"] = "host.json"  # any file of the app: a relative path starts at the app's folder
    assert load_settings(values).tls_ca_file == str(ROOT / "host.json")


def test_domains_are_normalised() -> None:
    values = sample()
    values["ORGANIZATION_DOMAINS"] = " Contoso.com, @eu.contoso.com "
    assert load_settings(values).organization_domains == ("contoso.com", "eu.contoso.com")


def test_every_setting_is_described_and_named_once() -> None:
    names = [name for name, _ in setting_specs()]
    assert len(names) == len(set(names))
    assert all(meta["meaning"] for _, meta in setting_specs())


def test_mailbox_options_are_checked_and_the_mapping_file_is_found_from_the_app_folder(tmp_path: Path) -> None:
    values = sample()
    assert load_settings(values).mailbox_recipients == "participants"
    values.update(MAILBOX_RECIPIENTS="everyone", DEFAULT_MAILBOX="compliance", USER_MAPPING_FILE="missing.csv")
    with pytest.raises(SettingsError) as raised:
        load_settings(values)
    assert [p.split()[0] for p in raised.value.problems] == [
        "MAILBOX_RECIPIENTS",
        "DEFAULT_MAILBOX",
        "USER_MAPPING_FILE",
    ]
    assert "must be one of: participants, host" in str(raised.value)
    assert str(ROOT) in str(raised.value), "a relative mapping file path starts at the app's folder"
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("zoom_user,microsoft_365_address\n")
    values.update(
        MAILBOX_RECIPIENTS="Host", DEFAULT_MAILBOX="compliance@contoso.example", USER_MAPPING_FILE=str(mapping)
    )
    settings = load_settings(values)
    assert (settings.mailbox_recipients, settings.default_mailbox) == ("host", "compliance@contoso.example")
    assert settings.user_mapping_file == str(mapping)
    values["USER_MAPPING_FILE"] = "host.json"  # relative: a file deployed with the app
    assert load_settings(values).user_mapping_file == str(ROOT / "host.json")


def test_zoom_filters_plan_and_sign_in_are_parsed_and_checked() -> None:
    settings = load_settings(
        {
            **sample(),
            "ZOOM_INCLUDE_USERS": " Alice@Contoso.example,,zBob0002 ",
            "ARCHIVE_FILE_TYPES": "mp4, chat",
            "ZOOM_PLAN": "Business",
            "ZOOM_AUTH": "JWT",
        }
    )
    assert settings.zoom_include_users == ("alice@contoso.example", "zbob0002")
    assert settings.archive_file_types == ("MP4", "CHAT")
    assert (settings.zoom_plan, settings.zoom_auth) == ("business", "jwt")
    with pytest.raises(SettingsError) as raised:
        load_settings(
            {**sample(), "ARCHIVE_FILE_TYPES": "MP4,MP3", "ZOOM_PLAN": "free", "ARCHIVE_MIN_DURATION_MINUTES": "-1"}
        )
    message = str(raised.value)
    assert "ARCHIVE_FILE_TYPES" in message and "MP3 is not a Zoom recording file type" in message
    assert "ZOOM_PLAN must be one of: pro, business, enterprise" in message
    assert "ARCHIVE_MIN_DURATION_MINUTES" in message


@pytest.mark.parametrize(
    ("name", "schedule", "why"),
    [
        ("ARCHIVE_SCHEDULE", "0 0 25 * * *", "'25' is out of range 0-23"),
        ("RECONCILE_SCHEDULE", "0 0 0 31 2 *", "the schedule never fires"),
        ("SWEEP_SCHEDULE", "0 */5 * * *", "NCRONTAB needs 6 fields"),
        ("SWEEP_SCHEDULE", "0 0 9 * * Funday", "'FUNDAY' is neither a number nor a day or month name"),
    ],
)
def test_every_schedule_is_checked_at_start(name: str, schedule: str, why: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**sample(), name: schedule})
    (problem,) = raised.value.problems
    assert problem.startswith(f"{name} must be an NCRONTAB expression") and why in problem


def test_a_misspelt_setting_is_refused_naming_the_one_meant() -> None:
    values = {**sample(), "MAILBOX_RECIPIENT": "host", "ZOOM_SECRET": "x", "PATH": "/usr/bin", "FUNCTIONS_X": "1"}
    del values["MAILBOX_RECIPIENTS"]
    with pytest.raises(SettingsError) as raised:
        load_settings(values)
    assert raised.value.problems == [
        "MAILBOX_RECIPIENT is not a setting the archiver reads (did you mean MAILBOX_RECIPIENTS?); rename or remove it",
        "ZOOM_SECRET is not a setting the archiver reads; rename or remove it",
    ]


def test_a_local_settings_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text('{"Values": {"ZOOM_PLAN": "pro",}}')
    with pytest.raises(SettingsError) as raised:
        local_settings(path)
    assert str(path) in str(raised.value) and "is not a local settings file" in str(raised.value)
    path.write_text('{"Values": ["ZOOM_PLAN"]}')
    with pytest.raises(SettingsError, match="Values must be an object"):
        local_settings(path)
