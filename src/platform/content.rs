//! Markdown to the Public Content Snapshot: GFM (tables, task lists,
//! strikethrough, autolinks, footnotes) with CJK-friendly emphasis, heading
//! ids, code highlighted on the server as CSS classes, HTML sanitised with
//! an allow-list, a table of contents, plain text (for search, feeds and
//! summaries) and the reading time. Pure functions, plus [`render_bounded`]
//! and [`check_bounded`], which run them on a render thread of their own
//! with a deadline; may use nothing else in the app.
//!
//! Untrusted Markdown is bounded before anything walks it recursively:
//! blocks and inlines may nest [`MAX_NESTING`] deep, and so may raw HTML
//! elements (the sanitiser's tree builder checks element scope by walking
//! the stack of open elements, so its cost grows with depth × elements:
//! 200,000 nested `<div>`s took minutes before this bound).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use comrak::arena_tree::NodeEdge;
use comrak::nodes::{AstNode, NodeValue};
use comrak::plugins::syntect::{SyntectAdapter, SyntectAdapterBuilder};
use comrak::{Anchorizer, Arena, Options, options::Plugins};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One heading of the table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TocEntry {
    /// The heading's `id` in `contentHtml`.
    pub id: String,
    pub text: String,
    pub level: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub plain_text: String,
    pub read_time_minutes: i32,
}

/// How deep Markdown blocks and inlines, and raw HTML elements, may nest.
/// Real writing stays far below it (a quote in a list in a quote is 3).
pub const MAX_NESTING: usize = 100;

/// The prefix of every `id` in user content (and of in-page links to them),
/// so an id can never clobber a DOM global such as `location` or `__proto__`.
pub const ID_PREFIX: &str = "user-content-";

/// The longest a render may take before the caller gets an error. Inputs
/// within the size and nesting bounds render in well under a second; this
/// catches whatever slow path is still unknown.
pub const RENDER_DEADLINE: Duration = Duration::from_secs(10);

/// Stack of each render thread. Walking a tree of [`MAX_NESTING`] levels
/// needs far less; the margin is for the libraries' own recursion.
const RENDER_STACK: usize = 32 << 20;

/// Why content cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("the content nests {what} more than {MAX_NESTING} levels deep")]
    TooDeep { what: &'static str },
    #[error("rendering the content took longer than {} s", RENDER_DEADLINE.as_secs())]
    TimedOut,
    #[error("the render thread failed: {0}")]
    Failed(String),
}

/// Loaded once: syntax definitions take a while to deserialise.
static HIGHLIGHTER: LazyLock<SyntectAdapter> = LazyLock::new(|| SyntectAdapterBuilder::new().css().build());

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_generic_attributes(["class"])
        .add_tag_attributes("h1", ["id"])
        .add_tag_attributes("h2", ["id"])
        .add_tag_attributes("h3", ["id"])
        .add_tag_attributes("h4", ["id"])
        .add_tag_attributes("h5", ["id"])
        .add_tag_attributes("h6", ["id"])
        .add_tag_attributes("a", ["id", "aria-hidden"])
        .add_tag_attributes("li", ["id"])
        .add_tag_attributes("th", ["align"])
        .add_tag_attributes("td", ["align"])
        // Task-list checkboxes only: whatever an `<input>` says, it becomes
        // a disabled checkbox (a text field could phish for input).
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attribute_values("input", "type", ["checkbox"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "")
        .attribute_filter(prefix_ids);
    builder
});

/// Gives every `id` (and every in-page link, `href="#..."`) the
/// [`ID_PREFIX`], as GitHub does, unless it already has it.
fn prefix_ids<'u>(_element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match attribute {
        "id" if !value.starts_with(ID_PREFIX) => Some(Cow::Owned(format!("{ID_PREFIX}{value}"))),
        "href" => match value.strip_prefix('#') {
            Some(fragment) if !fragment.is_empty() && !fragment.starts_with(ID_PREFIX) => {
                Some(Cow::Owned(format!("#{ID_PREFIX}{fragment}")))
            }
            _ => Some(Cow::Borrowed(value)),
        },
        _ => Some(Cow::Borrowed(value)),
    }
}

