// The function app on a Flex Consumption plan, running as the user-assigned identity.
// Flex Consumption takes its runtime from functionAppConfig.runtime: FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE must not be app settings here.

param name string
param planName string
param location string
param tags object
@description('The azd service this app hosts (azure.yaml); azd finds the app by this tag.')
param serviceName string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsConnectionString string
param pythonVersion string
param instanceMemoryMB int
param maximumInstanceCount int

@description('The app\'s own settings (shared/settings.py), built in main.bicep; the host settings are added here.')
param appSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// Settings of the host and the platform, not of the app (tests/infra/test_settings_consistency.py lists
// them as allowed). ARM replaces the whole collection, so every setting comes from this deployment.
var hostSettings = {
  // Host storage through the identity: no connection string and no key anywhere.
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Telemetry through OpenTelemetry, authenticated with Entra ID as the identity.
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
  // The Python worker runs the (synchronous) functions on a pool of min(32, vCPUs + 4) threads unless told
  // otherwise: 5 or 6 on a Flex instance, while host.json hands it 16 + 8 captures and 4 imports at once (and
  // the timers and the webhook). Its largest pool lets them all run; a capture waiting for the Zoom budget then
  // holds a thread, not another capture's turn.
  PYTHON_THREADPOOL_THREAD_COUNT: '32'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225:Zone redundancy on Flex Consumption needs a region that offers it and zone-redundant storage; not every Flex region does, so it is not on by default.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_212:Flex Consumption scales each function out from zero on demand; there is no always-ready instance count to raise for failover.
  //checkov:skip=CKV_AZURE_213:An app that scales to zero has no instance to probe; its health is watched by the alerts (alerts.bicep) instead.
  //checkov:skip=CKV_AZURE_17:Client certificates cannot be presented by Zoom webhooks or Event Grid, the app's callers.
  //checkov:skip=CKV_AZURE_78:ftpsState is not set: Flex Consumption deploys only from its blob deployment container (functionAppConfig.deployment), and FTP, which signs in only with a publishing user name and password, is refused by the ftp publishing credentials policy (ftpCredentials below).
  //checkov:skip=CKV_AZURE_222:Zoom webhooks and Event Grid deliveries reach the app over its public endpoint.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    // Key Vault references are resolved as the user-assigned identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        for setting in items(union(hostSettings, appSettings)): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Deployments sign in with Microsoft Entra ID (azd does): publishing user names and passwords are off,
// for the deployment endpoint (scm) and for FTP.
resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

output name string = site.name
output host string = site.properties.defaultHostName
