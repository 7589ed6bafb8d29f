//! Page view rules: who counts (not bots, not prefetches), how a visitor is
//! named (a daily-salted hash), how views are written (a batch at a time,
//! once per visitor and post in 30 minutes) and read (counts by slug,
//! popular posts), plus the traffic figures of the dashboard.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use crate::features::publishing::schema::PublicPostItem;
use crate::features::publishing::service as publishing;
use crate::platform::auth::session::ClientInfo;
use crate::platform::clock::Millis;
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::state::DbCtx;

use super::data;
use super::schema::{PageView, VIEWS, counts_key, popular_ids_key, salt_key};

/// The same visitor on the same post counts once in this window.
pub const DEDUPE_WINDOW: Millis = 30 * 60 * 1000;

/// Popular posts rank by the views of this many days.
const POPULAR_DAYS: Millis = 30;

const DAY: Millis = 86_400_000;

static BOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);

/// Known crawlers, scripts and headless browsers, and requests without a
/// user agent, are not readers.
pub fn is_bot(user_agent: Option<&str>) -> bool {
    match user_agent.map(str::trim) {
        None | Some("") => true,
        Some(agent) => BOTS.is_bot(agent),
    }
}

/// `YYYY-MM-DD` (UTC) of an instant.
fn day_of(at: Millis) -> String {
    jiff::Timestamp::from_millisecond(at).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// Today's salt, shared by every process through the database; yesterday's
/// and older are deleted when a new day's is made.
async fn daily_salt(app: &DbCtx, now: Millis) -> anyhow::Result<String> {
    let day = day_of(now);
    app.cache
        .get_or_load(&salt_key(&day), || async {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the visitor salt: {e}"))?;
            let keep_from = day_of(now - DAY);
            Ok::<_, anyhow::Error>(data::salt_of_day(&app.db, &day, &hex::encode(bytes), &keep_from, now).await?)
        })
        .await
}

/// Counts a view of `post_id` (unless it is a bot's or a prefetch); the
/// write happens later, with its batch. Returns whether it was counted.
pub async fn record(app: &DbCtx, client: &ClientInfo, prefetch: bool, post_id: i64) -> anyhow::Result<bool> {
    if prefetch || is_bot(client.user_agent.as_deref()) {
        return Ok(false);
    }
    let now = app.clock.now_ms();
    let salt = daily_salt(app, now).await?;
    let mut hasher = Sha256::new();
    for part in [client.ip.as_deref().unwrap_or_default(), client.user_agent.as_deref().unwrap_or_default(), salt.as_str()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let visitor_hash = hex::encode(&hasher.finalize()[..16]);
    app.batches.push(&app.0, PageView { post_id, visitor_hash, at: now });
    Ok(true)
}

/// Writes one batch: the first view of each visitor and post, in one
/// statement that also skips views within the window of a stored one.
pub async fn write_batch(app: &DbCtx, mut views: Vec<PageView>) -> anyhow::Result<u64> {
    views.sort_by_key(|v| v.at);
    let mut seen = HashSet::new();
    views.retain(|v| seen.insert((v.post_id, v.visitor_hash.clone())));
    let written = data::insert_batch(&app.db, &views, DEDUPE_WINDOW).await?;
    metrics::counter!("flint_page_view_batches_total").increment(1);
    metrics::counter!("flint_page_views_total").increment(written);
    if written > 0 {
        invalidation::apply(app, Invalidation::default().bump(VIEWS)).await;
    }
    Ok(written)
}

/// All-time views by slug (slugs without views are absent; cached 5 minutes
/// or until the next batch).
pub async fn counts(app: &DbCtx, slugs: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut list: Vec<&str> = slugs.split(',').collect();
    list.sort_unstable();
    list.dedup();
    let canonical = list.join(",");
    app.cache
        .get_or_load(&counts_key(&canonical), || async {
            Ok::<_, anyhow::Error>(data::counts_by_slug(&app.db, &list).await?.into_iter().collect())
        })
        .await
}

/// The most viewed listed posts of the last 30 days; the newest fill the
/// list when too few posts have views.
pub async fn popular(app: &DbCtx, limit: u32) -> anyhow::Result<Vec<PublicPostItem>> {
    let since = app.clock.now_ms() - POPULAR_DAYS * DAY;
    // A few spare ids: some viewed posts may be unlisted or gone.
    let ids = app
        .cache
        .get_or_load(&popular_ids_key(limit), || async {
            Ok::<_, anyhow::Error>(data::most_viewed(&app.db, since, i64::from(limit) * 2 + 5).await?)
        })
        .await?;
    let mut posts = publishing::listed_in_order(app, &ids).await?;
    posts.truncate(limit as usize);
    if posts.len() < limit as usize {
        let have: HashSet<i64> = posts.iter().map(|p| p.id).collect();
        let newest = publishing::newest_listed(app, limit).await?;
        posts.extend(newest.into_iter().filter(|p| !have.contains(&p.id)).take(limit as usize - have.len()));
    }
    Ok(posts)
}

// ---- traffic (the dashboard) ------------------------------------------------

/// Page views and distinct visitors in a window (visitors are distinct per
/// day: the salt changes daily).
pub struct Totals {
    pub views: i64,
    pub visitors: i64,
}

pub async fn totals(app: &DbCtx, from: Millis, to: Millis) -> anyhow::Result<Totals> {
    let (views, visitors) = data::totals(&app.db, from, to).await?;
    Ok(Totals { views, visitors })
}

/// Views by bucket (`bucket` ms) in `[from, to)`, every bucket present.
pub async fn series(app: &DbCtx, from: Millis, to: Millis, bucket: Millis) -> anyhow::Result<Vec<(Millis, i64)>> {
    let counted: HashMap<i64, i64> = data::series(&app.db, from, to, bucket).await?.into_iter().collect();
    let first = from - from.rem_euclid(bucket);
    Ok((0..)
        .map(|n| first + n * bucket)
        .take_while(|start| *start < to)
        .map(|start| (start, counted.get(&start).copied().unwrap_or(0)))
        .collect())
}

/// The most viewed posts in a window: (slug, title, views).
pub async fn top_pages(app: &DbCtx, from: Millis, to: Millis, limit: i64) -> anyhow::Result<Vec<(String, String, i64)>> {
    Ok(data::top_pages(&app.db, from, to, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_and_browsers_are_told_apart() {
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        ] {
            assert!(is_bot(Some(bot)), "{bot}");
        }
        assert!(is_bot(None) && is_bot(Some("  ")), "no user agent is not a reader");
        for browser in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ] {
            assert!(!is_bot(Some(browser)), "{browser}");
        }
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(DAY - 1), "1970-01-01");
        assert_eq!(day_of(DAY), "1970-01-02");
    }
}
