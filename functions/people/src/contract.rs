//! The people API's wire shapes, and the one mapping from domain outcomes to them.
//!
//! A person travels as one JSON object: `Version`, `FirstName`, `SystemUserId`, the
//! built-in fields at the top level (`Username`, `EmailAddress`, `Mobile`, `Locale`) and
//! the stage's own fields under `Fields`. Every error is a Problem Details object (RFC
//! 9457) that names the field at fault when there is one.

use std::collections::BTreeMap;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use resetkit::domain::fields::{EMAIL, LOCALE, MOBILE, USERNAME};
use resetkit::domain::message::Destination;
use resetkit::domain::{FieldCatalog, FieldValue, InvalidPerson, PersonDocument, Refused, User};
use resetkit::inbound::{self, BodyError, Kind, Problem};
use resetkit::ports::StoreError;
use resetkit::service::{PersonEdit, PersonError, PersonView, PersonWritten, Refusal};
use serde::Serialize;
use serde_json::{Map, Value};

/// RFC 9457's media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The longest value a field may hold, in characters (an email address's limit; each
/// field's own rules may be stricter).
pub const MAX_VALUE_CHARS: usize = 320;

/// The fields a document carries at its top level; the stage's own go under `Fields`.
const BUILT_IN: [&str; 4] = [USERNAME, EMAIL, MOBILE, LOCALE];

/// What a refused caller is told.
const UNAUTHORIZED: &str = "A server key granted people:write (people:read to read) is required";

/// Parses a person document (a `PUT` body, or a stored person with a merge patch applied).
pub fn document(body: &Value, catalog: &FieldCatalog) -> Result<PersonDocument, InvalidPerson> {
    let Value::Object(object) = body else {
        return Err(InvalidPerson::new("body", "must be a JSON object"));
    };
    let (mut version, mut first_name, mut number) = (None, None, None);
    let mut fields: Vec<(String, String)> = Vec::new();
    for (key, value) in object {
        match key.as_str() {
            "Version" => {
                version = Some(value.as_u64().ok_or_else(|| {
                    InvalidPerson::new(key, "must be a whole number from 1 to 2^53 - 1")
                })?)
            }
            "FirstName" => first_name = text(key, value)?,
            "SystemUserId" => {
                number = match value {
                    Value::Null => None,
                    v => Some(v.as_i64().ok_or_else(|| {
                        InvalidPerson::new(key, "must be a whole number from 1 to 2147483647")
                    })?),
                }
            }
            name if BUILT_IN.contains(&name) => {
                if let Some(t) = text(key, value)? {
                    fields.push((key.clone(), t));
                }
            }
            "Fields" => fields.extend(stage_fields(value)?),
            _ => return Err(InvalidPerson::new(key, "unknown field")),
        }
    }
    let version = version.ok_or_else(|| InvalidPerson::new("Version", "is required"))?;
    PersonDocument::parse(
        catalog,
        version,
        first_name.as_deref(),
        number,
        fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// `Fields`: the stage's own fields, each a string (or null, for none).
fn stage_fields(value: &Value) -> Result<Vec<(String, String)>, InvalidPerson> {
    let object = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(object) => object,
        _ => return Err(InvalidPerson::new("Fields", "must be an object of strings")),
    };
    let mut fields = Vec::new();
    for (name, value) in object {
        if BUILT_IN.iter().any(|b| b.eq_ignore_ascii_case(name)) {
            return Err(InvalidPerson::new(
                name,
                "is a built-in field: send it at the top level",
            ));
        }
        if let Some(t) = text(name, value)? {
            fields.push((name.clone(), t));
        }
    }
    Ok(fields)
}

/// A string value within `MAX_VALUE_CHARS`, or null for none.
fn text(field: &str, value: &Value) -> Result<Option<String>, InvalidPerson> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= MAX_VALUE_CHARS => Ok(Some(s.clone())),
        Value::String(_) => Err(InvalidPerson::new(
            field,
            format!("is longer than {MAX_VALUE_CHARS} characters"),
        )),
        _ => Err(InvalidPerson::new(field, "must be a string")),
    }
}

/// The stored person as a document, unmasked: what a merge patch applies to.
pub fn stored_document(user: &User) -> Value {
    let mut object = Map::new();
    if let Some(v) = user.version {
        object.insert("Version".into(), v.get().into());
    }
    if let Some(f) = &user.first_name {
        object.insert("FirstName".into(), f.as_ref().into());
    }
    if let Some(n) = user.system_user_id {
        object.insert("SystemUserId".into(), n.get().into());
    }
    let mut stage = Map::new();
    for (name, value) in &user.fields {
        let value = Value::from(value.as_str());
        if BUILT_IN.contains(&name.as_str()) {
            object.insert(name.clone(), value);
        } else {
            stage.insert(name.clone(), value);
        }
    }
    if !stage.is_empty() {
        object.insert("Fields".into(), Value::Object(stage));
    }
    Value::Object(object)
}

