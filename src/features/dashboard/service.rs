//! The dashboard's figures, read through the other features' services.
//! Traffic is cached (3 hours, or until `refreshDashboardCache`); counts
//! and activity are read live.

use std::collections::BTreeMap;

use anyhow::Context;

use crate::features::accounts::schema::ListUsersInput;
use crate::features::accounts::service as accounts;
use crate::features::comments::service as comments;
use crate::features::media::service as media;
use crate::features::page_views::service as page_views;
use crate::features::posts::schema::{AdminListInput, PostStatus};
use crate::features::posts::service as posts;
use crate::features::publishing::service as publishing;
use crate::platform::clock::{Millis, Timestamp};
use crate::platform::config::Locale;
use crate::platform::http::AdminCtx;
use crate::platform::state::DbCtx;

use super::schema::{
    Activity, ActivityType, Compared, Counts, DASHBOARD, DashboardStats, Overview, RangeTraffic, TopPage, TrafficPoint, traffic_key,
};

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// The spec's ranges: `(name, days)`; 0 means the last 24 hours by hour.
const RANGES: [(&str, i64); 4] = [("24h", 0), ("7d", 7), ("30d", 30), ("90d", 90)];

pub async fn stats(ctx: &AdminCtx) -> anyhow::Result<DashboardStats> {
    let app = &ctx.app;
    let count = |status| AdminListInput { status: Some(status), ..Default::default() };
    let counts = Counts {
        pending_comments: comments::pending_count(app).await?,
        published_posts: posts::admin_count(ctx, &count(PostStatus::Published)).await?,
        drafts: posts::admin_count(ctx, &count(PostStatus::Draft)).await?,
        media_size: media::total_size(ctx).await?,
    };
    let activities = activities(ctx).await?;
    let traffic_by_range = app.cache.get_or_load(&traffic_key(), || traffic(app)).await?;
    Ok(DashboardStats { stats: counts, activities, traffic_by_range })
}

/// Drops the cached traffic, then answers as [`stats`].
pub async fn refresh(ctx: &AdminCtx) -> anyhow::Result<DashboardStats> {
    ctx.app.cache.bump_version(DASHBOARD).await.context("refreshing the dashboard's traffic")?;
    stats(ctx).await
}

fn words(locale: Locale) -> (&'static str, &'static str, &'static str, &'static str) {
    // (commented on, published, joined, someone)
    match locale {
        Locale::En => ("{name} commented on \u{201c}{title}\u{201d}", "Published \u{201c}{title}\u{201d}", "{name} joined", "Someone"),
        Locale::Zh => ("{name} 评论了「{title}」", "发布了「{title}」", "{name} 注册了账号", "有人"),
    }
}

/// The 10 latest comments, published posts and accounts, newest first.
async fn activities(ctx: &AdminCtx) -> anyhow::Result<Vec<Activity>> {
    let app = &ctx.app;
    let (commented, published, joined, someone) = words(app.config.locale);
    let mut all = Vec::new();
    for c in comments::newest(app, 10).await? {
        let root = c.root_id.unwrap_or(c.id);
        all.push(Activity {
            kind: ActivityType::Comment,
            text: commented.replace("{name}", c.author.as_deref().unwrap_or(someone)).replace("{title}", &c.post_title),
            time: Timestamp(c.created_at),
            link: Some(format!("/post/{}?highlightCommentId={}&rootId={root}#comment-{}", c.post_slug, c.id, c.id)),
            root_id: Some(root),
        });
    }
    for post in publishing::newest_listed(app, 10).await? {
        all.push(Activity {
            kind: ActivityType::Post,
            text: published.replace("{title}", &post.title),
            time: post.published_at,
            link: Some(format!("/post/{}", post.slug)),
            root_id: None,
        });
    }
    let users = accounts::list_users(ctx, &ListUsersInput { q: None, role: None, limit: Some(10), offset: None }).await?;
    for user in users.items {
        all.push(Activity {
            kind: ActivityType::User,
            text: joined.replace("{name}", &user.name),
            time: user.created_at,
            link: None,
            root_id: None,
        });
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.time.0));
    all.truncate(10);
    Ok(all)
}

/// `(start, bucket)` of a range ending at `now`: the last 24 hours from
/// the hour, by hour; or N days from midnight (UTC), by day.
fn window(now: Millis, days: i64) -> (Millis, Millis) {
    if days == 0 {
        let start = now - DAY;
        (start - start.rem_euclid(HOUR), HOUR)
    } else {
        let today = now - now.rem_euclid(DAY);
        (today - days * DAY, DAY)
    }
}

async fn traffic(app: &DbCtx) -> anyhow::Result<BTreeMap<String, RangeTraffic>> {
    let now = app.clock.now_ms();
    let mut ranges = BTreeMap::new();
    for (name, days) in RANGES {
        let (start, bucket) = window(now, days);
        let previous_start = start - (now - start);
        let current = page_views::totals(app, start, now + 1).await?;
        let previous = page_views::totals(app, previous_start, start).await?;
        let traffic = page_views::series(app, start, now + 1, bucket)
            .await?
            .into_iter()
            .map(|(date, views)| TrafficPoint { date: Timestamp(date), views })
            .collect();
        let top_pages = page_views::top_pages(app, start, now + 1, 5)
            .await?
            .into_iter()
            .map(|(slug, title, views)| TopPage { slug, title, views })
            .collect();
        ranges.insert(
            name.to_owned(),
            RangeTraffic {
                overview: Overview {
                    page_views: Compared { value: current.views, prev: previous.views },
                    visitors: Compared { value: current.visitors, prev: previous.visitors },
                },
                traffic,
                top_pages,
                last_updated: Timestamp(now),
            },
        );
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_spec() {
        let now = 10 * DAY + 5 * HOUR + 123;
        assert_eq!(window(now, 0), (9 * DAY + 5 * HOUR, HOUR), "24h: from the hour a day ago, by hour");
        assert_eq!(window(now, 7), (3 * DAY, DAY), "7d: from midnight seven days before today, by day");
    }
}
