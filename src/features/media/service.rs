//! Media rules: what an upload must be (checked from its bytes, as a hostile
//! client would send it), where it is stored, which posts use it, and the
//! variants readers are sent.
//!
//! Objects in storage:
//! * `<uuid>.<ext>`: an uploaded image (a `media` row names it). Never
//!   rewritten, so served as immutable.
//! * `asset/<path>`: a site asset (favicons, theme images; no row). May be
//!   replaced by a new upload at the same path.
//! * `variants/<key>/<spec>`: the variants of an original, made on first
//!   request and removed with it.
//!
//! Formats: variants are WebP for clients that accept it, else the
//! original's format. AVIF is accepted as an upload and served as uploaded,
//! but not encoded: the one pure-Rust encoder (rav1e) takes about a second
//! per 1280-pixel image on two cores at its fastest useful setting and adds
//! minutes to every build (`dependencies.md` §7.1), so it is not affordable
//! on the machines flint targets; every browser that accepts AVIF accepts
//! WebP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};

use crate::features::posts::service as posts;
use crate::features::publishing::service as publishing;
use crate::platform::http::{AdminCtx, AppError};
use crate::platform::images::{self, ImageError, ImageType, OutputFormat, VariantRequest, VariantSpec};
use crate::platform::state::DbCtx;
use crate::platform::storage::{Object, StorageError};
use crate::platform::workflow::{CreateOptions, EngineError};

use super::data::{self, NewMedia};
use super::schema::{AssetUrl, LinkedPost, MediaKeysInput, MediaListInput, MediaPage, MediaRow, RenameMediaInput};
use super::workflows::{RemoveObjects, RemoveObjectsParams};

/// The part of an upload held in memory to find its type and size before
/// anything is stored (a JPEG's size follows its EXIF, which may be large).
const HEAD_BYTES: usize = 1 << 20;
/// Largest site asset (the spec's limit).
pub const ASSET_MAX_BYTES: u64 = 8 << 20;
/// Where site assets may go (the spec's prefixes).
const ASSET_PREFIXES: [&str; 4] = ["favicon/", "social/", "themes/default/", "themes/fuwari/"];
/// Largest variant read back from storage.
const VARIANT_MAX_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file is larger than the {max} bytes allowed")]
    TooLarge { max: u64 },
    #[error("only JPEG, PNG, WebP, GIF and AVIF images are accepted (the type is read from the file's bytes)")]
    UnsupportedType,
    #[error("a site asset must be a JPEG, PNG, WebP, GIF, AVIF, SVG or ICO file whose bytes match its extension ({0})")]
    UnsupportedAsset(String),
    #[error("{0}")]
    Unprocessable(ImageError),
    #[error("{0}")]
    BadUpload(String),
    #[error("{0}")]
    BadAssetPath(String),
    #[error("a post uses this image: remove it from the post first")]
    InUse,
    #[error("no such image")]
    NotFound,
    /// Variants cannot be made of this original (animated, or not decodable):
    /// it is sent as uploaded.
    #[error("the image is sent as uploaded")]
    NotResizable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for MediaError {
    fn from(error: sqlx::Error) -> Self {
        MediaError::Internal(anyhow::Error::new(error).context("media database error"))
    }
}

impl From<EngineError> for MediaError {
    fn from(error: EngineError) -> Self {
        MediaError::Internal(anyhow::Error::new(error).context("starting the removal of a media object"))
    }
}

impl From<StorageError> for MediaError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::InvalidKey(_) => MediaError::NotFound,
            // An upload's own failure (too large, cut off), carried through the store.
            StorageError::Body(error) if error.get_ref().is_some_and(|inner| inner.is::<MediaError>()) => {
                *error.into_inner().and_then(|inner| inner.downcast::<MediaError>().ok()).expect("checked just above")
            }
            other => MediaError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<MediaError> for AppError {
    fn from(error: MediaError) -> Self {
        use axum::http::StatusCode;
        let message = error.to_string();
        match error {
            MediaError::TooLarge { .. } => AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "MEDIA_TOO_LARGE", message),
            MediaError::UnsupportedType | MediaError::UnsupportedAsset(_) => {
                AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", message)
            }
            MediaError::Unprocessable(ImageError::TooManyPixels { .. }) => {
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "IMAGE_TOO_MANY_PIXELS", message)
            }
            MediaError::Unprocessable(_) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "IMAGE_UNREADABLE", message),
            MediaError::BadUpload(_) => AppError::bad_request(message),
            MediaError::BadAssetPath(_) => AppError::invalid_field("assetPath", message),
            MediaError::InUse => AppError::conflict("MEDIA_IN_USE", message),
            MediaError::NotFound | MediaError::NotResizable => AppError::not_found("MEDIA_NOT_FOUND", "No such image"),
            MediaError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, MediaError>;