/// A `PATCH` body: a JSON Merge Patch (RFC 7396) of the stored person's document.
pub struct MergePatch<'a> {
    pub patch: Value,
    pub catalog: &'a FieldCatalog,
}

impl PersonEdit for MergePatch<'_> {
    fn document(&self, stored: Option<&User>) -> Result<PersonDocument, PersonError> {
        let stored = stored.ok_or(PersonError::NotFound)?;
        let mut merged = stored_document(stored);
        json_patch::merge(&mut merged, &self.patch);
        Ok(document(&merged, self.catalog)?)
    }
}

/// The answer to a write.
#[derive(Debug, Serialize)]
pub struct Written {
    #[serde(rename = "UserId")]
    pub user_id: String,
    #[serde(rename = "SystemUserId")]
    pub system_user_id: Option<i32>,
    #[serde(rename = "Version")]
    pub version: Option<u64>,
    #[serde(rename = "CredentialVersion")]
    pub credential_version: u64,
    /// `false` when the same write had already applied.
    #[serde(rename = "Changed")]
    pub changed: bool,
}

impl From<PersonWritten> for Written {
    fn from(w: PersonWritten) -> Self {
        Self {
            user_id: w.user.id.to_string(),
            system_user_id: w.user.system_user_id.map(|n| n.get()),
            version: w.user.version.map(|v| v.get()),
            credential_version: w.user.credential_version,
            changed: w.changed,
        }
    }
}

/// A person as the host reads them: ids, masked contacts, the credential's version, the
/// last reset and any suppressed addresses.
#[derive(Debug, Serialize)]
pub struct View {
    #[serde(rename = "UserId")]
    pub user_id: String,
    #[serde(rename = "SystemUserId")]
    pub system_user_id: Option<i32>,
    #[serde(rename = "Version")]
    pub version: Option<u64>,
    #[serde(rename = "FirstName")]
    pub first_name: Option<String>,
    /// Every field by schema name, phone and email values masked.
    #[serde(rename = "Fields")]
    pub fields: BTreeMap<String, String>,
    #[serde(rename = "CredentialVersion")]
    pub credential_version: u64,
    /// Unix seconds of the last password change by a reset, if the audit holds one.
    #[serde(rename = "LastResetAt")]
    pub last_reset_at: Option<u64>,
    #[serde(rename = "Suppressed")]
    pub suppressed: Vec<String>,
}

impl From<PersonView> for View {
    fn from(v: PersonView) -> Self {
        let fields = v
            .user
            .fields
            .iter()
            .map(|(name, value)| {
                let shown = match value {
                    FieldValue::Email(e) => Destination::Email(e.clone()).masked(),
                    FieldValue::Phone(p) => Destination::Sms(p.clone()).masked(),
                    other => other.as_str().to_owned(),
                };
                (name.clone(), shown)
            })
            .collect();
        Self {
            user_id: v.user.id.to_string(),
            system_user_id: v.user.system_user_id.map(|n| n.get()),
            version: v.user.version.map(|n| n.get()),
            first_name: v.user.first_name.as_ref().map(|f| f.as_ref().to_owned()),
            fields,
            credential_version: v.user.credential_version,
            last_reset_at: v.last_reset.map(|t| t.unix_seconds()),
            suppressed: v.suppressed,
        }
    }
}

/// What the people API answers with on success.
#[derive(Debug)]
pub enum Answer {
    Created(Written),
    Written(Written),
    Removed,
    Found(View),
}

/// An answer other than success: the problem, and the field at fault when there is one.
#[derive(Debug)]
pub struct Failure {
    pub problem: Problem,
    pub field: Option<String>,
}

#[derive(Debug, Serialize)]
struct ProblemDetails<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Machine-readable cause of a 429 (`source_ip_rate_limited`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// Writes an outcome: the one place that words a [`Problem`] for the people API.
pub fn render(outcome: Result<Answer, Failure>) -> Response<Body> {
    let Failure { problem, field } = match outcome {
        Ok(Answer::Created(w)) => return inbound::status_json(StatusCode::CREATED, Some(&w)),
        Ok(Answer::Written(w)) => return inbound::ok_json(&w),
        Ok(Answer::Removed) => return inbound::status_json(StatusCode::NO_CONTENT, None::<&()>),
        Ok(Answer::Found(v)) => return inbound::ok_json(&v),
        Err(failure) => failure,
    };
    let status = problem.status();
    let detail = if problem.kind == Kind::Unauthorized {
        UNAUTHORIZED.to_owned()
    } else {
        problem.message.clone()
    };
    let body = ProblemDetails {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        field,
        reason: problem.reason,
    };
    inbound::problem(&problem, PROBLEM_JSON, inbound::to_json(&body))
}

impl From<Problem> for Failure {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            field: None,
        }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Problem::from(r).into()
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Problem::from(e).into()
    }
}

