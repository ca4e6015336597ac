//! The DynamoDB store against DynamoDB Local: conditional writes, versions, claims.

use chrono::{Duration, Utc};
use integration_tests::*;
use shared::domain::{
    CustomerEffect, CustomerId, Metadata, NewVerification, Observation, Source, Status,
    Verification, VerificationId,
};
use shared::provider::ondato;
use shared::store::dynamodb::DynamoDbStore;
use shared::store::{
    Claim, ClaimError, CreateClaims, CustomerReader, EventLog, EventRecord, SaveOutcome,
    VerificationReader,
};

/// Claim `customer`'s Ondato slot for `id` at `now` until `until`.
async fn claim(
    store: &DynamoDbStore,
    customer: &CustomerId,
    id: &VerificationId,
    now: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
) -> Result<(), ClaimError> {
    store
        .claim(&Claim {
            customer,
            provider: &ondato::NAME,
            verification: id,
            now,
            claim_until: until,
            lock: None,
        })
        .await
}

async fn store() -> (local_stack::LocalStack, DynamoDbStore) {
    let stack = stack().await;
    let store = DynamoDbStore::new(stack.dynamodb.clone(), stack.table_name.clone());
    (stack, store)
}

fn observation(status: Status, secs: i64) -> Observation {
    Observation {
        status,
        raw_status: status.to_string(),
        reason: None,
        required_actions: vec![],
        occurred_at: Utc::now() + Duration::seconds(secs),
        decision_ref: None,
    }
}

async fn inserted(store: &DynamoDbStore, customer: &str) -> Verification {
    let customer = CustomerId::parse(customer).unwrap();
    let id = VerificationId::generate();
    let now = Utc::now();
    claim(store, &customer, &id, now, now + Duration::seconds(30))
        .await
        .unwrap();
    let v = Verification::start(
        NewVerification {
            id,
            customer_id: customer,
            provider: ondato::NAME,
            provider_ref: Some(ulid::Ulid::new().to_string()),
            verification_url: None,
            metadata: Metadata::new(),
            initial: observation(Status::Pending, 0),
        },
        now,
    );
    store.insert_verification(&v, None).await.unwrap();
    store.get_verification(&v.id).await.unwrap().unwrap()
}

fn event(v: &Verification, id: &str) -> EventRecord {
    let now = Utc::now();
    EventRecord {
        provider: ondato::NAME,
        event_id: id.to_owned(),
        event_type: "test".into(),
        verification_id: v.id.clone(),
        occurred_at: now,
        outcome: "changed",
        audit: None,
        received_at: now,
        expires_at: now + Duration::days(7),
    }
}

#[tokio::test]
async fn a_stored_verification_reads_back_equal_with_version_one() {
    let (_stack, store) = store().await;
    let v = inserted(&store, "cus_rt").await;
    assert_eq!(v.version, 1);
    assert_eq!(
        store
            .find_by_provider_ref(&ondato::NAME, v.provider_ref.as_deref().unwrap())
            .await
            .unwrap(),
        Some(v.id.clone())
    );
    let customer = store.get_customer(&v.customer_id).await.unwrap().unwrap();
    assert_eq!(customer.latest_verification_id, Some(v.id));
    assert_eq!(customer.verified_at, None);
}

#[tokio::test]
async fn concurrent_writers_from_the_same_read_cannot_both_win() {
    let (_stack, store) = store().await;
    let v = inserted(&store, "cus_lost_update").await;
    let mut a = v.clone();
    let mut b = v.clone();
    a.apply(
        &observation(Status::InProgress, 1),
        Source::Webhook,
        Some("a"),
        Utc::now(),
    );
    b.apply(
        &observation(Status::Canceled, 2),
        Source::Webhook,
        Some("b"),
        Utc::now(),
    );
    let (ea, eb) = (event(&v, "a"), event(&v, "b"));
    let (ra, rb) = tokio::join!(
        store.save_event(&ea, Some((&a, CustomerEffect::None))),
        store.save_event(&eb, Some((&b, CustomerEffect::Ended)))
    );
    let mut outcomes = [ra.unwrap(), rb.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [SaveOutcome::Saved, SaveOutcome::VersionConflict]);
    let stored = store.get_verification(&v.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.history.len(),
        2,
        "exactly one writer's change landed"
    );
}

#[tokio::test]
async fn a_recorded_event_is_a_duplicate_and_writes_nothing_more() {
    let (_stack, store) = store().await;
    let v = inserted(&store, "cus_dedupe").await;
    let mut next = v.clone();
    next.apply(
        &observation(Status::InProgress, 1),
        Source::Webhook,
        Some("e1"),
        Utc::now(),
    );
    assert_eq!(
        store
            .save_event(&event(&v, "e1"), Some((&next, CustomerEffect::None)))
            .await
            .unwrap(),
        SaveOutcome::Saved
    );
    let ctx = store
        .load_for_event(&v.id, &ondato::NAME, "e1")
        .await
        .unwrap();
    assert!(ctx.already_processed);
    assert_eq!(ctx.verification.as_ref().unwrap().version, 2);
    let mut again = ctx.verification.unwrap();
    again.apply(
        &observation(Status::InReview, 2),
        Source::Webhook,
        Some("e1"),
        Utc::now(),
    );
    assert_eq!(
        store
            .save_event(&event(&v, "e1"), Some((&again, CustomerEffect::None)))
            .await
            .unwrap(),
        SaveOutcome::DuplicateEvent
    );
    assert_eq!(
        store.get_verification(&v.id).await.unwrap().unwrap().status,
        Status::InProgress
    );
}

