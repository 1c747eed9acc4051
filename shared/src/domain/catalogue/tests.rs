//! Every template of every locale, rendered: no missing variable, nothing unescaped.

use super::*;
use crate::domain::{EmailAddress, PhoneE164};

fn catalogue() -> &'static Catalogue {
    Catalogue::get().unwrap()
}

fn email() -> Destination {
    Destination::Email(EmailAddress::parse("ana@example.com").unwrap())
}

fn sms() -> Destination {
    Destination::Sms(PhoneE164::parse("+14155550100", None).unwrap())
}

fn locales() -> Vec<Locale> {
    LOCALES.iter().map(|l| Locale::parse(l).unwrap()).collect()
}

const CODE: &str = "482916";
const LINK: &str = "https://id.example.com/reset#LeadId=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a&TemporaryPassword=Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nOp3";

fn contents(code: &ResetSecret) -> [Content<'_>; 5] {
    [
        Content::StaffCode {
            code,
            minutes: 10,
            one_tap_host: "id.example.com",
        },
        Content::ResetLink {
            link: LINK,
            minutes: 60,
        },
        Content::PasswordChanged,
        Content::ResetSentElsewhere {
            elsewhere: "+1******0100",
        },
        Content::ContactChanged,
    ]
}

fn letter<'a>(
    locale: &'a Locale,
    brand: &'a Brand,
    first_name: Option<&'a FirstName>,
    content: Content<'a>,
) -> Letter<'a> {
    Letter {
        locale,
        brand,
        first_name,
        requested_at: Some(Timestamp::from_unix_seconds(1_796_158_380)),
        place: Some("Porto"),
        content,
    }
}

