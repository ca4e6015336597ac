//! The provider conformance suite: what every KYC provider must show through our API, written
//! once as plain async functions over a [`Provider`] driver. Each provider has one file here that
//! drives its emulator (a hosted page clicked through, or data submitted and a sandbox decision)
//! and ends with `conformance_suite!(Driver);`, which turns every behaviour below into one
//! `#[tokio::test]` named after it, such as
//! `conformance::ondato::a_forged_or_unsigned_verdict_is_not_believed`.
//!
//! Adding a provider: one file implementing [`Provider`], and its `mod` line below.

use std::collections::HashSet;

use emulator::Outcome;
use futures::StreamExt;
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

/// One test per behaviour for the driver `$driver`, in the module that invokes it.
macro_rules! conformance_suite {
    ($driver:expr) => {
        conformance_suite!(@each $driver;
            creating_answers_201_with_the_documented_view,
            the_flow_to_an_approval_records_each_step_and_verifies_the_customer,
            the_flow_to_a_rejection_records_each_step_and_leaves_the_customer_unverified,
            duplicated_and_shuffled_webhooks_apply_each_event_once,
            a_forged_or_unsigned_verdict_is_not_believed,
            the_reconciler_repairs_dropped_webhooks_through_the_open_index,
            refresh_applies_the_provider_state_with_source_reconcile,
        );
    };
    (@each $driver:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $behaviour() {
                $crate::conformance::$behaviour(&$driver).await;
            }
        )+
    };
}

mod bond;
pub(crate) mod ondato;
mod veriff;

/// How the suite drives one provider through its emulator.
pub trait Provider {
    /// The provider's name in the API (`provider` field, `/v1/webhooks/{name}`).
    fn name(&self) -> &'static str;

    /// Whether the applicant uses the provider's hosted page (the view has a `verification_url`);
    /// otherwise their data goes to the provider server to server.
    fn hosted(&self) -> bool;

    /// A create body for `customer` whose flow waits for the provider's decision after
    /// [`Provider::submit`].
    fn create_body(&self, customer: &str) -> Value;

    /// How many provider-side records (hosted sessions, customer records) were opened so far.
    fn records_opened(&self, stack: &LocalStack) -> usize;

    /// Our statuses, in order, when every webhook of the flow to `outcome` arrives as it happens.
    fn statuses_to(&self, outcome: Outcome) -> Vec<&'static str>;

    /// The decision our view shows for `outcome` after [`Provider::decide`], without
    /// `decided_at`.
    fn decision(&self, outcome: Outcome) -> Value;

    /// The applicant does their part and the provider is checking, undecided. Returns once the
    /// provider has produced every webhook of this step (and, when it delivers them as they
    /// happen, once we acknowledged them).
    async fn submit(&self, stack: &LocalStack, verification: &Value);

    /// The provider decides the submitted verification, as its operator or sandbox would.
    async fn decide(&self, stack: &LocalStack, verification: &Value, outcome: Outcome);

    /// What an attacker could send about `verification` to have it approved. Built before the
    /// suite takes its snapshot, so a driver may open other records to forge from.
    async fn forgeries(&self, stack: &LocalStack, verification: &Value) -> Vec<Forgery>;

    /// From created to decided.
    async fn drive_to(&self, stack: &LocalStack, verification: &Value, outcome: Outcome) {
        self.submit(stack, verification).await;
        self.decide(stack, verification, outcome).await;
    }
}

/// A webhook an attacker could send.
pub struct Forgery {
    /// What it is, for failure messages.
    pub what: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Whether it passes the provider's authentication (its body still lies): then it is
    /// acknowledged and changes nothing; otherwise it is a 401 that writes nothing.
    pub authentic: bool,
}

