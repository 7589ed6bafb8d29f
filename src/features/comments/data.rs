//! SQL for comments. SQL only. Authors' names come from `users` and post
//! titles from `posts` by join: one query per list, never one per comment.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute_tx, on_read, on_tx};

use super::events::Person;
use super::schema::{Comment, CommentStatus};

const COLUMNS: &str = "c.id, c.post_id, c.user_id, c.root_id, c.reply_to_comment_id, c.content, c.content_html, c.status, c.ai_reason, \
                       c.created_at, c.updated_at";

/// What readers may see: published and deleted comments, and the viewer's own (`$2`).
const VISIBLE: &str = "(c.status IN ('published', 'deleted') OR c.user_id = $2)";

/// The same columns unqualified, for `RETURNING` (SQLite refuses qualified names there).
const RETURNING: &str =
    "id, post_id, user_id, root_id, reply_to_comment_id, content, content_html, status, ai_reason, created_at, updated_at";

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// A comment with its author and, for replies, the name of whom it answers.
#[derive(Debug, sqlx::FromRow)]
pub struct ThreadRow {
    #[sqlx(flatten)]
    pub comment: Comment,
    pub user_name: Option<String>,
    pub user_image: Option<String>,
    pub user_role: Option<String>,
    pub reply_to_exists: Option<i64>,
    pub reply_to_name: Option<String>,
}

/// A comment with everything the admins' list shows.
#[derive(Debug, sqlx::FromRow)]
pub struct AdminRow {
    #[sqlx(flatten)]
    pub thread: ThreadRow,
    pub reply_to_user_id: Option<String>,
    pub reply_to_user_image: Option<String>,
    pub reply_to_user_role: Option<String>,
    pub post_title: String,
    pub post_slug: String,
}

const THREAD_SELECT: &str = "u.name AS user_name, u.image AS user_image, u.role AS user_role, r.id AS reply_to_exists, ru.name AS reply_to_name \
                             FROM comments c LEFT JOIN users u ON u.id = c.user_id \
                             LEFT JOIN comments r ON r.id = c.reply_to_comment_id LEFT JOIN users ru ON ru.id = r.user_id";

pub struct NewComment<'a> {
    pub post_id: i64,
    pub user_id: &'a str,
    pub root_id: Option<i64>,
    pub reply_to_comment_id: Option<i64>,
    pub content: &'a str,
    pub content_html: &'a str,
    pub status: CommentStatus,
    pub ai_reason: Option<&'a str>,
    pub now: Millis,
}

pub async fn insert(tx: &mut Tx, new: &NewComment<'_>) -> sqlx::Result<Comment> {
    let text = format!(
        "INSERT INTO comments (post_id, user_id, root_id, reply_to_comment_id, content, content_html, status, ai_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {RETURNING}"
    );
    on_tx!(tx, |conn| sqlx::query_as::<_, Comment>(sql(text.clone()))
        .bind(new.post_id)
        .bind(new.user_id)
        .bind(new.root_id)
        .bind(new.reply_to_comment_id)
        .bind(new.content)
        .bind(new.content_html)
        .bind(new.status.as_str())
        .bind(new.ai_reason)
        .bind(new.now)
        .fetch_one(conn))
}

