"""Every app setting the code reads (shared/settings.py `setting_specs()`) is set by the Bicep, present in
local.settings.sample.json, and documented once in the README's settings table, with the same default.
The list is read from the app at test time, so a setting added there without the other three fails here.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest

from shared.settings import setting_specs
from shared.telemetry import CONNECTION_STRING, WORKER_EXPORTS

from .bicep import INFRA, Interpolated, Ref, read

ROOT = INFRA.parent
STORAGE = "AzureWebJobsStorage"

# Settings of the Functions host or the platform, not of the app: shared/settings.py does not declare them,
# yet the Bicep or the local sample may set them. A name ending in "_" is a prefix.
PLATFORM_SETTINGS = {
    # The local host needs it; Flex Consumption rejects it (the runtime is in functionAppConfig).
    "FUNCTIONS_WORKER_RUNTIME",
    # Identity-based host storage in Azure: service URIs, credential=managedidentity, clientId.
    f"{STORAGE}__",
    # Where telemetry goes, and its Entra authentication: the host, the Python worker and the exporter read
    # them, each by its platform name; the deployment derives them from the Application Insights resource
    # and the app's identity, so they are not the administrator's to set.
    CONNECTION_STRING,
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    # The Python worker exports OpenTelemetry (logs with custom dimensions) to Application Insights.
    WORKER_EXPORTS,
    # host.json overrides.
    "AzureFunctionsJobHost__",
    # The Python worker's thread pool, sized by the Bicep to host.json's concurrency (tests/infra/test_bicep.py).
    "PYTHON_THREADPOOL_THREAD_COUNT",
}
# In Azure the storage connection is made of these instead of a connection string.
STORAGE_IDENTITY_SETTINGS = {f"{STORAGE}__{part}Uri" for part in ("blobService", "queueService", "tableService")} | {
    f"{STORAGE}__credential",
    f"{STORAGE}__clientId",
}
# Platform settings the app's code reads itself (telemetry.configure decides whether to export, and
# whether the worker already does), each set by the Bicep. They stay platform settings, not declared ones:
# telemetry is configured before the settings are loaded, and the values are derived by the deployment.
READ_PLATFORM_SETTINGS = {CONNECTION_STRING, WORKER_EXPORTS}
# One environment variable read: environ.get(X, ...), environ[X] or getenv(X).
ENVIRON_READ = re.compile(r"(?:environ\.get|getenv)\(\s*([^,)]+)|environ\[\s*([^\]]+)\]")
# settings.py reads each declared setting by its name, and the storage connection from its prefix.
SETTINGS_READS = {"name": None, "prefix": STORAGE}
SECRET_MARK = "(secret: Key Vault)"
# Either form of a Key Vault reference; group 2 or 3 is the secret's name.
KEY_VAULT_REFERENCE = re.compile(
    r"^@Microsoft\.KeyVault\((SecretUri=.+secrets/([\w-]+)/?|VaultName=.+;SecretName=([\w-]+).*)\)$"
)

# Settings the deployment derives from its own resources rather than from a parameter: setting -> the variable
# of main.bicep that holds the value.
DERIVED_SETTINGS = {"WORKBOOK_URL": "workbookUrl"}

SPECS = dict(setting_specs())
APP_SETTINGS = [name for name in SPECS if name != STORAGE]


def _is_platform(name: str) -> bool:
    return any(name == allowed or (allowed.endswith("_") and name.startswith(allowed)) for allowed in PLATFORM_SETTINGS)


def _parameter_name(setting: str) -> str:
    """ARCHIVE_SCHEDULE -> archiveSchedule: the Bicep parameter that carries a non-secret setting."""
    first, *rest = setting.lower().split("_")
    return first + "".join(part.capitalize() for part in rest)


def _bicep_settings() -> dict[str, Any]:
    """Every app setting the deployment sets: the app's (main.bicep) and the host's (function.bicep)."""
    app = read(INFRA / "main.bicep").variables["appSettings"]
    host = read(INFRA / "app" / "function.bicep").variables["hostSettings"]
    assert not set(app) & set(host), "a setting is set twice"
    return {**host, **app}


def _readme_table() -> dict[str, tuple[str, str]]:
    """Setting -> (meaning, default) from the table under `## Settings` in the README."""
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Settings\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no '## Settings' section"
    rows = {}
    for line in section.group(1).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            name = cells[0].strip("`")
            assert name not in rows, f"{name} is documented twice in the README"
            rows[name] = (cells[1], cells[2])
    return rows


def _readme_default(default: str | None) -> str:
    if default is None:
        return "(required)"
    return f"`{default}`" if default else "(empty)"


def _plain(text: str) -> str:
    """Text compared without formatting: no code marks or quotes, single spaces."""
    return " ".join(re.sub(r"[`'\"]", "", text).split())


@pytest.mark.parametrize("name", APP_SETTINGS)
def test_bicep_sets_the_setting(name: str) -> None:
    meta = SPECS[name]
    value = _bicep_settings().get(name)
    assert value is not None, f"infra/main.bicep does not set {name}: add it to appSettings"
    params = read(INFRA / "main.bicep").params
    parameter = _parameter_name(name)
    if name in DERIVED_SETTINGS:
        assert value == Ref(DERIVED_SETTINGS[name]), f"{name} must be set from the variable {DERIVED_SETTINGS[name]}"
        assert parameter not in params, f"{name} is derived by the deployment: it must not be a Bicep parameter"
    elif meta["secret"]:
        # A secret is a Key Vault reference, never a value passed to the deployment.
        assert isinstance(value, str) and KEY_VAULT_REFERENCE.match(value), f"{name} must be a Key Vault reference"
        assert parameter not in params, f"{name} is a secret: it must not be a Bicep parameter"
    else:
        assert value == Ref(parameter), f"{name} must be set from the parameter {parameter}"
        param = params[parameter]
        assert param.type == "string"
        expected = "(no default: required)" if meta["default"] is None else meta["default"]
        actual = "(no default: required)" if param.required else param.default
        assert actual == expected, f"parameter {parameter}: default {actual!r}, the app's is {expected!r}"


def test_azure_storage_is_identity_based() -> None:
    settings = _bicep_settings()
    assert STORAGE not in settings, "no connection string in Azure"
    assert settings.keys() >= STORAGE_IDENTITY_SETTINGS
    assert settings[f"{STORAGE}__credential"] == "managedidentity"


def test_bicep_sets_nothing_else() -> None:
    extra = [name for name in _bicep_settings() if name not in SPECS and not _is_platform(name)]
    assert not extra, f"set by the Bicep but unknown to shared/settings.py: {extra}"


def test_azd_environment_can_set_every_parameter() -> None:
    """main.parameters.json maps each non-secret setting to an azd environment value of the same name."""
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    for name in APP_SETTINGS:
        parameter = _parameter_name(name)
        if SPECS[name]["secret"] or name in DERIVED_SETTINGS:
            assert parameter not in mapped
            assert f"${{{name}}}" not in json.dumps(mapped), f"{name} must not pass through azd"
        else:
            assert mapped.get(parameter) == {"value": f"${{{name}}}"}, f"map {parameter} to ${{{name}}}"
    assert set(mapped) <= set(read(INFRA / "main.bicep").params)


def test_local_sample_has_every_setting() -> None:
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    missing = [name for name in SPECS if name not in values]
    assert not missing, f"local.settings.sample.json lacks {missing}"
    extra = [name for name in values if name not in SPECS and not _is_platform(name)]
    assert not extra, f"local.settings.sample.json has settings unknown to shared/settings.py: {extra}"


def test_readme_documents_every_setting_once_with_its_default() -> None:
    table = _readme_table()
    assert list(table) == list(SPECS), "the README table must list shared/settings.py's settings, in its order"
    for name, meta in SPECS.items():
        meaning, default = table[name]
        assert default == _readme_default(meta["default"]), f"README default of {name}"
        secret = meta["secret"] and name != STORAGE
        assert (SECRET_MARK in meaning) == secret, f"README: mark {name} with {SECRET_MARK!r} exactly if secret"
        assert _plain(meaning.replace(f" {SECRET_MARK}", "")) == _plain(meta["meaning"]), f"README meaning of {name}"


def test_readme_deploy_section_says_where_each_secret_goes() -> None:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Deploy to Azure\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no '## Deploy to Azure' section"
    settings = _bicep_settings()
    for name in APP_SETTINGS:
        if SPECS[name]["secret"]:
            reference = KEY_VAULT_REFERENCE.match(settings[name])
            secret_name = reference.group(2) or reference.group(3)
            assert f"`{secret_name}`" in section.group(1), f"README deploy section: where does {name} go?"


def test_key_vault_references_point_at_this_deployments_vault() -> None:
    for name in APP_SETTINGS:
        if SPECS[name]["secret"]:
            value = _bicep_settings()[name]
            assert isinstance(value, Interpolated) and "${keyVault.outputs.uri}" in value, name


def test_platform_allow_list_is_not_used_by_the_app() -> None:
    """The allow-list must not hide one of the app's own settings."""
    assert not [name for name in APP_SETTINGS if _is_platform(name)]


