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

/// The first path segments the site's own routes use: a standalone page
/// (served at `/{slug}`) may not take one. A test checks that every route
/// is covered, so a new route cannot be shadowed by a page, or shadow one.
pub const RESERVED_PATHS: &[&str] = &[
    "_fn",
    "admin",
    "api",
    "archive",
    "assets",
    "atom.xml",
    "category",
    "favicon.ico",
    "feed.json",
    "forgot-password",
    "friend-links",
    "healthz",
    "icons",
    "images",
    "manifest.json",
    "metrics",
    "post",
    "posts",
    "readyz",
    "register",
    "reset-password",
    "robots.txt",
    "rss.xml",
    "search",
    "setup",
    "sign-in",
    "sign-out",
    "site.webmanifest",
    "sitemap",
    "sitemap.xml",
    "favicon.svg",
    "favicon-96x96.png",
    "apple-touch-icon.png",
    "web-app-manifest-192x192.png",
    "web-app-manifest-512x512.png",
    "tag",
    "tags",
    "unsubscribe",
    "verify-email",
];

/// Whether `slug` is the first segment of one of the site's own routes.
pub fn is_reserved_path(slug: &str) -> bool {
    RESERVED_PATHS.contains(&slug)
}

/// Every template of the default theme, by its path under `theme/`.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../theme/layout.html")),
    ("account/setup.html", include_str!("../../theme/account/setup.html")),
    ("account/reset-password.html", include_str!("../../theme/account/reset-password.html")),
    ("account/register.html", include_str!("../../theme/account/register.html")),
    ("account/done.html", include_str!("../../theme/account/done.html")),
    ("account/sign-in.html", include_str!("../../theme/account/sign-in.html")),
    ("account/verify-email.html", include_str!("../../theme/account/verify-email.html")),
    ("account/forgot-password.html", include_str!("../../theme/account/forgot-password.html")),
    ("account/unsubscribe.html", include_str!("../../theme/account/unsubscribe.html")),
    ("home.html", include_str!("../../theme/home.html")),
    ("post.html", include_str!("../../theme/post.html")),
    ("not-found.html", include_str!("../../theme/not-found.html")),
    ("list.html", include_str!("../../theme/list.html")),
    ("tags.html", include_str!("../../theme/tags.html")),
    ("archive.html", include_str!("../../theme/archive.html")),
    ("search.html", include_str!("../../theme/search.html")),
    ("friend-links.html", include_str!("../../theme/friend-links.html")),
    ("error.html", include_str!("../../theme/error.html")),
    ("page.html", include_str!("../../theme/page.html")),
    ("admin/layout.html", include_str!("../../theme/admin/layout.html")),
    ("admin/dashboard.html", include_str!("../../theme/admin/dashboard.html")),
    ("admin/posts.html", include_str!("../../theme/admin/posts.html")),
];

/// The theme's stylesheet (the highlighter's colours are added to it).
const STYLESHEET: (&str, &str) = ("assets/style.css", include_str!("../../theme/assets/style.css"));

/// The theme's script: it only enhances (the page-view beacon, posting a
/// comment without a reload); every page works without it.
const SCRIPT: (&str, &str) = ("assets/site.js", include_str!("../../theme/assets/site.js"));

/// The CSS of the highlighter's classes: a light theme, and a dark one
/// when the reader's system is dark.
fn highlight_css() -> String {
    use syntect::highlighting::ThemeSet;
    use syntect::html::{ClassStyle, css_for_theme_with_class_style};
    let themes = ThemeSet::load_defaults();
    // Every colour is made readable on the theme's code background
    // (`--surface` in style.css): WCAG AA, 4.5:1.
    let css = |name: &str, background: [u8; 3]| {
        let mut theme = themes.themes.get(name)?.clone();
        for item in &mut theme.scopes {
            if let Some(colour) = &mut item.style.foreground {
                *colour = readable_on(*colour, background);
            }
        }
        if let Some(colour) = &mut theme.settings.foreground {
            *colour = readable_on(*colour, background);
        }
        css_for_theme_with_class_style(&theme, ClassStyle::Spaced).ok()
    };
    let light = css("InspiredGitHub", [0xf6, 0xf8, 0xfa]).unwrap_or_default();
    let dark = css("base16-ocean.dark", [0x15, 0x1b, 0x23]).unwrap_or_default();
    // The highlighter's own backgrounds give way to the theme's code blocks.
    format!(
        "{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n.f-content pre.code, .f-content pre {{ background: var(--surface); }}\n"
    )
}