// ---- uploads ---------------------------------------------------------------

/// Stores an uploaded image and records it. `body` is the file's bytes as
/// they arrive; `file_name` is the client's name for it (kept for the
/// library, never trusted for the type).
pub async fn upload_image<S>(ctx: &AdminCtx, file_name: Option<&str>, body: S) -> Result<MediaRow>
where
    S: Stream<Item = Result<Bytes>> + Send,
{
    let app = &ctx.app;
    let max = app.config.media.max_bytes;
    let mut body = std::pin::pin!(body);

    // The head: enough to know the type and the size before storing anything.
    let mut head = Vec::new();
    let mut received = 0u64;
    while head.len() < HEAD_BYTES {
        let Some(chunk) = body.next().await else { break };
        let chunk = chunk?;
        received += chunk.len() as u64;
        if received > max {
            return Err(MediaError::TooLarge { max });
        }
        head.extend_from_slice(&chunk);
    }
    if head.is_empty() {
        return Err(MediaError::BadUpload("the image is empty".into()));
    }
    let kind = ImageType::sniff_raster(&head).ok_or(MediaError::UnsupportedType)?;
    let info = images::inspect(kind, &head, app.config.media.max_pixels).map_err(MediaError::Unprocessable)?;

    // Then the whole file, streamed to storage, still counted.
    let key = format!("{}.{}", uuid::Uuid::new_v4(), kind.extension());
    let over = Arc::new(AtomicBool::new(false));
    let counted = {
        let over = over.clone();
        let mut received = received;
        body.map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            received += chunk.len() as u64;
            if received > max {
                over.store(true, Ordering::Relaxed);
                return Err(std::io::Error::other(MediaError::TooLarge { max }));
            }
            Ok(chunk)
        })
    };
    let whole = stream::once(std::future::ready(Ok(Bytes::from(head)))).chain(counted);
    let size = app.storage.put_stream(&key, whole).await?;

    let name = clean_file_name(file_name, kind);
    let url = format!("/images/{key}");
    let new = NewMedia {
        key: &key,
        url: &url,
        file_name: &name,
        mime_type: kind.content_type(),
        size_in_bytes: size as i64,
        width: info.width as i32,
        height: info.height as i32,
        created_at: app.clock.now_ms(),
    };
    match data::insert(&app.db, &new).await {
        Ok(row) => Ok(row),
        Err(error) => {
            // No row names the object: it must not stay behind.
            if let Err(cleanup) = app.storage.delete(&key).await {
                tracing::error!(%key, error = %cleanup, "could not remove an upload whose record failed");
            }
            Err(error.into())
        }
    }
}

/// The client's file name, without a path, control characters or excess;
/// `image.<ext>` when nothing is left.
fn clean_file_name(name: Option<&str>, kind: ImageType) -> String {
    let name = name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() { format!("image.{}", kind.extension()) } else { cleaned.to_owned() }
}

