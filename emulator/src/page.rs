//! The layout every page of the emulator shares (providers' hosted and upload pages): plain HTML,
//! no JavaScript, no external assets.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Text made safe to put in HTML, attributes included.
/// What a hosted page's forms post: the action, and a reason where the action takes one.
#[derive(serde::Deserialize)]
pub(crate) struct ActionForm {
    pub action: String,
    pub reason: Option<String>,
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A whole page around `body`, with the shared style and footer.
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

/// A page answering `status` with one heading.
pub(crate) fn message(status: StatusCode, title: &str, heading: &str) -> Response {
    (status, layout(title, &format!("<h1>{heading}</h1>"))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_text_has_markup_should_escape_it() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn when_a_page_is_laid_out_should_carry_title_body_and_footer() {
        let Html(page) = layout("T", "<p id=\"b\">B</p>");
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("<title>T</title>") && page.contains("<p id=\"b\">B</p>"));
        assert!(page.contains("<footer>Provider emulator"));
    }
}
