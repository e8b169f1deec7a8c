// Log Analytics and a workspace-based Application Insights that accepts only Microsoft Entra
// authenticated telemetry (no instrumentation-key ingestion).

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
    RetentionInDays: retentionInDays
  }
}

output workspaceId string = workspace.id
output applicationInsightsId string = appInsights.id
output applicationInsightsName string = appInsights.name
output connectionString string = appInsights.properties.ConnectionString
