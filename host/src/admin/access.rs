//! Who may use the admin listener, and from where.
//!
//! - With `[admin] token` set, the admin API and the console require it: as
//!   `Authorization: Bearer <token>` (scripts, `weir` commands), or as the console's
//!   cookie, set once on its sign-in page (`HttpOnly`, `SameSite=Strict`; it holds a
//!   digest of the token, never the token). `/healthz`, `/readyz` and `/metrics` stay
//!   open for probes and scrapers, and so do the sign-in page and the console's assets.
//! - Whatever the token, a request that changes state (anything but GET and HEAD) from
//!   a browser must come from the console's own pages: `Sec-Fetch-Site` must be
//!   `same-origin` (or `none`, typed by the user), or, from a browser that does not send
//!   it, `Origin` must be the listener's own. Another site's page cannot replay dead
//!   letters through the operator's browser. Clients that send neither (curl, `weir`)
//!   are not browsers and are let through to the token check.
//!
//! The token is read from the running config at each request, so a reload that changes
//! it takes effect at once.

use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::AdminState;
use super::console::html;

/// The console's cookie.
pub const COOKIE: &str = "weir_admin";

/// Paths anyone may read: probes, scrapers, the sign-in page and what it needs.
fn open(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/login") || path.starts_with("/assets/")
}

/// The cookie's value for a token: a digest, so the cookie never holds the token.
fn cookie_value(token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"weir-admin-console\0");
    digest.update(token.as_bytes());
    hex::encode(digest.finalize())
}

/// Equal, compared in constant time so that the comparison does not leak the secret.
fn same(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether a request carries the token (as a bearer token or the console's cookie).
pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|given| same(given.trim(), token)) {
        return true;
    }
    let expected = cookie_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && same(value, &expected))
}

/// Whether a request that changes state may come from where it comes from.
pub fn same_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (text(header::ORIGIN.as_str()), text(header::HOST.as_str())) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

/// The guard in front of every admin route.
pub async fn guard(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if changes && !same_site(request.headers()) {
        let message = "cross-site request refused: admin actions must come from the console's own pages \
                       (or from a client that is not a browser, such as weir or curl)";
        return (StatusCode::FORBIDDEN, axum::Json(json!({ "error": message }))).into_response();
    }
    if open(&path) {
        return next.run(request).await;
    }
    let token = state.reloader.topology.load().config.admin.token.clone();
    let Some(token) = token else {
        return next.run(request).await;
    };
    if authorized(request.headers(), token.expose()) {
        return next.run(request).await;
    }
    if path.starts_with("/admin/") {
        let message = "the admin API needs the admin token: send Authorization: Bearer <token> \
                       (weir commands read it from --token or $WEIR_ADMIN_TOKEN)";
        let mut response = (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": message }))).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    // The console: the sign-in page, which comes back here once the token is given.
    let back = request
        .uri()
        .path_and_query()
        .map_or("/".to_string(), ToString::to_string);
    if request.method() == Method::GET {
        Redirect::to(&format!("/login?next={}", html::url_escape(&back))).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            html::page("Sign in", &sign_in_form("/", None)),
        )
            .into_response()
    }
}

/// Query of the sign-in page: where to go once signed in.
#[derive(Debug, Deserialize)]
pub struct Back {
    next: Option<String>,
}

/// Where a sign-in may send the browser: a path of this listener only.
fn local(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_string(),
        _ => "/".to_string(),
    }
}

fn sign_in_form(next: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p class=\"notice bad\" role=\"alert\">{}</p>", html::esc(p)))
        .unwrap_or_default();
    format!(
        "<section class=\"card narrow\"><h2>Sign in</h2>{problem}\
         <p>This Weir asks for its admin token (<code>[admin] token</code> in its config).</p>\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label for=\"token\">Admin token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <button type=\"submit\">Sign in</button></form></section>",
        next = html::esc(next)
    )
}

/// `GET /login`: the sign-in page (or the console, when no token is needed).
pub async fn login_page(State(state): State<AdminState>, Query(back): Query<Back>) -> Response {
    let next = local(back.next.as_deref());
    if state.reloader.topology.load().config.admin.token.is_none() {
        return Redirect::to(&next).into_response();
    }
    html::page("Sign in", &sign_in_form(&next, None)).into_response()
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    token: String,
    next: Option<String>,
}

/// `POST /login`: checks the token and sets the console's cookie.
pub async fn login(State(state): State<AdminState>, Form(form): Form<SignIn>) -> Response {
    let next = local(form.next.as_deref());
    let Some(token) = state.reloader.topology.load().config.admin.token.clone() else {
        return Redirect::to(&next).into_response();
    };
    if !same(form.token.trim(), token.expose()) {
        tracing::warn!("console sign-in with a wrong admin token");
        let body = sign_in_form(&next, Some("That is not the admin token."));
        return (StatusCode::UNAUTHORIZED, html::page("Sign in", &body)).into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_value(token.expose())
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /logout`: forgets the console's cookie.
pub async fn logout() -> Response {
    let mut response = Redirect::to("/login").into_response();
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_token_is_taken_as_a_bearer_token_or_the_cookie_of_its_digest() {
        let token = "0123456789abcdef-token";
        assert!(authorized(
            &headers(&[("authorization", "Bearer 0123456789abcdef-token")]),
            token
        ));
        assert!(!authorized(&headers(&[("authorization", "Bearer wrong")]), token));
        let cookie = format!("theme=dark; {COOKIE}={}", cookie_value(token));
        assert!(authorized(&headers(&[("cookie", &cookie)]), token));
        // The cookie holds the digest, never the token itself.
        assert!(!authorized(
            &headers(&[("cookie", &format!("{COOKIE}={token}"))]),
            token
        ));
        assert!(!authorized(&headers(&[]), token));
    }

    #[test]
    fn state_changes_are_refused_from_other_sites() {
        let cases = [
            (vec![("sec-fetch-site", "same-origin")], true),
            (vec![("sec-fetch-site", "none")], true),
            (vec![("sec-fetch-site", "cross-site")], false),
            (vec![("sec-fetch-site", "same-site")], false),
            (
                vec![("origin", "http://127.0.0.1:9090"), ("host", "127.0.0.1:9090")],
                true,
            ),
            (
                vec![("origin", "http://evil.example"), ("host", "127.0.0.1:9090")],
                false,
            ),
            (vec![("origin", "null"), ("host", "127.0.0.1:9090")], false),
            (vec![("host", "127.0.0.1:9090")], true),
        ];
        for (pairs, expected) in cases {
            assert_eq!(same_site(&headers(&pairs)), expected, "{pairs:?}");
        }
    }

    #[test]
    fn a_sign_in_only_sends_the_browser_to_a_local_path() {
        assert_eq!(local(Some("/events?id=a")), "/events?id=a");
        for outside in ["https://evil.example/", "//evil.example/", "/\\evil.example", "events"] {
            assert_eq!(local(Some(outside)), "/", "{outside}");
        }
        assert_eq!(local(None), "/");
    }
}
