//! Issue 18: uploads checked as a hostile client sends them, the media
//! library, which posts use which image, site assets, and the variants
//! `GET /images/{key}` makes. Every test runs on both databases and on both
//! storages: a folder, and a real S3 server (s3s-fs, checking signatures)
//! when `FLINT_TEST_S3_URL` is set.

use std::io::Cursor;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Backend, Client, Res, TestApp, unique_prefix};

/// The storages to run on: `file` always, `s3` when the test server is there.
fn storages() -> Vec<(&'static str, Vec<(String, String)>)> {
    let mut all = vec![("file", Vec::new())];
    match std::env::var("FLINT_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => {
            let mut url = url::Url::parse(&url).expect("FLINT_TEST_S3_URL is a URL");
            url.set_path(&unique_prefix().trim_end_matches(':').replace(':', "-"));
            all.push((
                "s3",
                vec![
                    ("STORAGE_URL".into(), url.to_string()),
                    ("AWS_ACCESS_KEY_ID".into(), std::env::var("FLINT_TEST_S3_ACCESS_KEY").unwrap_or_default()),
                    ("AWS_SECRET_ACCESS_KEY".into(), std::env::var("FLINT_TEST_S3_SECRET_KEY").unwrap_or_default()),
                ],
            ));
        }
        _ => eprintln!("FLINT_TEST_S3_URL is not set: the S3 half of the media tests is skipped"),
    }
    all
}

/// Declares each test on SQLite and PostgreSQL; each runs on every storage.
macro_rules! media_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_every_storage($crate::helpers::Backend::Sqlite, |app, storage| Box::pin(super::$name(app, storage))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::helpers::Backend::postgres() {
                        super::on_every_storage(backend, |app, storage| Box::pin(super::$name(app, storage))).await;
                    }
                }
            )*
        }
    };
}

async fn on_every_storage<F>(backend: Backend, test: F)
where
    F: for<'a> Fn(&'a TestApp, &'static str) -> std::pin::Pin<Box<dyn Future<Output = ()> + 'a>>,
{
    for (storage, vars) in storages() {
        let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.push(("FLINT_WORKFLOW_WORKERS", "0"));
        let app = TestApp::spawn_with(backend.clone(), &all).await;
        test(&app, storage).await;
    }
}

media_tests!(
    uploads_are_typed_and_measured_from_their_bytes,
    oversized_and_bomb_uploads_are_refused_before_they_cost_anything,
    a_failed_record_leaves_no_object_behind,
    images_in_use_cannot_be_deleted_and_deleting_removes_everything,
    the_library_pages_searches_and_filters,
    variants_follow_accept_and_the_ladder_and_carry_no_metadata,
    one_new_variant_is_computed_once_for_concurrent_readers,
    site_assets_follow_the_spec_and_svg_is_sandboxed,
);

// ---- images made for the tests ------------------------------------------------

/// A `width` × `height` JPEG (a gradient, so it compresses like a photo would not).
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(pixels).write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)).unwrap();
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([x as u8, y as u8, 90, 200]));
    let mut out = Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// 51° 30' 26.49" N, as GPS EXIF stores it (three rationals).
const LATITUDE: [u8; 24] = [51, 0, 0, 0, 1, 0, 0, 0, 30, 0, 0, 0, 1, 0, 0, 0, 0x59, 0x0A, 0, 0, 100, 0, 0, 0];

/// `jpeg` with an EXIF block: `orientation`, and a GPS latitude.
fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II\x2a\x00\x08\x00\x00\x00");
    // IFD0 at 8: orientation, and the GPS IFD at 38.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0]);
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD at 38: latitude ref "N" and the latitude at 68.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[2, 0, 5, 0, 3, 0, 0, 0, 68, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&LATITUDE);
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG that says it is `width` × `height` and is a few bytes on disk
/// (its pixel data is a stub: a decoder would allocate first and fail later).
fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    };
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &header));
    out.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]));
    out.extend(chunk(b"IEND", &[]));
    out
}

const SVG: &[u8] = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><script>alert(1)</script><rect width="16" height="16"/></svg>"#;

// ---- requests -------------------------------------------------------------------

