// The whole production install of the Zoom Meetings archiver, deployed by `azd up` (azure.yaml).
// Identity only: no storage key, connection string or secret value is set by this template.
// The Event Grid subscription of the blob trigger is a second deployment after the code
// (blob-events.bicep, run by scripts/postdeploy.sh): it needs a key that exists only then.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment: names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource; it must offer the Flex Consumption plan.')
param location string

@description('Object ID of the person or group who stores the secrets in Key Vault (azd passes the signed-in user); empty = none.')
param secretsAdministratorId string = ''

@description('Object ID of the person or group who runs the admin CLI against Azure: gets the storage data roles and reads the secrets; empty = none.')
param operatorPrincipalId string = ''

// Hosting and operations options (README, "Deploy to Azure").

@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Replication of the storage account, which holds the archived messages.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_GRS'

@description('Write-once retention in days of every blob version in "messages", "recordings" and "reports"; 0 = off. Choose it at the first deployment.')
@minValue(0)
@maxValue(146000)
param immutabilityDays int = 0

@description('Set to true after locking the retention policy by hand, so that later deployments leave it alone.')
param immutabilityPolicyLocked bool = false

@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Email address for the alerts; empty = alerts appear in the Azure portal only.')
param alertEmail string = ''

@minValue(0)
param failureAlertThreshold int = 10

@minValue(1)
@maxValue(47)
param noRunAlertHours int = 26

@description('Minutes from a recording being ready to its item in the last mailbox above which (95th percentile over an hour) the latency alert fires.')
@minValue(1)
param latencyAlertMinutes int = 30

// The app's settings (shared/settings.py, README "Settings"): one parameter each, with the app's default.
// Secrets are not parameters: they are Key Vault references, set in appSettings below.

@description('App setting ARCHIVE_SCHEDULE.')
param archiveSchedule string = '0 0 2 * * *'
@description('App setting ARCHIVE_BACKFILL_DAYS.')
param archiveBackfillDays string = '30'
@description('App setting ARCHIVE_OVERLAP_DAYS.')
param archiveOverlapDays string = '2'
@description('App setting ARCHIVE_MIN_DURATION_MINUTES.')
param archiveMinDurationMinutes string = '0'
@description('App setting ARCHIVE_FILE_TYPES: comma-separated Zoom file types to archive; empty archives all.')
param archiveFileTypes string = ''
@description('App setting ZOOM_INCLUDE_USERS: comma-separated emails or Zoom user IDs; empty archives every user.')
param zoomIncludeUsers string = ''
@description('App setting ZOOM_EXCLUDE_USERS: comma-separated emails or Zoom user IDs never archived.')
param zoomExcludeUsers string = ''
@description('App setting ZOOM_INCLUDE_GROUPS: comma-separated Zoom group IDs; empty archives every user.')
param zoomIncludeGroups string = ''
@description('App setting ZOOM_EXCLUDE_GROUPS: comma-separated Zoom group IDs never archived.')
param zoomExcludeGroups string = ''
@description('App setting ZOOM_AUTH: s2s (Server-to-Server OAuth) or jwt (legacy JWT app).')
param zoomAuth string = 's2s'
@description('App setting ZOOM_ACCOUNT_ID: Account ID of the Zoom Server-to-Server OAuth app.')
param zoomAccountId string
@description('App setting ZOOM_CLIENT_ID: Client ID of the Zoom Server-to-Server OAuth app (API key of a JWT app).')
param zoomClientId string
@description('App setting ZOOM_PLAN: pro, business or enterprise (the rate limits the archiver keeps within).')
param zoomPlan string = 'pro'
@description('App setting ZOOM_RATE_SHARE: percent of the Zoom account\'s API rate limits the archiver uses, all instances together.')
param zoomRateShare string = '80'
@description('App setting ZOOM_API_URL.')
param zoomApiUrl string = 'https://api.zoom.us/v2'
@description('App setting ZOOM_OAUTH_URL.')
param zoomOauthUrl string = 'https://zoom.us/oauth/token'
@description('App setting ZOOM_DOWNLOAD_HOSTS.')
param zoomDownloadHosts string = 'zoom.us,zoomgov.com'
@description('App setting ZOOM_SOURCES: recordings, archiving and/or meetings (README "Sources").')
param zoomSources string = 'recordings'
@description('App setting ZOOM_MEETINGS_HEAVY_PERCENT: share of the daily Heavy quota the past-meetings listing may use.')
param zoomMeetingsHeavyPercent string = '50'
@description('App setting GRAPH_TENANT_ID: Microsoft Entra tenant ID of the Microsoft 365 organisation.')
param graphTenantId string
@description('App setting GRAPH_CLIENT_ID: Application (client) ID of the Entra app registration for Graph.')
param graphClientId string
@description('App setting GRAPH_AUTHORITY_URL.')
param graphAuthorityUrl string = 'https://login.microsoftonline.com'
@description('App setting GRAPH_API_URL.')
param graphApiUrl string = 'https://graph.microsoft.com/v1.0'
@description('App setting ORGANIZATION_DOMAINS: comma-separated email domains of the organisation.')
param organizationDomains string
@description('App setting MAILBOX_FOLDER.')
param mailboxFolder string = 'Zoom Meetings'
@description('App setting MAILBOX_RECIPIENTS: participants (host and internal participants) or host.')
param mailboxRecipients string = 'participants'
@description('App setting DEFAULT_MAILBOX: receives the items of internal participants without a mailbox.')
param defaultMailbox string = ''
@description('App setting USER_MAPPING_FILE: CSV deployed with the app, relative to its folder.')
param userMappingFile string = ''
@description('App setting MAX_MESSAGE_SIZE_MB.')
param maxMessageSizeMb string = '35'
@description('App setting RECONCILE_SCHEDULE: when the daily completeness report runs.')
param reconcileSchedule string = '0 0 6 * * *'
@description('App setting RECONCILE_DAYS: past days each completeness report compares again with Zoom.')
param reconcileDays string = '7'
@description('App setting SWEEP_SCHEDULE: when the sweep drives stopped work again.')
param sweepSchedule string = '0 */5 * * * *'
@description('App setting TLS_CA_FILE (for the local emulators; leave empty in Azure).')
param tlsCaFile string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The service name in azure.yaml.
var serviceName = 'archiver'
// The operators' workbook: named here so that the app's status page can link to it before it exists.
var workbookName = guid(subscription().id, rg.name, 'zoom-archiver-workbook')
var workbookUrl = 'https://portal.azure.com/#@${tenant().tenantId}/resource${rg.id}/providers/Microsoft.Insights/workbooks/${workbookName}/workbook'
// The daily quota Zoom's Heavy and Resource-intensive APIs share, per plan (shared/zoom/ratelimit.py PLANS).
var zoomDailyLimit = zoomPlan == 'pro' ? 30000 : 60000

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: 'app-package-${resourceToken}'
    systemTopicName: 'evgt-${resourceToken}'
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    immutabilityDays: immutabilityDays
    immutabilityPolicyLocked: immutabilityPolicyLocked
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    secretsAdministratorId: secretsAdministratorId
    operatorPrincipalId: operatorPrincipalId
  }
}

