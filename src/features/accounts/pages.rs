//! The account pages people reach from a link: the first-admin setup link
//! that `flint serve` logs, the password-reset link of an email, and
//! registration (with an invite link while registration is by invitation).
//! Plain HTML forms, no JavaScript; each calls the same service function
//! as its JSON endpoint and shows what went wrong beside the form.

use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::settings::service as settings;
use crate::platform::auth::session::{self, ClientInfo, NewSession, SESSION_TTL};
use crate::platform::http::{AppError, DbCtx, Endpoint, PageForm, Routes, ValidQuery};
use crate::platform::rate_limit::RateLimit;

use super::schema::{ResetPasswordInput, SetupInput, SignUpInput};
use super::service;

const FORMS_PER_MINUTE: RateLimit = RateLimit::new(5, Duration::from_secs(60));
const FORMS_PER_HOUR: RateLimit = RateLimit::new(10, Duration::from_secs(3600));

pub fn routes() -> Routes {
    let page = |method: Method, path: &str, name: &'static str, summary: &'static str| {
        let endpoint = Endpoint::page(method.clone(), path, name).tag("pages").summary(summary);
        if method == Method::POST { endpoint.rate_limit(FORMS_PER_MINUTE).rate_limit(FORMS_PER_HOUR) } else { endpoint }
    };
    Routes::new()
        .route(page(Method::GET, "/setup", "setupPage", "The first-admin form of the setup link").input::<LinkQuery>().handler(setup_page))
        .route(page(Method::POST, "/setup", "setupForm", "Create the first admin (the form)").input::<SetupInput>().handler(setup_form))
        .route(
            page(Method::GET, "/reset-password", "resetPasswordPage", "The new-password form of a reset link")
                .input::<LinkQuery>()
                .handler(reset_page),
        )
        .route(
            page(Method::POST, "/reset-password", "resetPasswordForm", "Set the new password (the form)")
                .input::<ResetPasswordInput>()
                .handler(reset_form),
        )
        .route(
            page(Method::GET, "/register", "registerPage", "The sign-up form (with an invite link's token)")
                .input::<InviteQuery>()
                .handler(register_page),
        )
        .route(
            page(Method::POST, "/register", "registerForm", "Create an account (the form)").input::<SignUpInput>().handler(register_form),
        )
}

// The forms are documented with the rules of their JSON twins (what a
// valid form holds); they are read leniently, so a form that breaks them
// comes back with the messages beside the fields.