/// Stores a site asset at `asset/<path>` (replacing what was there, and its
/// variants) and returns its address with a version, so caches see the
/// new file.
pub async fn upload_site_asset(ctx: &AdminCtx, asset_path: &str, bytes: Bytes) -> Result<AssetUrl> {
    let app = &ctx.app;
    let path = asset_path_of(asset_path)?;
    let extension = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or_default();
    let named = ImageType::from_extension(extension)
        .ok_or_else(|| MediaError::UnsupportedAsset(format!("'.{extension}' is not an image extension")))?;
    if bytes.is_empty() {
        return Err(MediaError::BadUpload("the file is empty".into()));
    }
    let kind = ImageType::sniff_asset(&bytes[..bytes.len().min(HEAD_BYTES)])
        .ok_or_else(|| MediaError::UnsupportedAsset("the bytes are none of these".into()))?;
    if kind != named {
        return Err(MediaError::UnsupportedAsset(format!("the bytes are {}, the name says {}", kind.extension(), named.extension())));
    }
    if !matches!(kind, ImageType::Svg | ImageType::Ico) {
        images::inspect(kind, &bytes[..bytes.len().min(HEAD_BYTES)], app.config.media.max_pixels).map_err(MediaError::Unprocessable)?;
    }
    let key = format!("asset/{path}");
    app.storage.put(&key, bytes).await?;
    // The old file's variants describe the old file.
    let variants = format!("variants/{key}/");
    app.storage.delete_prefix(&variants).await?;
    app.images.forget_prefix(&variants);
    let version = app.clock.now_ms() / 1000;
    let url = if path.starts_with("favicon/") {
        format!("/images/{key}?original=true&v={version}")
    } else {
        format!("/images/{key}?v={version}")
    };
    Ok(AssetUrl { url })
}

/// The spec's asset path rules: trimmed, `\` read as `/`, no leading `/`,
/// under one of the asset folders, and a safe storage key.
fn asset_path_of(raw: &str) -> Result<String> {
    let path = raw.trim().replace('\\', "/");
    let path = path.trim_start_matches('/');
    if !ASSET_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return Err(MediaError::BadAssetPath(format!("must start with {}", ASSET_PREFIXES.join(", "))));
    }
    let safe = path.len() <= 200
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !safe {
        return Err(MediaError::BadAssetPath(
            "use letters, digits, '-', '_' and '.' in folder and file names (at most 200 characters)".into(),
        ));
    }
    Ok(path.to_owned())
}

// ---- the library -------------------------------------------------------------

/// Deletes an image no post uses: the row first, then (through a retried
/// workflow) the object and its variants, so a storage hiccup can leave an
/// orphaned object but never a row without its file.
pub async fn delete(ctx: &AdminCtx, key: &str) -> Result<()> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let id = data::find_for_delete(&mut tx, key).await?.ok_or(MediaError::NotFound)?;
    if data::is_used(&mut tx, id).await? {
        return Err(MediaError::InUse);
    }
    data::delete(&mut tx, id).await?;
    app.workflows.create_in::<RemoveObjects>(&mut tx, &RemoveObjectsParams { key: key.to_owned() }, CreateOptions::default()).await?;
    tx.commit().await?;
    app.workflows.wake().await;
    app.images.forget_prefix(&format!("variants/{key}/"));
    Ok(())
}

/// Removes an image's object and its variants (the workflow's steps).
pub async fn remove_original(app: &DbCtx, key: &str) -> Result<()> {
    Ok(app.storage.delete(key).await?)
}

pub async fn remove_variants(app: &DbCtx, key: &str) -> Result<u64> {
    Ok(app.storage.delete_prefix(&format!("variants/{key}/")).await?)
}

pub async fn list(ctx: &AdminCtx, input: &MediaListInput) -> Result<MediaPage> {
    let limit = input.limit.unwrap_or(20).clamp(1, super::schema::MAX_PAGE);
    let pattern = input.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(crate::platform::db::like_substring);
    let mut items =
        data::list(&ctx.app.db, input.cursor, i64::from(limit) + 1, pattern.as_deref(), input.unused_only.unwrap_or(false)).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|row| row.id)
    } else {
        None
    };
    Ok(MediaPage { items, next_cursor })
}

/// The posts using the image at `key`.
pub async fn linked_posts(ctx: &AdminCtx, key: &str) -> Result<Vec<LinkedPost>> {
    let app = &ctx.app;
    let mut linked = Vec::new();
    for id in data::posts_using(&app.db, key).await? {
        if let Some(post) = posts::row(app, id).await.map_err(anyhow::Error::new)? {
            linked.push(LinkedPost {
                id: post.id,
                title: post.title,
                summary: post.summary,
                read_time_in_minutes: post.read_time_in_minutes,
                slug: post.slug,
                status: post.status,
            });
        }
    }
    Ok(linked)
}

