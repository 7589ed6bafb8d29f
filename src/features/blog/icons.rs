//! The icons the settings and the manifest name at the site's root
//! (`/favicon.ico`, `/web-app-manifest-192x192.png`, ...). An icon the
//! admin uploaded as a site asset under `favicon/` (same file name) is
//! served; otherwise a default drawn here: a rounded square with a spark.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::platform::state::DbCtx;

/// Every icon file served at the root, its pixel size (0: vector), type,
/// and the name of its route.
pub const ICONS: &[(&str, u32, &str, &str)] = &[
    ("favicon.ico", 48, "image/x-icon", "faviconIco"),
    ("favicon.svg", 0, "image/svg+xml", "faviconSvg"),
    ("favicon-96x96.png", 96, "image/png", "favicon96"),
    ("apple-touch-icon.png", 180, "image/png", "appleTouchIcon"),
    ("web-app-manifest-192x192.png", 192, "image/png", "webAppIcon192"),
    ("web-app-manifest-512x512.png", 512, "image/png", "webAppIcon512"),
];

/// The largest uploaded icon served (larger ones are not icons).
const MAX_ICON_BYTES: u64 = 1024 * 1024;

const BACKGROUND: [u8; 3] = [0x1d, 0x4e, 0xd8];
const SPARK: [u8; 3] = [0xff, 0xff, 0xff];

/// The icon `file` (one of [`ICONS`]) and its content type: the uploaded
/// one, else the default.
pub async fn icon(ctx: &DbCtx, file: &str) -> anyhow::Result<Option<(Bytes, &'static str)>> {
    let Some(&(name, size, content_type, _)) = ICONS.iter().find(|(name, ..)| *name == file) else { return Ok(None) };
    if let Some(uploaded) = ctx.storage.read(&format!("asset/favicon/{name}"), MAX_ICON_BYTES).await? {
        return Ok(Some((uploaded, content_type)));
    }
    Ok(Some((default_icon(name, size), content_type)))
}

fn default_icon(name: &str, size: u32) -> Bytes {
    static DRAWN: OnceLock<Vec<(String, Bytes)>> = OnceLock::new();
    let drawn = DRAWN.get_or_init(|| {
        ICONS
            .iter()
            .map(|&(name, size, ..)| {
                let bytes = match name.rsplit_once('.').map(|(_, ext)| ext) {
                    Some("svg") => Bytes::from(svg()),
                    Some("ico") => Bytes::from(ico(&png(size))),
                    _ => Bytes::from(png(size)),
                };
                (name.to_owned(), bytes)
            })
            .collect()
    });
    drawn.iter().find(|(drawn, _)| drawn == name).map(|(_, bytes)| bytes.clone()).unwrap_or_else(|| Bytes::from(png(size)))
}

/// The default icon as SVG (the same shapes as [`png`]).
fn svg() -> String {
    let hex = |[r, g, b]: [u8; 3]| format!("#{r:02x}{g:02x}{b:02x}");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 100\"><rect width=\"100\" height=\"100\" rx=\"22\" fill=\"{}\"/>\
         <polygon points=\"50,18 64,50 50,82 36,50\" fill=\"{}\"/></svg>",
        hex(BACKGROUND),
        hex(SPARK)
    )
}

/// Whether the point (in units of the icon's side, 0..1) is in the rounded
/// square, and in the spark.
fn shapes(x: f32, y: f32) -> (bool, bool) {
    let radius = 0.22;
    let (dx, dy) = ((radius - x).max(x - (1.0 - radius)).max(0.0), (radius - y).max(y - (1.0 - radius)).max(0.0));
    let in_square = dx * dx + dy * dy <= radius * radius;
    // A diamond 0.28 wide and 0.64 tall around the centre.
    let in_spark = (x - 0.5).abs() / 0.14 + (y - 0.5).abs() / 0.32 <= 1.0;
    (in_square, in_spark)
}

/// The default icon, `size` pixels square, as PNG (4x4 samples per pixel).
fn png(size: u32) -> Vec<u8> {
    const SAMPLES: u32 = 4;
    let mut pixels = image::RgbaImage::new(size, size);
    for (px, py, pixel) in pixels.enumerate_pixels_mut() {
        let (mut square, mut spark) = (0u32, 0u32);
        for sy in 0..SAMPLES {
            for sx in 0..SAMPLES {
                let x = (px as f32 + (sx as f32 + 0.5) / SAMPLES as f32) / size as f32;
                let y = (py as f32 + (sy as f32 + 0.5) / SAMPLES as f32) / size as f32;
                let (in_square, in_spark) = shapes(x, y);
                square += u32::from(in_square);
                spark += u32::from(in_square && in_spark);
            }
        }
        let total = (SAMPLES * SAMPLES) as f32;
        let spark_share = spark as f32 / square.max(1) as f32;
        let mix = |background: u8, spark: u8| (f32::from(background) * (1.0 - spark_share) + f32::from(spark) * spark_share).round() as u8;
        let alpha = (square as f32 / total * 255.0).round() as u8;
        *pixel = image::Rgba([mix(BACKGROUND[0], SPARK[0]), mix(BACKGROUND[1], SPARK[1]), mix(BACKGROUND[2], SPARK[2]), alpha]);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).expect("an in-memory PNG encodes");
    out.into_inner()
}

/// An ICO file holding one PNG image (the form every browser since 2007 reads).
fn ico(png: &[u8]) -> Vec<u8> {
    let size = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let side = if size >= 256 { 0 } else { size as u8 };
    let mut out = Vec::with_capacity(22 + png.len());
    out.extend_from_slice(&[0, 0, 1, 0, 1, 0]); // reserved, type 1 (icon), one image
    out.extend_from_slice(&[side, side, 0, 0]); // width, height, no palette, reserved
    out.extend_from_slice(&1u16.to_le_bytes()); // colour planes
    out.extend_from_slice(&32u16.to_le_bytes()); // bits per pixel
    out.extend_from_slice(&(png.len() as u32).to_le_bytes());
    out.extend_from_slice(&22u32.to_le_bytes()); // the image follows the directory
    out.extend_from_slice(png);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_icons_are_what_their_names_say() {
        for &(name, size, ..) in ICONS {
            let bytes = default_icon(name, size);
            if name.ends_with(".png") {
                let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
                assert_eq!((decoded.width(), decoded.height()), (size, size), "{name}");
                let centre = decoded.to_rgba8().get_pixel(size / 2, size / 2).0;
                assert_eq!(centre, [SPARK[0], SPARK[1], SPARK[2], 255], "{name}: the spark is in the middle");
                assert_eq!(decoded.to_rgba8().get_pixel(0, 0).0[3], 0, "{name}: the corners are rounded off");
            } else if name.ends_with(".ico") {
                assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO header");
                assert_eq!(&bytes[22..26], b"\x89PNG", "holding a PNG");
            } else {
                assert!(std::str::from_utf8(&bytes).unwrap().starts_with("<svg"), "{name}");
            }
        }
    }
}
