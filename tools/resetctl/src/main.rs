//! resetctl: administration of a resetkit stage. Talks to whatever endpoint the standard
//! AWS configuration names, so `AWS_ENDPOINT_URL` points it at the local emulator.

use std::error::Error;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use aws_config::{BehaviorVersion, SdkConfig};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use resetctl::people::ImportReport;
use resetkit::adapters::dynamodb::DynamoStore;
use resetkit::domain::{FieldValue, HostVersion};
use resetkit::ports::{Clock, SystemClock, UserDirectory};

type Outcome = Result<(), Box<dyn Error>>;

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
    /// Create the courier's queue and dead-letter queue (local stacks; SAM creates them in
    /// AWS) and print their URLs as RESETKIT_QUEUE_URL and RESETKIT_DEAD_LETTER_QUEUE_URL lines.
    CreateQueues {
        /// Name prefix, e.g. `resetkit-local-`.
        #[arg(long)]
        prefix: String,
        /// Seconds a received job stays hidden before it is delivered again.
        #[arg(long, default_value_t = 30)]
        visibility_timeout: u32,
    },
    /// Import people from a JSON Lines file (one `{id?, system_user_id?, first_name,
    /// username, email, mobile, fields}` object per line). Fields are parsed with the stage's
    /// RESETKIT_EXTRA_FIELDS and RESETKIT_DEFAULT_COUNTRY, as the functions do. A person
    /// without `system_user_id` gets one; a line whose number someone holds is refused.
    /// Re-running skips people already there.
    Import {
        #[arg(long)]
        prefix: String,
        file: PathBuf,
        /// Create or replace each line's person as the people API's PUT does: `id` and
        /// `version` (the host's) required; a version not newer than the stored one is
        /// refused and changes nothing.
        #[arg(long)]
        upsert: bool,
    },
    /// One person, as the people API keeps them.
    People {
        #[command(subcommand)]
        command: PeopleCommand,
    },
    /// Print a person's two ids: the 32-hex user id (contracts A and B) and the SystemUserId
    /// (contract C).
    Ids {
        #[arg(long)]
        prefix: String,
        /// The person's user id or SystemUserId.
        id: String,
    },
    /// API keys: mint (the secret is printed once and only its hash is stored), list,
    /// revoke and rotate.
    Keys {
        #[command(subcommand)]
        command: resetctl::keys::KeysCommand,
    },
    /// Load the demo people and keys (local stacks only: the demo keys are public), and
    /// create the SES identity mail is sent from.
    SeedDemo {
        #[arg(long)]
        prefix: String,
        /// The sender address the functions use (RESETKIT_SENDER_EMAIL).
        #[arg(long)]
        sender: String,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A person's recent deliveries (sent, failed, suppressed, delivered, bounced,
    /// complained; from their audit events) and whether their email and mobile are
    /// suppressed. Needs the stage's code secrets as the functions get them:
    /// RESETKIT_CODE_SECRETS_PARAMETER (read from SSM) or RESETKIT_CODE_SECRETS.
    Deliveries {
        #[arg(long)]
        prefix: String,
        /// The person's user id or SystemUserId.
        id: String,
    },
    /// Addresses the courier sends nothing to (a hard bounce or a complaint).
    Suppression {
        #[command(subcommand)]
        command: SuppressionCommand,
    },
    /// Print the mail and SMS the local emulator captured (AWS_ENDPOINT_URL must name it),
    /// or, with `preview`, how a message of the catalogue (messages/) reads.
    #[command(args_conflicts_with_subcommands = true)]
    Messages {
        #[command(subcommand)]
        command: Option<MessagesCommand>,
        /// Only messages to this address or phone number.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
enum MessagesCommand {
    /// Render one kind in one locale with sample values: subject, text and HTML of the
    /// mail, and the SMS with its size in segments. Brand and support contact come from
    /// RESETKIT_BRAND_NAME and RESETKIT_SUPPORT_CONTACT unless given.
    Preview {
        /// staff_code, reset_link, password_changed, reset_sent_elsewhere or contact_changed.
        #[arg(long)]
        kind: String,
        /// A locale of the catalogue, e.g. fr.
        #[arg(long)]
        locale: String,
        #[arg(long, env = "RESETKIT_BRAND_NAME", default_value = "resetkit")]
        brand: String,
        #[arg(long, env = "RESETKIT_SUPPORT_CONTACT")]
        support: Option<String>,
        #[arg(long, default_value = "Ana")]
        first_name: String,
        /// The stage's reset link (its host is the one-tap line's).
        #[arg(
            long,
            env = "RESETKIT_RESET_LINK_TEMPLATE",
            default_value = "https://reset.example.com/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}"
        )]
        link_template: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log against its signed digests; exits 1 naming the first altered,
    /// missing or inserted event (or forged or missing digest). Needs the stage's code
    /// secrets as the functions get them (see `deliveries`).
    Verify {
        #[arg(long)]
        prefix: String,
    },
    /// Seal every ended period now, as the scheduled digest job does (same code secrets).
    Seal {
        #[arg(long)]
        prefix: String,
    },
}

#[derive(Subcommand)]
enum SuppressionCommand {
    /// Let the courier send to ADDRESS again (same code secrets as `deliveries`).
    Clear {
        #[arg(long)]
        prefix: String,
        /// An email address, or a phone number in E.164.
        #[arg(long)]
        address: String,
    },
}

#[derive(Subcommand)]
enum PeopleCommand {
    /// Print a person: ids, host version, fields (email and phone values masked),
    /// credential version.
    Get {
        #[arg(long)]
        prefix: String,
        /// The person's user id or SystemUserId.
        id: String,
    },
    /// Remove a person with their index entries (their live code or link stops working;
    /// their audit events stay). Audited as the operator's.
    Delete {
        #[arg(long)]
        prefix: String,
        /// The person's 32-hex user id.
        id: String,
        /// The host's version of the removal: refused unless newer than the stored person's.
        #[arg(long)]
        version: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A preview reads the built-in catalogue only: no AWS configuration to load.
    let result = match &cli.command {
        Command::Messages {
            command: Some(preview),
            ..
        } => preview_message(preview),
        _ => run(cli.command).await,
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

/// Every command but a preview: they talk to the stage's AWS account (or the emulator).
async fn run(command: Command) -> Outcome {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    match command {
        Command::CreateTables { prefix, template } => create_tables(&sdk, &prefix, &template).await,
        Command::CreateQueues {
            prefix,
            visibility_timeout,
        } => create_queues(&sdk, &prefix, visibility_timeout).await,
        Command::Import {
            prefix,
            file,
            upsert,
        } => import(&sdk, &prefix, &file, upsert).await,
        Command::People {
            command: PeopleCommand::Get { prefix, id },
        } => get_person(&sdk, &prefix, &id).await,
        Command::People {
            command:
                PeopleCommand::Delete {
                    prefix,
                    id,
                    version,
                },
        } => delete_person(&sdk, &prefix, &id, version).await,
        Command::Ids { prefix, id } => ids(&sdk, &prefix, &id).await,
        Command::Keys { command } => keys(&sdk, command).await,
        Command::SeedDemo { prefix, sender } => seed_demo(&sdk, &prefix, &sender).await,
        Command::Audit {
            command: AuditCommand::Verify { prefix },
        } => verify_audit(&sdk, &prefix).await,
        Command::Audit {
            command: AuditCommand::Seal { prefix },
        } => seal_audit(&sdk, &prefix).await,
        Command::Deliveries { prefix, id } => deliveries(&sdk, &prefix, &id).await,
        Command::Suppression {
            command: SuppressionCommand::Clear { prefix, address },
        } => clear_suppression(&sdk, &prefix, &address).await,
        Command::Messages { to, .. } => messages(to.as_deref()).await,
    }
}

fn store(sdk: &SdkConfig, prefix: &str) -> DynamoStore {
    DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), prefix)
}

async fn create_tables(sdk: &SdkConfig, prefix: &str, template: &PathBuf) -> Outcome {
    let yaml = std::fs::read_to_string(template)
        .map_err(|e| format!("reading {}: {e}", template.display()))?;
    let client = aws_sdk_dynamodb::Client::new(sdk);
    for table in resetctl::create_tables(&client, &yaml, prefix).await? {
        println!("{table}");
    }
    Ok(())
}

async fn create_queues(sdk: &SdkConfig, prefix: &str, visibility_secs: u32) -> Outcome {
    let client = aws_sdk_sqs::Client::new(sdk);
    let (queue, dead_letters) =
        resetctl::queues::create_queues(&client, prefix, visibility_secs).await?;
    println!("{}={queue}", resetkit::config::QUEUE_URL);
    println!("{}={dead_letters}", resetkit::config::DEAD_LETTER_QUEUE_URL);
    Ok(())
}

async fn import(sdk: &SdkConfig, prefix: &str, path: &PathBuf, upsert: bool) -> Outcome {
    let catalog = resetkit::config::field_catalog_from_env()?;
    let file = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let bar = ProgressBar::new(file.metadata()?.len());
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {eta}",
    )?);
    let (store, lines) = (store(sdk, prefix), BufReader::new(file));
    if upsert {
        let report = resetctl::people::upsert_users(&store, &catalog, lines, |n| bar.inc(n)).await;
        bar.finish_and_clear();
        let report = report?;
        for (line, reason) in &report.refused {
            eprintln!("line {line}: {reason}");
        }
        println!(
            "created {}, updated {}, unchanged {}, refused {}",
            report.created,
            report.updated,
            report.unchanged,
            report.refused.len()
        );
        return Ok(());
    }
    let report = resetctl::people::import_users(&store, &catalog, lines, |n| bar.inc(n)).await;
    bar.finish_and_clear();
    print_report(&report?);
    Ok(())
}