/// Any text: the page checks it and says what is wrong.
#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkQuery {
    #[garde(skip)]
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteQuery {
    #[garde(skip)]
    pub invite: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupForm {
    pub token: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetForm {
    pub token: Option<String>,
    pub new_password: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterForm {
    pub invite: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// What every page shows: the site's name and the language.
#[derive(Serialize)]
struct Frame<T: Serialize> {
    site: String,
    title: &'static str,
    /// Link pages are for one person: search engines keep out.
    noindex: bool,
    error: Option<String>,
    #[serde(flatten)]
    fields: T,
}

async fn render<T: Serialize>(
    ctx: &DbCtx,
    status: StatusCode,
    template: &str,
    title: &'static str,
    error: Option<String>,
    fields: T,
) -> Response {
    let site = settings::site(ctx).await.map(|view| view.site.title).unwrap_or_else(|_| ctx.config.site.title.clone());
    ctx.theme.page(status, template, Frame { site, title, noindex: true, error, fields })
}

/// The status and words of a refusal (validation: the first message per field).
fn refusal(error: AppError) -> Result<(StatusCode, String), AppError> {
    match error {
        AppError::Client(client) => {
            let mut message = client.message.clone();
            if let Some(fields) = &client.fields {
                let details: Vec<String> =
                    fields.iter().filter_map(|(field, messages)| messages.first().map(|m| format!("{field}: {m}"))).collect();
                if !details.is_empty() {
                    message = details.join("; ");
                }
            }
            Ok((client.status, message))
        }
        internal => Err(internal),
    }
}

fn invalid(report: &garde::Report) -> (StatusCode, String) {
    let details: Vec<String> = report.iter().map(|(path, error)| format!("{path}: {}", error.message())).collect();
    (StatusCode::UNPROCESSABLE_ENTITY, details.join("; "))
}

/// What was typed, shown back in the form, at most as long as the field allows
/// (a stranger's megabyte of text is not sent back).
fn echo(value: String, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

fn with_session(ctx: &DbCtx, mut response: Response, new_session: &NewSession) -> Response {
    let cookie = session::set_cookie(ctx.config.is_https(), &new_session.token, SESSION_TTL);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Serialize, Default)]
struct SetupFields {
    token: String,
    name: String,
    email: String,
}

async fn setup_page(ctx: DbCtx, ValidQuery(query): ValidQuery<LinkQuery>) -> Response {
    let token = echo(query.token.unwrap_or_default(), 128);
    let error = token.is_empty().then(|| "Open the setup link exactly as the server logged it: this one has no token.".to_owned());
    render(&ctx, StatusCode::OK, "account/setup.html", "Set up your blog", error, SetupFields { token, ..SetupFields::default() }).await
}

async fn setup_form(ctx: DbCtx, client: ClientInfo, PageForm(form): PageForm<SetupForm>) -> Result<Response, AppError> {
    let input = SetupInput {
        token: form.token.unwrap_or_default(),
        name: form.name.unwrap_or_default(),
        email: form.email.unwrap_or_default(),
        password: form.password.unwrap_or_default(),
    };
    let outcome = match input.validate() {
        Err(report) => Err(invalid(&report)),
        Ok(()) => match service::complete_setup(&ctx, &input, &client).await {
            Ok(done) => Ok(done),
            Err(error) => Err(refusal(error.into())?),
        },
    };
    match outcome {
        Ok((user, new_session)) => {
            let message = format!("{} ({}) is the admin of this blog, and signed in.", user.name, user.email);
            let page = render(&ctx, StatusCode::OK, "account/done.html", "You are the admin", None, Done::new(message)).await;
            Ok(with_session(&ctx, page, &new_session))
        }
        Err((status, message)) => {
            let fields = SetupFields { token: echo(input.token, 128), name: echo(input.name, 80), email: echo(input.email, 254) };
            Ok(render(&ctx, status, "account/setup.html", "Set up your blog", Some(message), fields).await)
        }
    }
}

#[derive(Serialize)]
struct Done {
    message: String,
    next: Option<&'static str>,
    next_label: &'static str,
}

impl Done {
    fn new(message: String) -> Self {
        Done { message, next: Some("/"), next_label: "Go to the blog" }
    }
}

#[derive(Serialize)]
struct TokenField {
    token: String,
}

async fn reset_page(ctx: DbCtx, ValidQuery(query): ValidQuery<LinkQuery>) -> Response {
    let token = echo(query.token.unwrap_or_default(), 128);
    let error = token.is_empty().then(|| "This link has no token: open it exactly as the email shows it.".to_owned());
    render(&ctx, StatusCode::OK, "account/reset-password.html", "Choose a new password", error, TokenField { token }).await
}

async fn reset_form(ctx: DbCtx, PageForm(form): PageForm<ResetForm>) -> Result<Response, AppError> {
    let input = ResetPasswordInput { token: form.token.unwrap_or_default(), new_password: form.new_password.unwrap_or_default() };
    let outcome = match input.validate() {
        Err(report) => Err(invalid(&report)),
        Ok(()) => match service::reset_password(&ctx, &input).await {
            Ok(user) => Ok(user),
            Err(error) => Err(refusal(error.into())?),
        },
    };
    match outcome {
        Ok(user) => {
            let message =
                format!("The password of {} is changed, and every device is signed out. Sign in with the new password.", user.email);
            Ok(render(&ctx, StatusCode::OK, "account/done.html", "Password changed", None, Done::new(message)).await)
        }
        Err((status, message)) => Ok(render(
            &ctx,
            status,
            "account/reset-password.html",
            "Choose a new password",
            Some(message),
            TokenField { token: echo(input.token, 128) },
        )
        .await),
    }
}

#[derive(Serialize, Default)]
struct RegisterFields {
    invite: String,
    name: String,
    email: String,
}

async fn register_page(ctx: DbCtx, ValidQuery(query): ValidQuery<InviteQuery>) -> Response {
    let fields = RegisterFields { invite: echo(query.invite.unwrap_or_default(), 128), ..RegisterFields::default() };
    render(&ctx, StatusCode::OK, "account/register.html", "Create an account", None, fields).await
}

async fn register_form(ctx: DbCtx, client: ClientInfo, PageForm(form): PageForm<RegisterForm>) -> Result<Response, AppError> {
    let input = SignUpInput {
        name: form.name.unwrap_or_default(),
        email: form.email.unwrap_or_default(),
        password: form.password.unwrap_or_default(),
        invite: form.invite.filter(|invite| !invite.is_empty()),
        callback_url: None,
    };
    let outcome = match input.validate() {
        Err(report) => Err(invalid(&report)),
        Ok(()) => match service::sign_up(&ctx, &input, &client).await {
            Ok(done) => Ok(done),
            Err(error) => Err(refusal(error.into())?),
        },
    };
    match outcome {
        Ok((signed_up, Some(new_session))) => {
            let message = format!("Welcome, {}: your account is ready and you are signed in.", signed_up.user.name);
            let page = render(&ctx, StatusCode::OK, "account/done.html", "Welcome", None, Done::new(message)).await;
            Ok(with_session(&ctx, page, &new_session))
        }
        Ok((signed_up, None)) => {
            let message =
                format!("We emailed a link to {}: open it within the hour to confirm the address and sign in.", signed_up.user.email);
            let done = Done { message, next: None, next_label: "" };
            Ok(render(&ctx, StatusCode::OK, "account/done.html", "Check your email", None, done).await)
        }
        Err((status, message)) => {
            let fields = RegisterFields {
                invite: echo(input.invite.unwrap_or_default(), 128),
                name: echo(input.name, 80),
                email: echo(input.email, 254),
            };
            Ok(render(&ctx, status, "account/register.html", "Create an account", Some(message), fields).await)
        }
    }
}
