//! Shared arrangements: an emulator-backed stack with uniquely named tables, and the
//! messages the emulator captured instead of delivering.

// Not every test uses every helper or captured field.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use resetkit::adapters::dynamodb::DynamoStore;
use resetkit::adapters::notify::AwsNotifier;
use resetkit::adapters::sqs::SqsQueue;
use resetkit::ports::{OsRandom, RandomSource};

/// Where the emulator listens, e.g. `http://127.0.0.1:5000`.
pub const ENDPOINT_VAR: &str = "RESETKIT_TEST_ENDPOINT";

/// The table definitions: the same file SAM deploys.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The SES identity test mail is sent from.
pub const SENDER: &str = "no-reply@resetkit.example.com";

/// The emulator's endpoint. These tests are never skipped: without an emulator they fail,
/// saying how to get one.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{ENDPOINT_VAR} is not set. These tests run against the AWS emulator: run them with \
             `bash scripts/test.sh`, which starts moto and sets it (or start one with \
             `scripts/emulator.sh start` and export {ENDPOINT_VAR}=<the printed endpoint>)."
        ),
    }
}

/// Clients and a store over fresh tables on the emulator.
pub struct TestStack {
    pub endpoint: String,
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The table prefix of `store`, e.g. `t3f9a…-`.
    pub prefix: String,
    /// `store`'s tables, in template order.
    pub tables: Vec<String>,
    pub store: DynamoStore,
}

/// An SDK configuration for the emulator: its endpoint, us-east-1, static test credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

/// The emulator the fault matrix runs on: one of its own when the test command started one
/// (`RESETKIT_FAULT_TEST_ENDPOINT`), so that the rest of the suite's load on the shared,
/// single-threaded emulator does not eat the production time budgets the matrix runs under;
/// else the shared one.
pub fn fault_endpoint() -> String {
    match std::env::var("RESETKIT_FAULT_TEST_ENDPOINT") {
        Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_owned(),
        _ => endpoint(),
    }
}

/// The emulator the load tests flood with hundreds of connections at once: one of its own
/// when the test command started one (`RESETKIT_LOAD_TEST_ENDPOINT`), since a burst that
/// overflows an emulator's listen backlog stalls every other test's calls to it; else the
/// shared one.
pub fn load_endpoint() -> String {
    match std::env::var("RESETKIT_LOAD_TEST_ENDPOINT") {
        Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_owned(),
        _ => endpoint(),
    }
}

/// How many requests a load test keeps in flight on one emulator. The emulator serves one
/// request at a time and closes each connection; a burst of hundreds overflows its listen
/// backlog (128), the kernel drops the extra SYNs, and on a loaded two-core machine enough
/// calls then outwait their connect or attempt budget to answer 503: the emulator's
/// failure, not the code's. Two dozen requests at once still race on the same items (a
/// shared key's counters, one person's verification), which is what these tests show.
pub const IN_FLIGHT: usize = 24;

/// Runs `requests` with at most `IN_FLIGHT` of them in flight, answers in their order.
pub async fn paced<F: std::future::Future>(
    requests: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    use futures::StreamExt;
    futures::stream::iter(requests)
        .buffered(IN_FLIGHT)
        .collect()
        .await
}

/// Wires the stack as a function's `main.rs` does, on tables no other test uses.
pub async fn spawn_stack() -> TestStack {
    spawn_stack_at(endpoint()).await
}

/// `spawn_stack` on the emulator at `endpoint`.
pub async fn spawn_stack_at(endpoint: String) -> TestStack {
    let sdk = sdk_config(&endpoint).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let (prefix, tables) = create_tables(&dynamodb).await;
    TestStack {
        store: DynamoStore::new(dynamodb.clone(), &prefix),
        ses: aws_sdk_sesv2::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        endpoint,
        sdk,
        dynamodb,
        prefix,
        tables,
    }
}

impl TestStack {
    /// Another store, on its own new tables.
    pub async fn fresh_store(&self) -> DynamoStore {
        let (prefix, _) = create_tables(&self.dynamodb).await;
        DynamoStore::new(self.dynamodb.clone(), &prefix)
    }