async fn get_person(sdk: &SdkConfig, prefix: &str, id: &str) -> Outcome {
    let store = store(sdk, prefix);
    let ids = resetctl::people::person_ids(&store, id).await?;
    let user = store
        .get_user(&ids.user_id)
        .await?
        .ok_or_else(|| format!("no person {id}"))?;
    println!("{ids}");
    match user.version {
        Some(v) => println!("version {v}"),
        None => println!("version none (not written through the people API)"),
    }
    for (name, value) in &user.fields {
        let shown = match value {
            FieldValue::Email(e) => e.masked(),
            FieldValue::Phone(p) => p.masked(),
            other => other.as_str().to_owned(),
        };
        println!("{name} {shown}");
    }
    println!("credential_version {}", user.credential_version);
    Ok(())
}

async fn delete_person(sdk: &SdkConfig, prefix: &str, id: &str, version: Option<u64>) -> Outcome {
    let catalog = resetkit::config::field_catalog_from_env()?;
    let version = version
        .map(HostVersion::new)
        .transpose()
        .map_err(|e| format!("--version: {e}"))?;
    let removed = resetctl::people::delete_person(
        &store(sdk, prefix),
        &catalog,
        id,
        version,
        SystemClock.now(),
    )
    .await?;
    println!("removed {}", removed.id);
    Ok(())
}

