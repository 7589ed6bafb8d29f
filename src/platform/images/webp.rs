//! Lossy WebP through libwebp (vendored by `libwebp-sys`). The one reason
//! for `unsafe` here: `image` encodes WebP losslessly only, which made a
//! 1280-pixel photo 860 KiB instead of 39 KiB (`dependencies.md` §7.1), and
//! no safe, maintained lossy encoder exists. Each call below is checked
//! against libwebp's `encode.h` contract.

use image::DynamicImage;
use libwebp_sys as ffi;

use super::ImageError;

/// libwebp's speed/size trade-off (0 fastest .. 6 smallest). 4 is its
/// default; 3 encodes a photo about a third faster for ~2 % more bytes.
const METHOD: i32 = 3;

/// Encodes an RGB8 or RGBA8 image at `quality` (0-100).
pub fn encode(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, ImageError> {
    let (pixels, has_alpha) = match image {
        DynamicImage::ImageRgb8(buffer) => (buffer.as_raw(), false),
        DynamicImage::ImageRgba8(buffer) => (buffer.as_raw(), true),
        _ => return Err(ImageError::Encode("WebP is encoded from 8-bit RGB or RGBA".into())),
    };
    let (Ok(width), Ok(height)) = (i32::try_from(image.width()), i32::try_from(image.height())) else {
        return Err(ImageError::Encode("the image is too large for WebP".into()));
    };
    if width > 16383 || height > 16383 {
        return Err(ImageError::Encode("WebP images are at most 16383 pixels a side".into()));
    }
    let channels = if has_alpha { 4 } else { 3 };
    let stride = width * channels;
    debug_assert_eq!(pixels.len(), (stride * height) as usize);

    let mut config = ffi::WebPConfig::new().map_err(|()| ImageError::Encode("libwebp version mismatch".into()))?;
    config.quality = f32::from(quality.min(100));
    config.method = METHOD;
    let mut picture = Picture(ffi::WebPPicture::new().map_err(|()| ImageError::Encode("libwebp version mismatch".into()))?);
    picture.0.use_argb = 0;
    picture.0.width = width;
    picture.0.height = height;

    // SAFETY: `pixels` holds `height` rows of `stride` bytes (the buffer of
    // an RGB8/RGBA8 image of these dimensions, checked above), and libwebp
    // only reads them during the import, which copies them into `picture`'s
    // own planes. `picture` was initialised by `WebPPicture::new`.
    let imported = unsafe {
        if has_alpha {
            ffi::WebPPictureImportRGBA(&mut picture.0, pixels.as_ptr(), stride)
        } else {
            ffi::WebPPictureImportRGB(&mut picture.0, pixels.as_ptr(), stride)
        }
    };
    if imported == 0 {
        return Err(ImageError::Encode(format!("libwebp could not import the picture ({:?})", picture.0.error_code)));
    }

    let mut writer = Writer(std::mem::MaybeUninit::uninit());
    // SAFETY: `WebPMemoryWriterInit` fully initialises the writer (a null
    // buffer of size 0); from here on `Writer`'s drop clears it.
    unsafe { ffi::WebPMemoryWriterInit(writer.0.as_mut_ptr()) };
    picture.0.writer = Some(ffi::WebPMemoryWrite);
    picture.0.custom_ptr = writer.0.as_mut_ptr().cast();
    // SAFETY: `config` and `picture` are initialised, the picture holds the
    // imported pixels, and `custom_ptr` points at the initialised writer,
    // which outlives this call (it is dropped after `picture`'s last use).
    let encoded = unsafe { ffi::WebPEncode(&config, &mut picture.0) };
    if encoded == 0 {
        return Err(ImageError::Encode(format!("libwebp could not encode the picture ({:?})", picture.0.error_code)));
    }
    // SAFETY: the writer was initialised and then filled by libwebp: `mem`
    // points at `size` bytes it allocated (or is null with size 0).
    let bytes = unsafe {
        let writer = writer.0.assume_init_ref();
        if writer.mem.is_null() { Vec::new() } else { std::slice::from_raw_parts(writer.mem, writer.size).to_vec() }
    };
    Ok(bytes)
}

/// A picture whose pixel planes libwebp allocated, freed on drop.
struct Picture(ffi::WebPPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture was initialised by `WebPPicture::new`; freeing
        // a picture without planes is a no-op, and this is the only free.
        unsafe { ffi::WebPPictureFree(&mut self.0) };
    }
}

/// libwebp's in-memory output, freed on drop.
struct Writer(std::mem::MaybeUninit<ffi::WebPMemoryWriter>);

impl Drop for Writer {
    fn drop(&mut self) {
        // SAFETY: a `Writer` is initialised by `WebPMemoryWriterInit` right
        // after it is made, before any early return; clearing frees its
        // buffer once.
        unsafe { ffi::WebPMemoryWriterClear(self.0.as_mut_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_lossy_webp_that_decodes_back() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128])));
        let bytes = encode(&image, 80).unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..16], b"WEBPVP8 ", "lossy (VP8), not lossless (VP8L)");
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (64, 48));
        let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(10, 10, image::Rgba([1, 2, 3, 100])));
        assert!(encode(&rgba, 50).is_ok());
    }
}
