//! Outbound events end to end: provider webhooks through the emulator → the table → its stream →
//! notify → the delivery queue and the bus (moto) → deliver → a business's receiver verifying with
//! the official `standardwebhooks` npm package; and the catch-up feed, `GET /v1/events`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use emulator::Outcome;
use futures::StreamExt;
use integration_tests::outbound::{accepted_by_verification, key, stack_with_events, NodeReceiver};
use integration_tests::*;
use local_stack::{EventsOptions, LocalStack};
use serde_json::Value;

use crate::conformance::ondato::Ondato;
use crate::conformance::{decided, id_of};

/// `n` Ondato verifications driven to a decision (every other one rejected) with their webhooks
/// held back, then every webhook delivered twice, shuffled, eight at a time. Their ids.
async fn shuffled_flows(stack: &LocalStack, n: usize, tag: &str) -> Vec<String> {
    stack.emulator.set_auto_deliver(false);
    let mut ids = Vec::new();
    let mut plan = Vec::new();
    for i in 0..n {
        let outcome = if i % 2 == 0 {
            Outcome::Approve
        } else {
            Outcome::Reject
        };
        let (v, deliveries) = decided(&Ondato, stack, &format!("cus_out_{tag}_{i}"), outcome).await;
        ids.push(id_of(&v).to_owned());
        plan.extend(deliveries.flat_map(|seq| [seq, seq]));
    }
    let mut rng = XorShift(0x0e7e_47a1_2026_1130);
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i + 1));
    }
    futures::stream::iter(plan)
        .for_each_concurrent(8, |seq| deliver_until_acked(stack, seq))
        .await;
    ids
}

/// Per verification: the accepted events after dedupe on `webhook-id` have sequences 1..n with
/// no gap, and the last one shows the status and decision `GET` shows.
async fn assert_complete_and_final(stack: &LocalStack, ids: &[String], received: &[Value]) {
    let by = accepted_by_verification(received);
    for id in ids {
        let events = by.get(id).unwrap_or_else(|| panic!("no event for {id}"));
        let sequences: Vec<u64> = events
            .iter()
            .filter_map(|e| e["data"]["sequence"].as_u64())
            .collect();
        let expected: Vec<u64> = (1..=sequences.len() as u64).collect();
        assert_eq!(
            sequences, expected,
            "{id}: every status change once, no gap"
        );
        let last = events.last().expect("events");
        let view = fetch(stack, id).await;
        assert_eq!(last["data"]["status"], view["status"], "{id}");
        assert_eq!(
            last["type"],
            format!("verification.{}", view["status"].as_str().unwrap())
        );
        assert_eq!(last["data"]["decision"], view["decision"], "{id}");
        let statuses: Vec<&Value> = events.iter().map(|e| &e["data"]["status"]).collect();
        let history: Vec<&Value> = view["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| &h["status"])
            .collect();
        assert_eq!(
            statuses, history,
            "{id}: the events are the history's status changes"
        );
    }
}

/// From the status change being recorded to its first delivery, over the local stack (stream
/// polled every 100 ms, queue likewise): printed for the README's figures.
fn print_latency(received: &[Value]) {
    let mut ms: Vec<i64> = received
        .iter()
        .filter_map(|r| {
            let created =
                chrono::DateTime::parse_from_rfc3339(r["event"]["created_at"].as_str()?).ok()?;
            Some(r["received_at_ms"].as_i64()? - created.timestamp_millis())
        })
        .collect();
    ms.sort_unstable();
    if let (Some(p50), Some(p95), Some(max)) =
        (ms.get(ms.len() / 2), ms.get(ms.len() * 95 / 100), ms.last())
    {
        eprintln!(
            "change recorded → delivered: {} deliveries, p50 {p50} ms, p95 {p95} ms, max {max} ms",
            ms.len()
        );
    }
}

/// Whether every verification's status changes were all accepted, the last being its final status.
fn all_final<'a>(
    ids: &'a [String],
    finals: &'a HashMap<String, (Value, u64)>,
) -> impl Fn(&[Value]) -> bool + 'a {
    move |received| {
        let by = accepted_by_verification(received);
        ids.iter().all(|id| {
            let Some((status, changes)) = finals.get(id) else {
                return false;
            };
            by.get(id).is_some_and(|events| {
                events.len() as u64 == *changes
                    && events
                        .last()
                        .is_some_and(|last| &last["data"]["status"] == status)
            })
        })
    }
}

