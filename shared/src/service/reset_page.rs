//! The reset page's key (contract D): the page hands the stage's browser confirm key to
//! every visitor, so before it does, the key must be one that can do nothing but confirm.

use thiserror::Error;

use super::Resetkit;
use crate::domain::{KeyKind, Permission, PresentedKey};
use crate::ports::{Clock, Metrics, RandomSource, Store, StoreError};

#[derive(Debug, Error)]
pub enum PageKeyError {
    /// No browser confirm key is configured: the stage has no reset page.
    #[error("the reset page is not enabled on this stage")]
    Disabled,
    /// A misconfigured stage (a server key, say) gets no page rather than a published secret.
    /// `key_id` names the key found, if any.
    #[error("the browser confirm key is not an active browser key with password:confirm only")]
    Unsuitable { key_id: Option<String> },
    #[error(transparent)]
    Unexpected(#[from] StoreError),
}

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// Is the reset page turned on for this stage? Nothing is looked up.
    pub fn reset_page_enabled(&self) -> bool {
        self.settings.browser_confirm_key.is_some()
    }

    /// The key the reset page may hand to browsers: the configured browser confirm key, if
    /// it is an active browser key whose only permission is `password:confirm`.
    pub async fn reset_page_key(&self) -> Result<&str, PageKeyError> {
        let key = self
            .settings
            .browser_confirm_key
            .as_deref()
            .ok_or(PageKeyError::Disabled)?;
        match self.find_key(&PresentedKey(key).hash()).await? {
            Some(k)
                if k.kind == KeyKind::Browser
                    && k.is_usable(self.clock.now())
                    && k.permissions.iter().eq(&[Permission::PasswordConfirm]) =>
            {
                Ok(key)
            }
            other => Err(PageKeyError::Unsuitable {
                key_id: other.map(|k| k.key_id),
            }),
        }
    }
}
