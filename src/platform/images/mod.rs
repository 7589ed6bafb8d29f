//! Images: what a file is (from its bytes, never its name), its size, and
//! the resized copies readers are sent. Decoding is pure Rust (`image`),
//! resizing SIMD (`fast_image_resize`), lossy WebP libwebp's ([`webp`]).
//! May use: nothing else of `platform` but `config` (the limits).
//!
//! A variant is described by a [`VariantSpec`]: the request after the
//! width ladder, the aspect ratios and the qualities below were applied, so
//! the number of variants one image can have is small and fixed whatever a
//! client asks.

mod webp;
mod workers;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, metadata::Orientation};

pub use workers::ImageWorkers;

/// The kinds of file flint stores and serves as images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Gif,
    Webp,
    Avif,
    /// Only as a site asset (a script inside one runs nowhere: see `media`).
    Svg,
    /// Only as a site asset (favicons).
    Ico,
}

impl ImageType {
    /// The type of an upload, from its first bytes (32 are enough); `None`
    /// for anything but JPEG, PNG, GIF, WebP and AVIF.
    pub fn sniff_raster(head: &[u8]) -> Option<ImageType> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(ImageType::Gif)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else if head.len() >= 12 && &head[4..8] == b"ftyp" && matches!(&head[8..12], b"avif" | b"avis") {
            Some(ImageType::Avif)
        } else {
            None
        }
    }

    /// The type of a site asset: a raster image, an icon, or SVG (UTF-8
    /// text whose first element is `<svg`).
    pub fn sniff_asset(head: &[u8]) -> Option<ImageType> {
        if let Some(raster) = Self::sniff_raster(head) {
            return Some(raster);
        }
        if head.starts_with(&[0, 0, 1, 0]) && head.len() >= 6 && head[4..6] != [0, 0] {
            return Some(ImageType::Ico);
        }
        looks_like_svg(head).then_some(ImageType::Svg)
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
            ImageType::Gif => "gif",
            ImageType::Webp => "webp",
            ImageType::Avif => "avif",
            ImageType::Svg => "svg",
            ImageType::Ico => "ico",
        }
    }

    /// The type a stored key's extension names (keys are made by flint, so
    /// the extension is the sniffed type).
    pub fn from_extension(extension: &str) -> Option<ImageType> {
        Some(match extension.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => ImageType::Jpeg,
            "png" => ImageType::Png,
            "gif" => ImageType::Gif,
            "webp" => ImageType::Webp,
            "avif" => ImageType::Avif,
            "svg" => ImageType::Svg,
            "ico" => ImageType::Ico,
            _ => return None,
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Gif => "image/gif",
            ImageType::Webp => "image/webp",
            ImageType::Avif => "image/avif",
            ImageType::Svg => "image/svg+xml",
            ImageType::Ico => "image/x-icon",
        }
    }

    fn decodable(self) -> Option<image::ImageFormat> {
        match self {
            ImageType::Jpeg => Some(image::ImageFormat::Jpeg),
            ImageType::Png => Some(image::ImageFormat::Png),
            ImageType::Gif => Some(image::ImageFormat::Gif),
            ImageType::Webp => Some(image::ImageFormat::WebP),
            // No AVIF decoder is built (the only one is C and fetched at
            // build time), and SVG and icons are served as they are.
            ImageType::Avif | ImageType::Svg | ImageType::Ico => None,
        }
    }
}

/// SVG: optional BOM, then only an XML declaration, comments, a doctype
/// and whitespace before `<svg`.
fn looks_like_svg(head: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(head).or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()])) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if rest.starts_with("<svg") {
            return true;
        }
        let skip_to = if rest.starts_with("<?xml") {
            "?>"
        } else if rest.starts_with("<!--") {
            "-->"
        } else if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
            ">"
        } else {
            return false;
        };
        match rest.find(skip_to) {
            Some(at) => rest = &rest[at + skip_to.len()..],
            None => return false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image's width and height could not be read")]
    UnknownSize,
    #[error("the image is {width} × {height} pixels, more than the {max} pixels allowed")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image could not be decoded: {0}")]
    Decode(String),
    #[error("the image could not be encoded: {0}")]
    Encode(String),
}