pub async fn find_in(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Comment>> {
    on_tx!(tx, |conn| sqlx::query_as::<_, Comment>(sql(format!("SELECT {COLUMNS} FROM comments c WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(conn))
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<Comment>> {
    on_read!(db, |pool| sqlx::query_as::<_, Comment>(sql(format!("SELECT {COLUMNS} FROM comments c WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(pool))
}

/// Whether `user_id` has comments on the post that only they can see.
pub async fn has_hidden(db: &Db, post_id: i64, user_id: &str) -> sqlx::Result<bool> {
    on_read!(db, |pool| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM comments WHERE user_id = $2 AND post_id = $1 AND status IN ('pending', 'verifying'))"
    )
    .bind(post_id)
    .bind(user_id)
    .fetch_one(pool))
}

/// Root comments of a post, newest first, and their total.
pub async fn roots(db: &Db, post_id: i64, viewer: Option<&str>, offset: i64, limit: i64) -> sqlx::Result<(Vec<ThreadRow>, i64)> {
    let text = format!(
        "SELECT {COLUMNS}, {THREAD_SELECT} WHERE c.post_id = $1 AND c.root_id IS NULL AND {VISIBLE}
         ORDER BY c.created_at DESC, c.id DESC {} OFFSET $3",
        crate::platform::db::limit(limit)
    );
    let items =
        on_read!(db, |pool| sqlx::query_as::<_, ThreadRow>(sql(text.clone())).bind(post_id).bind(viewer).bind(offset).fetch_all(pool))?;
    let count = format!("SELECT COUNT(*) FROM comments c WHERE c.post_id = $1 AND c.root_id IS NULL AND {VISIBLE}");
    let total = on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(count.clone())).bind(post_id).bind(viewer).fetch_one(pool))?;
    Ok((items, total))
}

/// `(root id, visible replies)` of the given roots, in one query.
pub async fn reply_counts(db: &Db, root_ids: &[i64], viewer: Option<&str>) -> sqlx::Result<Vec<(i64, i64)>> {
    if root_ids.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!(
        "SELECT c.root_id, COUNT(*) FROM comments c WHERE c.root_id IN ({}) AND (c.status IN ('published', 'deleted') OR c.user_id = $1)
         GROUP BY c.root_id",
        crate::platform::db::placeholders(2, root_ids.len())
    );
    on_read!(db, |pool| {
        let mut query = sqlx::query_as::<_, (i64, i64)>(sql(text.clone())).bind(viewer);
        for id in root_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })
}

/// A thread's replies, oldest first, and their total.
pub async fn replies(
    db: &Db,
    post_id: i64,
    root_id: i64,
    viewer: Option<&str>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<ThreadRow>, i64)> {
    let text = format!(
        "SELECT {COLUMNS}, {THREAD_SELECT} WHERE c.post_id = $1 AND c.root_id = $3 AND {VISIBLE}
         ORDER BY c.created_at ASC, c.id ASC {} OFFSET $4",
        crate::platform::db::limit(limit)
    );
    let items = on_read!(db, |pool| sqlx::query_as::<_, ThreadRow>(sql(text.clone()))
        .bind(post_id)
        .bind(viewer)
        .bind(root_id)
        .bind(offset)
        .fetch_all(pool))?;
    let count = format!("SELECT COUNT(*) FROM comments c WHERE c.post_id = $1 AND c.root_id = $3 AND {VISIBLE}");
    let total =
        on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(count.clone())).bind(post_id).bind(viewer).bind(root_id).fetch_one(pool))?;
    Ok((items, total))
}

/// Sets a comment's status (and its reason, when given).
pub async fn set_status(tx: &mut Tx, id: i64, status: CommentStatus, reason: Option<&str>, now: Millis) -> sqlx::Result<Option<Comment>> {
    let text = format!(
        "UPDATE comments SET status = $2, ai_reason = COALESCE($3, ai_reason), updated_at = $4 WHERE id = $1 RETURNING {RETURNING}"
    );
    on_tx!(tx, |conn| sqlx::query_as::<_, Comment>(sql(text.clone()))
        .bind(id)
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .fetch_optional(conn))
}

/// Sets the status only if it is still `expected` (the moderation
/// workflow's write, which an admin's decision wins over).
pub async fn set_status_if(
    tx: &mut Tx,
    id: i64,
    expected: CommentStatus,
    status: CommentStatus,
    reason: &str,
    now: Millis,
) -> sqlx::Result<Option<Comment>> {
    let text =
        format!("UPDATE comments SET status = $3, ai_reason = $4, updated_at = $5 WHERE id = $1 AND status = $2 RETURNING {RETURNING}");
    on_tx!(tx, |conn| sqlx::query_as::<_, Comment>(sql(text.clone()))
        .bind(id)
        .bind(expected.as_str())
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .fetch_optional(conn))
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    Ok(execute_tx!(tx, sqlx::query("DELETE FROM comments WHERE id = $1").bind(id))? > 0)
}

/// A user's comments, newest first.
pub async fn of_user(db: &Db, user_id: &str, status: Option<CommentStatus>, offset: i64, limit: i64) -> sqlx::Result<(Vec<Comment>, i64)> {
    let status = status.map(CommentStatus::as_str);
    let text = format!(
        "SELECT {COLUMNS} FROM comments c WHERE c.user_id = $1 AND ($2 IS NULL OR c.status = $2)
         ORDER BY c.created_at DESC, c.id DESC {} OFFSET $3",
        crate::platform::db::limit(limit)
    );
    let items =
        on_read!(db, |pool| sqlx::query_as::<_, Comment>(sql(text.clone())).bind(user_id).bind(status).bind(offset).fetch_all(pool))?;
    let total = on_read!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM comments c WHERE c.user_id = $1 AND ($2 IS NULL OR c.status = $2)"
    )
    .bind(user_id)
    .bind(status)
    .fetch_one(pool))?;
    Ok((items, total))
}

/// A page of a user's comments, oldest first, after comment `after_id`.
pub async fn of_user_after(db: &Db, user_id: &str, after_id: i64, limit: i64) -> sqlx::Result<Vec<Comment>> {
    let text =
        format!("SELECT {COLUMNS} FROM comments c WHERE c.user_id = $1 AND c.id > $2 ORDER BY c.id {}", crate::platform::db::limit(limit));
    on_read!(db, |pool| sqlx::query_as::<_, Comment>(sql(text.clone())).bind(user_id).bind(after_id).fetch_all(pool))
}

pub struct AdminFilter<'a> {
    pub status: Option<CommentStatus>,
    pub post_id: Option<i64>,
    pub user_id: Option<&'a str>,
    /// A `like_substring` pattern.
    pub user_name: Option<String>,
}

const ADMIN_WHERE: &str = "($1 IS NULL OR c.status = $1) AND ($2 IS NULL OR c.post_id = $2) AND ($3 IS NULL OR c.user_id = $3) \
                           AND ($4 IS NULL OR lower(u.name) LIKE $4 ESCAPE '\\')";

/// Every comment matching the filter, newest first, with author, post and reply target.
pub async fn admin_page(db: &Db, filter: &AdminFilter<'_>, offset: i64, limit: i64) -> sqlx::Result<(Vec<AdminRow>, i64)> {
    let status = filter.status.map(CommentStatus::as_str);
    let text = format!(
        "SELECT {COLUMNS}, {THREAD_SELECT_ADMIN} WHERE {ADMIN_WHERE} ORDER BY c.created_at DESC, c.id DESC {} OFFSET $5",
        crate::platform::db::limit(limit),
        THREAD_SELECT_ADMIN = "u.name AS user_name, u.image AS user_image, u.role AS user_role, r.id AS reply_to_exists, \
            ru.name AS reply_to_name, ru.id AS reply_to_user_id, ru.image AS reply_to_user_image, ru.role AS reply_to_user_role, \
            p.title AS post_title, p.slug AS post_slug \
            FROM comments c JOIN posts p ON p.id = c.post_id LEFT JOIN users u ON u.id = c.user_id \
            LEFT JOIN comments r ON r.id = c.reply_to_comment_id LEFT JOIN users ru ON ru.id = r.user_id",
    );
    let items = on_read!(db, |pool| sqlx::query_as::<_, AdminRow>(sql(text.clone()))
        .bind(status)
        .bind(filter.post_id)
        .bind(filter.user_id)
        .bind(filter.user_name.as_deref())
        .bind(offset)
        .fetch_all(pool))?;
    let count = format!("SELECT COUNT(*) FROM comments c LEFT JOIN users u ON u.id = c.user_id WHERE {ADMIN_WHERE}");
    let total = on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(count.clone()))
        .bind(status)
        .bind(filter.post_id)
        .bind(filter.user_id)
        .bind(filter.user_name.as_deref())
        .fetch_one(pool))?;
    Ok((items, total))
}

