//! The documents as text: pure functions from posts to XML/JSON.

use jiff::Timestamp as JiffTimestamp;
use serde_json::json;

use crate::features::publishing::schema::PublicPostDetail;
use crate::features::settings::service::SiteView;
use crate::platform::clock::{Millis, to_rfc3339};

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped.
            // Characters XML 1.0 forbids anywhere (one of them makes the
            // whole document unreadable): C0 controls but tab, newline and
            // carriage return, and the non-characters U+FFFE and U+FFFF.
            // (Rust strings hold no surrogates, the other forbidden range.)
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn rfc822(ms: Millis) -> String {
    JiffTimestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&t).ok())
        .unwrap_or_default()
}

/// The public URL of the blog, with a trailing slash.
pub struct Links {
    pub base: url::Url,
}

impl Links {
    pub fn home(&self) -> String {
        self.base.to_string()
    }

    pub fn at(&self, path: &str) -> String {
        self.base.join(path).map(|u| u.to_string()).unwrap_or_else(|_| format!("{}{path}", self.base))
    }

    /// `/post/<slug>`, the slug percent-encoded as one path segment.
    pub fn post(&self, slug: &str) -> String {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("post").push(slug);
        }
        url.to_string()
    }
}

fn newest(posts: &[PublicPostDetail]) -> Option<Millis> {
    posts.iter().map(|p| p.item.updated_at.millis().max(p.item.published_at.millis())).max()
}

pub fn rss(site: &SiteView, links: &Links, posts: &[PublicPostDetail], now: Millis) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n<channel>\n");
    xml.push_str(&format!("<title>{}</title>\n<link>{}</link>\n", xml_escape(&site.site.title), xml_escape(&links.home())));
    xml.push_str(&format!("<description>{}</description>\n", xml_escape(&site.site.description)));
    xml.push_str(&format!("<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n", xml_escape(&links.at("rss.xml"))));
    xml.push_str(&format!("<lastBuildDate>{}</lastBuildDate>\n<generator>flint</generator>\n", rfc822(newest(posts).unwrap_or(now))));
    for post in posts {
        let item = &post.item;
        let link = xml_escape(&links.post(&item.slug));
        xml.push_str("<item>\n");
        xml.push_str(&format!(
            "<title>{}</title>\n<link>{link}</link>\n<guid isPermaLink=\"true\">{link}</guid>\n",
            xml_escape(&item.title)
        ));
        // RSS readers show `<description>` as HTML, and the summary is plain
        // text: escaped twice (once as HTML, once as XML), `Use <b>` arrives
        // as those characters.
        xml.push_str(&format!("<description>{}</description>\n", xml_escape(&xml_escape(&item.summary))));
        xml.push_str(&format!("<content:encoded>{}</content:encoded>\n", xml_escape(&post.content_html)));
        xml.push_str(&format!("<pubDate>{}</pubDate>\n", rfc822(item.published_at.millis())));
        for tag in &item.tags {
            xml.push_str(&format!("<category>{}</category>\n", xml_escape(&tag.name)));
        }
        xml.push_str("</item>\n");
    }
    xml.push_str("</channel>\n</rss>\n");
    xml
}