/// What an upload's header says of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// As displayed: EXIF orientation applied (a portrait photo stored
    /// sideways is taller than wide).
    pub width: u32,
    pub height: u32,
    /// An animated GIF or WebP (served as it is: a resize keeps one frame).
    pub animated: bool,
}

/// Reads the size of an image of type `kind` from its first bytes (a
/// header and its metadata; the whole file when small), refusing one over
/// `max_pixels` before anything is decoded.
pub fn inspect(kind: ImageType, head: &[u8], max_pixels: u64) -> Result<ImageInfo, ImageError> {
    let (width, height, orientation) = match kind.decodable() {
        Some(format) => {
            let mut reader = ImageReader::with_format(Cursor::new(head), format);
            reader.no_limits();
            match reader.into_decoder() {
                Ok(mut decoder) => {
                    let (width, height) = decoder.dimensions();
                    (width, height, decoder.orientation().unwrap_or(Orientation::NoTransforms))
                }
                // A decoder may want chunks past `head` (WebP indexes all of
                // its chunks): the header alone still gives the size.
                Err(_) => header_size(head)?,
            }
        }
        None => header_size(head)?,
    };
    if width == 0 || height == 0 {
        return Err(ImageError::UnknownSize);
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::TooManyPixels { width, height, max: max_pixels });
    }
    let (width, height) = if swaps_sides(orientation) { (height, width) } else { (width, height) };
    Ok(ImageInfo { width, height, animated: is_animated(kind, head) })
}

fn header_size(head: &[u8]) -> Result<(u32, u32, Orientation), ImageError> {
    let size = imagesize::blob_size(head).map_err(|_| ImageError::UnknownSize)?;
    match (u32::try_from(size.width), u32::try_from(size.height)) {
        (Ok(width), Ok(height)) => Ok((width, height, Orientation::NoTransforms)),
        _ => Err(ImageError::UnknownSize),
    }
}

fn swaps_sides(orientation: Orientation) -> bool {
    matches!(orientation, Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH)
}

/// GIF: a second image descriptor after the first frame is hard to find
/// without decoding, so every GIF counts as animated (served as uploaded).
/// WebP: the VP8X header's animation flag.
fn is_animated(kind: ImageType, head: &[u8]) -> bool {
    match kind {
        ImageType::Gif => true,
        ImageType::Webp => head.len() > 20 && &head[12..16] == b"VP8X" && head[20] & 0x02 != 0,
        _ => false,
    }
}

/// Whether variants of an image of this type can be made (else it is
/// always sent as uploaded).
pub fn resizable(kind: ImageType, info_animated: bool) -> bool {
    kind.decodable().is_some() && kind != ImageType::Gif && !info_animated
}

/// Widths a variant may have: a requested width is rounded up to the next.
pub const WIDTH_LADDER: [u32; 7] = [160, 320, 640, 960, 1280, 1920, 2560];
/// Height / width ratios a cropped variant may have: a requested box is
/// cropped to the nearest.
const CROP_RATIOS: [(u32, u32); 11] = [(1, 1), (5, 4), (4, 5), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16), (2, 1), (1, 2)];
/// Qualities a variant may have: a requested quality is rounded to the nearest.
const QUALITIES: [u8; 5] = [50, 65, 80, 90, 100];
pub const DEFAULT_QUALITY: u8 = 80;

/// How a variant fits a requested box (`fit=`, as image CDNs name them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Fill the box, cropping the overflow (centred).
    Cover,
    /// Fit inside the box. Images are never enlarged, so `scale-down` is
    /// the same.
    Contain,
}

impl Fit {
    pub fn parse(text: &str) -> Option<Fit> {
        match text {
            "cover" => Some(Fit::Cover),
            "contain" | "scale-down" => Some(Fit::Contain),
            _ => None,
        }
    }
}