    /// The courier's queue and its dead-letter queue, new, named after the tables: URLs. A
    /// short visibility timeout: a message whose courier was killed comes back soon.
    pub async fn queues(&self) -> (String, String) {
        resetctl::queues::create_queues(&self.sqs, &self.prefix, 10)
            .await
            .unwrap_or_else(|e| panic!("creating the queues: {e:?}"))
    }

    /// The production notifier, sending as `SENDER` (created as an SES identity first,
    /// since SES refuses mail from unknown identities).
    pub async fn notifier(&self) -> AwsNotifier {
        let created = self
            .ses
            .create_email_identity()
            .email_identity(SENDER)
            .send()
            .await;
        if let Err(e) = created {
            let exists = e
                .as_service_error()
                .is_some_and(|s| s.is_already_exists_exception());
            assert!(
                exists,
                "create_email_identity: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(e)
            );
        }
        AwsNotifier::new(self.ses.clone(), self.sns.clone(), SENDER.to_owned(), None)
    }
}

async fn create_tables(client: &aws_sdk_dynamodb::Client) -> (String, Vec<String>) {
    let prefix = format!("t{}-", random_hex(6));
    let tables = resetctl::create_tables(client, TEMPLATE, &prefix)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "creating tables with prefix {prefix}: {e} ({:?})",
                std::error::Error::source(&e)
            )
        });
    (prefix, tables)
}

/// `bytes` random bytes as lower-case hex: unique names for tables, addresses, numbers.
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRandom.fill(&mut b);
    hex::encode(b)
}

/// A US number no other test uses (valid for libphonenumber: 415 area, 2xx exchange).
pub fn unique_us_mobile() -> String {
    let mut b = [0u8; 4];
    OsRandom.fill(&mut b);
    format!("+1415{}", 2_000_000 + u32::from_le_bytes(b) % 8_000_000)
}

pub use resetctl::captured::Captured;

/// Everything the emulator has captured so far, from every test sharing it: filter by
/// recipient (each test uses its own).
pub async fn captured_messages(endpoint: &str) -> Captured {
    resetctl::captured::fetch(endpoint)
        .await
        .unwrap_or_else(|e| panic!("reading captured messages: {e}"))
}

/// Where flow-B links point in these tests; the tests read `LeadId` and
/// `TemporaryPassword` back out of the link.
pub const LINK_TEMPLATE: &str =
    "https://reset.example.com/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}";

/// The whole bundle as the functions' `main.rs` wire it (same `build`, same configuration
/// parser), on the emulator: its tables and queues, the demo keys, the three handlers and
/// the courier. The courier runs on the stack's own clients (never behind a fault plan) and
/// delivers what a request queued before the request's helper returns ([`TestApp::deliver`]).
pub struct TestApp {
    pub stack: TestStack,
    pub service: resetkit::adapters::aws::AwsResetkit,
    pub courier: resetkit::adapters::aws::AwsCourier,
    pub queues: courier::SqsQueues,
}

impl TestApp {
    /// Everything queued so far, delivered (as the courier does a moment after a request in
    /// production); retries the courier scheduled for later stay queued.
    pub async fn deliver(&self) {
        courier::local::drain(&self.courier, &self.queues)
            .await
            .unwrap_or_else(|e| panic!("the courier drains its queue: {e}"));
    }
}

/// `spawn_app_with` the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// A stack whose functions read `overrides` on top of the settings a local stage uses.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(
        overrides,
        SdkConfig::clone,
        &resetkit::adapters::aws::EMULATOR_BUDGETS,
    )
    .await
}

/// `spawn_app_with`, with the functions' AWS clients made from `sdk(&stack.sdk)` (another
/// HTTP client, say: the fault tests put one that fails chosen calls in front of moto) and
/// time budgets `budgets` (the fault tests use production's).
pub async fn spawn_app_on(
    overrides: &[(&str, &str)],
    sdk: impl FnOnce(&SdkConfig) -> SdkConfig,
    budgets: &resetkit::adapters::aws::Budgets,
) -> TestApp {
    spawn_app_at(endpoint(), overrides, sdk, budgets).await
}

