//! Object storage for media: a local folder (`file://PATH`, the embedded
//! default) or any S3-compatible store (`s3://BUCKET[/PREFIX]?endpoint=…&
//! region=…&path_style=true`), through `object_store`, which signs S3
//! requests. Bodies stream both ways: an upload is sent in parts as it
//! arrives, a download is handed on chunk by chunk, so nothing larger than
//! a part is held in memory. May use: nothing else of `platform`.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use secrecy::{ExposeSecret, SecretString};

/// Where objects live, as `STORAGE_URL` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageUrl {
    /// A folder (created when missing).
    File(PathBuf),
    S3 {
        bucket: String,
        /// Keys are stored under this prefix (empty: the bucket's root).
        prefix: String,
        /// The store's URL; AWS when absent.
        endpoint: Option<String>,
        region: String,
        /// `bucket` in the path (most self-hosted stores) instead of the host name.
        path_style: bool,
    },
}

impl StorageUrl {
    pub fn parse(text: &str) -> Result<StorageUrl, String> {
        if let Some(path) = text.strip_prefix("file://") {
            if path.is_empty() {
                return Err("file:// needs a folder, as in file://./data/media".into());
            }
            return Ok(StorageUrl::File(PathBuf::from(path)));
        }
        let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
        if url.scheme() != "s3" {
            return Err(format!("'{text}' must start with file:// or s3://"));
        }
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or("s3:// needs a bucket, as in s3://media")?.to_owned();
        let prefix = url.path().trim_matches('/').to_owned();
        let (mut endpoint, mut region, mut path_style) = (None, "us-east-1".to_owned(), false);
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "endpoint" => {
                    let parsed = url::Url::parse(&value).map_err(|e| format!("endpoint '{value}' is not a URL: {e}"))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(format!("endpoint '{value}' must be an http(s) URL"));
                    }
                    endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "region" => region = value.into_owned(),
                "path_style" => {
                    path_style = match value.as_ref() {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("path_style must be true or false, not '{other}'")),
                    }
                }
                other => return Err(format!("unknown s3:// option '{other}' (endpoint, region, path_style)")),
            }
        }
        Ok(StorageUrl::S3 { bucket, prefix, endpoint, region, path_style })
    }
}

/// S3 credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid object key '{0}'")]
    InvalidKey(String),
    #[error("cannot open the storage {what}: {reason}")]
    Open { what: String, reason: String },
    #[error("the storage {what} failed: {source}")]
    Store {
        what: String,
        #[source]
        source: object_store::Error,
    },
    #[error("reading the upload failed: {0}")]
    Body(std::io::Error),
    #[error("the object {key} is {size} bytes, more than the {max} expected")]
    TooLarge { key: String, size: u64, max: u64 },
}

