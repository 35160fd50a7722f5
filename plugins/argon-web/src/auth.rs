//! The access token: given once in the address, then kept in a cookie
//! that only this origin sends (SameSite=Strict, HttpOnly). Forms that
//! change anything also carry the CSRF token the page was rendered with.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::html;
use crate::App;

const COOKIE: &str = "argon_web_token";

fn cookie_token(req: &Request) -> Option<String> {
    let cookies = req.headers().get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_string())
    })
}

fn query_token(req: &Request) -> Option<String> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "token").then(|| v.to_string())
    })
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Refuses every request without the token; a token in the address
/// becomes a cookie and leaves the address.
pub async fn require_token(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(t) = query_token(&req) {
        if !same(&t, &app.token) {
            return refused();
        }
        let path = req.uri().path().to_string();
        let mut response = Redirect::to(&path).into_response();
        let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", app.token);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return response;
    }
    match cookie_token(&req) {
        Some(t) if same(&t, &app.token) => {
            let mut response = next.run(req).await;
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                ),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        _ => refused(),
    }
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::response::Html(html::page_plain(
            "argon web: token needed",
            "<p class=\"error\">This page needs the access token: open the address <code>argon web</code> printed (it ends in <code>?token=…</code>).</p>",
        )),
    )
        .into_response()
}

/// Whether a form's CSRF field is the server's.
pub fn csrf_ok(app: &App, given: &str) -> bool {
    same(given, &app.csrf)
}
