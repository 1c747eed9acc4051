//! Integration tests against the AWS emulator (moto server): the same SDK code paths as in
//! production, pointed at a local endpoint. Run them with `bash scripts/test.sh`.

mod abuse;
mod audit;
mod bounces;
mod code_secrets;
mod corpus;
mod delivery;
mod dynamodb_store;
mod fault_client;
mod faults;
mod flows;
mod fuzz_corpus;
mod helpers;
mod keys;
mod messages;
mod notifier;
mod openapi;
mod people;
mod report;
mod reset_page;
mod schemathesis;
mod server;
mod strangers;
mod template;
