//! One-time secrets: generated from the OS CSPRNG, stored only as an HMAC, compared in
//! constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A code or link token as the person receives it. Never logged, never stored.
#[derive(Clone)]
pub struct ResetSecret(SecretString);

/// Six digits, for the staff flow (read aloud, typed on a phone).
pub type OtpCode = ResetSecret;

impl ResetSecret {
    /// Six decimal digits, uniform over 000000..=999999 (rejection sampling, no modulo bias).
    pub fn six_digits(mut random: impl FnMut(&mut [u8])) -> Self {
        const RANGE: u32 = 1_000_000;
        const ZONE: u32 = u32::MAX - (u32::MAX % RANGE);
        loop {
            let mut b = [0u8; 4];
            random(&mut b);
            let n = u32::from_le_bytes(b);
            if n < ZONE {
                return Self(SecretString::from(format!("{:06}", n % RANGE)));
            }
        }
    }

    /// 256 random bits, URL-safe base64 without padding (43 characters), for links.
    pub fn link_token(mut random: impl FnMut(&mut [u8])) -> Self {
        let mut b = [0u8; 32];
        random(&mut b);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(b)))
    }

    /// What the person typed or the link carried.
    pub fn from_presented(s: &str) -> Self {
        Self(SecretString::from(s.trim().to_owned()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for ResetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetSecret([redacted])")
    }
}

/// HMAC-SHA-256 of a code under a stage secret: what the verification record holds.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeHash([u8; 32]);

impl CodeHash {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// The per-stage secrets, newest first. The first signs new codes; all are tried when
/// checking, so a secret can be rotated without invalidating codes already sent.
///
/// No secret is used as a key itself: each yields one key per purpose through HKDF-SHA-256
/// (RFC 5869), so the code HMAC, the pseudonyms and digests in tables, and the sealing of
/// stored answers never share a key, and one key's exposure or misuse says nothing about
/// another's.
#[derive(Clone)]
pub struct CodeKeys(Vec<Keyring>);

/// One secret's purpose keys.
#[derive(Clone)]
struct Keyring {
    code_mac: SecretSlice<u8>,
    digest: SecretSlice<u8>,
    seal: SecretSlice<u8>,
    queue_seal: SecretSlice<u8>,
    link_token: SecretSlice<u8>,
    audit_digest: SecretSlice<u8>,
}

/// What a sealed value is for: each has its own key, so a value sealed for one use never
/// opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    /// An answer kept for `Idempotency-Key` replays (may hold a staff code or a link secret).
    StoredAnswer,
    /// A staff code travelling to the courier on the delivery queue.
    QueuedCode,
}

/// HKDF `info` strings: a new purpose gets a new string, never a reused one.
const CODE_MAC: &[u8] = b"resetkit/v1/code-hmac";
const DIGEST: &[u8] = b"resetkit/v1/table-digest";
const SEAL: &[u8] = b"resetkit/v1/stored-answer-seal";
const QUEUE_SEAL: &[u8] = b"resetkit/v1/queued-code-seal";
const LINK_TOKEN: &[u8] = b"resetkit/v1/courier-link-token";
const AUDIT_DIGEST: &[u8] = b"resetkit/v1/audit-digest";

impl Keyring {
    fn derive(secret: &[u8]) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"resetkit stage secret"), secret);
        let key = |info: &[u8]| {
            let mut okm = vec![0u8; 32];
            // 32 bytes is far below HKDF-SHA-256's 8160-byte limit.
            hk.expand(info, &mut okm).unwrap_or_else(|_| unreachable!());
            SecretSlice::from(okm)
        };
        Self {
            code_mac: key(CODE_MAC),
            digest: key(DIGEST),
            seal: key(SEAL),
            queue_seal: key(QUEUE_SEAL),
            link_token: key(LINK_TOKEN),
            audit_digest: key(AUDIT_DIGEST),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodeKeysError {
    #[error("at least one code secret is required")]
    Missing,
    #[error("code secret #{0} is shorter than 32 bytes")]
    TooShort(usize),
}

impl CodeKeys {
    pub fn new(secrets: Vec<Vec<u8>>) -> Result<Self, CodeKeysError> {
        if secrets.is_empty() {
            return Err(CodeKeysError::Missing);
        }
        if let Some(i) = secrets.iter().position(|s| s.len() < 32) {
            return Err(CodeKeysError::TooShort(i + 1));
        }
        Ok(Self(secrets.iter().map(|s| Keyring::derive(s)).collect()))
    }

    /// The secrets as a stage keeps them, in `RESETKIT_CODE_SECRETS` or in its SSM
    /// parameter: comma-separated, newest first, spaces around each ignored. The errors
    /// name a secret by its position, never by its content.
    pub fn parse_list(list: &str) -> Result<Self, CodeKeysError> {
        Self::new(
            list.split(',')
                .map(|s| s.trim().as_bytes().to_vec())
                .collect(),
        )
    }

    fn newest(&self) -> &Keyring {
        // `new` refuses an empty list.
        &self.0[0]
    }

    pub fn hash(&self, code: &ResetSecret) -> CodeHash {
        CodeHash(hmac(
            self.newest().code_mac.expose_secret(),
            &[code.expose().as_bytes()],
        ))
    }

    /// Constant-time comparison against every configured secret.
    pub fn verify(&self, code: &ResetSecret, stored: &CodeHash) -> bool {
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |acc, k| {
                let candidate = hmac(k.code_mac.expose_secret(), &[code.expose().as_bytes()]);
                acc | candidate.ct_eq(&stored.0)
            })
            .into()
    }

    /// A stable, unguessable stand-in for a personal value (an address in a rate-limit
    /// key, say), separated from other uses by `purpose`.
    pub fn pseudonym(&self, purpose: &str, value: &str) -> String {
        hex::encode(&self.digest(purpose, &[value.as_bytes()])[..16])
    }

    /// `pseudonym` under every secret, newest first: what a value was named under a secret
    /// that has since been rotated behind a newer one.
    pub fn pseudonyms(&self, purpose: &str, value: &str) -> Vec<String> {
        self.0
            .iter()
            .map(|k| {
                let digest = hmac(
                    k.digest.expose_secret(),
                    &[purpose.as_bytes(), value.as_bytes()],
                );
                hex::encode(&digest[..16])
            })
            .collect()
    }

    /// HMAC-SHA-256 under the newest digest key of `purpose` and length-prefixed `parts`: a
    /// digest of request content (which may hold a password) that cannot be brute-forced
    /// from a stolen table.
    pub fn digest(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut framed: Vec<&[u8]> = vec![purpose.as_bytes()];
        framed.extend_from_slice(parts);
        hmac(self.newest().digest.expose_secret(), &framed)
    }

    /// Encrypts `plain` (XChaCha20-Poly1305 under the newest key for `purpose`, a random
    /// nonce): for values that must travel or be kept but never in clear.
    pub fn seal(
        &self,
        purpose: SealPurpose,
        plain: &[u8],
        mut random: impl FnMut(&mut [u8]),
    ) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        random(&mut nonce);
        let cipher = cipher(self.newest(), purpose);
        // Encryption only fails for inputs beyond 256 GiB.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plain)
            .unwrap_or_default();
        [nonce.as_slice(), &sealed].concat()
    }

    /// Decrypts what `seal` made for `purpose` under any configured secret; `None` if none
    /// opens it.
    pub fn open(&self, purpose: SealPurpose, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = (sealed.get(..24)?, sealed.get(24..)?);
        self.0.iter().find_map(|k| {
            cipher(k, purpose)
                .decrypt(XNonce::from_slice(nonce), body)
                .ok()
        })
    }

    /// Signs an audit digest (`audit_digest`) under the newest secret's audit-digest key.
    pub fn sign_audit_digest(&self, signed: &[u8]) -> [u8; 32] {
        hmac(self.newest().audit_digest.expose_secret(), &[signed])
    }

    /// Whether any configured secret signed `signed` as `signature` (constant time): digests
    /// sealed before a rotation still verify while the old secret is listed.
    pub fn audit_digest_signed(&self, signed: &[u8], signature: &[u8; 32]) -> bool {
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |acc, k| {
                acc | hmac(k.audit_digest.expose_secret(), &[signed]).ct_eq(signature)
            })
            .into()
    }

    /// The link token of a reset the courier issues for delivery job `job`: derived, not
    /// drawn, so that a job the queue delivers again (after a throttled send, say) sends the
    /// same link instead of issuing another. A PRF under a key of its own: without the stage
    /// secret, the job id says nothing about the token.
    pub fn courier_link_token(&self, job: &str) -> ResetSecret {
        let derived = hmac(self.newest().link_token.expose_secret(), &[job.as_bytes()]);
        ResetSecret::link_token(|b| b.copy_from_slice(&derived[..b.len()]))
    }
}