/// `spawn_app_with`, with the courier's AWS clients made from `courier_sdk(&stack.sdk)` (the
/// courier tests put a fault plan in front of SES, DynamoDB or SQS).
pub async fn spawn_courier_app(
    overrides: &[(&str, &str)],
    courier_sdk: impl FnOnce(&SdkConfig) -> SdkConfig,
) -> TestApp {
    let (stack, config) = seeded_stack_at(endpoint(), overrides).await;
    let courier_sdk = courier_sdk(&stack.sdk);
    let functions_sdk = stack.sdk.clone();
    assemble(
        stack,
        config,
        &functions_sdk,
        &resetkit::adapters::aws::EMULATOR_BUDGETS,
        &courier_sdk,
    )
}

/// `spawn_app_on` on the emulator at `endpoint`.
pub async fn spawn_app_at(
    endpoint: String,
    overrides: &[(&str, &str)],
    sdk: impl FnOnce(&SdkConfig) -> SdkConfig,
    budgets: &resetkit::adapters::aws::Budgets,
) -> TestApp {
    let (stack, config) = seeded_stack_at(endpoint, overrides).await;
    let functions_sdk = sdk(&stack.sdk);
    let courier_sdk = stack.sdk.clone();
    assemble(stack, config, &functions_sdk, budgets, &courier_sdk)
}

/// The app over `stack` and `config`: the functions' service on clients made from
/// `functions_sdk` with `budgets`, the courier on clients made from `courier_sdk` with the
/// emulator's budgets.
fn assemble(
    stack: TestStack,
    config: resetkit::config::Config,
    functions_sdk: &SdkConfig,
    budgets: &resetkit::adapters::aws::Budgets,
    courier_sdk: &SdkConfig,
) -> TestApp {
    let service = resetkit::adapters::aws::build_with(functions_sdk, config.clone(), budgets);
    let parts = resetkit::adapters::aws::build_courier_with(
        courier_sdk,
        config,
        &resetkit::adapters::aws::EMULATOR_BUDGETS,
    )
    .unwrap_or_else(|e| panic!("the courier's configuration: {e}"));
    TestApp {
        stack,
        service,
        courier: parts.courier,
        queues: courier::SqsQueues::new(parts.queue, parts.dead_letters),
    }
}

/// Fresh tables with the demo keys, and the functions' configuration for them: the settings
/// a local stage uses with `overrides` on top, read by the functions' own parser, the code
/// secrets read from a SecureString parameter on the emulator as a cold start reads them.
async fn seeded_stack(overrides: &[(&str, &str)]) -> (TestStack, resetkit::config::Config) {
    seeded_stack_at(endpoint(), overrides).await
}

async fn seeded_stack_at(
    endpoint: String,
    overrides: &[(&str, &str)],
) -> (TestStack, resetkit::config::Config) {
    use resetkit::config;
    let stack = spawn_stack_at(endpoint).await;
    stack.notifier().await; // creates the SES sender identity
    let (queue, dead_letters) = stack.queues().await;
    resetctl::people::seed_demo(&stack.store)
        .await
        .unwrap_or_else(|e| panic!("seeding demo keys: {e}"));
    let prefix = stack.prefix.clone();
    let parameter = format!("/resetkit-test/{}/code-secrets", random_hex(6));
    put_secure_string(&stack.sdk, &parameter, TEST_CODE_SECRETS).await;
    let base = [
        (config::TABLE_PREFIX, prefix.as_str()),
        (config::SENDER_EMAIL, SENDER),
        (config::CODE_SECRETS_PARAMETER, parameter.as_str()),
        (config::RESET_LINK_TEMPLATE, LINK_TEMPLATE),
        (config::EXTRA_FIELDS, resetkit::demo::EXTRA_FIELDS),
        (config::QUEUE_URL, queue.as_str()),
        (config::DEAD_LETTER_QUEUE_URL, dead_letters.as_str()),
        (config::BRAND_NAME, BRAND),
    ];
    let lookup = |key: &str| {
        overrides
            .iter()
            .chain(base.iter())
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    };
    let unresolved = config::UnresolvedConfig::from_lookup(lookup)
        .unwrap_or_else(|e| panic!("test configuration: {e}"));
    let config = resetkit::adapters::aws::resolve(
        &stack.sdk,
        unresolved,
        &resetkit::adapters::aws::EMULATOR_BUDGETS.dynamodb,
    )
    .await
    .unwrap_or_else(|e| panic!("test configuration: {e}"));
    (stack, config)
}

