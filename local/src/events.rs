//! Outbound events on localhost, the way AWS runs them (DESIGN §9): DynamoDB Local's stream read
//! as Lambda's stream mapping reads the table's (batches to notify, a reported failure handed
//! again from that record), the delivery queue, its dead-letter queue and the event bus on moto's
//! server (created here with the template's redrive policy), and the queue polled as Lambda's SQS
//! mapping polls it (batches to deliver, successes deleted, failures left to their visibility
//! timeout). The same handler code as the Lambda binaries runs on each batch.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};
use shared::events::retry::RetrySchedule;
use shared::outbound::eventbridge::SOURCE;
use shared::wiring::events::{DeliverDeps, NotifyDeps};

use crate::moto::MotoServer;

/// A local key for the local stack's deliveries (never a deployment's).
pub const LOCAL_SIGNING_KEY: &str = "whsec_bG9jYWwtc3RhY2stc2lnbmluZy1rZXktbm90LWZvci1wcm9k";

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Moto(#[from] crate::moto::MotoError),
    #[error("{0}")]
    Aws(String),
}

fn aws<E: std::error::Error>(e: E) -> EventsError {
    EventsError::Aws(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
}

/// Where the stack's events go and how they are retried.
#[derive(Clone, Debug, Default)]
pub struct EventsOptions {
    /// Use this moto server instead of starting one.
    pub moto_endpoint: Option<String>,
    /// Deliver here instead of to the stack's sample receiver.
    pub webhook_url: Option<String>,
    /// The signing key(s), `whsec_…` (space-separated while rotating); a fixed local key when
    /// `None`.
    pub signing_keys: Option<String>,
    /// The retry schedule in seconds (`OUTBOUND_RETRY_SCHEDULE_SECONDS`); the default when `None`.
    pub retry_schedule: Option<String>,
}

/// The queues and the bus of one stack, on moto.
pub struct LocalEvents {
    _moto: Option<MotoServer>,
    pub moto_endpoint: String,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dead_letter_url: String,
    pub bus_name: String,
    /// A queue subscribed to the bus by a rule on `source: kyc.onboarding`, so what reached the
    /// bus can be read.
    pub bus_tap_url: String,
    pub queue_arn: String,
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, EventsError> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws)?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| EventsError::Aws("a queue without an ARN".into()))
}

impl LocalEvents {
    /// Queues named after `prefix` (one stack's own), the dead-letter queue after as many
    /// receives as `schedule` has attempts, and the bus with its tap.
    pub async fn create(
        options: &EventsOptions,
        prefix: &str,
        schedule: &RetrySchedule,
    ) -> Result<Self, EventsError> {
        let (moto, endpoint) = match &options.moto_endpoint {
            Some(e) => (None, e.clone()),
            None => {
                let m = tokio::task::spawn_blocking(MotoServer::start)
                    .await
                    .map_err(|e| EventsError::Aws(e.to_string()))??;
                let e = m.endpoint.clone();
                (Some(m), e)
            }
        };
        let sdk = crate::stack::local_sdk_config(&endpoint);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let create = |name: String, attributes: Vec<(QueueAttributeName, String)>| {
            let sqs = sqs.clone();
            async move {
                sqs.create_queue()
                    .queue_name(name)
                    .set_attributes(Some(attributes.into_iter().collect()))
                    .send()
                    .await
                    .map_err(aws)?
                    .queue_url
                    .ok_or_else(|| EventsError::Aws("a queue without a URL".into()))
            }
        };
        let dead_letter_url = create(format!("{prefix}-delivery-dlq"), vec![]).await?;
        let redrive = json!({
            "deadLetterTargetArn": queue_arn(&sqs, &dead_letter_url).await?,
            "maxReceiveCount": schedule.attempts(),
        });
        let queue_url = create(
            format!("{prefix}-delivery"),
            vec![
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
                (QueueAttributeName::VisibilityTimeout, "30".into()),
            ],
        )
        .await?;
        let bus_tap_url = create(format!("{prefix}-bus-tap"), vec![]).await?;
        let bus_name = format!("{prefix}-kyc-events");
        let eventbridge = aws_sdk_eventbridge::Client::new(&sdk);
        eventbridge
            .create_event_bus()
            .name(&bus_name)
            .send()
            .await
            .map_err(aws)?;
        eventbridge
            .put_rule()
            .name(format!("{prefix}-tap"))
            .event_bus_name(&bus_name)
            .event_pattern(json!({ "source": [SOURCE] }).to_string())
            .send()
            .await
            .map_err(aws)?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("tap")
            .arn(queue_arn(&sqs, &bus_tap_url).await?)
            .build()
            .map_err(aws)?;
        eventbridge
            .put_targets()
            .rule(format!("{prefix}-tap"))
            .event_bus_name(&bus_name)
            .targets(target)
            .send()
            .await
            .map_err(aws)?;
        Ok(Self {
            _moto: moto,
            moto_endpoint: endpoint,
            queue_arn: queue_arn(&sqs, &queue_url).await?,
            sqs,
            queue_url,
            dead_letter_url,
            bus_name,
            bus_tap_url,
        })
    }

