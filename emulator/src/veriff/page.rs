//! The hosted page a person meets at `/veriff/v/{sessionToken}`: plain HTML forms, every one
//! posting back to the page's own path, no JavaScript. The person starts and submits; then the
//! tester picks the decision (approve, decline with a reason code, ask to resubmit, send to
//! review, abandon, expire), and after a review decides as the operator. A resubmission brings
//! the person back to the same page for a new attempt. Links carry the emulator's path prefix.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use super::{
    VeriffRefusal, VeriffSession, VeriffStatus, BASE, DECLINE_REASONS, MAX_RESUBMISSIONS,
    RESUBMISSION_REASONS,
};
use crate::page::{escape, layout, message, ActionForm};
use crate::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new().route(&format!("{BASE}/v/{{token}}"), get(page).post(action))
}

/// The forms of one session's page, each posting to `{prefix}/veriff/v/{token}`.
struct Forms {
    action: String,
}

impl Forms {
    fn button(&self, action: &str, label: &str, class: &str, extra: &str) -> String {
        format!(
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">{extra}\
<button class=\"{class}\" id=\"{action}\" type=\"submit\">{label}</button></form>",
            self.action
        )
    }

    /// Abandon and expire, offered wherever the session can still end that way.
    fn endings(&self) -> String {
        format!(
            "{}{}",
            self.button("abandon", "Abandon", "secondary", ""),
            self.button("expire", "Let it expire", "secondary", "")
        )
    }
}

/// A `<select name="reason">` of reason codes.
fn reasons(select_id: &str, choices: &[(u16, &str)]) -> String {
    let options: String = choices
        .iter()
        .map(|(code, text)| format!("<option value=\"{code}\">{code} {}</option>", escape(text)))
        .collect();
    format!("<label for=\"{select_id}\">Reason</label> <select id=\"{select_id}\" name=\"reason\">{options}</select> ")
}

fn steps(current: usize) -> String {
    let items: String = ["Start", "Document and selfie", "Decision"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let class = match i.cmp(&current) {
                std::cmp::Ordering::Less => "step done",
                std::cmp::Ordering::Equal => "step now",
                std::cmp::Ordering::Greater => "step",
            };
            format!("<li class=\"{class}\">{name}</li>")
        })
        .collect();
    format!("<ol class=\"steps\">{items}</ol>")
}

/// `GET /veriff/v/{token}`: the page for wherever the session is.
async fn page(State(emu): State<Emulator>, Path(token): Path<String>) -> Response {
    let Some(session) = emu
        .veriff_session_by_token(&token)
        .and_then(|id| emu.veriff_session(&id))
    else {
        return not_found();
    };
    let forms = Forms {
        action: escape(&format!("{}{}", emu.path_prefix(), session.page_path())),
    };
    layout("Identity verification", &body(&session, &forms)).into_response()
}

fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "This verification link is not valid",
    )
}

fn body(s: &VeriffSession, f: &Forms) -> String {
    let attempt = format!(
        "<p>Attempt <span id=\"attempt\">{}</span>, resubmissions <span id=\"resubmissions\">{}</span> of {MAX_RESUBMISSIONS}</p>",
        s.attempts.len().max(1),
        s.resubmissions
    );
    match s.status {
        VeriffStatus::Created => format!(
            "{}<h1>Verify your identity</h1><p>You will show an identity document and take a selfie.</p>{}\
<section class=\"tester\"><h2>Tester</h2>{}</section>",
            steps(0),
            f.button("start", "Start", "approve", ""),
            f.endings()
        ),
        VeriffStatus::Started => format!(
            "{}<h1>Your document and a selfie</h1>{attempt}<p>Any picture will do: this is the emulator.</p>{}\
<section class=\"tester\"><h2>Tester</h2>{}</section>",
            steps(1),
            f.button("submit", "Submit", "approve", ""),
            f.endings()
        ),
        VeriffStatus::Submitted => decision_body(s, f, &attempt),
        VeriffStatus::Review => format!(
            "{}<h1>Thank you</h1>{attempt}<p id=\"status\">Your verification is under review.</p>\
<section class=\"tester\"><h2>Operator (tester)</h2>{}{}{}</section>",
            steps(2),
            f.button("approve", "Approve after review", "approve", ""),
            f.button("decline", "Decline after review", "reject", &reasons("decline-reason", DECLINE_REASONS)),
            f.button("resubmit", "Ask to resubmit", "secondary", &reasons("resubmit-reason", RESUBMISSION_REASONS)),
        ),
        VeriffStatus::ResubmissionRequested => format!(
            "{}<h1>Please try again</h1>{attempt}<p>Reason: <strong id=\"reason\">{}</strong></p>{}\
<section class=\"tester\"><h2>Tester</h2>{}</section>",
            steps(0),
            escape(s.decision.as_ref().and_then(|d| d.reason.as_deref()).unwrap_or("")),
            f.button("start", "Start again", "approve", ""),
            f.endings()
        ),
        _ => finished_body(s),
    }
}