/// Per verification, its final status and how many status changes it had, as `GET` shows.
async fn finals(stack: &LocalStack, ids: &[String]) -> HashMap<String, (Value, u64)> {
    let mut out = HashMap::new();
    for id in ids {
        let view = fetch(stack, id).await;
        let changes = view["history"].as_array().map_or(0, Vec::len) as u64
            + view["history_dropped"].as_u64().unwrap_or(0);
        out.insert(id.clone(), (view["status"].clone(), changes));
    }
    out
}

#[tokio::test]
async fn shuffled_duplicated_webhooks_of_twenty_verifications_reach_the_business_once_each_in_sequence(
) {
    let current = key(1);
    let receiver =
        NodeReceiver::start(&[("current", &current), ("wrong", &key(9))], "current").await;
    let stack = stack_with_events(EventsOptions {
        webhook_url: Some(receiver.webhook_url()),
        signing_keys: Some(current.clone()),
        ..EventsOptions::default()
    })
    .await;
    let ids = shuffled_flows(&stack, 20, "twenty").await;
    let finals = finals(&stack, &ids).await;
    let received = receiver
        .wait_until(Duration::from_secs(60), all_final(&ids, &finals))
        .await;
    assert_complete_and_final(&stack, &ids, &received).await;
    assert!(
        received.iter().all(|r| r["verified"]["current"] == true),
        "the official verifier verifies every delivery"
    );
    assert!(
        received.iter().all(|r| r["verified"]["wrong"] == false),
        "a wrong key verifies none"
    );
    print_latency(&received);

    // The same events reached the bus, under the same ids.
    let events = stack.events.as_ref().expect("events run");
    let delivered: HashSet<String> = received
        .iter()
        .filter_map(|r| r["webhook_id"].as_str().map(str::to_owned))
        .collect();
    let mut on_bus = HashSet::new();
    for _ in 0..50 {
        on_bus.extend(
            events
                .bus_events()
                .await
                .expect("the bus tap")
                .iter()
                .filter_map(|d| d["id"].as_str().map(str::to_owned)),
        );
        if on_bus.is_superset(&delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        on_bus.is_superset(&delivered),
        "{} of {} events on the bus",
        on_bus.len(),
        delivered.len()
    );
}

#[tokio::test]
async fn while_keys_rotate_each_delivery_verifies_with_the_old_and_the_new_key() {
    let (new, old) = (key(2), key(1));
    let receiver =
        NodeReceiver::start(&[("new", &new), ("old", &old), ("wrong", &key(9))], "old").await;
    let stack = stack_with_events(EventsOptions {
        webhook_url: Some(receiver.webhook_url()),
        signing_keys: Some(format!("{new} {old}")),
        ..EventsOptions::default()
    })
    .await;
    let (v, _) = decided(&Ondato, &stack, "cus_out_rotate", Outcome::Approve).await;
    let ids = vec![id_of(&v).to_owned()];
    let finals = finals(&stack, &ids).await;
    let received = receiver
        .wait_until(Duration::from_secs(30), all_final(&ids, &finals))
        .await;
    for r in &received {
        assert_eq!(r["verified"]["new"], true, "{r}");
        assert_eq!(r["verified"]["old"], true, "{r}");
        assert_eq!(r["verified"]["wrong"], false, "{r}");
        let signatures = r["event"].clone();
        assert!(signatures.is_object());
    }
}

/// The retry schedule compressed to seconds stands for the real one (whose 10-minute outage is
/// checked in simulated time by `events::retry`'s unit tests): the endpoint answers 500 for a
/// while, every event still arrives, and each attempt carries its own timestamp.
#[tokio::test]
async fn an_endpoint_answering_500_for_a_while_loses_no_event_and_each_attempt_is_signed_anew() {
    let k = key(3);
    let receiver = NodeReceiver::start(&[("k", &k)], "k").await;
    let stack = stack_with_events(EventsOptions {
        webhook_url: Some(receiver.webhook_url()),
        signing_keys: Some(k.clone()),
        retry_schedule: Some("1,2,2,3,3,3".into()),
        ..EventsOptions::default()
    })
    .await;
    receiver.fail_for(Duration::from_secs(4), 500).await;
    let ids = shuffled_flows(&stack, 4, "outage").await;
    let finals = finals(&stack, &ids).await;
    let received = receiver
        .wait_until(Duration::from_secs(60), all_final(&ids, &finals))
        .await;
    assert_complete_and_final(&stack, &ids, &received).await;
    let failed: Vec<&Value> = received.iter().filter(|r| r["answered"] == 500).collect();
    assert!(!failed.is_empty(), "the outage was seen");
    for f in failed {
        let later = received
            .iter()
            .find(|r| r["webhook_id"] == f["webhook_id"] && r["answered"] == 204)
            .unwrap_or_else(|| panic!("{} was never delivered", f["webhook_id"]));
        assert_ne!(
            later["webhook_timestamp"], f["webhook_timestamp"],
            "a retry is signed with its own time"
        );
    }
    assert_eq!(
        stack
            .events
            .as_ref()
            .unwrap()
            .dead_letter_count()
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn events_whose_attempts_run_out_wait_in_the_dead_letter_queue_and_a_redrive_delivers_them() {
    let k = key(4);
    let receiver = NodeReceiver::start(&[("k", &k)], "k").await;
    let stack = stack_with_events(EventsOptions {
        webhook_url: Some(receiver.webhook_url()),
        signing_keys: Some(k.clone()),
        retry_schedule: Some("1,1".into()),
        ..EventsOptions::default()
    })
    .await;
    receiver.fail_for(Duration::from_secs(3600), 503).await;
    let (v, _) = decided(&Ondato, &stack, "cus_out_dlq", Outcome::Approve).await;
    let id = id_of(&v).to_owned();
    let changes = fetch(&stack, &id).await["history"]
        .as_array()
        .unwrap()
        .len();
    let events = stack.events.as_ref().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while events.dead_letter_count().await.unwrap() < changes {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the events never reached the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let attempts = receiver.received().await;
    let per_event = attempts
        .iter()
        .filter(|r| r["event"]["data"]["sequence"] == 1)
        .count();
    assert_eq!(per_event, 3, "three attempts, then the dead-letter queue");

    receiver.fail_for(Duration::ZERO, 500).await;
    assert_eq!(events.redrive().await.unwrap(), changes);
    let ids = vec![id.clone()];
    let finals = finals(&stack, &ids).await;
    let received = receiver
        .wait_until(Duration::from_secs(30), all_final(&ids, &finals))
        .await;
    assert_complete_and_final(&stack, &ids, &received).await;
    assert_eq!(events.dead_letter_count().await.unwrap(), 0);
}

/// Every event of the feed, page by page from the start, `limit` at a time.
async fn read_feed(stack: &LocalStack, limit: usize) -> (Vec<Value>, Option<String>) {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{}/v1/events?limit={limit}&after={c}", stack.api_url),
            None => format!("{}/v1/events?limit={limit}", stack.api_url),
        };
        let page = get(&url).await;
        assert_eq!(page.status, 200, "{}", page.raw);
        let data = page.body["data"].as_array().unwrap().clone();
        assert!(data.len() <= limit);
        events.extend(data);
        cursor = page.body["next_cursor"]
            .as_str()
            .map(str::to_owned)
            .or(cursor);
        if page.body["has_more"] != true {
            return (events, cursor);
        }
    }
}

#[tokio::test]
async fn the_feed_pages_through_every_event_in_order_and_its_cursor_is_stable() {
    let receiver = NodeReceiver::start(&[("k", &key(5))], "k").await;
    let stack = stack_with_events(EventsOptions {
        webhook_url: Some(receiver.webhook_url()),
        signing_keys: Some(key(5)),
        ..EventsOptions::default()
    })
    .await;
    let ids = shuffled_flows(&stack, 5, "feed").await;
    let finals = finals(&stack, &ids).await;
    let received = receiver
        .wait_until(Duration::from_secs(60), all_final(&ids, &finals))
        .await;
    let delivered: HashSet<String> = received
        .iter()
        .filter_map(|r| r["webhook_id"].as_str().map(str::to_owned))
        .collect();
    // The feed lists an event once it is a few seconds old (SETTLE).
    tokio::time::sleep(shared::events::feed::SETTLE + Duration::from_secs(1)).await;

    let (events, end) = read_feed(&stack, 7).await;
    let listed: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed.iter().collect::<HashSet<_>>().len(),
        listed.len(),
        "each event once"
    );
    assert_eq!(
        listed.iter().cloned().collect::<HashSet<_>>(),
        delivered,
        "the feed has every delivered event"
    );
    let mut last_sequence: HashMap<String, u64> = HashMap::new();
    for e in &events {
        let id = e["data"]["verification_id"].as_str().unwrap().to_owned();
        let seq = e["data"]["sequence"].as_u64().unwrap();
        assert_eq!(
            last_sequence.insert(id, seq).unwrap_or(0) + 1,
            seq,
            "in order per verification"
        );
    }
    // Read again from the first page's cursor: the same events after it, nothing new.
    let first = get(&format!("{}/v1/events?limit=7", stack.api_url)).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let again = get(&format!(
        "{}/v1/events?limit=100&after={cursor}",
        stack.api_url
    ))
    .await;
    let rest: Vec<&str> = again.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        listed[7..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    // At the end, the cursor stays put until something new happens.
    let tail = get(&format!(
        "{}/v1/events?after={}",
        stack.api_url,
        end.clone().unwrap()
    ))
    .await;
    assert_eq!(tail.body["data"].as_array().unwrap().len(), 0);
    assert_eq!(tail.body["next_cursor"].as_str(), end.as_deref());
}

#[tokio::test]
async fn a_malformed_cursor_or_limit_is_a_validation_error() {
    let stack = stack().await;
    for query in ["after=not-a-cursor", "limit=0", "limit=101", "limit=x"] {
        let a = get(&format!("{}/v1/events?{query}", stack.api_url)).await;
        assert_eq!(
            a.refusal(),
            (400, "validation_failed"),
            "{query}: {}",
            a.raw
        );
    }
    let empty = get(&format!("{}/v1/events", stack.api_url)).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_local_stacks_sample_receiver_verifies_with_the_reference_library() {
    let stack = stack_with_events(EventsOptions::default()).await;
    let (v, _) = decided(&Ondato, &stack, "cus_out_sample", Outcome::Approve).await;
    let changes = fetch(&stack, id_of(&v)).await["history"]
        .as_array()
        .unwrap()
        .len();
    let receiver = stack.receiver.as_ref().expect("the sample receiver runs");
    for _ in 0..150 {
        if receiver.received().len() >= changes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = receiver.received();
    assert_eq!(received.len(), changes);
    assert!(received.iter().all(|r| r.verified && r.answered == 204));
    let page = client()
        .get(&receiver.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("verification.approved") && page.contains("verified"));
}