    /// The functions' environment for this stack's events.
    pub fn function_env(
        &self,
        options: &EventsOptions,
        webhook_url: &str,
    ) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("DELIVERY_QUEUE_URL", self.queue_url.as_str()),
            ("EVENT_BUS_NAME", self.bus_name.as_str()),
            ("AWS_ENDPOINT_URL_SQS", self.moto_endpoint.as_str()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", self.moto_endpoint.as_str()),
            ("OUTBOUND_WEBHOOK_URL", webhook_url),
            (
                "OUTBOUND_WEBHOOK_SECRETS",
                options.signing_keys.as_deref().unwrap_or(LOCAL_SIGNING_KEY),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some(s) = &options.retry_schedule {
            env.insert("OUTBOUND_RETRY_SCHEDULE_SECONDS".into(), s.clone());
        }
        env
    }

    /// Every message body in a queue right now (received and left in place briefly).
    async fn drain(&self, url: &str) -> Result<Vec<(String, String)>, EventsError> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .send()
                .await
                .map_err(aws)?;
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(out);
            }
            out.extend(
                messages
                    .into_iter()
                    .filter_map(|m| Some((m.receipt_handle?, m.body?))),
            );
        }
    }

    /// The events that reached the bus so far (each entry's `detail`), removed from the tap.
    pub async fn bus_events(&self) -> Result<Vec<Value>, EventsError> {
        let mut events = Vec::new();
        for (receipt, body) in self.drain(&self.bus_tap_url).await? {
            let entry: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            events.push(entry["detail"].clone());
            self.delete(&self.bus_tap_url, &receipt).await?;
        }
        Ok(events)
    }

    async fn delete(&self, url: &str, receipt: &str) -> Result<(), EventsError> {
        self.sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }

    /// How many messages wait in the dead-letter queue.
    pub async fn dead_letter_count(&self) -> Result<usize, EventsError> {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.dead_letter_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(aws)?;
        Ok(attrs
            .attributes
            .and_then(|a| {
                a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0))
    }

    /// Move every dead-lettered event back to the delivery queue, as SQS's redrive
    /// (`StartMessageMoveTask`, which moto does not implement) does on AWS; how many moved.
    pub async fn redrive(&self) -> Result<usize, EventsError> {
        let messages = self.drain(&self.dead_letter_url).await?;
        for (receipt, body) in &messages {
            self.sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body)
                .send()
                .await
                .map_err(aws)?;
            self.delete(&self.dead_letter_url, receipt).await?;
        }
        Ok(messages.len())
    }
}

/// An attribute value as DynamoDB's JSON carries it, with DynamoDB Local's one flaw mended: it
/// writes an empty map as `{}` instead of `{"M": {}}` in stream records.
fn mend_value(v: &mut Value) {
    match v {
        Value::Object(o) if o.is_empty() => *v = json!({ "M": {} }),
        Value::Object(o) => {
            if let Some(Value::Object(m)) = o.get_mut("M") {
                m.values_mut().for_each(mend_value);
            }
            if let Some(Value::Array(l)) = o.get_mut("L") {
                l.iter_mut().for_each(mend_value);
            }
        }
        _ => {}
    }
}

/// A record of `GetRecords` as Lambda's DynamoDB event carries it: the same fields, plus the
/// stream's ARN.
fn lambda_record(mut record: Value, stream_arn: &str) -> Value {
    for image in ["Keys", "NewImage", "OldImage"] {
        if let Some(Value::Object(item)) = record["dynamodb"].get_mut(image) {
            item.values_mut().for_each(mend_value);
        }
    }
    record["eventSourceARN"] = Value::String(stream_arn.to_owned());
    record
}

/// `GetRecords` over plain HTTP (DynamoDB Local checks no signature): the SDK refuses DynamoDB
/// Local's empty maps, so the records are read as JSON and mended.
async fn get_records(
    http: &reqwest::Client,
    endpoint: &str,
    iterator: &str,
) -> Result<(Vec<Value>, Option<String>), String> {
    let response = http
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDBStreams_20120810.GetRecords")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
        )
        .body(json!({ "ShardIterator": iterator, "Limit": 100 }).to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", body["__type"]));
    }
    let records = body["Records"].as_array().cloned().unwrap_or_default();
    Ok((
        records,
        body["NextShardIterator"].as_str().map(str::to_owned),
    ))
}