/// The tester's choice once the person submitted.
fn decision_body(s: &VeriffSession, f: &Forms, attempt: &str) -> String {
    let limit = if s.resubmissions >= MAX_RESUBMISSIONS {
        "<p id=\"limit\">The resubmissions are used up: asking for one more declines the session (reason code 539).</p>"
    } else {
        ""
    };
    format!(
        "{}<h1>Choose the decision</h1>{attempt}<p>A real check would run now. As the tester, pick what it decides.</p>{limit}{}{}{}{}{}",
        steps(2),
        f.button("approve", "Approve", "approve", ""),
        f.button("decline", "Decline", "reject", &reasons("decline-reason", DECLINE_REASONS)),
        f.button("resubmit", "Ask to resubmit", "secondary", &reasons("resubmit-reason", RESUBMISSION_REASONS)),
        f.button("review", "Send to review", "secondary", ""),
        f.endings(),
    )
}

fn finished_body(s: &VeriffSession) -> String {
    let reason = s
        .decision
        .as_ref()
        .and_then(|d| d.reason.as_deref())
        .map(|r| format!(" <span class=\"badge\">{}</span>", escape(r)))
        .unwrap_or_default();
    let next = s
        .callback
        .as_ref()
        .map(|u| {
            format!(
                "<p><a id=\"continue\" href=\"{}\">Continue</a></p>",
                escape(u)
            )
        })
        .unwrap_or_default();
    format!(
        "{}<h1>Verification finished</h1><p>Result: <strong id=\"result\">{}</strong>{reason}</p>{next}",
        steps(3),
        s.status.as_str()
    )
}

/// `POST /veriff/v/{token}`: one step or decision, then back to the page.
async fn action(
    State(emu): State<Emulator>,
    Path(token): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some(id) = emu.veriff_session_by_token(&token) else {
        return not_found();
    };
    let picked = |choices: &[(u16, &str)]| {
        let code = form.reason.as_deref().and_then(|r| r.parse().ok());
        code.filter(|c| choices.iter().any(|(k, _)| k == c))
            .unwrap_or(choices[0].0)
    };
    let decide = |status, code| emu.veriff_decide(&id, status, code, None);
    let done = match form.action.as_str() {
        "start" => emu.veriff_start(&id).await,
        "submit" => emu.veriff_submit(&id).await,
        "approve" => decide(VeriffStatus::Approved, None).await.map(|_| ()),
        "decline" => {
            let code = picked(DECLINE_REASONS);
            decide(VeriffStatus::Declined, Some(code)).await.map(|_| ())
        }
        "resubmit" => {
            let code = picked(RESUBMISSION_REASONS);
            let status = VeriffStatus::ResubmissionRequested;
            decide(status, Some(code)).await.map(|_| ())
        }
        "review" => decide(VeriffStatus::Review, None).await.map(|_| ()),
        "abandon" => decide(VeriffStatus::Abandoned, None).await.map(|_| ()),
        "expire" => decide(VeriffStatus::Expired, None).await.map(|_| ()),
        _ => return message(StatusCode::BAD_REQUEST, "Bad request", "Unknown action"),
    };
    match done {
        Ok(()) => {
            let page = format!("{}{BASE}/v/{token}", emu.path_prefix());
            Redirect::to(&page).into_response()
        }
        Err(VeriffRefusal::UnknownSession) => not_found(),
        Err(refusal) => message(
            StatusCode::CONFLICT,
            "Not possible now",
            &escape(&format!("This step is {refusal}")),
        ),
    }
}
