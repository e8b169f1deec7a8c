// The one identity the function app uses for everything: host storage, the deployment package,
// Key Vault references and Application Insights. Its roles are granted in rbac.bicep.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
