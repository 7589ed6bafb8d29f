//! What each notification says, in English and Chinese (`FLINT_LOCALE`):
//! the spec's subjects, a heading, a few lines and a button, filled from
//! the notification's data. The layout (HTML and plain text) is
//! `platform::mail::compose`.

use crate::features::settings::schema::NotificationType;
use crate::platform::config::Locale;

/// One notification's wording: templates over its data (`{{ postTitle }}`, ...).
pub struct Wording {
    pub subject: &'static str,
    pub heading: &'static str,
    pub lines: &'static [&'static str],
    /// The button's label and the data field holding its address.
    pub action: Option<(&'static str, &'static str)>,
}

pub fn wording(kind: NotificationType, locale: Locale) -> Wording {
    use NotificationType as T;
    match (kind, locale) {
        (T::CommentAdminRootCreated, Locale::En) => Wording {
            subject: "[New Comment] {{ postTitle }}",
            heading: "A new comment on \u{201c}{{ postTitle }}\u{201d}",
            lines: &["{{ commenterName }} wrote:", "{{ commentPreview }}"],
            action: Some(("Read the comment", "commentUrl")),
        },
        (T::CommentAdminRootCreated, Locale::Zh) => Wording {
            subject: "[新评论] {{ postTitle }}",
            heading: "「{{ postTitle }}」有新评论",
            lines: &["{{ commenterName }} 写道：", "{{ commentPreview }}"],
            action: Some(("查看评论", "commentUrl")),
        },
        (T::CommentAdminPendingReview, Locale::En) => Wording {
            subject: "[Needs Review] {{ postTitle }}",
            heading: "A comment on \u{201c}{{ postTitle }}\u{201d} waits for review",
            lines: &["{{ commenterName }} wrote:", "{{ commentPreview }}"],
            action: Some(("Review comments", "reviewUrl")),
        },
        (T::CommentAdminPendingReview, Locale::Zh) => Wording {
            subject: "[待审核] {{ postTitle }}",
            heading: "「{{ postTitle }}」有一条评论等待审核",
            lines: &["{{ commenterName }} 写道：", "{{ commentPreview }}"],
            action: Some(("审核评论", "reviewUrl")),
        },
        (T::CommentReplyToAdminPublished | T::CommentReplyToUserPublished, Locale::En) => Wording {
            subject: "[Comment Reply] {{ replierName }} replied to your comment on \u{201c}{{ postTitle }}\u{201d}",
            heading: "{{ replierName }} replied to your comment",
            lines: &["On \u{201c}{{ postTitle }}\u{201d}:", "{{ replyPreview }}"],
            action: Some(("Read the reply", "commentUrl")),
        },
        (T::CommentReplyToAdminPublished | T::CommentReplyToUserPublished, Locale::Zh) => Wording {
            subject: "[评论回复] {{ replierName }} 回复了你在「{{ postTitle }}」的评论",
            heading: "{{ replierName }} 回复了你的评论",
            lines: &["在「{{ postTitle }}」中：", "{{ replyPreview }}"],
            action: Some(("查看回复", "commentUrl")),
        },
        (T::FriendLinkSubmitted, Locale::En) => Wording {
            subject: "[Friend Link Request] {{ siteName }}",
            heading: "{{ submitterName }} asked for a friend link",
            lines: &["{{ siteName }}: {{ siteUrl }}", "{{ description }}"],
            action: Some(("Review requests", "reviewUrl")),
        },
        (T::FriendLinkSubmitted, Locale::Zh) => Wording {
            subject: "[友链申请] {{ siteName }}",
            heading: "{{ submitterName }} 申请了友链",
            lines: &["{{ siteName }}：{{ siteUrl }}", "{{ description }}"],
            action: Some(("审核申请", "reviewUrl")),
        },
        (T::FriendLinkApproved, Locale::En) => Wording {
            subject: "[Friend Link Approved] {{ siteName }}",
            heading: "Your friend link was approved",
            lines: &["{{ siteName }} is now listed."],
            action: Some(("See it", "blogUrl")),
        },
        (T::FriendLinkApproved, Locale::Zh) => Wording {
            subject: "[友链已通过] {{ siteName }}",
            heading: "你的友链申请已通过",
            lines: &["{{ siteName }} 已加入友链。"],
            action: Some(("查看", "blogUrl")),
        },
        (T::FriendLinkRejected, Locale::En) => Wording {
            subject: "[Friend Link Result] {{ siteName }}",
            heading: "Your friend link was not approved",
            lines: &["{{ siteName }}{% if rejectionReason is defined and rejectionReason %}: {{ rejectionReason }}{% endif %}"],
            action: None,
        },
        (T::FriendLinkRejected, Locale::Zh) => Wording {
            subject: "[友链结果] {{ siteName }}",
            heading: "你的友链申请未通过",
            lines: &["{{ siteName }}{% if rejectionReason is defined and rejectionReason %}：{{ rejectionReason }}{% endif %}"],
            action: None,
        },
        (T::PostPublished, Locale::En) => Wording {
            subject: "[Published] {{ postTitle }}",
            heading: "\u{201c}{{ postTitle }}\u{201d} is published",
            lines: &["{{ summary }}"],
            action: Some(("Read it", "postUrl")),
        },
        (T::PostPublished, Locale::Zh) => Wording {
            subject: "[已发布] {{ postTitle }}",
            heading: "「{{ postTitle }}」已发布",
            lines: &["{{ summary }}"],
            action: Some(("阅读", "postUrl")),
        },
    }
}

/// How an author who left no name is called.
pub fn someone(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "Someone",
        Locale::Zh => "有人",
    }
}

/// The unsubscribe link's words.
pub fn unsubscribe_label(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "Stop emails about replies",
        Locale::Zh => "不再接收回复通知",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::mail::fill;

    #[test]
    fn every_kind_reads_in_both_languages_with_its_fields() {
        let data = serde_json::json!({
            "postTitle": "T", "commenterName": "C", "commentPreview": "P", "replierName": "R", "replyPreview": "Q",
            "siteName": "S", "siteUrl": "https://s.example", "description": "D", "submitterName": "U", "summary": "M",
        });
        for kind in NotificationType::ALL {
            for locale in [Locale::En, Locale::Zh] {
                let wording = wording(kind, locale);
                let subject = fill(wording.subject, &data).unwrap_or_else(|e| panic!("{kind:?} {locale:?}: {e}"));
                assert!(!subject.is_empty());
                for line in wording.lines {
                    fill(line, &data).unwrap_or_else(|e| panic!("{kind:?} {locale:?}: {e}"));
                }
            }
        }
        let zh = wording(NotificationType::CommentAdminRootCreated, Locale::Zh);
        assert_eq!(fill(zh.subject, &data).unwrap(), "[新评论] T");
        let en = wording(NotificationType::FriendLinkRejected, Locale::En);
        assert_eq!(fill(en.lines[0], &serde_json::json!({"siteName": "S"})).unwrap(), "S", "the reason is optional");
    }
}