fn print_report(report: &ImportReport) {
    for (line, reason) in &report.rejected {
        eprintln!("line {line}: {reason}");
    }
    println!(
        "imported {}, already present {}, rejected {}",
        report.imported,
        report.already_present,
        report.rejected.len()
    );
}

async fn ids(sdk: &SdkConfig, prefix: &str, id: &str) -> Outcome {
    println!(
        "{}",
        resetctl::people::person_ids(&store(sdk, prefix), id).await?
    );
    Ok(())
}

async fn keys(sdk: &SdkConfig, command: resetctl::keys::KeysCommand) -> Outcome {
    let store = store(sdk, command.prefix());
    let mut out = std::io::stdout().lock();
    resetctl::keys::run(&store, command, SystemClock.now(), &mut out).await?;
    Ok(())
}

async fn seed_demo(sdk: &SdkConfig, prefix: &str, sender: &str) -> Outcome {
    // Before any call: the demo keys are public.
    resetctl::guard::require_loopback(sdk.endpoint_url())?;
    let ses = aws_sdk_sesv2::Client::new(sdk);
    if let Err(e) = ses
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await
    {
        if !e
            .as_service_error()
            .is_some_and(|s| s.is_already_exists_exception())
        {
            return Err(format!(
                "creating the SES identity {sender}: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(e)
            )
            .into());
        }
    }
    let report = resetctl::people::seed_demo(&store(sdk, prefix)).await?;
    print!("demo people: ");
    print_report(&report);
    println!("demo keys: {}", resetkit::demo::keys().len());
    Ok(())
}

