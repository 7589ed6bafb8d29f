//! API-token scopes: what a bearer token may do on its owner's behalf.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::session::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Scope {
    #[serde(rename = "posts:read")]
    PostsRead,
    #[serde(rename = "posts:write")]
    PostsWrite,
    #[serde(rename = "comments:read")]
    CommentsRead,
    #[serde(rename = "comments:write")]
    CommentsWrite,
    #[serde(rename = "media:read")]
    MediaRead,
    #[serde(rename = "media:write")]
    MediaWrite,
    #[serde(rename = "friend-links:read")]
    FriendLinksRead,
    #[serde(rename = "friend-links:write")]
    FriendLinksWrite,
    #[serde(rename = "analytics:read")]
    AnalyticsRead,
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::PostsRead,
        Scope::PostsWrite,
        Scope::CommentsRead,
        Scope::CommentsWrite,
        Scope::MediaRead,
        Scope::MediaWrite,
        Scope::FriendLinksRead,
        Scope::FriendLinksWrite,
        Scope::AnalyticsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PostsRead => "posts:read",
            Scope::PostsWrite => "posts:write",
            Scope::CommentsRead => "comments:read",
            Scope::CommentsWrite => "comments:write",
            Scope::MediaRead => "media:read",
            Scope::MediaWrite => "media:write",
            Scope::FriendLinksRead => "friend-links:read",
            Scope::FriendLinksWrite => "friend-links:write",
            Scope::AnalyticsRead => "analytics:read",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a user of `role` may hand this scope to a token. Non-admins can
    /// read public content and act on their own comments and friend links;
    /// everything else is administration.
    pub fn grantable_by(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            Role::User => matches!(
                self,
                Scope::PostsRead | Scope::CommentsRead | Scope::CommentsWrite | Scope::FriendLinksRead | Scope::FriendLinksWrite
            ),
        }
    }

    /// Space-separated storage form.
    pub fn join(scopes: &[Scope]) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Reads the storage form; unknown words (from a newer version) are skipped.
    pub fn split(stored: &str) -> Vec<Scope> {
        stored.split_whitespace().filter_map(Scope::parse).collect()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_form_round_trips() {
        let scopes = vec![Scope::PostsRead, Scope::FriendLinksWrite];
        assert_eq!(Scope::join(&scopes), "posts:read friend-links:write");
        assert_eq!(Scope::split("posts:read friend-links:write future:thing"), scopes);
    }

    #[test]
    fn serde_names_match_as_str() {
        for scope in Scope::ALL {
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
        }
    }

    #[test]
    fn users_cannot_grant_admin_scopes() {
        assert!(Scope::CommentsWrite.grantable_by(Role::User));
        assert!(!Scope::PostsWrite.grantable_by(Role::User));
        assert!(!Scope::AnalyticsRead.grantable_by(Role::User));
        assert!(Scope::ALL.iter().all(|s| s.grantable_by(Role::Admin)));
    }
}
