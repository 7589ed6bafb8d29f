//! What the account emails say (verification and password reset), in
//! English and Chinese (`FLINT_LOCALE`). The layout is `platform::mail::compose`.

use crate::platform::config::Locale;
use crate::platform::mail::{self, Email, Letter, MailError};

/// Which link an email carries.
#[derive(Clone, Copy, Debug)]
pub enum LinkEmail {
    Verify,
    Reset,
}

/// The email with `url`, to `to`, from the site called `site`.
pub fn compose(kind: LinkEmail, locale: Locale, site: &str, name: &str, to: &str, url: &str) -> Result<Email, MailError> {
    let (subject, heading, lines, label): (&str, &str, Vec<String>, &str) = match (kind, locale) {
        (LinkEmail::Verify, Locale::En) => (
            "Verify your email address",
            "Verify your email address",
            vec![
                format!("Hello {name},"),
                format!("Open the link below to confirm that {to} is yours. It works once, within one hour."),
                format!("If you did not create an account at {site}, ignore this email."),
            ],
            "Verify my address",
        ),
        (LinkEmail::Verify, Locale::Zh) => (
            "验证你的邮箱地址",
            "验证你的邮箱地址",
            vec![
                format!("{name}，你好："),
                format!("打开下面的链接，确认 {to} 是你的邮箱。链接只能使用一次，一小时内有效。"),
                format!("如果你没有在 {site} 注册账号，请忽略这封邮件。"),
            ],
            "验证邮箱",
        ),
        (LinkEmail::Reset, Locale::En) => (
            "Reset your password",
            "Reset your password",
            vec![
                format!("Hello {name},"),
                "Someone asked to reset the password of your account. Open the link below to choose a new one; it works once, within one hour, and signs you out everywhere.".to_owned(),
                "If it was not you, ignore this email: your password stays as it is.".to_owned(),
            ],
            "Choose a new password",
        ),
        (LinkEmail::Reset, Locale::Zh) => (
            "重置你的密码",
            "重置你的密码",
            vec![
                format!("{name}，你好："),
                "有人请求重置你账号的密码。打开下面的链接设置新密码；链接只能使用一次，一小时内有效，并会让所有设备退出登录。".to_owned(),
                "如果不是你本人操作，请忽略这封邮件，你的密码不会改变。".to_owned(),
            ],
            "设置新密码",
        ),
    };
    let letter = Letter { heading: heading.to_owned(), paragraphs: lines, action: Some((label.to_owned(), url.to_owned())), footer: None };
    let (text, html) = mail::compose(site, &letter)?;
    Ok(Email { to: to.to_owned(), subject: subject.to_owned(), text, html, headers: Vec::new() })
}
