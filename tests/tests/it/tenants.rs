//! Tenants of the one emulator server a test binary shares: each stack's emulator state is its
//! own, and a whole flow works behind the tenant's `/t/{id}` prefix.

use integration_tests::*;
use local_stack::LocalStack;
use serde_json::json;

/// The path of a URL (`/t/{id}` for a tenant's base).
fn path_of(url: &str) -> String {
    reqwest::Url::parse(url).unwrap().path().to_owned()
}

#[tokio::test]
async fn two_tenants_on_one_server_see_nothing_of_each_other() {
    let (a, b) = (stack().await, stack().await);
    let server = emulator_server().url();
    for s in [&a, &b] {
        assert!(
            s.emulator_url.starts_with(&format!("{server}/t/")),
            "{}",
            s.emulator_url
        );
        assert_eq!(s.emulator.base_url(), s.emulator_url);
    }
    assert_ne!(a.emulator_url, b.emulator_url);

    // A fault injected in B does not touch A's calls.
    b.emulator.fail_next("idv_create", 503, 1);
    let v = create(&a, "cus_tenant_a").await;
    let idv = idv_of(&v);
    let refused = post_json(
        &format!("{}/v1/verifications", b.api_url),
        &json!({"customer_id": "cus_tenant_b"}),
    )
    .await;
    assert_eq!(refused.refusal(), (502, "provider_unavailable"));
    assert_eq!(a.emulator.counters()["idv_create"], 1);
    assert_eq!(b.emulator.counters()["idv_create"], 1);

    // A's IDV exists at A only: in process, on the API and on the hosted page.
    assert!(a.emulator.idv(&idv).is_some());
    assert!(b.emulator.idv(&idv).is_none());
    assert_eq!(
        get(&format!("{}/?id={idv}", b.emulator_url)).await.status,
        404
    );
    assert_eq!(
        get(&format!("{}/?id={idv}", a.emulator_url)).await.status,
        200
    );

    // A's webhooks are A's: recorded and listed there only.
    assert_eq!(
        click(v["verification_url"].as_str().unwrap(), "consent", None)
            .await
            .status,
        303
    );
    wait_for_deliveries(&a, 2).await;
    assert!(b.emulator.deliveries().is_empty());
    let listed = |s: &LocalStack| format!("{}/_emulator/deliveries", s.emulator_url);
    assert_eq!(get(&listed(&b)).await.body["deliveries"], json!([]));
    assert_eq!(
        get(&listed(&a)).await.body["deliveries"]
            .as_array()
            .unwrap()
            .len(),
        a.emulator.deliveries().len()
    );
    let stats = get(&format!("{}/_emulator/stats", b.emulator_url)).await;
    assert_eq!(stats.body["counters"]["idv_create"], 1);
    assert_eq!(
        stats.body["counters"].get("idv_get"),
        None,
        "A's webhooks made A's calls"
    );

    // Standing settings are per tenant too: B drops its webhooks, A still delivers.
    let set = post_json(
        &format!("{}/_emulator/config", b.emulator_url),
        &json!({"drop_webhooks": true}),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.raw);
    assert!(!a.emulator.config().drop_webhooks);
    click(v["verification_url"].as_str().unwrap(), "approve", None).await;
    assert_eq!(
        status_becomes(&a, v["id"].as_str().unwrap(), "approved").await["status"],
        "approved"
    );
}

#[tokio::test]
async fn a_whole_flow_runs_behind_a_tenant_prefix_and_reaches_the_tenants_api() {
    let stack = stack().await;
    let base = stack.emulator.base_url();
    let prefix = path_of(&base);
    assert!(prefix.starts_with("/t/"), "{base}");
    // What the functions were given points at the tenant.
    for key in ["ONDATO_TOKEN_URL", "ONDATO_HOSTED_URL", "BOND_BASE_URL"] {
        assert!(stack.function_env[key].starts_with(&base), "{key}");
    }

    let v = create(&stack, "cus_tenant_flow").await;
    let url = v["verification_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{base}/?id=")), "{url}");
    let idv = idv_of(&v);
    let page = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("action=\"{prefix}/hosted/{idv}\"")),
        "{page}"
    );
    for action in ["consent", "document", "selfie", "approve"] {
        let a = click(url, action, None).await;
        assert_eq!(a.status, 303, "{action}");
        assert_eq!(
            a.headers["location"],
            format!("{prefix}/?id={idv}").as_str()
        );
    }
    let done = status_becomes(&stack, v["id"].as_str().unwrap(), "approved").await;
    assert_eq!(
        statuses(&done),
        ["pending", "in_progress", "in_review", "approved"]
    );
    // Every webhook went to this stack's API, which took it.
    let deliveries = stack.emulator.deliveries();
    assert_eq!(deliveries.len(), 5);
    for d in &deliveries {
        let answers: Vec<Option<u16>> = d.attempts.iter().map(|t| t.status).collect();
        assert_eq!(answers, [Some(200)], "{}", d.event_type);
    }

    // Bond's upload link lives under the prefix too, and its page works there.
    let bond = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": "cus_tenant_bond", "provider": "bond", "applicant": bond_applicant("333-33-3333")}),
    )
    .await;
    assert_eq!(bond.status, 201, "{}", bond.raw);
    let id = bond.body["id"].as_str().unwrap();
    let waiting = status_becomes(&stack, id, "action_required").await;
    let link = waiting["required_actions"][0]["upload_url"]
        .as_str()
        .unwrap();
    assert!(link.starts_with(&format!("{base}/bond/upload/")), "{link}");
    assert_eq!(get(link).await.status, 200);
    assert_eq!(upload_id_document(link).await, 200);
    status_becomes(&stack, id, "approved").await;
}
