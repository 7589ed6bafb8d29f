//! Server-rendered pages: minijinja templates, HTML-escaped everywhere.
//!
//! The default theme (`theme/`) is embedded in the binary. `FLINT_THEME_DIR`
//! overrides any of its files by path: a blogger changes a template without
//! a Rust toolchain. A template in that folder that does not parse is
//! reported at start-up with its file and line, and the embedded one is used
//! instead, so a typo never takes the site down.

use std::path::{Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// Every template of the default theme, by its path under `theme/`.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../theme/layout.html")),
    ("account/setup.html", include_str!("../../theme/account/setup.html")),
    ("account/reset-password.html", include_str!("../../theme/account/reset-password.html")),
    ("account/register.html", include_str!("../../theme/account/register.html")),
    ("account/done.html", include_str!("../../theme/account/done.html")),
];

/// A template of `FLINT_THEME_DIR` that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeProblem {
    pub file: PathBuf,
    /// 1-based, when the parser says.
    pub line: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for ThemeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

/// The templates pages are rendered with.
pub struct Theme {
    environment: Environment<'static>,
    /// Which templates came from `FLINT_THEME_DIR`.
    overridden: Vec<&'static str>,
}

impl Theme {
    /// The embedded theme only.
    pub fn embedded() -> Theme {
        Self::load(None).0
    }

    /// The embedded theme with the files of `dir` in place of its own, and
    /// what could not be used (those keep the embedded file).
    pub fn load(dir: Option<&Path>) -> (Theme, Vec<ThemeProblem>) {
        let mut environment = Environment::new();
        let mut overridden = Vec::new();
        let mut problems = Vec::new();
        for (name, embedded) in TEMPLATES {
            if let Some(dir) = dir {
                let file = dir.join(name);
                match std::fs::read_to_string(&file) {
                    Ok(source) => match environment.add_template_owned(*name, source) {
                        Ok(()) => {
                            overridden.push(*name);
                            continue;
                        }
                        Err(error) => {
                            problems.push(ThemeProblem {
                                file,
                                line: error.line(),
                                reason: error.detail().unwrap_or("does not parse").to_owned(),
                            });
                        }
                    },
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => problems.push(ThemeProblem { file, line: None, reason: format!("cannot be read: {error}") }),
                }
            }
            // The embedded templates are part of the binary: one that does
            // not parse is a build mistake, caught by the tests below.
            environment.add_template(name, embedded).expect("embedded theme templates parse");
        }
        (Theme { environment, overridden }, problems)
    }

    /// The templates `FLINT_THEME_DIR` replaced.
    pub fn overridden(&self) -> &[&'static str] {
        &self.overridden
    }

    /// Renders `name` with `context` as a page with `status`. A template
    /// that fails while rendering (an override using a missing variable
    /// wrongly, say) is logged and answered with the opaque 500.
    pub fn page(&self, status: StatusCode, name: &str, context: impl Serialize) -> Response {
        let rendered = self.environment.get_template(name).and_then(|template| template.render(context));
        match rendered {
            Ok(html) => {
                let mut response = (status, html).into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
                // Pages with forms and one-time tokens: never kept by anyone.
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
                headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
                headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
                response
            }
            Err(error) => {
                tracing::error!(template = name, error = %error, "a page did not render");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        let theme = Theme::embedded();
        for (name, _) in TEMPLATES {
            assert!(theme.environment.get_template(name).is_ok(), "{name}");
        }
        let html = theme
            .environment
            .get_template("account/done.html")
            .unwrap()
            .render(minijinja::context! { title => "<b>", message => "<script>x</script>", site => "s" })
            .unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>x"), "{html}");
    }

    #[test]
    fn a_theme_dir_overrides_by_path_and_a_broken_file_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("account")).unwrap();
        std::fs::write(dir.path().join("account/done.html"), "<p>custom {{ message }}</p>").unwrap();
        std::fs::write(
            dir.path().join("account/setup.html"),
            "{% extends \"layout.html\" %}\n{% block content %}\n{% if %}\n{% endblock %}",
        )
        .unwrap();
        let (theme, problems) = Theme::load(Some(dir.path()));
        assert_eq!(theme.overridden(), ["account/done.html"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, dir.path().join("account/setup.html"));
        assert_eq!(problems[0].line, Some(3), "{}", problems[0]);
        let done = theme.environment.get_template("account/done.html").unwrap().render(minijinja::context! { message => "hi" }).unwrap();
        assert_eq!(done, "<p>custom hi</p>");
        assert!(theme.environment.get_template("account/setup.html").is_ok(), "the embedded setup page stands in");
    }
}
