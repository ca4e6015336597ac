//! Webhook delivery as providers really do it: at least once, in any order, sometimes failing,
//! sometimes not at all; and the reconciliation that repairs what never arrives.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use integration_tests::*;
use local_stack::StackOptions;
use serde_json::json;

#[tokio::test]
async fn a_thousand_shuffled_duplicated_concurrent_deliveries_end_where_in_order_delivery_ends() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let url = format!("{}/v1/verifications", stack.api_url);
    let mut rng = XorShift(0x5eed_1234_abcd_9876);
    // 20 Bond verifications: under review, then 39 newer decisions each (an operator flipping
    // the verdict), so every verification has 40 events whose order matters.
    let mut ids = Vec::new();
    for i in 0..20 {
        let a = post_json(&url, &json!({"customer_id": format!("cus_shuffle_{i}"), "provider": "bond", "applicant": bond_applicant("000-00-0000")})).await;
        assert_eq!(a.status, 201, "{}", a.raw);
        ids.push(a.body["id"].as_str().unwrap().to_owned());
        wait_for_deliveries(&stack, i + 1).await;
    }
    let bond_ids = delivered_resource_ids(&stack);
    let mut last_decision: HashMap<String, bool> = HashMap::new();
    for round in 0..39 {
        for bond_id in &bond_ids {
            let pass = (round + rng.below(2)).is_multiple_of(2);
            stack.emulator.decide(bond_id, pass).await;
            last_decision.insert(bond_id.clone(), pass);
        }
    }
    let events = stack.emulator.deliveries();
    assert_eq!(events.len(), 800);
    // Every event once, 30% of them a second time, all shuffled.
    let mut plan: Vec<usize> = (0..events.len()).collect();
    plan.extend((0..events.len()).filter(|_| rng.below(10) < 3));
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i + 1));
    }
    assert!(plan.len() >= 1000, "{} deliveries", plan.len());
    futures::stream::iter(plan.iter().copied())
        .for_each_concurrent(16, |seq| deliver_until_acked(&stack, seq))
        .await;

    for (id, bond_id) in ids.iter().zip(&bond_ids) {
        let v = fetch(&stack, id).await;
        let expected = if last_decision[bond_id] {
            "approved"
        } else {
            "rejected"
        };
        assert_eq!(v["status"], expected, "{id}");
        assert_eq!(v["decision"]["outcome"], expected);
        // Each event's effect appears once: no event id twice in the history.
        let mut seen = std::collections::HashSet::new();
        for h in v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| h.get("event_id"))
        {
            assert!(seen.insert(h.to_string()), "{id}: {h} applied twice");
        }
        assert!(
            !seen.is_empty(),
            "{id}: webhook changes carry their event id"
        );
        let customer = get(&format!(
            "{}/v1/customers/{}/verification",
            stack.api_url,
            v["customer_id"].as_str().unwrap()
        ))
        .await;
        assert_eq!(
            customer.body["verified"],
            expected == "approved",
            "verified_at follows the newest decision"
        );
    }
}

#[tokio::test]
async fn a_forged_ondato_approval_of_a_rejected_person_ends_rejected() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_forged_reject").await;
    let idv = idv_of(&v);
    stack
        .emulator
        .finish(&idv, emulator::Outcome::Reject, Some("Sanctioned"))
        .await;
    let kyc = stack.emulator.idv(&idv).unwrap().kyc_id.unwrap();
    let c = stack.emulator.config().providers.ondato;
    let forged = json!({
        "id": "forged-1", "applicationId": c.application_id, "createdUtc": chrono::Utc::now().to_rfc3339(),
        "type": "KycIdentification.Approved", "payload": {"id": kyc, "identityVerificationId": idv, "status": "Approved"}
    });
    let a = answer_to(
        reqwest::Method::POST,
        client()
            .post(format!("{}/v1/webhooks/ondato", stack.api_url))
            .header(
                "authorization",
                basic(&c.webhook_username, &c.webhook_password),
            )
            .json(&forged)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    let fetched = fetch(&stack, v["id"].as_str().unwrap()).await;
    assert_eq!(fetched["status"], "rejected");
    assert_eq!(fetched["decision"]["reason_code"], "sanctioned");
}

