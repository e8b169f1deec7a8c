#!/bin/sh
# azd postdeploy hook: restarts the app so that it resolves its Key Vault references, then subscribes the
# import_message function (the Event Grid blob trigger) to the blob-created events of the "messages"
# container, by deploying infra/blob-events.bicep.
#
# Why after the code: the subscription's webhook carries the host's blobs_extension system key, which
# exists only once the code with the blob trigger runs, and Event Grid calls the endpoint to validate it
# when the subscription is created. Safe to run again (`azd hooks run postdeploy`): the deployment is
# idempotent. Needs the Azure CLI, signed in to the same tenant as azd (`az login`).
set -eu

cd "$(dirname "$0")/.."

for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME EVENT_GRID_SYSTEM_TOPIC_NAME; do
  if [ -z "$(printenv "$name" || true)" ]; then
    echo "postdeploy: $name is not set; run this through azd (azd up, or azd hooks run postdeploy)." >&2
    exit 1
  fi
done
if ! command -v az >/dev/null 2>&1; then
  echo "postdeploy: the Azure CLI (az) is required; install it, run 'az login', then 'azd hooks run postdeploy'." >&2
  exit 1
fi

app="/subscriptions/$AZURE_SUBSCRIPTION_ID/resourceGroups/$AZURE_RESOURCE_GROUP/providers/Microsoft.Web/sites/$AZURE_FUNCTION_APP_NAME"

# The Key Vault references of the app settings whose status is not Resolved, one "SETTING status" a line.
unresolved_references() {
  az rest --method get --url "https://management.azure.com$app/config/configreferences/appsettings?api-version=2024-04-01" \
    --query "value[?properties.status != 'Resolved'].[name, properties.status]" --output tsv
}

# The app may have started before its secrets were in Key Vault (the first deployment stores them after
# azd provision): a restart makes it resolve its Key Vault references again now, not within a day.
echo "postdeploy: restarting $AZURE_FUNCTION_APP_NAME so that it reads its Key Vault references again"
az functionapp restart --subscription "$AZURE_SUBSCRIPTION_ID" \
  --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" --output none

# The host needs a moment after a deployment to load the functions; wait until import_message is listed.
echo "postdeploy: waiting for the function import_message on $AZURE_FUNCTION_APP_NAME"
attempt=1
until az functionapp function show --subscription "$AZURE_SUBSCRIPTION_ID" \
  --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
  --function-name import_message --query name --output tsv >/dev/null 2>&1; do
  if [ "$attempt" -ge 30 ]; then
    echo "postdeploy: import_message did not appear within 5 minutes." >&2
    unresolved=$(unresolved_references || true)
    if [ -n "$unresolved" ]; then
      echo "postdeploy: these Key Vault references are not resolved (store the secrets, README step 5):" >&2
      printf '%s\n' "$unresolved" >&2
    fi
    echo "postdeploy: check the app's logs, then run 'azd hooks run postdeploy'." >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 10
done

echo "postdeploy: subscribing import_message to blob-created events of the messages container"
az deployment group create --subscription "$AZURE_SUBSCRIPTION_ID" \
  --resource-group "$AZURE_RESOURCE_GROUP" --name blob-events \
  --template-file infra/blob-events.bicep \
  --parameters functionAppName="$AZURE_FUNCTION_APP_NAME" systemTopicName="$EVENT_GRID_SYSTEM_TOPIC_NAME" \
  --output none
echo "postdeploy: done"
