//! Which language a person is written to in: their own `Locale` field, else what their
//! browser asked for (`Accept-Language`), else the stage's default; always one the stage
//! offers and the catalogue has.

use std::fmt;

use thiserror::Error;

/// A language, with a region when one was given: `fr`, `pt-BR`. Parsed from a BCP 47 tag
/// (`fr-CA`, `zh-Hant-TW`, `es_419` as some systems write it); script and variant subtags
/// are dropped, since the catalogue is keyed by language and region only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locale {
    tag: String,
    /// Length of the language part of `tag`.
    language_len: usize,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a language tag such as 'fr' or 'pt-BR'")]
pub struct LocaleError(pub String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, LocaleError> {
        let bad = || LocaleError(super::identifiers::printable(raw));
        let trimmed = raw.trim();
        if trimmed.len() > 35 {
            return Err(bad());
        }
        let mut subtags = trimmed.split(['-', '_']);
        let language = subtags.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(bad());
        }
        let mut tag = language.to_ascii_lowercase();
        let mut region = None;
        for sub in subtags {
            if sub.is_empty() || sub.len() > 8 || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad());
            }
            let is_region = (sub.len() == 2 && sub.bytes().all(|b| b.is_ascii_alphabetic()))
                || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit()));
            if is_region && region.is_none() {
                region = Some(sub.to_ascii_uppercase());
            }
        }
        let language_len = tag.len();
        if let Some(r) = region {
            tag.push('-');
            tag.push_str(&r);
        }
        Ok(Self { tag, language_len })
    }

    /// The language alone: `pt` for `pt-BR`.
    pub fn language(&self) -> &str {
        &self.tag[..self.language_len]
    }
}

impl AsRef<str> for Locale {
    fn as_ref(&self) -> &str {
        &self.tag
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

/// The languages a browser asked for, most wanted first, from an `Accept-Language` value
/// such as `fr-CA,fr;q=0.9,en;q=0.5`. Unparsable entries, `*` and `q=0` are left out.
pub fn accept_language(header: &str) -> Vec<Locale> {
    // Browsers send a handful; a longer list is someone else's problem, not a reason to
    // spend time here.
    const MAX_ENTRIES: usize = 16;
    let mut ranked: Vec<(u16, Locale)> = header
        .split(',')
        .take(MAX_ENTRIES)
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let locale = Locale::parse(parts.next()?).ok()?;
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), quality)?;
            (weight > 0).then_some((weight, locale))
        })
        .collect();
    // Stable: equal weights keep the browser's order.
    ranked.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    ranked.into_iter().map(|(_, l)| l).collect()
}

/// A `q` value in thousandths; `None` when malformed (the entry is then ignored).
fn quality(q: &str) -> Option<u16> {
    let q: f32 = q.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&q)
        .then(|| (q * 1000.0).round() as u16)
}

/// The locales a stage offers (each one the catalogue has) and its default among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locales {
    default: Locale,
    offered: Vec<Locale>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LocalesError {
    #[error("the catalogue (messages/) has no '{0}'; it has {1}")]
    NotInCatalogue(String, String),
    #[error("the default locale '{0}' is not among the offered ones")]
    DefaultNotOffered(String),
    #[error("no locale offered")]
    Empty,
}

impl Locales {
    /// `offered` must be in the catalogue (`known`) and include `default`.
    pub fn new(
        default: Locale,
        offered: Vec<Locale>,
        known: &[&str],
    ) -> Result<Self, LocalesError> {
        if offered.is_empty() {
            return Err(LocalesError::Empty);
        }
        if let Some(missing) = offered.iter().find(|l| !known.contains(&l.as_ref())) {
            return Err(LocalesError::NotInCatalogue(
                missing.to_string(),
                known.join(", "),
            ));
        }
        if !offered.contains(&default) {
            return Err(LocalesError::DefaultNotOffered(default.to_string()));
        }
        Ok(Self { default, offered })
    }

    pub fn default_locale(&self) -> &Locale {
        &self.default
    }

    pub fn offered(&self) -> &[Locale] {
        &self.offered
    }

    /// The offered locale for `wanted`: the same tag, else the same language (`fr-CA`
    /// finds `fr`, `pt` finds `pt-BR`).
    pub fn find(&self, wanted: &Locale) -> Option<&Locale> {
        self.offered.iter().find(|l| *l == wanted).or_else(|| {
            self.offered
                .iter()
                .find(|l| l.language() == wanted.language())
        })
    }

    /// The first of a browser's languages the stage offers, if any.
    pub fn from_accept_language(&self, header: &str) -> Option<Locale> {
        accept_language(header)
            .iter()
            .find_map(|l| self.find(l).cloned())
    }

    /// Whom to write in what: the person's own locale when offered, else the one their
    /// request asked for, else the stage's default.
    pub fn choose(&self, person: Option<&Locale>, requested: Option<&Locale>) -> &Locale {
        person
            .and_then(|l| self.find(l))
            .or_else(|| requested.and_then(|l| self.find(l)))
            .unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Locale {
        Locale::parse(s).unwrap()
    }

    fn stage() -> Locales {
        Locales::new(
            l("en"),
            vec![l("en"), l("es"), l("fr"), l("pt-BR")],
            &["en", "es", "fr", "pt-BR"],
        )
        .unwrap()
    }

    #[test]
    fn tags_are_normalised_and_scripts_dropped() {
        assert_eq!(l("FR-ca").as_ref(), "fr-CA");
        assert_eq!(l("es_419").as_ref(), "es-419");
        assert_eq!(l("zh-Hant-TW").as_ref(), "zh-TW");
        assert_eq!(l("pt-BR").language(), "pt");
        for bad in ["", "f", "french", "fr--CA", "fr-<b>", "*", "e1"] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accept_language_is_ranked_by_quality() {
        let got = accept_language("en;q=0.5, fr-CA , de;q=0, es;q=0.9, *;q=0.1, xx;q=oops");
        let tags: Vec<&str> = got.iter().map(AsRef::as_ref).collect();
        assert_eq!(tags, ["fr-CA", "es", "en"]);
    }

    #[test]
    fn the_person_comes_first_then_the_request_then_the_default() {
        let s = stage();
        assert_eq!(s.choose(Some(&l("fr")), Some(&l("es"))).as_ref(), "fr");
        assert_eq!(s.choose(Some(&l("de")), Some(&l("es-MX"))).as_ref(), "es");
        assert_eq!(s.choose(Some(&l("de")), None).as_ref(), "en");
        assert_eq!(s.choose(None, Some(&l("pt"))).as_ref(), "pt-BR");
        assert_eq!(
            s.from_accept_language("de-DE,fr;q=0.8").unwrap().as_ref(),
            "fr"
        );
        assert_eq!(s.from_accept_language("de-DE"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_input_parses_or_is_refused_and_a_tag_reads_back_as_itself(raw in "\\PC{0,40}") {
            if let Ok(locale) = Locale::parse(&raw) {
                proptest::prop_assert_eq!(Locale::parse(locale.as_ref()), Ok(locale.clone()));
                proptest::prop_assert!(locale.as_ref().starts_with(locale.language()));
            }
            let _ = accept_language(&raw);
        }
    }

    #[test]
    fn a_stage_offers_only_what_the_catalogue_has() {
        assert!(matches!(
            Locales::new(l("en"), vec![l("en"), l("de")], &["en"]),
            Err(LocalesError::NotInCatalogue(..))
        ));
        assert_eq!(
            Locales::new(l("fr"), vec![l("en")], &["en", "fr"]),
            Err(LocalesError::DefaultNotOffered("fr".into()))
        );
    }
}
