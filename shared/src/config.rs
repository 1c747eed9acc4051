//! Configuration: read once per cold start from environment variables into typed values.
//! Every key and every default is in this file. A missing or malformed setting fails the
//! cold start with a message that names it.
//!
//! The code secrets are the one setting that is not in the environment in production: it
//! names an SSM parameter (`RESETKIT_CODE_SECRETS_PARAMETER`) that the cold start reads, so
//! the secrets are not in the function's configuration for anyone with
//! `lambda:GetFunctionConfiguration` to read. Reading the environment therefore gives an
//! [`UnresolvedConfig`]; [`UnresolvedConfig::resolve`] reads the parameter.

use std::time::Duration;

use thiserror::Error;

use secrecy::ExposeSecret;

use crate::domain::catalogue::{self, Brand};
use crate::domain::code::CodeKeys;
use crate::domain::message::LinkTemplate;
use crate::domain::password::HashParams;
use crate::domain::{FieldCatalog, Locale, Locales, ParameterName, RetryPolicy};
use crate::ports::{RateLimit, SecretStore};
use crate::service::{Limits, Settings};

/// The SSM parameter (a SecureString) holding the code secrets: production's only source.
pub const CODE_SECRETS_PARAMETER: &str = "RESETKIT_CODE_SECRETS_PARAMETER";
/// The code secrets themselves, for tests, benchmarks and tools; never set by the template.
pub const CODE_SECRETS: &str = "RESETKIT_CODE_SECRETS";
pub const TABLE_PREFIX: &str = "RESETKIT_TABLE_PREFIX";
pub const SENDER_EMAIL: &str = "RESETKIT_SENDER_EMAIL";
pub const SES_CONFIGURATION_SET: &str = "RESETKIT_SES_CONFIGURATION_SET";
pub const RESET_LINK_TEMPLATE: &str = "RESETKIT_RESET_LINK_TEMPLATE";
pub const CODE_TTL_SECONDS: &str = "RESETKIT_CODE_TTL_SECONDS";
pub const LINK_TTL_SECONDS: &str = "RESETKIT_LINK_TTL_SECONDS";
pub const MAX_ATTEMPTS: &str = "RESETKIT_MAX_ATTEMPTS";
pub const STAFF_CODE_IN_RESPONSE: &str = "RESETKIT_STAFF_CODE_IN_RESPONSE";
pub const NOTIFY_PASSWORD_CHANGED: &str = "RESETKIT_NOTIFY_PASSWORD_CHANGED";
pub const DEFAULT_COUNTRY: &str = "RESETKIT_DEFAULT_COUNTRY";
pub const EXTRA_FIELDS: &str = "RESETKIT_EXTRA_FIELDS";
pub const FORGOT_RATE_LIMIT: &str = "RESETKIT_FORGOT_RATE_LIMIT";
pub const BROWSER_CONFIRM_KEY: &str = "RESETKIT_BROWSER_CONFIRM_KEY";
pub const KEY_RATE_LIMIT: &str = "RESETKIT_KEY_RATE_LIMIT";
pub const IP_RATE_LIMIT: &str = "RESETKIT_IP_RATE_LIMIT";
pub const RECIPIENT_COOLDOWN_SECONDS: &str = "RESETKIT_RECIPIENT_COOLDOWN_SECONDS";
pub const RECIPIENT_HOURLY_LIMIT: &str = "RESETKIT_RECIPIENT_HOURLY_LIMIT";
pub const RECIPIENT_CEILING: &str = "RESETKIT_RECIPIENT_CEILING";
pub const KEY_CACHE_SECONDS: &str = "RESETKIT_KEY_CACHE_SECONDS";
pub const QUEUE_URL: &str = "RESETKIT_QUEUE_URL";
pub const DEAD_LETTER_QUEUE_URL: &str = "RESETKIT_DEAD_LETTER_QUEUE_URL";
pub const DELIVERY_RETRY_BASE_SECONDS: &str = "RESETKIT_DELIVERY_RETRY_BASE_SECONDS";
pub const DELIVERY_RETRY_CAP_SECONDS: &str = "RESETKIT_DELIVERY_RETRY_CAP_SECONDS";
pub const DELIVERY_MAX_TRIES: &str = "RESETKIT_DELIVERY_MAX_TRIES";
pub const BRAND_NAME: &str = "RESETKIT_BRAND_NAME";
pub const SUPPORT_CONTACT: &str = "RESETKIT_SUPPORT_CONTACT";
pub const DEFAULT_LOCALE: &str = "RESETKIT_DEFAULT_LOCALE";
pub const LOCALES: &str = "RESETKIT_LOCALES";