/// `(all comments, deleted comments, registered at)` of a user.
pub async fn user_stats(db: &Db, user_id: &str) -> sqlx::Result<(i64, i64, Option<Millis>)> {
    let (total, deleted) = on_read!(db, |pool| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'deleted' THEN 1 ELSE 0 END), 0) FROM comments WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_one(pool))?;
    let registered =
        on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT created_at FROM users WHERE id = $1").bind(user_id).fetch_optional(pool))?;
    Ok((total, deleted, registered))
}

/// A user as notifications need them.
pub async fn person(tx: &mut Tx, user_id: &str) -> sqlx::Result<Option<Person>> {
    let row =
        on_tx!(tx, |conn| sqlx::query_as::<_, (String, String, String, String)>("SELECT id, name, email, role FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(conn))?;
    Ok(row.map(|(id, name, email, role)| Person { id, name, email, is_admin: role == "admin" }))
}

/// Comments with a status (the dashboard's pending count).
pub async fn count_with_status(db: &Db, status: CommentStatus) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM comments WHERE status = $1")
        .bind(status.as_str())
        .fetch_one(pool))
}

/// The newest comments with their author's name and post (the dashboard's activity).
pub async fn newest(db: &Db, limit: i64) -> sqlx::Result<Vec<(i64, Option<i64>, Option<String>, String, String, Millis)>> {
    on_read!(db, |pool| sqlx::query_as(sql(format!(
        "SELECT c.id, c.root_id, u.name, p.title, p.slug, c.created_at FROM comments c JOIN posts p ON p.id = c.post_id
         LEFT JOIN users u ON u.id = c.user_id ORDER BY c.created_at DESC, c.id DESC {}",
        crate::platform::db::limit(limit)
    )))
    .fetch_all(pool))
}
