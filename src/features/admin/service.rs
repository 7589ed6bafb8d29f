//! What the admin screens show, shaped for their templates.

use serde_json::{Value, json};

use crate::features::dashboard::schema::{DashboardStats, RangeTraffic};
use crate::features::dashboard::service as dashboard;
use crate::features::posts::schema::{AdminListInput, PostKind, PostStatus};
use crate::features::posts::service::{self as posts, PostError};
use crate::platform::http::AdminCtx;

/// What the posts screen is filtered by.
#[derive(Debug, Default)]
pub struct PostFilter {
    /// Part of the title.
    pub search: Option<String>,
    pub status: Option<PostStatus>,
    pub tag: Option<String>,
    pub category: Option<String>,
}

/// The address of a page of the posts screen.
pub fn posts_path(filter: &PostFilter, page: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("q", filter.search.as_deref()),
        ("status", filter.status.map(PostStatus::as_str)),
        ("tag", filter.tag.as_deref()),
        ("category", filter.category.as_deref()),
    ];
    for (name, value) in pairs {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("/admin/posts?{}", query.finish())
}

/// Rows of the posts screen.
pub const POSTS_PER_PAGE: u32 = 20;

/// The posts screen: the page `page` (1-based) of posts and pages that
/// pass `filter`, newest edit first.
pub async fn posts(ctx: &AdminCtx, filter: &PostFilter, page: u32) -> Result<Value, PostError> {
    let input = AdminListInput {
        offset: Some((page.max(1) - 1) * POSTS_PER_PAGE),
        limit: Some(POSTS_PER_PAGE),
        status: filter.status,
        search: filter.search.clone(),
        tag: filter.tag.clone(),
        category: filter.category.clone(),
        ..Default::default()
    };
    let rows = posts::admin_list(ctx, &input).await?;
    let total = posts::admin_count(ctx, &input).await?;
    let now = ctx.app.clock.now_ms();
    let link = |page: u32| posts_path(filter, page);
    let shown = u64::from(page.saturating_sub(1)) * u64::from(POSTS_PER_PAGE) + rows.len() as u64;
    Ok(json!({
        "title": "Posts",
        "query": filter.search.as_deref().unwrap_or_default(),
        "status": filter.status.map(PostStatus::as_str).unwrap_or_default(),
        "tag": filter.tag.as_deref().unwrap_or_default(),
        "category": filter.category.as_deref().unwrap_or_default(),
        "filtered": filter.search.is_some() || filter.status.is_some() || filter.tag.is_some() || filter.category.is_some(),
        "total": total,
        "posts": rows.iter().map(|post| {
            let public = post.status == PostStatus::Published && post.published_at.is_some_and(|at| at.0 <= now);
            let url = match post.kind {
                PostKind::Post => format!("/post/{}", post.slug),
                PostKind::Page => format!("/{}", post.slug),
            };
            json!({
                "id": post.id,
                "title": post.title,
                "slug": post.slug,
                "kind": post.kind,
                "status": post.status,
                "scheduled": post.status == PostStatus::Published && !public,
                "updated": when(post.updated_at.0),
                "updatedAt": post.updated_at,
                "published": post.published_at.map(|at| when(at.0)),
                "tags": post.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
                "category": post.category,
                "url": public.then_some(url),
            })
        }).collect::<Vec<_>>(),
        "newer": (page > 1).then(|| link(page - 1)),
        "older": (shown < total.max(0) as u64).then(|| link(page + 1)),
        "page": page,
    }))
}

/// The traffic ranges the dashboard offers, with their words.
pub const RANGES: [(&str, &str); 4] = [("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days")];