/// Read the table's stream from its start and hand each shard's batches to notify, as Lambda's
/// stream mapping does: in order per shard; a batch that names a failed record is read again
/// from that record after a pause.
pub fn pump_stream(
    dynamodb: aws_sdk_dynamodb::Client,
    dynamodb_endpoint: &str,
    table: String,
    notify: Arc<NotifyDeps>,
) -> tokio::task::JoinHandle<()> {
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&crate::stack::local_sdk_config(dynamodb_endpoint));
    // Fails only on a build-time mismatch of TLS crates, never on input.
    let tls = shared::net::tls_config().expect("the TLS configuration builds");
    let reader = StreamReader {
        http: shared::net::provider_http_client(&tls, Duration::from_secs(10))
            .expect("the HTTP client builds"),
        endpoint: dynamodb_endpoint.to_owned(),
    };
    tokio::spawn(async move {
        let Some(arn) = stream_arn(&dynamodb, &table).await else {
            tracing::error!(%table, "the table has no stream: no outbound events");
            return;
        };
        let mut started: HashSet<String> = HashSet::new();
        let mut iterators: HashMap<String, String> = HashMap::new();
        loop {
            discover_shards(&streams, &arn, &mut started, &mut iterators).await;
            let mut idle = true;
            for shard in iterators.keys().cloned().collect::<Vec<_>>() {
                let Some(iterator) = iterators.remove(&shard) else {
                    continue;
                };
                if let Some(next) = poll_shard(
                    &streams, &reader, &arn, &shard, iterator, &notify, &mut idle,
                )
                .await
                {
                    iterators.insert(shard, next);
                }
            }
            if idle {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    })
}

/// Reads records over plain HTTP (see [`get_records`]).
struct StreamReader {
    http: reqwest::Client,
    endpoint: String,
}

async fn stream_arn(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Option<String> {
    let out = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .ok()?;
    out.table?.latest_stream_arn
}

async fn discover_shards(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    started: &mut HashSet<String>,
    iterators: &mut HashMap<String, String>,
) {
    let Ok(described) = streams.describe_stream().stream_arn(arn).send().await else {
        return;
    };
    let shards = described
        .stream_description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default();
    for shard in shards {
        let Some(id) = shard.shard_id else { continue };
        if !started.insert(id.clone()) {
            continue;
        }
        if let Some(it) =
            shard_iterator(streams, arn, &id, ShardIteratorType::TrimHorizon, None).await
        {
            iterators.insert(id, it);
        }
    }
}

async fn shard_iterator(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard: &str,
    kind: ShardIteratorType,
    sequence: Option<String>,
) -> Option<String> {
    streams
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(sequence)
        .send()
        .await
        .ok()?
        .shard_iterator
}

/// One read of a shard and its batch to notify; the iterator to read next (`None`: the shard is
/// closed and read to its end).
async fn poll_shard(
    streams: &aws_sdk_dynamodbstreams::Client,
    reader: &StreamReader,
    arn: &str,
    shard: &str,
    iterator: String,
    notify: &NotifyDeps,
    idle: &mut bool,
) -> Option<String> {
    let (records, next) = match get_records(&reader.http, &reader.endpoint, &iterator).await {
        Ok(out) => out,
        Err(e) => {
            tracing::warn!(error = %e, "stream read failed");
            return Some(iterator);
        }
    };
    if records.is_empty() {
        return next;
    }
    *idle = false;
    let records: Vec<Value> = records.into_iter().map(|r| lambda_record(r, arn)).collect();
    let event = json!({ "Records": records });
    let event: Event = match serde_json::from_value(event) {
        Ok(e) => e,
        Err(e) => {
            // As Lambda would: the batch is tried again, not skipped.
            tracing::error!(error = %e, "a stream batch does not parse as Lambda's DynamoDB event");
            tokio::time::sleep(Duration::from_millis(500)).await;
            return Some(iterator);
        }
    };
    let response = notify::handle(notify, event).await;
    match response
        .batch_item_failures
        .first()
        .and_then(|f| f.item_identifier.clone())
    {
        None => next,
        Some(sequence) => {
            // As Lambda does: the batch again, from the failed record, after a pause.
            tokio::time::sleep(Duration::from_millis(500)).await;
            shard_iterator(
                streams,
                arn,
                shard,
                ShardIteratorType::AtSequenceNumber,
                Some(sequence),
            )
            .await
            .or(Some(iterator))
        }
    }
}

/// Poll the delivery queue and hand batches to deliver, as Lambda's SQS mapping does: delivered
/// messages are deleted, failed ones stay hidden until the visibility timeout deliver set.
pub fn pump_queue(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    deliver: Arc<DeliverDeps>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await;
            let messages = match received {
                Ok(r) => r.messages.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "queue read failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    let attributes: HashMap<String, String> = m
                        .attributes()
                        .map(|a| {
                            a.iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    json!({
                        "messageId": m.message_id(),
                        "receiptHandle": m.receipt_handle(),
                        "body": m.body(),
                        "md5OfBody": m.md5_of_body(),
                        "attributes": attributes,
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                        "eventSourceARN": queue_arn,
                        "awsRegion": "us-east-1",
                    })
                })
                .collect();
            let Ok(event) = serde_json::from_value::<SqsEvent>(json!({ "Records": records }))
            else {
                tracing::error!("a queue batch does not parse as Lambda's SQS event");
                continue;
            };
            let response = deliver::handle(&deliver, event).await;
            let failed: HashSet<&str> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            for m in &messages {
                if failed.contains(m.message_id().unwrap_or_default()) {
                    continue;
                }
                if let Some(receipt) = m.receipt_handle() {
                    let _ = sqs
                        .delete_message()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await;
                }
            }
        }
    })
}