/// The name every test stage's messages go out under.
pub const BRAND: &str = "Demo Salon";

/// The code secrets of every test app, in its own parameter (`seeded_stack_at`).
pub const TEST_CODE_SECRETS: &str = "integration-test-secret-integration-test-secret";

/// Puts `value` on the emulator's Parameter Store as the SecureString `name` (replacing
/// any earlier value), as `aws ssm put-parameter --type SecureString --overwrite` does.
pub async fn put_secure_string(sdk: &SdkConfig, name: &str, value: &str) {
    put_parameter(
        sdk,
        name,
        value,
        aws_sdk_ssm::types::ParameterType::SecureString,
    )
    .await;
}

pub async fn put_parameter(
    sdk: &SdkConfig,
    name: &str,
    value: &str,
    kind: aws_sdk_ssm::types::ParameterType,
) {
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "putting parameter {name}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(e)
            )
        });
}

/// The production adapters (DynamoDB on the emulator, SES v2, SNS) under a clock the test
/// moves: the limits' windows start and end when the test says, not when the wall clock
/// and a busy emulator happen to let them.
pub type ClockedResetkit = resetkit::service::Resetkit<
    DynamoStore,
    SqsQueue,
    resetkit::adapters::memory::ManualClock,
    OsRandom,
>;

/// The courier of a [`ClockedApp`], on the same clock.
pub type ClockedCourier = resetkit::service::Resetkit<
    DynamoStore,
    AwsNotifier,
    resetkit::adapters::memory::ManualClock,
    OsRandom,
>;

/// `spawn_app_with`, on a clock that reads [`CLOCK_START`] until the test moves it.
pub struct ClockedApp {
    pub stack: TestStack,
    pub service: ClockedResetkit,
    pub courier: ClockedCourier,
    pub queues: courier::SqsQueues,
    pub clock: resetkit::adapters::memory::ManualClock,
}

/// Where a clocked app's clock starts: a multiple of every window the tests use (1 s to 1 h).
pub const CLOCK_START: u64 = 1_800_000_000;

pub async fn spawn_clocked_app_with(overrides: &[(&str, &str)]) -> ClockedApp {
    let (stack, config) = seeded_stack(overrides).await;
    let clock = resetkit::adapters::memory::ManualClock::at(
        resetkit::domain::Timestamp::from_unix_seconds(CLOCK_START),
    );
    let queue = SqsQueue::new(stack.sqs.clone(), config.aws.queue_url.clone());
    let dead_letters = SqsQueue::new(
        stack.sqs.clone(),
        config
            .aws
            .dead_letter_queue_url
            .clone()
            .expect("a dead-letter queue"),
    );
    let service = resetkit::service::Resetkit::new(
        stack.store.clone(),
        queue.clone(),
        clock.clone(),
        OsRandom,
        resetkit::ports::NoMetrics,
        config.settings.clone(),
    );
    let courier = resetkit::service::Resetkit::new(
        stack.store.clone(),
        stack.notifier().await,
        clock.clone(),
        OsRandom,
        resetkit::ports::NoMetrics,
        config.settings,
    );
    ClockedApp {
        stack,
        service,
        courier,
        queues: courier::SqsQueues::new(queue, dead_letters),
        clock,
    }
}

impl ClockedApp {
    pub async fn guest_reset(&self, req: lambda_http::Request) -> Answer {
        let answer = through(guest_reset::handle(&self.service, req)).await;
        self.deliver().await;
        answer
    }

    pub async fn forgot_password(&self, req: lambda_http::Request) -> Answer {
        let answer = through(forgot_password::handle(&self.service, req)).await;
        self.deliver().await;
        answer
    }

