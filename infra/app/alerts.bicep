// The three alerts of the archiver, as log search alert rules on Application Insights. They read the log
// records the app writes (custom dimension "event") and the host's own poison-queue warning. The README
// ("Alerts") describes them and points here for the KQL.

param location string
param tags object
param applicationInsightsId string

@description('Email address that receives the alerts; empty = alerts show in the Azure portal only.')
param alertEmail string

@description('More stage failures than this within an hour raise the failure alert.')
param failureThreshold int

@description('Hours without a completed archive run before the no-run alert fires.')
param noRunHours int

@description('The latency alert fires when the 95th percentile over an hour passes this many minutes.')
param latencyMinutes int

// Set on every deployment: the no-run alert stays quiet for noRunHours after it, so that a fresh install
// is not reported before its first scheduled run.
param deployedAt string = utcNow('o')

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-zoom-archiver'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'zoomarchive'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroups = empty(alertEmail) ? [] : [actionGroup.id]

// Anything moved to a poison queue. Storage queue metrics cannot show this: they are per account, not per
// queue, and hourly. Two signals instead: the app's final failure record, and the host's warning
// "Message has reached MaxDequeueCount of 5. Moving message to queue '<queue>-poison'." (also written for
// the blob trigger's queue, "webjobs-blobtrigger-poison").
var poisonQuery = '''
traces
| where (tostring(customDimensions.event) == "stage_failed" and tostring(customDimensions.final) =~ "true")
    or (message has "Moving message to queue" and message contains "-poison")
| project timestamp, message, stage = tostring(customDimensions.stage), code = tostring(customDimensions.code)
'''

var failureQuery = '''
traces
| where tostring(customDimensions.event) == "stage_failed"
| project timestamp, stage = tostring(customDimensions.stage), code = tostring(customDimensions.code), final = tostring(customDimensions.final)
'''

var noRunQuery = '''
traces
| where timestamp > ago({hours}h)
| where tostring(customDimensions.event) == "archive_run_completed"
| summarize runs = count()
| where runs == 0 and now() > datetime({deployedAt}) + {hours}h
'''

resource poisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-zoom-archiver-poison'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Zoom archiver: a message went to a poison queue'
    description: 'A meeting or a message failed every retry of the host and was moved to a poison queue (the sweep drives it again, with back-off), or the sweep gave up on it and someone must act (README, "Alerts").'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    // Each poisoned message notifies once; the alert stays open until an operator closes it.
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: poisonQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource failureAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-zoom-archiver-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Zoom archiver: stage failures above threshold'
    description: 'More than ${failureThreshold} stage failures (enumerate, capture or import, retries included) in the last hour.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: failureQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: failureThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource noRunAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-zoom-archiver-no-run'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Zoom archiver: no successful run'
    description: 'No archive run completed in the last ${noRunHours} hours.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    // The query looks back noRunHours itself; a log alert can read at most two days.
    overrideQueryTimeRange: 'P2D'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: replace(replace(noRunQuery, '{hours}', string(noRunHours)), '{deployedAt}', deployedAt)
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource latencyAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-zoom-archiver-latency'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Zoom archiver: meetings slow to reach their mailboxes'
    description: 'Over the last hour, the 95th percentile time from a recording being ready to its item in the last mailbox passed ${latencyMinutes} minutes (the workbook\'s latency tile shows the trend).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: replace(loadTextContent('../workbook/latency-alert.kql'), '{LatencyMinutes}', string(latencyMinutes))
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
}