/// Which of the keys some post uses.
pub async fn linked_keys(ctx: &AdminCtx, input: &MediaKeysInput) -> Result<Vec<String>> {
    Ok(data::used_keys(&ctx.app.db, &input.keys()).await?)
}

pub async fn total_size(ctx: &AdminCtx) -> Result<i64> {
    Ok(data::total_size(&ctx.app.db).await?)
}

pub async fn rename(ctx: &AdminCtx, input: &RenameMediaInput) -> Result<()> {
    let name: String = input.name.trim().chars().filter(|c| !c.is_control()).collect();
    if data::rename(&ctx.app.db, &input.key, &name).await? { Ok(()) } else { Err(MediaError::NotFound) }
}

// ---- which posts use which images ----------------------------------------------

/// Rebuilds the images a post uses from what it links: its Markdown, and
/// the HTML readers are sent (which may still hold an image the draft
/// dropped, until it is published again). A deleted post uses none.
pub async fn relink_post(app: &DbCtx, post_id: i64) -> Result<()> {
    let markdown = posts::row(app, post_id).await.map_err(anyhow::Error::new)?.and_then(|post| post.content);
    let public = match &markdown {
        Some(_) => publishing::public_html(app, post_id).await.map_err(anyhow::Error::new)?,
        None => None,
    };
    let mut keys = image_keys(markdown.as_deref().unwrap_or_default());
    keys.extend(image_keys(public.as_deref().unwrap_or_default()));
    keys.sort_unstable();
    keys.dedup();
    let mut tx = app.db.begin().await?;
    data::relink(&mut tx, post_id, &keys).await?;
    tx.commit().await?;
    Ok(())
}

/// The keys of `/images/<key>` links in Markdown or HTML (absolute or
/// relative; the query ignored), at most 1,000.
pub fn image_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (at, _) in text.match_indices("/images/") {
        let rest = &text[at + "/images/".len()..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))).unwrap_or(rest.len());
        let key = rest[..end].trim_end_matches(['.', '/']);
        if !key.is_empty() && !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
            if keys.len() == 1000 {
                break;
            }
        }
    }
    keys
}

// ---- serving ---------------------------------------------------------------------

/// What `GET /images/{key}` sends.
pub struct ImageReply {
    pub content_type: &'static str,
    /// A strong validator of exactly these bytes.
    pub etag: String,
    pub body: ImageBody,
    /// An uploaded image (never rewritten), as opposed to a site asset.
    pub immutable: bool,
    /// A variant whose format followed `Accept`.
    pub varies: bool,
    pub kind: ImageType,
}

pub enum ImageBody {
    Streamed(Object),
    Bytes(Bytes),
}

/// The image at `key`: the original when asked (or when it has no
/// variants), else the variant for `request` in a format the client takes.
pub async fn image(app: &DbCtx, key: &str, original: bool, request: VariantRequest, accepts_webp: bool) -> Result<ImageReply> {
    if key.starts_with("variants/") {
        return Err(MediaError::NotFound);
    }
    let extension = key.rsplit_once('.').map(|(_, ext)| ext).ok_or(MediaError::NotFound)?;
    let kind = ImageType::from_extension(extension).ok_or(MediaError::NotFound)?;
    let immutable = !key.starts_with("asset/");
    if original || !images::resizable(kind, false) {
        return send_original(app, key, kind, immutable).await;
    }
    let format = OutputFormat::for_client(accepts_webp, kind);
    let spec = VariantSpec::new(request, format);
    let name = format!("variants/{key}/{}", spec.name());
    let bytes = match app.images.recent(&name).await {
        Some(bytes) => bytes,
        None => match app.storage.read(&name, VARIANT_MAX_BYTES).await? {
            Some(bytes) => {
                app.images.remember(name.clone(), bytes.clone()).await;
                bytes
            }
            None => match app.images.once(&name, || make_variant(app, key, kind, spec, &name)).await {
                Ok(bytes) => bytes,
                Err(MediaError::NotResizable) => return send_original(app, key, kind, immutable).await,
                Err(error) => return Err(error),
            },
        },
    };
    Ok(ImageReply {
        content_type: format.content_type(),
        etag: etag_of(&name),
        body: ImageBody::Bytes(bytes),
        immutable,
        varies: true,
        kind,
    })
}

