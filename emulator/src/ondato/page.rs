//! The hosted page a person meets at `/?id={idv}`: plain HTML forms posting to `/hosted/{idv}`,
//! no JavaScript. Links and form actions carry the emulator's path prefix (a tenant's `/t/{id}`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::{Idv, Kyc};
use crate::page::{escape, layout, message, ActionForm};
use crate::{Emulator, Outcome};

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/", get(hosted_page))
        .route("/hosted/{id}", post(hosted_action))
}

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

/// The forms of one IDV's page, each posting to `{prefix}/hosted/{id}`.
struct Forms<'a> {
    prefix: &'a str,
    id: String,
}

impl Forms<'_> {
    fn button(&self, action: &str, button: &str, class: &str, extra: &str) -> String {
        let (prefix, id) = (self.prefix, &self.id);
        format!(
            "<form method=\"post\" action=\"{prefix}/hosted/{id}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">{extra}\
<button class=\"{class}\" id=\"{action}\" type=\"submit\">{button}</button></form>"
        )
    }
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

/// `GET /?id={idv}`: the page for wherever the IDV is in the flow.
async fn hosted_page(
    State(emu): State<Emulator>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = q.get("id") else {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "No verification id in the link",
        );
    };
    let Some(idv) = emu.idv(id) else {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "This verification link is not valid",
        );
    };
    let kyc = idv
        .kyc_id
        .as_ref()
        .and_then(|k| emu.inner().providers.ondato.kycs.get(k).cloned());
    let forms = Forms {
        prefix: emu.path_prefix(),
        id: escape(&idv.id),
    };
    layout(
        "Identity verification",
        &page_body(&idv, kyc.as_ref(), &forms),
    )
    .into_response()
}

fn page_body(idv: &Idv, kyc: Option<&Kyc>, f: &Forms<'_>) -> String {
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
    match (kyc, idv.status.as_str()) {
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
            f.button("operator_approve", "Approve after review", "approve", ""),
            f.button("operator_reject", "Reject after review", "reject", &reasons("operator-reason")),
        ),
        (_, "Pending") => format!(
            "{}<h1>Verify your identity</h1><p>We will ask for a photo of an identity document and a selfie. \
The data is processed to verify your identity.</p>{}{}",
            steps(0),
            f.button("consent", "I agree, start", "approve", ""),
            f.button("abandon", "Decline", "secondary", ""),
        ),
        _ => step_body(idv, f),
    }
}

/// The page while the person takes the photos, then picks the outcome as the tester.
fn step_body(idv: &Idv, f: &Forms<'_>) -> String {
    if !idv.document_done {
        return format!(
            "{}<h1>Your identity document</h1><p>Place the document in the frame.</p>{}{}",
            steps(1),
            f.button(
                "document",
                "Take document photo",
                "approve",
                "<label for=\"doctype\">Document</label> <select id=\"doctype\" name=\"document_type\">\
<option>IdCard</option><option>Passport</option><option>DriverLicense</option></select> "
            ),
            f.button("abandon", "Quit", "secondary", ""),
        );
    }
    if !idv.selfie_done {
        return format!(
            "{}<h1>A selfie</h1><p>Look at the camera.</p>{}{}",
            steps(2),
            f.button("selfie", "Take selfie", "approve", ""),
            f.button("abandon", "Quit", "secondary", ""),
        );
    }
    format!(
        "{}<h1>Choose the outcome</h1><p>A real check would run now. As the tester, pick what it decides.</p>{}{}{}{}{}",
        steps(3),
        f.button("approve", "Approve", "approve", ""),
        f.button("reject", "Reject", "reject", &reasons("reason")),
        f.button("review", "Send to manual review", "secondary", ""),
        f.button("abandon", "Abandon", "secondary", ""),
        f.button("expire", "Let it expire", "secondary", ""),
    )
}

/// `POST /hosted/{idv}`: one action of the flow, then back to the page.
async fn hosted_action(
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
        _ => return message(StatusCode::BAD_REQUEST, "Bad request", "Unknown action"),
    };
    if !done {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "This verification link is not valid",
        );
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id", &id)
        .finish();
    Redirect::to(&format!("{}/?{query}", emu.path_prefix())).into_response()
}
