//! Comment rules (spec §8.6 and issue 20): who may write where, the thread
//! shape, what readers see, and moderation. Public lists are cached per
//! post in the versioned `comments` namespace, which every change bumps; a
//! viewer with comments only they can see is answered from the database.
//! Every change is announced as an event in its transaction.

use std::collections::HashMap;
use std::sync::Arc;

use crate::features::publishing::schema::PostRef;
use crate::features::publishing::service as publishing;
use crate::features::settings::schema::ModerationMode;
use crate::features::settings::service as settings;
use crate::platform::ai::{ModerationRequest, ModerationVerdict};
use crate::platform::auth::session::Session;
use crate::platform::content::{self, ContentError, RenderedComment};
use crate::platform::db::Tx;
use crate::platform::events::Emitted;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, SessionCtx};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::state::DbCtx;
use crate::platform::workflow::{CreateOptions, EngineError};

use super::data::{self, AdminFilter, NewComment, ThreadRow};
use super::events::{CommentCreated, CommentNotice, CommentStatusChanged};
use super::schema::{
    AdminComment, AdminCommentPage, AdminListInput, AdminPostRef, Author, COMMENTS, Comment, CommentStatus, CreateInput, MineInput,
    ModerateInput, RepliesInput, ReplyTarget, RootsInput, ThreadComment, ThreadPage, UserStats, replies_key, roots_key,
};
use super::workflows::{ModerateComment, ModerateParams};

