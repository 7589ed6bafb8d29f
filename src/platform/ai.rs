//! An OpenAI-compatible chat-completions client, used for post summaries
//! when `FLINT_AI_BASE_URL`, `FLINT_AI_API_KEY` and `FLINT_AI_MODEL` are set.
//! Errors are returned, not hidden: callers decide how to retry and fall back.

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct AiClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: SecretString,
    model: String,
}

/// Characters of post text sent for summarising (enough for a summary, bounded cost).
const MAX_INPUT_CHARS: usize = 8_000;

impl AiClient {
    pub fn new(base_url: &str, api_key: SecretString, model: &str, timeout: Duration) -> anyhow::Result<Self> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("flint/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the AI HTTP client")?;
        Ok(AiClient { http, endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')), api_key, model: model.to_owned() })
    }

    /// A summary of `text` in its own language, at most about 200 characters.
    pub async fn summarize(&self, text: &str) -> anyhow::Result<String> {
        let input: String = text.chars().take(MAX_INPUT_CHARS).collect();
        let body = json!({
            "model": self.model,
            "temperature": 0.3,
            "max_tokens": 300,
            "messages": [
                {"role": "system", "content": "Summarise the blog post in at most 200 characters, in the language it is written in. Reply with the summary only."},
                {"role": "user", "content": input},
            ],
        });
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose_secret())
            .json(&body)
            .send()
            .await
            .context("calling the AI endpoint")?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "the AI endpoint answered {status}");
        let reply: Value = response.json().await.context("reading the AI endpoint's answer")?;
        let summary = reply["choices"][0]["message"]["content"].as_str().map(str::trim).unwrap_or_default();
        anyhow::ensure!(!summary.is_empty(), "the AI endpoint answered without a summary");
        Ok(summary.chars().take(400).collect())
    }
}

/// rustls needs one process-wide crypto provider; flint uses ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
