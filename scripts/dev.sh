#!/usr/bin/env bash
# The whole bundle on this machine, with no AWS account: moto server (DynamoDB, SES v2,
# SNS, SQS, SSM), the tables from template.yaml, the courier's queues, the code secrets as a
# SecureString parameter (read by the functions at cold start, as in production), demo
# people and keys, the four HTTP functions under `cargo lambda watch` and the courier polling
# its queue. Prints requests to paste. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
source scripts/tools.sh

tools_install_cargo_lambda
PATH="$VENV/bin:$PATH"

endpoint="$(emulator_start dev)"
watch_pid=""
courier_pid=""
digests_pid=""
cleanup() {
    trap - INT TERM EXIT
    [[ -n "$digests_pid" ]] && kill -TERM "$digests_pid" 2>/dev/null && wait "$digests_pid" 2>/dev/null
    [[ -n "$courier_pid" ]] && kill -TERM "$courier_pid" 2>/dev/null && wait "$courier_pid" 2>/dev/null
    [[ -n "$watch_pid" ]] && kill -TERM "$watch_pid" 2>/dev/null && wait "$watch_pid" 2>/dev/null
    emulator_stop dev
    echo "stopped."
}
trap cleanup INT TERM EXIT

prefix="resetkit-local-"
sender="no-reply@resetkit.local"
port="${RESETKIT_DEV_PORT:-9000}"
base="http://127.0.0.1:$port/lambda-url"
env_file=".local/dev.env"
code_secrets_parameter="/resetkit/local/code-secrets"
mkdir -p .local
cat >"$env_file" <<ENV
AWS_ENDPOINT_URL=$endpoint
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
RUST_LOG=info
RESETKIT_TABLE_PREFIX=$prefix
RESETKIT_SENDER_EMAIL=$sender
RESETKIT_CODE_SECRETS_PARAMETER=$code_secrets_parameter
# Quoted: '#' would start a comment and '&' end the line in an env file.
RESETKIT_RESET_LINK_TEMPLATE='$base/password-confirm/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}'
RESETKIT_EXTRA_FIELDS=Phone:phone:unique:deliverable,mx_Alt_Email:email:deliverable,mx_City:text,mx_Member_Code:text:unique,mx_Form_Email:email
RESETKIT_BROWSER_CONFIRM_KEY=rk_demo_browser_key
ENV
set -a; source "$env_file"; set +a

echo "building (first time: a few minutes)..."
cargo build --quiet -p resetctl -p guest-reset -p forgot-password -p password-confirm -p people -p courier
target/debug/resetctl create-tables --prefix "$prefix" >/dev/null
target/debug/resetctl create-queues --prefix "$prefix" >>"$env_file"
set -a; source "$env_file"; set +a
# What `aws ssm put-parameter --type SecureString --overwrite` does in a stage (boto3 comes
# with moto in the venv; no AWS CLI needed).
"$VENV/bin/python" - "$code_secrets_parameter" <<'PY'
import os, sys, boto3
boto3.client("ssm", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
             region_name=os.environ["AWS_REGION"]).put_parameter(
    Name=sys.argv[1], Type="SecureString", Overwrite=True,
    Value="local-only-secret-local-only-secret-0001")
PY
target/debug/resetctl seed-demo --prefix "$prefix" --sender "$sender"

# The courier: Lambda's SQS event source mapping, played against the emulator's queue.
target/debug/courier-local >.local/courier.log 2>&1 &
courier_pid=$!

# The digest job, as its EventBridge schedule runs it: every 5 minutes.
(while sleep 300; do target/debug/resetctl audit seal --prefix "$prefix"; done) >.local/digests.log 2>&1 &
digests_pid=$!

cargo lambda watch --invoke-port "$port" --env-file "$env_file" >.local/watch.log 2>&1 &
watch_pid=$!
for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    kill -0 "$watch_pid" 2>/dev/null || { cat .local/watch.log; exit 1; }
    sleep 0.5
done

cat <<TXT

resetkit is up. Emulator: $endpoint   Functions: $base/<function>/...
Logs: .local/watch.log (functions), .local/courier.log (the courier, which sends a moment
after each request), .local/digests.log (the audit digest job, every 5 minutes)

# A. Staff reset a guest (Zenoti); the answer carries verification_id and the code:
curl -s -X POST '$base/guest-reset/v1/guests/password?reset=true' \\
  -H 'Authorization: apikey rk_demo_staff_key' -H 'Content-Type: application/json' \\
  -d '{"email":"family@example.com","first_name":"zoe"}'

# B. A portal asks for a reset link (LeadSquared); same answer whoever you name:
curl -s -X POST '$base/forgot-password/api/Authentication/ForgotPassword' \\
  -H 'Authorization: rk_demo_portal_key' -H 'Content-Type: application/json' \\
  -d '{"EmailAddress":"ana@example.com"}'

# B, LeadSquared's own sample: found by phone, the link goes by SMS to that phone (without
# RecipientField it would go to John's email):
curl -s -X POST '$base/forgot-password/api/Authentication/ForgotPassword' \\
  -H 'Authorization: rk_demo_portal_key' -H 'Content-Type: application/json' \\
  -d '{"SearchKeyData":{"SchemaName":"Phone","Value":"+14-157415569"},"RecipientField":{"SchemaName":"Phone"}}'

# Read what the courier sent (email and SMS captured by the emulator), with the code or link:
AWS_ENDPOINT_URL=$endpoint target/debug/resetctl messages

# C. Set the new password with the code (or LeadId + TemporaryPassword from the link):
curl -s -X POST '$base/password-confirm/user/password/reset' -H 'Content-Type: application/json' \\
  -d '{"VerificationId":"<verification_id>","TemporaryPassword":"<code>","Password":"correct horse battery staple","PasswordConfirm":"correct horse battery staple","ApiKey":"rk_demo_browser_key"}'

# The host keeps people current (people API, a server key with people:write): create or
# replace one (Version is the host's own and must grow), then remove them:
curl -s -X PUT '$base/people/v1/people/0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f' \\
  -H 'Authorization: Bearer rk_demo_host_key' -H 'Content-Type: application/json' \\
  -d '{"Version":1,"FirstName":"Lia","EmailAddress":"lia@example.com","Mobile":"+14155550123","Locale":"fr"}'
curl -s -X DELETE '$base/people/v1/people/0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f?Version=2' \\
  -H 'Authorization: Bearer rk_demo_host_key'

# The audit log against its signed digests (the last few minutes are not sealed yet; the
# stage's settings, code secrets' parameter included, come from $env_file):
(set -a; source $env_file; target/debug/resetctl audit verify --prefix $prefix)

Ctrl-C stops the functions, the courier, the digest job and the emulator.
TXT
wait "$watch_pid"
