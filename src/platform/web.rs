//! Server-rendered pages: minijinja templates from `theme/`, embedded in
//! the binary, HTML-escaped everywhere. The public site and the admin
//! build on this; the account pages (setup, password reset, registration)
//! are its first users.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// Every template, by its path under `theme/`.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../theme/layout.html")),
    ("account/setup.html", include_str!("../../theme/account/setup.html")),
    ("account/reset-password.html", include_str!("../../theme/account/reset-password.html")),
    ("account/register.html", include_str!("../../theme/account/register.html")),
    ("account/done.html", include_str!("../../theme/account/done.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary: one that does not parse
            // is a build mistake, caught by the tests below.
            environment.add_template(name, source).expect("theme templates parse");
        }
        environment
    })
}

/// Renders `name` with `context` as a page with `status`.
pub fn page(status: StatusCode, name: &str, context: impl Serialize) -> Response {
    let rendered = environment().get_template(name).and_then(|template| template.render(context));
    match rendered {
        Ok(html) => {
            let mut response = (status, html).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            // Pages with forms and one-time tokens: never kept by anyone.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            response.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            response
        }
        Err(error) => {
            tracing::error!(template = name, error = %error, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        for (name, _) in TEMPLATES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
        let html = environment()
            .get_template("account/done.html")
            .unwrap()
            .render(minijinja::context! { title => "<b>", message => "<script>x</script>", site => "s" })
            .unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>x"), "{html}");
    }
}
