//! The `Metrics` port as CloudWatch embedded-metric-format lines: one JSON object on stdout
//! per count, which Lambda's log pipeline turns into metrics with no API call and no extra
//! latency.

use serde_json::json;

use crate::domain::{Endpoint, Timestamp};
use crate::ports::{Metric, Metrics};

pub const NAMESPACE: &str = "resetkit";

/// Writes each count to stdout, where Lambda collects it.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmfMetrics;

impl Metrics for EmfMetrics {
    fn record(&self, endpoint: Endpoint, metric: Metric, at: Timestamp) {
        println!("{}", document(endpoint, metric, at));
    }
}

/// The EMF document for one count of `metric` at `at`.
pub fn document(endpoint: Endpoint, metric: Metric, at: Timestamp) -> serde_json::Value {
    json!({
        "_aws": {
            "Timestamp": u128::from(at.unix_seconds()) * 1000,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LimitReason;

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let d = document(
            Endpoint::ForgotPassword,
            Metric::LimitHit(LimitReason::Recipient),
            Timestamp::from_unix_seconds(1_700_000_000),
        );
        assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000u64);
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
