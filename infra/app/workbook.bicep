// The operators' workbook: one page in the Azure portal that answers "is everything archived, and if not,
// what do I do". Every tile's query is a file of infra/workbook/, read at build time (loadTextContent), so the
// queries the tests run against sample telemetry (tests/infra/test_workbook.py) are the ones deployed.

@description('The workbook\'s name: a GUID, chosen by main.bicep, which also links the status page to it.')
param name string
param location string
param tags object
param applicationInsightsId string

@description('Requests a day that Heavy and Resource-intensive Zoom APIs share on the account\'s plan.')
param zoomDailyLimit int

@description('The status log\'s URL, without its key, linked from the workbook\'s header.')
param statusUrl string

// Each tile: its query file, how it is drawn, and its width in percent of the page.
var tiles = [
  {
    name: 'status-by-meeting-day'
    title: 'Status log per day of meeting (as GET /api/status counts it)'
    query: loadTextContent('../workbook/status-by-meeting-day.kql')
    visualization: 'table'
    width: '100'
  }
  {
    name: 'meetings'
    title: 'Meetings listed and captured, by outcome'
    query: loadTextContent('../workbook/meetings.kql')
    visualization: 'barchart'
    width: '50'
  }
  {
    name: 'deliveries'
    title: 'Mailbox items: imported, duplicates avoided, failed, unmapped by reason'
    query: loadTextContent('../workbook/deliveries.kql')
    visualization: 'barchart'
    width: '50'
  }
  {
    name: 'failures'
    title: 'Failures by stage and code, with the top reason'
    query: loadTextContent('../workbook/failures.kql')
    visualization: 'table'
    width: '100'
  }
  {
    name: 'completeness'
    title: 'Completeness reports: gaps and urgent gaps (Zoom may delete within 7 days)'
    query: loadTextContent('../workbook/completeness.kql')
    visualization: 'table'
    width: '50'
  }
  {
    name: 'oldest-due'
    title: 'Work due, and the age of its oldest unit (hours)'
    query: loadTextContent('../workbook/oldest-due.kql')
    visualization: 'linechart'
    width: '50'
  }
  {
    name: 'latency'
    title: 'Latency from recording ready (webhook or listing) to the last mailbox, minutes: p50 and p95'
    query: loadTextContent('../workbook/latency.kql')
    visualization: 'linechart'
    width: '50'
  }
  {
    name: 'zoom-budget'
    title: 'Zoom API requests per minute, by rate-limit category (429s apart)'
    query: loadTextContent('../workbook/zoom-budget.kql')
    visualization: 'timechart'
    width: '50'
  }
  {
    name: 'zoom-daily-budget'
    title: 'Zoom\'s daily Heavy quota: used per UTC day'
    query: replace(loadTextContent('../workbook/zoom-daily-budget.kql'), '{DailyLimit}', string(zoomDailyLimit))
    visualization: 'table'
    width: '50'
  }
  {
    name: 'graph-throttling'
    title: 'Microsoft Graph throttling (429) per mailbox'
    query: loadTextContent('../workbook/graph-throttling.kql')
    visualization: 'table'
    width: '50'
  }
]

var header = {
  type: 1
  name: 'header'
  content: {
    json: '## Zoom archive\nEvery meeting Zoom lists should be in every expected mailbox. The first table counts, per day of meeting, what the [status log](${statusUrl}) counts (open it with the function key for the failure list and each gap). A failure with no automatic retry left, a gap in a completeness report, or work due for hours needs an operator: the README\'s "Operations" section says what each means and what to do (most often: fix the cause, then `python -m shared.cli replay <meeting UUID>`).'
  }
}

var parameters = {
  type: 9
  name: 'parameters'
  content: {
    version: 'KqlParameterItem/1.0'
    parameters: [
      {
        id: 'a3f1c2d4-6b7e-4f80-9a1b-2c3d4e5f6071'
        version: 'KqlParameterItem/1.0'
        name: 'TimeRange'
        label: 'Time range'
        type: 4
        isRequired: true
        value: {
          durationMs: 604800000
        }
        typeSettings: {
          selectableValues: [
            { durationMs: 3600000 }
            { durationMs: 86400000 }
            { durationMs: 604800000 }
            { durationMs: 2592000000 }
          ]
        }
      }
      {
        id: 'b4e2d3c5-7c8f-4091-8b2c-3d4e5f607182'
        version: 'KqlParameterItem/1.0'
        name: 'Grain'
        label: 'Per'
        type: 2
        isRequired: true
        value: '1d'
        jsonData: '[{"value": "1h", "label": "hour"}, {"value": "1d", "label": "day"}]'
      }
    ]
  }
}

var tileItems = [
  for tile in tiles: {
    type: 3
    name: tile.name
    customWidth: tile.width
    content: {
      version: 'KqlItem/1.0'
      title: tile.title
      query: tile.query
      size: 0
      queryType: 0
      resourceType: 'microsoft.insights/components'
      timeContextFromParameter: 'TimeRange'
      visualization: tile.visualization
    }
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Zoom archive'
    category: 'workbook'
    sourceId: applicationInsightsId
    version: 'Notebook/1.0'
    serializedData: string({
      version: 'Notebook/1.0'
      items: concat([header, parameters], tileItems)
      fallbackResourceIds: [
        applicationInsightsId
      ]
      '$schema': 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json'
    })
  }
}

