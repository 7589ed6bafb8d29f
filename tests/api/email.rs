//! Issue 19 items 2-4: email through a real SMTP server (maildev, its own
//! instance per test, with AUTH), the durable queue riding out a server that
//! is down, one-click unsubscribing, and the notification fan-out.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use flint::features::notifications::schema::{Notification, NotificationType};
use flint::features::notifications::service as notifications;

use crate::backend_tests;
use crate::helpers::{ADMIN_EMAIL, Backend, Client, TestApp};

backend_tests!(
    a_refusal_for_good_is_recorded_and_not_retried,
    a_test_email_arrives_and_bad_credentials_say_why,
    notifications_carry_both_parts_and_one_click_unsubscribe_works,
    a_mail_server_that_is_down_gets_the_email_when_it_is_back,
);

const SMTP_USER: &str = "flint";
const SMTP_PASSWORD: &str = "maildev-password";

/// A maildev of this test's own, requiring AUTH.
pub struct MailDev {
    child: Child,
    pub smtp_port: u16,
    api: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl MailDev {
    /// `None` (with the reason printed) when `FLINT_TEST_MAILDEV` is unset.
    pub async fn start() -> Option<MailDev> {
        let smtp_port = free_port();
        Self::start_on(smtp_port).await
    }

    async fn start_on(smtp_port: u16) -> Option<MailDev> {
        flint::platform::ai::install_crypto_provider();
        let Ok(bin) = std::env::var("FLINT_TEST_MAILDEV") else {
            eprintln!("skipping the mail tests: FLINT_TEST_MAILDEV is not set (scripts/test-services.sh sets it)");
            return None;
        };
        let web_port = free_port();
        let child = Command::new(bin)
            .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--incoming-user", SMTP_USER, "--incoming-pass", SMTP_PASSWORD])
            .args(["-s", &smtp_port.to_string(), "-w", &web_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("maildev starts");
        let api = format!("http://127.0.0.1:{web_port}/api");
        let started = Instant::now();
        while !reqwest::get(format!("{api}/healthz")).await.map(|r| r.status().is_success()).unwrap_or(false) {
            assert!(started.elapsed() < Duration::from_secs(20), "maildev did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The SMTP side listens once the web side does, but give it its moment.
        while std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "maildev's SMTP did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(MailDev { child, smtp_port, api })
    }

    /// Every email received, but the address verifications that sign-ups
    /// send while email is set up (`all_emails` has those).
    pub async fn emails(&self) -> Vec<Value> {
        self.all_emails().await.into_iter().filter(|e| e["subject"] != "Verify your email address").collect()
    }

    pub async fn all_emails(&self) -> Vec<Value> {
        reqwest::get(format!("{}/email", self.api)).await.unwrap().json::<Vec<Value>>().await.unwrap()
    }

    /// Waits (settling the app's workflows) until an email to `to` whose
    /// subject is `subject` has arrived, and returns it.
    pub async fn wait_for(&self, app: &crate::helpers::TestApp, to: &str, subject: &str) -> Value {
        let started = Instant::now();
        loop {
            app.settle().await;
            if let Some(email) = self.all_emails().await.into_iter().rev().find(|e| e["to"][0]["address"] == to && e["subject"] == subject)
            {
                return email;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "no email \"{subject}\" to {to} arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.smtp_port
    }
}

impl Drop for MailDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn configure_email(admin: &mut Client<'_>, port: u16, password: &str) {
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["email"] = json!({"host": "127.0.0.1", "port": port, "username": SMTP_USER, "password": password,
                             "senderName": "The Blog", "senderAddress": "blog@example.com"});
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

async fn a_test_email_arrives_and_bad_credentials_say_why(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    assert_eq!(admin.get("/_fn/getIsEmailConfigured").await.body, json!(false));
    let smtp = json!({"host": "127.0.0.1", "port": maildev.smtp_port, "username": SMTP_USER, "password": SMTP_PASSWORD,
                      "senderAddress": "blog@example.com", "senderName": "The Blog"});
    let res = admin.post("/_fn/testEmailConnection", smtp.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["subject"], "Test Connection");
    assert_eq!(emails[0]["to"][0]["address"], ADMIN_EMAIL);
    assert_eq!(emails[0]["from"][0]["address"], "blog@example.com");

    let mut wrong = smtp.clone();
    wrong["password"] = json!("not the password");
    let res = admin.post("/_fn/testEmailConnection", wrong).await;
    assert_eq!((res.status, res.code()), (StatusCode::BAD_GATEWAY, "SEND_FAILED"), "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("535") || message.to_lowercase().contains("invalid"), "the server's own words: {message}");

    configure_email(&mut admin, maildev.smtp_port, SMTP_PASSWORD).await;
    assert_eq!(admin.get("/_fn/getIsEmailConfigured").await.body, json!(true));
    // The mask stands for the stored password.
    let mut masked = smtp;
    masked["password"] = json!("********");
    assert_eq!(admin.post("/_fn/testEmailConnection", masked).await.status, StatusCode::OK);
    assert_eq!(maildev.emails().await.len(), 2);
}

fn reply_notification(id: &str, to: &str, user_id: &str) -> Notification {
    let data = json!({"to": to, "postTitle": "On <Rust>", "replierName": "Ann", "replyPreview": "I agree & more",
                      "commentUrl": "http://127.0.0.1/post/on-rust#comment-2"});
    let Value::Object(data) = data else { unreachable!() };
    Notification {
        id: id.into(),
        kind: NotificationType::CommentReplyToUserPublished,
        to: to.into(),
        user_id: Some(user_id.into()),
        data: Map::from_iter(data),
    }
}

async fn notifications_carry_both_parts_and_one_click_unsubscribe_works(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    configure_email(&mut admin, maildev.smtp_port, SMTP_PASSWORD).await;
    let mut reader = app.signed_up("reader@example.com", "Reader").await;
    let user_id = reader.get("/_fn/getSession").await.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(reader.get("/_fn/getReplyNotificationStatus").await.body, json!({"enabled": true}));

    let ctx = app.ctx();
    assert_eq!(notifications::publish(&ctx, &reply_notification("reply-1", "reader@example.com", &user_id)).await.unwrap(), 1);
    assert_eq!(notifications::publish(&ctx, &reply_notification("reply-1", "reader@example.com", &user_id)).await.unwrap(), 0, "once");
    app.settle().await;
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = &emails[0];
    assert_eq!(email["subject"], "[Comment Reply] Ann replied to your comment on \u{201c}On <Rust>\u{201d}");
    let html = email["html"].as_str().unwrap();
    let text = email["text"].as_str().unwrap();
    assert!(html.contains("On &lt;Rust&gt;") && html.contains("I agree &amp; more"), "escaped HTML part: {html}");
    assert!(text.contains("I agree & more") && text.contains("http://127.0.0.1/post/on-rust#comment-2"), "text part: {text}");
    // The headers as sent (unfolded).
    let source =
        reqwest::get(format!("{}/email/{}/source", maildev.api, email["id"].as_str().unwrap())).await.unwrap().text().await.unwrap();
    let source = source.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        source.lines().find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::trim).map(str::to_owned)).unwrap_or_default()
    };
    assert_eq!(header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click", "{source}");
    let link = header("List-Unsubscribe").trim_matches(['<', '>']).to_owned();
    // (The link names FLINT_BASE_URL; this test's server is on a port of its own.)
    let parsed = url::Url::parse(&link).unwrap();
    assert_eq!(parsed.path(), "/unsubscribe", "{link}");
    let link = format!("{}/unsubscribe?{}", app.base, parsed.query().unwrap());

    // A forged token is refused; the page shows a button; the one-click POST works.
    let forged = link.replace("token=", "token=0");
    assert_eq!(app.http.post(&forged).body("List-Unsubscribe=One-Click").send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let page = app.http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<form method=\"post\""), "{page}");
    let one_click = app
        .http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), StatusCode::OK);
    assert_eq!(reader.get("/_fn/getReplyNotificationStatus").await.body, json!({"enabled": false}));

    notifications::publish(&ctx, &reply_notification("reply-2", "reader@example.com", &user_id)).await.unwrap();
    app.settle().await;
    assert_eq!(maildev.emails().await.len(), 1, "no email after unsubscribing");
    // Turned back on from the account.
    assert_eq!(reader.post("/_fn/toggleReplyNotification", json!({"enabled": true})).await.status, StatusCode::OK);
    notifications::publish(&ctx, &reply_notification("reply-3", "reader@example.com", &user_id)).await.unwrap();
    app.settle().await;
    assert_eq!(maildev.emails().await.len(), 2);
    assert_eq!(reader.get("/_fn/getUserNotificationAvailability").await.body, json!({"emailEnabled": true}));
}

async fn a_mail_server_that_is_down_gets_the_email_when_it_is_back(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    configure_email(&mut admin, maildev.smtp_port, SMTP_PASSWORD).await;
    let port = maildev.stop();

    // A publish notifies the admin by email.
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "While Down", "content": "text"}})).await;
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.settle().await;
    let runs = admin.get("/_fn/listWorkflowRuns?name=email").await;
    assert!(runs.text.contains("\"sleeping\"") && runs.text.contains("\"attempts\":1"), "the email waits for a retry: {}", runs.text);

