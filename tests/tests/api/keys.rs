//! `resetctl keys` against the functions, on the production adapters: a revoked key is
//! refused within the key cache's lifetime (the documented revocation delay), and a
//! rotation leaves both keys working for its grace, then only the new one.
//!
//! The functions run under a clock the test moves, so the delays are stepped through, not
//! waited out; resetctl is called as a library, with that clock's time.

use std::time::Duration;

use resetctl::keys::{list_keys, mint_key, revoke_key, rotate_key};
use resetkit::config;
use resetkit::ports::Clock;
use serde_json::json;

use crate::helpers::{gateway_request, random_hex, spawn_clocked_app_with, ClockedApp};

const FORGOT: &str = "/api/Authentication/ForgotPassword";

/// A server key that may ask for reset links, as an operator mints it.
async fn server_key(app: &ClockedApp) -> resetctl::keys::MintedKey {
    mint_key(&app.stack.store, "server", &["password:forgot".to_owned()])
        .await
        .unwrap_or_else(|e| panic!("minting a key: {e}"))
}

/// Contract B with `secret`, for nobody's address: 200 when the key is accepted (the
/// answer is the same for everyone), 401 when it is refused. Status and body.
async fn forgot_with(app: &ClockedApp, secret: &str) -> (u16, String) {
    let answer = app
        .forgot_password(gateway_request(
            FORGOT,
            "203.0.113.61",
            &[("authorization", secret)],
            &json!({"EmailAddress": format!("nobody-{}@example.com", random_hex(6))}),
        ))
        .await;
    (answer.0, String::from_utf8_lossy(&answer.2).into_owned())
}

#[tokio::test]
async fn a_revoked_key_is_refused_within_the_key_cache_lifetime_as_an_unknown_one_is() {
    // Arrange: the stage's default key cache; the key was used, so this sandbox holds it.
    let app = spawn_clocked_app_with(&[]).await;
    let delay = app.service.settings().key_cache;
    assert!(!delay.is_zero(), "the default stage caches keys");
    let key = server_key(&app).await;
    assert_eq!(forgot_with(&app, &key.secret).await.0, 200);

    // Act: revoked, then presented once the cache's lifetime has passed.
    let revoked = revoke_key(&app.stack.store, &key.key_id, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("revoking: {e}"));
    app.clock.advance(delay.as_secs());
    let after = forgot_with(&app, &key.secret).await;

    // Assert: the answer a key nobody holds gets.
    assert!(!revoked.active);
    assert_eq!(after.0, 401, "{}", after.1);
    assert_eq!(after, forgot_with(&app, "rk_nobody_holds_this_key").await);
}

#[tokio::test]
async fn a_rotated_key_works_alongside_its_successor_for_the_grace_then_only_the_successor() {
    // Arrange: a grace of 3 s over a key cache of 2 s (a grace at least the cache's
    // lifetime ends exactly); the old key was used, so this sandbox holds it.
    let app = spawn_clocked_app_with(&[(config::KEY_CACHE_SECONDS, "2")]).await;
    let old = server_key(&app).await;
    assert_eq!(forgot_with(&app, &old.secret).await.0, 200);
    let start = app.clock.now();

    // Act
    let rotation = rotate_key(&app.stack.store, &old.key_id, Duration::from_secs(3), start)
        .await
        .unwrap_or_else(|e| panic!("rotating: {e}"));
    let new = rotation.successor.secret.as_str();
    let at_once = (
        forgot_with(&app, &old.secret).await,
        forgot_with(&app, new).await,
    );
    // The old key's cached record has expired: read again, with its revoke_at.
    app.clock.advance(2);
    let late_in_grace = (
        forgot_with(&app, &old.secret).await,
        forgot_with(&app, new).await,
    );
    app.clock.advance(1);
    let after_grace = (
        forgot_with(&app, &old.secret).await,
        forgot_with(&app, new).await,
    );

    // Assert
    assert_eq!(rotation.old_stops_at, start.plus(Duration::from_secs(3)));
    assert_eq!(
        (at_once.0 .0, at_once.1 .0),
        (200, 200),
        "both work at once"
    );
    assert_eq!(
        (late_in_grace.0 .0, late_in_grace.1 .0),
        (200, 200),
        "both work until the grace ends"
    );
    assert_eq!(
        (after_grace.0 .0, after_grace.1 .0),
        (401, 200),
        "only the successor from then on: {}",
        after_grace.0 .1
    );
    let listed = list_keys(&app.stack.store)
        .await
        .unwrap_or_else(|e| panic!("listing: {e}"));
    let listed_old = listed
        .iter()
        .find(|k| k.key_id == old.key_id)
        .unwrap_or_else(|| panic!("{} listed", old.key_id));
    let listed_new = listed
        .iter()
        .find(|k| k.key_id == rotation.successor.key_id)
        .unwrap_or_else(|| panic!("{} listed", rotation.successor.key_id));
    assert_eq!(listed_old.revoke_at, Some(rotation.old_stops_at));
    assert_eq!(
        (
            listed_new.kind,
            &listed_new.permissions,
            listed_new.revoke_at
        ),
        (listed_old.kind, &listed_old.permissions, None)
    );
}
