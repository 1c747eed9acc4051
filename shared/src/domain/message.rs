//! The messages a person receives, composed here so every channel says the same thing.
//! Names are escaped for HTML; control characters never reach a header (see `FirstName`).

use super::code::ResetSecret;
use super::identifiers::{EmailAddress, FirstName, PhoneE164, UserId, VerificationId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Email(EmailAddress),
    Sms(PhoneE164),
}

impl Destination {
    pub fn masked(&self) -> String {
        match self {
            Destination::Email(e) => e.masked(),
            Destination::Sms(p) => p.masked(),
        }
    }

    pub fn channel(&self) -> super::Channel {
        match self {
            Destination::Email(_) => super::Channel::Email,
            Destination::Sms(_) => super::Channel::Sms,
        }
    }
}

/// A message ready to send. It may hold a code in clear: it goes to the delivery adapter
/// and nowhere else (never to a log or a table).
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub to: Destination,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The verification the message carries, tagged on the send so that the provider's
    /// later notifications (bounce, complaint) name it.
    pub verification: Option<VerificationId>,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("to", &self.to.masked())
            .field("subject", &self.subject)
            .finish()
    }
}

/// The per-stage reset-link template, with `{LeadId}` and `{TemporaryPassword}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTemplate(String);

impl LinkTemplate {
    pub fn parse(s: &str) -> Result<Self, String> {
        if !(s.starts_with("https://") || s.starts_with("http://")) {
            return Err("must be an http(s) URL".into());
        }
        if !s.contains("{LeadId}") || !s.contains("{TemporaryPassword}") {
            return Err("must contain {LeadId} and {TemporaryPassword}".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// Both values are URL-safe by construction (hex and base64url), so no encoding is needed.
    pub fn render(&self, lead: &UserId, secret: &ResetSecret) -> String {
        self.0
            .replace("{LeadId}", lead.as_ref())
            .replace("{TemporaryPassword}", secret.expose())
    }
}

fn greeting(first_name: Option<&FirstName>) -> String {
    first_name.map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {},", n.as_ref()))
}

fn compose(
    to: Destination,
    subject: &str,
    first_name: Option<&FirstName>,
    body: &str,
    sms: &str,
) -> OutgoingMessage {
    let hello = greeting(first_name);
    let text = match to {
        Destination::Sms(_) => sms.to_owned(),
        Destination::Email(_) => format!("{hello}\n\n{body}\n"),
    };
    let html = format!(
        "<!doctype html><html><body><p>{}</p>{}</body></html>",
        html_escape::encode_text(&hello),
        body.split("\n\n")
            .map(|p| format!("<p>{}</p>", html_escape::encode_text(p)))
            .collect::<String>()
    );
    OutgoingMessage {
        to,
        subject: subject.to_owned(),
        text,
        html,
        verification: None,
    }
}

pub fn staff_code(
    to: Destination,
    first_name: Option<&FirstName>,
    code: &ResetSecret,
    minutes: u64,
) -> OutgoingMessage {
    compose(
        to,
        "Your password reset code",
        first_name,
        &format!(
            "Your password reset code is {}. It expires in {minutes} minutes.\n\nIf you did not ask for this, ignore this message.",
            code.expose()
        ),
        &format!("Your password reset code is {}. It expires in {minutes} minutes.", code.expose()),
    )
}

pub fn reset_link(
    to: Destination,
    first_name: Option<&FirstName>,
    link: &str,
    minutes: u64,
) -> OutgoingMessage {
    compose(
        to,
        "Reset your password",
        first_name,
        &format!(
            "Open this link to choose a new password:\n\n{link}\n\nIt expires in {minutes} minutes and works once. If you did not ask for this, ignore this message."
        ),
        &format!("Reset your password: {link} (expires in {minutes} minutes)"),
    )
}

/// To the person's own address when a link went to another field of theirs: if someone
/// else asked for it, the person learns of it before anything else can happen.
pub fn reset_sent_elsewhere(
    to: Destination,
    first_name: Option<&FirstName>,
    elsewhere: &str,
) -> OutgoingMessage {
    let text = format!(
        "A password reset link for your account was just sent to {elsewhere}. If this was not you, contact support right away; your password has not changed."
    );
    compose(
        to,
        "A password reset link was sent",
        first_name,
        &text,
        &text,
    )
}

pub fn password_changed(to: Destination, first_name: Option<&FirstName>) -> OutgoingMessage {
    compose(
        to,
        "Your password was changed",
        first_name,
        "Your password was just changed. If this was not you, contact support right away.",
        "Your password was just changed. If this was not you, contact support right away.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html() {
        let to = Destination::Email(EmailAddress::parse("a@example.com").unwrap());
        let name = FirstName::parse("<script>x</script>").unwrap();
        let m = password_changed(to, Some(&name));
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn link_template_needs_both_placeholders() {
        assert!(LinkTemplate::parse("https://x/reset#LeadId={LeadId}").is_err());
        assert!(LinkTemplate::parse("javascript:{LeadId}{TemporaryPassword}").is_err());
        let t = LinkTemplate::parse(
            "https://x/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}",
        )
        .unwrap();
        let id = UserId::from_random([0xab; 16]);
        let link = t.render(&id, &ResetSecret::from_presented("tok"));
        assert_eq!(
            link,
            format!("https://x/reset#LeadId={id}&TemporaryPassword=tok")
        );
    }
}