async fn send_original(app: &DbCtx, key: &str, kind: ImageType, immutable: bool) -> Result<ImageReply> {
    let object = app.storage.get(key).await?.ok_or(MediaError::NotFound)?;
    // A site asset may be replaced: its validator follows the stored version.
    let etag =
        if immutable { etag_of(key) } else { etag_of(&format!("{key}|{}|{}", object.version.as_deref().unwrap_or(""), object.size)) };
    Ok(ImageReply { content_type: kind.content_type(), etag, body: ImageBody::Streamed(object), immutable, varies: false, kind })
}

fn etag_of(name: &str) -> String {
    format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(name.as_bytes()))
}

/// Makes one variant (once, however many ask: see `ImageWorkers::once`),
/// stores it beside its original and keeps it in memory.
async fn make_variant(app: &DbCtx, key: &str, kind: ImageType, spec: VariantSpec, name: &str) -> Result<Bytes> {
    // Made by another caller (or process) since this one looked.
    if let Some(bytes) = app.storage.read(name, VARIANT_MAX_BYTES).await? {
        return Ok(bytes);
    }
    let media = &app.config.media;
    let largest_original = media.max_bytes.max(ASSET_MAX_BYTES).saturating_mul(4);
    let original = app.storage.read(key, largest_original).await?.ok_or(MediaError::NotFound)?;
    let head = &original[..original.len().min(HEAD_BYTES)];
    match images::inspect(kind, head, media.max_pixels) {
        Ok(info) if images::resizable(kind, info.animated) => {}
        _ => return Err(MediaError::NotResizable),
    }
    let max_pixels = media.max_pixels;
    let rendered = app.images.resize(move || images::render(&original, kind, &spec, max_pixels)).await;
    let bytes = match rendered {
        Ok(encoded) => Bytes::from(encoded),
        Err(error) => {
            tracing::warn!(%key, %error, "cannot make a variant; sending the original");
            return Err(MediaError::NotResizable);
        }
    };
    app.storage.put(name, bytes.clone()).await?;
    app.images.remember(name.to_owned(), bytes.clone()).await;
    Ok(bytes)
}

/// Whether an `Accept` header takes WebP (a `q=0` range refuses it).
pub fn accepts_webp(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let kind = parts.next().unwrap_or_default();
        let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
        kind.eq_ignore_ascii_case("image/webp") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_links_are_found_in_markdown_and_html() {
        let text = "![a](/images/0a1b.jpg) <img src=\"https://blog.example/images/c2d3.png?width=640&amp;q=80\"> \
                    [x](./images/e4f5.webp). /images/ /images/0a1b.jpg";
        assert_eq!(image_keys(text), ["0a1b.jpg", "c2d3.png", "e4f5.webp"]);
    }

    #[test]
    fn accept_headers() {
        assert!(accepts_webp("image/avif,image/webp,image/apng,*/*;q=0.8"));
        assert!(!accepts_webp("image/png,image/*;q=0.8"));
        assert!(!accepts_webp("image/webp;q=0"));
    }

    #[test]
    fn asset_paths_follow_the_rules() {
        assert_eq!(asset_path_of(" /favicon/favicon.svg ").unwrap(), "favicon/favicon.svg");
        assert_eq!(asset_path_of("themes\\fuwari\\bg.webp").unwrap(), "themes/fuwari/bg.webp");
        assert!(asset_path_of("uploads/x.png").is_err());
        assert!(asset_path_of("favicon/../../etc/passwd").is_err());
        assert!(asset_path_of("social/a b.png").is_err());
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name(Some("C:\\Users\\me\\holiday.jpg"), ImageType::Jpeg), "holiday.jpg");
        assert_eq!(clean_file_name(Some("a\u{0}b.png"), ImageType::Png), "ab.png");
        assert_eq!(clean_file_name(Some("  "), ImageType::Png), "image.png");
        assert_eq!(clean_file_name(None, ImageType::Webp), "image.webp");
    }
}