fn options() -> Options<'static> {
    let mut options = Options::default();
    options.extension.strikethrough = true;
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.tasklist = true;
    options.extension.footnotes = true;
    options.extension.header_id_prefix = Some(ID_PREFIX.to_owned());
    options.extension.cjk_friendly_emphasis = true;
    // Raw HTML is allowed through the parser and then cleaned by the sanitiser.
    options.render.r#unsafe = true;
    options
}

/// Checks that `markdown` is within the nesting bounds, on a render thread
/// with a deadline (for input that is stored, not yet rendered).
pub async fn check_bounded(markdown: Arc<str>) -> Result<(), ContentError> {
    on_render_thread(move || {
        let options = options();
        let arena = Arena::new();
        let root = comrak::parse_document(&arena, &markdown, &options);
        check_nesting(root)
    })
    .await?
}

/// [`render`] on a render thread, with a deadline.
pub async fn render_bounded(markdown: Arc<str>) -> Result<Rendered, ContentError> {
    on_render_thread(move || render(&markdown)).await?
}

/// Runs `work` on a thread of its own with a [`RENDER_STACK`] stack, and
/// gives up waiting after [`RENDER_DEADLINE`]. At most as many renders run
/// at once as there are cores, so renders that overrun cannot pile up: one
/// that timed out keeps its place until it really ends.
async fn on_render_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ContentError> {
    static RENDERS: LazyLock<Arc<tokio::sync::Semaphore>> = LazyLock::new(|| {
        Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)))
    });
    let deadline = tokio::time::Instant::now() + RENDER_DEADLINE;
    let permit = tokio::time::timeout_at(deadline, RENDERS.clone().acquire_owned())
        .await
        .map_err(|_| ContentError::TimedOut)?
        .map_err(|e| ContentError::Failed(e.to_string()))?;
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("flint-render".into())
        .stack_size(RENDER_STACK)
        .spawn(move || {
            let _ = done.send(work());
            drop(permit);
        })
        .map_err(|e| ContentError::Failed(format!("cannot start a render thread: {e}")))?;
    match tokio::time::timeout_at(deadline, result).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(ContentError::Failed("the render thread panicked".into())),
        Err(_) => Err(ContentError::TimedOut),
    }
}

/// Refuses trees nested deeper than [`MAX_NESTING`]: Markdown containers
/// and inlines (walked without recursion), and the raw HTML elements the
/// sanitiser will build a tree of.
fn check_nesting<'a>(root: &'a AstNode<'a>) -> Result<(), ContentError> {
    let (mut depth, mut html) = (0usize, HtmlDepth::default());
    for edge in root.traverse() {
        match edge {
            NodeEdge::Start(node) => {
                depth += 1;
                if depth > MAX_NESTING + 1 {
                    return Err(ContentError::TooDeep { what: "blocks and inlines" });
                }
                if let NodeValue::HtmlBlock(block) = &node.data().value {
                    html.scan(&block.literal)?;
                } else if let NodeValue::HtmlInline(raw) = &node.data().value {
                    html.scan(raw)?;
                }
            }
            NodeEdge::End(_) => depth -= 1,
        }
    }
    Ok(())
}

/// An upper bound of the element depth of raw HTML, read in document order:
/// every start tag opens an element and every end tag closes one, except
/// void elements and those whose end tag HTML lets authors leave out (a
/// second `<p>` closes the first, so they do not nest).
#[derive(Default)]
struct HtmlDepth {
    open: usize,
}

