//! `Idempotency-Key`: a client's retry of a request must not send or spend twice.
//!
//! A key is scoped by endpoint and by the caller's credential, so two callers choosing the
//! same key never see each other's answers; only a SHA-256 of that scope is stored. A
//! request is identified by the fingerprint of what it asks (method, path, query, media
//! type, body): the same key with another fingerprint is a client bug, refused.

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::code::CodeKeys;
use super::time::Timestamp;

/// Longest key accepted; UUIDs and ULIDs are far shorter.
pub const MAX_KEY_LEN: usize = 255;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdempotencyKeyError {
    #[error("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters")]
    Malformed,
}

/// A client's key, scoped and hashed: the stored form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header value and scopes it to `endpoint` and the presented `credential`.
    pub fn parse(raw: &str, endpoint: &str, credential: &str) -> Result<Self, IdempotencyKeyError> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_KEY_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(IdempotencyKeyError::Malformed);
        }
        let mut h = Sha256::new();
        for part in [endpoint, credential, raw] {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        Ok(Self(hex::encode(h.finalize())))
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What a request asks for, as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Keyed, because a request body can hold a password: a plain hash of it could be
    /// brute-forced from a stolen table.
    pub fn of(keys: &CodeKeys, parts: &[&[u8]]) -> Self {
        Self(hex::encode(keys.digest("idempotency-fingerprint", parts)))
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
}

impl AsRef<str> for Fingerprint {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The first answer to a request, as replayed to its retries. Answers carry no secret a
/// retry should not see again: the same caller got them the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyState {
    /// The first request is still being answered.
    InFlight,
    Completed(StoredResponse),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: Fingerprint,
    /// The claiming request's random token.
    pub owner: String,
    pub state: IdempotencyState,
    pub expires_at: Timestamp,
}

/// What to do with a request that carries a key, given what `claim` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// First time: run it.
    Run,
    /// Answer with the stored response.
    Stored(StoredResponse),
    /// The first is still running: ask the client to retry shortly.
    InFlight,
    /// Same key, different request.
    Mismatch,
}

impl Replay {
    /// The one rule deciding between replay, wait and refusal.
    /// `owner` is this request's token: a record it made itself (an earlier attempt whose
    /// answer was lost) is its own to run.
    pub fn decide(
        existing: Option<IdempotencyRecord>,
        fingerprint: &Fingerprint,
        owner: &str,
    ) -> Self {
        match existing {
            None => Replay::Run,
            Some(r) if &r.fingerprint != fingerprint => Replay::Mismatch,
            Some(IdempotencyRecord {
                state: IdempotencyState::InFlight,
                owner: ref o,
                ..
            }) if o == owner => Replay::Run,
            Some(IdempotencyRecord {
                state: IdempotencyState::InFlight,
                ..
            }) => Replay::InFlight,
            Some(IdempotencyRecord {
                state: IdempotencyState::Completed(res),
                ..
            }) => Replay::Stored(res),
        }
    }
}

/// Answers worth replaying: anything but a limit hit or a failure on our side, which a
/// retry should get a fresh chance at.
pub fn worth_replaying(status: u16) -> bool {
    status != 429 && status < 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_by_endpoint_and_credential() {
        let k = |e, c| IdempotencyKey::parse("abc-123", e, c).unwrap();
        assert_eq!(k("forgot", "key1"), k("forgot", "key1"));
        assert_ne!(k("forgot", "key1"), k("forgot", "key2"));
        assert_ne!(k("forgot", "key1"), k("confirm", "key1"));
        assert!(!k("forgot", "key1").as_ref().contains("abc"));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", " ", "a b", "é", &"x".repeat(256), "a\r\nb"] {
            assert_eq!(
                IdempotencyKey::parse(bad, "e", "c"),
                Err(IdempotencyKeyError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decide_replays_waits_or_refuses() {
        let keys = CodeKeys::new(vec![vec![7; 32]]).unwrap();
        let fp = Fingerprint::of(&keys, &[b"a"]);
        let other = Fingerprint::of(&keys, &[b"b"]);
        let res = StoredResponse {
            status: 200,
            content_type: "application/json".into(),
            body: b"{}".to_vec(),
        };
        let rec = |state| IdempotencyRecord {
            fingerprint: fp.clone(),
            owner: "first".into(),
            state,
            expires_at: Timestamp::from_unix_seconds(9),
        };
        assert_eq!(Replay::decide(None, &fp, "me"), Replay::Run);
        assert_eq!(
            Replay::decide(Some(rec(IdempotencyState::InFlight)), &fp, "me"),
            Replay::InFlight
        );
        assert_eq!(
            Replay::decide(Some(rec(IdempotencyState::InFlight)), &fp, "first"),
            Replay::Run,
            "its own lost write"
        );
        assert_eq!(
            Replay::decide(
                Some(rec(IdempotencyState::Completed(res.clone()))),
                &fp,
                "me"
            ),
            Replay::Stored(res)
        );
        assert_eq!(
            Replay::decide(Some(rec(IdempotencyState::InFlight)), &other, "me"),
            Replay::Mismatch
        );
        assert!(
            worth_replaying(400)
                && worth_replaying(200)
                && !worth_replaying(429)
                && !worth_replaying(503)
        );
    }
}