/// Every variable a deployed function reads, for the template drift check. Not
/// `RESETKIT_CODE_SECRETS`: the template names the parameter instead.
pub const ALL_KEYS: &[&str] = &[
    CODE_SECRETS_PARAMETER,
    TABLE_PREFIX,
    SENDER_EMAIL,
    SES_CONFIGURATION_SET,
    RESET_LINK_TEMPLATE,
    CODE_TTL_SECONDS,
    LINK_TTL_SECONDS,
    MAX_ATTEMPTS,
    STAFF_CODE_IN_RESPONSE,
    NOTIFY_PASSWORD_CHANGED,
    DEFAULT_COUNTRY,
    EXTRA_FIELDS,
    FORGOT_RATE_LIMIT,
    BROWSER_CONFIRM_KEY,
    KEY_RATE_LIMIT,
    IP_RATE_LIMIT,
    RECIPIENT_COOLDOWN_SECONDS,
    RECIPIENT_HOURLY_LIMIT,
    RECIPIENT_CEILING,
    KEY_CACHE_SECONDS,
    QUEUE_URL,
    DEAD_LETTER_QUEUE_URL,
    DELIVERY_RETRY_BASE_SECONDS,
    DELIVERY_RETRY_CAP_SECONDS,
    DELIVERY_MAX_TRIES,
    BRAND_NAME,
    SUPPORT_CONTACT,
    DEFAULT_LOCALE,
    LOCALES,
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is required but not set")]
    Missing(&'static str),
    #[error("{key} is malformed: {reason}")]
    Malformed { key: &'static str, reason: String },
    /// The parameter a setting names could not be read. `reason` never holds its value.
    #[error("{key} names {name}, which could not be read: {reason}")]
    Unreadable {
        key: &'static str,
        name: ParameterName,
        reason: String,
    },
}

/// Where the code secrets come from.
#[derive(Clone)]
pub enum CodeSecretsSource {
    /// `RESETKIT_CODE_SECRETS`: the list itself (tests, benchmarks, tools).
    Inline(CodeKeys),
    /// `RESETKIT_CODE_SECRETS_PARAMETER`: a SecureString holding the same list, read at
    /// cold start (production and the local stack).
    Parameter(ParameterName),
}

/// Where the AWS adapters put and send things.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Prepended to every table name, e.g. `resetkit-dev-`.
    pub table_prefix: String,
    pub sender_email: String,
    pub configuration_set: Option<String>,
    /// The courier's queue: the functions put delivery jobs on it.
    pub queue_url: String,
    /// Where the courier moves a job it gives up on. Only the courier needs it.
    pub dead_letter_queue_url: Option<String>,
}

/// A stage's whole configuration, code secrets included.
#[derive(Clone)]
pub struct Config {
    pub settings: Settings,
    pub aws: AwsSettings,
}

impl Config {
    /// Reads through `get` a configuration that carries its code secrets inline
    /// (`RESETKIT_CODE_SECRETS`), as tests, benchmarks and tools do; a parameter name is
    /// refused here, since reading it needs [`UnresolvedConfig::resolve`].
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        UnresolvedConfig::from_lookup(get)?
            .inline()
            .map_err(|_| ConfigError::Malformed {
                key: CODE_SECRETS_PARAMETER,
                reason: format!("only a cold start reads the parameter; set {CODE_SECRETS} here"),
            })
    }
}

/// Every setting parsed, the code secrets perhaps still a parameter to read.
pub struct UnresolvedConfig {
    pub code_secrets: CodeSecretsSource,
    with_code_keys: Box<dyn FnOnce(CodeKeys) -> Config + Send>,
}

