//! DynamoDB going away in the middle of a burst of webhooks: every delivery that could not be
//! made durable is answered 5xx and leaves nothing behind, and the providers' retries after the
//! store is back apply each event exactly once. The store goes away by cutting the cable between
//! the functions and the run's DynamoDB Local (connections dropped, port closed).

use std::time::Duration;

use integration_tests::cable::Cable;
use integration_tests::*;
use local_stack::StackOptions;
use serde_json::json;

#[tokio::test]
async fn a_store_outage_mid_burst_loses_nothing_and_applies_nothing_twice() {
    let endpoint = tokio::task::spawn_blocking(dynamodb_endpoint)
        .await
        .unwrap();
    let cable = Cable::connect(endpoint.trim_start_matches("http://"))
        .await
        .unwrap();
    let stack = stack_on(cable.endpoint(), StackOptions::default()).await;
    stack.emulator.set_auto_deliver(false);

    // Five Bond verifications under review, then six newer decisions each: 35 events.
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = post_json(
            &format!("{}/v1/verifications", stack.api_url),
            &json!({"customer_id": format!("cus_outage_{i}"), "provider": "bond", "applicant": bond_applicant("000-00-0000")}),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.raw);
        ids.push(a.body["id"].as_str().unwrap().to_owned());
        wait_for_deliveries(&stack, i + 1).await;
    }
    let bond_ids = delivered_resource_ids(&stack);
    for round in 0..6 {
        for b in &bond_ids {
            stack.emulator.decide(b, round % 2 == 1).await;
        }
    }
    let total = stack.emulator.deliveries().len();
    assert_eq!(total, 35);

    // The first half lands; then the store goes away and the rest of the burst hits it.
    for seq in 0..total / 2 {
        assert_eq!(stack.emulator.deliver(seq).await, Some(200));
    }
    cable.cut();
    let during =
        futures::future::join_all((total / 2..total).map(|seq| stack.emulator.deliver(seq))).await;
    for status in &during {
        let s = status.expect("an answer");
        assert!(
            s >= 500,
            "a delivery the store could not take must ask for a retry, got {s}"
        );
    }

    // The store comes back with its data; the providers retry everything (some twice).
    cable.reconnect().await.unwrap();
    for seq in (0..total).chain(total / 2..total) {
        let mut answer = None;
        for _ in 0..50 {
            answer = stack.emulator.deliver(seq).await;
            if answer == Some(200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(answer, Some(200), "delivery {seq} after the outage");
    }
    for id in &ids {
        let v = fetch(&stack, id).await;
        // The last decision of each was a pass.
        assert_eq!(v["status"], "approved", "{id}");
        let events: Vec<String> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| h.get("event_id"))
            .map(|e| e.to_string())
            .collect();
        let unique: std::collections::HashSet<_> = events.iter().collect();
        assert_eq!(unique.len(), events.len(), "{id}: an event applied twice");
        // Every event of this verification took effect, in order: under review, then six flips.
        assert_eq!(events.len(), 7, "{id}: {events:?}");
    }
}