/// The encodings a variant can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Webp,
    Jpeg,
    Png,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Webp => "webp",
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Webp => "image/webp",
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
        }
    }

    /// The format for a client: WebP when it accepts it (AVIF is not
    /// encoded: see `features/media`), else the original's own format
    /// (JPEG for a WebP original, PNG when it may hold transparency).
    pub fn for_client(accepts_webp: bool, original: ImageType) -> OutputFormat {
        match original {
            _ if accepts_webp => OutputFormat::Webp,
            ImageType::Jpeg => OutputFormat::Jpeg,
            _ => OutputFormat::Png,
        }
    }
}

/// What a reader asked for (`?width=&height=&quality=&fit=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VariantRequest {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub quality: Option<u8>,
    pub fit: Option<Fit>,
}

/// A request after the ladder: laddered sides, a crop ratio from the
/// fixed list, a quality from the fixed list and the encoding. Requests
/// that normalise alike share one stored variant, and there are few
/// distinct ones per image whatever clients send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VariantSpec {
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Cover: crop to this width : height.
    pub crop: Option<(u32, u32)>,
    pub quality: u8,
    pub format: OutputFormat,
}

/// The size of a variant of one original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VariantSize {
    pub width: u32,
    pub height: u32,
    /// Centre-cropped to this size's ratio.
    pub crop: bool,
}

impl VariantSpec {
    pub fn new(request: VariantRequest, format: OutputFormat) -> VariantSpec {
        let quality = nearest_quality(request.quality.unwrap_or(DEFAULT_QUALITY));
        let (width, height, crop) = match (request.width, request.height, request.fit) {
            (Some(w), Some(h), Some(Fit::Cover)) => (Some(ladder(w)), None, Some(nearest_ratio(w, h))),
            (Some(w), Some(h), _) => (Some(ladder(w)), Some(ladder(h)), None),
            (Some(w), None, _) => (Some(ladder(w)), None, None),
            (None, Some(h), _) => (None, Some(ladder(h)), None),
            (None, None, _) => (Some(WIDTH_LADDER[WIDTH_LADDER.len() - 1]), None, None),
        };
        VariantSpec { width, height, crop, quality, format }
    }

    /// The variant's name beside its original: `w640-q80.webp`,
    /// `w640-h480-q80.webp`, `h320-q80.jpg`, `w320-r3x2-q80.webp`.
    pub fn name(&self) -> String {
        let mut name = String::new();
        if let Some(w) = self.width {
            name.push_str(&format!("w{w}-"));
        }
        if let Some(h) = self.height {
            name.push_str(&format!("h{h}-"));
        }
        if let Some((rw, rh)) = self.crop {
            name.push_str(&format!("r{rw}x{rh}-"));
        }
        format!("{name}q{}.{}", self.quality, self.format.extension())
    }

    /// The output size for an original of `width` × `height` (as
    /// displayed). Never larger than the original.
    pub fn size_for(&self, original: (u32, u32)) -> VariantSize {
        let (ow, oh) = (original.0.max(1), original.1.max(1));
        if let (Some((rw, rh)), Some(w)) = (self.crop, self.width) {
            // The largest box of that ratio, at most the laddered width,
            // that the original can fill.
            let mut width = w.min(ow);
            let mut height = ((u64::from(width) * u64::from(rh) + u64::from(rw) / 2) / u64::from(rw)) as u32;
            if height > oh {
                height = oh;
                width = ((u64::from(height) * u64::from(rw) + u64::from(rh) / 2) / u64::from(rh)) as u32;
            }
            let (width, height) = (width.clamp(1, ow), height.clamp(1, oh));
            let crop = u64::from(width) * u64::from(oh) != u64::from(height) * u64::from(ow);
            return VariantSize { width, height, crop };
        }
        let (width, height) = fit_inside(ow, oh, self.width.unwrap_or(u32::MAX), self.height.unwrap_or(u32::MAX));
        VariantSize { width, height, crop: false }
    }
}

