//! Sending email over SMTP (`lettre`): port 465 is implicit TLS, any other
//! port STARTTLS, required, except to a relay on this machine (loopback),
//! where a server without STARTTLS is spoken to in plain text. AUTH PLAIN or
//! LOGIN when a username is set. Every email is multipart: plain text and
//! HTML. May use: nothing else of `platform`.
//!
//! Errors say whether retrying can help: the server's permanent refusals
//! (5xx) and unusable addresses cannot; a server that is down or answers 4xx
//! may accept the same email later.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// How long one conversation with the server may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Where and as whom email is sent (from the settings).
#[derive(Clone, Debug)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub sender_name: String,
    pub sender_address: String,
}

/// One email, ready to send (templates already rendered).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers, e.g. `List-Unsubscribe`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The email or the settings cannot be sent as they are.
    #[error("{0}")]
    Invalid(String),
    /// The server refused for good (5xx); its own words.
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached, or asked to try later (4xx).
    #[error("{0}")]
    Unavailable(String),
}

impl MailError {
    /// Whether sending the same email again may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Unavailable(_))
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn transport(server: &SmtpServer) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let host = server.host.trim();
    let tls = |e: lettre::transport::smtp::Error| MailError::Invalid(format!("TLS for {host}: {e}"));
    let mut builder = if server.port == 465 {
        AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls)?
    } else if is_loopback(host) {
        let parameters = TlsParameters::new(host.to_owned()).map_err(tls)?;
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::Opportunistic(parameters))
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls)?
    };
    builder = builder.port(server.port).timeout(Some(TIMEOUT));
    if !server.username.is_empty() {
        builder = builder
            .credentials(Credentials::new(server.username.clone(), server.password.clone()))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

fn message(server: &SmtpServer, email: &Email) -> Result<Message, MailError> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| MailError::Invalid(format!("{what}: {e}"));
    let from_address = server.sender_address.parse().map_err(|e| invalid("the sender address", &e))?;
    let name = (!server.sender_name.is_empty()).then(|| server.sender_name.clone());
    let to: Mailbox = email.to.parse().map_err(|e| invalid("the recipient", &e))?;
    let mut builder = Message::builder().from(Mailbox::new(name, from_address)).to(to).subject(&email.subject);
    for (name, value) in &email.headers {
        let header = HeaderName::new_from_ascii(name.clone()).map_err(|e| invalid("a header name", &e))?;
        builder = builder.raw_header(HeaderValue::new(header, value.clone()));
    }
    builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone())).map_err(|e| invalid("the message", &e))
}

/// Sends `email` through `server`.
pub async fn send(server: &SmtpServer, email: &Email) -> Result<(), MailError> {
    let message = message(server, email)?;
    match transport(server)?.send(message).await {
        Ok(_) => Ok(()),
        Err(error) => Err(classify(&error)),
    }
}

// ---- composing ---------------------------------------------------------------

/// An email's content before its layout: plain strings (the HTML layout
/// escapes them).
#[derive(Clone, Debug, Default)]
pub struct Letter {
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// The button: its label and address.
    pub action: Option<(String, String)>,
    /// The small print under it (e.g. how to unsubscribe): text and address.
    pub footer: Option<(String, String)>,
}

const HTML_LAYOUT: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{ heading }}</title></head>
<body style="margin:0;padding:24px;background:#f6f6f4;font-family:-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei',sans-serif;color:#222">
<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:28px">
<p style="margin:0 0 16px;font-size:13px;color:#777">{{ site }}</p>
<h1 style="margin:0 0 16px;font-size:20px">{{ heading }}</h1>
{% for paragraph in paragraphs %}<p style="margin:0 0 12px;line-height:1.6;white-space:pre-line">{{ paragraph }}</p>
{% endfor %}{% if action %}<p style="margin:20px 0"><a href="{{ action[1] }}" style="display:inline-block;padding:10px 18px;background:#222;color:#fff;text-decoration:none;border-radius:6px">{{ action[0] }}</a></p>
{% endif %}{% if footer %}<p style="margin:24px 0 0;font-size:12px;color:#888"><a href="{{ footer[1] }}" style="color:#888">{{ footer[0] }}</a></p>
{% endif %}</div></body></html>
"#;