impl Forgery {
    pub fn refused(what: &str, headers: Vec<(&'static str, String)>, body: &str) -> Self {
        Self {
            what: what.to_owned(),
            headers,
            body: body.to_owned(),
            authentic: false,
        }
    }

    pub fn authentic(what: &str, headers: Vec<(&'static str, String)>, body: &str) -> Self {
        Self {
            authentic: true,
            ..Self::refused(what, headers, body)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the behaviours and the drivers.

/// `approved` or `rejected`.
pub fn word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Approve => "approved",
        Outcome::Reject => "rejected",
    }
}

pub(crate) fn id_of(verification: &Value) -> &str {
    verification["id"].as_str().expect("a verification id")
}

/// Create through the API with the driver's body; panics unless 201.
async fn create_with(p: &impl Provider, stack: &LocalStack, customer: &str) -> Value {
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &p.create_body(customer),
    )
    .await;
    assert_eq!(a.status, 201, "{}: {}", p.name(), a.raw);
    a.body
}

async fn customer_view(stack: &LocalStack, customer: &str) -> Value {
    let a = get(&format!(
        "{}/v1/customers/{customer}/verification",
        stack.api_url
    ))
    .await;
    assert_eq!(a.status, 200, "{}", a.raw);
    a.body
}

fn sources(verification: &Value) -> Vec<String> {
    verification["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["source"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn last_source(verification: &Value) -> String {
    sources(verification).pop().expect("a history entry")
}

/// The decision without its time, to compare with [`Provider::decision`].
fn decision_of(verification: &Value) -> Value {
    let mut d = verification["decision"].clone();
    if let Some(m) = d.as_object_mut() {
        m.remove("decided_at");
    }
    d
}

/// The provider's id of a verification, as stored (Bond's customer id, Ondato's IDV id).
pub async fn provider_ref(stack: &LocalStack, verification: &Value) -> String {
    let item = verification_item(stack, id_of(verification)).await;
    item["provider_ref"].as_s().expect("provider_ref").clone()
}

/// Processed-event records (dedupe and audit) naming this verification.
async fn event_records(stack: &LocalStack, verification: &Value) -> usize {
    items(stack)
        .await
        .iter()
        .filter(|i| i["sk"].as_s().is_ok_and(|s| s.starts_with("EVENT#")))
        .filter(|i| {
            i.get("verification_id")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|v| v == id_of(verification))
        })
        .count()
}

/// Event ids in the history: each at most once.
fn assert_each_event_once(verification: &Value) {
    let mut seen = HashSet::new();
    for h in verification["history"].as_array().expect("history") {
        if let Some(e) = h.get("event_id") {
            assert!(
                seen.insert(e.to_string()),
                "{e} applied twice: {verification}"
            );
        }
    }
}

/// Whether `part` is `whole` with some entries left out, order kept.
fn is_subsequence(part: &[String], whole: &[&str]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

/// Create and drive to `outcome`; returns the verification and the deliveries it produced.
pub(crate) async fn decided(
    p: &impl Provider,
    stack: &LocalStack,
    customer: &str,
    outcome: Outcome,
) -> (Value, std::ops::Range<usize>) {
    let first = stack.emulator.deliveries().len();
    let v = create_with(p, stack, customer).await;
    p.drive_to(stack, &v, outcome).await;
    (v, first..stack.emulator.deliveries().len())
}

async fn send_forgery(stack: &LocalStack, provider: &str, f: &Forgery) -> Answer {
    let mut req = client()
        .post(format!("{}/v1/webhooks/{provider}", stack.api_url))
        .header("content-type", "application/json")
        .body(f.body.clone());
    for (k, v) in &f.headers {
        req = req.header(*k, v);
    }
    answer_to(
        reqwest::Method::POST,
        req.send().await.expect("webhook POST"),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The behaviours.

/// Create: 201 and the documented view, one provider record, the same view on fetch and on the
/// customer endpoint; a second open verification for the customer is refused.
pub async fn creating_answers_201_with_the_documented_view(p: &impl Provider) {
    let stack = stack().await;
    // Held webhooks: the view stays as created while it is read back.
    stack.emulator.set_auto_deliver(false);
    let url = format!("{}/v1/verifications", stack.api_url);
    let mut body = p.create_body("cus_conf_create");
    body["metadata"] = json!({"order": "ord_42"});
    let created = post_json(&url, &body).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let v = &created.body;
    assert!(id_of(v).starts_with("ver_") && id_of(v).len() > 4, "{v}");
    assert_eq!(
        (&v["customer_id"], &v["provider"], &v["status"]),
        (
            &json!("cus_conf_create"),
            &json!(p.name()),
            &json!("pending")
        )
    );
    assert_eq!(v["metadata"], json!({"order": "ord_42"}));
    assert_eq!(v["decision"], Value::Null);
    assert_eq!(statuses(v), ["pending"]);
    assert_eq!(sources(v), ["api"]);
    for t in ["created_at", "updated_at"] {
        let raw = v[t].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(raw).is_ok(),
            "{t}: {raw}"
        );
    }
    match v["verification_url"].as_str() {
        Some(page) => assert!(
            p.hosted() && page.starts_with(&stack.emulator_url),
            "{page}"
        ),
        None => assert!(!p.hosted(), "a hosted provider hands out its page: {v}"),
    }
    assert_eq!(p.records_opened(&stack), 1);

    assert_eq!(
        &fetch(&stack, id_of(v)).await,
        v,
        "fetch shows the same view"
    );
    let customer = customer_view(&stack, "cus_conf_create").await;
    assert_eq!(customer["verified"], false);
    assert_eq!(customer["verified_at"], Value::Null);
    assert_eq!(&customer["verification"], v);

    let again = post_json(&url, &p.create_body("cus_conf_create")).await;
    assert_eq!(again.refusal(), (409, "verification_already_active"));
    assert_eq!(again.body["error"]["verification_id"], v["id"]);
    assert_eq!(
        p.records_opened(&stack),
        1,
        "no provider call for a refusal"
    );
}

pub async fn the_flow_to_an_approval_records_each_step_and_verifies_the_customer(
    p: &impl Provider,
) {
    flow_to(p, Outcome::Approve).await;
}

pub async fn the_flow_to_a_rejection_records_each_step_and_leaves_the_customer_unverified(
    p: &impl Provider,
) {
    flow_to(p, Outcome::Reject).await;
}

/// Webhooks as they happen: each step in the history with its source, the decision, and the
/// customer verified exactly when approved.
async fn flow_to(p: &impl Provider, outcome: Outcome) {
    let stack = stack().await;
    let customer = format!("cus_conf_{}", word(outcome));
    let v = create_with(p, &stack, &customer).await;
    let path = p.statuses_to(outcome);
    let (undecided, last) = path.split_at(path.len() - 1);

    p.submit(&stack, &v).await;
    let checking = fetch(&stack, id_of(&v)).await;
    assert_eq!(statuses(&checking), undecided, "{checking}");
    assert_eq!(checking["decision"], Value::Null);
    assert_eq!(customer_view(&stack, &customer).await["verified"], false);

    p.decide(&stack, &v, outcome).await;
    let done = fetch(&stack, id_of(&v)).await;
    assert_eq!(done["status"], last[0]);
    assert_eq!(statuses(&done), path);
    let mut expected_sources = vec!["api"];
    expected_sources.resize(path.len(), "webhook");
    assert_eq!(sources(&done), expected_sources);
    assert!(
        done["history"].as_array().unwrap()[1..]
            .iter()
            .all(|h| h["event_id"].is_string()),
        "webhook changes carry their event id: {done}"
    );
    assert_each_event_once(&done);
    assert_eq!(decision_of(&done), p.decision(outcome));

    let view = customer_view(&stack, &customer).await;
    assert_eq!(view["verification"]["id"], v["id"]);
    match outcome {
        Outcome::Approve => {
            assert_eq!(view["verified"], true);
            assert_eq!(view["verified_at"], done["decision"]["decided_at"]);
            assert_eq!(view["verified_verification_id"], v["id"]);
        }
        Outcome::Reject => {
            assert_eq!(view["verified"], false);
            assert_eq!(view["verified_at"], Value::Null);
            // The attempt ended: the customer may start another one.
            create_with(p, &stack, &customer).await;
        }
    }
}

/// Reference verifications get their webhooks as they happen; their twins (same flows) get every
/// delivery three times, shuffled, sixteen at a time. Each twin ends where its reference ends,
/// every event is recorded once and none applied twice.
pub async fn duplicated_and_shuffled_webhooks_apply_each_event_once(p: &impl Provider) {
    let stack = stack().await;
    let outcomes = [Outcome::Approve, Outcome::Reject, Outcome::Approve];
    let mut references = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        references.push(decided(p, &stack, &format!("cus_conf_ref_{i}"), *outcome).await);
    }
    stack.emulator.set_auto_deliver(false);
    let mut twins = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        twins.push(decided(p, &stack, &format!("cus_conf_twin_{i}"), *outcome).await);
    }
    let mut rng = XorShift(0x5eed_c0f0_4a11_2026);
    let mut plan: Vec<usize> = twins.iter().flat_map(|(_, r)| r.clone()).collect();
    plan = plan.iter().flat_map(|seq| [*seq; 3]).collect();
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i + 1));
    }
    futures::stream::iter(plan)
        .for_each_concurrent(16, |seq| deliver_until_acked(&stack, seq))
        .await;

    for (((reference, ref_seqs), (twin, twin_seqs)), outcome) in
        references.iter().zip(&twins).zip(outcomes)
    {
        assert_eq!(
            ref_seqs.len(),
            twin_seqs.len(),
            "the same flow, the same events"
        );
        assert_twin_ends_like_reference(p, &stack, (reference, twin), outcome).await;
        assert_eq!(event_records(&stack, reference).await, ref_seqs.len());
        assert_eq!(
            event_records(&stack, twin).await,
            twin_seqs.len(),
            "every event recorded once, none lost"
        );
    }
}

