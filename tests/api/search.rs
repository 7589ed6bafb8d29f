//! Search over HTTP: CJK and English words, prefixes, what is never found,
//! index maintenance by the pipeline, rebuilds and snippet escaping.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

async fn post(app: &TestApp, admin: &mut Client<'_>, fields: Value, publish: bool) -> i64 {
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": fields})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    if publish {
        set_status(app, admin, id, "published").await;
    }
    id
}

async fn set_status(app: &TestApp, admin: &mut Client<'_>, id: i64, status: &str) {
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": status})).await;
    app.settle().await;
}

async fn found(client: &mut Client<'_>, query: &str) -> Vec<String> {
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let res = client.get(&format!("/api/search?q={q}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body.as_array().unwrap().iter().map(|r| r["post"]["slug"].as_str().unwrap().to_owned()).collect()
}

backend_tests!(
    words_in_any_language_are_found,
    only_listed_posts_are_found_and_the_pipeline_keeps_the_index,
    a_short_prefix_and_a_long_one_find_the_same_post
);

async fn words_in_any_language_are_found(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    post(&app, &mut admin, json!({"title": "中文搜索指南", "slug": "zh", "content": "这篇文章介绍如何实现中文搜索。"}), true).await;
    post(&app, &mut admin, json!({"title": "Programming in Rust", "slug": "rust", "content": "Ownership and borrowing make Rust safe. 中文 appears here too."}), true).await;
    post(
        &app,
        &mut admin,
        json!({"title": "Cooking", "slug": "cook", "content": "A <b>bold</b> recipe & more: Café crème.", "summary": "Food"}),
        true,
    )
    .await;
    let mut reader = app.user();

    assert_eq!(found(&mut reader, "中文").await.len(), 2, "a two-character Chinese word");
    assert_eq!(found(&mut reader, "搜索").await, ["zh"]);
    assert_eq!(found(&mut reader, "ownership").await, ["rust"]);
    assert_eq!(found(&mut reader, "Rust 中文").await, ["rust"], "mixed-language queries need every term");
    assert_eq!(found(&mut reader, "progr").await, ["rust"], "prefix match on the last term");
    assert_eq!(found(&mut reader, "cafe").await, ["cook"], "diacritics folded");
    assert!(found(&mut reader, "nonexistentword").await.is_empty());
    assert_eq!(found(&mut reader, "中文搜索").await[0], "zh", "the title match ranks first");

    let res = reader.get("/api/search?q=recipe").await;
    let snippet = res.body[0]["matches"]["contentSnippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>recipe</mark>"), "{snippet}");
    assert!(!snippet.replace("<mark>", "").replace("</mark>", "").contains('<'), "post text is escaped: {snippet}");
    assert!(snippet.contains("&lt;b&gt;bold&lt;/b&gt;") || snippet.contains("bold"), "{snippet}");
    assert_eq!(res.header("cache-control"), Some("public, max-age=0, must-revalidate"));
    let via_fn = reader.get("/_fn/search?q=recipe&limit=1&v=123").await;
    assert_eq!(via_fn.body[0]["post"]["slug"], "cook", "the v parameter is accepted and ignored");
    assert_eq!(reader.get("/api/search?q=").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reader.get("/api/search?q=x&limit=26").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn only_listed_posts_are_found_and_the_pipeline_keeps_the_index(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let tag = admin.post("/_fn/createTag", json!({"name": "gardening"})).await.body["id"].as_i64().unwrap();
    let public = post(&app, &mut admin, json!({"title": "Tomatoes", "slug": "tomatoes", "content": "zucchini"}), false).await;
    admin.post("/_fn/setPostTags", json!({"postId": public, "tagIds": [tag]})).await;
    set_status(&app, &mut admin, public, "published").await;
    post(&app, &mut admin, json!({"title": "Draft zucchini", "slug": "draft", "content": "zucchini"}), false).await;
    post(&app, &mut admin, json!({"title": "Secret zucchini", "slug": "secret", "content": "zucchini", "visibility": "unlisted"}), true)
        .await;
    let later = flint::platform::clock::to_rfc3339(app.clock.now_ms() + 3_600_000);
    post(&app, &mut admin, json!({"title": "Future zucchini", "slug": "future", "content": "zucchini", "publishedAt": later}), true).await;
    let mut reader = app.user();
    assert_eq!(found(&mut reader, "zucchini").await, ["tomatoes"], "drafts, unlisted and future posts never appear");
    assert_eq!(found(&mut reader, "gardening").await, ["tomatoes"], "tags are indexed");

    admin.post("/_fn/updateTag", json!({"id": tag, "data": {"name": "horticulture"}})).await;
    app.settle().await;
    assert_eq!(found(&mut reader, "horticulture").await, ["tomatoes"], "a tag rename shows up");
    assert!(found(&mut reader, "gardening").await.is_empty());

    // BM25 scores depend on index statistics (SQLite counts deleted rows
    // until segments merge), so results are compared without them.
    let without_scores = |mut results: Value| {
        for result in results.as_array_mut().unwrap() {
            result.as_object_mut().unwrap().remove("score");
        }
        results
    };
    let before = without_scores(reader.get("/api/search?q=zucchini").await.body);
    let version = reader.get("/_fn/getIndexVersion").await.body;
    assert_eq!(version["documents"], 3);
    flint::features::search::service::clear(&app.ctx()).await.unwrap();
    assert!(found(&mut reader, "zucchini").await.is_empty(), "wiped");
    assert_eq!(admin.post("/_fn/buildSearchIndex", json!({})).await.body["documents"], 3);
    assert_eq!(without_scores(reader.get("/api/search?q=zucchini").await.body), before, "a rebuild restores identical results");
    assert!(reader.get("/_fn/getIndexVersion").await.body["version"].as_i64() > version["version"].as_i64());

    set_status(&app, &mut admin, public, "draft").await;
    assert!(found(&mut reader, "tomatoes").await.is_empty(), "unpublished posts leave the index");
    set_status(&app, &mut admin, public, "published").await;
    assert_eq!(found(&mut reader, "tomatoes").await, ["tomatoes"]);
    admin.post("/_fn/deletePost", json!({"id": public})).await;
    app.settle().await;
    assert!(found(&mut reader, "tomatoes").await.is_empty(), "deleted posts leave the index");
    assert_eq!(reader.get("/_fn/getIndexVersion").await.body["documents"], 2);
}

/// FLINT_SEARCH_RANKED_MATCHES bounds the work of a word found in most posts
/// (SQLite; PostgreSQL ranks every match): the oldest post, the best match by
/// far, is ranked only when the bound reaches back to it; a query with fewer
/// matches ranks them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_in_many_posts_ranks_only_the_newest_matches() {
    for (ranked_matches, oldest_ranked) in [("100", false), ("1000", true)] {
        let vars = [("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_SEARCH_RANKED_MATCHES", ranked_matches)];
        let app = TestApp::spawn_with(Backend::Sqlite, &vars).await;
        let mut admin = app.admin().await;
        post(&app, &mut admin, json!({"title": "Cache cache", "slug": "oldest", "content": "cache aardvark cache"}), true).await;
        // Seeded posts are newer; about four in five mention "cache".
        flint::features::publishing::seed::seed(&app.ctx(), 150).await.unwrap();
        flint::features::search::service::invalidate(&app.ctx()).await;
        let mut reader = app.user();

        let common = found(&mut reader, "cache").await;
        assert_eq!(common.len(), 10, "{common:?}");
        assert_eq!(common[0] == "oldest", oldest_ranked, "ranking the newest {ranked_matches}: {common:?}");
        assert!(common[1..].iter().all(|slug| slug != "oldest"), "{common:?}");
        assert_eq!(found(&mut reader, "aardvark cache").await, ["oldest"], "fewer matches than the bound are all ranked");
    }
}

/// The last word of a query is expanded through the table of indexed words;
/// one that begins more than 64 of them is left to FTS5's prefix query.
async fn a_short_prefix_and_a_long_one_find_the_same_post(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let words: Vec<String> = (0..70).map(|n| format!("qx{n}")).collect();
    post(&app, &mut admin, json!({"title": "Glossary", "slug": "glossary", "content": words.join(" ")}), true).await;
    let mut reader = app.user();
    assert_eq!(found(&mut reader, "qx").await, ["glossary"], "70 words begin with qx");
    assert_eq!(found(&mut reader, "qx6").await, ["glossary"], "11 words begin with qx6");
    assert_eq!(found(&mut reader, "glossary qx69").await, ["glossary"]);
    assert!(found(&mut reader, "qx70").await.is_empty());
    assert!(found(&mut reader, "glossary qy").await.is_empty(), "no indexed word begins with qy");
}

/// `(word, posts holding it)` as search_terms keeps it and as the index
/// itself counts it (SQLite).
async fn word_counts(app: &TestApp) -> (Vec<(String, i64)>, Vec<(String, i64)>) {
    let flint::platform::db::Db::Sqlite(sqlite) = &app.state.db else { unreachable!("a SQLite app") };
    let kept = sqlx::query_as("SELECT term, posts FROM search_terms ORDER BY term").fetch_all(&sqlite.write).await.unwrap();
    let mut connection = sqlite.write.acquire().await.unwrap();
    sqlx::query("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocabulary USING fts5vocab(main, search_index, row)")
        .execute(&mut *connection)
        .await
        .unwrap();
    let counted = sqlx::query_as("SELECT term, doc FROM temp.search_vocabulary ORDER BY term").fetch_all(&mut *connection).await.unwrap();
    (kept, counted)
}

/// `(post, tokens)` as search_post_lengths keeps it and as the index itself
/// reads it (SQLite).
async fn post_lengths(app: &TestApp) -> (Vec<(i64, i64)>, Vec<(i64, i64)>) {
    let flint::platform::db::Db::Sqlite(sqlite) = &app.state.db else { unreachable!("a SQLite app") };
    let kept = sqlx::query_as("SELECT post_id, tokens FROM search_post_lengths ORDER BY post_id").fetch_all(&sqlite.write).await.unwrap();
    let read =
        sqlx::query_as("SELECT rowid, flint_tokens(search_index) FROM search_index ORDER BY rowid").fetch_all(&sqlite.write).await.unwrap();
    (kept, read)
}

/// Scores over HTTP and bm25's own over the same FTS5 expression.
async fn scores_and_bm25(app: &TestApp, reader: &mut Client<'_>, query: &str, expression: &str) -> (Vec<(i64, f64)>, Vec<(i64, f64)>) {
    let flint::platform::db::Db::Sqlite(sqlite) = &app.state.db else { unreachable!("a SQLite app") };
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let served: Vec<(i64, f64)> = reader
        .get(&format!("/api/search?q={q}"))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["post"]["id"].as_i64().unwrap(), r["score"].as_f64().unwrap()))
        .collect();
    let bm25 = sqlx::query_as(
        "SELECT rowid, -bm25(search_index, 10.0, 4.0, 4.0, 1.0) AS score FROM search_index WHERE search_index MATCH $1 ORDER BY score DESC",
    )
    .bind(expression)
    .fetch_all(&sqlite.write)
    .await
    .unwrap();
    (served, bm25)
}

