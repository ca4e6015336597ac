//! The page behind each upload link Bond hands out (`/bond/upload/{customer}/{document}`): one
//! file input; any image or PDF counts as the document.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::page::layout;
use crate::Emulator;

pub(super) fn routes() -> Router<Emulator> {
    Router::new().route(
        "/bond/upload/{id}/{document}",
        get(upload_page).post(upload_form),
    )
}

/// Where a person uploads `document` for `customer`, under the emulator's `base` URL.
pub(super) fn upload_link(base: &str, customer: &str, document: &str) -> String {
    format!("{base}/bond/upload/{customer}/{document}")
}

async fn upload_page(
    State(emu): State<Emulator>,
    Path((id, document)): Path<(String, String)>,
) -> Response {
    let known = emu
        .inner()
        .providers
        .bond
        .customers
        .get(&id)
        .is_some_and(|c| c.documents.iter().any(|(d, _)| *d == document));
    if !known {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>This upload link is not valid</h1>".to_owned()),
        )
            .into_response();
    }
    let doc = document.replace('_', " ");
    layout(
        &format!("Upload {doc}"),
        &format!(
            "<h1>Upload your {doc}</h1><p>Any image or PDF will do: this is the emulator.</p>\
<form method=\"post\" enctype=\"multipart/form-data\"><input type=\"file\" id=\"file\" name=\"file\" accept=\"image/*,application/pdf\" required> \
<button class=\"approve\" id=\"upload\" type=\"submit\">Upload</button></form>"
        ),
    )
    .into_response()
}

async fn upload_form(
    State(emu): State<Emulator>,
    Path((id, document)): Path<(String, String)>,
    mut form: Multipart,
) -> Response {
    // The document is any file: only that one arrived, with some bytes, matters here.
    let mut received = false;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            received = field.bytes().await.is_ok_and(|b| !b.is_empty());
        }
    }
    if !received {
        return (
            StatusCode::BAD_REQUEST,
            Html("<h1>Choose a file to upload</h1>".to_owned()),
        )
            .into_response();
    }
    match emu.upload(&id, &[document]).await {
        Some(_) => layout(
            "Thank you",
            "<h1>Thank you</h1><p id=\"done\">Your document was received.</p>",
        )
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html("<h1>This upload link is not valid</h1>".to_owned()),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_link_is_made_should_sit_under_the_emulators_base() {
        assert_eq!(
            upload_link("http://h:1/t/4", "c-1", "government_id"),
            "http://h:1/t/4/bond/upload/c-1/government_id"
        );
    }
}
