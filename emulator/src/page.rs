//! The hosted page a person meets at `/?id={idv}`: plain HTML forms, no JavaScript.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::ondato::Outcome;
use crate::Emulator;

/// Rejection reasons a tester can pick (Ondato's words).
pub const REJECT_REASONS: &[&str] = &[
    "PoorPhotoQuality",
    "BlurredPhoto",
    "DocumentIsExpired",
    "FacesDoesNotMatch",
    "DataDoesNotMatch",
    "Sanctioned",
    "PossibleFraudAttempt",
    "UnderagePerson",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">\
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}}\
h1{{font-size:1.4rem}}.badge{{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#eef;font-size:.85rem}}\
form{{margin:1rem 0}}button{{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem;cursor:pointer}}\
.approve{{background:#1a7f37;color:#fff;border:0;border-radius:.3rem}}.reject{{background:#cf222e;color:#fff;border:0;border-radius:.3rem}}\
.secondary{{background:#eaeef2;border:0;border-radius:.3rem}}.tester{{margin-top:2rem;padding:1rem;border:1px dashed #999}}.steps{{display:flex;gap:1rem;padding:0;list-style:none;color:#888}}.steps .now{{color:#0969da;font-weight:bold}}.steps .done{{color:#1a7f37}}footer{{margin-top:2rem;color:#666;font-size:.8rem}}</style></head><body>{body}\
<footer>Provider emulator: a local stand-in for the provider's pages. No data leaves this machine.</footer></body></html>"
    ))
}

fn form(id: &str, action: &str, button: &str, class: &str, extra: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/hosted/{id}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">{extra}\
<button class=\"{class}\" id=\"{action}\" type=\"submit\">{button}</button></form>"
    )
}

fn reasons(select_id: &str) -> String {
    let options: String = REJECT_REASONS
        .iter()
        .map(|r| format!("<option value=\"{r}\">{r}</option>"))
        .collect();
    format!("<label for=\"{select_id}\">Reason</label> <select id=\"{select_id}\" name=\"reason\">{options}</select> ")
}

fn steps(current: usize) -> String {
    let names = ["Consent", "Document", "Selfie", "Result"];
    let items: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let class = if i == current {
                "step now"
            } else if i < current {
                "step done"
            } else {
                "step"
            };
            format!("<li class=\"{class}\">{n}</li>")
        })
        .collect();
    format!("<ol class=\"steps\">{items}</ol>")
}

pub(crate) async fn hosted_page(
    State(emu): State<Emulator>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = q.get("id") else {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", "<h1>No verification id in the link</h1>"),
        )
            .into_response();
    };
    let Some(idv) = emu.idv(id) else {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", "<h1>This verification link is not valid</h1>"),
        )
            .into_response();
    };
    let kyc = idv
        .kyc_id
        .as_ref()
        .and_then(|k| emu.inner().kycs.get(k).cloned());
    let id = escape(&idv.id);
    let next = idv
        .redirect_url
        .as_ref()
        .map(|u| {
            format!(
                "<p><a id=\"continue\" href=\"{}\">Continue</a></p>",
                escape(u)
            )
        })
        .unwrap_or_default();
    let body = match (&kyc, idv.status.as_str()) {
        (Some(k), _) if k.status != "Awaiting" => format!(
            "{}<h1>Verification finished</h1><p>Result: <strong id=\"result\">{}</strong>{}</p>{next}",
            steps(3),
            escape(&k.status),
            k.status_reason.as_ref().map(|r| format!(" <span class=\"badge\">{}</span>", escape(r))).unwrap_or_default()
        ),
        (_, "Aborted" | "Expired") => format!(
            "<h1>This verification has ended</h1><p>Status: <strong id=\"result\">{}</strong></p>{next}",
            escape(&idv.status)
        ),
        (Some(k), "Completed") if k.completed.is_some() => format!(
            "{}<h1>Thank you</h1><p id=\"status\">Your documents are under manual review.</p>\
<section class=\"tester\"><h2>Operator (tester)</h2>{}{}</section>",
            steps(3),
            form(&id, "operator_approve", "Approve after review", "approve", ""),
            form(&id, "operator_reject", "Reject after review", "reject", &reasons("operator-reason")),
        ),
        (_, "Pending") => format!(
            "{}<h1>Verify your identity</h1><p>We will ask for a photo of an identity document and a selfie. \
The data is processed to verify your identity.</p>{}{}",
            steps(0),
            form(&id, "consent", "I agree, start", "approve", ""),
            form(&id, "abandon", "Decline", "secondary", ""),
        ),
        _ if !idv.document_done => format!(
            "{}<h1>Your identity document</h1><p>Place the document in the frame.</p>{}{}",
            steps(1),
            form(
                &id,
                "document",
                "Take document photo",
                "approve",
                "<label for=\"doctype\">Document</label> <select id=\"doctype\" name=\"document_type\">\
<option>IdCard</option><option>Passport</option><option>DriverLicense</option></select> "
            ),
            form(&id, "abandon", "Quit", "secondary", ""),
        ),
        _ if !idv.selfie_done => format!(
            "{}<h1>A selfie</h1><p>Look at the camera.</p>{}{}",
            steps(2),
            form(&id, "selfie", "Take selfie", "approve", ""),
            form(&id, "abandon", "Quit", "secondary", ""),
        ),
        _ => format!(
            "{}<h1>Choose the outcome</h1><p>A real check would run now. As the tester, pick what it decides.</p>{}{}{}{}{}",
            steps(3),
            form(&id, "approve", "Approve", "approve", ""),
            form(&id, "reject", "Reject", "reject", &reasons("reason")),
            form(&id, "review", "Send to manual review", "secondary", ""),
            form(&id, "abandon", "Abandon", "secondary", ""),
            form(&id, "expire", "Let it expire", "secondary", ""),
        ),
    };
    layout("Identity verification", &body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ActionForm {
    action: String,
    reason: Option<String>,
}

pub(crate) async fn hosted_action(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let reason = form
        .reason
        .as_deref()
        .filter(|r| REJECT_REASONS.contains(r));
    let kyc = || emu.idv(&id).and_then(|i| i.kyc_id);
    let done = match form.action.as_str() {
        "consent" => emu.begin(&id).await,
        "document" | "selfie" => emu.step(&id, &form.action).await,
        "approve" => emu.finish(&id, Outcome::Approve, None).await,
        "reject" => emu.finish(&id, Outcome::Reject, reason).await,
        "review" => emu.submit(&id).await.is_some(),
        "operator_approve" => match kyc() {
            Some(k) => {
                emu.decide_kyc(&k, Outcome::Approve, Some("ManuallyIdentified"))
                    .await
            }
            None => false,
        },
        "operator_reject" => match kyc() {
            Some(k) => emu.decide_kyc(&k, Outcome::Reject, reason).await,
            None => false,
        },
        "abandon" => emu.end_idv(&id, "Aborted").await,
        "expire" => emu.end_idv(&id, "Expired").await,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                layout("Bad request", "<h1>Unknown action</h1>"),
            )
                .into_response()
        }
    };
    if !done {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", "<h1>This verification link is not valid</h1>"),
        )
            .into_response();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id", &id)
        .finish();
    Redirect::to(&format!("/?{query}")).into_response()
}
