//! resetctl: administration of a resetkit stage. Talks to whatever endpoint the standard
//! AWS configuration names, so `AWS_ENDPOINT_URL` points it at the local emulator.

use std::path::PathBuf;
use std::process::ExitCode;

use aws_config::BehaviorVersion;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "resetctl", version, about = "Administer a resetkit stage")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the stage's tables from template.yaml; existing tables are left alone.
    CreateTables {
        /// Table name prefix, e.g. `resetkit-dev-`.
        #[arg(long)]
        prefix: String,
        /// The SAM template that defines the tables.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let result = match cli.command {
        Command::CreateTables { prefix, template } => create_tables(&sdk, &prefix, &template).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resetctl: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn create_tables(
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    template: &PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    let yaml = std::fs::read_to_string(template).map_err(|e| format!("reading {}: {e}", template.display()))?;
    let client = aws_sdk_dynamodb::Client::new(sdk);
    for table in resetctl::create_tables(&client, &yaml, prefix).await? {
        println!("{table}");
    }
    Ok(())
}
