//! The operator's message catalogue: `messages/<locale>/` at the repository root, built into
//! the crate by `build.rs` (which refuses to build when a locale lacks a kind, a part or a
//! string). Templates are MiniJinja with strict undefined variables, and HTML parts are
//! escaped automatically, so a first name of `<script>` reaches a mailbox as text.
//!
//! Per locale: `<kind>.subject`, `<kind>.txt` and `<kind>.html` for mail, `<kind>.sms` for
//! SMS, `layout.html` (which the HTML parts extend), and `strings.json` (the reset page and
//! contract C's field errors).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::{context, Environment, UndefinedBehavior, Value};
use thiserror::Error;

use super::code::ResetSecret;
use super::identifiers::FirstName;
use super::locale::Locale;
use super::message::{Destination, OutgoingMessage};
use super::time::Timestamp;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

/// The locales the catalogue has (its directory names).
pub const LOCALES: &[&str] = generated::LOCALES;

/// What a message is for. Each kind has every part in every locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Contract A's 6-digit code.
    StaffCode,
    /// Contract B's link.
    ResetLink,
    /// After contract C.
    PasswordChanged,
    /// To the person's own address when a link went to another of their fields.
    ResetSentElsewhere,
    /// To an old email or mobile the host replaced: it no longer reaches the account.
    ContactChanged,
}

impl MessageKind {
    pub const ALL: [MessageKind; 5] = [
        MessageKind::StaffCode,
        MessageKind::ResetLink,
        MessageKind::PasswordChanged,
        MessageKind::ResetSentElsewhere,
        MessageKind::ContactChanged,
    ];

    /// The file stem in the catalogue.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::StaffCode => "staff_code",
            MessageKind::ResetLink => "reset_link",
            MessageKind::PasswordChanged => "password_changed",
            MessageKind::ResetSentElsewhere => "reset_sent_elsewhere",
            MessageKind::ContactChanged => "contact_changed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Whose name the messages go out under. Operator-set, per stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub name: String,
    /// Where people get help: an address, a phone number or a URL, shown as written.
    pub support: Option<String>,
}

/// What the message says beyond the greeting.
#[derive(Clone, Copy)]
pub enum Content<'a> {
    StaffCode {
        code: &'a ResetSecret,
        minutes: u64,
        /// The reset page's host: an SMS then ends with the origin-bound line
        /// `@host #code`, from which Safari and Chrome offer the code on that site only.
        one_tap_host: &'a str,
    },
    ResetLink {
        link: &'a str,
        minutes: u64,
    },
    PasswordChanged,
    ResetSentElsewhere {
        /// Where the link went, masked.
        elsewhere: &'a str,
    },
    ContactChanged,
}

impl Content<'_> {
    pub fn kind(&self) -> MessageKind {
        match self {
            Content::StaffCode { .. } => MessageKind::StaffCode,
            Content::ResetLink { .. } => MessageKind::ResetLink,
            Content::PasswordChanged => MessageKind::PasswordChanged,
            Content::ResetSentElsewhere { .. } => MessageKind::ResetSentElsewhere,
            Content::ContactChanged => MessageKind::ContactChanged,
        }
    }

    fn variables(&self) -> Value {
        match *self {
            Content::StaffCode { code, minutes, .. } => {
                context! { code => code.expose(), minutes => minutes }
            }
            Content::ResetLink { link, minutes } => context! { link => link, minutes => minutes },
            Content::PasswordChanged | Content::ContactChanged => context! {},
            Content::ResetSentElsewhere { elsewhere } => context! { elsewhere => elsewhere },
        }
    }
}

/// One message to write: to whom, in what language, saying what.
pub struct Letter<'a> {
    pub locale: &'a Locale,
    pub brand: &'a Brand,
    pub first_name: Option<&'a FirstName>,
    /// When the request that caused it was made.
    pub requested_at: Option<Timestamp>,
    /// Roughly where it came from, when known (a city, a region).
    pub place: Option<&'a str>,
    pub content: Content<'a>,
}

#[derive(Debug, Error)]
pub enum CatalogueError {
    #[error("the catalogue has no locale '{0}'")]
    UnknownLocale(String),
    #[error("template {name}: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("{locale}/strings.json: {reason}")]
    Strings { locale: String, reason: String },
}

/// The catalogue, compiled once per process. Every template of every locale is parsed
/// here; the unit tests render each one, so a broken template never ships.
pub struct Catalogue {
    env: Environment<'static>,
}

static CATALOGUE: LazyLock<Result<Catalogue, CatalogueError>> = LazyLock::new(Catalogue::load);

impl Catalogue {
    /// The built-in catalogue. It was checked by `build.rs` and the tests; a load failure
    /// is still an error, not a panic (the caller reports it and sends nothing).
    pub fn get() -> Result<&'static Catalogue, &'static CatalogueError> {
        CATALOGUE.as_ref()
    }

