//! The [`SecretStore`] contract: the in-memory store in its unit tests, SSM Parameter Store
//! on the emulator in `tests/`.

use std::future::Future;

use secrecy::ExposeSecret;

use crate::domain::ParameterName;
use crate::ports::{SecretError, SecretStore};

/// How a case stores a value before reading it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Encrypted at rest: an SSM `SecureString`.
    Encrypted,
    /// In clear: an SSM `String`, which the store must refuse to hand out as a secret.
    InClear,
}

/// Runs every case against `store`, storing values through `put` (which MUST replace an
/// existing value). Each case uses a name of its own, under `/resetkit-contract/<random>/`.
pub async fn run<S, P, Fut>(store: &S, put: P)
where
    S: SecretStore,
    P: Fn(ParameterName, String, Stored) -> Fut,
    Fut: Future<Output = ()>,
{
    let prefix = format!("/resetkit-contract/{}", hex::encode(super::random_id()));
    let name = |case: &str| {
        ParameterName::parse(&format!("{prefix}/{case}")).expect("a contract parameter name")
    };

    // A name nothing is stored under is not found (not "unavailable": the cold start says
    // which parameter is missing).
    let missing = name("missing");
    assert!(
        matches!(
            store.read_secret(&missing).await,
            Err(SecretError::NotFound)
        ),
        "a name never stored reads as NotFound"
    );

    // An encrypted value reads back as its plaintext, byte for byte.
    let secret = name("secret");
    let list = "first-secret-first-secret-first-secret, second-secret-second-secret-0002";
    put(secret.clone(), list.to_owned(), Stored::Encrypted).await;
    match store.read_secret(&secret).await {
        Ok(value) => assert_eq!(
            value.expose_secret(),
            list,
            "an encrypted value reads back decrypted"
        ),
        Err(e) => panic!("an encrypted value reads back, not {e}"),
    }

    // Rotation: a value put again replaces the old one.
    let rotated = "third-secret-third-secret-third-secret0";
    put(secret.clone(), rotated.to_owned(), Stored::Encrypted).await;
    assert_eq!(
        store
            .read_secret(&secret)
            .await
            .map(|v| v.expose_secret().to_owned())
            .ok()
            .as_deref(),
        Some(rotated),
        "the newest value is read"
    );

    // A value kept in clear is refused: it would be a secret readable by anyone allowed
    // to list the parameters.
    let plain = name("plain");
    put(plain.clone(), list.to_owned(), Stored::InClear).await;
    assert!(
        matches!(
            store.read_secret(&plain).await,
            Err(SecretError::NotEncrypted)
        ),
        "a value stored in clear is refused"
    );
}

#[cfg(test)]
mod tests {
    use super::Stored;
    use crate::adapters::memory::MemorySecrets;

    #[tokio::test]
    async fn memory_secrets_keep_the_contract() {
        let store = MemorySecrets::new();
        super::run(&store, |name, value, stored| {
            match stored {
                Stored::Encrypted => store.put(&name, &value),
                Stored::InClear => store.put_unencrypted(&name, &value),
            }
            async {}
        })
        .await;
    }
}