    let maildev = MailDev::start_on(port).await.expect("maildev restarts");
    app.clock.advance(Duration::from_secs(10));
    app.settle().await;
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["subject"], "[Published] While Down");
    assert_eq!(emails[0]["to"][0]["address"], ADMIN_EMAIL);
}

async fn a_refusal_for_good_is_recorded_and_not_retried(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    // The server answers 535 to these credentials: no retry can mend that.
    configure_email(&mut admin, maildev.smtp_port, "the wrong password").await;
    let user_id = admin.get("/_fn/getSession").await.body["user"]["id"].as_str().unwrap().to_owned();
    notifications::publish(&app.ctx(), &reply_notification("refused", ADMIN_EMAIL, &user_id)).await.unwrap();
    app.settle().await;
    let runs = admin.get("/_fn/listWorkflowRuns?name=email").await;
    let run = &runs.body["items"].as_array().or(runs.body.as_array()).unwrap()[0];
    assert_eq!(run["status"], "failed", "{}", runs.text);
    let detail = admin.get(&format!("/_fn/getWorkflowRun?id={}", run["id"].as_str().unwrap())).await;
    let step = &detail.body["steps"][0];
    assert_eq!(step["attempts"], 1, "one attempt, no retries: {}", detail.text);
    assert!(step["error"].as_str().unwrap().contains("535"), "the server's words are recorded: {}", detail.text);
    assert!(maildev.emails().await.is_empty());
}