    fn load() -> Result<Self, CatalogueError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // `{% extends "layout.html" %}` means the layout of the template's own locale.
        env.set_path_join_callback(|name, parent| match parent.rsplit_once('/') {
            Some((dir, _)) if !name.contains('/') => format!("{dir}/{name}").into(),
            _ => name.into(),
        });
        for (name, source) in generated::TEMPLATES {
            env.add_template(name, source)
                .map_err(|source| CatalogueError::Template {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        for (locale, json) in generated::STRINGS {
            let strings: BTreeMap<String, String> =
                serde_json::from_str(json).map_err(|e| CatalogueError::Strings {
                    locale: (*locale).to_owned(),
                    reason: e.to_string(),
                })?;
            for (key, source) in strings {
                let name = format!("{locale}/strings/{key}");
                env.add_template_owned(name.clone(), source)
                    .map_err(|source| CatalogueError::Template { name, source })?;
            }
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, vars: &Value) -> Result<String, CatalogueError> {
        let fail = |source| CatalogueError::Template {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(fail)?
            .render(vars)
            .map_err(fail)
    }

    fn check_locale(locale: &Locale) -> Result<(), CatalogueError> {
        if LOCALES.contains(&locale.as_ref()) {
            Ok(())
        } else {
            Err(CatalogueError::UnknownLocale(locale.to_string()))
        }
    }

    /// The message `letter` describes, for `to`: subject, text and HTML for mail; the SMS
    /// part as the text of an SMS (with the one-tap line for a code).
    pub fn compose(
        &self,
        to: Destination,
        letter: &Letter<'_>,
    ) -> Result<OutgoingMessage, CatalogueError> {
        Self::check_locale(letter.locale)?;
        let vars = context! {
            lang => letter.locale.as_ref(),
            brand => &letter.brand.name,
            support => letter.brand.support.as_deref(),
            first_name => letter.first_name.map(AsRef::as_ref),
            requested_at => letter.requested_at.map(format_time),
            place => letter.place,
            ..letter.content.variables()
        };
        let base = format!("{}/{}", letter.locale, letter.content.kind().as_str());
        let subject = one_line(&self.render(&format!("{base}.subject"), &vars)?);
        let (text, html) = match to {
            Destination::Sms(_) => {
                let mut sms = one_line(&self.render(&format!("{base}.sms"), &vars)?);
                if let Content::StaffCode {
                    code, one_tap_host, ..
                } = letter.content
                {
                    // The origin-bound one-time code format: the last line, nothing after.
                    sms.push_str(&format!("\n\n@{one_tap_host} #{}", code.expose()));
                }
                (sms, String::new())
            }
            Destination::Email(_) => (
                tidy(&self.render(&format!("{base}.txt"), &vars)?),
                self.render(&format!("{base}.html"), &vars)?,
            ),
        };
        Ok(OutgoingMessage {
            to,
            subject,
            text,
            html,
            verification: None,
        })
    }

    /// One of the locale's `strings.json` entries, rendered with `vars` (plain text: the
    /// caller escapes it for where it goes).
    pub fn text(&self, locale: &Locale, key: &str, vars: Value) -> Result<String, CatalogueError> {
        Self::check_locale(locale)?;
        self.render(&format!("{locale}/strings/{key}"), &vars)
    }

    /// Every `page.` entry of the locale's strings, key without the prefix: what the reset
    /// page shows and says.
    pub fn page_strings(
        &self,
        locale: &Locale,
    ) -> Result<BTreeMap<String, String>, CatalogueError> {
        Self::check_locale(locale)?;
        let prefix = format!("{locale}/strings/page.");
        self.env
            .templates()
            .filter_map(|(name, _)| name.strip_prefix(&prefix).map(|k| (name, k.to_owned())))
            .map(|(name, key)| Ok((key, self.render(name, &context! {})?)))
            .collect()
    }
}

/// `key` of `locale`'s strings with `vars`, for callers that cannot fail a request over a
/// string (contract C's field errors): the catalogue's tests rule a failure out, but if one
/// happened it is logged and the key itself is said.
pub fn say(locale: &Locale, key: &str, vars: &[(&str, &str)]) -> String {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let vars = Value::from(vars);
    match Catalogue::get()
        .map_err(|e| e.to_string())
        .and_then(|c| c.text(locale, key, vars).map_err(|e| e.to_string()))
    {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(key, locale = locale.as_ref(), error = %e, "string not rendered");
            key.to_owned()
        }
    }
}

/// A subject or SMS: one line, however the template was laid out.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A text part: no trailing spaces, at most one blank line in a row (the templates'
/// `{% if %}` lines leave some), one final newline.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim().lines().map(str::trim_end) {
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `2026-12-01 20:53 UTC`: unambiguous in every language the catalogue speaks.
pub fn format_time(t: Timestamp) -> String {
    let secs = t.unix_seconds();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// How an SMS travels: GSM-7 (160 characters in one segment, 153 per part when split) or,
/// when any character is outside GSM-7, UCS-2 (70, then 67 per part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsSize {
    pub gsm7: bool,
    /// Septets (GSM-7, where `^{}[]~\|€` take two) or UTF-16 units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

impl SmsSize {
    pub fn of(text: &str) -> Self {
        let gsm7 = text.chars().all(|c| gsm7_septets(c).is_some());
        let (units, single, part) = if gsm7 {
            (text.chars().filter_map(gsm7_septets).sum(), 160, 153)
        } else {
            (text.encode_utf16().count(), 70, 67)
        };
        let segments = if units <= single {
            1
        } else {
            units.div_ceil(part)
        };
        Self {
            gsm7,
            units,
            segments,
        }
    }
}

/// Septets a character takes in GSM 03.38 (basic set, or the extension table's escape).
fn gsm7_septets(c: char) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
        ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "^{}\\[~]|€\u{000C}";
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
