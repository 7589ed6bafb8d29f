//! `flint seed`: realistic published posts for manual testing and
//! benchmarks — a few KB of Markdown each (headings, lists, code blocks,
//! links), English and Chinese, 2-3 of 20 tags, dates spread over the past
//! years. Goes through the same snapshot builder as publishing, then
//! invalidates the public caches once and delivers the events it emitted
//! (search indexing, revisions) before it returns.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::features::posts::schema::PostStatus;
use crate::features::posts::service::{self as posts, NewPost};
use crate::features::tags;
use crate::platform::state::DbCtx;

use super::service::{self, PublishError};

const TAGS: [&str; 20] = [
    "rust",
    "databases",
    "performance",
    "web",
    "devops",
    "linux",
    "security",
    "testing",
    "design",
    "career",
    "编程",
    "数据库",
    "性能",
    "前端",
    "运维",
    "读书",
    "随笔",
    "安全",
    "架构",
    "工具",
];

const EN_WORDS: [&str; 40] = [
    "system",
    "latency",
    "cache",
    "query",
    "index",
    "thread",
    "memory",
    "request",
    "server",
    "client",
    "buffer",
    "socket",
    "schema",
    "migration",
    "replica",
    "benchmark",
    "compiler",
    "pointer",
    "lifetime",
    "trait",
    "async",
    "runtime",
    "kernel",
    "packet",
    "queue",
    "worker",
    "lease",
    "snapshot",
    "journal",
    "commit",
    "rollback",
    "deploy",
    "config",
    "metric",
    "trace",
    "span",
    "budget",
    "error",
    "retry",
    "backoff",
];

const ZH_PHRASES: [&str; 16] = [
    "我们需要",
    "性能优化",
    "数据库索引",
    "缓存失效",
    "并发请求",
    "内存分配",
    "测试覆盖",
    "部署流程",
    "日志记录",
    "错误处理",
    "重试策略",
    "系统设计",
    "代码审查",
    "用户体验",
    "网络延迟",
    "可观测性",
];

/// A tiny deterministic generator (xorshift64*), so a seed is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn english_sentence(rng: &mut Rng) -> String {
    let words: Vec<&str> = (0..8 + rng.below(10)).map(|_| rng.pick(&EN_WORDS)).collect();
    let mut sentence = words.join(" ");
    sentence[..1].make_ascii_uppercase();
    sentence + "."
}

fn chinese_sentence(rng: &mut Rng) -> String {
    let phrases: Vec<&str> = (0..4 + rng.below(5)).map(|_| rng.pick(&ZH_PHRASES)).collect();
    phrases.join("，") + "。"
}

fn paragraph(rng: &mut Rng, chinese: bool) -> String {
    (0..3 + rng.below(4)).map(|_| if chinese { chinese_sentence(rng) } else { english_sentence(rng) }).collect::<Vec<_>>().join(" ")
}

/// `(title, markdown)` of post `n`.
fn post(rng: &mut Rng, n: usize) -> (String, String) {
    let chinese = n % 3 == 2;
    let title = if chinese {
        format!("{}与{}（第 {n} 篇）", rng.pick(&ZH_PHRASES), rng.pick(&ZH_PHRASES))
    } else {
        format!("Notes on {} and {} #{n}", rng.pick(&EN_WORDS), rng.pick(&EN_WORDS))
    };
    let mut md = String::new();
    for section in 0..3 + rng.below(2) {
        let heading =
            if chinese { rng.pick(&ZH_PHRASES).to_owned() } else { format!("The {} {}", rng.pick(&EN_WORDS), rng.pick(&EN_WORDS)) };
        md.push_str(&format!("## {heading} {section}\n\n{}\n\n", paragraph(rng, chinese)));
        match rng.below(3) {
            0 => {
                for _ in 0..3 + rng.below(3) {
                    md.push_str(&format!(
                        "- **{}**: {}\n",
                        rng.pick(&EN_WORDS),
                        if chinese { chinese_sentence(rng) } else { english_sentence(rng) }
                    ));
                }
                md.push('\n');
            }
            1 => md.push_str(&format!(
                "```rust\nfn {}(input: &[u8]) -> usize {{\n    // {}\n    input.iter().filter(|b| **b > {}).count()\n}}\n```\n\n",
                rng.pick(&EN_WORDS),
                english_sentence(rng),
                rng.below(255)
            )),
            _ => md.push_str(&format!(
                "> {}\n\nSee [the docs](https://example.com/{}) for more.\n\n",
                paragraph(rng, chinese),
                rng.pick(&EN_WORDS)
            )),
        }
        md.push_str(&paragraph(rng, chinese));
        md.push_str("\n\n");
    }
    (title, md)
}

/// Posts seeded at once: rendering (syntect) is CPU work that runs beside
/// other posts' writes, which the single SQLite writer takes in turn.
const SEED_CONCURRENCY: usize = 4;

/// Creates `count` published posts; returns how many were made.
pub async fn seed(app: &DbCtx, count: usize) -> Result<usize, PublishError> {
    let mut tag_ids = Vec::new();
    for name in TAGS {
        tag_ids.push(tags::service::ensure_tag(app, name).await.map_err(|e| PublishError::Internal(anyhow::Error::new(e)))?);
    }
    let tag_ids: Arc<[i64]> = tag_ids.into();
    let now = app.clock.now_ms();
    let mut running = JoinSet::new();
    let mut made = 0;
    let mut next = 0;
    while made < count {
        while next < count && running.len() < SEED_CONCURRENCY {
            let (app, tag_ids) = (app.clone(), tag_ids.clone());
            running.spawn(async move { seed_post(&app, &tag_ids, count, next, now).await });
            next += 1;
        }
        match running.join_next().await {
            Some(Ok(result)) => result?,
            Some(Err(join_error)) => return Err(PublishError::Internal(anyhow::Error::new(join_error))),
            None => break,
        }
        made += 1;
        if made % 1000 == 0 {
            tracing::info!(done = made, count, "seeding posts");
        }
    }
    service::invalidate_all_public(app).await;
    while app.workflows.run_due().await.map_err(|e| PublishError::Internal(anyhow::Error::new(e)))? > 0 {}
    Ok(made)
}

/// Post `n` of `count`: its own generator (so the result does not depend on
/// the order posts finish in), published through the same snapshot builder
/// as the editor's publish.
async fn seed_post(app: &DbCtx, tag_ids: &[i64], count: usize, n: usize, now: i64) -> Result<(), PublishError> {
    let mut rng = Rng((0x5EED_F11A_u64 ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).max(1));
    let (title, content) = post(&mut rng, n);
    // Spread over about three years, newest last.
    let published_at = now - ((count - n) as i64) * 86_400_000 * 3 * 365 / count.max(1) as i64;
    let mut chosen: Vec<i64> = (0..2 + rng.below(2)).map(|_| tag_ids[rng.below(tag_ids.len())]).collect();
    chosen.sort_unstable();
    chosen.dedup();
    let new =
        NewPost { title: &title, content: &content, status: PostStatus::Published, published_at: Some(published_at), tag_ids: &chosen };
    let id = posts::insert(app, &new).await?;
    let summary = service::summary_for_publishing(app, id, false).await?;
    service::build_public_snapshot(app, id, &summary).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_are_a_few_kilobytes_and_reproducible() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let (title, md) = post(&mut a, 1);
        assert_eq!(post(&mut b, 1), (title.clone(), md.clone()));
        assert!(md.len() > 1_000 && md.contains("## "), "{md}");
        let (zh_title, zh) = post(&mut a, 2);
        assert!(zh_title.contains('篇') && zh.contains('。'));
    }
}