/// The dashboard's fields: the counts, the latest activities, and the
/// traffic of `range` with its chart.
pub async fn dashboard(ctx: &AdminCtx, range: &str) -> anyhow::Result<Value> {
    let DashboardStats { stats, activities, traffic_by_range } = dashboard::stats(ctx).await?;
    let traffic = traffic_by_range.get(range);
    let label = RANGES.iter().find(|(name, _)| *name == range).map_or("", |(_, label)| *label);
    Ok(json!({
        "title": "Dashboard",
        "stats": stats,
        "media_size": human_bytes(stats.media_size),
        "activities": activities.iter().map(|a| json!({
            "text": a.text, "link": a.link, "date": when(a.time.0), "time": a.time,
        })).collect::<Vec<_>>(),
        "ranges": RANGES.iter().map(|(name, label)| json!({"name": name, "label": label, "current": *name == range})).collect::<Vec<_>>(),
        "range": range,
        "range_label": label,
        "traffic": traffic,
        "chart": traffic.map(|t| chart_svg(t, range, label)),
    }))
}

/// "3.4 MB".
fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// "28 Nov 2026, 14:05 UTC".
fn when(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis).map(|t| t.strftime("%-d %b %Y, %H:%M UTC").to_string()).unwrap_or_default()
}

/// The views of a range as an inline SVG bar chart, drawn on the server
/// (no script, readable by screen readers through its title and the table
/// beside it). Every value in it is a number or escaped text.
fn chart_svg(traffic: &RangeTraffic, range: &str, label: &str) -> String {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 200.0;
    const AXIS: f64 = 24.0;
    let points = &traffic.traffic;
    let highest = points.iter().map(|p| p.views).max().unwrap_or(0).max(1);
    let slot = (WIDTH - AXIS) / points.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut bars = String::new();
    for (i, point) in points.iter().enumerate() {
        let height = (HEIGHT - AXIS) * point.views as f64 / highest as f64;
        let x = AXIS + i as f64 * slot + (slot - bar) / 2.0;
        let y = HEIGHT - AXIS - height;
        let at = jiff::Timestamp::from_millisecond(point.date.0).ok();
        let tick = at.map(|t| if range == "24h" { t.strftime("%H:00").to_string() } else { t.strftime("%-d %b").to_string() });
        bars.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" class=\"a-bar\"><title>{}: {} views</title></rect>",
            escape(tick.as_deref().unwrap_or_default()),
            point.views
        ));
    }
    let total: i64 = points.iter().map(|p| p.views).sum();
    format!(
        "<svg class=\"a-chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"chart-title\">\
         <title id=\"chart-title\">Page views, {}: {total} in all, at most {highest} in one {}</title>\
         <line x1=\"{AXIS}\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\" class=\"a-axis\"/>\
         <text x=\"0\" y=\"12\" class=\"a-tick\">{highest}</text><text x=\"0\" y=\"{base}\" class=\"a-tick\">0</text>{bars}</svg>",
        escape(label),
        if range == "24h" { "hour" } else { "day" },
        base = HEIGHT - AXIS,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::dashboard::schema::{Compared, Overview, TrafficPoint};
    use crate::platform::clock::Timestamp;

    #[test]
    fn the_chart_has_one_bar_per_point_scaled_to_the_highest() {
        let traffic = RangeTraffic {
            overview: Overview { page_views: Compared { value: 6, prev: 0 }, visitors: Compared { value: 2, prev: 0 } },
            traffic: vec![
                TrafficPoint { date: Timestamp(1_764_288_000_000), views: 2 },
                TrafficPoint { date: Timestamp(1_764_374_400_000), views: 4 },
            ],
            top_pages: vec![],
            last_updated: Timestamp(1_764_374_400_000),
        };
        let svg = chart_svg(&traffic, "7d", "Last <7> days");
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("height=\"176.0\""), "the highest bar fills the chart: {svg}");
        assert!(svg.contains("height=\"88.0\""), "half the views, half the height: {svg}");
        assert!(svg.contains("Last &lt;7&gt; days: 6 in all"), "{svg}");
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(3_400_000), "3.4 MB");
    }
}