fn assert_same_scores(served: &[(i64, f64)], bm25: &[(i64, f64)]) {
    assert_eq!(served.len(), bm25.len(), "served {served:?}, bm25 {bm25:?}");
    for ((id, score), (bm25_id, bm25_score)) in served.iter().zip(bm25) {
        assert_eq!(id, bm25_id, "served {served:?}, bm25 {bm25:?}");
        assert!((score - bm25_score).abs() < 1e-9, "post {id}: served {score}, bm25 {bm25_score}");
    }
}

/// Each word's post count and each post's length (which ranking takes
/// instead of reading them from the index per query) stay exact as posts
/// are indexed, edited and removed, so scores stay bm25's own (SQLite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_counts_and_lengths_follow_edits_and_removals_and_rank_as_bm25() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    post(&app, &mut admin, json!({"title": "Rust cache", "slug": "a", "content": "cache cached caching rust"}), true).await;
    let cooking = post(&app, &mut admin, json!({"title": "Cooking", "slug": "b", "content": "cache recipes, rust-free"}), true).await;
    let borrow = post(
        &app,
        &mut admin,
        json!({"title": "Rust borrow", "slug": "c", "summary": "On borrowing.", "content": "rust ownership vanishing words"}),
        true,
    )
    .await;
    post(&app, &mut admin, json!({"title": "Rust again", "slug": "d", "content": "rust rust and a cache"}), true).await;
    let mut reader = app.user();
    let (kept, counted) = word_counts(&app).await;
    assert_eq!(kept, counted);
    assert!(kept.contains(&("rust".to_owned(), 4)), "{kept:?}");
    let (kept, read) = post_lengths(&app).await;
    assert_eq!(kept, read);
    assert_eq!(kept.len(), 4);

    admin.post("/_fn/updatePost", json!({"id": borrow, "data": {"content": "rust ownership"}})).await;
    set_status(&app, &mut admin, borrow, "published").await;
    admin.post("/_fn/deletePost", json!({"id": cooking})).await;
    app.settle().await;
    let (kept, counted) = word_counts(&app).await;
    assert_eq!(kept, counted, "after an edit and a removal");
    let words: Vec<&str> = kept.iter().map(|(word, _)| word.as_str()).collect();
    assert!(!words.contains(&"vanishing") && !words.contains(&"recipes"), "words no post holds are gone: {words:?}");
    assert!(kept.contains(&("rust".to_owned(), 3)), "{kept:?}");
    let (kept, read) = post_lengths(&app).await;
    assert_eq!(kept, read, "after an edit and a removal");
    assert!(kept.contains(&(borrow, 2 + 2 + 2)) && !kept.iter().any(|(post, _)| *post == cooking), "{kept:?}");

    let (served, bm25) = scores_and_bm25(&app, &mut reader, "cache", r#"("cache" OR "cached")"#).await;
    assert_same_scores(&served, &bm25);
    let (served, bm25) = scores_and_bm25(&app, &mut reader, "rust cach", r#""rust" AND ("cache" OR "cached" OR "caching")"#).await;
    assert_same_scores(&served, &bm25);
    assert_eq!(served.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_indexed_before_the_word_and_length_tables_gets_them() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    post(&app, &mut admin, json!({"title": "Heirloom tomatoes", "slug": "tomatoes", "content": "zucchini"}), true).await;
    let gone = post(&app, &mut admin, json!({"title": "Zucchini bread", "slug": "bread", "content": "flour"}), true).await;
    admin.post("/_fn/deletePost", json!({"id": gone})).await;
    app.settle().await;
    let flint::platform::db::Db::Sqlite(sqlite) = &app.state.db else { unreachable!("a SQLite app") };
    // Back to the schema before the migrations that made the tables.
    sqlx::query("DROP TABLE search_terms").execute(&sqlite.write).await.unwrap();
    sqlx::query("DROP TABLE search_post_terms").execute(&sqlite.write).await.unwrap();
    sqlx::query("DROP TABLE search_post_lengths").execute(&sqlite.write).await.unwrap();
    let forgotten =
        sqlx::query("DELETE FROM _sqlx_migrations WHERE description IN ('search terms', 'search term counts', 'search post lengths')")
            .execute(&sqlite.write)
            .await
            .unwrap();
    assert_eq!(forgotten.rows_affected(), 3);
    app.state.db.migrate().await.unwrap();
    let mut reader = app.user();
    assert_eq!(found(&mut reader, "heirl").await, ["tomatoes"]);
    assert_eq!(found(&mut reader, "zucchini tom").await, ["tomatoes"]);
    let (kept, counted) = word_counts(&app).await;
    assert_eq!(kept, counted, "counts from the index");
    assert!(kept.contains(&("zucchini".to_owned(), 1)) && !kept.iter().any(|(word, _)| word == "flour"), "{kept:?}");
    let (kept, read) = post_lengths(&app).await;
    assert_eq!(kept, read, "lengths from the index");
    assert_eq!(kept.len(), 1, "{kept:?}");
}
