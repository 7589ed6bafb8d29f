//! Media endpoints: the admin's library (uploads as `multipart/form-data`)
//! and `GET /images/{key}` for everyone.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use schemars::JsonSchema;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, CachePolicy, DbCtx, Endpoint, PathParam, Routes, Success, ValidJson, ValidQuery};
use crate::platform::images::{Fit, VariantRequest};

use super::schema::{
    AssetUrl, FitInput, ImageQuery, LinkedPost, MediaKeyInput, MediaKeysInput, MediaListInput, MediaPage, MediaRow, RenameMediaInput,
};
use super::service::{self, ASSET_MAX_BYTES, ImageBody, MediaError};

/// Room for the multipart framing and the small fields around a file.
const MULTIPART_OVERHEAD: usize = 64 << 10;

/// `uploadImage`'s form.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct UploadImageForm {
    /// The image (JPEG, PNG, WebP, GIF or AVIF, told by its bytes).
    #[schemars(extend("format" = "binary"))]
    image: String,
}

/// `uploadSiteAsset`'s form.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct UploadSiteAssetForm {
    /// The file (JPEG, PNG, WebP, GIF, AVIF, SVG or ICO; at most 8 MiB).
    #[schemars(extend("format" = "binary"))]
    file: String,
    /// Under favicon/, social/, themes/default/ or themes/fuwari/, with the file type's extension.
    asset_path: String,
}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::mutation("uploadImage")
                .tag("media")
                .summary("Upload an image (multipart field `image`)")
                .scope(Scope::MediaWrite)
                .body_limit(|config| config.media.max_bytes as usize + MULTIPART_OVERHEAD)
                .multipart_input::<UploadImageForm>()
                .output::<MediaRow>()
                .handler(upload_image),
        )
        .route(
            Endpoint::mutation("uploadSiteAsset")
                .tag("media")
                .summary("Store a site asset (favicon, social or theme image) at its path")
                .scope(Scope::MediaWrite)
                .body_limit(|_| ASSET_MAX_BYTES as usize + MULTIPART_OVERHEAD)
                .multipart_input::<UploadSiteAssetForm>()
                .output::<AssetUrl>()
                .handler(upload_site_asset),
        )
        .route(
            Endpoint::mutation("deleteImage")
                .tag("media")
                .summary("Delete an image no post uses (409 MEDIA_IN_USE otherwise)")
                .scope(Scope::MediaWrite)
                .input::<MediaKeyInput>()
                .output::<Success>()
                .handler(delete_image),
        )
        .route(
            Endpoint::query("getMedia")
                .tag("media")
                .summary("The media library, newest first, a page at a time")
                .scope(Scope::MediaRead)
                .input::<MediaListInput>()
                .output::<MediaPage>()
                .handler(list),
        )
        .route(
            Endpoint::query("getLinkedPosts")
                .tag("media")
                .summary("The posts that use an image")
                .scope(Scope::MediaRead)
                .input::<MediaKeyInput>()
                .output::<Vec<LinkedPost>>()
                .handler(linked_posts),
        )
        .route(
            Endpoint::query("getLinkedMediaKeys")
                .tag("media")
                .summary("Which of the given keys (comma-separated) some post uses")
                .scope(Scope::MediaRead)
                .input::<MediaKeysInput>()
                .output::<Vec<String>>()
                .handler(linked_keys),
        )
        .route(
            Endpoint::query("getTotalMediaSize")
                .tag("media")
                .summary("The bytes all uploaded images take")
                .scope(Scope::MediaRead)
                .output::<i64>()
                .handler(total_size),
        )
        .route(
            Endpoint::mutation("updateMediaName")
                .tag("media")
                .summary("Rename an image in the library")
                .scope(Scope::MediaWrite)
                .input::<RenameMediaInput>()
                .output::<Success>()
                .handler(rename),
        )
        .route(
            Endpoint::rest(Method::GET, "/images/{*key}", "image")
                .tag("media")
                .summary("An image: the original (?original=true) or a variant sized and encoded for this client")
                .cache(CachePolicy::Immutable)
                .input::<ImageQuery>()
                .handler(image),
        )
}

/// The multipart reader of a request, or 415 when it is not a form. Fields
/// other than `file_field` are small text (at most 1 KiB each, 64 KiB for
/// fields nobody reads, which are skipped); the file is bounded by the
/// route's body limit.
fn multipart_of(request: Request, file_field: &str) -> Result<multer::Multipart<'static>, AppError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", "Send the file as multipart/form-data"))?;
    let limits = multer::SizeLimit::new().per_field(MULTIPART_OVERHEAD as u64).for_field(file_field.to_owned(), u64::MAX);
    Ok(multer::Multipart::with_constraints(request.into_body().into_data_stream(), boundary, multer::Constraints::new().size_limit(limits)))
}