async fn assert_twin_ends_like_reference(
    p: &impl Provider,
    stack: &LocalStack,
    (reference, twin): (&Value, &Value),
    outcome: Outcome,
) {
    let r = fetch(stack, id_of(reference)).await;
    let t = fetch(stack, id_of(twin)).await;
    assert_eq!(statuses(&r), p.statuses_to(outcome));
    assert_eq!(t["status"], r["status"], "{t}");
    assert_eq!(decision_of(&t), decision_of(&r));
    assert_eq!(t["required_actions"], r["required_actions"]);
    let twin_path = statuses(&t);
    assert!(
        is_subsequence(&twin_path, &p.statuses_to(outcome)) && twin_path[0] == "pending",
        "late events never move the status back: {twin_path:?}"
    );
    assert_each_event_once(&t);
    let verified = |v: Value| v["verified"].clone();
    assert_eq!(
        verified(customer_view(stack, t["customer_id"].as_str().unwrap()).await),
        verified(customer_view(stack, r["customer_id"].as_str().unwrap()).await)
    );
}

/// While the provider checks, and again after it rejected: no forgery approves, an
/// unauthenticated one is a 401 that writes nothing and calls no provider, an authenticated
/// lie is acknowledged and changes nothing.
pub async fn a_forged_or_unsigned_verdict_is_not_believed(p: &impl Provider) {
    let stack = stack().await;
    let v = create_with(p, &stack, "cus_conf_forged").await;
    p.submit(&stack, &v).await;
    let path = p.statuses_to(Outcome::Reject);
    let checking = fetch(&stack, id_of(&v)).await;
    assert_eq!(statuses(&checking), path[..path.len() - 1]);
    refuse_forgeries(p, &stack, &v).await;

    p.decide(&stack, &v, Outcome::Reject).await;
    let rejected = fetch(&stack, id_of(&v)).await;
    assert_eq!(rejected["status"], "rejected");
    refuse_forgeries(p, &stack, &v).await;
    assert_eq!(
        decision_of(&fetch(&stack, id_of(&v)).await),
        p.decision(Outcome::Reject)
    );
    assert_eq!(
        customer_view(&stack, "cus_conf_forged").await["verified"],
        false
    );
}

