//! Typed cache keys. A `Key<T>` names the type of its value, its namespace
//! and its TTL, so a read is type-checked and every key of a namespace is
//! rendered the same way. Features build keys in factories in `schema.rs`.

use std::fmt::Write as _;
use std::marker::PhantomData;
use std::time::Duration;

use axum::http::HeaderValue;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A family of keys. A versioned namespace carries a version in every key,
/// so `bump_version` invalidates the whole family at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Namespace {
    pub name: &'static str,
    pub versioned: bool,
}

impl Namespace {
    pub const fn versioned(name: &'static str) -> Self {
        Namespace { name, versioned: true }
    }

    pub const fn plain(name: &'static str) -> Self {
        Namespace { name, versioned: false }
    }
}

/// A ready-to-send response body and its ETag, stored without re-encoding,
/// so a hit costs a lookup and a write to the socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedBody {
    pub etag: HeaderValue,
    pub body: Bytes,
}

impl CachedBody {
    /// A body with its weak ETag ([`weak_etag`]).
    pub fn tagged(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        CachedBody { etag: weak_etag(&body), body }
    }

    /// `value` as compact JSON, tagged.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_vec(value).map(Self::tagged)
    }
}

/// The weak ETag of a response body: `W/"` and the 128-bit XXH3 of the bytes
/// in hex. XXH3 is specified (every process and release computes the same
/// tag, so instances behind one balancer agree) and hashes a 10 KB body in
/// well under a microsecond; SHA-256 took a sixteenth of an uncached read.
/// An ETag only has to tell versions of one URL apart, not resist forgery:
/// the bodies are ours.
pub fn weak_etag(body: &[u8]) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = xxhash_rust::xxh3::xxh3_128(body).to_be_bytes();
    let mut tag = [0u8; 2 + 1 + 32 + 1];
    tag[..3].copy_from_slice(b"W/\"");
    for (i, byte) in hash.iter().enumerate() {
        tag[3 + 2 * i] = HEX[usize::from(byte >> 4)];
        tag[4 + 2 * i] = HEX[usize::from(byte & 0x0f)];
    }
    tag[35] = b'"';
    HeaderValue::from_bytes(&tag).expect("a hex ETag is a valid header value")
}

type Encode<T> = fn(&T) -> Result<Bytes, String>;
/// Takes the stored bytes (shared, so a body can be sliced without copying).
type Decode<T> = fn(&Bytes) -> Option<T>;

pub struct Key<T> {
    pub(crate) namespace: Namespace,
    pub(crate) parts: String,
    pub(crate) ttl: Duration,
    pub(crate) encode: Encode<T>,
    pub(crate) decode: Decode<T>,
    /// The encoding's first line is a hash of the content (the ETag of
    /// [`Key::body`]): equal first lines mean equal values, which lets a
    /// process keep a copy of a large value and re-validate it against
    /// Redis without fetching it.
    pub(crate) content_addressed: bool,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        Key {
            namespace: self.namespace,
            parts: self.parts.clone(),
            ttl: self.ttl,
            encode: self.encode,
            decode: self.decode,
            content_addressed: self.content_addressed,
            _value: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({}:{})", self.namespace.name, self.parts)
    }
}

impl<T: Serialize + DeserializeOwned> Key<T> {
    /// A key whose value is stored as JSON (readable with `redis-cli`, and
    /// tolerant of added fields during a rolling deploy).
    pub fn json(namespace: Namespace, ttl: Duration) -> Self {
        Key {
            namespace,
            parts: String::with_capacity(48),
            ttl,
            encode: |value| serde_json::to_vec(value).map(Bytes::from).map_err(|e| e.to_string()),
            decode: |bytes| serde_json::from_slice(bytes).ok(),
            content_addressed: false,
            _value: PhantomData,
        }
    }
}

impl Key<CachedBody> {
    /// A key whose value is a response body with its ETag.
    pub fn body(namespace: Namespace, ttl: Duration) -> Self {
        Key {
            namespace,
            parts: String::with_capacity(48),
            ttl,
            encode: |value| {
                let mut out = Vec::with_capacity(value.etag.len() + 1 + value.body.len());
                out.extend_from_slice(value.etag.as_bytes());
                out.push(b'\n');
                out.extend_from_slice(&value.body);
                Ok(Bytes::from(out))
            },
            decode: |bytes| {
                let split = bytes.iter().position(|b| *b == b'\n')?;
                // Slices of the cached bytes: a hit copies neither.
                let etag = HeaderValue::from_maybe_shared(bytes.slice(..split)).ok()?;
                Some(CachedBody { etag, body: bytes.slice(split + 1..) })
            },
            content_addressed: true,
            _value: PhantomData,
        }
    }
}

impl<T> Key<T> {
    /// Appends one part of the key. Absent and empty parts render the same
    /// (`_`), and separators inside a part are escaped so two different part
    /// lists never render the same key.
    pub fn part(mut self, part: impl KeyPart) -> Self {
        self.parts.push(':');
        let start = self.parts.len();
        part.write_to(&mut self.parts);
        if self.parts.len() == start {
            self.parts.push('_');
        }
        self
    }

    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The key as plain data, to store (a durable invalidation keeps it).
    pub fn address(&self) -> KeyAddress {
        KeyAddress { namespace: self.namespace.name.to_owned(), versioned: self.namespace.versioned, parts: self.parts.clone() }
    }

    /// The stored key name for a namespace version (`None` for plain namespaces).
    pub(crate) fn render(&self, version: Option<u64>) -> String {
        render_name(self.namespace.name, version, &self.parts)
    }
}

