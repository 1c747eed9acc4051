//! The stage secret as production keeps it: a SecureString in SSM Parameter Store, read at
//! cold start through `resetkit::adapters::aws::resolve` (what `init` calls), here against
//! the emulator's Parameter Store.

use aws_sdk_ssm::types::ParameterType;
use resetkit::adapters::aws::{resolve, EMULATOR_BUDGETS};
use resetkit::adapters::ssm::SsmSecrets;
use resetkit::config::{Config, ConfigError, UnresolvedConfig, CODE_SECRETS_PARAMETER};
use resetkit::domain::{CodeKeys, ResetSecret};
use resetkit::store_suite::secrets::Stored;

use crate::helpers::{
    put_parameter, put_secure_string, random_hex, sdk_config, spawn_app, LINK_TEMPLATE,
    TEST_CODE_SECRETS,
};

/// A parameter name no other test uses.
fn fresh_name() -> String {
    format!("/resetkit-test/{}/code-secrets", random_hex(6))
}

/// A cold start's configuration reading the code secrets from `parameter`.
async fn cold_start_with(parameter: &str) -> Result<Config, ConfigError> {
    let sdk = sdk_config(&crate::helpers::endpoint()).await;
    let env = [
        (CODE_SECRETS_PARAMETER, parameter),
        (resetkit::config::TABLE_PREFIX, "unused-"),
        (resetkit::config::SENDER_EMAIL, crate::helpers::SENDER),
        (resetkit::config::RESET_LINK_TEMPLATE, LINK_TEMPLATE),
        (
            resetkit::config::QUEUE_URL,
            "http://127.0.0.1:1/000000000000/unused",
        ),
    ];
    let unresolved = UnresolvedConfig::from_lookup(|k| {
        env.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("the environment: {e}"));
    resolve(&sdk, unresolved, &EMULATOR_BUDGETS.dynamodb).await
}

#[tokio::test]
async fn parameter_store_keeps_the_secret_store_contract() {
    let sdk = sdk_config(&crate::helpers::endpoint()).await;
    let store = SsmSecrets::new(aws_sdk_ssm::Client::new(&sdk));
    resetkit::store_suite::secrets::run(&store, |name, value, stored| {
        let sdk = sdk.clone();
        async move {
            let kind = match stored {
                Stored::Encrypted => ParameterType::SecureString,
                Stored::InClear => ParameterType::String,
            };
            put_parameter(&sdk, name.as_ref(), &value, kind).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_missing_parameter_fails_the_cold_start_with_its_name() {
    // Arrange: a name nothing is stored under.
    let name = fresh_name();

    // Act
    let err = cold_start_with(&name)
        .await
        .err()
        .expect("a cold start without its parameter fails");

    // Assert: the setting and the parameter named, the cause said.
    assert!(
        matches!(&err, ConfigError::Unreadable { key, name: n, .. }
            if *key == CODE_SECRETS_PARAMETER && n.as_ref() == name),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{CODE_SECRETS_PARAMETER} names {name}, which could not be read: no parameter has this name")
    );
}

#[tokio::test]
async fn a_malformed_or_clear_parameter_fails_the_cold_start_without_showing_it() {
    let sdk = sdk_config(&crate::helpers::endpoint()).await;
    let long = format!("long-enough-{}-long-enough", random_hex(8));
    let short = format!("short-{}", random_hex(4));

    // A secret under 32 bytes: named by its position, never shown.
    let name = fresh_name();
    put_secure_string(&sdk, &name, &format!("{long},{short}")).await;
    let err = cold_start_with(&name).await.err().expect("refused");
    let said = format!("{err} {err:?}");
    assert!(said.contains(&name) && said.contains("#2"), "{said}");
    assert!(!said.contains(&short) && !said.contains(&long), "{said}");

    // Stored in clear (a String): refused, and not shown either.
    let name = fresh_name();
    put_parameter(&sdk, &name, &long, ParameterType::String).await;
    let err = cold_start_with(&name).await.err().expect("refused");
    let said = format!("{err} {err:?}");
    assert!(
        said.contains(&name) && said.contains("SecureString"),
        "{said}"
    );
    assert!(!said.contains(&long), "{said}");
}

#[tokio::test]
async fn the_test_apps_hash_codes_under_their_parameters_secret() {
    // Every integration test's service is built through the parameter (helpers.rs): its
    // code keys are those of the value stored there, not of some default.
    let app = spawn_app().await;
    let code = ResetSecret::from_presented("123456");
    let expected = CodeKeys::parse_list(TEST_CODE_SECRETS)
        .expect("test secrets")
        .hash(&code);
    assert_eq!(app.service.settings().code_keys.hash(&code), expected);
    let other = CodeKeys::parse_list(&"x".repeat(32))
        .expect("keys")
        .hash(&code);
    assert_ne!(app.service.settings().code_keys.hash(&code), other);
}
