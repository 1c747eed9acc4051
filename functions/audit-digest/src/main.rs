//! The digest job, run by an EventBridge schedule every period (5 minutes): it seals every
//! period of the audit log that has ended into signed, chained digests. The schedule's
//! event carries nothing it needs; the time is the clock's.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use resetkit::ports::{Clock, SystemClock};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let trail = resetkit::adapters::aws::init_audit_trail().await?;
    run(service_fn(|_: LambdaEvent<Value>| async {
        // A failure fails the invocation: Lambda retries it, and the next run resumes from
        // the last digest written either way.
        let sealed = trail.seal_due(SystemClock.now()).await?;
        tracing::info!(
            periods = sealed.periods,
            digests = sealed.digests,
            events = sealed.events,
            yielded = sealed.yielded,
            "audit periods sealed"
        );
        Ok::<_, Error>(json!({
            "periods": sealed.periods,
            "digests": sealed.digests,
            "events": sealed.events,
            "sealed_until": sealed.sealed_until.map(|t| t.unix_seconds()),
        }))
    }))
    .await
}
