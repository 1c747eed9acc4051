//! Shared arrangements: an emulator-backed stack with uniquely named tables, and the
//! messages the emulator captured instead of delivering.

// Not every test uses every helper or captured field.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use resetkit::adapters::dynamodb::DynamoStore;
use resetkit::adapters::notify::AwsNotifier;
use resetkit::ports::{OsRandom, RandomSource};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the emulator listens, e.g. `http://127.0.0.1:5000`.
pub const ENDPOINT_VAR: &str = "RESETKIT_TEST_ENDPOINT";

/// The table definitions: the same file SAM deploys.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The SES identity test mail is sent from.
pub const SENDER: &str = "no-reply@resetkit.example.com";

/// The emulator's endpoint. These tests are never skipped: without an emulator they fail,
/// saying how to get one.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{ENDPOINT_VAR} is not set. These tests run against the AWS emulator: run them with \
             `bash scripts/test.sh`, which starts moto and sets it (or start one with \
             `scripts/emulator.sh start` and export {ENDPOINT_VAR}=<the printed endpoint>)."
        ),
    }
}

/// Clients and a store over fresh tables on the emulator.
pub struct TestStack {
    pub endpoint: String,
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    /// The table prefix of `store`, e.g. `t3f9a…-`.
    pub prefix: String,
    /// `store`'s tables, in template order.
    pub tables: Vec<String>,
    pub store: DynamoStore,
}

/// An SDK configuration for the emulator: its endpoint, us-east-1, static test credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

/// Wires the stack as a function's `main.rs` does, on tables no other test uses.
pub async fn spawn_stack() -> TestStack {
    let endpoint = endpoint();
    let sdk = sdk_config(&endpoint).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let (prefix, tables) = create_tables(&dynamodb).await;
    TestStack {
        store: DynamoStore::new(dynamodb.clone(), &prefix),
        ses: aws_sdk_sesv2::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        endpoint,
        sdk,
        dynamodb,
        prefix,
        tables,
    }
}

impl TestStack {
    /// Another store, on its own new tables.
    pub async fn fresh_store(&self) -> DynamoStore {
        let (prefix, _) = create_tables(&self.dynamodb).await;
        DynamoStore::new(self.dynamodb.clone(), &prefix)
    }

    /// The production notifier, sending as `SENDER` (created as an SES identity first,
    /// since SES refuses mail from unknown identities).
    pub async fn notifier(&self) -> AwsNotifier {
        let created = self.ses.create_email_identity().email_identity(SENDER).send().await;
        if let Err(e) = created {
            let exists = e.as_service_error().is_some_and(|s| s.is_already_exists_exception());
            assert!(exists, "create_email_identity: {}", aws_sdk_sesv2::error::DisplayErrorContext(e));
        }
        AwsNotifier::new(self.ses.clone(), self.sns.clone(), SENDER.to_owned(), None)
    }
}

async fn create_tables(client: &aws_sdk_dynamodb::Client) -> (String, Vec<String>) {
    let prefix = format!("t{}-", random_hex(6));
    let tables = resetctl::create_tables(client, TEMPLATE, &prefix)
        .await
        .unwrap_or_else(|e| panic!("creating tables with prefix {prefix}: {e} ({:?})", std::error::Error::source(&e)));
    (prefix, tables)
}

/// `bytes` random bytes as lower-case hex: unique names for tables, addresses, numbers.
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRandom.fill(&mut b);
    hex::encode(b)
}

/// A US number no other test uses (valid for libphonenumber: 415 area, 2xx exchange).
pub fn unique_us_mobile() -> String {
    let mut b = [0u8; 4];
    OsRandom.fill(&mut b);
    format!("+1415{}", 2_000_000 + u32::from_le_bytes(b) % 8_000_000)
}

/// An email the emulator accepted for delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct CapturedEmail {
    pub id: String,
    pub source: String,
    pub destinations: EmailDestinations,
    pub subject: String,
    /// The HTML part when the message has one (moto keeps one body), else the text part.
    pub body: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EmailDestinations {
    pub to_addresses: Vec<String>,
    pub cc_addresses: Vec<String>,
    pub bcc_addresses: Vec<String>,
}

/// An SMS the emulator accepted for delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct CapturedSms {
    pub message_id: String,
    pub phone_number: String,
    pub message: String,
}

/// Everything the emulator has captured so far, from every test sharing it: filter by
/// recipient (each test uses its own).
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub emails: Vec<CapturedEmail>,
    pub sms: Vec<CapturedSms>,
}

impl Captured {
    pub fn emails_to(&self, address: &str) -> Vec<&CapturedEmail> {
        self.emails
            .iter()
            .filter(|m| m.destinations.to_addresses.iter().any(|a| a.eq_ignore_ascii_case(address)))
            .collect()
    }

    pub fn sms_to(&self, number: &str) -> Vec<&CapturedSms> {
        self.sms.iter().filter(|m| m.phone_number == number).collect()
    }
}

/// Reads `GET {endpoint}/moto-api/data.json`: SES mail under `ses.Message` (SES v2 sends
/// land there too), SMS under `sns.SMS`.
pub async fn captured_messages(endpoint: &str) -> Captured {
    #[derive(Deserialize)]
    struct Data {
        #[serde(default)]
        ses: Ses,
        #[serde(default)]
        sns: Sns,
    }
    #[derive(Deserialize, Default)]
    struct Ses {
        #[serde(rename = "Message", default)]
        message: Vec<CapturedEmail>,
    }
    #[derive(Deserialize, Default)]
    struct Sns {
        #[serde(rename = "SMS", default)]
        sms: Vec<CapturedSms>,
    }
    let (status, body) = http(endpoint, "GET", "/moto-api/data.json").await;
    assert_eq!(status, 200, "data.json answered {status}: {}", String::from_utf8_lossy(&body));
    let data: Data = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("data.json has an unexpected shape ({e}): {}", String::from_utf8_lossy(&body)));
    Captured { emails: data.ses.message, sms: data.sns.sms }
}

/// A bare HTTP/1.0 request to the emulator (no body), returning status and body. Enough
/// for moto's own API; HTTP/1.0 means no chunked encoding and the server closes the stream.
pub async fn http(endpoint: &str, method: &str, path: &str) -> (u16, Vec<u8>) {
    let authority =
        endpoint.strip_prefix("http://").unwrap_or_else(|| panic!("{ENDPOINT_VAR} must be http://host:port"));
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .unwrap_or_else(|e| panic!("connecting to the emulator at {authority}: {e}"));
    let request = format!("{method} {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap_or_else(|e| panic!("writing to the emulator: {e}"));
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap_or_else(|e| panic!("reading from the emulator: {e}"));
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP header end"));
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    (status, response[split + 4..].to_vec())
}
