//! `template.yaml` against the code, so the two cannot drift apart: every function is given
//! every environment variable the code reads (`resetkit::config::ALL_KEYS`), the HTTP API
//! routes exactly the paths the functions serve (each crate's `ROUTES`, which its handler
//! checks), and the tables are the ones the DynamoDB adapter names (`Tables::SUFFIXES`).
//! The handlers are also asked directly: every routed path is served, any other is 404.
//! Needs no emulator.

use std::collections::{BTreeMap, BTreeSet};

use resetkit::adapters::dynamodb::Tables;
use resetkit::config::{ALL_KEYS, TABLE_PREFIX};
use resetkit::testing::{http_request, TestKit};
use serde_yaml::Value;

const TEMPLATE: &str = include_str!("../../../template.yaml");

type Route = (String, String);

/// What the code expects of one function's deployment.
struct Expected<'a> {
    binary: &'a str,
    routes: &'a [(&'a str, &'a str)],
    env: &'a [&'a str],
}

fn the_code() -> Vec<Expected<'static>> {
    // Every function builds its service through `resetkit::adapters::aws::init`, which
    // reads the whole configuration, so every function needs every key.
    vec![
        Expected {
            binary: "guest-reset",
            routes: guest_reset::ROUTES,
            env: ALL_KEYS,
        },
        Expected {
            binary: "forgot-password",
            routes: forgot_password::ROUTES,
            env: ALL_KEYS,
        },
        Expected {
            binary: "password-confirm",
            routes: password_confirm::ROUTES,
            env: ALL_KEYS,
        },
        Expected {
            binary: "people",
            routes: people::ROUTES,
            env: ALL_KEYS,
        },
        // The courier has no route: its event source is the delivery queue.
        Expected {
            binary: "courier",
            routes: &[],
            env: ALL_KEYS,
        },
        // The digest job neither: an EventBridge schedule runs it.
        Expected {
            binary: "audit-digest",
            routes: &[],
            env: ALL_KEYS,
        },
    ]
}

/// One `AWS::Serverless::Function` as deployed.
#[derive(Debug, Default)]
struct Deployed {
    env: BTreeSet<String>,
    routes: BTreeSet<Route>,
}

