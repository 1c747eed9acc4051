//! `seed-demo` writes keys that are public in this repository (an employee key with
//! `guests:edit`, a server key with `password:reveal`): loaded into a real account they
//! would be anyone's. It runs only against an emulator on this machine.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NotLocal {
    #[error("refused: no AWS_ENDPOINT_URL, so this would write to a real AWS account; seed-demo loads public keys and runs only against a local emulator (http://127.0.0.1:<port>)")]
    NoEndpoint,
    #[error("refused: {0} is not a loopback address; seed-demo loads public keys and runs only against a local emulator")]
    NotLoopback(String),
}

/// `Ok` only for an endpoint URL whose host is a loopback address or `localhost`.
pub fn require_loopback(endpoint: Option<&str>) -> Result<(), NotLocal> {
    let url = endpoint.ok_or(NotLocal::NoEndpoint)?;
    let refuse = || NotLocal::NotLoopback(url.chars().take(200).collect());
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(refuse)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_endpoints_pass() {
        for ok in [
            "http://127.0.0.1:5000",
            "http://127.0.0.9:5000/",
            "http://localhost:4566",
            "http://[::1]:5000",
        ] {
            assert_eq!(require_loopback(Some(ok)), Ok(()), "{ok}");
        }
        assert_eq!(require_loopback(None), Err(NotLocal::NoEndpoint));
        for bad in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.5:5000",
            "http://127.0.0.1.evil.example:5000",
            "http://127.0.0.1@evil.example",
            "http://localhost.evil.example",
            "127.0.0.1:5000",
            "http://[::2]:5000",
        ] {
            assert!(require_loopback(Some(bad)).is_err(), "{bad}");
        }
    }
}
