//! Writing a JSON string literal fast: the same bytes as serde_json, eight
//! input bytes at a time. A post's HTML is nearly all of an uncached detail
//! body, and serde_json escapes it a byte at a time (a tenth of the CPU of
//! an uncached read). Depends on nothing.

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each of the eight bytes of `word` (little-endian) that
/// needs escaping: a control character (below 0x20), `"` or `\`. Borrows can
/// also mark a byte above a marked one, never below, so the lowest mark is
/// always exact.
fn escape_marks(word: u64) -> u64 {
    let below_space = word.wrapping_sub(LOW_BITS * 0x20) & !word;
    let quote = word ^ (LOW_BITS * b'"' as u64);
    let backslash = word ^ (LOW_BITS * b'\\' as u64);
    let has_zero = |x: u64| x.wrapping_sub(LOW_BITS) & !x;
    (below_space | has_zero(quote) | has_zero(backslash)) & HIGH_BITS
}

/// Appends `text` as a JSON string literal, quotes included, escaped exactly
/// as `serde_json` does (short escapes for `\b \t \n \f \r " \`, `\u00XX` for
/// other control characters, everything else as is).
pub fn push(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0; // bytes before `start` are written
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("eight bytes"));
            let marks = escape_marks(word);
            if marks == 0 {
                i += 8;
                continue;
            }
            // Straight to the first byte to escape.
            i += (marks.trailing_zeros() / 8) as usize;
        }
        let escape: &[u8] = match bytes[i] {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            byte if byte < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::{escape_marks, push};

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        push(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain ascii text that is longer than eight bytes".into(),
            r#"<a href="/post/x">link</a> \ back\slash"#.into(),
            "line\nbreak\r\n\ttab \u{8}\u{c}\u{0}\u{1f}\u{7f} end".into(),
            "中文 (Chinese) — café, emoji 🦀, and \"quotes\" in between".into(),
            "\"\"\\\\\n\n\"x\u{1}\u{2}\"\"\"\"\"\"\"\"\"".into(),
        ];
        // Every ASCII byte at every offset within a word.
        for byte in 0u8..128 {
            for offset in 0..9 {
                samples.push(format!("{}{}{}", "x".repeat(offset), byte as char, "y".repeat(9 - offset)));
            }
        }
        for sample in &samples {
            assert_eq!(escaped(sample), serde_json::to_string(sample).unwrap(), "{sample:?}");
        }
    }

    #[test]
    fn the_lowest_mark_is_the_first_byte_to_escape() {
        let first_mark = |word: [u8; 8]| match escape_marks(u64::from_le_bytes(word)) {
            0 => None,
            marks => Some((marks.trailing_zeros() / 8) as usize),
        };
        for byte in 0u8..=255 {
            let escaped = byte < 0x20 || byte == b'"' || byte == b'\\';
            for position in 0..8 {
                let mut word = [b'a'; 8];
                word[position] = byte;
                assert_eq!(first_mark(word), escaped.then_some(position), "byte {byte:#x} at {position}");
                // Whatever follows a byte to escape, the first mark is on it.
                for later in position + 1..8 {
                    let mut word = [byte; 8];
                    word[later] = 0;
                    assert_eq!(first_mark(word), Some(if escaped { 0 } else { later }), "{word:?}");
                }
            }
        }
        // Bytes with the high bit set (UTF-8) and neighbours of the limits.
        assert_eq!(first_mark([0xe4, 0xb8, 0xad, 0x21, 0x23, 0x5b, 0x5d, 0x80]), None);
    }
}
