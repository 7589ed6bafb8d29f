//! Product features, one folder each: `schema.rs` (types), `data.rs` (SQL
//! only, private to the feature), `service.rs` (business rules; the only
//! layer that may touch the cache), `api.rs` (endpoints), `events.rs` (what
//! it announces) and `workflows.rs` (durable workflows and the subscribers
//! of other features' events). Features may use `platform`; `platform`
//! never uses features.
//!
//! Features use each other only along [`GRAPH`], which is one-way: a
//! feature that must react to another's change subscribes to its event
//! instead of being called by it. `tests/api/graph.rs` reads every
//! `use crate::features::…` and fails on an edge not declared here.

pub mod accounts;
pub mod admin;
pub mod blog;
pub mod cdn;
pub mod comments;
pub mod dashboard;
pub mod email;
pub mod friend_links;
pub mod media;
pub mod notifications;
pub mod page_views;
pub mod posts;
pub mod publishing;
pub mod revisions;
pub mod search;
pub mod settings;
pub mod site;
pub mod system;
pub mod tags;
pub mod webhooks;
pub mod workflows;

use crate::platform::events::Subscribers;
use crate::platform::http::Routes;
use crate::platform::workflow::Registry;

/// Which features each feature may use (`(feature, [features it uses])`).
pub const GRAPH: &[(&str, &[&str])] = &[
    ("system", &[]),
    ("settings", &[]),
    ("workflows", &[]),
    ("tags", &[]),
    ("posts", &["tags"]),
    ("publishing", &["posts", "tags"]),
    ("revisions", &["posts", "publishing"]),
    ("search", &["publishing"]),
    ("site", &["publishing", "settings"]),
    ("cdn", &["publishing", "settings"]),
    ("media", &["posts", "publishing"]),
    ("webhooks", &["settings"]),
    ("email", &["settings"]),
    ("friend_links", &[]),
    ("comments", &["publishing", "settings"]),
    ("accounts", &["settings", "email", "comments"]),
    ("blog", &["publishing", "settings", "comments", "search", "friend_links"]),
    ("page_views", &["publishing"]),
    ("dashboard", &["accounts", "comments", "media", "page_views", "posts", "publishing"]),
    ("notifications", &["settings", "email", "webhooks", "publishing", "friend_links", "comments"]),
    ("admin", &["dashboard", "posts", "settings"]),
];

/// Every feature's endpoints.
pub fn routes() -> Routes {
    Routes::new()
        .merge(system::api::routes())
        .merge(accounts::api::routes())
        .merge(accounts::pages::routes())
        .merge(blog::api::routes())
        .merge(workflows::api::routes())
        .merge(posts::api::routes())
        .merge(publishing::api::routes())
        .merge(tags::api::routes())
        .merge(revisions::api::routes())
        .merge(site::api::routes())
        .merge(search::api::routes())
        .merge(media::api::routes())
        .merge(settings::api::routes())
        .merge(webhooks::api::routes())
        .merge(email::api::routes())
        .merge(friend_links::api::routes())
        .merge(comments::api::routes())
        .merge(page_views::api::routes())
        .merge(dashboard::api::routes())
        .merge(admin::api::routes())
}

/// Every feature's durable workflows (and the platform's).
pub fn workflows() -> Registry {
    Registry::new()
        .register(system::workflows::SelfTest)
        .register(crate::platform::invalidation::CacheInvalidate)
        .register(crate::platform::events::Deliver)
        .register(publishing::workflows::PostProcess)
        .register(publishing::workflows::ScheduledPublish)
        .register(revisions::workflows::AutoSnapshot)
        .register(media::workflows::RemoveObjects)
        .register(comments::workflows::ModerateComment)
        .register(crate::platform::workflow::Queue::<crate::platform::batch::Batch<page_views::schema::PageView>>::new())
        .register(crate::platform::workflow::Queue::<webhooks::workflows::WebhookMessage>::new())
        .register(crate::platform::workflow::Queue::<email::workflows::EmailMessage>::new())
}

/// Every feature's event subscribers; each event reaches each of its
/// subscribers as its own retried run (`platform::events`).
pub fn subscribers() -> Subscribers {
    Subscribers::new()
        .subscribe(publishing::workflows::RefreshAfterTagRename)
        .subscribe(publishing::workflows::RefreshAfterTagDelete)
        .subscribe(revisions::workflows::SnapshotAfterEdit)
        .subscribe(revisions::workflows::RecordPublished)
        .subscribe(search::workflows::IndexPublicPosts)
        .subscribe(site::workflows::RefreshSiteDocuments)
        .subscribe(cdn::workflows::PurgeChangedPosts)
        .subscribe(cdn::workflows::PurgeSiteAfterSettings)
        .subscribe(media::workflows::LinkAfterEdit)
        .subscribe(media::workflows::LinkAfterPublish)
        .subscribe(media::workflows::LinkAfterUnpublish)
        .subscribe(media::workflows::UnlinkAfterDelete)
        .subscribe(notifications::workflows::NotifyPublished)
        .subscribe(notifications::workflows::NotifyFriendLinkSubmitted)
        .subscribe(notifications::workflows::NotifyFriendLinkDecided)
        .subscribe(notifications::workflows::NotifyCommentCreated)
        .subscribe(notifications::workflows::NotifyCommentStatusChanged)
}
