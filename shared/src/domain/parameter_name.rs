//! The name of a stage secret in SSM Parameter Store (`/resetkit/prod/code-secrets`).
//!
//! Only the hierarchical form is accepted, so that the parameter's ARN is `…:parameter` with
//! the name appended: the ARN the template grants `ssm:GetParameter` on. A typo in the
//! setting then fails the cold start as a malformed setting, before any call to AWS.

use std::fmt;

use thiserror::Error;

/// A fully qualified Parameter Store name: `/` then segments of `A-Z a-z 0-9 _ . -`
/// separated by single `/`, at most 2,048 characters, not under the reserved `/aws` or
/// `/ssm` prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParameterName(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a Parameter Store name (/segment/segment…: A-Z, a-z, 0-9, '_', '.', '-'; at most 2048 characters; not under /aws or /ssm)")]
pub struct ParameterNameError(pub String);

impl ParameterName {
    /// The longest name Parameter Store accepts.
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, ParameterNameError> {
        let name = raw.trim();
        let invalid = || ParameterNameError(super::identifiers::printable(raw));
        let Some(path) = name.strip_prefix('/') else {
            return Err(invalid());
        };
        let segments_ok = path.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        });
        let first = path.split('/').next().unwrap_or("").to_ascii_lowercase();
        // Parameter Store keeps names under these for AWS's own parameters.
        let reserved = first.starts_with("aws") || first.starts_with("ssm");
        if name.len() > Self::MAX_LEN || !segments_ok || reserved {
            return Err(invalid());
        }
        Ok(Self(name.to_owned()))
    }
}

impl AsRef<str> for ParameterName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParameterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hierarchical_names_parse() {
        for ok in [
            "/resetkit/prod/code-secrets",
            "/a",
            " /resetkit/dev/code_secrets.v2 ",
        ] {
            assert_eq!(
                ParameterName::parse(ok).map(|n| n.to_string()),
                Ok(ok.trim().to_owned())
            );
        }
    }

    #[test]
    fn other_names_are_refused() {
        for bad in [
            "",
            "/",
            "resetkit/prod/code-secrets", // not fully qualified: its ARN would need another '/'
            "/resetkit//code-secrets",
            "/resetkit/prod/",
            "/resetkit/prod code",
            "/resetkit/prod/*",
            "/aws/reference/secretsmanager/x",
            "/SSM/x",
            "/awsome/x",
        ] {
            assert!(ParameterName::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(ParameterName::MAX_LEN));
        assert!(ParameterName::parse(&long).is_err());
        assert!(ParameterName::parse(&long[..ParameterName::MAX_LEN]).is_ok());
    }

    proptest! {
        #[test]
        fn a_parsed_name_is_its_own_arn_suffix(raw in "\\PC{0,40}") {
            if let Ok(name) = ParameterName::parse(&raw) {
                let name = name.as_ref();
                prop_assert!(name.starts_with('/'));
                prop_assert!(!name.contains("//") && !name.ends_with('/'));
                prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b)));
            }
        }
    }
}
