//! Site documents at the original's paths: `/rss.xml` (RSS 2.0),
//! `/atom.xml` (Atom 1.0), `/feed.json` (JSON Feed 1.1), `/sitemap.xml`
//! (a sitemap index with 50,000-URL parts when larger), `/robots.txt` and
//! `/site.webmanifest`. Built from the public read model of posts, with
//! absolute links from `FLINT_BASE_URL`; feeds and sitemaps are cached in
//! the `site` namespace, which its `PublicPostsChanged` subscriber drops.

pub mod api;
pub mod render;
pub mod service;
pub mod workflows;
