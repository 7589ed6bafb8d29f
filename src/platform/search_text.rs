//! The search tokeniser, the same for documents and queries on both
//! backends: Han, Kana and Hangul runs become overlapping bigrams (a single
//! character stays as it is), other scripts become words by Unicode word
//! segmentation; everything is lowercased and diacritics are folded
//! (`café` -> `cafe`). Pure functions; may use nothing else in the app.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Lowercase with diacritics removed, character by character (so positions
/// in the folded text match positions in the original, for highlighting).
pub fn fold_char(c: char) -> char {
    // Most text is ASCII, where folding is lowercasing; decomposing every
    // character was half the CPU of an uncached search (snippets fold whole
    // documents).
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    fold_any_char(c)
}

fn fold_any_char(c: char) -> char {
    let lower = c.to_lowercase().next().unwrap_or(c);
    if is_cjk(lower) {
        // NFD would split Hangul syllables into jamo.
        return lower;
    }
    lower.nfd().find(|d| !is_combining_mark(*d)).unwrap_or(lower)
}

/// The tokens of `text`, in order (with repeats).
pub fn tokens(text: &str) -> Vec<String> {
    let folded: String = text.chars().map(fold_char).collect();
    let mut out = Vec::new();
    // Word segmentation cuts every ideograph apart; runs of CJK characters
    // are gathered across segments and then cut into bigrams.
    let mut cjk: Vec<char> = Vec::new();
    for segment in folded.split_word_bounds() {
        if segment.chars().all(is_cjk) {
            cjk.extend(segment.chars());
            continue;
        }
        flush_cjk(&mut cjk, &mut out);
        let mut latin = String::new();
        for c in segment.chars() {
            if is_cjk(c) {
                if !latin.is_empty() {
                    out.push(std::mem::take(&mut latin));
                }
                cjk.push(c);
            } else {
                flush_cjk(&mut cjk, &mut out);
                if c.is_alphanumeric() {
                    latin.push(c);
                } else if !latin.is_empty() {
                    out.push(std::mem::take(&mut latin));
                }
            }
        }
        if !latin.is_empty() {
            out.push(latin);
        }
    }
    flush_cjk(&mut cjk, &mut out);
    out
}

fn flush_cjk(run: &mut Vec<char>, out: &mut Vec<String>) {
    match run.len() {
        0 => {}
        1 => out.push(run[0].to_string()),
        _ => out.extend(run.windows(2).map(|pair| pair.iter().collect::<String>())),
    }
    run.clear();
}

/// The tokens joined by spaces: what the index stores.
pub fn index_text(text: &str) -> String {
    tokens(text).join(" ")
}

/// The distinct tokens of a query, in order.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for token in tokens(query) {
        if !terms.contains(&token) {
            terms.push(token);
        }
    }
    terms
}

/// About `width` characters of `text` around the first match of any term,
/// with matches wrapped in `<mark>` and everything else HTML-escaped.
pub fn snippet(text: &str, terms: &[String], width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(|c| fold_char(*c)).collect();
    let term_chars: Vec<Vec<char>> = terms.iter().map(|t| t.chars().collect()).filter(|t: &Vec<char>| !t.is_empty()).collect();
    let matches_at = |i: usize| term_chars.iter().filter(|t| folded[i..].starts_with(t)).map(Vec::len).max();
    let first = (0..folded.len()).find(|i| matches_at(*i).is_some());
    let start = first.map_or(0, |i| i.saturating_sub(width / 4));
    let end = (start + width).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut i = start;
    while i < end {
        match matches_at(i) {
            Some(len) => {
                let stop = (i + len).min(chars.len());
                out.push_str("<mark>");
                chars[i..stop].iter().for_each(|c| push_escaped(&mut out, *c));
                out.push_str("</mark>");
                i = stop;
            }
            None => {
                push_escaped(&mut out, chars[i]);
                i += 1;
            }
        }
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_become_bigrams_and_words_stay_words() {
        assert_eq!(tokens("中文搜索"), ["中文", "文搜", "搜索"]);
        assert_eq!(tokens("Café au LAIT, naïve!"), ["cafe", "au", "lait", "naive"]);
        assert_eq!(tokens("Rust语言 2024年"), ["rust", "语言", "2024", "年"]);
        assert_eq!(tokens("日本語のテキスト"), ["日本", "本語", "語の", "のテ", "テキ", "キス", "スト"]);
        assert_eq!(tokens("한국어"), ["한국", "국어"]);
        assert!(tokens("  ... !!! ").is_empty());
    }

    #[test]
    fn the_ascii_shortcut_folds_like_the_general_rule() {
        for c in (0u8..=127).map(char::from) {
            assert_eq!(fold_char(c), fold_any_char(c), "{c:?}");
        }
        assert_eq!(fold_char('É'), 'e');
        assert_eq!(fold_char('Ä'), 'a');
        assert_eq!(fold_char('한'), '한');
    }

    #[test]
    fn query_terms_are_distinct() {
        assert_eq!(query_terms("rust Rust 中文"), ["rust", "中文"]);
    }

    #[test]
    fn snippets_highlight_and_escape() {
        let text = "Intro <script>alert(1)</script> then the Café opens and café again.";
        let s = snippet(text, &["cafe".to_owned()], 40);
        assert!(s.contains("<mark>Café</mark>"), "{s}");
        assert!(!s.contains("<script>") && !s.contains("</script>"), "{s}");
        assert!(s.starts_with('…') || s.contains("&lt;"), "{s}");
        assert_eq!(snippet("中文搜索引擎", &["搜索".to_owned()], 200), "中文<mark>搜索</mark>引擎");
        assert_eq!(snippet("no match here", &["zzz".to_owned()], 5), "no ma…");
        assert_eq!(snippet("a&b<c>d\"e'f", &["b".to_owned()], 50), "a&amp;<mark>b</mark>&lt;c&gt;d&quot;e&#39;f");
    }
}