impl UnresolvedConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&get);
        let malformed = |key, reason: String| ConfigError::Malformed { key, reason };

        let code_secrets = CodeSecretsSource::read(&env)?;
        let link_template = LinkTemplate::parse(&env.required(RESET_LINK_TEMPLATE)?)
            .map_err(|e| malformed(RESET_LINK_TEMPLATE, e))?;
        let limits = Limits {
            // LeadSquared's documented limit.
            forgot_per_key: env.rate(FORGOT_RATE_LIMIT, "25/5")?,
            // Generous: a browser key is shared by everyone using the reset page.
            per_key: env.rate(KEY_RATE_LIMIT, "600/60")?,
            // One call a second on average per address and endpoint; offices behind one
            // NAT rarely reset more passwords than that.
            per_ip: env.rate(IP_RATE_LIMIT, "60/60")?,
            // 0 switches either recipient limit off.
            recipient_cooldown: RateLimit {
                max: 1,
                window_secs: env.count(RECIPIENT_COOLDOWN_SECONDS, 60)?,
            },
            recipient_hourly: RateLimit {
                max: env.count(RECIPIENT_HOURLY_LIMIT, 5)?,
                window_secs: 3600,
            },
            // Generous: strangers' requests must not reach it before the person's own do.
            recipient_ceiling: RateLimit {
                max: env.count(RECIPIENT_CEILING, 30)?,
                window_secs: 3600,
            },
        };
        let browser_confirm_key = env.optional(BROWSER_CONFIRM_KEY);
        if let Some(key) = &browser_confirm_key {
            if !is_key_shaped(key) {
                return Err(malformed(
                    BROWSER_CONFIRM_KEY,
                    "a key is 8 to 200 characters of A-Z, a-z, 0-9, '_', '-' and '.'".into(),
                ));
            }
        }

        let fields = field_catalog(&env)?;
        let code_ttl = Duration::from_secs(env.number(CODE_TTL_SECONDS, 600)?);
        let link_ttl = Duration::from_secs(env.number(LINK_TTL_SECONDS, 3600)?);
        let max_attempts = env.number(MAX_ATTEMPTS, 5)?;
        let staff_code_in_response = env.flag(STAFF_CODE_IN_RESPONSE, true)?;
        let notify_password_changed = env.flag(NOTIFY_PASSWORD_CHANGED, true)?;
        // SES asks senders to retry throttled sends for up to 10 minutes: 1, 2, 4, … s,
        // then every 150-300 s, ten sends in all (and never past the secret's lifetime).
        let retry = RetryPolicy {
            base: Duration::from_secs(env.number(DELIVERY_RETRY_BASE_SECONDS, 2)?),
            cap: Duration::from_secs(env.number(DELIVERY_RETRY_CAP_SECONDS, 300)?),
            max_tries: env.number(DELIVERY_MAX_TRIES, 10)?,
        };
        let key_cache = Duration::from_secs(env.count(KEY_CACHE_SECONDS, 30)?);
        let brand = brand(&env)?;
        let locales = locales(&env)?;
        let aws = AwsSettings {
            table_prefix: env.required(TABLE_PREFIX)?,
            sender_email: env.required(SENDER_EMAIL)?,
            configuration_set: env.optional(SES_CONFIGURATION_SET),
            queue_url: env.required(QUEUE_URL)?,
            dead_letter_queue_url: env.optional(DEAD_LETTER_QUEUE_URL),
        };
        let with_code_keys = move |code_keys| Config {
            settings: Settings {
                fields,
                code_keys,
                code_ttl,
                link_ttl,
                max_attempts,
                link_template,
                staff_code_in_response,
                notify_password_changed,
                hash_params: HashParams::default(),
                limits,
                retry,
                browser_confirm_key,
                key_cache,
                brand,
                locales,
            },
            aws,
        };
        Ok(Self {
            code_secrets,
            with_code_keys: Box::new(with_code_keys),
        })
    }

    /// The whole configuration when its code secrets are inline; else `self` back, for
    /// `resolve` (so that no parameter store client is built for nothing).
    pub fn inline(self) -> Result<Config, Self> {
        match self.code_secrets {
            CodeSecretsSource::Inline(keys) => Ok((self.with_code_keys)(keys)),
            CodeSecretsSource::Parameter(_) => Err(self),
        }
    }

    /// The configuration with its code secrets, read from `secrets` when they are a
    /// parameter. A missing, unreadable or malformed parameter is an error naming it and
    /// never showing any part of its value.
    pub async fn resolve(self, secrets: &impl SecretStore) -> Result<Config, ConfigError> {
        let keys = self.code_secrets.resolve(secrets).await?;
        Ok((self.with_code_keys)(keys))
    }
}