impl HtmlDepth {
    fn scan(&mut self, html: &str) -> Result<(), ContentError> {
        const NOT_NESTING: &[&str] = &[
            "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "p", "li", "dt", "dd",
            "tr", "td", "th", "option", "thead", "tbody", "tfoot", "colgroup", "rt", "rp", "optgroup",
        ];
        let bytes = html.as_bytes();
        let mut at = 0;
        while let Some(offset) = html[at..].find('<') {
            at += offset + 1;
            let closing = bytes.get(at) == Some(&b'/');
            let start = if closing { at + 1 } else { at };
            let end = bytes[start..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(bytes.len(), |n| start + n);
            if end == start {
                continue;
            }
            let name = html[start..end].to_ascii_lowercase();
            // The tag's own text ends at the next `>` (looked for only in a
            // short window, so a run of `<` without `>` stays linear).
            let window = &bytes[end..bytes.len().min(end + 256)];
            let self_closing = window.iter().position(|b| *b == b'>').is_some_and(|close| window[..close].ends_with(b"/"));
            if NOT_NESTING.contains(&name.as_str()) || (self_closing && !closing) {
                continue;
            }
            if closing {
                self.open = self.open.saturating_sub(1);
            } else {
                self.open += 1;
                if self.open > MAX_NESTING {
                    return Err(ContentError::TooDeep { what: "HTML elements" });
                }
            }
        }
        Ok(())
    }
}

/// Renders Markdown into the public snapshot's parts. Content nested past
/// [`MAX_NESTING`] is refused before any recursive walk; call it through
/// [`render_bounded`] (untrusted input may still be slow or deep enough to
/// need the render thread's stack).
pub fn render(markdown: &str) -> Result<Rendered, ContentError> {
    let options = options();
    let arena = Arena::new();
    let root = comrak::parse_document(&arena, markdown, &options);
    check_nesting(root)?;

    let mut anchorizer = Anchorizer::new();
    let mut toc = Vec::new();
    for node in root.descendants() {
        let level = match &node.data().value {
            NodeValue::Heading(heading) => heading.level,
            _ => continue,
        };
        let mut text = String::new();
        inline_text(node, &mut text);
        // Every heading takes an id in document order, as the HTML renderer does.
        let id = format!("{ID_PREFIX}{}", anchorizer.anchorize(&text));
        let text = text.trim().to_owned();
        if !text.is_empty() {
            toc.push(TocEntry { id, text, level });
        }
    }

    let mut plain_text = String::new();
    block_text(root, &mut plain_text);
    let plain_text = collapse_blank_lines(&plain_text);

    let mut plugins = Plugins::default();
    plugins.render.codefence_syntax_highlighter = Some(&*HIGHLIGHTER);
    let mut html = String::new();
    if comrak::format_html_with_plugins(root, &options, &mut html, &plugins).is_err() {
        html.clear();
    }
    Ok(Rendered { html: label_heading_anchors(&sanitize(&html)), read_time_minutes: reading_time(&plain_text), toc, plain_text })
}

/// The link each heading carries to itself has no text: screen readers
/// would announce an empty link, so it gets a name (themes may show it).
fn label_heading_anchors(html: &str) -> String {
    html.replace(
        r#"class="anchor" rel="noopener noreferrer"></a>"#,
        r#"class="anchor" rel="noopener noreferrer" aria-label="Link to this section"></a>"#,
    )
}

/// Removes everything but the allow-listed tags and attributes (no scripts,
/// no event handlers, no `javascript:` URLs).
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// A comment rendered: sanitised HTML, its plain text, and how many links it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedComment {
    pub html: String,
    pub plain_text: String,
    pub links: usize,
}

/// Comments allow a small subset: paragraphs, emphasis, code, links,
/// quotes and lists. Links leave the site marked as user content.
static COMMENT_SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(["p", "br", "em", "strong", "del", "code", "pre", "a", "blockquote", "ul", "ol", "li"].into())
        .tag_attributes([("a", ["href"].into()), ("ol", ["start"].into())].into())
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow ugc noopener"))
        .strip_comments(true);
    builder
});