    pub async fn confirm(&self, req: lambda_http::Request) -> Answer {
        let answer = through(password_confirm::handle(&self.service, req)).await;
        self.deliver().await;
        answer
    }

    /// Everything queued so far, delivered by the courier on the app's clock.
    pub async fn deliver(&self) {
        courier::local::drain(&self.courier, &self.queues)
            .await
            .unwrap_or_else(|e| panic!("the courier drains its queue: {e}"));
    }

    /// Imports a new person, as [`TestApp::person`] does.
    pub async fn person(&self, first_name: &str) -> Person {
        let tag = random_hex(6);
        let line = serde_json::json!({
            "first_name": first_name,
            "email": format!("p-{tag}@example.com"),
            "mobile": unique_us_mobile(),
            "fields": {"Phone": unique_us_mobile(), "mx_Member_Code": format!("M-{tag}")},
        });
        import_person(&self.stack.store, &self.service.settings().fields, &line).await
    }
}

/// A person only one test knows: unique email, mobile and member code.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: resetkit::domain::UserId,
    pub email: String,
    pub mobile: String,
    pub member_code: String,
    /// The LeadSquared `Phone` field, a second number used as an SMS recipient.
    pub phone: String,
}

impl TestApp {
    /// Imports a new person named `first_name`, the way `resetctl import` does.
    pub async fn person(&self, first_name: &str) -> Person {
        let tag = random_hex(6);
        let line = serde_json::json!({
            "first_name": first_name,
            "email": format!("p-{tag}@example.com"),
            "mobile": unique_us_mobile(),
            "fields": {"Phone": unique_us_mobile(), "mx_Member_Code": format!("M-{tag}")},
        });
        self.import(&line).await
    }

    /// Imports one person from a JSON Lines object and returns them as stored.
    pub async fn import(&self, line: &serde_json::Value) -> Person {
        import_person(&self.stack.store, &self.service.settings().fields, line).await
    }

    pub async fn user(&self, id: &resetkit::domain::UserId) -> resetkit::domain::User {
        resetkit::ports::UserDirectory::get_user(&self.stack.store, id)
            .await
            .expect("get_user")
            .expect("user exists")
    }

    /// Contract A through its handler.
    pub async fn post_guest_reset(
        &self,
        key: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let req = request(
            "/v1/guests/password?reset=true",
            &[("authorization", &format!("apikey {key}"))],
            body,
        );
        let (status, _, json) = resetkit::testing::read_response(
            guest_reset::handle(&self.service, req)
                .await
                .expect("the handler answers every request"),
        );
        self.deliver().await;
        (status, json)
    }

    /// Contract B through its handler: status, headers and the raw body bytes.
    pub async fn post_forgot_password(
        &self,
        key: &str,
        body: &serde_json::Value,
    ) -> (u16, lambda_http::http::HeaderMap, Vec<u8>) {
        let req = request(
            "/api/Authentication/ForgotPassword",
            &[("authorization", key)],
            body,
        );
        let res = forgot_password::handle(&self.service, req)
            .await
            .expect("the handler answers every request");
        self.deliver().await;
        (
            res.status().as_u16(),
            res.headers().clone(),
            res.body().as_ref().to_vec(),
        )
    }

    /// Contract B with `body` sent as it is, byte for byte.
    pub async fn post_forgot_password_bytes(&self, key: &str, body: &str) -> Answer {
        let req = resetkit::testing::http_request(
            "POST",
            "/api/Authentication/ForgotPassword",
            &[("content-type", "application/json"), ("authorization", key)],
            body,
        );
        self.forgot_password(req).await
    }

    /// Contract C through its handler, with the demo browser key added to `body`.
    pub async fn post_confirm(&self, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let mut body = body.clone();
        body["ApiKey"] = resetkit::demo::BROWSER_KEY.into();
        let req = request("/user/password/reset", &[], &body);
        let (status, _, json) = resetkit::testing::read_response(
            password_confirm::handle(&self.service, req)
                .await
                .expect("the handler answers every request"),
        );
        self.deliver().await;
        (status, json)
    }
}