impl CodeSecretsSource {
    /// The code secrets' setting alone, for tools (`resetctl deliveries`) that need the
    /// stage's code keys without the rest of a function's configuration.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env(&|k: &str| std::env::var(k).ok()))
    }

    fn read<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Self, ConfigError> {
        let malformed = |key, reason: String| ConfigError::Malformed { key, reason };
        Ok(
            match (
                env.optional(CODE_SECRETS_PARAMETER),
                env.optional(CODE_SECRETS),
            ) {
                (Some(name), None) => CodeSecretsSource::Parameter(
                    ParameterName::parse(&name)
                        .map_err(|e| malformed(CODE_SECRETS_PARAMETER, e.to_string()))?,
                ),
                (None, Some(list)) => CodeSecretsSource::Inline(
                    CodeKeys::parse_list(&list)
                        .map_err(|e| malformed(CODE_SECRETS, e.to_string()))?,
                ),
                (Some(_), Some(_)) => {
                    return Err(malformed(
                        CODE_SECRETS,
                        format!("set {CODE_SECRETS_PARAMETER} or {CODE_SECRETS}, not both"),
                    ))
                }
                (None, None) => return Err(ConfigError::Missing(CODE_SECRETS_PARAMETER)),
            },
        )
    }

    /// The code keys, read from `secrets` when they are a parameter. A missing, unreadable
    /// or malformed parameter is an error naming it and never showing any part of its value.
    pub async fn resolve(self, secrets: &impl SecretStore) -> Result<CodeKeys, ConfigError> {
        match self {
            CodeSecretsSource::Inline(keys) => Ok(keys),
            CodeSecretsSource::Parameter(name) => {
                let list =
                    secrets
                        .read_secret(&name)
                        .await
                        .map_err(|e| ConfigError::Unreadable {
                            key: CODE_SECRETS_PARAMETER,
                            name: name.clone(),
                            reason: e.to_string(),
                        })?;
                CodeKeys::parse_list(list.expose_secret()).map_err(|e| ConfigError::Malformed {
                    key: CODE_SECRETS_PARAMETER,
                    reason: format!("the value of {name}: {e}"),
                })
            }
        }
    }
}

/// The stage's field catalog alone (`RESETKIT_EXTRA_FIELDS`, `RESETKIT_DEFAULT_COUNTRY`),
/// for tools such as `resetctl import` that parse people without running a function.
pub fn field_catalog_from_env() -> Result<FieldCatalog, ConfigError> {
    field_catalog(&Env(&|k: &str| std::env::var(k).ok()))
}

fn field_catalog<F: Fn(&str) -> Option<String>>(
    env: &Env<'_, F>,
) -> Result<FieldCatalog, ConfigError> {
    let malformed = |key, reason: String| ConfigError::Malformed { key, reason };
    let country = env
        .optional(DEFAULT_COUNTRY)
        .unwrap_or_else(|| "US".into())
        .to_ascii_uppercase();
    if country.parse::<phonenumber::country::Id>().is_err() {
        return Err(malformed(
            DEFAULT_COUNTRY,
            format!("'{country}' is not an ISO 3166 alpha-2 code"),
        ));
    }
    let extra = FieldCatalog::parse_extra(
        &env.optional(EXTRA_FIELDS)
            .unwrap_or_else(|| "Phone:phone:unique:deliverable".into()),
    )
    .map_err(|e| malformed(EXTRA_FIELDS, e))?;
    Ok(FieldCatalog::new(extra, &country))
}

/// The name and support contact every message carries. Shown as written (HTML parts
/// escape them), one line each.
fn brand<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Brand, ConfigError> {
    let one_line = |key: &'static str, v: String| {
        if v.chars().any(char::is_control) || v.chars().count() > 100 {
            Err(ConfigError::Malformed {
                key,
                reason: "one line of at most 100 characters".into(),
            })
        } else {
            Ok(v)
        }
    };
    Ok(Brand {
        name: one_line(
            BRAND_NAME,
            env.optional(BRAND_NAME)
                .unwrap_or_else(|| "resetkit".into()),
        )?,
        support: env
            .optional(SUPPORT_CONTACT)
            .map(|v| one_line(SUPPORT_CONTACT, v))
            .transpose()?,
    })
}

