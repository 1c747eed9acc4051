//! CloudWatch embedded-metric-format lines: one JSON object on stdout per event, which
//! Lambda's log pipeline turns into metrics with no API call and no extra latency.

use serde_json::json;

use crate::domain::Channel;
use crate::service::{Endpoint, LimitReason};

pub const NAMESPACE: &str = "resetkit";

/// Something worth counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Sent(Channel),
    /// A send withheld: the recipient was over its limit, or had no address on file.
    Suppressed,
    DeliveryFailed(Channel),
    LimitHit(LimitReason),
    PasswordChanged,
    CodeRejected,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Sent(_) => "Sent",
            Metric::Suppressed => "Suppressed",
            Metric::DeliveryFailed(_) => "DeliveryFailed",
            Metric::LimitHit(_) => "LimitHit",
            Metric::PasswordChanged => "PasswordChanged",
            Metric::CodeRejected => "CodeRejected",
        }
    }

    /// The second dimension's value: channel or reason, where there is one.
    fn detail(self) -> &'static str {
        match self {
            Metric::Sent(c) | Metric::DeliveryFailed(c) => c.as_str(),
            Metric::LimitHit(r) => r.as_str(),
            _ => "all",
        }
    }
}

/// The EMF document for one count of `metric` at `timestamp_ms`.
pub fn document(endpoint: Endpoint, metric: Metric, timestamp_ms: u128) -> serde_json::Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Endpoint", "Detail"]],
                "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
            }],
        },
        "Endpoint": endpoint.as_str(),
        "Detail": metric.detail(),
        metric.name(): 1,
    })
}

/// Writes one count of `metric` to stdout, where Lambda collects it.
pub fn emit(endpoint: Endpoint, metric: Metric) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    println!("{}", document(endpoint, metric, now_ms));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let d = document(
            Endpoint::ForgotPassword,
            Metric::LimitHit(LimitReason::Recipient),
            1_700_000_000_000,
        );
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "LimitHit"
        );
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            json!(["Endpoint", "Detail"])
        );
        assert_eq!(
            (
                d["Endpoint"].as_str(),
                d["Detail"].as_str(),
                d["LimitHit"].as_i64()
            ),
            (
                Some("forgot-password"),
                Some("recipient_rate_limited"),
                Some(1)
            )
        );
    }
}
