//! Ondato's emulation in process: settings, flags, the functions' environment, the token-guarded
//! APIs, the webhook sequence of a whole flow, and the hosted page behind a tenant's prefix.

use serde_json::json;

use super::{Ondato, Settings};
use crate::testing::{call, emulator, Answer};
use crate::{Emulator, EmulatorConfig, Outcome, Provider};

async fn token(emu: &Emulator) -> String {
    let a = call(
        emu,
        "POST",
        "/connect/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(
            "grant_type=client_credentials&client_id=local-client&client_secret=local-client-secret"
                .into(),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["access_token"].as_str().unwrap().to_owned()
}

/// `POST /v1/identity-verifications` with this body, with a fresh token.
async fn post_idv(emu: &Emulator, body: serde_json::Value) -> Answer {
    let bearer = format!("Bearer {}", token(emu).await);
    call(
        emu,
        "POST",
        "/v1/identity-verifications",
        &[("authorization", &bearer)],
        Some(body.to_string()),
    )
    .await
}

async fn create_idv(emu: &Emulator) -> String {
    let body = json!({"setupId": Settings::default().setup_id, "externalReferenceId": "ver_1"});
    let a = post_idv(emu, body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_owned()
}

#[test]
fn when_the_functions_env_is_built_should_point_every_variable_at_the_base() {
    let env = Ondato::function_env(&Settings::default(), "http://e:1/t/2");
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(
        get("ONDATO_TOKEN_URL"),
        Some("http://e:1/t/2/connect/token")
    );
    assert_eq!(get("ONDATO_IDV_API_URL"), Some("http://e:1/t/2"));
    assert_eq!(get("ONDATO_KYC_API_URL"), Some("http://e:1/t/2"));
    assert_eq!(get("ONDATO_HOSTED_URL"), Some("http://e:1/t/2/"));
    assert_eq!(
        get("ONDATO_SETUP_ID"),
        Some("00000000-0000-4000-8000-0000000005e7")
    );
    assert_eq!(
        get("ONDATO_WEBHOOK_PASSWORDS"),
        Some("local-webhook-password")
    );
    assert_eq!(env.len(), 10);
}

#[test]
fn when_flags_are_given_should_take_only_ondatos() {
    let mut s = Settings::default();
    for (flag, value) in [
        ("--webhook-url", "http://api/v1/webhooks/ondato"),
        ("--webhook-username", "u"),
        ("--webhook-password", "p"),
        ("--client-id", "c"),
        ("--client-secret", "s"),
    ] {
        assert_eq!(Ondato::parse_flag(&mut s, flag, value), Ok(true), "{flag}");
    }
    assert_eq!(Ondato::parse_flag(&mut s, "--listen", "x"), Ok(false));
    assert_eq!(
        (s.webhook_url.as_deref(), s.webhook_username.as_str()),
        (Some("http://api/v1/webhooks/ondato"), "u")
    );
    assert_eq!(
        (
            s.webhook_password.as_str(),
            s.client_id.as_str(),
            s.client_secret.as_str()
        ),
        ("p", "c", "s")
    );
}

#[test]
fn when_a_webhook_is_sent_should_carry_basic_auth_to_the_webhook_url() {
    let http = crate::testing::http();
    let mut s = Settings::default();
    assert!(Ondato::webhook_request(&http, &s, "{}").is_none());
    Ondato::set_webhook_url(&mut s, Some("http://api/v1/webhooks/ondato".into()));
    let req = Ondato::webhook_request(&http, &s, "{}")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(req.url().as_str(), "http://api/v1/webhooks/ondato");
    // base64("ondato:local-webhook-password")
    assert_eq!(
        req.headers()["authorization"],
        "Basic b25kYXRvOmxvY2FsLXdlYmhvb2stcGFzc3dvcmQ="
    );
}

#[test]
fn when_the_config_control_sets_webhook_url_should_show_it_back() {
    let mut c = EmulatorConfig::default();
    let patch = json!({"webhook_url": "http://elsewhere/hook"});
    c.apply_patch(patch.as_object().unwrap()).unwrap();
    assert_eq!(
        c.providers.ondato.webhook_url.as_deref(),
        Some("http://elsewhere/hook")
    );
    assert_eq!(c.describe()["webhook_url"], "http://elsewhere/hook");
    let wrong = json!({"webhook_url": 3});
    assert!(c.apply_patch(wrong.as_object().unwrap()).is_err());
}

#[tokio::test]
async fn when_credentials_or_tokens_are_wrong_should_refuse() {
    let emu = emulator();
    let a = call(
        &emu,
        "POST",
        "/connect/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("grant_type=client_credentials&client_id=local-client&client_secret=no".into()),
    )
    .await;
    assert_eq!(
        (a.status.as_u16(), a.json()),
        (400, json!({"error": "invalid_client"}))
    );
    for auth in [None, Some("Bearer emu-made-up")] {
        let headers: Vec<(&str, &str)> = auth.map(|v| ("authorization", v)).into_iter().collect();
        let a = call(&emu, "GET", "/v1/identity-verifications/x", &headers, None).await;
        assert_eq!(a.status, 401, "{auth:?}");
    }
    assert_eq!(emu.counters()["token"], 1);
    assert_eq!(emu.counters()["idv_get"], 2);
}

#[tokio::test]
async fn when_a_person_finishes_should_emit_ondatos_webhooks_in_order() {
    let emu = emulator();
    let idv = create_idv(&emu).await;
    assert!(emu.finish(&idv, Outcome::Approve, None).await);
    let events: Vec<String> = emu
        .deliveries()
        .iter()
        .map(|d| d.event_type.clone())
        .collect();
    assert_eq!(
        events,
        [
            "IdentityVerification.StatusChanged",
            "KycIdentification.Created",
            "KycIdentification.Processed",
            "IdentityVerification.StatusChanged",
            "KycIdentification.Approved"
        ]
    );
    let last = emu.deliveries().pop().unwrap();
    let body: serde_json::Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(last.provider, "ondato");
    assert_eq!(body["applicationId"], Settings::default().application_id);
    assert_eq!(body["payload"]["statusReason"], "AutomaticallyIdentified");
    assert!(last.attempts.is_empty(), "no webhook URL: nothing sent");
}

#[tokio::test]
async fn when_served_under_a_prefix_should_keep_forms_and_redirects_under_it() {
    let emu = Emulator::with_prefix(EmulatorConfig::default(), "/t/9".into());
    let idv = create_idv(&emu).await;
    let page = call(&emu, "GET", &format!("/?id={idv}"), &[], None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains(&format!("action=\"/t/9/hosted/{idv}\"")),
        "{}",
        page.text
    );
    let a = call(
        &emu,
        "POST",
        &format!("/hosted/{idv}"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("action=consent".into()),
    )
    .await;
    assert_eq!(a.status, 303);
    assert_eq!(a.headers["location"], format!("/t/9/?id={idv}").as_str());
    assert_eq!(emu.idv(&idv).unwrap().status, "InProgress");
}

#[tokio::test]
async fn an_unknown_setup_is_refused_with_problem_details() {
    let emu = emulator();
    for body in [
        json!({"setupId": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "externalReferenceId": "ver_1"}),
        json!({"externalReferenceId": "ver_1"}),
    ] {
        let a = post_idv(&emu, body.clone()).await;
        assert_eq!(a.status, 400, "{body}");
        assert_eq!(
            a.headers["content-type"],
            "application/problem+json; charset=utf-8"
        );
        let v = a.json();
        assert_eq!(
            v["type"],
            "https://tools.ietf.org/html/rfc9110#section-15.5.1"
        );
        assert_eq!(v["title"], "One or more validation errors occurred.");
        assert_eq!(v["status"], 400);
        assert!(v["errors"]["SetupId"][0].is_string(), "{v}");
    }
    assert!(
        emu.inner().providers.ondato.idvs.is_empty(),
        "nothing created"
    );
}

#[tokio::test]
async fn any_setup_the_account_has_is_accepted() {
    let mut config = EmulatorConfig::default();
    config.providers.ondato.setups = vec!["setup-a".into(), "setup-b".into()];
    let emu = Emulator::new(config);
    let a = post_idv(&emu, json!({"setupId": "setup-b"})).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(emu.idv(&id).unwrap().setup_id, "setup-b");
}

#[tokio::test]
async fn a_phone_number_sent_as_a_string_is_refused_at_its_field_path() {
    let emu = emulator();
    let registration = json!({"firstName": "John", "phoneNumber": "370624515141",
                              "dateOfBirth": "2021-02-30"});
    let body = json!({"setupId": Settings::default().setup_id, "registration": registration});
    let a = post_idv(&emu, body).await;
    assert_eq!(a.status, 400, "{}", a.text);
    let errors = a.json()["errors"].clone();
    let mut paths: Vec<&String> = errors.as_object().unwrap().keys().collect();
    paths.sort();
    assert_eq!(
        paths,
        ["Registration.DateOfBirth", "Registration.PhoneNumber"]
    );
    // The same person in Ondato's formats is accepted.
    let fixed = json!({"firstName": "John", "phoneNumber": 370624515141u64,
                       "dateOfBirth": "2021-01-14"});
    let body = json!({"setupId": Settings::default().setup_id, "registration": fixed});
    assert_eq!(post_idv(&emu, body).await.status, 201);
}

#[tokio::test]
async fn with_external_reference_id_omitted_no_idv_identification_or_webhook_shows_it() {
    let emu = emulator();
    emu.update(|c| c.providers.ondato.omit_external_reference_id = true);
    let idv = create_idv(&emu).await;
    assert!(emu.finish(&idv, Outcome::Approve, None).await);
    let bearer = format!("Bearer {}", token(&emu).await);
    let auth = [("authorization", bearer.as_str())];
    let got = call(
        &emu,
        "GET",
        &format!("/v1/identity-verifications/{idv}"),
        &auth,
        None,
    )
    .await;
    let got = got.json();
    assert_eq!(got["id"], idv.as_str());
    assert!(got.get("externalReferenceId").is_none(), "{got}");
    let kyc = got["step"]["kycIdentification"]["id"].as_str().unwrap();
    let k = call(
        &emu,
        "GET",
        &format!("/v1/identifications/{kyc}"),
        &auth,
        None,
    )
    .await;
    let k = k.json();
    assert_eq!(k["identityVerificationId"], idv.as_str());
    assert!(k.get("externalReferenceId").is_none(), "{k}");
    let deliveries = emu.deliveries();
    assert_eq!(deliveries.len(), 5);
    for d in deliveries {
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert!(body["payload"]["id"].is_string(), "{}", d.body);
        assert!(
            body["payload"].get("externalReferenceId").is_none(),
            "{}",
            d.body
        );
    }
    // Switched back, Ondato shows the reference the IDV was created with.
    emu.update(|c| c.providers.ondato.omit_external_reference_id = false);
    let got = call(
        &emu,
        "GET",
        &format!("/v1/identity-verifications/{idv}"),
        &auth,
        None,
    )
    .await;
    assert_eq!(got.json()["externalReferenceId"], "ver_1");
}

#[test]
fn when_the_config_control_sets_omit_external_reference_id_should_show_it_back() {
    let mut c = EmulatorConfig::default();
    assert_eq!(c.describe()["ondato_omit_external_reference_id"], false);
    let patch = json!({"ondato_omit_external_reference_id": true});
    c.apply_patch(patch.as_object().unwrap()).unwrap();
    assert!(c.providers.ondato.omit_external_reference_id);
    assert_eq!(c.describe()["ondato_omit_external_reference_id"], true);
    let keep = json!({"ondato_omit_external_reference_id": null});
    c.apply_patch(keep.as_object().unwrap()).unwrap();
    assert!(c.providers.ondato.omit_external_reference_id);
    let wrong = json!({"ondato_omit_external_reference_id": "yes"});
    assert!(c.apply_patch(wrong.as_object().unwrap()).is_err());
}