/// Every way `template` disagrees with `code` and with the adapter's `table_suffixes`,
/// one sentence each; empty when they agree.
fn drift(template: &str, code: &[Expected], table_suffixes: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let doc: Value = match serde_yaml::from_str(template) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("template.yaml is not YAML: {e}")],
    };
    let global_env = keys(
        doc.get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(env_of),
    );
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return vec!["template.yaml has no Resources".into()];
    };

    let mut deployed: BTreeMap<String, Deployed> = BTreeMap::new();
    let mut table_names = Vec::new();
    for (id, resource) in resources {
        let id = id.as_str().unwrap_or("?");
        match resource.get("Type").and_then(Value::as_str) {
            Some("AWS::Serverless::Function") => {
                let metadata = resource.get("Metadata");
                let binary = metadata
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"));
                let Some(binary) = binary.and_then(Value::as_str) else {
                    problems.push(format!(
                        "{id}: no Metadata.BuildProperties.Binary naming the function crate"
                    ));
                    continue;
                };
                if metadata
                    .and_then(|m| m.get("BuildMethod"))
                    .and_then(Value::as_str)
                    != Some("rust-cargolambda")
                {
                    problems.push(format!(
                        "{id}: Metadata.BuildMethod is not rust-cargolambda"
                    ));
                }
                let props = resource.get("Properties");
                let mut env = global_env.clone();
                env.extend(keys(props.and_then(env_of)));
                let mut routes = BTreeSet::new();
                let events = props
                    .and_then(|p| p.get("Events"))
                    .and_then(Value::as_mapping);
                for (_, event) in events.into_iter().flatten() {
                    if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                        continue;
                    }
                    let field = |k: &str| {
                        event
                            .get("Properties")
                            .and_then(|p| p.get(k))
                            .and_then(Value::as_str)
                    };
                    match (field("Method"), field("Path")) {
                        (Some(m), Some(p)) => {
                            routes.insert((m.to_ascii_uppercase(), p.to_owned()));
                        }
                        _ => problems.push(format!(
                            "{id}: an HttpApi event without a literal Method and Path"
                        )),
                    }
                }
                if deployed
                    .insert(binary.to_owned(), Deployed { env, routes })
                    .is_some()
                {
                    problems.push(format!("{binary} is deployed twice"));
                }
            }
            Some("AWS::DynamoDB::Table") => match resource
                .get("Properties")
                .and_then(|p| p.get("TableName"))
                .and_then(sub)
            {
                Some(name) => table_names.push(name),
                None => problems.push(format!("{id}: TableName is not a !Sub string")),
            },
            _ => {}
        }
    }

    // Functions and environment variables.
    for expected in code {
        let Some(function) = deployed.get(expected.binary) else {
            problems.push(format!(
                "{} is not deployed by the template",
                expected.binary
            ));
            continue;
        };
        for key in expected.env {
            if !function.env.contains(*key) {
                problems.push(format!(
                    "{} reads {key}, which the template does not set for it",
                    expected.binary
                ));
            }
        }
        for key in &function.env {
            if key.starts_with("RESETKIT_") && !expected.env.contains(&key.as_str()) {
                problems.push(format!(
                    "the template sets {key} for {}, which no code reads",
                    expected.binary
                ));
            }
        }
    }
    for binary in deployed.keys() {
        if !code.iter().any(|e| e.binary == binary) {
            problems.push(format!(
                "the template deploys {binary}, which is no function crate"
            ));
        }
    }

    // Routes: each routed path served by the function it goes to, each served path routed.
    let mut owner: BTreeMap<&Route, &str> = BTreeMap::new();
    for (binary, function) in &deployed {
        let serves: BTreeSet<Route> = code
            .iter()
            .find(|e| e.binary == binary)
            .map(|e| {
                e.routes
                    .iter()
                    .map(|(m, p)| (m.to_string(), p.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for route in &function.routes {
            if !serves.contains(route) {
                problems.push(format!(
                    "the template routes {} {} to {binary}, which does not serve it",
                    route.0, route.1
                ));
            }
            if let Some(other) = owner.insert(route, binary) {
                problems.push(format!(
                    "the template routes {} {} to both {other} and {binary}",
                    route.0, route.1
                ));
            }
        }
        for route in serves.difference(&function.routes) {
            problems.push(format!(
                "{binary} serves {} {}, which the template does not route",
                route.0, route.1
            ));
        }
    }

    // Tables: `{RESETKIT_TABLE_PREFIX}{suffix}` for exactly the adapter's suffixes.
    let prefix = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(env_of)
        .and_then(|vars| vars.get(TABLE_PREFIX))
        .and_then(sub);
    match prefix {
        None => problems.push(format!("Globals set {TABLE_PREFIX} to no !Sub string")),
        Some(prefix) => {
            let mut suffixes = BTreeSet::new();
            for name in &table_names {
                match name.strip_prefix(prefix.as_str()) {
                    Some(suffix) => {
                        suffixes.insert(suffix.to_owned());
                    }
                    None => problems.push(format!(
                        "table {name} does not start with {TABLE_PREFIX} ({prefix})"
                    )),
                }
            }
            let wanted: BTreeSet<String> = table_suffixes.iter().map(|s| s.to_string()).collect();
            for missing in wanted.difference(&suffixes) {
                problems.push(format!(
                    "the store uses table {prefix}{missing}, which the template does not define"
                ));
            }
            for extra in suffixes.difference(&wanted) {
                problems.push(format!(
                    "the template defines table {prefix}{extra}, which the store never uses"
                ));
            }
        }
    }
    problems
}

fn env_of(function: &Value) -> Option<&Value> {
    function.get("Environment")?.get("Variables")
}

fn keys(vars: Option<&Value>) -> BTreeSet<String> {
    vars.and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The string of a `!Sub "..."` (short form only, as the template writes it).
fn sub(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().map(str::to_owned),
        _ => None,
    }
}

fn assert_no_drift(template: &str, code: &[Expected]) {
    let problems = drift(template, code, &Tables::SUFFIXES);
    assert!(
        problems.is_empty(),
        "template.yaml and the code disagree:\n  {}",
        problems.join("\n  ")
    );
}

/// `TEMPLATE` with `from` replaced once, failing when `from` is not there (so a mutation
/// can never silently stop applying).
fn mutated(from: &str, to: &str) -> String {
    assert_eq!(
        TEMPLATE.matches(from).count(),
        1,
        "expected exactly one {from:?} in template.yaml"
    );
    TEMPLATE.replacen(from, to, 1)
}

fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

#[test]
fn template_matches_the_code() {
    assert_no_drift(TEMPLATE, &the_code());
}

#[test]
fn a_variable_the_code_reads_but_the_template_does_not_set_is_drift() {
    // The code starts reading a new variable:
    let mut keys = ALL_KEYS.to_vec();
    keys.push("RESETKIT_SOMETHING_NEW");
    let code = [Expected {
        binary: "guest-reset",
        routes: guest_reset::ROUTES,
        env: &keys,
    }];
    let problems = drift(TEMPLATE, &code, &Tables::SUFFIXES);
    assert!(
        has(
            &problems,
            "guest-reset reads RESETKIT_SOMETHING_NEW, which the template does not set"
        ),
        "{problems:?}"
    );

    // The template loses one:
    let template = mutated("        RESETKIT_MAX_ATTEMPTS: !Ref MaxAttempts\n", "");
    let problems = drift(&template, &the_code(), &Tables::SUFFIXES);
    for binary in ["guest-reset", "forgot-password", "password-confirm"] {
        assert!(
            has(&problems, &format!("{binary} reads RESETKIT_MAX_ATTEMPTS")),
            "{problems:?}"
        );
    }

    // Set for one function only: the other two still miss it.
    let template = template.replacen(
        "      MemorySize: !Ref ConfirmMemorySize\n",
        "      MemorySize: !Ref ConfirmMemorySize\n      Environment:\n        Variables:\n          RESETKIT_MAX_ATTEMPTS: !Ref MaxAttempts\n",
        1,
    );
    let problems = drift(&template, &the_code(), &Tables::SUFFIXES);
    assert!(
        !has(&problems, "password-confirm reads RESETKIT_MAX_ATTEMPTS"),
        "{problems:?}"
    );
    assert!(
        has(&problems, "guest-reset reads RESETKIT_MAX_ATTEMPTS"),
        "{problems:?}"
    );
    assert!(
        has(&problems, "forgot-password reads RESETKIT_MAX_ATTEMPTS"),
        "{problems:?}"
    );

    // A variable nobody reads is drift too (a renamed key, say).
    let template = mutated(
        "        RESETKIT_MAX_ATTEMPTS: !Ref",
        "        RESETKIT_MAX_TRIES: !Ref",
    );
    let problems = drift(&template, &the_code(), &Tables::SUFFIXES);
    assert!(
        has(
            &problems,
            "sets RESETKIT_MAX_TRIES for guest-reset, which no code reads"
        ),
        "{problems:?}"
    );
}

#[test]
fn a_route_no_function_serves_is_drift() {
    let template = mutated(
        "            Path: /v1/guests/password\n",
        "            Path: /v1/guests/passwd\n",
    );
    let problems = drift(&template, &the_code(), &Tables::SUFFIXES);
    assert!(
        has(
            &problems,
            "routes POST /v1/guests/passwd to guest-reset, which does not serve it"
        ),
        "{problems:?}"
    );
    assert!(
        has(
            &problems,
            "guest-reset serves POST /v1/guests/password, which the template does not route"
        ),
        "{problems:?}"
    );

    // Right path, wrong function.
    let template = mutated(
        "            Path: /reset\n",
        "            Path: /api/Authentication/ForgotPassword\n",
    );
    let problems = drift(&template, &the_code(), &Tables::SUFFIXES);
    assert!(
        has(&problems, "to password-confirm, which does not serve it"),
        "{problems:?}"
    );
    assert!(
        has(
            &problems,
            "password-confirm serves GET /reset, which the template does not route"
        ),
        "{problems:?}"
    );
}

#[test]
fn a_table_the_store_does_not_use_or_misses_is_drift() {
    let template = mutated(
        "TableName: !Sub resetkit-${Stage}-audit\n",
        "TableName: !Sub resetkit-${Stage}-audits\n",
    );
    let problems = drift(&template, &the_code(), &Tables::SUFFIXES);
    assert!(
        has(
            &problems,
            "uses table resetkit-${Stage}-audit, which the template does not define"
        ),
        "{problems:?}"
    );
    assert!(
        has(
            &problems,
            "defines table resetkit-${Stage}-audits, which the store never uses"
        ),
        "{problems:?}"
    );
}

/// The `ROUTES` constants are what each handler checks: every routed path is served (any
/// answer but 404), and a path outside them is 404.
#[tokio::test]
async fn the_handlers_serve_their_routes_and_nothing_else() {
    let kit = TestKit::new().await;
    // The courier serves no HTTP at all.
    for expected in the_code().into_iter().filter(|e| !e.routes.is_empty()) {
        let paths = expected
            .routes
            .iter()
            .map(|&(m, p)| (m, p, true))
            .chain([("POST", "/not/routed", false), ("GET", "/", false)]);
        for (method, path, served) in paths {
            let req = http_request(method, path, &[("content-type", "application/json")], "{}");
            let res = match expected.binary {
                "guest-reset" => guest_reset::handle(&kit.service, req).await,
                "forgot-password" => forgot_password::handle(&kit.service, req).await,
                "password-confirm" => password_confirm::handle(&kit.service, req).await,
                "people" => people::handle(&kit.service, req).await,
                other => panic!("no handler for {other}"),
            }
            .expect("handlers never err");
            let status = res.status().as_u16();
            assert_eq!(
                status != 404,
                served,
                "{} answered {status} to {method} {path}",
                expected.binary
            );
        }
    }
}

/// What a function's production build links: `cargo tree` over its normal dependencies,
/// with the features cargo resolves for that build alone (dev-dependencies, which enable
/// `testkit` for the tests, do not count there).
#[test]
fn no_function_build_compiles_the_testkit() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for function in [
        "guest-reset",
        "forgot-password",
        "password-confirm",
        "people",
        "courier",
        "audit-digest",
    ] {
        let out = std::process::Command::new(&cargo)
            .args(["tree", "--offline", "-p", function, "-e", "normal,features"])
            .args([
                "--manifest-path",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"),
            ])
            .output()
            .expect("cargo tree runs");
        let tree = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(tree.contains("resetkit feature \"default\""), "{tree}");
        assert!(
            !tree.contains("feature \"testkit\""),
            "{function} would compile the demo data and the store suite:\n{tree}"
        );
    }
}

/// Every way `template` could hand a function its code secrets other than by the
/// parameter's name, or leave a function unable to read that parameter; one sentence each.
fn code_secret_problems(template: &str) -> Vec<String> {
    let doc: Value = match serde_yaml::from_str(template) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("template.yaml is not YAML: {e}")],
    };
    let mut problems = Vec::new();
    for (id, parameter) in doc
        .get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        if parameter.get("NoEcho").and_then(Value::as_bool) == Some(true) {
            problems.push(format!(
                "parameter {} is a NoEcho secret: secrets belong in Parameter Store",
                id.as_str().unwrap_or("?")
            ));
        }
    }
    let global_env = keys(
        doc.get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(env_of),
    );
    if global_env.contains(resetkit::config::CODE_SECRETS) {
        problems.push("Globals set RESETKIT_CODE_SECRETS".into());
    }
    if !global_env.contains(resetkit::config::CODE_SECRETS_PARAMETER) {
        problems.push("Globals do not set RESETKIT_CODE_SECRETS_PARAMETER".into());
    }
    let functions = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function")
        });
    for (id, function) in functions {
        let id = id.as_str().unwrap_or("?");
        let props = function.get("Properties");
        if keys(props.and_then(env_of)).contains(resetkit::config::CODE_SECRETS) {
            problems.push(format!("{id} sets RESETKIT_CODE_SECRETS"));
        }
        let statements: Vec<&Value> = props
            .and_then(|p| p.get("Policies"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("Statement").and_then(Value::as_sequence))
            .flatten()
            .collect();
        let allows = |action: &str| {
            statements.iter().copied().find(|s| {
                s.get("Effect").and_then(Value::as_str) == Some("Allow")
                    && s.get("Action")
                        .and_then(Value::as_sequence)
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(action)))
            })
        };
        match allows("ssm:GetParameter").and_then(|s| s.get("Resource")) {
            Some(Value::Tagged(t))
                if t.tag == "Sub"
                    && t.value
                        .as_sequence()
                        .and_then(|s| s.first())
                        .and_then(Value::as_str)
                        .is_some_and(|arn| arn.ends_with(":parameter${Name}")) => {}
            _ => problems.push(format!(
                "{id} may not ssm:GetParameter on exactly the code secrets' parameter"
            )),
        }
        let via_ssm = allows("kms:Decrypt")
            .and_then(|s| s.get("Condition"))
            .and_then(|c| c.get("StringEquals"))
            .and_then(|c| c.get("kms:ViaService"))
            .and_then(sub)
            .is_some_and(|v| v == "ssm.${AWS::Region}.amazonaws.com");
        if !via_ssm {
            problems.push(format!(
                "{id} may not kms:Decrypt, or may beyond SSM's requests (kms:ViaService)"
            ));
        }
    }
    problems
}