pub fn atom(site: &SiteView, links: &Links, posts: &[PublicPostDetail], now: Millis) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    xml.push_str(&format!("<title>{}</title>\n", xml_escape(&site.site.title)));
    if !site.site.description.is_empty() {
        xml.push_str(&format!("<subtitle>{}</subtitle>\n", xml_escape(&site.site.description)));
    }
    xml.push_str(&format!("<id>{}</id>\n<link href=\"{}\"/>\n", xml_escape(&links.home()), xml_escape(&links.home())));
    xml.push_str(&format!("<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n", xml_escape(&links.at("atom.xml"))));
    xml.push_str(&format!(
        "<updated>{}</updated>\n<author><name>{}</name></author>\n<generator>flint</generator>\n",
        to_rfc3339(newest(posts).unwrap_or(now)),
        xml_escape(site.author())
    ));
    for post in posts {
        let item = &post.item;
        let link = xml_escape(&links.post(&item.slug));
        xml.push_str("<entry>\n");
        xml.push_str(&format!("<title>{}</title>\n<link href=\"{link}\"/>\n<id>{link}</id>\n", xml_escape(&item.title)));
        xml.push_str(&format!(
            "<published>{}</published>\n<updated>{}</updated>\n",
            to_rfc3339(item.published_at.millis()),
            to_rfc3339(item.updated_at.millis().max(item.published_at.millis()))
        ));
        xml.push_str(&format!(
            "<summary type=\"text\">{}</summary>\n<content type=\"html\">{}</content>\n",
            xml_escape(&item.summary),
            xml_escape(&post.content_html)
        ));
        for tag in &item.tags {
            xml.push_str(&format!("<category term=\"{}\"/>\n", xml_escape(&tag.name)));
        }
        xml.push_str("</entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

pub fn json_feed(site: &SiteView, links: &Links, posts: &[PublicPostDetail]) -> serde_json::Value {
    let items: Vec<_> = posts
        .iter()
        .map(|post| {
            let item = &post.item;
            let url = links.post(&item.slug);
            json!({
                "id": url, "url": url, "title": item.title, "summary": item.summary, "content_html": post.content_html,
                "date_published": to_rfc3339(item.published_at.millis()),
                "date_modified": to_rfc3339(item.updated_at.millis().max(item.published_at.millis())),
                "tags": item.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.site.title,
        "home_page_url": links.home(),
        "feed_url": links.at("feed.json"),
        "description": site.site.description,
        "authors": [{"name": site.author()}],
        "items": items,
    })
}

/// One `<urlset>`: `(url, lastmod ms, changefreq, priority)` per entry.
pub fn urlset(entries: &[(String, Option<Millis>, &str, &str)]) -> String {
    // Sized up front: a part holds up to 50,000 URLs (about 10 MB), and
    // growing by doubling held several copies at once.
    let tags_and_date = 130;
    let mut xml = String::with_capacity(200 + entries.iter().map(|(url, ..)| url.len() + tags_and_date).sum::<usize>());
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (url, lastmod, changefreq, priority) in entries {
        xml.push_str("<url><loc>");
        xml.push_str(&xml_escape(url));
        xml.push_str("</loc>");
        if let Some(ms) = lastmod {
            xml.push_str("<lastmod>");
            xml.push_str(&to_rfc3339(*ms));
            xml.push_str("</lastmod>");
        }
        xml.push_str("<changefreq>");
        xml.push_str(changefreq);
        xml.push_str("</changefreq><priority>");
        xml.push_str(priority);
        xml.push_str("</priority></url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

/// A `<sitemapindex>` pointing at `parts` part URLs.
pub fn sitemap_index(part_urls: &[String], lastmod: Option<Millis>) -> String {
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for url in part_urls {
        xml.push_str(&format!("<sitemap><loc>{}</loc>", xml_escape(url)));
        if let Some(ms) = lastmod {
            xml.push_str(&format!("<lastmod>{}</lastmod>", to_rfc3339(ms)));
        }
        xml.push_str("</sitemap>\n");
    }
    xml.push_str("</sitemapindex>\n");
    xml
}

pub fn robots(links: &Links) -> String {
    let disallowed = [
        "/admin",
        "/search",
        "/unsubscribe",
        "/login",
        "/register",
        "/forgot-password",
        "/verify-email",
        "/reset-link",
        "/oauth/consent",
        "/profile",
        "/submit-friend-link",
    ];
    let mut text = String::from("User-agent: *\nAllow: /\n");
    for path in disallowed {
        text.push_str(&format!("Disallow: {path}\n"));
    }
    text.push_str(&format!("Sitemap: {}\n", links.at("sitemap.xml")));
    text
}

pub fn manifest(site: &SiteView) -> String {
    // The settings' icons (uploaded ones replace the defaults there).
    let icons: Vec<_> = [(&site.site.icons.web_app192, "192x192"), (&site.site.icons.web_app512, "512x512")]
        .into_iter()
        .filter(|(src, _)| !src.is_empty())
        .map(|(src, sizes)| json!({"src": src, "sizes": sizes, "type": "image/png"}))
        .collect();
    let manifest = json!({
        "name": site.site.title,
        "short_name": site.site.title,
        "icons": icons,
        "theme_color": "#ffffff",
        "background_color": "#ffffff",
        "display": "standalone",
    });
    serde_json::to_string_pretty(&manifest).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links { base: url::Url::parse("https://blog.example/").unwrap() }
    }

    #[test]
    fn escaping_and_links() {
        assert_eq!(xml_escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(xml_escape("x\u{FFFF}y\u{FFFE}z\u{FFFD}\u{10FFFF}\t"), "xyz\u{FFFD}\u{10FFFF}\t", "only what XML 1.0 forbids goes");
        assert_eq!(xml_escape(&xml_escape("Use <b>bold</b> & co")), "Use &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; &amp;amp; co");
        assert_eq!(links().post("你好 world/x"), "https://blog.example/post/%E4%BD%A0%E5%A5%BD%20world%2Fx");
        assert_eq!(links().at("rss.xml"), "https://blog.example/rss.xml");
    }

    #[test]
    fn sitemap_index_lists_parts() {
        let xml = sitemap_index(&["https://blog.example/sitemap/1.xml".into(), "https://blog.example/sitemap/2.xml".into()], Some(0));
        assert!(xml.contains("<sitemapindex"));
        assert_eq!(xml.matches("<sitemap>").count(), 2);
        assert!(xml.contains("<lastmod>1970-01-01T00:00:00Z</lastmod>"));
    }

    #[test]
    fn robots_points_at_the_sitemap() {
        let text = robots(&links());
        assert!(text.starts_with("User-agent: *\nAllow: /\nDisallow: /admin\n"));
        assert!(text.ends_with("Sitemap: https://blog.example/sitemap.xml\n"));
    }
}