#[test]
fn every_kind_renders_in_every_locale_on_both_channels() {
    let code = ResetSecret::from_presented(CODE);
    let name = FirstName::parse("Zoë").unwrap();
    let brands = [
        Brand {
            name: "Salon Lumière".into(),
            support: Some("help@lumiere.example".into()),
        },
        Brand {
            name: "Acme".into(),
            support: None,
        },
    ];
    for locale in locales() {
        for brand in &brands {
            for content in contents(&code) {
                for first_name in [Some(&name), None] {
                    let mut l = letter(&locale, brand, first_name, content);
                    for (requested_at, place) in [(l.requested_at, l.place), (None, None)] {
                        l.requested_at = requested_at;
                        l.place = place;
                        let what = format!("{locale}/{}", content.kind().as_str());
                        let mail = catalogue().compose(email(), &l).unwrap();
                        for part in [&mail.subject, &mail.text, &mail.html] {
                            assert!(
                                part.contains(&brand.name) || part.contains("Lumi&#x"),
                                "{what}: {part}"
                            );
                            assert!(
                                !part.replace("text-decoration:none", "").contains("none")
                                    && !part.contains("{{")
                                    && !part.contains("{%"),
                                "{what}: {part}"
                            );
                        }
                        assert!(mail.html.contains(&format!("lang=\"{locale}\"")), "{what}");
                        assert!(mail.subject.lines().count() == 1, "{what}");
                        if let Some(support) = &brand.support {
                            assert!(mail.html.contains(support.as_str()), "{what}");
                        }
                        if let Some(n) = first_name {
                            assert!(mail.text.contains(n.as_ref()), "{what}");
                            assert!(
                                mail.html.contains(&format!("<bdi>{}</bdi>", n.as_ref())),
                                "{what}"
                            );
                        }
                        if requested_at.is_some() {
                            assert!(
                                mail.text.contains("2026-12-01 20:53 UTC"),
                                "{what}: {}",
                                mail.text
                            );
                            assert!(mail.text.contains("Porto"), "{what}");
                        }
                        let text = catalogue().compose(sms(), &l).unwrap();
                        assert!(text.html.is_empty() && !text.text.is_empty(), "{what}");
                        assert!(
                            !text.text.contains("none") && !text.text.contains("{{"),
                            "{what}"
                        );
                        match content {
                            Content::StaffCode { .. } => {
                                assert!(
                                    mail.text.contains(CODE) && mail.html.contains(CODE),
                                    "{what}"
                                );
                                assert!(text.text.contains(CODE));
                            }
                            Content::ResetLink { .. } => {
                                assert!(
                                    mail.text.contains(LINK) && text.text.contains(LINK),
                                    "{what}"
                                );
                                assert!(
                                    mail.html.contains(&format!(
                                        "href=\"{}\"",
                                        LINK.replace('&', "&amp;").replace('/', "&#x2f;")
                                    )),
                                    "{what}: {}",
                                    mail.html
                                );
                            }
                            Content::ResetSentElsewhere { elsewhere } => {
                                assert!(mail.text.contains(elsewhere), "{what}");
                            }
                            Content::PasswordChanged | Content::ContactChanged => {}
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn each_locale_speaks_its_own_language() {
    let code = ResetSecret::from_presented(CODE);
    let brand = Brand {
        name: "Acme".into(),
        support: None,
    };
    for content in contents(&code) {
        let subjects: std::collections::BTreeSet<String> = locales()
            .iter()
            .map(|l| {
                catalogue()
                    .compose(email(), &letter(l, &brand, None, content))
                    .unwrap()
                    .subject
            })
            .collect();
        assert_eq!(subjects.len(), LOCALES.len(), "{subjects:?}");
    }
    let fr = Locale::parse("fr").unwrap();
    let m = catalogue()
        .compose(
            email(),
            &letter(&fr, &brand, None, Content::PasswordChanged),
        )
        .unwrap();
    assert_eq!(m.subject, "Acme : votre mot de passe a été modifié");
}

#[test]
fn hostile_names_render_inert() {
    let code = ResetSecret::from_presented(CODE);
    let brand = Brand {
        name: "<b>Brand</b>".into(),
        support: Some("\"><img src=x onerror=alert(1)>".into()),
    };
    let script = FirstName::parse("<script>alert(1)</script>").unwrap();
    // A right-to-left name is isolated, so it cannot reorder the sentence around it.
    let arabic = FirstName::parse("زيد").unwrap();
    for locale in locales() {
        for content in contents(&code) {
            for name in [&script, &arabic] {
                let m = catalogue()
                    .compose(email(), &letter(&locale, &brand, Some(name), content))
                    .unwrap();
                assert!(!m.html.contains("<script"), "{}", m.html);
                assert!(
                    !m.html.contains("<img") && !m.html.contains("<b>Brand"),
                    "{}",
                    m.html
                );
                if name == &script {
                    assert!(
                        m.html
                            .contains("<bdi>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</bdi>"),
                        "{}",
                        m.html
                    );
                } else {
                    assert!(m.html.contains("<bdi>زيد</bdi>"), "{}", m.html);
                }
            }
        }
    }
    // Direction overrides and isolates never get that far: they are not a first name.
    for spoof in ["Ana\u{202E}nimda", "\u{2067}Ana", "Ana\u{200F}"] {
        assert!(FirstName::parse(spoof).is_err(), "{spoof:?}");
    }
}

#[test]
fn a_missing_variable_is_an_error_not_a_blank() {
    let vars = context! { lang => "en", brand => "Acme", support => (), first_name => (), requested_at => (), place => (), minutes => 10 };
    let err = catalogue().render("en/staff_code.txt", &vars).unwrap_err();
    assert!(err.to_string().contains("undefined"), "{err}");
}

#[test]
fn the_code_sms_ends_with_the_origin_bound_line_and_fits_one_segment() {
    let code = ResetSecret::from_presented(CODE);
    let brand = Brand {
        name: "Salon Lumière".into(),
        support: None,
    };
    println!("SMS sizes (brand \"{}\"):", brand.name);
    for locale in locales() {
        for content in contents(&code) {
            let m = catalogue()
                .compose(sms(), &letter(&locale, &brand, None, content))
                .unwrap();
            let size = SmsSize::of(&m.text);
            println!(
                "  {locale:5} {:22} {} {:3} units, {} segment(s)",
                content.kind().as_str(),
                if size.gsm7 { "GSM-7" } else { "UCS-2" },
                size.units,
                size.segments
            );
            if let Content::StaffCode { .. } = content {
                assert_eq!(
                    m.text.lines().last(),
                    Some("@id.example.com #482916"),
                    "{}",
                    m.text
                );
            }
            // A link alone is about 120 characters: its SMS takes two segments whatever
            // the language. Everything else fits one GSM-7 segment in every locale.
            if !matches!(content, Content::ResetLink { .. }) {
                assert!(
                    size.gsm7 && size.segments == 1,
                    "{locale}: {size:?} {}",
                    m.text
                );
            }
        }
    }
}

#[test]
fn sms_sizes_follow_gsm_03_38() {
    assert_eq!(
        SmsSize::of(&"a".repeat(160)),
        SmsSize {
            gsm7: true,
            units: 160,
            segments: 1
        }
    );
    assert_eq!(SmsSize::of(&"a".repeat(161)).segments, 2);
    assert_eq!(SmsSize::of("€").units, 2);
    assert_eq!(
        SmsSize::of("código"),
        SmsSize {
            gsm7: false,
            units: 6,
            segments: 1
        }
    );
    assert_eq!(SmsSize::of(&"ó".repeat(71)).segments, 2);
}

#[test]
fn every_locale_has_the_page_and_error_strings() {
    let en = catalogue()
        .page_strings(&Locale::parse("en").unwrap())
        .unwrap();
    assert!(en.contains_key("title") && en.contains_key("mismatch"));
    for locale in locales() {
        let page = catalogue().page_strings(&locale).unwrap();
        assert_eq!(
            page.keys().collect::<Vec<_>>(),
            en.keys().collect::<Vec<_>>()
        );
        let short = catalogue()
            .text(&locale, "error.MinimumLength", context! { min => 8 })
            .unwrap();
        assert!(short.contains('8'), "{locale}: {short}");
        let empty = catalogue()
            .text(&locale, "error.NotEmpty", context! { field => "Password" })
            .unwrap();
        assert!(empty.contains("Password"), "{locale}: {empty}");
    }
    assert!(catalogue()
        .text(&Locale::parse("de").unwrap(), "page.title", context! {})
        .is_err());
}

#[test]
fn kinds_are_the_catalogue_kinds() {
    let names: Vec<&str> = MessageKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names, generated::KINDS);
    assert_eq!(
        MessageKind::parse("reset_link"),
        Some(MessageKind::ResetLink)
    );
}

#[test]
fn times_are_written_in_utc() {
    assert_eq!(
        format_time(Timestamp::from_unix_seconds(0)),
        "1970-01-01 00:00 UTC"
    );
    assert_eq!(
        format_time(Timestamp::from_unix_seconds(1_796_158_380)),
        "2026-12-01 20:53 UTC"
    );
    assert_eq!(
        format_time(Timestamp::from_unix_seconds(951_782_400)),
        "2000-02-29 00:00 UTC"
    );
}

#[test]
fn say_fills_in_its_variables() {
    let fr = Locale::parse("fr").unwrap();
    assert_eq!(
        say(&fr, "error.MinimumLength", &[("min", "8")]),
        "Le mot de passe doit contenir au moins 8 caractères"
    );
    let en = Locale::parse("en").unwrap();
    assert_eq!(
        say(&en, "error.Email", &[("value", "<x>")]),
        "'<x>' is not a valid email address",
        "strings are plain text: whoever puts them in HTML escapes them"
    );
    assert_eq!(say(&en, "error.NoSuchKey", &[]), "error.NoSuchKey");
}