impl From<InvalidPerson> for Failure {
    fn from(e: InvalidPerson) -> Self {
        Failure {
            field: Some(e.field.clone()),
            problem: Problem::bad_request(e.to_string()),
        }
    }
}

/// The one mapping from the use cases' errors.
impl From<PersonError> for Failure {
    fn from(e: PersonError) -> Self {
        let (problem, field) = match e {
            PersonError::Invalid(invalid) => return invalid.into(),
            PersonError::NotFound => (Problem::not_found("No such person"), None),
            PersonError::Refused(Refused::Stale { .. }) => {
                (Problem::conflict(e.to_string()), Some("Version"))
            }
            PersonError::Refused(Refused::SystemUserIdFixed { .. })
            | PersonError::SystemUserIdTaken(_) => {
                (Problem::conflict(e.to_string()), Some("SystemUserId"))
            }
            PersonError::FieldTaken(ref name) => {
                return Failure {
                    field: Some(name.clone()),
                    problem: Problem::conflict(e.to_string()),
                }
            }
            PersonError::Busy => (Problem::contended(e.to_string()), None),
            PersonError::Store(StoreError::Unavailable(_)) => {
                (Problem::dependency_down("storage unavailable", &e), None)
            }
            PersonError::Store(_) => (Problem::failed("people API failed", &e), None),
        };
        Failure {
            problem,
            field: field.map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn catalog() -> FieldCatalog {
        FieldCatalog::new(
            FieldCatalog::parse_extra("mx_Member:text:unique").expect("catalog"),
            "US",
        )
    }

    fn refused(body: Value) -> String {
        document(&body, &catalog()).expect_err("refused").field
    }

    #[test]
    fn every_refusal_names_its_field() {
        assert_eq!(refused(json!({"EmailAddress": "a@example.com"})), "Version");
        assert_eq!(refused(json!({"Version": 0})), "Version");
        assert_eq!(refused(json!({"Version": "1"})), "Version");
        assert_eq!(refused(json!({"Version": 1, "Nickname": "x"})), "Nickname");
        assert_eq!(
            refused(json!({"Version": 1, "EmailAddress": 5})),
            "EmailAddress"
        );
        assert_eq!(
            refused(json!({"Version": 1, "EmailAddress": "nope"})),
            "EmailAddress"
        );
        assert_eq!(refused(json!({"Version": 1, "Mobile": "12"})), "Mobile");
        assert_eq!(
            refused(json!({"Version": 1, "FirstName": "x".repeat(MAX_VALUE_CHARS + 1)})),
            "FirstName"
        );
        assert_eq!(
            refused(json!({"Version": 1, "Fields": {"mx_Nope": "x"}})),
            "mx_Nope"
        );
        assert_eq!(
            refused(json!({"Version": 1, "Fields": {"mobile": "x"}})),
            "mobile"
        );
        assert_eq!(refused(json!({"Version": 1, "Fields": ["x"]})), "Fields");
        assert_eq!(
            refused(json!({"Version": 1, "SystemUserId": -4})),
            "SystemUserId"
        );
        assert_eq!(refused(json!([1])), "body");
    }

    #[test]
    fn a_stored_person_reads_back_as_the_document_that_wrote_them() {
        let body = json!({"Version": 7, "FirstName": "Ana", "SystemUserId": 42,
            "EmailAddress": "ana@example.com", "Mobile": "+14155550100", "Locale": "fr",
            "Fields": {"mx_Member": "m-1"}});
        let doc = document(&body, &catalog()).expect("document");
        let mut user = User::new(resetkit::domain::UserId::from_random([1; 16]));
        user.version = Some(doc.version);
        user.first_name = doc.first_name.clone();
        user.system_user_id = doc.system_user_id;
        user.fields = doc.fields.clone();
        assert_eq!(stored_document(&user), body);
    }

    #[test]
    fn a_merge_patch_changes_what_it_names_and_removes_what_it_nulls() {
        let doc = document(
            &json!({"Version": 1, "EmailAddress": "ana@example.com", "Mobile": "+14155550100"}),
            &catalog(),
        )
        .expect("document");
        let mut user = User::new(resetkit::domain::UserId::from_random([1; 16]));
        user.version = Some(doc.version);
        user.fields = doc.fields;
        let patch = MergePatch {
            patch: json!({"Version": 2, "Mobile": null, "Fields": {"mx_Member": "M-9"}}),
            catalog: &catalog(),
        };
        let patched = patch.document(Some(&user)).expect("patched");
        assert_eq!(patched.version.get(), 2);
        assert!(!patched.fields.contains_key(MOBILE));
        assert_eq!(patched.fields[EMAIL].as_str(), "ana@example.com");
        assert_eq!(
            patched.fields["mx_Member"].as_str(),
            "m-9",
            "text is kept in its normal form"
        );
        assert!(matches!(patch.document(None), Err(PersonError::NotFound)));
    }
}
