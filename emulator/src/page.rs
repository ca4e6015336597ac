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

fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}}\
h1{{font-size:1.4rem}}.badge{{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#eef;font-size:.85rem}}\
form{{margin:1rem 0}}button{{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem;cursor:pointer}}\
.approve{{background:#1a7f37;color:#fff;border:0;border-radius:.3rem}}.reject{{background:#cf222e;color:#fff;border:0;border-radius:.3rem}}\
footer{{margin-top:2rem;color:#666;font-size:.8rem}}</style></head><body>{body}\
<footer>Ondato emulator: a local stand-in for the hosted verification page. No data leaves this machine.</footer></body></html>"
    ))
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
    let decided = kyc.as_ref().filter(|k| k.status != "Awaiting");
    let id_html = escape(&idv.id);
    let body = match decided {
        Some(k) => {
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
            format!(
                "<h1>Verification finished</h1><p>Result: <strong id=\"result\">{}</strong>{}</p>{next}",
                escape(&k.status),
                k.status_reason.as_ref().map(|r| format!(" <span class=\"badge\">{}</span>", escape(r))).unwrap_or_default()
            )
        }
        None => {
            let options: String = REJECT_REASONS
                .iter()
                .map(|r| format!("<option value=\"{r}\">{r}</option>"))
                .collect();
            format!(
                "<h1>Verify your identity</h1><p>Status: <span class=\"badge\" id=\"status\">{status}</span></p>\
<p>In a real flow you would now photograph your document and take a selfie. Here, choose the result.</p>\
<form method=\"post\" action=\"/hosted/{id_html}\"><input type=\"hidden\" name=\"action\" value=\"approve\">\
<button class=\"approve\" id=\"approve\" type=\"submit\">Approve</button></form>\
<form method=\"post\" action=\"/hosted/{id_html}\"><input type=\"hidden\" name=\"action\" value=\"reject\">\
<label for=\"reason\">Reason</label> <select id=\"reason\" name=\"reason\">{options}</select> \
<button class=\"reject\" id=\"reject\" type=\"submit\">Reject</button></form>",
                status = escape(&idv.status),
            )
        }
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
    let outcome = match form.action.as_str() {
        "approve" => Outcome::Approve,
        "reject" => Outcome::Reject,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                layout("Bad request", "<h1>Unknown action</h1>"),
            )
                .into_response()
        }
    };
    let reason = form
        .reason
        .as_deref()
        .filter(|r| REJECT_REASONS.contains(r));
    if !emu.finish(&id, outcome, reason).await {
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