/// A key without its value type: what is needed to delete it later.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyAddress {
    pub namespace: String,
    pub versioned: bool,
    pub parts: String,
}

/// `<namespace>[:v<version>]<parts>`: the one place the stored name's shape
/// is decided (the Redis read script builds the same from its pieces).
pub(crate) fn render_name(namespace: &str, version: Option<u64>, parts: &str) -> String {
    // Built by hand: this runs on every cache read, and `format!` costs
    // several times more than three appends.
    let mut name = String::with_capacity(namespace.len() + 22 + parts.len());
    name.push_str(namespace);
    if let Some(v) = version {
        name.push_str(":v");
        name.push_str(itoa::Buffer::new().format(v));
    }
    name.push_str(parts);
    name
}

/// Something that can be one part of a key.
pub trait KeyPart {
    fn write_to(&self, out: &mut String);
}

impl KeyPart for &str {
    fn write_to(&self, out: &mut String) {
        if *self == "_" {
            out.push_str("%5F");
            return;
        }
        // The common case (slugs, ids, tags, in any script): nothing to
        // escape, copied whole. Outside ASCII only a few ranges hold
        // whitespace or controls, so most characters skip the Unicode tables.
        let needs_escape = |c: char| match c {
            ':' | '%' => true,
            c if c.is_ascii() => !c.is_ascii_graphic(),
            '\u{80}'..='\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{205F}' | '\u{3000}' => c.is_control() || c.is_whitespace(),
            _ => false,
        };
        let plain = if self.is_ascii() {
            self.bytes().all(|b| b.is_ascii_graphic() && b != b':' && b != b'%')
        } else {
            !self.chars().any(needs_escape)
        };
        if plain {
            out.push_str(self);
            return;
        }
        for c in self.chars() {
            match c {
                ':' => out.push_str("%3A"),
                '%' => out.push_str("%25"),
                c if c.is_control() || c.is_whitespace() => {
                    let _ = write!(out, "%{:02X}", u32::from(c));
                }
                c => out.push(c),
            }
        }
    }
}

impl KeyPart for String {
    fn write_to(&self, out: &mut String) {
        self.as_str().write_to(out);
    }
}

impl KeyPart for &String {
    fn write_to(&self, out: &mut String) {
        self.as_str().write_to(out);
    }
}

impl<P: KeyPart> KeyPart for Option<P> {
    fn write_to(&self, out: &mut String) {
        if let Some(part) = self {
            part.write_to(out);
        }
    }
}

macro_rules! integer_parts {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            fn write_to(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
integer_parts!(u8, u16, u32, u64, usize, i32, i64);

impl KeyPart for bool {
    fn write_to(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: Namespace = Namespace::versioned("posts:list");

    fn list(limit: u32, tag: Option<&str>) -> Key<Vec<u32>> {
        Key::json(LIST, Duration::from_secs(60)).part(limit).part(tag)
    }

    #[test]
    fn weak_etags_are_the_xxh3_of_the_body() {
        // The XXH3-128 of the empty input, from the reference implementation.
        assert_eq!(weak_etag(b""), "W/\"99aa06d3014798d86001c324468d497f\"");
        assert_ne!(weak_etag(b"{\"a\":1}"), weak_etag(b"{\"a\":2}"));
        assert_eq!(CachedBody::tagged(Bytes::from_static(b"x")).etag, weak_etag(b"x"));
    }

    #[test]
    fn keys_render_with_version() {
        assert_eq!(list(10, Some("rust")).render(Some(3)), "posts:list:v3:10:rust");
        assert_eq!(Key::<u8>::json(Namespace::plain("system"), Duration::ZERO).render(None), "system");
    }

    #[test]
    fn empty_and_absent_parts_render_the_same() {
        assert_eq!(list(10, None).render(Some(0)), list(10, Some("")).render(Some(0)));
        assert_ne!(list(10, None).render(Some(0)), list(10, Some("_")).render(Some(0)));
    }

    #[test]
    fn separators_cannot_forge_other_keys() {
        let a = Key::<u8>::json(LIST, Duration::ZERO).part("a:b").part("c");
        let b = Key::<u8>::json(LIST, Duration::ZERO).part("a").part("b:c");
        assert_ne!(a.render(None), b.render(None));
        assert_eq!(Key::<u8>::json(LIST, Duration::ZERO).part("x y\n").render(None), "posts:list:x%20y%0A");
        // Non-Latin parts are kept as they are, except for their separators and spaces.
        assert_eq!(Key::<u8>::json(LIST, Duration::ZERO).part("性能-第-3-篇").render(None), "posts:list:性能-第-3-篇");
        assert_eq!(Key::<u8>::json(LIST, Duration::ZERO).part("性能\u{3000}篇:%").render(None), "posts:list:性能%3000篇%3A%25");
        assert_eq!(Key::<u8>::json(LIST, Duration::ZERO).part("é\u{85}\u{A0}\u{2028}").render(None), "posts:list:é%85%A0%2028");
    }

    #[test]
    fn body_codec_round_trips() {
        let key = Key::body(Namespace::plain("page"), Duration::ZERO);
        let value = CachedBody { etag: HeaderValue::from_static("W/\"abc\""), body: Bytes::from_static(b"{\"a\":\n1}") };
        let bytes = (key.encode)(&value).unwrap();
        assert_eq!((key.decode)(&bytes), Some(value));
        assert_eq!((key.decode)(&Bytes::from_static(b"no newline")), None);
    }
}