#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("no such post")]
    PostNotFound,
    #[error("the root comment does not exist")]
    RootNotFound,
    #[error("the root comment is itself a reply")]
    InvalidRoot,
    #[error("the root comment belongs to another post")]
    RootPostMismatch,
    #[error("the comment replied to does not exist")]
    ReplyToNotFound,
    #[error("the comment replied to is in another thread")]
    ReplyToRootMismatch,
    #[error("a root comment cannot reply to another comment")]
    RootCannotHaveReplyTo,
    #[error("no such comment")]
    NotFound,
    #[error("only its author or an admin may delete a comment")]
    PermissionDenied,
    #[error("the comment cannot be rendered: {0}")]
    Content(ContentError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CommentError {
    fn from(error: sqlx::Error) -> Self {
        CommentError::Internal(anyhow::Error::new(error).context("comments database error"))
    }
}

impl From<EngineError> for CommentError {
    fn from(error: EngineError) -> Self {
        CommentError::Internal(anyhow::Error::new(error).context("queueing a comment's workflow or events"))
    }
}

impl From<publishing::PublishError> for CommentError {
    fn from(error: publishing::PublishError) -> Self {
        CommentError::Internal(anyhow::Error::new(error).context("reading the comment's post"))
    }
}

impl From<CommentError> for AppError {
    fn from(error: CommentError) -> Self {
        let message = error.to_string();
        match error {
            CommentError::PostNotFound => AppError::not_found("POST_NOT_FOUND", message),
            CommentError::RootNotFound => AppError::not_found("ROOT_COMMENT_NOT_FOUND", message),
            CommentError::InvalidRoot => AppError::new(axum::http::StatusCode::BAD_REQUEST, "INVALID_ROOT_ID", message),
            CommentError::RootPostMismatch => AppError::new(axum::http::StatusCode::BAD_REQUEST, "ROOT_COMMENT_POST_MISMATCH", message),
            CommentError::ReplyToNotFound => AppError::not_found("REPLY_TO_COMMENT_NOT_FOUND", message),
            CommentError::ReplyToRootMismatch => {
                AppError::new(axum::http::StatusCode::BAD_REQUEST, "REPLY_TO_COMMENT_ROOT_MISMATCH", message)
            }
            CommentError::RootCannotHaveReplyTo => {
                AppError::new(axum::http::StatusCode::BAD_REQUEST, "ROOT_COMMENT_CANNOT_HAVE_REPLY_TO", message)
            }
            CommentError::NotFound => AppError::not_found("COMMENT_NOT_FOUND", message),
            CommentError::PermissionDenied => AppError::permission_denied(message),
            CommentError::Content(_) => AppError::invalid_field("content", message),
            CommentError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, CommentError>;

const DEFAULT_PAGE: u32 = 20;

async fn invalidate(app: &DbCtx) {
    invalidation::apply(app, Invalidation::default().bump(COMMENTS)).await;
}

async fn reachable_post(app: &DbCtx, post_id: i64) -> Result<PostRef> {
    publishing::reachable(app, post_id).await?.ok_or(CommentError::PostNotFound)
}

// ---- readers -------------------------------------------------------------

fn viewer(session: Option<&Session>) -> Option<&str> {
    session.map(|s| s.user.id.as_str())
}

/// Whether this viewer sees the shared (cached) list of the post.
async fn sees_shared_list(app: &DbCtx, post_id: i64, viewer: Option<&str>) -> Result<bool> {
    Ok(match viewer {
        None => true,
        Some(user_id) => !data::has_hidden(&app.db, post_id, user_id).await?,
    })
}

fn thread_comment(row: ThreadRow, reply_count: Option<i64>) -> ThreadComment {
    let ThreadRow { comment, user_name, user_image, user_role, reply_to_exists, reply_to_name } = row;
    let deleted = comment.status == CommentStatus::Deleted;
    let user = match (&comment.user_id, user_name, user_role) {
        (Some(id), Some(name), Some(role)) => Some(Author { id: id.clone(), name, image: user_image, role }),
        _ => None,
    };
    let reply_to = comment.root_id.and(reply_to_exists).map(|id| ReplyTarget { id, name: reply_to_name });
    ThreadComment {
        id: comment.id,
        post_id: comment.post_id,
        root_id: comment.root_id,
        reply_to_comment_id: comment.reply_to_comment_id,
        content_html: (!deleted).then_some(comment.content_html),
        deleted,
        status: comment.status,
        user,
        created_at: comment.created_at,
        reply_count,
        reply_to,
    }
}

async fn load_roots(app: &DbCtx, post_id: i64, viewer: Option<&str>, offset: u32, limit: u32) -> Result<ThreadPage> {
    let (rows, total) = data::roots(&app.db, post_id, viewer, i64::from(offset), i64::from(limit)).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.comment.id).collect();
    let counts: HashMap<i64, i64> = data::reply_counts(&app.db, &ids, viewer).await?.into_iter().collect();
    let items = rows
        .into_iter()
        .map(|row| {
            let count = counts.get(&row.comment.id).copied().unwrap_or(0);
            thread_comment(row, Some(count))
        })
        .collect();
    Ok(ThreadPage { items, total })
}

/// Root comments of a public post, newest first, with their reply counts.
pub async fn roots(ctx: &SessionCtx, input: &RootsInput) -> Result<ThreadPage> {
    let app = &ctx.app;
    reachable_post(app, input.post_id).await?;
    let (offset, limit) = (input.offset.unwrap_or(0), input.limit.unwrap_or(DEFAULT_PAGE));
    let viewer = viewer(ctx.session.as_ref());
    if sees_shared_list(app, input.post_id, viewer).await? {
        app.cache.get_or_load(&roots_key(input.post_id, offset, limit), || load_roots(app, input.post_id, None, offset, limit)).await
    } else {
        load_roots(app, input.post_id, viewer, offset, limit).await
    }
}

async fn load_replies(app: &DbCtx, post_id: i64, root_id: i64, viewer: Option<&str>, offset: u32, limit: u32) -> Result<ThreadPage> {
    let (rows, total) = data::replies(&app.db, post_id, root_id, viewer, i64::from(offset), i64::from(limit)).await?;
    Ok(ThreadPage { items: rows.into_iter().map(|row| thread_comment(row, None)).collect(), total })
}

/// A thread's replies, oldest first, each with whom it answers.
pub async fn replies(ctx: &SessionCtx, input: &RepliesInput) -> Result<ThreadPage> {
    let app = &ctx.app;
    reachable_post(app, input.post_id).await?;
    let (offset, limit) = (input.offset.unwrap_or(0), input.limit.unwrap_or(DEFAULT_PAGE));
    let viewer = viewer(ctx.session.as_ref());
    let (post_id, root_id) = (input.post_id, input.root_id);
    if sees_shared_list(app, post_id, viewer).await? {
        app.cache
            .get_or_load(&replies_key(post_id, root_id, offset, limit), || load_replies(app, post_id, root_id, None, offset, limit))
            .await
    } else {
        load_replies(app, post_id, root_id, viewer, offset, limit).await
    }
}

pub async fn mine(ctx: &AuthCtx, input: &MineInput) -> Result<(Vec<Comment>, i64)> {
    let (offset, limit) = (input.offset.unwrap_or(0), input.limit.unwrap_or(DEFAULT_PAGE));
    Ok(data::of_user(&ctx.app.db, &ctx.session.user.id, input.status, i64::from(offset), i64::from(limit)).await?)
}

/// Every comment of a user, oldest first, in every status (their data export).
pub async fn all_of_user(app: &DbCtx, user_id: &str) -> Result<Vec<Comment>> {
    const PAGE: i64 = 500;
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |c: &Comment| c.id);
        let page = data::of_user_after(&app.db, user_id, after, PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

// ---- writing -------------------------------------------------------------

/// The thread a new comment joins: `(root, replied-to)` ids.
async fn thread_of(tx: &mut Tx, input: &CreateInput) -> Result<(Option<i64>, Option<i64>)> {
    let Some(root_id) = input.root_id else {
        if input.reply_to_comment_id.is_some() {
            return Err(CommentError::RootCannotHaveReplyTo);
        }
        return Ok((None, None));
    };
    let root = data::find_in(tx, root_id).await?.ok_or(CommentError::RootNotFound)?;
    if root.root_id.is_some() {
        return Err(CommentError::InvalidRoot);
    }
    if root.post_id != input.post_id {
        return Err(CommentError::RootPostMismatch);
    }
    let Some(reply_to) = input.reply_to_comment_id else { return Ok((Some(root_id), Some(root_id))) };
    let target = data::find_in(tx, reply_to).await?.ok_or(CommentError::ReplyToNotFound)?;
    if target.root_id.unwrap_or(target.id) != root_id {
        return Err(CommentError::ReplyToRootMismatch);
    }
    Ok((Some(root_id), Some(reply_to)))
}

/// The moderation mode in force: the settings', else `ai` when an AI
/// endpoint is configured and `manual` when not.
pub async fn moderation_mode(app: &DbCtx) -> Result<ModerationMode> {
    let config =
        settings::settings(app).await.map_err(|e| CommentError::Internal(anyhow::Error::new(e).context("reading the settings")))?.config;
    Ok(config.comments.moderation.unwrap_or(if app.ai.is_some() { ModerationMode::Ai } else { ModerationMode::Manual }))
}

/// Why the rule check holds a comment for review, if it does: too many
/// links, or a word of the block list.
async fn rule_check(app: &DbCtx, rendered: &RenderedComment, markdown: &str) -> Result<Option<String>> {
    let config =
        settings::settings(app).await.map_err(|e| CommentError::Internal(anyhow::Error::new(e).context("reading the settings")))?.config;
    let rules = &config.comments;
    if rendered.links > rules.max_links as usize {
        return Ok(Some(format!("{} links (at most {} without review)", rendered.links, rules.max_links)));
    }
    let text = format!("{}\n{}", rendered.plain_text, markdown).to_lowercase();
    if let Some(word) = rules.block_list.iter().find(|word| text.contains(word.as_str())) {
        return Ok(Some(format!("contains the blocked word \u{201c}{word}\u{201d}")));
    }
    Ok(None)
}

/// First status of a comment, and the reason when it waits.
async fn first_status(ctx: &AuthCtx, rendered: &RenderedComment, markdown: &str) -> Result<(CommentStatus, Option<String>)> {
    let app = &ctx.app;
    if ctx.session.is_admin() {
        return Ok((CommentStatus::Published, None));
    }
    let mode = moderation_mode(app).await?;
    if mode == ModerationMode::Manual {
        return Ok((CommentStatus::Pending, Some("every comment is reviewed by an admin".into())));
    }
    if rendered.plain_text.trim().is_empty() {
        return Ok((CommentStatus::Pending, Some("empty comment: manual review".into())));
    }
    if let Some(reason) = rule_check(app, rendered, markdown).await? {
        return Ok((CommentStatus::Pending, Some(reason)));
    }
    Ok(match mode {
        ModerationMode::Open => (CommentStatus::Published, None),
        _ => (CommentStatus::Verifying, None),
    })
}

/// The first 100 characters of a text, with "..." when it goes on.
fn preview(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(100).collect();
    if chars.next().is_some() { format!("{head}...") } else { head }
}

/// What notifications need to know of a comment, read in `tx`.
async fn notice(tx: &mut Tx, comment: &Comment, post: PostRef, plain_text: &str) -> Result<CommentNotice> {
    let author = match &comment.user_id {
        Some(id) => data::person(tx, id).await?,
        None => None,
    };
    let replied_to = match comment.reply_to_comment_id {
        Some(target) => match data::find_in(tx, target).await?.and_then(|t| t.user_id) {
            Some(user_id) => data::person(tx, &user_id).await?,
            None => None,
        },
        None => None,
    };
    Ok(CommentNotice {
        id: comment.id,
        root_id: comment.root_id,
        reply_to_comment_id: comment.reply_to_comment_id,
        status: comment.status,
        preview: preview(plain_text),
        post,
        author,
        replied_to,
    })
}

async fn render(markdown: &str) -> Result<RenderedComment> {
    content::render_comment_bounded(Arc::from(markdown)).await.map_err(CommentError::Content)
}

/// A new comment: published at once for admins; otherwise as moderation says.
pub async fn create(ctx: &AuthCtx, input: &CreateInput) -> Result<Comment> {
    let app = &ctx.app;
    let post = reachable_post(app, input.post_id).await?;
    let markdown = input.content.trim();
    let rendered = render(markdown).await?;
    let (status, reason) = first_status(ctx, &rendered, markdown).await?;

    let mut tx = app.db.begin().await?;
    let (root_id, reply_to_comment_id) = thread_of(&mut tx, input).await?;
    let new = NewComment {
        post_id: post.id,
        user_id: &ctx.session.user.id,
        root_id,
        reply_to_comment_id,
        content: markdown,
        content_html: &rendered.html,
        status,
        ai_reason: reason.as_deref(),
        now: app.clock.now_ms(),
    };
    let comment = data::insert(&mut tx, &new).await?;
    if status == CommentStatus::Verifying {
        let options = CreateOptions { key: Some(format!("comment-moderation:{}", comment.id)), ..Default::default() };
        app.workflows.create_in::<ModerateComment>(&mut tx, &ModerateParams { comment_id: comment.id }, options).await?;
    }
    let notice = notice(&mut tx, &comment, post, &rendered.plain_text).await?;
    let emitted = app.events.emit_in(&mut tx, &CommentCreated { comment: notice }).await?;
    tx.commit().await?;
    invalidate(app).await;
    app.events.release(emitted).await;
    if status == CommentStatus::Verifying {
        app.workflows.wake().await;
    }
    Ok(comment)
}

/// Sets a comment's status and announces it (`moderator_id` is `None` for the workflow).
async fn change_status(app: &DbCtx, tx: &mut Tx, before: &Comment, after: &Comment, moderator_id: Option<&str>) -> Result<Emitted> {
    if before.status == after.status {
        return Ok(Emitted::default());
    }
    let post = match publishing::reachable(app, after.post_id).await? {
        Some(post) => post,
        // A post readers cannot open any more: nobody is sent to it.
        None => return Ok(Emitted::default()),
    };
    let plain_text = render(&after.content).await?.plain_text;
    let notice = notice(tx, after, post, &plain_text).await?;
    let event = CommentStatusChanged { comment: notice, previous: before.status, moderator_id: moderator_id.map(str::to_owned) };
    Ok(app.events.emit_in(tx, &event).await?)
}

/// The author's (or an admin's) soft delete: readers see a marker.
pub async fn delete_own(ctx: &AuthCtx, id: i64) -> Result<()> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let comment = data::find_in(&mut tx, id).await?.ok_or(CommentError::NotFound)?;
    if comment.user_id.as_deref() != Some(ctx.session.user.id.as_str()) && !ctx.session.is_admin() {
        return Err(CommentError::PermissionDenied);
    }
    data::set_status(&mut tx, id, CommentStatus::Deleted, None, app.clock.now_ms()).await?;
    tx.commit().await?;
    invalidate(app).await;
    Ok(())
}

/// An admin's decision; a reply that becomes public notifies whom it answers.
pub async fn moderate(ctx: &AdminCtx, input: &ModerateInput) -> Result<Comment> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let before = data::find_in(&mut tx, input.id).await?.ok_or(CommentError::NotFound)?;
    let after = data::set_status(&mut tx, input.id, input.status.into(), None, app.clock.now_ms()).await?.ok_or(CommentError::NotFound)?;
    let emitted = change_status(app, &mut tx, &before, &after, Some(&ctx.session.user.id)).await?;
    tx.commit().await?;
    invalidate(app).await;
    app.events.release(emitted).await;
    Ok(after)
}

/// Removes a comment for good (its replies with it).
pub async fn admin_delete(ctx: &AdminCtx, id: i64) -> Result<()> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    if !data::delete(&mut tx, id).await? {
        return Err(CommentError::NotFound);
    }
    tx.commit().await?;
    invalidate(app).await;
    Ok(())
}

pub async fn all(ctx: &AdminCtx, input: &AdminListInput) -> Result<AdminCommentPage> {
    let filter = AdminFilter {
        status: input.status,
        post_id: input.post_id,
        user_id: input.user_id.as_deref(),
        user_name: input.user_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(crate::platform::db::like_substring),
    };
    let (offset, limit) = (input.offset.unwrap_or(0), input.limit.unwrap_or(DEFAULT_PAGE));
    let (rows, total) = data::admin_page(&ctx.app.db, &filter, i64::from(offset), i64::from(limit)).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let reply_to_user = match (row.reply_to_user_id, &row.thread.reply_to_name, row.reply_to_user_role) {
                (Some(id), Some(name), Some(role)) => Some(Author { id, name: name.clone(), image: row.reply_to_user_image, role }),
                _ => None,
            };
            let comment = row.thread.comment.clone();
            let user = thread_comment(row.thread, None).user;
            AdminComment { comment, user, post: AdminPostRef { title: row.post_title, slug: row.post_slug }, reply_to_user }
        })
        .collect();
    Ok(AdminCommentPage { items, total })
}