const TEXT_LAYOUT: &str = "{{ heading }}\n\n{% for paragraph in paragraphs %}{{ paragraph }}\n\n{% endfor %}\
{% if action %}{{ action[0] }}: {{ action[1] }}\n\n{% endif %}-- \n{{ site }}\n{% if footer %}{{ footer[0] }}: {{ footer[1] }}\n{% endif %}";

/// The letter as plain text and as HTML (every text escaped there).
pub fn compose(site: &str, letter: &Letter) -> Result<(String, String), MailError> {
    let mut environment = minijinja::Environment::new();
    environment.set_auto_escape_callback(
        |name| {
            if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
        },
    );
    let add = |env: &mut minijinja::Environment<'static>, name: &'static str, source: &'static str| {
        env.add_template(name, source).map_err(|e| MailError::Invalid(format!("the {name} layout: {e}")))
    };
    add(&mut environment, "layout.html", HTML_LAYOUT)?;
    add(&mut environment, "layout.txt", TEXT_LAYOUT)?;
    let context = minijinja::context! {
        site => site,
        heading => &letter.heading,
        paragraphs => &letter.paragraphs,
        action => letter.action.as_ref().map(|(label, url)| vec![label.clone(), url.clone()]),
        footer => letter.footer.as_ref().map(|(label, url)| vec![label.clone(), url.clone()]),
    };
    let render = |name: &str| {
        environment
            .get_template(name)
            .and_then(|template| template.render(&context))
            .map_err(|e| MailError::Invalid(format!("rendering the email: {e}")))
    };
    Ok((render("layout.txt")?, render("layout.html")?))
}

/// Fills `{{ name }}` placeholders of a plain-text template from `data`
/// (a missing name is an error, never an empty string).
pub fn fill(template: &str, data: &serde_json::Value) -> Result<String, MailError> {
    let mut environment = minijinja::Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.render_str(template, data).map_err(|e| MailError::Invalid(format!("filling '{template}': {e}")))
}

/// The error with the server's own text, and whether it was permanent.
fn classify(error: &lettre::transport::smtp::Error) -> MailError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if error.is_permanent() { MailError::Refused(text) } else { MailError::Unavailable(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_escaped_in_html_and_plain_in_text() {
        let letter = Letter {
            heading: "New comment on <Rust & you>".into(),
            paragraphs: vec!["Ann wrote: <script>alert(1)</script>".into()],
            action: Some(("Read it".into(), "https://blog.example/post/a#c-1".into())),
            footer: Some(("Unsubscribe".into(), "https://blog.example/unsubscribe?token=x&type=y".into())),
        };
        let (text, html) = compose("My Blog", &letter).unwrap();
        assert!(html.contains("New comment on &lt;Rust &amp; you&gt;") && !html.contains("<script>"), "{html}");
        assert!(text.starts_with("New comment on <Rust & you>\n\nAnn wrote: <script>"), "{text}");
        assert!(
            text.contains("Read it: https://blog.example/post/a#c-1")
                && text.contains("Unsubscribe: https://blog.example/unsubscribe?token=x&type=y")
        );
        assert_eq!(fill("[New Comment] {{ postTitle }}", &serde_json::json!({"postTitle": "Hi"})).unwrap(), "[New Comment] Hi");
        assert!(fill("{{ missing }}", &serde_json::json!({})).is_err());
    }

    #[test]
    fn plain_text_only_to_this_machine() {
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("::1"));
        assert!(!is_loopback("smtp.example.com") && !is_loopback("10.0.0.1"));
    }

    #[test]
    fn messages_are_multipart_with_headers() {
        let server = SmtpServer {
            host: "smtp.example.com".into(),
            port: 587,
            username: "blog".into(),
            password: "x".into(),
            sender_name: "The Blog".into(),
            sender_address: "blog@example.com".into(),
        };
        let email = Email {
            to: "reader@example.com".into(),
            subject: "Hello".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
            headers: vec![("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into())],
        };
        let formatted = String::from_utf8(message(&server, &email).unwrap().formatted()).unwrap();
        assert!(formatted.contains("multipart/alternative"));
        assert!(formatted.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(formatted.contains("From: \"The Blog\" <blog@example.com>"), "{formatted}");
        let bad = Email { to: "not an address".into(), ..email };
        assert!(matches!(message(&server, &bad), Err(MailError::Invalid(_))));
    }
}
