//! Object storage on a local folder and on a real S3 server (s3s-fs, which
//! checks SigV4 signatures): streaming writes and reads, missing keys,
//! deletes, keys that try to climb out, and a start-up check that names an
//! unreachable bucket.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use secrecy::SecretString;

use flint::platform::storage::{S3Credentials, Storage, StorageError, StorageUrl};

use crate::helpers::unique_prefix;

/// Every storage the machine offers: a fresh folder, and a fresh prefix of
/// the test bucket when `FLINT_TEST_S3_URL` is set.
fn storages() -> Vec<(String, Storage, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let local = Storage::open(&StorageUrl::File(dir.path().join("media")), None).unwrap();
    let mut all = vec![("file".to_owned(), local, Some(dir))];
    match std::env::var("FLINT_TEST_S3_URL") {
        Ok(url) => {
            let StorageUrl::S3 { bucket, endpoint, region, path_style, .. } = StorageUrl::parse(&url).unwrap() else {
                panic!("FLINT_TEST_S3_URL is not an s3:// URL")
            };
            let prefix = unique_prefix().trim_end_matches(':').replace(':', "-");
            let url = StorageUrl::S3 { bucket, prefix, endpoint, region, path_style };
            all.push(("s3".to_owned(), Storage::open(&url, Some(&credentials())).unwrap(), None));
        }
        Err(_) => eprintln!("FLINT_TEST_S3_URL is not set: the S3 half of the storage tests is skipped"),
    }
    all
}

fn credentials() -> S3Credentials {
    S3Credentials {
        access_key_id: std::env::var("FLINT_TEST_S3_ACCESS_KEY").unwrap_or_default(),
        secret_access_key: SecretString::from(std::env::var("FLINT_TEST_S3_SECRET_KEY").unwrap_or_default()),
    }
}

async fn read_all(storage: &Storage, key: &str) -> Option<Vec<u8>> {
    let object = storage.get(key).await.unwrap()?;
    let size = object.size;
    let mut body = object.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes.len() as u64, size);
    Some(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_stream_in_and_out_of_every_storage() {
    for (name, storage, _dir) in storages() {
        storage.check().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        // 12 MiB in 64 KiB chunks: several multipart parts.
        let chunk: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
        let chunks = (0..192).map(|_| Ok(Bytes::from(chunk.clone())));
        let size = storage.put_stream("images/big.bin", stream::iter(chunks)).await.unwrap();
        assert_eq!(size, 192 * 65_536, "{name}");
        let back = read_all(&storage, "images/big.bin").await.expect("stored");
        assert_eq!(back.len(), 192 * 65_536, "{name}");
        assert!(back.chunks(65_536).all(|c| c == chunk.as_slice()), "{name}: the bytes come back unchanged");

        storage.put("images/small.txt", Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(read_all(&storage, "images/small.txt").await.unwrap(), b"hello");
        assert!(storage.get("images/missing.png").await.unwrap().is_none(), "{name}: a missing key is None");

        storage.delete("images/small.txt").await.unwrap();
        assert!(storage.get("images/small.txt").await.unwrap().is_none(), "{name}");
        storage.delete("images/small.txt").await.unwrap();
        storage.delete("images/big.bin").await.unwrap();

        for bad in ["../outside", "a//b", "/etc/passwd"] {
            assert!(matches!(storage.get(bad).await, Err(StorageError::InvalidKey(_))), "{name}: {bad}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_leaves_nothing_behind() {
    for (name, storage, _dir) in storages() {
        let body = stream::iter(vec![Ok(Bytes::from(vec![1u8; 100_000])), Err(std::io::Error::other("the client went away"))]);
        assert!(matches!(storage.put_stream("images/cut.bin", body).await, Err(StorageError::Body(_))), "{name}");
        assert!(storage.get("images/cut.bin").await.unwrap().is_none(), "{name}: no partial object");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_refusing_store_fails_the_check_clearly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = StorageUrl::parse(&format!("s3://media?endpoint=http://127.0.0.1:{closed}&path_style=true")).unwrap();
    let storage = Storage::open(&url, Some(&credentials())).unwrap();
    let error = tokio::time::timeout(std::time::Duration::from_secs(60), storage.check()).await.expect("the check gives up").unwrap_err();
    assert!(error.to_string().contains("bucket s3://media/ at http://127.0.0.1"), "{error}");

    let Ok(url) = std::env::var("FLINT_TEST_S3_URL") else { return };
    let storage = Storage::open(
        &StorageUrl::parse(&url).unwrap(),
        Some(&S3Credentials { access_key_id: "flint-test-key".into(), secret_access_key: SecretString::from("a wrong secret".to_owned()) }),
    )
    .unwrap();
    let error = storage.check().await.expect_err("a bad signature is refused");
    assert!(error.to_string().contains("checking it at start-up"), "{error}");
}