async fn refuse_forgeries(p: &impl Provider, stack: &LocalStack, v: &Value) {
    let forgeries = p.forgeries(stack, v).await;
    assert!(
        forgeries.iter().any(|f| !f.authentic),
        "every provider can be sent an unauthenticated verdict"
    );
    let before = fetch(stack, id_of(v)).await;
    for f in &forgeries {
        let table = snapshot(stack).await;
        let calls = stack.emulator.counters();
        let a = send_forgery(stack, p.name(), f).await;
        if f.authentic {
            assert_eq!(a.status, 200, "{}: {}", f.what, a.raw);
        } else {
            assert_eq!(a.refusal(), (401, "unauthorized"), "{}: {}", f.what, a.raw);
            assert_eq!(a.body["error"]["type"], "authentication", "{}", f.what);
            assert!(
                snapshot(stack).await == table,
                "{}: nothing written",
                f.what
            );
            assert_eq!(
                stack.emulator.counters(),
                calls,
                "{}: no provider call",
                f.what
            );
        }
        let after = fetch(stack, id_of(v)).await;
        for field in ["status", "decision", "history"] {
            assert_eq!(after[field], before[field], "{}: {field} changed", f.what);
        }
    }
}

/// Every webhook dropped; the provider decides two verifications and checks a third. One
/// reconciler run, through the open index, brings each to the provider's state; the decided
/// ones leave the index.
pub async fn the_reconciler_repairs_dropped_webhooks_through_the_open_index(p: &impl Provider) {
    let stack = stack_with([("RECONCILE_QUIET_SECONDS".to_owned(), "0".to_owned())].into()).await;
    stack.emulator.set_auto_deliver(false);
    let (approved, _) = decided(p, &stack, "cus_conf_rec_ok", Outcome::Approve).await;
    let (rejected, _) = decided(p, &stack, "cus_conf_rec_no", Outcome::Reject).await;
    let open = create_with(p, &stack, "cus_conf_rec_open").await;
    p.submit(&stack, &open).await;
    for v in [&approved, &rejected, &open] {
        assert_eq!(
            fetch(&stack, id_of(v)).await["status"],
            "pending",
            "nothing arrived"
        );
    }

    stack.calls.reset();
    let report = reconcile(&stack).await;
    assert_eq!(
        (&report["checked"], &report["changed"]),
        (&json!(3), &json!(3)),
        "{report}"
    );
    let calls = stack.calls.snapshot();
    assert!(
        calls.contains_key("Query") && !calls.contains_key("Scan"),
        "{calls:?}"
    );

    for (v, outcome) in [(&approved, Outcome::Approve), (&rejected, Outcome::Reject)] {
        let repaired = fetch(&stack, id_of(v)).await;
        assert_eq!(
            statuses(&repaired),
            ["pending", word(outcome)],
            "{repaired}"
        );
        assert_eq!(sources(&repaired), ["api", "reconcile"]);
        assert_eq!(decision_of(&repaired), p.decision(outcome));
        let customer = customer_view(&stack, repaired["customer_id"].as_str().unwrap()).await;
        assert_eq!(customer["verified"], outcome == Outcome::Approve);
    }
    let checking = fetch(&stack, id_of(&open)).await;
    let path = p.statuses_to(Outcome::Approve);
    assert_eq!(statuses(&checking), ["pending", path[path.len() - 2]]);
    assert_eq!(last_source(&checking), "reconcile");

    let again = reconcile(&stack).await;
    assert_eq!(
        (&again["checked"], &again["changed"]),
        (&json!(1), &json!(0)),
        "{again}"
    );
}

