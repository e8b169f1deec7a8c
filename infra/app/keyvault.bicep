// Key Vault in RBAC mode for the Zoom and Graph credentials. The deployment creates no secret: an
// administrator stores them (README, "Deploy to Azure"), and the app settings only reference them.

param name string
param location string
param tags object
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_109:Key Vault references are resolved from the app's public outbound addresses (no VNet integration), so the firewall cannot default to deny; access needs an Entra token and an RBAC role.
  //checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: public network access must stay on without VNet integration.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// Every read and change of a secret, kept in the Log Analytics workspace.
resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'audit'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
