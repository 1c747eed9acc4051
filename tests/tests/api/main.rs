//! Integration tests against the AWS emulator (moto server): the same SDK code paths as in
//! production, pointed at a local endpoint. Run them with `bash scripts/test.sh`.

mod abuse;
mod dynamodb_store;
mod flows;
mod helpers;
mod notifier;
mod reset_page;
mod template;
