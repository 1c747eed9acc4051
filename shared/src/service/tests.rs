//! What the flows count, read back through the in-memory metrics recorder.

use super::{Caller, Endpoint, ForgotPasswordCommand, GuestResetCommand, LimitReason, Limits};
use crate::domain::fields::EMAIL;
use crate::domain::{Channel, EmailAddress, FieldValue, KeyKind, LookupKey, Permission};
use crate::ports::{Clock, Metric, RateLimit};
use crate::testing::{settings, TestKit};

async fn kit_with(limits: impl FnOnce(&mut Limits)) -> TestKit {
    let mut s = settings();
    limits(&mut s.limits);
    TestKit::with_settings(s).await
}

async fn caller(
    kit: &TestKit,
    endpoint: Endpoint,
    key: &str,
    kind: KeyKind,
    p: Permission,
) -> Caller {
    kit.service
        .authenticate(endpoint, key, &[kind], p, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn ana() -> EmailAddress {
    EmailAddress::parse("ana@example.com").unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_guest_reset_counts_one_send_on_its_channel_at_the_service_clock() {
    let kit = kit_with(|_| {}).await;
    let metrics = kit.metrics.clone();
    let staff = caller(
        &kit,
        Endpoint::GuestReset,
        &kit.keys.staff,
        KeyKind::Employee,
        Permission::GuestsEdit,
    )
    .await;
    let now = kit.clock.now();
    let svc = &kit.service;
    let cmd = GuestResetCommand {
        email: Some(ana()),
        ..Default::default()
    };
    svc.guest_reset(&staff, cmd)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        metrics.recorded(),
        [(Endpoint::GuestReset, Metric::Sent(Channel::Email), now)]
    );
}

#[tokio::test]
async fn a_failed_link_delivery_is_counted_and_a_recipient_over_its_limit_is_counted_as_limited() {
    let kit = kit_with(|l| {
        l.recipient_cooldown = RateLimit {
            max: 1,
            window_secs: 60,
        };
    })
    .await;
    let portal = caller(
        &kit,
        Endpoint::ForgotPassword,
        &kit.keys.portal,
        KeyKind::PortalPublic,
        Permission::ForgotPassword,
    )
    .await;
    let (outbox, metrics) = (kit.outbox.clone(), kit.metrics.clone());
    let svc = &kit.service;
    let by_email = || ForgotPasswordCommand {
        search: LookupKey::new(EMAIL, &FieldValue::Email(ana())),
        recipient: None,
        language: None,
    };

    outbox.fail_deliveries(true);
    svc.forgot_password(&portal, by_email())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    svc.forgot_password(&portal, by_email())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let counted: Vec<(Endpoint, Metric)> = metrics
        .recorded()
        .into_iter()
        .map(|(e, m, _)| (e, m))
        .collect();
    assert_eq!(
        counted,
        [
            (
                Endpoint::ForgotPassword,
                Metric::DeliveryFailed(Channel::Email)
            ),
            (
                Endpoint::ForgotPassword,
                Metric::LimitHit(LimitReason::Recipient)
            ),
            (Endpoint::ForgotPassword, Metric::Suppressed),
        ]
    );
}
