//! The account pages: signing in and out, the first-admin setup link that
//! `flint serve` logs, asking for and using a password-reset link,
//! registration (with an invite link while registration is by invitation),
//! and the page a verification link lands on (which can send a new one).
//! Plain HTML forms, no JavaScript; each calls the same service function
//! as its JSON endpoint and shows what went wrong beside the form.

use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::settings::service as settings;
use crate::platform::auth::session::{self, ClientInfo, NewSession, SESSION_TTL};
use crate::platform::http::{AppError, DbCtx, Endpoint, PageForm, Routes, SessionCtx, TokenAccess, ValidQuery};
use crate::platform::rate_limit::RateLimit;

use super::schema::{ResetPasswordInput, SetupInput, SignInInput, SignUpInput, SocialSignInInput, site_path};
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
        .route(page(Method::GET, "/sign-in", "signInPage", "The sign-in form").input::<SignInQuery>().handler(sign_in_page))
        .route(
            page(Method::POST, "/sign-in", "signInForm", "Sign in with a password (the form)")
                .input::<SignInFormSchema>()
                .handler(sign_in_form),
        )
        .route(
            page(Method::POST, "/sign-in/social", "signInSocialForm", "Sign in with GitHub or OpenID Connect (the form's button)")
                .input::<SocialFormSchema>()
                .handler(sign_in_social_form),
        )
        .route(
            page(Method::POST, "/sign-out", "signOutForm", "Sign out of this browser (the header's button)")
                .tokens(TokenAccess::Never)
                .handler(sign_out_form),
        )
        .route(
            page(Method::GET, "/verify-email", "verifyEmailPage", "Where a verification link lands; asks for a new link")
                .input::<VerifyQuery>()
                .handler(verify_page),
        )
        .route(
            page(Method::POST, "/verify-email", "verifyEmailForm", "Email a new verification link (the form)")
                .input::<EmailFormSchema>()
                .handler(verify_form),
        )
        .route(page(Method::GET, "/forgot-password", "forgotPasswordPage", "Ask for a password-reset link").handler(forgot_page))
        .route(
            page(Method::POST, "/forgot-password", "forgotPasswordForm", "Email a password-reset link (the form)")
                .input::<EmailFormSchema>()
                .handler(forgot_form),
        )
}

/// Where a verification link sends its reader (signed in, or with `?error=`).
pub const VERIFIED_PATH: &str = "/verify-email?verified=true";

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
    /// The Turnstile widget's token, when `FLINT_TURNSTILE_SECRET` is set.
    #[serde(rename = "cf-turnstile-response")]
    pub turnstile: Option<String>,
}

/// What every page shows: the site's name and the language.
#[derive(Serialize)]
struct Frame<T: Serialize> {
    site: String,
    lang: String,
    /// Set when forms need the Turnstile widget.
    turnstile_site_key: Option<String>,
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
    let (site, lang) = match settings::site(ctx).await {
        Ok(view) => (view.site.title.clone(), view.site.lang(ctx.config.locale)),
        Err(_) => (ctx.config.site.title.clone(), crate::features::settings::schema::SiteSettings::default().lang(ctx.config.locale)),
    };
    let turnstile_site_key = ctx.config.turnstile.as_ref().and_then(|t| t.site_key.clone());
    ctx.theme.page(status, template, Frame { site, lang, turnstile_site_key, title, noindex: true, error, fields })
}

/// With Turnstile set up, the forms its JSON twins guard (sign-up, sign-in
/// and the emailed links) must carry the widget's token: the refusal to
/// show beside the form, else `None`.
async fn turnstile_refusal(ctx: &DbCtx, token: Option<&str>) -> Option<(StatusCode, String)> {
    let config = ctx.config.turnstile.as_ref()?;
    match crate::platform::turnstile::check(config, token).await {
        Ok(()) => None,
        Err(error) => {
            let status = match &error {
                AppError::Client(client) => client.status,
                AppError::Internal(_) => StatusCode::FORBIDDEN,
            };
            Some((status, "Confirm that you are a person (the check above the button), then send the form again.".to_owned()))
        }
    }
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
        callback_url: Some(VERIFIED_PATH.to_owned()),
    };
    let outcome = if let Some(refused) = turnstile_refusal(&ctx, form.turnstile.as_deref()).await {
        Err(refused)
    } else {
        match input.validate() {
            Err(report) => Err(invalid(&report)),
            Ok(()) => match service::sign_up(&ctx, &input, &client).await {
                Ok(done) => Ok(done),
                Err(error) => Err(refusal(error.into())?),
            },
        }
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

// ---- signing in and out ------------------------------------------------------

/// A sign-in page's query: where to go afterwards, and what went wrong
/// when a flow sent the reader back (`?error=CODE`).
#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInQuery {
    #[garde(skip)]
    pub next: Option<String>,
    #[garde(skip)]
    pub error: Option<String>,
}

/// The sign-in form as read: leniently, so a refusal comes back beside it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInForm {
    pub email: Option<String>,
    pub password: Option<String>,
    pub next: Option<String>,
    /// The Turnstile widget's token, when `FLINT_TURNSTILE_SECRET` is set.
    #[serde(rename = "cf-turnstile-response")]
    pub turnstile: Option<String>,
}

