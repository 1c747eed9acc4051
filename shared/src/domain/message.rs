//! The messages a person receives: what they are (`OutgoingMessage`) and where they go.
//! What they say is the operator's catalogue (`domain::catalogue`, from `messages/`).

use super::code::ResetSecret;
use super::identifiers::{EmailAddress, PhoneE164, UserId, VerificationId};

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

    /// The host of the reset page the links point at, which a one-tap code names
    /// (`@host #code`): the browser fills the code in on that site only.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        match authority.strip_prefix('[') {
            // An IPv6 literal keeps its brackets; only the port goes.
            Some(v6) => v6
                .split_once(']')
                .map_or(authority, |(h, _)| &authority[..h.len() + 2]),
            None => authority.split(':').next().unwrap_or_default(),
        }
    }

    /// Both values are URL-safe by construction (hex and base64url), so no encoding is needed.
    pub fn render(&self, lead: &UserId, secret: &ResetSecret) -> String {
        self.0
            .replace("{LeadId}", lead.as_ref())
            .replace("{TemporaryPassword}", secret.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_one_tap_host_is_the_reset_page_host_without_port() {
        for (template, host) in [
            ("https://id.example.com/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}", "id.example.com"),
            ("http://127.0.0.1:9000/lambda-url/password-confirm/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}", "127.0.0.1"),
            ("https://u@x.example:8443?LeadId={LeadId}&TemporaryPassword={TemporaryPassword}", "x.example"),
        ] {
            assert_eq!(LinkTemplate::parse(template).unwrap().host(), host);
        }
    }
}
