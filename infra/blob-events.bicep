// Second deployment, after the code: subscribes the import_message function (Event Grid blob trigger,
// function_app.py) to blob-created events of the "messages" container. It cannot be part of main.bicep:
// the webhook needs the host's blobs_extension system key, which exists only once the code with the blob
// trigger is running, and Event Grid validates the endpoint when the subscription is created.
// scripts/postdeploy.sh (azd postdeploy hook) runs it.

param functionAppName string
param systemTopicName string

// The trigger in function_app.py: function name and watched container (shared/storage.py).
var functionName = 'import_message'
var containerName = 'messages'

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource blobEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource importMessage 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: blobEvents
  name: 'import-message'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${site.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${listKeys('${site.id}/host/default', '2024-04-01').systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/'
    }
    eventDeliverySchema: 'EventGridSchema'
    // Event Grid retries for a day; the blob stays in "messages" either way (README, "Alerts").
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}