#[tokio::test]
async fn a_failed_re_fetch_is_a_5xx_that_writes_nothing_and_the_retry_applies() {
    let stack = stack_with_options(StackOptions {
        env: [("PROVIDER_TIMEOUT_MS".to_owned(), "700".to_owned())].into(),
        ..StackOptions::default()
    })
    .await;
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_refetch").await;
    stack.emulator.begin(&idv_of(&v)).await;
    let before = snapshot(&stack).await;

    stack.emulator.fail_next("idv_get", 503, 1);
    assert_eq!(stack.emulator.deliver(0).await, Some(502));
    stack
        .emulator
        .delay_next("idv_get", Duration::from_millis(1500), 1);
    assert_eq!(stack.emulator.deliver(0).await, Some(504));
    stack.emulator.fail_next("kyc_get", 500, 1);
    assert_eq!(stack.emulator.deliver(1).await, Some(502));
    assert_eq!(snapshot(&stack).await, before, "nothing written");

    assert_eq!(stack.emulator.deliver(0).await, Some(200));
    assert_eq!(stack.emulator.deliver(1).await, Some(200));
    assert_eq!(
        fetch(&stack, v["id"].as_str().unwrap()).await["status"],
        "in_progress"
    );
}

/// One scheduled run repairs the dropped webhooks of every provider, a Bond document request
/// included. Each provider's decisions repaired by the reconciler and by `?refresh=true` are in
/// the conformance suite.
#[tokio::test]
async fn one_reconciler_run_repairs_dropped_webhooks_of_every_provider() {
    let stack = stack_with_options(StackOptions {
        env: [("RECONCILE_QUIET_SECONDS".to_owned(), "0".to_owned())].into(),
        ..StackOptions::default()
    })
    .await;
    // The emulator drops every webhook.
    stack.emulator.set_auto_deliver(false);
    let ondato = create(&stack, "cus_dropped_ondato").await;
    click(
        ondato["verification_url"].as_str().unwrap(),
        "approve",
        None,
    )
    .await;
    let bond = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_dropped_bond", "provider": "bond", "applicant": bond_applicant("333-33-3333")}),
    )
    .await;
    wait_for_deliveries(&stack, 6).await;
    for id in [&ondato["id"], &bond.body["id"]] {
        assert_eq!(
            fetch(&stack, id.as_str().unwrap()).await["status"],
            "pending",
            "nothing arrived"
        );
    }

    // The scheduled reconciler, run once: through the open index, never a scan.
    stack.calls.reset();
    let report = reconcile(&stack).await;
    assert_eq!(report["checked"], 2, "{report}");
    assert_eq!(report["changed"], 2, "{report}");
    let calls = stack.calls.snapshot();
    assert!(
        calls.contains_key("Query") && !calls.contains_key("Scan"),
        "{calls:?}"
    );
    let o = fetch(&stack, ondato["id"].as_str().unwrap()).await;
    assert_eq!(o["status"], "approved");
    let b = fetch(&stack, bond.body["id"].as_str().unwrap()).await;
    assert_eq!(b["status"], "action_required");
    assert_eq!(b["required_actions"][0]["detail"], "government_id");
    assert_eq!(
        get(&format!(
            "{}/v1/customers/cus_dropped_ondato/verification",
            stack.api_url
        ))
        .await
        .body["verified"],
        true
    );
    // Terminal verifications leave the open index: the next run checks only the open one.
    let again = reconcile(&stack).await;
    assert_eq!(again["checked"], 1, "{again}");
}

#[tokio::test]
async fn the_acknowledgement_path_is_two_round_trips_for_ondato_and_for_a_warm_bond_webhook() {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    let v = create(&stack, "cus_ack_count").await;
    stack.emulator.begin(&idv_of(&v)).await;
    for seq in 0..2 {
        stack.calls.reset();
        assert_eq!(stack.emulator.deliver(seq).await, Some(200));
        assert_eq!(
            stack.calls.total(),
            2,
            "ondato ack: {:?}",
            stack.calls.snapshot()
        );
    }
    let bond = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_ack_bond", "provider": "bond", "applicant": bond_applicant("000-00-0000")}),
    )
    .await;
    assert_eq!(bond.status, 201);
    wait_for_deliveries(&stack, 3).await;
    let bond_id = stack.emulator.deliveries()[2].resource_id.clone();
    stack.emulator.decide(&bond_id, true).await;
    stack.calls.reset();
    assert_eq!(stack.emulator.deliver(2).await, Some(200));
    assert_eq!(
        stack.calls.total(),
        3,
        "first bond event resolves Bond's customer id: {:?}",
        stack.calls.snapshot()
    );
    stack.calls.reset();
    assert_eq!(stack.emulator.deliver(3).await, Some(200));
    assert_eq!(stack.calls.total(), 2, "warm: {:?}", stack.calls.snapshot());
}
