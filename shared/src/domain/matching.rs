//! Finding exactly one person from what a caller typed.

use super::identifiers::FirstName;
use super::user::User;

/// Which identifier produced the candidates, in Zenoti's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedWith {
    None = 0,
    Username = 1,
    Email = 2,
    Mobile = 3,
}

/// Keeps the candidates whose first name matches, ignoring case and accents. Without a
/// first name, or with a single candidate, the candidates stand as they are: narrowing
/// exists to separate people who share an email or phone, not to second-guess a unique hit.
pub fn narrow_by_first_name(candidates: Vec<User>, first_name: Option<&FirstName>) -> Vec<User> {
    match first_name {
        Some(wanted) if candidates.len() > 1 => candidates
            .into_iter()
            .filter(|u| u.first_name.as_ref().is_some_and(|f| f.same_name(wanted)))
            .collect(),
        _ => candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn user(n: u8, first: &str) -> User {
        let mut u = User::new(UserId::from_random([n; 16]));
        u.first_name = Some(FirstName::parse(first).unwrap());
        u
    }

    #[test]
    fn narrowing_ignores_case_and_accents() {
        let left = narrow_by_first_name(
            vec![user(1, "Zoë"), user(2, "Zara")],
            Some(&FirstName::parse("zoe").unwrap()),
        );
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, UserId::from_random([1; 16]));
    }

    #[test]
    fn a_single_candidate_is_not_narrowed_away() {
        let left = narrow_by_first_name(
            vec![user(1, "Zoë")],
            Some(&FirstName::parse("Ana").unwrap()),
        );
        assert_eq!(left.len(), 1);
    }
}
