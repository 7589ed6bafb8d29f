//! Black-box tests of the whole flint app over HTTP (one test binary).

mod helpers;

mod account_links;
mod accounts;
mod admin;
mod blog;
mod cache;
mod cdn;
mod cli;
mod comments;
mod crash;
pub mod email;
mod errors;
mod events;
mod external_sign_in;
mod friend_links;
mod graph;
mod hardening;
mod media;
mod page_views;
mod platform;
pub mod posts;
mod rate_limit;
mod revisions;
mod search;
mod settings;
mod site;
mod storage;
mod tokens;
mod webhooks;
pub mod workflow;
