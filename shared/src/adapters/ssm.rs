//! SSM Parameter Store as the stage's [`SecretStore`]: one `GetParameter` with decryption
//! per cold start.

use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use aws_sdk_ssm::Client;
use secrecy::SecretString;

use crate::domain::ParameterName;
use crate::ports::{SecretError, SecretStore};

#[derive(Clone)]
pub struct SsmSecrets {
    client: Client,
}

impl SsmSecrets {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl SecretStore for SsmSecrets {
    async fn read_secret(&self, name: &ParameterName) -> Result<SecretString, SecretError> {
        let answer = self
            .client
            .get_parameter()
            .name(name.as_ref())
            // KMS decrypts a SecureString for us (kms:Decrypt via SSM in the role's policy).
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found())
                {
                    SecretError::NotFound
                } else {
                    // A failed call carries no value, so its context is safe to report.
                    SecretError::Unavailable(DisplayErrorContext(&e).to_string().into())
                }
            })?;
        let parameter = answer
            .parameter()
            .ok_or_else(|| SecretError::Unavailable("the answer carried no parameter".into()))?;
        if parameter.r#type() != Some(&ParameterType::SecureString) {
            return Err(SecretError::NotEncrypted);
        }
        parameter
            .value()
            .map(|v| SecretString::from(v.to_owned()))
            .ok_or_else(|| SecretError::Unavailable("the parameter carried no value".into()))
    }
}
