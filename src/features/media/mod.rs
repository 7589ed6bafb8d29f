//! Media: uploaded images (checked from their bytes), the library admins
//! manage, site assets, which posts use which image, and the variants
//! `GET /images/{key}` sends each reader. Uses posts and publishing (to
//! read what a post links); no feature uses media.

pub mod api;
mod data;
pub mod schema;
pub mod service;
pub mod workflows;