async fn verify_audit(sdk: &SdkConfig, prefix: &str) -> Outcome {
    let keys = code_keys(sdk).await?;
    let report = resetctl::audit::verify(store(sdk, prefix), keys, SystemClock.now()).await?;
    print!("{report}");
    Ok(())
}

async fn seal_audit(sdk: &SdkConfig, prefix: &str) -> Outcome {
    let keys = code_keys(sdk).await?;
    let sealed = resetctl::audit::seal(store(sdk, prefix), keys, SystemClock.now()).await?;
    println!(
        "sealed {} periods ({} events) in {} digests",
        sealed.periods, sealed.events, sealed.digests
    );
    Ok(())
}

/// The stage's code keys, from the same settings the functions read.
async fn code_keys(sdk: &SdkConfig) -> Result<resetkit::domain::CodeKeys, Box<dyn Error>> {
    use resetkit::adapters::aws::{resolve_code_keys, PRODUCTION_BUDGETS};
    let source = resetkit::config::CodeSecretsSource::from_env()?;
    Ok(resolve_code_keys(sdk, source, &PRODUCTION_BUDGETS.dynamodb).await?)
}

async fn deliveries(sdk: &SdkConfig, prefix: &str, id: &str) -> Outcome {
    let keys = code_keys(sdk).await?;
    let report = resetctl::deliveries::deliveries(&store(sdk, prefix), &keys, id).await?;
    print!("{report}");
    Ok(())
}

async fn clear_suppression(sdk: &SdkConfig, prefix: &str, address: &str) -> Outcome {
    use resetkit::ports::{Clock, SystemClock};
    let keys = code_keys(sdk).await?;
    let cleared = resetctl::deliveries::clear_suppression(
        &store(sdk, prefix),
        &keys,
        address,
        SystemClock.now(),
    )
    .await?;
    println!(
        "{}",
        if cleared {
            "suppression cleared"
        } else {
            "the address was not suppressed"
        }
    );
    Ok(())
}

/// The emulator keeps the HTML part: show it as text, with links as they are clicked
/// (`&amp;` back to `&`), so they can be pasted.
fn readable(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.replace("</p>", "\n").chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    html_escape::decode_html_entities(text.trim()).into_owned()
}

async fn messages(to: Option<&str>) -> Outcome {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        "AWS_ENDPOINT_URL must name the local emulator (messages are only captured there)"
    })?;
    let captured = resetctl::captured::fetch(&endpoint).await?;
    let wanted = |addr: &str| to.is_none_or(|t| t.eq_ignore_ascii_case(addr));
    for mail in &captured.emails {
        let recipients = mail.destinations.to_addresses.join(", ");
        if mail.destinations.to_addresses.iter().any(|a| wanted(a)) {
            println!(
                "--- email to {recipients}: {}\n{}\n",
                mail.subject,
                readable(&mail.body)
            );
        }
    }
    for sms in captured.sms.iter().filter(|s| wanted(&s.phone_number)) {
        println!("--- sms to {}\n{}\n", sms.phone_number, sms.message);
    }
    Ok(())
}

fn preview_message(command: &MessagesCommand) -> Outcome {
    let MessagesCommand::Preview {
        kind,
        locale,
        brand,
        support,
        first_name,
        link_template,
    } = command;
    let text = resetctl::preview::preview(&resetctl::preview::Preview {
        kind,
        locale,
        brand: resetkit::domain::Brand {
            name: brand.clone(),
            support: support.clone(),
        },
        first_name: Some(first_name),
        link_template,
    })?;
    print!("{text}");
    Ok(())
}