fn cipher(keys: &Keyring, purpose: SealPurpose) -> XChaCha20Poly1305 {
    let key = match purpose {
        SealPurpose::StoredAnswer => &keys.seal,
        SealPurpose::QueuedCode => &keys.queue_seal,
    };
    XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key.expose_secret()))
}

/// HMAC-SHA-256 of length-prefixed `parts` (so ("ab","c") and ("a","bc") differ).
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for Hmac<Sha256>.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(b: &mut [u8]) {
        getrandom::fill(b).unwrap();
    }

    #[test]
    fn six_digit_codes_are_six_digits() {
        for _ in 0..200 {
            let c = ResetSecret::six_digits(os);
            assert_eq!(c.expose().len(), 6);
            assert!(c.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn link_tokens_carry_256_bits_url_safe() {
        let t = ResetSecret::link_token(os);
        assert_eq!(t.expose().len(), 43);
        assert!(t
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn a_rotated_secret_still_verifies_old_codes() {
        let old = CodeKeys::new(vec![vec![1; 32]]).unwrap();
        let rotated = CodeKeys::new(vec![vec![2; 32], vec![1; 32]]).unwrap();
        let code = ResetSecret::from_presented("123456");
        let stored = old.hash(&code);
        assert!(rotated.verify(&code, &stored));
        assert!(!rotated.verify(&ResetSecret::from_presented("123457"), &stored));
        assert!(!CodeKeys::new(vec![vec![3; 32]])
            .unwrap()
            .verify(&code, &stored));
    }

    #[test]
    fn each_purpose_has_its_own_key_and_none_is_the_secret() {
        let secret = vec![7u8; 32];
        let keys = Keyring::derive(&secret);
        let all = [
            keys.code_mac.expose_secret(),
            keys.digest.expose_secret(),
            keys.seal.expose_secret(),
            keys.queue_seal.expose_secret(),
            keys.link_token.expose_secret(),
            &secret[..],
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The code HMAC is not the HMAC under the raw secret, nor the pseudonym key's.
        let code = ResetSecret::from_presented("123456");
        let ck = CodeKeys::new(vec![secret.clone()]).unwrap();
        assert_ne!(ck.hash(&code).0, hmac(&secret, &[b"123456"]));
        assert_ne!(ck.hash(&code).0, ck.digest("", &[b"123456"]));
    }

    #[test]
    fn sealed_answers_open_under_a_rotated_secret_only() {
        let old = CodeKeys::new(vec![vec![1; 32]]).unwrap();
        let sealed = old.seal(SealPurpose::StoredAnswer, b"the answer", os);
        let rotated = CodeKeys::new(vec![vec![2; 32], vec![1; 32]]).unwrap();
        assert_eq!(
            rotated.open(SealPurpose::StoredAnswer, &sealed).as_deref(),
            Some(&b"the answer"[..])
        );
        assert_eq!(
            CodeKeys::new(vec![vec![2; 32]])
                .unwrap()
                .open(SealPurpose::StoredAnswer, &sealed),
            None
        );
    }

    #[test]
    fn a_value_sealed_for_one_purpose_never_opens_as_another() {
        let keys = CodeKeys::new(vec![vec![1; 32]]).unwrap();
        let sealed = keys.seal(SealPurpose::QueuedCode, b"123456", os);
        assert_eq!(keys.open(SealPurpose::StoredAnswer, &sealed), None);
        assert_eq!(
            keys.open(SealPurpose::QueuedCode, &sealed).as_deref(),
            Some(&b"123456"[..])
        );
    }

    #[test]
    fn a_courier_link_token_is_the_same_for_one_job_and_another_for_the_next() {
        let keys = CodeKeys::new(vec![vec![1; 32]]).unwrap();
        let a = keys.courier_link_token("job-a");
        assert_eq!(a.expose(), keys.courier_link_token("job-a").expose());
        assert_ne!(a.expose(), keys.courier_link_token("job-b").expose());
        assert_eq!(a.expose().len(), 43);
        let other_stage = CodeKeys::new(vec![vec![2; 32]]).unwrap();
        assert_ne!(a.expose(), other_stage.courier_link_token("job-a").expose());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(CodeKeys::new(vec![]).err(), Some(CodeKeysError::Missing));
        assert_eq!(
            CodeKeys::new(vec![vec![0; 31]]).err(),
            Some(CodeKeysError::TooShort(1))
        );
    }

    #[test]
    fn a_list_is_comma_separated_newest_first() {
        let new = "n".repeat(32);
        let old = "o".repeat(32);
        let listed = CodeKeys::parse_list(&format!(" {new} , {old}")).unwrap();
        let code = ResetSecret::from_presented("123456");
        let by_old = CodeKeys::new(vec![old.into_bytes()]).unwrap().hash(&code);
        assert_eq!(
            listed.hash(&code).0,
            CodeKeys::new(vec![new.into_bytes()]).unwrap().hash(&code).0,
            "codes are issued under the first secret"
        );
        assert!(listed.verify(&code, &by_old), "and checked under every one");
        assert_eq!(
            CodeKeys::parse_list(&format!("{},short", "n".repeat(32))).err(),
            Some(CodeKeysError::TooShort(2))
        );
        assert_eq!(
            CodeKeys::parse_list("").err(),
            Some(CodeKeysError::TooShort(1))
        );
    }

    #[test]
    fn debug_output_hides_the_code() {
        let c = ResetSecret::from_presented("123456");
        assert!(!format!("{c:?}").contains("123456"));
    }
}
