//! Writing the console's HTML: escaping, the page around every view, and the few
//! pieces views share. Plain strings: the pages are small and a template engine would
//! be one more thing to learn for a few tables.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Text made safe for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text made safe for a URL's path segment or query value.
pub fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An HTML page (or fragment) response.
pub struct Html(pub String);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.0,
        )
            .into_response()
    }
}

/// A whole page: the header, the navigation and `body`.
pub fn page(title: &str, body: &str) -> Html {
    page_with(title, body, false)
}

/// A page that, without JavaScript, reloads itself every few seconds (with it, its
/// live parts update in place and the reload is not needed).
pub fn live_page(title: &str, body: &str) -> Html {
    page_with(title, body, true)
}

fn page_with(title: &str, body: &str, reload: bool) -> Html {
    let refresh = if reload {
        "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{refresh}\
         <title>{title} · Weir</title><link rel=\"stylesheet\" href=\"/assets/console.css\">\
         <script src=\"/assets/console.js\" defer></script></head><body>\
         <header><a class=\"brand\" href=\"/\">Weir</a><nav>\
         <a href=\"/\">Overview</a><a href=\"/events\">Events</a><a href=\"/plugins\">Plugins</a>\
         <a href=\"/config\">Config</a></nav>\
         <form method=\"post\" action=\"/logout\" class=\"signout\"><button type=\"submit\" class=\"link\">Sign out</button></form>\
         </header><main><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title)
    ))
}

/// A table: a header row and rows of cells already written as HTML.
pub fn table(id: &str, headers: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\" id=\"{id}\">{}</p>", esc(empty));
    }
    let mut out = format!("<div class=\"scroll\"><table id=\"{id}\"><thead><tr>");
    for header in headers {
        out.push_str(&format!("<th scope=\"col\">{}</th>", esc(header)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let label = headers.get(i).copied().unwrap_or_default();
            out.push_str(&format!("<td data-label=\"{}\">{cell}</td>", esc(label)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A notice at the top of a view: `good` or `bad`.
pub fn notice(kind: &str, text: &str) -> String {
    format!("<p class=\"notice {kind}\" role=\"status\">{}</p>", esc(text))
}

/// A number as people read it: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An optional value, or a dash.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "–".to_string(), |v| esc(&v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_would_read_as_markup() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_escape("evt 1/ä"), "evt%201%2F%C3%A4");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
    }
}