/// A multipart failure as the client should hear it: a body past the
/// route's limit is 413, anything else malformed is 400.
fn multipart_error(error: multer::Error, max: u64) -> MediaError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return MediaError::TooLarge { max };
        }
        source = current.source();
    }
    match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => MediaError::TooLarge { max },
        other => MediaError::BadUpload(format!("the form could not be read: {other}")),
    }
}

async fn upload_image(ctx: AdminCtx, request: Request) -> Result<Json<MediaRow>, AppError> {
    let max = ctx.app.config.media.max_bytes;
    let mut form = multipart_of(request, "image")?;
    while let Some(field) = form.next_field().await.map_err(|e| multipart_error(e, max))? {
        if field.name() == Some("image") {
            let file_name = field.file_name().map(str::to_owned);
            let body = field.map(move |chunk| chunk.map_err(|e| multipart_error(e, max)));
            return Ok(Json(service::upload_image(&ctx, file_name.as_deref(), body).await?));
        }
    }
    Err(AppError::invalid_field("image", "Attach the image as the form field `image`"))
}

async fn upload_site_asset(ctx: AdminCtx, request: Request) -> Result<Json<AssetUrl>, AppError> {
    let mut form = multipart_of(request, "file")?;
    let (mut file, mut path) = (None, None);
    while let Some(mut field) = form.next_field().await.map_err(|e| multipart_error(e, ASSET_MAX_BYTES))? {
        match field.name() {
            Some("assetPath") => {
                let text = field.text().await.map_err(|e| multipart_error(e, ASSET_MAX_BYTES))?;
                if text.len() > 1024 {
                    return Err(AppError::invalid_field("assetPath", "At most 1024 bytes"));
                }
                path = Some(text);
            }
            Some("file") => {
                // An asset is at most 8 MiB, and is checked whole (SVG is text).
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, ASSET_MAX_BYTES))? {
                    if (bytes.len() + chunk.len()) as u64 > ASSET_MAX_BYTES {
                        return Err(MediaError::TooLarge { max: ASSET_MAX_BYTES }.into());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(Bytes::from(bytes));
            }
            _ => {}
        }
    }
    let path = path.ok_or_else(|| AppError::invalid_field("assetPath", "Give the asset's path as the form field `assetPath`"))?;
    let file = file.ok_or_else(|| AppError::invalid_field("file", "Attach the file as the form field `file`"))?;
    Ok(Json(service::upload_site_asset(&ctx, &path, file).await?))
}

async fn delete_image(ctx: AdminCtx, ValidJson(input): ValidJson<MediaKeyInput>) -> Result<Json<Success>, AppError> {
    service::delete(&ctx, &input.key).await?;
    Ok(Json(Success { success: true }))
}

async fn list(ctx: AdminCtx, ValidQuery(input): ValidQuery<MediaListInput>) -> Result<Json<MediaPage>, AppError> {
    Ok(Json(service::list(&ctx, &input).await?))
}

async fn linked_posts(ctx: AdminCtx, ValidQuery(input): ValidQuery<MediaKeyInput>) -> Result<Json<Vec<LinkedPost>>, AppError> {
    Ok(Json(service::linked_posts(&ctx, &input.key).await?))
}

async fn linked_keys(ctx: AdminCtx, ValidQuery(input): ValidQuery<MediaKeysInput>) -> Result<Json<Vec<String>>, AppError> {
    Ok(Json(service::linked_keys(&ctx, &input).await?))
}

async fn total_size(ctx: AdminCtx) -> Result<Json<i64>, AppError> {
    Ok(Json(service::total_size(&ctx).await?))
}

async fn rename(ctx: AdminCtx, ValidJson(input): ValidJson<RenameMediaInput>) -> Result<Json<Success>, AppError> {
    service::rename(&ctx, &input).await?;
    Ok(Json(Success { success: true }))
}

async fn image(
    ctx: DbCtx,
    PathParam(key): PathParam,
    ValidQuery(query): ValidQuery<ImageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let request = VariantRequest {
        width: query.width,
        height: query.height,
        quality: query.quality,
        fit: query.fit.map(|fit| match fit {
            FitInput::Cover => Fit::Cover,
            FitInput::Contain | FitInput::ScaleDown => Fit::Contain,
        }),
    };
    let accepts_webp = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(service::accepts_webp);
    let reply = service::image(&ctx, &key, query.original.unwrap_or(false), request, accepts_webp).await?;

    let mut response = match reply.body {
        ImageBody::Bytes(bytes) => bytes.into_response(),
        ImageBody::Streamed(object) => {
            let mut response = Body::from_stream(object.body).into_response();
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if let Ok(etag) = HeaderValue::from_str(&reply.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if reply.kind == crate::platform::images::ImageType::Svg {
        // An SVG may hold scripts: opened directly, it runs in a sandbox
        // without them (as an <img> it never runs any).
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"));
    }
    if reply.varies {
        headers.append(header::VARY, HeaderValue::from_static("accept"));
    }
    // Uploads never change under their key; site assets may be replaced.
    let policy = if reply.immutable { CachePolicy::Immutable } else { CachePolicy::Hourly };
    policy.apply(headers);
    Ok(response)
}
