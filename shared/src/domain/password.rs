//! Password policy (NIST SP 800-63B style: length and strength, no composition rules) and
//! Argon2id hashing.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;
/// Inputs longer than this are refused before normalisation, so a 1 MiB "password" costs
/// nothing. Generous: 128 characters of 4-byte UTF-8, with room for decomposed forms.
const MAX_RAW_BYTES: usize = MAX_CHARS * 4 * 2;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PasswordPolicyError {
    #[error("Password must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("Password must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("Password is too easy to guess{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    TooWeak { hint: Option<String> },
    #[error("Password must not contain your name, email address or other details")]
    Personal,
}

impl PasswordPolicyError {
    /// Machine-readable code for contract error lists.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordPolicyError::TooShort => "MinimumLength",
            PasswordPolicyError::TooLong => "MaximumLength",
            PasswordPolicyError::TooWeak { .. } => "PasswordTooWeak",
            PasswordPolicyError::Personal => "PasswordTooPersonal",
        }
    }
}

/// A candidate password of acceptable length, NFKC-normalised (so the same password typed
/// on two keyboards hashes the same).
pub struct NewPassword(SecretString);

/// A password that passed the whole policy for one person: the only thing that is hashed.
pub struct AcceptedPassword(SecretString);

impl NewPassword {
    /// Checks length only; cheap enough to run before anything else.
    pub fn parse(raw: &str) -> Result<Self, PasswordPolicyError> {
        if raw.len() > MAX_RAW_BYTES {
            return Err(PasswordPolicyError::TooLong);
        }
        let normalized: String = raw.nfkc().collect();
        let chars = normalized.chars().count();
        if chars < MIN_CHARS {
            return Err(PasswordPolicyError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordPolicyError::TooLong);
        }
        Ok(Self(SecretString::from(normalized)))
    }

    /// Applies the strength rules: refuse common and guessable passwords and those built
    /// from the person's own identifiers (`personal_words`).
    pub fn accept(
        self,
        personal_words: &[String],
    ) -> Result<AcceptedPassword, PasswordPolicyError> {
        let pw = self.0.expose_secret();
        let folded = pw.to_lowercase();
        let personal = personal_words
            .iter()
            .map(|w| w.to_lowercase())
            .filter(|w| w.chars().count() >= 4)
            .any(|w| folded.contains(&w) || w.contains(&folded));
        if personal {
            return Err(PasswordPolicyError::Personal);
        }
        let inputs: Vec<&str> = personal_words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(pw, &inputs);
        if (estimate.score() as u8) < 3 {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| w.to_string());
            return Err(PasswordPolicyError::TooWeak { hint });
        }
        Ok(AcceptedPassword(self.0))
    }

    /// Compares two entries (password and its confirmation) after normalisation.
    pub fn same_as(&self, other: &NewPassword) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[derive(Debug, Error)]
pub enum HashError {
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Argon2id parameters; defaults are OWASP's minimum (m=19456 KiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// CPU- and memory-heavy: call from a blocking thread.
    pub fn hash(
        &self,
        password: &AcceptedPassword,
        salt: [u8; 16],
    ) -> Result<PasswordHash, HashError> {
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Hash(e.to_string()))?;
        self.argon2()?
            .hash_password(password.0.expose_secret().as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| HashError::Hash(e.to_string()))
    }
}

impl PasswordHash {
    pub fn from_phc(s: String) -> Self {
        Self(s)
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Verifies `candidate` (normalised like a new password) against this hash, with the
    /// parameters recorded in the PHC string.
    pub fn verifies(&self, candidate: &str) -> bool {
        let normalized: String = candidate.nfkc().collect();
        argon2::PasswordHash::new(&self.0)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(normalized.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_is_counted_after_nfkc() {
        // "ﬁ" (one ligature character) becomes "fi": 7 ligatures are 14 characters.
        assert!(NewPassword::parse(&"ﬁ".repeat(7)).is_ok());
        assert_eq!(
            NewPassword::parse("short").err(),
            Some(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            NewPassword::parse(&"a".repeat(129)).err(),
            Some(PasswordPolicyError::TooLong)
        );
        assert_eq!(
            NewPassword::parse(&"a".repeat(10_000)).err(),
            Some(PasswordPolicyError::TooLong)
        );
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        let weak = NewPassword::parse("password123").unwrap().accept(&[]);
        assert!(matches!(weak, Err(PasswordPolicyError::TooWeak { .. })));
        let personal = NewPassword::parse("Anabela-1987!")
            .unwrap()
            .accept(&["anabela".into()]);
        assert_eq!(personal.err(), Some(PasswordPolicyError::Personal));
        assert!(NewPassword::parse("correct horse battery staple")
            .unwrap()
            .accept(&[])
            .is_ok());
    }

    #[test]
    fn hashes_are_argon2id_phc_at_owasp_parameters_and_verify() {
        let pw = NewPassword::parse("correct horse battery staple")
            .unwrap()
            .accept(&[])
            .unwrap();
        let h = HashParams::default().hash(&pw, [7; 16]).unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verifies("correct horse battery staple"));
        assert!(!h.verifies("correct horse battery stapler"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = NewPassword::parse(&s);
        }
    }
}