#[tokio::test]
async fn an_approval_verifies_the_customer_and_a_superseding_rejection_unverifies() {
    let (_stack, store) = store().await;
    let v = inserted(&store, "cus_supersede").await;
    let mut approved = v.clone();
    let t = approved.apply(
        &observation(Status::Approved, 1),
        Source::Webhook,
        Some("ok"),
        Utc::now(),
    );
    store
        .save_event(
            &event(&v, "ok"),
            Some((&approved, approved.customer_effect(t))),
        )
        .await
        .unwrap();
    let c = store.get_customer(&v.customer_id).await.unwrap().unwrap();
    assert!(c.verified_at.is_some());
    assert_eq!(c.verified_verification_id, Some(v.id.clone()));
    // A verified customer cannot claim a new slot.
    let now = Utc::now();
    let err = claim(
        &store,
        &v.customer_id,
        &VerificationId::generate(),
        now,
        now,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ClaimError::AlreadyVerified { verification_id: Some(ref id), .. } if id == v.id.as_str()),
        "{err:?}"
    );

    let mut rejected = store.get_verification(&v.id).await.unwrap().unwrap();
    let t = rejected.apply(
        &observation(Status::Rejected, 2),
        Source::Webhook,
        Some("upd"),
        Utc::now(),
    );
    assert_eq!(rejected.customer_effect(t), CustomerEffect::Unverified);
    store
        .save_event(
            &event(&v, "upd"),
            Some((&rejected, rejected.customer_effect(t))),
        )
        .await
        .unwrap();
    let c = store.get_customer(&v.customer_id).await.unwrap().unwrap();
    assert_eq!(
        c.verified_at, None,
        "verified_at follows the superseding decision"
    );
    let stored = store.get_verification(&v.id).await.unwrap().unwrap();
    assert!(stored.history.last().unwrap().superseded);
}

#[tokio::test]
async fn an_unconfirmed_claim_lapses_at_its_deadline_and_release_touches_only_its_own() {
    let (_stack, store) = store().await;
    let customer = CustomerId::parse("cus_claim").unwrap();
    let crashed = VerificationId::generate();
    let now = Utc::now();
    claim(&store, &customer, &crashed, now, now + Duration::seconds(5))
        .await
        .unwrap();
    let blocked = claim(&store, &customer, &VerificationId::generate(), now, now)
        .await
        .unwrap_err();
    assert!(
        matches!(blocked, ClaimError::AlreadyActive { ref verification_id } if verification_id == crashed.as_str())
    );
    // After the deadline of the crashed run, a new claim wins.
    let later = now + Duration::seconds(6);
    let fresh = VerificationId::generate();
    claim(
        &store,
        &customer,
        &fresh,
        later,
        later + Duration::seconds(5),
    )
    .await
    .unwrap();
    // The crashed run's release cannot remove the new claim.
    store
        .release(&customer, &ondato::NAME, &crashed, None)
        .await
        .unwrap();
    let still = claim(&store, &customer, &VerificationId::generate(), later, later)
        .await
        .unwrap_err();
    assert!(
        matches!(still, ClaimError::AlreadyActive { ref verification_id } if verification_id == fresh.as_str())
    );
}

#[tokio::test]
async fn the_table_is_created_from_the_template_with_its_keys_and_ttl() {
    let (stack, _store) = store().await;
    let d = stack
        .dynamodb
        .describe_table()
        .table_name(&stack.table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<_> = d
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("pk".to_owned(), "HASH".to_owned()),
            ("sk".to_owned(), "RANGE".to_owned())
        ]
    );
    let ttl = stack
        .dynamodb
        .describe_time_to_live()
        .table_name(&stack.table_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some("expires_at")
    );
}

async fn item_count(stack: &local_stack::LocalStack) -> i32 {
    stack
        .dynamodb
        .scan()
        .table_name(&stack.table_name)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("scan")
        .count()
}

#[tokio::test]
async fn prewarm_is_one_get_item_that_writes_nothing() {
    let (stack, store) = store().await;
    inserted(&store, "cus_prewarm").await;
    let before = item_count(&stack).await;
    stack.calls.reset();
    // The functions' own store, whose calls the stack counts.
    stack.wiring.store().prewarm().await;
    let calls = stack.calls.snapshot();
    assert_eq!(stack.calls.total(), 1, "{calls:?}");
    assert_eq!(calls.get("GetItem"), Some(&1));
    assert_eq!(item_count(&stack).await, before);
}

#[tokio::test]
async fn prewarm_gives_up_on_a_dead_or_silent_endpoint_without_failing_init() {
    // Nothing listens: refused, retried with the SDK's backoff, never past the pre-warm's bound.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = DynamoDbStore::new(
        local_stack::stack::local_dynamodb_client(&format!("http://127.0.0.1:{port}"), None),
        "kyc",
    );
    let started = std::time::Instant::now();
    dead.prewarm().await;
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_millis(3500), "{took:?}");

    // Connects, never answers: init goes on after the pre-warm's 2 s bound.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store = DynamoDbStore::new(
        local_stack::stack::local_dynamodb_client(
            &format!("http://{}", silent.local_addr().unwrap()),
            None,
        ),
        "kyc",
    );
    let started = std::time::Instant::now();
    store.prewarm().await;
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1900) && took < std::time::Duration::from_secs(4),
        "{took:?}"
    );
    drop(silent);
}