/// The smallest ladder width at or above `width` (the largest for more).
fn ladder(width: u32) -> u32 {
    WIDTH_LADDER.iter().copied().find(|&rung| rung >= width).unwrap_or(WIDTH_LADDER[WIDTH_LADDER.len() - 1])
}

fn nearest_quality(quality: u8) -> u8 {
    QUALITIES.iter().copied().min_by_key(|q| q.abs_diff(quality)).expect("qualities are listed")
}

fn nearest_ratio(width: u32, height: u32) -> (u32, u32) {
    let wanted = (f64::from(height.max(1)) / f64::from(width.max(1))).ln();
    CROP_RATIOS
        .iter()
        .copied()
        .min_by(|a, b| {
            let distance = |(w, h): (u32, u32)| ((f64::from(h) / f64::from(w)).ln() - wanted).abs();
            distance(*a).total_cmp(&distance(*b))
        })
        .expect("ratios are listed")
}

/// `ow` × `oh` scaled to fit `bw` × `bh`, never enlarged.
fn fit_inside(ow: u32, oh: u32, bw: u32, bh: u32) -> (u32, u32) {
    let scale = (f64::from(bw) / f64::from(ow)).min(f64::from(bh) / f64::from(oh)).min(1.0);
    let side = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
    (side(ow), side(oh))
}

