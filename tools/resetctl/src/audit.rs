//! `resetctl audit verify`: reads one stream's hash chain (a key query, no scan) and checks
//! every link.

use resetkit::domain::audit::{verify_chain, ChainBreak};
use resetkit::ports::{AuditLog, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("stream {stream}: {source}")]
    Broken { stream: String, source: ChainBreak },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `user:<id>` for a user id given bare; any other stream name as given.
pub fn stream_name(subject: &str) -> String {
    if subject.contains(':') || subject == "anonymous" {
        subject.to_owned()
    } else {
        format!("user:{subject}")
    }
}

/// The number of links when the chain is intact.
pub async fn verify(log: &impl AuditLog, stream: &str) -> Result<usize, AuditError> {
    let links = log.read_stream(stream).await?;
    verify_chain(&links).map_err(|source| AuditError::Broken {
        stream: stream.to_owned(),
        source,
    })
}