/// The locales offered (`RESETKIT_LOCALES`, comma-separated, each in the catalogue; by
/// default all of it) and the default among them (`RESETKIT_DEFAULT_LOCALE`, `en`).
fn locales<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<Locales, ConfigError> {
    let malformed = |key, reason: String| ConfigError::Malformed { key, reason };
    let default = Locale::parse(&env.optional(DEFAULT_LOCALE).unwrap_or_else(|| "en".into()))
        .map_err(|e| malformed(DEFAULT_LOCALE, e.to_string()))?;
    let offered = match env.optional(LOCALES) {
        None => catalogue::LOCALES.join(","),
        Some(list) => list,
    };
    let offered = offered
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Locale::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(LOCALES, e.to_string()))?;
    Locales::new(default, offered, catalogue::LOCALES).map_err(|e| {
        let key = match e {
            crate::domain::locale::LocalesError::DefaultNotOffered(_) => DEFAULT_LOCALE,
            _ => LOCALES,
        };
        malformed(key, e.to_string())
    })
}

/// `MAX/SECONDS` with a positive window; a `MAX` of 0 switches the limit off.
fn parse_rate(s: &str) -> Option<RateLimit> {
    let (max, secs) = s.split_once('/')?;
    let limit = RateLimit {
        max: max.trim().parse().ok()?,
        window_secs: secs.trim().parse().ok()?,
    };
    (limit.window_secs > 0).then_some(limit)
}

