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
    while app.state.workflows.run_due().await.unwrap() > 0 {}
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
    flint::features::search::data::clear(&app.state.db, app.clock.now_ms()).await.unwrap();
    flint::features::search::service::invalidate(&app.state).await;
    assert!(found(&mut reader, "zucchini").await.is_empty(), "wiped");
    assert_eq!(admin.post("/_fn/buildSearchIndex", json!({})).await.body["documents"], 3);
    assert_eq!(without_scores(reader.get("/api/search?q=zucchini").await.body), before, "a rebuild restores identical results");
    assert!(reader.get("/_fn/getIndexVersion").await.body["version"].as_i64() > version["version"].as_i64());

    set_status(&app, &mut admin, public, "draft").await;
    assert!(found(&mut reader, "tomatoes").await.is_empty(), "unpublished posts leave the index");
    set_status(&app, &mut admin, public, "published").await;
    assert_eq!(found(&mut reader, "tomatoes").await, ["tomatoes"]);
    admin.post("/_fn/deletePost", json!({"id": public})).await;
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
        flint::features::posts::seed::seed(&app.state, 150).await.unwrap();
        flint::features::search::service::invalidate(&app.state).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_indexed_before_the_word_table_gets_its_words() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    post(&app, &mut admin, json!({"title": "Heirloom tomatoes", "slug": "tomatoes", "content": "zucchini"}), true).await;
    let flint::platform::db::Db::Sqlite(sqlite) = &app.state.db else { unreachable!("a SQLite app") };
    // Back to the schema before the migration that made the table.
    sqlx::query("DROP TABLE search_terms").execute(&sqlite.write).await.unwrap();
    let forgotten = sqlx::query("DELETE FROM _sqlx_migrations WHERE description = 'search terms'").execute(&sqlite.write).await.unwrap();
    assert_eq!(forgotten.rows_affected(), 1);
    app.state.db.migrate().await.unwrap();
    let mut reader = app.user();
    assert_eq!(found(&mut reader, "heirl").await, ["tomatoes"]);
    assert_eq!(found(&mut reader, "zucchini tom").await, ["tomatoes"]);
}
