//! `resetctl messages preview`: one kind of message in one locale, written with sample
//! values, as the courier would write it, so an operator sees a change to `messages/`
//! before it ships (the catalogue is built into the binary: rebuild after editing).

use std::fmt::Write as _;

use resetkit::domain::catalogue::{Content, Letter, MessageKind, SmsSize, LOCALES};
use resetkit::domain::message::{Destination, LinkTemplate};
use resetkit::domain::{
    Brand, Catalogue, EmailAddress, FirstName, Locale, PhoneE164, ResetSecret, Timestamp, UserId,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PreviewError {
    #[error("no message kind '{0}'; the kinds are {kinds}", kinds = kind_names())]
    UnknownKind(String),
    #[error("{0}; the catalogue has {locales}", locales = LOCALES.join(", "))]
    Locale(String),
    #[error("first name: {0}")]
    FirstName(String),
    #[error(transparent)]
    Catalogue(#[from] resetkit::domain::catalogue::CatalogueError),
}

fn kind_names() -> String {
    MessageKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to preview and with which stage values.
pub struct Preview<'a> {
    pub kind: &'a str,
    pub locale: &'a str,
    pub brand: Brand,
    pub first_name: Option<&'a str>,
    /// The stage's reset link template: its host goes into a code SMS's one-tap line.
    pub link_template: &'a str,
}

/// The message for email (subject, text, HTML) and for SMS (text, with its size in
/// segments: more than one is reported, since every segment is billed and some phones show
/// them apart).
pub fn preview(p: &Preview<'_>) -> Result<String, PreviewError> {
    let kind =
        MessageKind::parse(p.kind).ok_or_else(|| PreviewError::UnknownKind(p.kind.into()))?;
    let locale = Locale::parse(p.locale).map_err(|e| PreviewError::Locale(e.to_string()))?;
    if !LOCALES.contains(&locale.as_ref()) {
        return Err(PreviewError::Locale(format!("no locale '{locale}'")));
    }
    let first_name = p
        .first_name
        .map(FirstName::parse)
        .transpose()
        .map_err(|e| PreviewError::FirstName(e.to_string()))?;
    let template = LinkTemplate::parse(p.link_template)
        .map_err(|e| PreviewError::Locale(format!("link template: {e}")))?;
    let code = ResetSecret::from_presented("482916");
    let link = template.render(
        &UserId::from_random([0x0a; 16]),
        &ResetSecret::from_presented("Xq3tN8vR2mK7pL5wZ9cB4hD6jF1gS0aE-uY_iO3eT7r"),
    );
    let content = match kind {
        MessageKind::StaffCode => Content::StaffCode {
            code: &code,
            minutes: 10,
            one_tap_host: template.host(),
        },
        MessageKind::ResetLink => Content::ResetLink {
            link: &link,
            minutes: 60,
        },
        MessageKind::PasswordChanged => Content::PasswordChanged,
        MessageKind::ResetSentElsewhere => Content::ResetSentElsewhere {
            elsewhere: "+1******0100",
        },
        MessageKind::ContactChanged => Content::ContactChanged,
    };
    let letter = Letter {
        locale: &locale,
        brand: &p.brand,
        first_name: first_name.as_ref(),
        requested_at: Some(Timestamp::from_unix_seconds(1_796_158_380)),
        place: None,
        content,
    };
    let catalogue = Catalogue::get().map_err(|e| PreviewError::Locale(e.to_string()))?;
    let sample_email =
        EmailAddress::parse("ana@example.com").map_err(|e| PreviewError::Locale(e.to_string()))?;
    let sample_phone =
        PhoneE164::parse("+14155550100", None).map_err(|e| PreviewError::Locale(e.to_string()))?;
    let mail = catalogue.compose(Destination::Email(sample_email), &letter)?;
    let sms = catalogue.compose(Destination::Sms(sample_phone), &letter)?;
    let size = SmsSize::of(&sms.text);
    let mut out = String::new();
    let _ = writeln!(out, "== {} / {locale}: email ==", kind.as_str());
    let _ = writeln!(out, "Subject: {}\n", mail.subject);
    let _ = writeln!(out, "-- text --\n{}", mail.text);
    let _ = writeln!(out, "-- html --\n{}\n", mail.html.trim_end());
    let _ = writeln!(out, "== {} / {locale}: SMS ==", kind.as_str());
    let _ = writeln!(out, "{}\n", sms.text);
    let encoding = if size.gsm7 {
        "GSM-7"
    } else {
        "UCS-2 (a character outside GSM-7)"
    };
    let _ = writeln!(
        out,
        "-- {encoding}, {} units, {} segment{}{} --",
        size.units,
        size.segments,
        if size.segments == 1 { "" } else { "s" },
        if size.segments > 1 {
            ": LONGER THAN ONE SEGMENT"
        } else {
            ""
        }
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(kind: &'a str, locale: &'a str) -> Preview<'a> {
        Preview {
            kind,
            locale,
            brand: Brand {
                name: "Salon Lumière".into(),
                support: Some("+1 415 555 0100".into()),
            },
            first_name: Some("Ana"),
            link_template: "https://id.lumiere.example/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}",
        }
    }

    #[test]
    fn a_preview_shows_both_channels_and_the_sms_size() {
        let out = preview(&sample("staff_code", "fr")).unwrap();
        assert!(
            out.contains("Subject: Salon Lumière : votre code de réinitialisation du mot de passe"),
            "{out}"
        );
        assert!(out.contains("@id.lumiere.example #482916"), "{out}");
        assert!(
            out.contains("GSM-7") && out.contains("1 segment --"),
            "{out}"
        );
        let link = preview(&sample("reset_link", "es")).unwrap();
        assert!(link.contains("LONGER THAN ONE SEGMENT"), "{link}");
    }

    #[test]
    fn unknown_kinds_and_locales_name_what_there_is() {
        let kind = preview(&sample("welcome", "en")).unwrap_err().to_string();
        assert!(kind.contains("staff_code, reset_link"), "{kind}");
        let locale = preview(&sample("staff_code", "de"))
            .unwrap_err()
            .to_string();
        assert!(locale.contains("en, es, fr"), "{locale}");
    }
}
