//! Markdown to the Public Content Snapshot: GFM (tables, task lists,
//! strikethrough, autolinks, footnotes) with CJK-friendly emphasis, heading
//! ids, code highlighted on the server as CSS classes, HTML sanitised with
//! an allow-list, a table of contents, plain text (for search, feeds and
//! summaries) and the reading time. Pure functions; may use nothing else in
//! the app.

use std::sync::LazyLock;

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
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attribute_values("input", "type", ["checkbox"]);
    builder
});

fn options() -> Options<'static> {
    let mut options = Options::default();
    options.extension.strikethrough = true;
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.tasklist = true;
    options.extension.footnotes = true;
    options.extension.header_id_prefix = Some(String::new());
    options.extension.cjk_friendly_emphasis = true;
    // Raw HTML is allowed through the parser and then cleaned by the sanitiser.
    options.render.r#unsafe = true;
    options
}

/// Renders Markdown into the public snapshot's parts.
pub fn render(markdown: &str) -> Rendered {
    let options = options();
    let arena = Arena::new();
    let root = comrak::parse_document(&arena, markdown, &options);

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
        let id = anchorizer.anchorize(&text);
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
    Rendered { html: sanitize(&html), read_time_minutes: reading_time(&plain_text), toc, plain_text }
}

/// Removes everything but the allow-listed tags and attributes (no scripts,
/// no event handlers, no `javascript:` URLs).
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
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
        let out = render("# Hello World\n\nText\n\n## Second *part*\n\n## Hello World\n\n### 中文 标题\n");
        let ids: Vec<_> = out.toc.iter().map(|e| (e.id.as_str(), e.text.as_str(), e.level)).collect();
        assert_eq!(
            ids,
            [
                ("hello-world", "Hello World", 1),
                ("second-part", "Second part", 2),
                ("hello-world-1", "Hello World", 2),
                ("中文-标题", "中文 标题", 3)
            ]
        );
        assert!(out.html.contains("id=\"hello-world-1\""), "{}", out.html);
    }

    #[test]
    fn code_is_highlighted_with_classes() {
        let out = render("```rust\nfn main() { let x = 1; }\n```\n");
        assert!(out.html.contains("<span class=\""), "{}", out.html);
        assert!(!out.html.contains("style="), "classes, not inline styles: {}", out.html);
        assert!(out.plain_text.contains("fn main()"));
    }

    #[test]
    fn scripts_and_event_handlers_are_removed() {
        let out = render(
            "Hi <script>alert(1)</script><img src=x onerror=\"alert(2)\"> [x](javascript:alert(3))\n\n<div onclick=\"evil()\">ok</div>",
        );
        for bad in ["<script", "alert(1)", "onerror", "onclick", "javascript:"] {
            assert!(!out.html.contains(bad), "{bad} survived: {}", out.html);
        }
        assert!(out.html.contains("ok"));
    }

    #[test]
    fn gfm_and_cjk_emphasis() {
        let out = render("| a | b |\n|---|--:|\n| 1 | 2 |\n\n- [x] done\n\n~~old~~ **强调**。后文\n");
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
        let out = render("# Title\n\nSome *emphasis* and `code`.\n\n<b>raw</b>\n\n- item one\n- item two\n");
        assert_eq!(out.plain_text, "Title\nSome emphasis and code.\nraw\nitem one\nitem two", "inline HTML keeps its visible text");
    }
}