impl TestApp {
    /// The people API through its handler as the host calls it (`HOST_KEY` unless `key`
    /// says otherwise): status and JSON body (`Null` for none); then the courier runs.
    pub async fn people(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.people_as(resetkit::demo::HOST_KEY, method, path, body)
            .await
    }

    pub async fn people_as(
        &self,
        key: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let auth = format!("Bearer {key}");
        let headers = [
            ("content-type", "application/json"),
            ("authorization", auth.as_str()),
        ];
        let text = body.map(ToString::to_string).unwrap_or_default();
        let req = resetkit::testing::http_request(method, path, &headers, text);
        let (status, _, bytes) = through(people::handle(&self.service, req)).await;
        self.deliver().await;
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        (status, json)
    }
}

fn request(uri: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> lambda_http::Request {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    resetkit::testing::http_request("POST", uri, &all, body.to_string())
}

/// The value of `name=` in a reset link inside `text` (mail HTML escapes `&` as `&amp;`).
pub fn link_param(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name} in: {text}"))
        + name.len()
        + 1;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The 6-digit code in a staff-flow message, in any language: its first run of exactly
/// six digits (the templates have no other).
pub fn staff_code(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("no 6-digit code in: {text}"))
        .to_owned()
}

/// A handler request as API Gateway builds it: JSON body, the caller's source address in
/// the request context, and `headers`.
pub fn gateway_request(
    uri: &str,
    source_ip: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> lambda_http::Request {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip.to_owned());
    request(uri, headers, body).with_request_context(RequestContext::ApiGatewayV2(context))
}

/// Status, headers and body bytes of a handler's answer.
pub type Answer = (u16, lambda_http::http::HeaderMap, Vec<u8>);

pub fn answer(res: lambda_http::Response<lambda_http::Body>) -> Answer {
    (
        res.status().as_u16(),
        res.headers().clone(),
        res.body().as_ref().to_vec(),
    )
}

/// A handler's answer to one request, as [`Answer`]; handlers answer every request.
async fn through(
    handled: impl std::future::Future<
        Output = Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
    >,
) -> Answer {
    answer(handled.await.expect("the handler answers every request"))
}

impl TestApp {
    pub async fn guest_reset(&self, req: lambda_http::Request) -> Answer {
        let answer = through(guest_reset::handle(&self.service, req)).await;
        self.deliver().await;
        answer
    }

    pub async fn forgot_password(&self, req: lambda_http::Request) -> Answer {
        let answer = through(forgot_password::handle(&self.service, req)).await;
        self.deliver().await;
        answer
    }

    pub async fn confirm(&self, req: lambda_http::Request) -> Answer {
        let answer = through(password_confirm::handle(&self.service, req)).await;
        self.deliver().await;
        answer
    }
}

/// Imports one person from a JSON Lines object, the way `resetctl import` does, and returns
/// them as stored.
async fn import_person(
    store: &DynamoStore,
    fields: &resetkit::domain::fields::FieldCatalog,
    line: &serde_json::Value,
) -> Person {
    let report =
        resetctl::people::import_users(store, fields, format!("{line}\n").as_bytes(), |_| {})
            .await
            .unwrap_or_else(|e| panic!("import: {e}"));
    assert_eq!(
        (report.imported, report.rejected.len()),
        (1, 0),
        "import {line}: {report:?}"
    );
    let email = line["email"].as_str().unwrap_or_default().to_owned();
    let key = resetkit::domain::LookupKey::new(
        resetkit::domain::fields::EMAIL,
        &fields
            .parse_value(
                fields
                    .get(resetkit::domain::fields::EMAIL)
                    .expect("email field"),
                &email,
            )
            .expect("email parses"),
    );
    let ids = resetkit::ports::UserDirectory::find_by(store, &key)
        .await
        .expect("find_by");
    assert_eq!(ids.len(), 1, "{email} is unique");
    Person {
        id: ids[0].clone(),
        email,
        mobile: line["mobile"].as_str().unwrap_or_default().to_owned(),
        member_code: line["fields"]["mx_Member_Code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        phone: line["fields"]["Phone"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}