#[test]
fn the_code_secrets_reach_the_functions_only_as_a_parameter_name() {
    assert_eq!(code_secret_problems(TEMPLATE), Vec::<String>::new());

    // The secrets back in the function configuration:
    let template = mutated(
        "        RESETKIT_CODE_SECRETS_PARAMETER: !If",
        "        RESETKIT_CODE_SECRETS: !Ref CodeSecrets\n        RESETKIT_CODE_SECRETS_PARAMETER: !If",
    )
    .replacen(
        "  CodeSecretsParameterName:\n",
        "  CodeSecrets:\n    Type: String\n    NoEcho: true\n  CodeSecretsParameterName:\n",
        1,
    );
    let problems = code_secret_problems(&template);
    assert!(
        has(&problems, "Globals set RESETKIT_CODE_SECRETS"),
        "{problems:?}"
    );
    assert!(
        has(&problems, "parameter CodeSecrets is a NoEcho secret"),
        "{problems:?}"
    );

    // A function that may decrypt with any key for any caller, and one that may read any
    // parameter:
    let template = TEMPLATE
        .replacen(
            "                  kms:ViaService: !Sub ssm.${AWS::Region}.amazonaws.com\n",
            "",
            1,
        )
        .replacen(":parameter${Name}\n", ":parameter/*\n", 1);
    let problems = code_secret_problems(&template);
    assert!(
        has(&problems, "GuestResetFunction may not kms:Decrypt"),
        "{problems:?}"
    );
    assert!(
        has(&problems, "GuestResetFunction may not ssm:GetParameter"),
        "{problems:?}"
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}
