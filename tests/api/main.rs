//! Black-box tests of the whole flint app over HTTP (one test binary).

mod helpers;

mod accounts;
mod cache;
mod cdn;
mod cli;
mod crash;
mod email;
mod errors;
mod events;
mod friend_links;
mod graph;
mod hardening;
mod media;
mod platform;
mod posts;
mod rate_limit;
mod revisions;
mod search;
mod settings;
mod site;
mod storage;
mod tokens;
mod webhooks;
pub mod workflow;