pub fn form(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("flint-test-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, file_name, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(file_name) = file_name {
            body.extend_from_slice(format!("; filename=\"{file_name}\"").as_bytes());
        }
        body.extend_from_slice(format!("\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(admin: &mut Client<'_>, file_name: &str, claimed_type: &str, bytes: &[u8]) -> Res {
    let (content_type, body) = form(&[("image", Some(file_name), claimed_type, bytes)]);
    let request = admin.app.http.post(admin.app.url("/_fn/uploadImage")).header("content-type", content_type).body(body);
    admin.send(request).await
}

async fn uploaded(admin: &mut Client<'_>, file_name: &str, bytes: &[u8]) -> Value {
    let res = upload(admin, file_name, "image/jpeg", bytes).await;
    assert_eq!(res.status, StatusCode::OK, "upload of {file_name}: {}", res.text);
    res.body
}

/// An image as a browser gets it: status, headers and the raw bytes.
async fn fetch(app: &TestApp, path: &str, accept: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app.http.get(app.url(path)).header("accept", accept).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

const BROWSER: &str = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";

async fn new_post(admin: &mut Client<'_>, title: &str, content: &str) -> i64 {
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": title, "content": content}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    id
}

// ---- the tests ---------------------------------------------------------------------

async fn uploads_are_typed_and_measured_from_their_bytes(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    // A JPEG named and labelled as something else is still a JPEG.
    let photo = jpeg(1200, 800);
    let row = uploaded(&mut admin, "holiday.png", &photo).await;
    let res = upload(&mut admin, "holiday.png", "text/plain", &photo).await;
    assert_eq!(res.status, StatusCode::OK, "{storage}: {}", res.text);
    for row in [&row, &res.body] {
        let key = row["key"].as_str().unwrap();
        assert!(key.ends_with(".jpg") && key.len() == 36 + 4, "{storage}: a fresh UUID with the sniffed type: {key}");
        assert_eq!(row["mimeType"], "image/jpeg", "{storage}");
        assert_eq!(row["url"], format!("/images/{key}"));
        assert_eq!((row["width"].as_i64(), row["height"].as_i64()), (Some(1200), Some(800)), "{storage}");
        assert_eq!(row["sizeInBytes"].as_u64(), Some(photo.len() as u64), "{storage}");
        assert_eq!(row["fileName"], "holiday.png", "{storage}: the name is kept for the library");
    }
    assert_ne!(row["key"], res.body["key"], "every upload gets its own key");
    // Sideways in the file, upright on screen: the size is as displayed.
    let turned = uploaded(&mut admin, "portrait.jpg", &with_exif(&jpeg(1200, 800), 6)).await;
    assert_eq!((turned["width"].as_i64(), turned["height"].as_i64()), (Some(800), Some(1200)), "{storage}");
    let png = uploaded(&mut admin, "x", &png(33, 17)).await;
    assert_eq!((png["mimeType"].as_str(), png["width"].as_i64(), png["height"].as_i64()), (Some("image/png"), Some(33), Some(17)));
    assert!(png["key"].as_str().unwrap().ends_with(".png"));

    // Text renamed .png, and SVG (only a site asset) are refused.
    for (name, bytes) in [("notes.png", b"just some text, honestly".as_slice()), ("logo.svg", SVG)] {
        let res = upload(&mut admin, name, "image/png", bytes).await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{storage}: {name}: {}", res.text);
        assert_eq!(res.code(), "UNSUPPORTED_MEDIA_TYPE");
    }
    // The original comes back byte for byte, typed, tagged and immutable.
    let key = row["key"].as_str().unwrap();
    let (status, headers, bytes) = fetch(app, &format!("/images/{key}?original=true"), BROWSER).await;
    assert_eq!(status, StatusCode::OK, "{storage}");
    assert_eq!(bytes, photo, "{storage}");
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app.http.get(app.url(&format!("/images/{key}?original=true"))).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{storage}");
    // A key that is not there is a 404, as is one that is not a key.
    for missing in ["/images/00000000-0000-4000-8000-000000000000.jpg", "/images/nothing", "/images/variants/x/w160-q80.webp"] {
        assert_eq!(fetch(app, missing, BROWSER).await.0, StatusCode::NOT_FOUND, "{storage}: {missing}");
    }
    // Nobody but an admin uploads (last: the refusal does not read the
    // body, so the server closes that connection).
    let res = upload(&mut app.user(), "a.jpg", "image/jpeg", &photo).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

/// Sends `head` of a request and reads what the server answers.
async fn answer_to_partial_request(app: &TestApp, head: String, body_start: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body is never sent: the answer cannot wait for it.
    let _ = stream.write_all(body_start).await;
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await.expect("answered before the body arrived");
    String::from_utf8_lossy(&answer[..read.unwrap()]).into_owned()
}

async fn oversized_and_bomb_uploads_are_refused_before_they_cost_anything(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    let cookie = admin.cookie.clone().unwrap();
    // 11 MiB announced, 64 KiB sent: refused from the length alone.
    let head = format!(
        "POST /_fn/uploadImage HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        11 << 20
    );
    let answer = answer_to_partial_request(app, head, &vec![b'x'; 64 << 10]).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{storage}: {answer}");

    // 11 MiB of unknown length (chunked): cut off at the limit, nothing kept.
    let (content_type, mut body) = form(&[("image", Some("big.jpg"), "image/jpeg", &jpeg(64, 64))]);
    body.truncate(body.len() - 60); // drop the closing boundary: more file follows
    body.resize(11 << 20, 0x55);
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /_fn/uploadImage HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.addr
    );
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for chunk in body.chunks(64 << 10) {
            writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            writer.write_all(chunk).await?;
            writer.write_all(b"\r\n").await?;
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), reader.read(&mut answer)).await.expect("answered").unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{storage}: {answer}");
    drop(reader);
    let _ = sender.await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // 20,000 × 20,000 in 70 bytes: refused from its header, never decoded.
    let bomb = bomb_png(20_000, 20_000);
    assert!(bomb.len() < 100);
    let res = upload(&mut admin, "bomb.png", "image/png", &bomb).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{storage}: {}", res.text);
    assert_eq!(res.code(), "IMAGE_TOO_MANY_PIXELS");

    assert!(app.state.storage.keys(None).await.unwrap().is_empty(), "{storage}: no refused upload left anything");
    assert_eq!(admin.get("/_fn/getTotalMediaSize").await.body, json!(0));
}

async fn a_failed_record_leaves_no_object_behind(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    // The insert fails after the object was stored.
    let refuse = match &app.state.db {
        flint::platform::db::Db::Sqlite(_) => {
            vec!["CREATE TRIGGER refuse_media BEFORE INSERT ON media BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
        }
        flint::platform::db::Db::Postgres(_) => vec![
            "CREATE FUNCTION refuse_media() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_media BEFORE INSERT ON media FOR EACH ROW EXECUTE FUNCTION refuse_media()",
        ],
    };
    for statement in refuse {
        flint::execute!(&app.state.db, sqlx::query(sqlx::AssertSqlSafe(statement))).unwrap();
    }
    let res = upload(&mut admin, "a.jpg", "image/jpeg", &jpeg(100, 100)).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR, "{storage}: {}", res.text);
    assert!(app.state.storage.keys(None).await.unwrap().is_empty(), "{storage}: the stored object was removed");
}

async fn images_in_use_cannot_be_deleted_and_deleting_removes_everything(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    let key = uploaded(&mut admin, "a.jpg", &jpeg(700, 500)).await["key"].as_str().unwrap().to_owned();
    let spare = uploaded(&mut admin, "b.jpg", &jpeg(50, 50)).await["key"].as_str().unwrap().to_owned();
    assert_eq!(fetch(app, &format!("/images/{key}?width=320"), BROWSER).await.0, StatusCode::OK);
    assert_eq!(app.state.storage.keys(Some(&format!("variants/{key}"))).await.unwrap().len(), 1, "{storage}: a variant was stored");

    let post = new_post(&mut admin, "With a picture", &format!("Look:\n\n![a lake](/images/{key}?width=640)\n")).await;
    app.settle().await;
    let res = admin.post("/_fn/deleteImage", json!({"key": key})).await;
    assert_eq!((res.status, res.code()), (StatusCode::CONFLICT, "MEDIA_IN_USE"), "{storage}: {}", res.text);
    let linked = admin.get(&format!("/_fn/getLinkedPosts?key={key}")).await;
    assert_eq!(linked.body[0]["id"], post, "{}", linked.text);
    assert_eq!(linked.body[0]["title"], "With a picture");
    let keys = admin.get(&format!("/_fn/getLinkedMediaKeys?keys={key},{spare},missing.jpg")).await;
    assert_eq!(keys.body, json!([key]), "{}", keys.text);

    // Published, then dropped from the draft: readers still see it.
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": post, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.settle().await;
    admin.post("/_fn/updatePost", json!({"id": post, "data": {"content": "No pictures any more."}})).await;
    app.settle().await;
    let res = admin.post("/_fn/deleteImage", json!({"key": key})).await;
    assert_eq!(res.code(), "MEDIA_IN_USE", "{storage}: the public page still shows it");
    // Published again without it: free to go.
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": post, "status": "published"})).await;
    app.settle().await;
    let res = admin.post("/_fn/deleteImage", json!({"key": key})).await;
    assert_eq!(res.status, StatusCode::OK, "{storage}: {}", res.text);
    assert_eq!(res.body, json!({"success": true}));
    let res = admin.post("/_fn/deleteImage", json!({"key": key})).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{storage}: the row went first");

    // The workflow removes the object and its variants.
    app.settle().await;
    assert_eq!(fetch(app, &format!("/images/{key}?original=true"), BROWSER).await.0, StatusCode::NOT_FOUND, "{storage}");
    let left = app.state.storage.keys(None).await.unwrap();
    assert_eq!(left, std::slice::from_ref(&spare), "{storage}: only the other image is left");

    // A deleted post uses nothing.
    let other = new_post(&mut admin, "Spare", &format!("![b](/images/{spare})")).await;
    app.settle().await;
    assert_eq!(admin.post("/_fn/deleteImage", json!({"key": spare})).await.code(), "MEDIA_IN_USE");
    admin.post("/_fn/deletePost", json!({"id": other})).await;
    app.settle().await;
    assert_eq!(admin.post("/_fn/deleteImage", json!({"key": spare})).await.status, StatusCode::OK, "{storage}");
}

async fn the_library_pages_searches_and_filters(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    let mut keys = Vec::new();
    for name in ["100%_done.jpg", "100 percent.jpg", "plain.jpg"] {
        keys.push(uploaded(&mut admin, name, &jpeg(20, 20)).await["key"].as_str().unwrap().to_owned());
    }
    let names = |res: &Res| -> Vec<String> {
        res.body["items"].as_array().unwrap().iter().map(|i| i["fileName"].as_str().unwrap().to_owned()).collect()
    };
    let all = admin.get("/_fn/getMedia").await;
    assert_eq!(names(&all), ["plain.jpg", "100 percent.jpg", "100%_done.jpg"], "{storage}: newest first");
    assert_eq!(all.body["nextCursor"], Value::Null);
    // `%` and `_` are characters, not wildcards.
    assert_eq!(names(&admin.get("/_fn/getMedia?search=%25_").await), ["100%_done.jpg"]);
    assert_eq!(names(&admin.get("/_fn/getMedia?search=_").await), ["100%_done.jpg"]);
    assert_eq!(names(&admin.get("/_fn/getMedia?search=100").await).len(), 2);
    // Pages, by cursor.
    let first = admin.get("/_fn/getMedia?limit=2").await;
    assert_eq!(names(&first), ["plain.jpg", "100 percent.jpg"]);
    let cursor = first.body["nextCursor"].as_i64().expect("a next page");
    let second = admin.get(&format!("/_fn/getMedia?limit=2&cursor={cursor}")).await;
    assert_eq!(names(&second), ["100%_done.jpg"]);
    assert_eq!(second.body["nextCursor"], Value::Null);
    assert_eq!(admin.get("/_fn/getMedia?limit=101").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Unused only.
    new_post(&mut admin, "Uses one", &format!("![x](/images/{})", keys[2])).await;
    app.settle().await;
    assert_eq!(names(&admin.get("/_fn/getMedia?unusedOnly=true").await), ["100 percent.jpg", "100%_done.jpg"], "{storage}");
    // Renaming, and the total.
    let res = admin.post("/_fn/updateMediaName", json!({"key": keys[0], "name": "  renamed.jpg "})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(names(&admin.get("/_fn/getMedia?search=renamed").await), ["renamed.jpg"]);
    let missing = admin.post("/_fn/updateMediaName", json!({"key": "nope.jpg", "name": "x"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let total: i64 = all.body["items"].as_array().unwrap().iter().map(|i| i["sizeInBytes"].as_i64().unwrap()).sum();
    assert_eq!(admin.get("/_fn/getTotalMediaSize").await.body, json!(total));
}

async fn variants_follow_accept_and_the_ladder_and_carry_no_metadata(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    let original = with_exif(&jpeg(1200, 800), 6);
    assert!(original.windows(4).any(|w| w == b"Exif") && original.windows(24).any(|w| w == LATITUDE));
    let key = uploaded(&mut admin, "gps.jpg", &original).await["key"].as_str().unwrap().to_owned();

    // WebP for a browser that takes it, at the ladder width above 700.
    let (status, headers, bytes) = fetch(app, &format!("/images/{key}?width=700"), BROWSER).await;
    assert_eq!(status, StatusCode::OK, "{storage}");
    assert_eq!(headers["content-type"], "image/webp");
    assert!(headers.get_all("vary").iter().any(|v| v.to_str().unwrap().contains("accept")), "{headers:?}");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    let variant = image::load_from_memory(&bytes).unwrap();
    // Stored sideways, 1200 × 800; upright it is 800 × 1200, so 700 -> 960 is more than the width: 800.
    assert_eq!((variant.width(), variant.height()), (800, 1200), "{storage}: orientation applied, never enlarged");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{storage}: no EXIF in the variant");
    assert!(!bytes.windows(24).any(|w| w == LATITUDE), "{storage}: no GPS in the variant");
    let (_, _, bytes) = fetch(app, &format!("/images/{key}?width=300"), BROWSER).await;
    let small = image::load_from_memory(&bytes).unwrap();
    assert_eq!((small.width(), small.height()), (320, 480), "{storage}: 300 snaps to 320");

    // JPEG for a client without WebP, still without metadata.
    let (status, headers, bytes) = fetch(app, &format!("/images/{key}?width=160"), "image/jpeg,image/png").await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/jpeg"), "{storage}");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"));
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 160);

    // A crop to the box's ratio.
    let (_, _, bytes) = fetch(app, &format!("/images/{key}?width=300&height=300&fit=cover"), BROWSER).await;
    let square = image::load_from_memory(&bytes).unwrap();
    assert_eq!((square.width(), square.height()), (320, 320), "{storage}");
    // Nonsense is refused, not guessed.
    assert_eq!(fetch(app, &format!("/images/{key}?width=0"), BROWSER).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fetch(app, &format!("/images/{key}?fit=stretch"), BROWSER).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Every variant lives beside its original.
    let stored = app.state.storage.keys(Some(&format!("variants/{key}"))).await.unwrap();
    assert_eq!(stored.len(), 4, "{storage}: {stored:?}");
}

async fn one_new_variant_is_computed_once_for_concurrent_readers(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    let key = uploaded(&mut admin, "a.jpg", &jpeg(2000, 1500)).await["key"].as_str().unwrap().to_owned();
    let before = app.state.images.resizes_run();
    let path = format!("/images/{key}?width=1280");
    let readers = (0..20).map(|_| fetch(app, &path, BROWSER));
    let answers = futures_util::future::join_all(readers).await;
    let first = &answers[0].2;
    for (status, headers, bytes) in &answers {
        assert_eq!(*status, StatusCode::OK, "{storage}");
        assert_eq!(headers["content-type"], "image/webp");
        assert_eq!(bytes, first, "{storage}: everyone gets the same variant");
    }
    assert_eq!(app.state.images.resizes_run() - before, 1, "{storage}: 20 readers, one resize");
    // Later readers get the stored (or remembered) copy.
    fetch(app, &path, BROWSER).await;
    assert_eq!(app.state.images.resizes_run() - before, 1);
}

async fn site_assets_follow_the_spec_and_svg_is_sandboxed(app: &TestApp, storage: &'static str) {
    let mut admin = app.admin().await;
    let send = |path: &'static str, file_name: &'static str, bytes: Vec<u8>| {
        let (content_type, body) =
            form(&[("assetPath", None, "text/plain", path.as_bytes()), ("file", Some(file_name), "image/png", &bytes)]);
        app.http.post(app.url("/_fn/uploadSiteAsset")).header("content-type", content_type).body(body)
    };
    let res = admin.send(send("/favicon/icon.svg", "icon.svg", SVG.to_vec())).await;
    assert_eq!(res.status, StatusCode::OK, "{storage}: {}", res.text);
    let url = res.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/images/asset/favicon/icon.svg?original=true&v="), "{url}");
    let (status, headers, bytes) = fetch(app, &url, BROWSER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, SVG);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("sandbox"), "{headers:?}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_ne!(headers["cache-control"], "public, max-age=31536000, immutable", "an asset may be replaced");

    // A theme image, resized like any upload; replacing it drops its variants.
    let res = admin.send(send("themes/fuwari/bg.png", "bg.png", png(700, 400))).await;
    assert_eq!(res.status, StatusCode::OK, "{storage}: {}", res.text);
    let url = res.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/images/asset/themes/fuwari/bg.png?v="), "{url}");
    let (_, _, bytes) = fetch(app, "/images/asset/themes/fuwari/bg.png?width=320", BROWSER).await;
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 320, "{storage}");
    let res = admin.send(send("themes/fuwari/bg.png", "bg.png", png(200, 100))).await;
    assert_eq!(res.status, StatusCode::OK, "{storage}: {}", res.text);
    let (_, _, bytes) = fetch(app, "/images/asset/themes/fuwari/bg.png?width=320", BROWSER).await;
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 200, "{storage}: the new file's variant");

    // The spec's rules: the folders, the extension matching the bytes, 8 MiB.
    let res = admin.send(send("uploads/x.png", "x.png", png(10, 10))).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    let res = admin.send(send("social/x.png", "x.png", SVG.to_vec())).await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", res.text);
    // Just over 8 MiB (a body far over it is refused from its length, as above).
    let res = admin.send(send("social/x.png", "x.png", vec![0x89; (8 << 20) + 1024])).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text);
}
