//! Micro-benchmark: the CPU-bound pieces of publishing and searching —
//! Markdown -> public snapshot (HTML with highlighted code, sanitised; TOC;
//! plain text; reading time; summary) and search tokenisation (documents and
//! queries, English and Chinese). Not a test; run it with
//!
//!     cargo bench --bench content
//!
//! Each case runs for about two seconds after a warm-up and prints a Markdown
//! table of operations per second, microseconds per operation and MB/s.
//!
//! A second table times hostile inputs once each (the median of three): the
//! largest of each shape that the content bounds let through (1 MiB, nesting
//! 100 deep), and the sanitiser alone on deeper `<div>` nesting than the
//! bounds allow, which shows why they exist: its cost grows with elements ×
//! depth (each start tag walks the stack of open elements for scope).

use std::hint::black_box;
use std::time::{Duration, Instant};

use flint::platform::content::{MAX_NESTING, extractive_summary, reading_time, render, sanitize};
use flint::platform::search_text::{index_text, query_terms};

/// A post like `flint seed` writes: headings, lists, a quote, a link and a
/// highlighted code block; about 4 KB of Markdown.
fn english_post() -> String {
    let paragraph = "The scheduler keeps a small queue per worker and steals from its neighbours when it runs dry, \
                     so a burst of short requests never waits behind a long one. Leases are renewed by heartbeats; \
                     a worker that stops renewing loses its runs to the next poll.";
    let mut post = String::new();
    for section in 0..4 {
        post.push_str(&format!("## Section {section}: leases and heartbeats\n\n{paragraph}\n\n"));
        post.push_str("- **lease**: how long a claim lasts\n- **heartbeat**: a renewal, every third of the lease\n- *backoff*: exponential, capped\n\n");
        post.push_str(&format!("> {paragraph}\n\n"));
        post.push_str("```rust\nfn claim(queue: &mut Vec<u64>, now: u64) -> Option<u64> {\n    // The oldest due run first.\n    queue.iter().position(|due| *due <= now).map(|i| queue.remove(i))\n}\n```\n\n");
        post.push_str("See [the design notes](https://example.com/design) for more.\n\n");
    }
    post
}

/// The same shape in Chinese (CJK bigram tokenisation, CJK reading speed).
fn chinese_post() -> String {
    let paragraph = "调度器为每个工作线程保留一个小队列，空闲时从相邻线程窃取任务，因此短请求不会排在长请求之后。\
                     租约通过心跳续期；停止续期的工作线程会在下一次轮询时失去它的任务。缓存命中时直接返回已经序列化的响应。";
    let mut post = String::new();
    for section in 0..4 {
        post.push_str(&format!(
            "## 第{section}节：租约与心跳\n\n{paragraph}\n\n- **租约**：一次认领持续多久\n- **心跳**：续期\n\n> {paragraph}\n\n"
        ));
    }
    post
}

struct Row {
    case: &'static str,
    ops: u64,
    elapsed: Duration,
    bytes_per_op: usize,
}

fn measure(case: &'static str, bytes_per_op: usize, mut op: impl FnMut()) -> Row {
    for _ in 0..20 {
        op();
    }
    let started = Instant::now();
    let mut ops = 0;
    while started.elapsed() < Duration::from_secs(2) {
        op();
        ops += 1;
    }
    Row { case, ops, elapsed: started.elapsed(), bytes_per_op }
}

fn main() {
    let english = english_post();
    let chinese = chinese_post();
    let english_text = render(&english).expect("renders").plain_text;
    let chinese_text = render(&chinese).expect("renders").plain_text;

    let rows = [
        measure("render snapshot, English (code, lists, quotes)", english.len(), || {
            let rendered = render(black_box(&english)).expect("renders");
            black_box(reading_time(&rendered.plain_text));
            black_box(extractive_summary(&rendered.plain_text, 200));
        }),
        measure("render snapshot, Chinese", chinese.len(), || {
            let rendered = render(black_box(&chinese)).expect("renders");
            black_box(reading_time(&rendered.plain_text));
            black_box(extractive_summary(&rendered.plain_text, 200));
        }),
        measure("tokenise document, English", english_text.len(), || {
            black_box(index_text(black_box(&english_text)));
        }),
        measure("tokenise document, Chinese", chinese_text.len(), || {
            black_box(index_text(black_box(&chinese_text)));
        }),
        measure("tokenise query, mixed", 24, || {
            black_box(query_terms(black_box("租约 heartbeat 调度器")));
        }),
    ];

    print_rows(&rows);
    hostile();
}

fn print_rows(rows: &[Row]) {
    println!("| case | input bytes | ops/s | µs/op | MB/s |");
    println!("|---|---:|---:|---:|---:|");
    for row in rows {
        let seconds = row.elapsed.as_secs_f64();
        let per_second = row.ops as f64 / seconds;
        let megabytes = row.bytes_per_op as f64 * per_second / 1e6;
        println!("| {} | {} | {:.0} | {:.1} | {:.1} |", row.case, row.bytes_per_op, per_second, 1e6 / per_second, megabytes);
    }
}

/// The median of three timings of `op`.
fn once(mut op: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            op();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

fn hostile() {
    const MIB: usize = 1 << 20;
    let fill = |unit: &str| unit.repeat(MIB / unit.len());
    let row = format!("|{}\n", "x|".repeat(400));
    let header = format!("|{}\n|{}\n", "h|".repeat(400), "-|".repeat(400));
    let table_of = |bytes: usize| format!("{header}{}", row.repeat((bytes - header.len()) / row.len()));
    let (table, half_table, quarter_table) = (table_of(MIB), table_of(MIB / 2), table_of(MIB / 4));
    let nested_divs = fill(&format!("{}x{}", "<div>".repeat(MAX_NESTING), "</div>".repeat(MAX_NESTING)));
    let nested_quotes = fill(&format!("{} x\n\n", ">".repeat(MAX_NESTING - 1)));
    let brackets = fill("[");
    let emphasis = fill("*a ");
    println!();
    println!("| hostile input (rendered whole, within the bounds) | bytes | ms |");
    println!("|---|---:|---:|");
    for (case, input) in [
        ("table, 400 columns (¼ MiB)", &quarter_table),
        ("table, 400 columns (½ MiB)", &half_table),
        ("table, 400 columns", &table),
        ("<div> nested 100 deep, repeated", &nested_divs),
        ("quotes nested 99 deep, repeated", &nested_quotes),
        ("unclosed [", &brackets),
        ("unclosed * emphasis", &emphasis),
    ] {
        let took = once(|| {
            black_box(render(black_box(input)).ok());
        });
        println!("| {case} | {} | {:.0} |", input.len(), took.as_secs_f64() * 1e3);
    }
    println!();
    println!("| sanitiser alone, n nested <div> (past the bound) | ms | ms / n² × 10⁶ |");
    println!("|---|---:|---:|");
    for n in [2_000usize, 4_000, 8_000, 16_000] {
        let html = "<div>".repeat(n);
        let took = once(|| {
            black_box(sanitize(black_box(&html)));
        });
        let ms = took.as_secs_f64() * 1e3;
        println!("| {n} | {ms:.0} | {:.2} |", ms / (n * n) as f64 * 1e6);
    }
}
