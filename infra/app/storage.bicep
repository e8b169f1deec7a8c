// The archiver's storage account: host storage, the queues, containers and tables of shared/storage.py,
// the Flex Consumption deployment container, and the Event Grid system topic that feeds the blob trigger.
// No account key is ever used: shared-key access is off and every client signs in with Microsoft Entra ID.

param name string
param location string
param tags object
param skuName string
param deploymentContainerName string
param systemTopicName string
param logAnalyticsWorkspaceId string

@description('Days each version in "messages", "recordings" and "reports" stays write-once (version-level WORM); 0 = off.')
param immutabilityDays int

@description('True once the policy has been locked by hand: a locked policy can no longer be written by a deployment.')
param immutabilityPolicyLocked bool

// The names in shared/storage.py (QUEUES, CONTAINERS, TABLES); tests/infra/test_bicep.py keeps them equal.
// The Functions host adds "meetings-poison", "imports-poison" and "webjobs-blobtrigger-poison" itself when it
// needs them.
var queueNames = [
  'meetings'
  'imports'
]
var archiveContainerNames = [
  'messages'
  'recordings'
  'reports'
]
var stagingContainerName = 'staging'
var tableNames = [
  'checkpoints'
  'meetings'
  'deliveries'
  'mailboxfolders'
  'webhookevents'
  'zoombudget'
]

var immutable = immutabilityDays > 0

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35:The app runs on Flex Consumption without VNet integration, so it has no fixed outbound address to allow; access is Entra-only (shared keys off) and limited by RBAC.
  //checkov:skip=CKV_AZURE_206:The replication is a parameter this check cannot resolve (main.bicep storageSku, default Standard_GRS; LRS and ZRS stay allowed for regions and budgets that need them).
  //checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: the public endpoint stays on, but it accepts only Entra tokens of principals holding a data role.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // Version-level immutability needs blob versioning on the account.
    isVersioningEnabled: immutable
    deleteRetentionPolicy: {
      enabled: true
      days: 14
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 14
    }
  }
}

// Flex Consumption reads the app package from here; the container must exist before the first deploy.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Version-level immutability can only be switched on when a container is created: choose it at the first
// deployment (or migrate the container by hand, see the README). The daily completeness reports in "reports"
// are kept the same way: rewriting a day's report adds a version, and every earlier version stays.
resource archiveContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in archiveContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
      immutableStorageWithVersioning: {
        enabled: immutable
      }
    }
  }
]

// Downloads on their way into a message or into "recordings". Never write-once: each capture deletes what it
// staged, and the rule below deletes what a capture that crashed left behind (and any versions of it).
resource stagingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stagingContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'staging-leftovers'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${stagingContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 1
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
      ]
    }
  }
}

// The container's default time-based retention policy, inherited by every blob version written to it.
// It is created unlocked; locking is a separate, human-approved step (README). Once locked it is left out
// of the deployment, because a locked policy rejects the write a redeployment would make.
resource archiveRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = [
  for (containerName, i) in archiveContainerNames: if (immutable && !immutabilityPolicyLocked) {
    parent: archiveContainers[i]
    name: 'default'
    properties: {
      immutabilityPeriodSinceCreationInDays: immutabilityDays
      allowProtectedAppendWrites: false
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// Who wrote or deleted what, kept in the Log Analytics workspace (reads are not logged: they are the bulk).
resource blobAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: blobService
  name: 'audit'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

// Blob-created events of this account; the subscription to the import_message function is added after the
// code is deployed (blob-events.bicep, run by scripts/postdeploy.sh).
resource blobEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = account.name
output systemTopicName string = blobEvents.name