/// Every webhook dropped; `?refresh=true` asks the provider and applies what it says, once; the
/// webhooks arriving late change nothing.
pub async fn refresh_applies_the_provider_state_with_source_reconcile(p: &impl Provider) {
    let stack = stack().await;
    stack.emulator.set_auto_deliver(false);
    for outcome in [Outcome::Approve, Outcome::Reject] {
        let customer = format!("cus_conf_refresh_{}", word(outcome));
        let (v, held) = decided(p, &stack, &customer, outcome).await;
        assert_eq!(
            fetch(&stack, id_of(&v)).await["status"],
            "pending",
            "nothing arrived"
        );
        let url = format!(
            "{}/v1/verifications/{}?refresh=true",
            stack.api_url,
            id_of(&v)
        );
        let refreshed = get(&url).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.raw);
        let r = &refreshed.body;
        assert_eq!(statuses(r), ["pending", word(outcome)], "{r}");
        assert_eq!(sources(r), ["api", "reconcile"]);
        assert_eq!(decision_of(r), p.decision(outcome));
        assert_eq!(&fetch(&stack, id_of(&v)).await, r, "the refresh was stored");
        let verified = customer_view(&stack, &customer).await["verified"].clone();
        assert_eq!(verified, outcome == Outcome::Approve);

        let second = get(&url).await.body;
        for field in ["status", "decision", "history"] {
            assert_eq!(
                second[field], r[field],
                "a second refresh changes no {field}"
            );
        }
        for seq in held {
            assert_eq!(stack.emulator.deliver(seq).await, Some(200));
        }
        let late = fetch(&stack, id_of(&v)).await;
        assert_eq!(
            (&late["status"], decision_of(&late)),
            (&r["status"], decision_of(r))
        );
        assert_each_event_once(&late);
    }
    let bad = get(&format!(
        "{}/v1/verifications/{}?refresh=maybe",
        stack.api_url,
        id_of(&create_with(p, &stack, "cus_conf_refresh_bad").await)
    ))
    .await;
    assert_eq!(bad.refusal(), (400, "validation_failed"));
}