def _environ_reads() -> list[tuple[str, str]]:
    """(module, name) of every environment variable the code under shared/ reads, found in its text.

    A read's name is a string literal, a module constant, or (settings.py only) a declared setting's name
    or a part of the storage setting; any other expression fails, as the variable it reads cannot be told.
    """
    reads = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for match in ENVIRON_READ.finditer(path.read_text()):
            expression = (match.group(1) or match.group(2)).strip()
            if re.fullmatch(r"\"[^\"]*\"|'[^']*'", expression):
                reads.append((module, expression[1:-1]))
            elif re.fullmatch(r"[A-Z][A-Z0-9_]*", expression):
                reads.append((module, getattr(importlib.import_module(module), expression)))
            elif module == "shared.settings" and expression in SETTINGS_READS:
                reads += [(module, n) for n in ([SETTINGS_READS[expression]] if SETTINGS_READS[expression] else SPECS)]
            elif module == "shared.settings" and expression.startswith('f"{prefix}__'):
                for kind in ("blob", "queue", "table"):
                    reads.append((module, expression[2:-1].replace("{prefix}", STORAGE).replace("{kind}", kind)))
            else:
                pytest.fail(f"{module} reads the environment variable {expression}: name it with a literal or constant")
    return reads


def test_the_code_reads_only_declared_settings_and_the_platform_settings_it_names() -> None:
    reads = _environ_reads()
    assert {name for _, name in reads} >= READ_PLATFORM_SETTINGS, "the search must find telemetry's reads"
    undeclared = sorted(
        f"{module}: {name}"
        for module, name in reads
        if name not in SPECS
        and name not in READ_PLATFORM_SETTINGS
        and not (module == "shared.settings" and name.startswith(f"{STORAGE}__"))
    )
    assert not undeclared, f"environment read but not declared in shared/settings.py: {undeclared}"


@pytest.mark.parametrize("name", sorted(READ_PLATFORM_SETTINGS))
def test_the_platform_settings_the_code_reads_are_set_by_the_bicep(name: str) -> None:
    assert name in _bicep_settings(), f"the code reads {name}: the Bicep must set it"