/// An object being read: its size and its bytes, chunk by chunk.
pub struct Object {
    pub size: u64,
    /// The store's version tag of the object (changes when it is rewritten).
    pub version: Option<String>,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// What it is, without secrets (for errors and logs).
    what: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl Storage {
    /// Opens the store (no request is made: see [`Storage::check`]).
    pub fn open(url: &StorageUrl, credentials: Option<&S3Credentials>) -> Result<Storage, StorageError> {
        match url {
            StorageUrl::File(folder) => {
                let what = format!("folder {}", folder.display());
                let open_error = |reason: String| StorageError::Open { what: what.clone(), reason };
                std::fs::create_dir_all(folder).map_err(|e| open_error(e.to_string()))?;
                // Variants live in a folder per image: it goes with its last file.
                let store = LocalFileSystem::new_with_prefix(folder).map_err(|e| open_error(e.to_string()))?.with_automatic_cleanup(true);
                Ok(Storage { store: Arc::new(store), what })
            }
            StorageUrl::S3 { bucket, prefix, endpoint, region, path_style } => {
                // The HTTP client needs the process's TLS provider (ring; see Cargo.toml).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let what = format!("bucket s3://{bucket}/{prefix} at {}", endpoint.as_deref().unwrap_or("AWS"));
                let mut builder =
                    AmazonS3Builder::new().with_bucket_name(bucket).with_region(region).with_virtual_hosted_style_request(!path_style);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(credentials) = credentials {
                    builder = builder
                        .with_access_key_id(&credentials.access_key_id)
                        .with_secret_access_key(credentials.secret_access_key.expose_secret());
                }
                let store = builder.build().map_err(|e| StorageError::Open { what: what.clone(), reason: e.to_string() })?;
                let store: Arc<dyn ObjectStore> =
                    if prefix.is_empty() { Arc::new(store) } else { Arc::new(PrefixStore::new(store, prefix.as_str())) };
                Ok(Storage { store, what })
            }
        }
    }

    /// One request to the store: it answers, and our credentials are good.
    /// Start-up calls this, so an unreachable bucket stops the server with
    /// a clear error instead of failing the first upload.
    pub async fn check(&self) -> Result<(), StorageError> {
        match self.store.head(&Path::from("flint-storage-check")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(StorageError::Store { what: format!("{} (checking it at start-up)", self.what), source }),
        }
    }

    fn path(key: &str) -> Result<Path, StorageError> {
        let valid = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if !valid {
            return Err(StorageError::InvalidKey(key.to_owned()));
        }
        Path::parse(key).map_err(|_| StorageError::InvalidKey(key.to_owned()))
    }

    fn failed(&self, action: &str, key: &str, source: object_store::Error) -> StorageError {
        StorageError::Store { what: format!("{} ({action} {key})", self.what), source }
    }

    /// Stores `body` at `key`, sent in parts as it arrives; returns its size.
    /// A failed upload leaves nothing behind.
    pub async fn put_stream<S>(&self, key: &str, body: S) -> Result<u64, StorageError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send,
    {
        let path = Self::path(key)?;
        let upload = self.store.put_multipart(&path).await.map_err(|e| self.failed("starting to write", key, e))?;
        let mut writer = WriteMultipart::new(upload);
        let mut size = 0u64;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(StorageError::Body(error));
                }
            };
            size += chunk.len() as u64;
            if let Err(error) = writer.wait_for_capacity(2).await {
                return Err(self.failed("writing", key, error));
            }
            writer.put(chunk);
        }
        writer.finish().await.map_err(|e| self.failed("finishing", key, e))?;
        Ok(size)
    }

    /// Stores small `bytes` at `key` in one request.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        let path = Self::path(key)?;
        self.store.put(&path, bytes.into()).await.map_err(|e| self.failed("writing", key, e))?;
        Ok(())
    }

    /// The object at `key`, streamed; `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Object>, StorageError> {
        let path = Self::path(key)?;
        match self.store.get(&path).await {
            Ok(result) => {
                let size = result.meta.size;
                let version = result.meta.e_tag.clone();
                let what = self.what.clone();
                let key = key.to_owned();
                let body = result
                    .into_stream()
                    .map_err(move |source| StorageError::Store { what: format!("{what} (reading {key})"), source })
                    .boxed();
                Ok(Some(Object { size, version, body }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.failed("reading", key, error)),
        }
    }

    /// The whole object at `key` (`None` when there is none), refusing one
    /// larger than `max` bytes.
    pub async fn read(&self, key: &str, max: u64) -> Result<Option<Bytes>, StorageError> {
        let Some(object) = self.get(key).await? else { return Ok(None) };
        if object.size > max {
            return Err(StorageError::TooLarge { key: key.to_owned(), size: object.size, max });
        }
        let mut bytes = Vec::with_capacity(object.size as usize);
        let mut body = object.body;
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(Some(Bytes::from(bytes)))
    }

    /// The keys under `prefix` (a folder of keys; every key without one), sorted.
    pub async fn keys(&self, prefix: Option<&str>) -> Result<Vec<String>, StorageError> {
        let path = prefix.map(|p| Self::path(p.trim_end_matches('/'))).transpose()?;
        let mut listing = self.store.list(path.as_ref());
        let mut keys = Vec::new();
        while let Some(meta) = listing.next().await {
            keys.push(meta.map_err(|e| self.failed("listing", prefix.unwrap_or("/"), e))?.location.to_string());
        }
        keys.sort();
        Ok(keys)
    }

    /// Removes every object under `prefix` (a folder of keys); returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, StorageError> {
        let path = Self::path(prefix.trim_end_matches('/'))?;
        let mut listing = self.store.list(Some(&path));
        let mut deleted = 0;
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| self.failed("listing", prefix, e))?;
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                Err(error) => return Err(self.failed("deleting", meta.location.as_ref(), error)),
            }
        }
        Ok(deleted)
    }

    /// Removes the object at `key`; removing one that is not there is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = Self::path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.failed("deleting", key, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls() {
        assert_eq!(StorageUrl::parse("file://./data/media").unwrap(), StorageUrl::File("./data/media".into()));
        assert_eq!(
            StorageUrl::parse("s3://media/blog?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true").unwrap(),
            StorageUrl::S3 {
                bucket: "media".into(),
                prefix: "blog".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "eu-west-1".into(),
                path_style: true,
            }
        );
        assert!(StorageUrl::parse("s3://media?colour=blue").unwrap_err().contains("unknown s3:// option 'colour'"));
        assert!(StorageUrl::parse("ftp://x").unwrap_err().contains("file:// or s3://"));
        assert!(StorageUrl::parse("file://").is_err());
        assert!(StorageUrl::parse("s3://media?path_style=yes").is_err());
    }

    #[test]
    fn keys_cannot_climb_out() {
        for bad in ["", "../etc/passwd", "a//b", "a/./b", "a b", "/abs", "ümlaut"] {
            assert!(Storage::path(bad).is_err(), "{bad:?}");
        }
        assert!(Storage::path("images/0192f1e2-aaaa.webp").is_ok());
    }
}