/// Renders a comment's Markdown. Raw HTML is shown as text, never parsed;
/// anything outside the subset is reduced to its text by the sanitiser.
pub fn render_comment(markdown: &str) -> Result<RenderedComment, ContentError> {
    let mut options = Options::default();
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    options.extension.cjk_friendly_emphasis = true;
    options.render.escape = true;
    let arena = Arena::new();
    let root = comrak::parse_document(&arena, markdown, &options);
    check_nesting(root)?;
    // Raw HTML is the author's text: shown (escaped) in a paragraph, and counted as text.
    for node in root.descendants().collect::<Vec<_>>() {
        let literal = match &node.data().value {
            NodeValue::HtmlBlock(block) => Some((true, block.literal.trim_end().to_owned())),
            NodeValue::HtmlInline(raw) => Some((false, raw.clone())),
            _ => None,
        };
        match literal {
            Some((true, text)) => {
                node.data_mut().value = NodeValue::Paragraph;
                node.append(arena.alloc(comrak::nodes::Ast::new(NodeValue::Text(text.into()), (0, 0).into()).into()));
            }
            Some((false, text)) => node.data_mut().value = NodeValue::Text(text.into()),
            None => {}
        }
    }
    let links = root.descendants().filter(|n| matches!(n.data().value, NodeValue::Link(_))).count();
    let mut plain_text = String::new();
    block_text(root, &mut plain_text);
    let mut html = String::new();
    if comrak::format_html(root, &options, &mut html).is_err() {
        html.clear();
    }
    Ok(RenderedComment { html: COMMENT_SANITIZER.clean(&html).to_string(), plain_text: collapse_blank_lines(&plain_text), links })
}

/// [`render_comment`] on a render thread, with a deadline.
pub async fn render_comment_bounded(markdown: Arc<str>) -> Result<RenderedComment, ContentError> {
    on_render_thread(move || render_comment(&markdown)).await?
}

fn inline_text<'a>(node: &'a AstNode<'a>, out: &mut String) {
    for child in node.children() {
        match &child.data().value {
            NodeValue::Text(text) => out.push_str(text),
            NodeValue::Code(code) => out.push_str(&code.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => out.push(' '),
            _ => inline_text(child, out),
        }
    }
}

fn block_text<'a>(node: &'a AstNode<'a>, out: &mut String) {
    for child in node.children() {
        let value = child.data().value.clone();
        match value {
            NodeValue::Text(text) => out.push_str(&text),
            NodeValue::Code(code) => out.push_str(&code.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => out.push(' '),
            NodeValue::CodeBlock(block) => {
                out.push_str(block.literal.trim_end());
                out.push('\n');
            }
            NodeValue::HtmlBlock(_) | NodeValue::HtmlInline(_) => {}
            NodeValue::Paragraph | NodeValue::Heading(_) | NodeValue::TableCell => {
                block_text(child, out);
                out.push(if matches!(value, NodeValue::TableCell) { ' ' } else { '\n' });
            }
            _ => block_text(child, out),
        }
    }
}

fn collapse_blank_lines(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B-F
}

/// `max(1, ceil(cjkChars / 400 + words / 200))`: CJK characters read at 400
/// a minute, words of other scripts at 200.
pub fn reading_time(text: &str) -> i32 {
    let cjk = text.chars().filter(|c| is_cjk(*c)).count() as f64;
    let words = text.split(|c: char| c.is_whitespace() || is_cjk(c)).filter(|w| w.chars().any(char::is_alphanumeric)).count() as f64;
    ((cjk / 400.0 + words / 200.0).ceil() as i32).max(1)
}