pub async fn user_stats(ctx: &AdminCtx, user_id: &str) -> Result<UserStats> {
    let (total, deleted, registered) = data::user_stats(&ctx.app.db, user_id).await?;
    Ok(UserStats { total_comments: total, rejected_comments: deleted, registered_at: registered.map(crate::platform::clock::Timestamp) })
}

// ---- moderation workflow ---------------------------------------------------

/// What the AI reviewer is shown of a comment still waiting for it; `None`
/// when it is gone or no longer waiting (an admin decided first).
pub async fn moderation_request(app: &DbCtx, id: i64) -> Result<Option<ModerationRequest>> {
    let Some(comment) = data::find(&app.db, id).await? else { return Ok(None) };
    if comment.status != CommentStatus::Verifying {
        return Ok(None);
    }
    let document = publishing::search_documents(app, &[comment.post_id]).await?.remove(&comment.post_id);
    let text_of = |c: Option<Comment>| c.map(|c| c.content).unwrap_or_default();
    let root = match comment.root_id {
        Some(root) => text_of(data::find(&app.db, root).await?),
        None => String::new(),
    };
    let replied = match comment.reply_to_comment_id {
        Some(target) if Some(target) != comment.root_id => text_of(data::find(&app.db, target).await?),
        Some(_) => root.clone(),
        None => String::new(),
    };
    Ok(Some(ModerationRequest {
        comment: comment.content,
        post_title: document.as_ref().map(|d| d.title.clone()).unwrap_or_default(),
        post_summary: document.as_ref().map(|d| d.summary.clone()).unwrap_or_default(),
        post_preview: document.map(|d| d.plain_text.chars().take(1500).collect()).unwrap_or_default(),
        is_reply: comment.root_id.is_some(),
        root_comment: root,
        reply_to_comment: replied,
    }))
}