/// WCAG's contrast ratio of two sRGB colours (1 to 21).
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |[r, g, b]: [u8; 3]| {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    };
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// `colour`, moved toward black (on a light background) or white (on a
/// dark one) just enough to reach 4.5:1 against `background`.
fn readable_on(colour: syntect::highlighting::Color, background: [u8; 3]) -> syntect::highlighting::Color {
    let dark_background = contrast(background, [0, 0, 0]) < contrast(background, [255, 255, 255]);
    let target: f64 = if dark_background { 255.0 } else { 0.0 };
    let mut rgb = [colour.r, colour.g, colour.b];
    for step in 1..=20 {
        if contrast(rgb, background) >= 4.5 {
            break;
        }
        let share = f64::from(step) / 20.0;
        let mix = |c: u8| (f64::from(c) * (1.0 - share) + target * share).round() as u8;
        rgb = [mix(colour.r), mix(colour.g), mix(colour.b)];
    }
    syntect::highlighting::Color { r: rgb[0], g: rgb[1], b: rgb[2], a: colour.a }
}

/// A theme file as served: named by its hash, cached for good.
pub struct Asset {
    /// `/assets/style.<hash>.css`, `/assets/site.<hash>.js`
    pub path: String,
    pub content_type: &'static str,
    pub body: bytes::Bytes,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, text: String) -> Asset {
        let hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()));
        Asset { path: format!("/assets/{stem}.{hash}.{extension}"), content_type, body: bytes::Bytes::from(text) }
    }
}

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
    pub stylesheet: Asset,
    pub script: Asset,
    /// A hash of every template and the stylesheet: part of the key of
    /// every cached page, so a changed theme is never served stale bytes.
    pub fingerprint: String,
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
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for (name, embedded) in TEMPLATES {
            if let Some(dir) = dir {
                let file = dir.join(name);
                match std::fs::read_to_string(&file) {
                    Ok(source) => match environment.add_template_owned(*name, source.clone()) {
                        Ok(()) => {
                            hasher.update(source.as_bytes());
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
            hasher.update(embedded.as_bytes());
        }
        let mut read_asset = |(name, embedded): (&'static str, &'static str)| match dir.map(|dir| dir.join(name)) {
            Some(file) => match std::fs::read_to_string(&file) {
                Ok(text) => {
                    overridden.push(name);
                    text
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => embedded.to_owned(),
                Err(error) => {
                    problems.push(ThemeProblem { file, line: None, reason: format!("cannot be read: {error}") });
                    embedded.to_owned()
                }
            },
            None => embedded.to_owned(),
        };
        let mut css = read_asset(STYLESHEET);
        css.push_str(&highlight_css());
        let stylesheet = Asset::new("style", "css", "text/css; charset=utf-8", css);
        let script = Asset::new("site", "js", "text/javascript; charset=utf-8", read_asset(SCRIPT));
        hasher.update(stylesheet.path.as_bytes());
        hasher.update(script.path.as_bytes());
        environment.add_global("stylesheet", stylesheet.path.clone());
        environment.add_global("script", script.path.clone());
        let fingerprint = format!("{:016x}", hasher.digest());
        (Theme { environment, overridden, stylesheet, script, fingerprint }, problems)
    }

    /// The templates `FLINT_THEME_DIR` replaced.
    pub fn overridden(&self) -> &[&'static str] {
        &self.overridden
    }

    /// Renders `name` with `context` as a page with `status`. A template
    /// that fails while rendering (an override using a missing variable
    /// wrongly, say) is logged and answered with the opaque 500.
    pub fn page(&self, status: StatusCode, name: &str, context: impl Serialize) -> Response {
        match self.render(name, context) {
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

    /// The asset served at `/assets/{file}`.
    pub fn asset(&self, file: &str) -> Option<&Asset> {
        [&self.stylesheet, &self.script].into_iter().find(|asset| asset.path.strip_prefix("/assets/") == Some(file))
    }

    /// `name` rendered with `context`, as text.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        self.environment.get_template(name).and_then(|template| template.render(context))
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
    fn highlighted_code_is_readable_on_its_background() {
        use syntect::highlighting::Color;
        let pale = Color { r: 0x00, g: 0x86, b: 0xb3, a: 0xff };
        let light = [0xf6, 0xf8, 0xfa];
        assert!(contrast([pale.r, pale.g, pale.b], light) < 4.5, "the example starts unreadable");
        let fixed = readable_on(pale, light);
        assert!(contrast([fixed.r, fixed.g, fixed.b], light) >= 4.5);
        assert!(fixed.r <= pale.r && fixed.g <= pale.g && fixed.b <= pale.b, "darkened on a light background");
        let dim = Color { r: 0x4f, g: 0x5b, b: 0x66, a: 0xff };
        let dark = [0x15, 0x1b, 0x23];
        let fixed = readable_on(dim, dark);
        assert!(contrast([fixed.r, fixed.g, fixed.b], dark) >= 4.5 && fixed.r >= dim.r, "lightened on a dark background");
        let black = Color { r: 0, g: 0, b: 0, a: 0xff };
        assert_eq!(readable_on(black, light), black, "readable colours are kept");
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