/// The first `max_chars` characters of `text`, cut at the last sentence end
/// (or else the last space) inside them; `…` marks a cut inside a sentence.
pub fn extractive_summary(text: &str, max_chars: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max_chars {
        return text;
    }
    let head: String = text.chars().take(max_chars).collect();
    let sentence_end =
        head.char_indices().filter(|(_, c)| matches!(c, '.' | '!' | '?' | '。' | '！' | '？')).map(|(i, c)| i + c.len_utf8()).next_back();
    if let Some(end) = sentence_end.filter(|end| head[..*end].chars().count() >= max_chars / 3) {
        return head[..end].trim().to_owned();
    }
    let cut = match head.rfind(' ') {
        Some(space) if head[..space].chars().count() >= max_chars / 3 => &head[..space],
        _ => &head,
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '，', '、', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_ids_and_make_the_toc() {
        let out = render("# Hello World\n\nText\n\n## Second *part*\n\n## Hello World\n\n### 中文 标题\n").unwrap();
        let ids: Vec<_> = out.toc.iter().map(|e| (e.id.as_str(), e.text.as_str(), e.level)).collect();
        assert_eq!(
            ids,
            [
                ("user-content-hello-world", "Hello World", 1),
                ("user-content-second-part", "Second part", 2),
                ("user-content-hello-world-1", "Hello World", 2),
                ("user-content-中文-标题", "中文 标题", 3)
            ]
        );
        assert!(out.html.contains("id=\"user-content-hello-world-1\""), "{}", out.html);
    }

    #[test]
    fn code_is_highlighted_with_classes() {
        let out = render("```rust\nfn main() { let x = 1; }\n```\n").unwrap();
        assert!(out.html.contains("<span class=\""), "{}", out.html);
        assert!(!out.html.contains("style="), "classes, not inline styles: {}", out.html);
        assert!(out.plain_text.contains("fn main()"));
    }

    #[test]
    fn scripts_and_event_handlers_are_removed() {
        let out = render(
            "Hi <script>alert(1)</script><img src=x onerror=\"alert(2)\"> [x](javascript:alert(3))\n\n<div onclick=\"evil()\">ok</div>",
        )
        .unwrap();
        for bad in ["<script", "alert(1)", "onerror", "onclick", "javascript:"] {
            assert!(!out.html.contains(bad), "{bad} survived: {}", out.html);
        }
        assert!(out.html.contains("ok"));
    }

    #[test]
    fn gfm_and_cjk_emphasis() {
        let out = render("| a | b |\n|---|--:|\n| 1 | 2 |\n\n- [x] done\n\n~~old~~ **强调**。后文\n").unwrap();
        assert!(out.html.contains("<table>"));
        assert!(out.html.contains("type=\"checkbox\""), "{}", out.html);
        assert!(out.html.contains("<del>old</del>"));
        assert!(out.html.contains("<strong>强调</strong>"), "CJK-friendly emphasis: {}", out.html);
    }

    #[test]
    fn reading_time_counts_cjk_and_words() {
        assert_eq!(reading_time(""), 1);
        assert_eq!(reading_time(&"word ".repeat(200)), 1);
        assert_eq!(reading_time(&"word ".repeat(201)), 2);
        assert_eq!(reading_time(&"字".repeat(800)), 2);
        assert_eq!(reading_time(&format!("{} {}", "字".repeat(400), "word ".repeat(100))), 2);
    }

    #[test]
    fn summaries_cut_at_sentences_or_words() {
        assert_eq!(extractive_summary("Short text.", 200), "Short text.");
        let long = format!("First sentence here. {}", "word ".repeat(100));
        assert_eq!(extractive_summary(&long, 60), "First sentence here.");
        let no_stop = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu";
        assert_eq!(extractive_summary(no_stop, 30), "alpha beta gamma delta…");
        let cjk = "这是一个很长的句子没有标点符号".repeat(10);
        assert_eq!(extractive_summary(&cjk, 20).chars().count(), 21);
    }

    #[test]
    fn plain_text_has_no_markup() {
        let out = render("# Title\n\nSome *emphasis* and `code`.\n\n<b>raw</b>\n\n- item one\n- item two\n").unwrap();
        assert_eq!(out.plain_text, "Title\nSome emphasis and code.\nraw\nitem one\nitem two", "inline HTML keeps its visible text");
    }

    #[test]
    fn inputs_become_disabled_checkboxes_and_ids_are_prefixed() {
        let out = render(
            "<input type=\"text\" name=\"password\">\n\n<h2 id=\"location\">x</h2>\n\n<a href=\"#location\">to</a> <a id=\"__proto__\">y</a>\n\nNote[^1].\n\n[^1]: The note.\n",
        )
        .unwrap();
        assert!(!out.html.contains("type=\"text\""), "{}", out.html);
        assert!(out.html.contains("<input type=\"checkbox\" disabled=\"\">"), "{}", out.html);
        assert!(!out.html.contains("name="), "{}", out.html);
        for id in ["id=\"user-content-location\"", "href=\"#user-content-location\"", "id=\"user-content-__proto__\""] {
            assert!(out.html.contains(id), "{id} missing: {}", out.html);
        }
        assert!(!out.html.contains("id=\"location\"") && !out.html.contains("id=\"__proto__\""), "{}", out.html);
        // Footnote links still reach their notes.
        let hrefs: Vec<&str> = out.html.split("href=\"#").skip(1).filter_map(|s| s.split('"').next()).collect();
        assert!(!hrefs.is_empty());
        for href in hrefs {
            assert!(out.html.contains(&format!("id=\"{href}\"")), "link #{href} has no target: {}", out.html);
        }
    }

    #[test]
    fn nesting_past_the_bound_is_refused_before_any_recursive_walk() {
        let deep_quote = format!("{} x", ">".repeat(MAX_NESTING + 5));
        assert_eq!(render(&deep_quote), Err(ContentError::TooDeep { what: "blocks and inlines" }));
        let deep_list = (0..MAX_NESTING + 5).map(|i| format!("{}- item\n", "  ".repeat(i))).collect::<String>();
        assert!(render(&deep_list).is_err());
        let deep_html = "<div>".repeat(MAX_NESTING + 1);
        assert_eq!(render(&deep_html), Err(ContentError::TooDeep { what: "HTML elements" }));
        // At the bound, and with many siblings, it renders.
        let ok_quote = format!("{} x", ">".repeat(MAX_NESTING - 5));
        assert!(render(&ok_quote).unwrap().plain_text.contains('x'));
        assert!(render(&"<div>a</div>".repeat(10_000)).is_ok());
        assert!(render(&"<p>a<br>".repeat(10_000)).is_ok(), "elements with optional end tags do not nest");
    }

    #[tokio::test]
    async fn hostile_inputs_get_an_answer_on_the_render_thread() {
        for input in [
            format!("{} x", ">".repeat(10_000)),
            format!("{} x", ">".repeat(100_000)),
            "<div>".repeat(200_000),
            "[".repeat(100_000),
            "*".repeat(100_000),
        ] {
            let started = std::time::Instant::now();
            let result = render_bounded(input.clone().into()).await;
            assert!(started.elapsed() < RENDER_DEADLINE, "{} bytes took {:?}", input.len(), started.elapsed());
            assert!(matches!(result, Ok(_) | Err(ContentError::TooDeep { .. })), "{result:?}");
            assert_eq!(check_bounded(input.into()).await.is_err(), result.is_err());
        }
    }

    #[test]
    fn comments_keep_the_subset_and_lose_scripts() {
        let c = render_comment("Hi *there* <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.com) https://auto.example\n\n> quoted\n\n# Big").unwrap();
        assert!(!c.html.contains("<script"), "{}", c.html);
        assert!(!c.html.contains("javascript:"), "{}", c.html);
        assert!(c.html.contains("&lt;script&gt;"), "raw HTML shows as text: {}", c.html);
        assert!(c.html.contains(r#"<a href="https://example.com" rel="nofollow ugc noopener">ok</a>"#), "{}", c.html);
        assert!(c.html.contains("<em>there</em>") && c.html.contains("<blockquote>"), "{}", c.html);
        assert!(!c.html.contains("<h1"), "headings are reduced to text: {}", c.html);
        assert_eq!(c.links, 3, "the javascript: link, the link and the autolink");
        assert!(c.plain_text.contains("quoted"));
    }
}
