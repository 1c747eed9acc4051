//! Mail and SMS the local emulator (moto server) captured instead of delivering, read from
//! its `GET /moto-api/data.json`: SES mail (v1 and v2 sends alike) under `ses.Message`, SMS
//! under `sns.SMS`. Only the emulator has this API; a real account has no such read-back.

use serde::Deserialize;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Error)]
pub enum CapturedError {
    #[error("the emulator endpoint must look like http://host:port, not '{0}'")]
    Endpoint(String),
    #[error("talking to the emulator: {0}")]
    Io(#[from] std::io::Error),
    #[error("the emulator answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the emulator's answer is not HTTP or has an unexpected shape: {0}")]
    Shape(String),
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

/// Everything captured so far, oldest first, from every client of the emulator.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub emails: Vec<CapturedEmail>,
    pub sms: Vec<CapturedSms>,
}

impl Captured {
    pub fn emails_to(&self, address: &str) -> Vec<&CapturedEmail> {
        self.emails
            .iter()
            .filter(|m| {
                m.destinations
                    .to_addresses
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(address))
            })
            .collect()
    }

    pub fn sms_to(&self, number: &str) -> Vec<&CapturedSms> {
        self.sms
            .iter()
            .filter(|m| m.phone_number == number)
            .collect()
    }
}

/// Reads what the emulator at `endpoint` captured.
pub async fn fetch(endpoint: &str) -> Result<Captured, CapturedError> {
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
    let (status, body) = http(endpoint, "GET", "/moto-api/data.json").await?;
    if status != 200 {
        return Err(CapturedError::Status {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let data: Data =
        serde_json::from_slice(&body).map_err(|e| CapturedError::Shape(e.to_string()))?;
    Ok(Captured {
        emails: data.ses.message,
        sms: data.sns.sms,
    })
}

/// A bare HTTP/1.0 request without a body to the emulator's own API, returning status and
/// body. HTTP/1.0: no chunked encoding, and the server ends the body by closing.
pub async fn http(
    endpoint: &str,
    method: &str,
    path: &str,
) -> Result<(u16, Vec<u8>), CapturedError> {
    let authority = endpoint
        .trim_end_matches('/')
        .strip_prefix("http://")
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .ok_or_else(|| CapturedError::Endpoint(endpoint.to_owned()))?;
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request =
        format!("{method} {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| CapturedError::Shape("no end of headers".into()))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            CapturedError::Shape(format!(
                "status line '{}'",
                head.lines().next().unwrap_or("")
            ))
        })?;
    Ok((status, response[split + 4..].to_vec()))
}