/// The AI's verdict (an error when there is no AI endpoint, or it failed).
pub async fn ask_ai(app: &DbCtx, request: &ModerationRequest) -> anyhow::Result<ModerationVerdict> {
    match &app.ai {
        Some(ai) => ai.moderate(request).await,
        None => Err(crate::platform::workflow::Permanent("no AI endpoint is configured (FLINT_AI_*)".into()).into()),
    }
}

/// Applies the moderation's verdict unless an admin decided meanwhile
/// (compare-and-set on `verifying`); `true` when it was applied.
pub async fn apply_verdict(app: &DbCtx, id: i64, verdict: &ModerationVerdict) -> Result<bool> {
    let status = if verdict.safe { CommentStatus::Published } else { CommentStatus::Pending };
    let mut tx = app.db.begin().await?;
    let Some(before) = data::find_in(&mut tx, id).await? else { return Ok(false) };
    let Some(after) = data::set_status_if(&mut tx, id, CommentStatus::Verifying, status, &verdict.reason, app.clock.now_ms()).await? else {
        return Ok(false);
    };
    let emitted = change_status(app, &mut tx, &before, &after, None).await?;
    tx.commit().await?;
    invalidate(app).await;
    app.events.release(emitted).await;
    Ok(true)
}

// ---- dashboard -------------------------------------------------------------

/// Comments waiting for an admin.
pub async fn pending_count(app: &DbCtx) -> Result<i64> {
    Ok(data::count_with_status(&app.db, CommentStatus::Pending).await?)
}

/// A recent comment, for the dashboard's activity.
pub struct RecentComment {
    pub id: i64,
    pub root_id: Option<i64>,
    pub author: Option<String>,
    pub post_title: String,
    pub post_slug: String,
    pub created_at: crate::platform::clock::Millis,
}

pub async fn newest(app: &DbCtx, limit: i64) -> Result<Vec<RecentComment>> {
    Ok(data::newest(&app.db, limit)
        .await?
        .into_iter()
        .map(|(id, root_id, author, post_title, post_slug, created_at)| RecentComment {
            id,
            root_id,
            author,
            post_title,
            post_slug,
            created_at,
        })
        .collect())
}