/// The sign-in form as documented: what a valid one holds.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SignInFormSchema {
    #[schemars(length(min = 1, max = 254))]
    email: String,
    #[schemars(length(min = 1, max = 1024))]
    password: String,
    /// A path on this site to go to afterwards (else the home page).
    #[schemars(length(max = 512))]
    next: Option<String>,
    /// The Turnstile widget's token (needed when Turnstile is set up).
    #[serde(rename = "cf-turnstile-response")]
    #[schemars(length(max = 2048))]
    turnstile: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocialForm {
    pub provider: Option<String>,
    pub next: Option<String>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SocialFormSchema {
    /// `github` or `oidc`.
    #[schemars(length(min = 1, max = 16))]
    provider: String,
    #[schemars(length(max = 512))]
    next: Option<String>,
}

/// `next` when it is a path on this site, else the home page (a link must
/// not send a reader elsewhere after signing in).
fn local_next(next: Option<&str>) -> String {
    match next {
        Some(next) if site_path(next, &()).is_ok() => next.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The words for an `?error=CODE` a flow sent back (only known shapes are shown).
fn error_words(code: Option<&str>) -> Option<String> {
    let code = code.filter(|c| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))?;
    Some(match code {
        "INVALID_TOKEN" => "This link is invalid, used or expired.".to_owned(),
        "EMAIL_NOT_VERIFIED" => "Verify your email address first: open the link we emailed you, or ask for a new one.".to_owned(),
        "REGISTRATION_CLOSED" => "This blog does not take new accounts.".to_owned(),
        "PERMISSION_DENIED" => "That page is for the blog's admins: sign in as one.".to_owned(),
        other => format!("Signing in did not work ({other})."),
    })
}

#[derive(Serialize)]
struct SignInFields {
    next: String,
    email: String,
    password: bool,
    providers: Vec<super::schema::ProviderInfo>,
    registration: crate::features::settings::schema::Registration,
}

async fn sign_in_fields(ctx: &DbCtx, next: String, email: String) -> Result<SignInFields, AppError> {
    let options = service::sign_in_options(ctx).await?;
    Ok(SignInFields { next, email, password: options.password, providers: options.providers, registration: options.registration })
}

async fn sign_in_page(ctx: DbCtx, ValidQuery(query): ValidQuery<SignInQuery>) -> Result<Response, AppError> {
    let fields = sign_in_fields(&ctx, local_next(query.next.as_deref()), String::new()).await?;
    Ok(render(&ctx, StatusCode::OK, "account/sign-in.html", "Sign in", error_words(query.error.as_deref()), fields).await)
}

/// Signed in: a 303 to `location` with the session cookie.
fn see_other(ctx: &DbCtx, location: &str, new_session: Option<&NewSession>) -> Response {
    let mut response = super::api::redirect(ctx, location, new_session);
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

async fn sign_in_form(ctx: DbCtx, client: ClientInfo, PageForm(form): PageForm<SignInForm>) -> Result<Response, AppError> {
    let next = local_next(form.next.as_deref());
    let input = SignInInput { email: form.email.unwrap_or_default(), password: form.password.unwrap_or_default() };
    let outcome = if let Some(refused) = turnstile_refusal(&ctx, form.turnstile.as_deref()).await {
        Err(refused)
    } else {
        match input.validate() {
            Err(report) => Err(invalid(&report)),
            Ok(()) => match service::sign_in(&ctx, &input, &client).await {
                Ok(done) => Ok(done),
                Err(error) => Err(refusal(error.into())?),
            },
        }
    };
    match outcome {
        Ok((_, new_session)) => Ok(see_other(&ctx, &next, Some(&new_session))),
        Err((status, message)) => {
            let fields = sign_in_fields(&ctx, next, echo(input.email, 254)).await?;
            Ok(render(&ctx, status, "account/sign-in.html", "Sign in", Some(message), fields).await)
        }
    }
}

async fn sign_in_social_form(ctx: DbCtx, PageForm(form): PageForm<SocialForm>) -> Result<Response, AppError> {
    let next = local_next(form.next.as_deref());
    let input = SocialSignInInput { provider: form.provider.unwrap_or_default(), callback_url: Some(next.clone()) };
    let outcome = match input.validate() {
        Err(report) => Err(invalid(&report)),
        Ok(()) => match service::social_sign_in(&ctx, &input).await {
            Ok(started) => Ok(started),
            Err(error) => Err(refusal(error.into())?),
        },
    };
    match outcome {
        Ok(started) => {
            // The provider's address: a header value as it is (it is ASCII).
            let mut response = StatusCode::SEE_OTHER.into_response();
            let location = HeaderValue::from_str(&started.url).map_err(|e| AppError::internal(anyhow::anyhow!("provider URL: {e}")))?;
            response.headers_mut().insert(header::LOCATION, location);
            Ok(response)
        }
        Err((status, message)) => {
            let fields = sign_in_fields(&ctx, next, String::new()).await?;
            Ok(render(&ctx, status, "account/sign-in.html", "Sign in", Some(message), fields).await)
        }
    }
}

async fn sign_out_form(ctx: SessionCtx) -> Result<Response, AppError> {
    service::sign_out(&ctx.app, ctx.session.as_ref()).await?;
    let mut response = see_other(&ctx.app, "/", None);
    if let Ok(value) = HeaderValue::from_str(&session::clear_cookie(ctx.app.config.is_https())) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

// ---- links by email ----------------------------------------------------------

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyQuery {
    /// Set by a verification link that worked.
    #[garde(skip)]
    pub verified: Option<String>,
    #[garde(skip)]
    pub error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailForm {
    pub email: Option<String>,
    /// The Turnstile widget's token, when `FLINT_TURNSTILE_SECRET` is set.
    #[serde(rename = "cf-turnstile-response")]
    pub turnstile: Option<String>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct EmailFormSchema {
    #[schemars(length(min = 1, max = 254))]
    email: String,
    /// The Turnstile widget's token (needed when Turnstile is set up).
    #[serde(rename = "cf-turnstile-response")]
    #[schemars(length(max = 2048))]
    turnstile: Option<String>,
}

#[derive(Serialize)]
struct EmailFields {
    form: bool,
    email: String,
    message: Option<String>,
}

async fn verify_page(ctx: DbCtx, ValidQuery(query): ValidQuery<VerifyQuery>) -> Response {
    let error = error_words(query.error.as_deref());
    if error.is_none() && query.verified.is_some() {
        let fields = EmailFields {
            form: false,
            email: String::new(),
            message: Some("Your email address is confirmed, and you are signed in.".into()),
        };
        return render(&ctx, StatusCode::OK, "account/verify-email.html", "Email confirmed", None, fields).await;
    }
    let message = Some("Did the link not arrive, or has it expired? We can send a new one.".to_owned());
    render(
        &ctx,
        StatusCode::OK,
        "account/verify-email.html",
        "Confirm your email",
        error,
        EmailFields { form: true, email: String::new(), message },
    )
    .await
}

const LINK_SENT: &str = "If this address has an account, an email with a link is on its way. It works for an hour.";

/// The email address of a form, or the page's refusal.
fn email_of(form: EmailForm) -> Result<String, (StatusCode, String)> {
    // The services trim it and answer the same for any address.
    let email = form.email.unwrap_or_default();
    if email.is_empty() || email.chars().count() > 254 {
        return Err((StatusCode::UNPROCESSABLE_ENTITY, "email: between 1 and 254 characters".to_owned()));
    }
    Ok(email)
}

/// Emails a link to the form's address with `send`: `None` when it went,
/// else the refusal and what was typed (internal errors stay errors).
async fn send_link<Fut>(
    ctx: &DbCtx,
    form: EmailForm,
    send: impl FnOnce(String) -> Fut,
) -> Result<Option<((StatusCode, String), String)>, AppError>
where
    Fut: std::future::Future<Output = Result<(), service::AccountError>>,
{
    if let Some(refused) = turnstile_refusal(ctx, form.turnstile.as_deref()).await {
        return Ok(Some((refused, echo(form.email.unwrap_or_default(), 254))));
    }
    let email = match email_of(form) {
        Ok(email) => email,
        Err(refused) => return Ok(Some((refused, String::new()))),
    };
    match send(email.clone()).await {
        Ok(()) => Ok(None),
        Err(error) => Ok(Some((refusal(error.into())?, echo(email, 254)))),
    }
}

async fn link_sent(ctx: &DbCtx) -> Response {
    let done = Done { message: LINK_SENT.into(), next: None, next_label: "" };
    render(ctx, StatusCode::OK, "account/done.html", "Check your email", None, done).await
}

async fn verify_form(ctx: DbCtx, PageForm(form): PageForm<EmailForm>) -> Result<Response, AppError> {
    let app = &ctx;
    match send_link(app, form, |email| async move { service::send_verification_email(app, &email, Some(VERIFIED_PATH)).await }).await? {
        None => Ok(link_sent(&ctx).await),
        Some(((status, message), email)) => {
            let fields = EmailFields { form: true, email, message: None };
            Ok(render(&ctx, status, "account/verify-email.html", "Confirm your email", Some(message), fields).await)
        }
    }
}

#[derive(Serialize)]
struct EmailField {
    email: String,
}

async fn forgot_page(ctx: DbCtx) -> Response {
    render(&ctx, StatusCode::OK, "account/forgot-password.html", "Forgot your password?", None, EmailField { email: String::new() }).await
}

async fn forgot_form(ctx: DbCtx, PageForm(form): PageForm<EmailForm>) -> Result<Response, AppError> {
    let app = &ctx;
    match send_link(app, form, |email| async move { service::request_password_reset(app, &email).await }).await? {
        None => Ok(link_sent(&ctx).await),
        Some(((status, message), email)) => {
            let fields = EmailField { email };
            Ok(render(&ctx, status, "account/forgot-password.html", "Forgot your password?", Some(message), fields).await)
        }
    }
}