// Every app setting the app reads (shared/settings.py). tests/infra/test_settings_consistency.py checks
// this object against the app, local.settings.sample.json and the README. Secrets are versionless Key
// Vault references (the trailing slash matters), so a rotated secret is picked up without a deployment.
var appSettings = {
  ARCHIVE_SCHEDULE: archiveSchedule
  ARCHIVE_BACKFILL_DAYS: archiveBackfillDays
  ARCHIVE_OVERLAP_DAYS: archiveOverlapDays
  ARCHIVE_MIN_DURATION_MINUTES: archiveMinDurationMinutes
  ARCHIVE_FILE_TYPES: archiveFileTypes
  ZOOM_INCLUDE_USERS: zoomIncludeUsers
  ZOOM_EXCLUDE_USERS: zoomExcludeUsers
  ZOOM_INCLUDE_GROUPS: zoomIncludeGroups
  ZOOM_EXCLUDE_GROUPS: zoomExcludeGroups
  ZOOM_AUTH: zoomAuth
  ZOOM_ACCOUNT_ID: zoomAccountId
  ZOOM_CLIENT_ID: zoomClientId
  ZOOM_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/zoom-client-secret/)'
  ZOOM_PLAN: zoomPlan
  ZOOM_RATE_SHARE: zoomRateShare
  ZOOM_API_URL: zoomApiUrl
  ZOOM_OAUTH_URL: zoomOauthUrl
  ZOOM_DOWNLOAD_HOSTS: zoomDownloadHosts
  ZOOM_SOURCES: zoomSources
  ZOOM_MEETINGS_HEAVY_PERCENT: zoomMeetingsHeavyPercent
  GRAPH_TENANT_ID: graphTenantId
  GRAPH_CLIENT_ID: graphClientId
  GRAPH_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/graph-client-secret/)'
  GRAPH_AUTHORITY_URL: graphAuthorityUrl
  GRAPH_API_URL: graphApiUrl
  ORGANIZATION_DOMAINS: organizationDomains
  MAILBOX_FOLDER: mailboxFolder
  MAILBOX_RECIPIENTS: mailboxRecipients
  DEFAULT_MAILBOX: defaultMailbox
  USER_MAPPING_FILE: userMappingFile
  MAX_MESSAGE_SIZE_MB: maxMessageSizeMb
  ZOOM_WEBHOOK_SECRET_TOKEN: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/zoom-webhook-secret-token/)'
  RECONCILE_SCHEDULE: reconcileSchedule
  RECONCILE_DAYS: reconcileDays
  SWEEP_SCHEDULE: sweepSchedule
  TLS_CA_FILE: tlsCaFile
  WORKBOOK_URL: workbookUrl
}

module function 'app/function.bicep' = {
  name: 'function'
  scope: rg
  // The roles are in place before the host first starts.
  dependsOn: [
    rbac
  ]
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: 'app-package-${resourceToken}'
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
    failureThreshold: failureAlertThreshold
    noRunHours: noRunAlertHours
    latencyMinutes: latencyAlertMinutes
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    name: workbookName
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    zoomDailyLimit: zoomDailyLimit
    statusUrl: 'https://${function.outputs.host}/api/status'
  }
}

// azd stores these in the environment; scripts/postdeploy.sh and the README commands use them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = function.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output EVENT_GRID_SYSTEM_TOPIC_NAME string = storage.outputs.systemTopicName