/// The characters `resetctl keys` mints (`rk_` and hex) and the demo keys use; nothing that
/// needs escaping in the HTML attribute the reset page carries it in.
fn is_key_shaped(key: &str) -> bool {
    (8..=200).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn optional(&self, key: &str) -> Option<String> {
        (self.0)(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, key: &'static str) -> Result<String, ConfigError> {
        self.optional(key).ok_or(ConfigError::Missing(key))
    }

    fn number<T: std::str::FromStr + PartialOrd + Default>(
        &self,
        key: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.optional(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .ok()
                .filter(|n| *n > T::default())
                .ok_or_else(|| ConfigError::Malformed {
                    key,
                    reason: format!("'{v}' is not a positive whole number"),
                }),
        }
    }

    /// A whole number, 0 included (0 switches a limit off).
    fn count<T: std::str::FromStr>(&self, key: &'static str, default: T) -> Result<T, ConfigError> {
        match self.optional(key) {
            None => Ok(default),
            Some(v) => v.parse::<T>().map_err(|_| ConfigError::Malformed {
                key,
                reason: format!("'{v}' is not a whole number"),
            }),
        }
    }

    /// `MAX/SECONDS`; a `MAX` of 0 switches the limit off.
    fn rate(&self, key: &'static str, default: &str) -> Result<RateLimit, ConfigError> {
        let raw = self.optional(key).unwrap_or_else(|| default.to_owned());
        parse_rate(&raw).ok_or_else(|| ConfigError::Malformed {
            key,
            reason: format!("'{raw}' is not MAX/SECONDS with a positive window (MAX 0: no limit)"),
        })
    }

    fn flag(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(ConfigError::Malformed {
                key,
                reason: format!("'{v}' is not true or false"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (CODE_SECRETS, "x".repeat(32)),
            (TABLE_PREFIX, "resetkit-test-".into()),
            (SENDER_EMAIL, "no-reply@example.com".into()),
            (
                QUEUE_URL,
                "https://sqs.us-east-1.amazonaws.com/123456789012/resetkit-test-courier".into(),
            ),
            (
                RESET_LINK_TEMPLATE,
                "https://x/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}".into(),
            ),
        ])
    }

    fn load(m: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_apply() {
        let c = load(&base()).unwrap();
        assert_eq!(c.settings.code_ttl, Duration::from_secs(600));
        assert_eq!(c.settings.link_ttl, Duration::from_secs(3600));
        assert_eq!(c.settings.max_attempts, 5);
        assert_eq!(
            c.settings.limits.forgot_per_key,
            RateLimit {
                max: 25,
                window_secs: 5
            }
        );
        assert_eq!(
            c.settings.limits.recipient_cooldown,
            RateLimit {
                max: 1,
                window_secs: 60
            }
        );
        assert_eq!(c.settings.retry.max_tries, 10);
        assert!(c.settings.staff_code_in_response);
        assert_eq!(
            c.settings.browser_confirm_key, None,
            "the reset page is off unless a key is set"
        );
    }

    #[test]
    fn the_browser_confirm_key_must_look_like_a_key() {
        let mut m = base();
        m.insert(BROWSER_CONFIRM_KEY, "rk_demo_browser_key".into());
        assert_eq!(
            load(&m).unwrap().settings.browser_confirm_key.as_deref(),
            Some("rk_demo_browser_key")
        );
        for bad in [
            "short",
            "has space inside",
            "quote\"breaks-out",
            "<script>alert(1)</script>",
        ] {
            m.insert(BROWSER_CONFIRM_KEY, bad.into());
            assert!(
                load(&m)
                    .err()
                    .unwrap()
                    .to_string()
                    .starts_with("RESETKIT_BROWSER_CONFIRM_KEY is malformed"),
                "{bad}"
            );
        }
    }

    #[test]
    fn brand_and_locales_are_read_and_checked_against_the_catalogue() {
        let mut m = base();
        let settings = load(&m).unwrap().settings;
        assert_eq!(settings.brand.name, "resetkit");
        assert_eq!(settings.brand.support, None);
        assert_eq!(settings.locales.default_locale().as_ref(), "en");
        assert_eq!(settings.locales.offered().len(), catalogue::LOCALES.len());
        m.insert(BRAND_NAME, "Salon Lumière".into());
        m.insert(SUPPORT_CONTACT, "help@lumiere.example".into());
        m.insert(DEFAULT_LOCALE, "fr".into());
        m.insert(LOCALES, "fr, es".into());
        let settings = load(&m).unwrap().settings;
        assert_eq!(settings.brand.name, "Salon Lumière");
        assert_eq!(
            settings.brand.support.as_deref(),
            Some("help@lumiere.example")
        );
        assert_eq!(settings.locales.default_locale().as_ref(), "fr");
        let named = |m: &HashMap<&'static str, String>| load(m).err().unwrap().to_string();
        m.insert(LOCALES, "fr,de".into());
        assert!(
            named(&m).starts_with("RESETKIT_LOCALES is malformed"),
            "{}",
            named(&m)
        );
        m.insert(LOCALES, "es,en".into());
        assert!(
            named(&m).starts_with("RESETKIT_DEFAULT_LOCALE is malformed"),
            "{}",
            named(&m)
        );
        m.insert(LOCALES, "fr".into());
        m.insert(BRAND_NAME, "Two\nlines".into());
        assert!(
            named(&m).starts_with("RESETKIT_BRAND_NAME is malformed"),
            "{}",
            named(&m)
        );
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let mut m = base();
        m.insert(RECIPIENT_COOLDOWN_SECONDS, "0".into());
        m.insert(RECIPIENT_HOURLY_LIMIT, "0".into());
        m.insert(IP_RATE_LIMIT, "0/60".into());
        let limits = load(&m).unwrap().settings.limits;
        assert!(limits.recipient_cooldown.is_off());
        assert!(limits.recipient_hourly.is_off());
        assert!(limits.per_ip.is_off());
        assert!(!limits.forgot_per_key.is_off());
        m.insert(RECIPIENT_COOLDOWN_SECONDS, "-1".into());
        assert!(load(&m).is_err());
        m.insert(RECIPIENT_COOLDOWN_SECONDS, "0".into());
        m.insert(IP_RATE_LIMIT, "5/0".into());
        assert!(load(&m).is_err(), "a window must be positive");
    }

    #[test]
    fn missing_and_malformed_settings_are_named() {
        let mut m = base();
        m.remove(CODE_SECRETS);
        assert_eq!(
            load(&m).err(),
            Some(ConfigError::Missing(CODE_SECRETS_PARAMETER)),
            "production's setting is the one asked for"
        );
        let mut m = base();
        m.insert(MAX_ATTEMPTS, "five".into());
        assert!(load(&m)
            .err()
            .unwrap()
            .to_string()
            .starts_with("RESETKIT_MAX_ATTEMPTS is malformed"));
        let mut m = base();
        m.insert(CODE_SECRETS, "short".into());
        assert!(load(&m).err().unwrap().to_string().contains(CODE_SECRETS));
        let mut m = base();
        m.insert(STAFF_CODE_IN_RESPONSE, "yes".into());
        assert!(load(&m).is_err());
    }

    mod code_secrets_parameter {
        use super::*;
        use crate::adapters::memory::MemorySecrets;
        use crate::domain::ResetSecret;

        const NAME: &str = "/resetkit/test/code-secrets";

        fn with_parameter() -> HashMap<&'static str, String> {
            let mut m = base();
            m.remove(CODE_SECRETS);
            m.insert(CODE_SECRETS_PARAMETER, NAME.into());
            m
        }

        fn unresolved(m: &HashMap<&'static str, String>) -> UnresolvedConfig {
            UnresolvedConfig::from_lookup(|k| m.get(k).cloned()).unwrap_or_else(|e| panic!("{e}"))
        }

        fn name() -> ParameterName {
            ParameterName::parse(NAME).unwrap()
        }

        #[test]
        fn a_parameter_name_is_parsed_into_where_the_secrets_come_from() {
            let m = with_parameter();
            match unresolved(&m).code_secrets {
                CodeSecretsSource::Parameter(n) => assert_eq!(n, name()),
                CodeSecretsSource::Inline(_) => panic!("read as inline secrets"),
            }
            assert!(
                load(&m)
                    .err()
                    .unwrap()
                    .to_string()
                    .contains(CODE_SECRETS_PARAMETER),
                "the synchronous reader cannot read a parameter and says so"
            );
        }

        #[test]
        fn a_bad_name_or_both_settings_are_refused() {
            let mut m = with_parameter();
            m.insert(CODE_SECRETS_PARAMETER, "resetkit/test/code-secrets".into());
            assert!(UnresolvedConfig::from_lookup(|k| m.get(k).cloned())
                .err()
                .unwrap()
                .to_string()
                .starts_with("RESETKIT_CODE_SECRETS_PARAMETER is malformed"));
            let mut m = with_parameter();
            m.insert(CODE_SECRETS, "x".repeat(32));
            assert!(UnresolvedConfig::from_lookup(|k| m.get(k).cloned())
                .err()
                .unwrap()
                .to_string()
                .contains("not both"));
        }

        #[tokio::test]
        async fn the_parameter_gives_the_keys_its_value_gives_inline() {
            let list = format!("{},{}", "n".repeat(32), "o".repeat(32));
            let secrets = MemorySecrets::new();
            secrets.put(&name(), &list);
            let resolved = unresolved(&with_parameter())
                .resolve(&secrets)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let code = ResetSecret::from_presented("123456");
            assert_eq!(
                resolved.settings.code_keys.hash(&code),
                CodeKeys::parse_list(&list).unwrap().hash(&code)
            );
        }

        #[tokio::test]
        async fn a_missing_parameter_is_named() {
            let err = unresolved(&with_parameter())
                .resolve(&MemorySecrets::new())
                .await
                .err()
                .unwrap();
            assert_eq!(
                err.to_string(),
                format!(
                    "{CODE_SECRETS_PARAMETER} names {NAME}, which could not be read: no parameter has this name"
                )
            );
        }

        #[tokio::test]
        async fn a_malformed_or_unencrypted_parameter_is_named_without_its_value() {
            let long = "long-enough-secret-long-enough-secret";
            let short = "short-secret-value";
            let secrets = MemorySecrets::new();
            secrets.put(&name(), &format!("{long},{short}"));
            let err = unresolved(&with_parameter())
                .resolve(&secrets)
                .await
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(NAME) && err.contains("#2"), "{err}");
            assert!(!err.contains(short) && !err.contains(long), "{err}");

            secrets.put_unencrypted(&name(), long);
            let err = unresolved(&with_parameter())
                .resolve(&secrets)
                .await
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(NAME) && err.contains("SecureString"), "{err}");
            assert!(!err.contains(long), "{err}");
        }
    }
}
