//! HTTP plumbing shared by every feature: the error envelope, the context
//! chain extractors, validated input, endpoint declarations (server
//! functions and REST routes) with their auth/cache policies, the OpenAPI
//! document, routing, the front door every request passes (request id, span, metrics,
//! body limit, timeout, panics, error normalisation), compression, and
//! sending cached JSON bodies. May use: `platform::{auth, cache, config, clock, db, state}`.

pub mod cache_policy;
pub mod cached;
pub mod client_ip;
pub mod compression;
pub mod context;
pub mod cors;
pub mod endpoint;
pub mod error;
pub mod extract;
pub mod front;
pub mod openapi;
pub mod router;

pub use cache_policy::CachePolicy;
pub use cached::{cached_json, cached_response};
pub use context::{AdminCtx, AuthCtx, DbCtx, SessionCtx};
pub use endpoint::{Access, Endpoint, HandlerAccess, RequiresAccess, Route, Routes, TokenAccess};
pub use error::{AppError, Success};
pub use extract::{PageForm, ValidJson, ValidQuery};
pub use router::{PathParam, Router};