/// Decodes `original` (an image of type `kind`), applies its EXIF
/// orientation, resizes it to `variant` and encodes it. Nothing of the
/// original's metadata (EXIF, GPS, XMP, ICC) is copied. CPU-bound: run it
/// on a blocking thread ([`ImageWorkers::resize`]).
pub fn render(original: &[u8], kind: ImageType, spec: &VariantSpec, max_pixels: u64) -> Result<Vec<u8>, ImageError> {
    let format = kind.decodable().ok_or_else(|| ImageError::Decode(format!("{} files are not resized", kind.extension())))?;
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    let mut limits = Limits::default();
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // Room for the decoded frame (8 bytes a pixel covers 16-bit RGBA) and
    // the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| ImageError::Decode(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::TooManyPixels { width, height, max: max_pixels });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let displayed = if swaps_sides(orientation) { (height, width) } else { (width, height) };
    let variant = spec.size_for(displayed);
    let decoded = DynamicImage::from_decoder(decoder).map_err(|e| ImageError::Decode(e.to_string()))?;

    // Resized in the stored frame, then turned: turning the small copy is
    // cheaper than turning the original.
    let (target_w, target_h) = if swaps_sides(orientation) { (variant.height, variant.width) } else { (variant.width, variant.height) };
    let keep_alpha = decoded.color().has_alpha() && spec.format != OutputFormat::Jpeg;
    let source = if keep_alpha { DynamicImage::ImageRgba8(decoded.into_rgba8()) } else { DynamicImage::ImageRgb8(decoded.into_rgb8()) };
    let mut resized = if (target_w, target_h) == (source.width(), source.height()) {
        source
    } else {
        let mut target = DynamicImage::new(target_w, target_h, source.color());
        let mut options = fast_image_resize::ResizeOptions::new();
        if variant.crop {
            options = options.fit_into_destination(None);
        }
        fast_image_resize::Resizer::new().resize(&source, &mut target, &options).map_err(|e| ImageError::Encode(e.to_string()))?;
        target
    };
    resized.apply_orientation(orientation);

    match spec.format {
        OutputFormat::Webp => webp::encode(&resized, spec.quality),
        OutputFormat::Jpeg => {
            let mut out = Vec::new();
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, spec.quality);
            resized.to_rgb8().write_with_encoder(encoder).map_err(|e| ImageError::Encode(e.to_string()))?;
            Ok(out)
        }
        OutputFormat::Png => {
            let mut out = Vec::new();
            resized.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out)).map_err(|e| ImageError::Encode(e.to_string()))?;
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_bytes() {
        assert_eq!(ImageType::sniff_raster(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(ImageType::Jpeg));
        assert_eq!(ImageType::sniff_raster(b"\x89PNG\r\n\x1a\n...."), Some(ImageType::Png));
        assert_eq!(ImageType::sniff_raster(b"GIF89a..."), Some(ImageType::Gif));
        assert_eq!(ImageType::sniff_raster(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        assert_eq!(ImageType::sniff_raster(b"\0\0\0\x1cftypavif\0\0\0\0"), Some(ImageType::Avif));
        assert_eq!(ImageType::sniff_raster(b"hello, I am a PNG"), None);
        assert_eq!(ImageType::sniff_raster(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(ImageType::sniff_asset(b"<?xml version=\"1.0\"?>\n<!-- logo -->\n<svg/>"), Some(ImageType::Svg));
        assert_eq!(ImageType::sniff_asset(b"\xef\xbb\xbf<svg/>"), Some(ImageType::Svg));
        assert_eq!(ImageType::sniff_asset(b"<html><svg/></html>"), None);
        assert_eq!(ImageType::sniff_asset(&[0, 0, 1, 0, 1, 0, 16, 16]), Some(ImageType::Ico));
    }

    #[test]
    fn variants_snap_to_the_ladder_and_never_enlarge() {
        let webp = OutputFormat::Webp;
        let spec = |w, h, fit| VariantSpec::new(VariantRequest { width: w, height: h, quality: None, fit }, webp);
        let size = |w, h, fit| spec(w, h, fit).size_for((4000, 3000));
        assert_eq!(spec(Some(700), None, None).name(), "w960-q80.webp");
        assert_eq!(size(Some(700), None, None), VariantSize { width: 960, height: 720, crop: false });
        assert_eq!(size(Some(1), None, None).width, 160);
        assert_eq!(size(Some(10_000), None, None).width, 2560);
        assert_eq!(size(None, None, None).width, 2560);
        assert_eq!(spec(None, Some(500), None).name(), "h640-q80.webp");
        assert_eq!(size(None, Some(500), None), VariantSize { width: 853, height: 640, crop: false });
        assert_eq!(spec(Some(500), Some(500), Some(Fit::Contain)).name(), "w640-h640-q80.webp");
        assert_eq!(size(Some(500), Some(500), Some(Fit::Contain)), VariantSize { width: 640, height: 480, crop: false });
        // A 300 × 200 crop is 3:2 at the 320 rung.
        assert_eq!(spec(Some(300), Some(200), Some(Fit::Cover)).name(), "w320-r3x2-q80.webp");
        assert_eq!(size(Some(300), Some(200), Some(Fit::Cover)), VariantSize { width: 320, height: 213, crop: true });
        // Every width from 1 to 10,000 names one of seven variants; every
        // cover box of up to 4000 a side one of 77.
        let widths: std::collections::HashSet<_> = (1..=10_000).map(|w| spec(Some(w), None, None).name()).collect();
        assert_eq!(widths.len(), 7);
        let boxes: std::collections::HashSet<_> = (1..=4000)
            .step_by(7)
            .flat_map(|w| (1..=4000).step_by(13).map(move |h| (w, h)))
            .map(|(w, h)| spec(Some(w), Some(h), Some(Fit::Cover)).name())
            .collect();
        assert!(boxes.len() <= 77, "{}", boxes.len());
        // Small originals are not enlarged.
        assert_eq!(spec(Some(1920), None, None).size_for((800, 600)), VariantSize { width: 800, height: 600, crop: false });
        assert_eq!(
            spec(Some(2560), Some(2560), Some(Fit::Cover)).size_for((800, 600)),
            VariantSize { width: 600, height: 600, crop: true }
        );
        assert_eq!(VariantSpec::new(VariantRequest { quality: Some(77), ..Default::default() }, webp).quality, 80);
    }
}
