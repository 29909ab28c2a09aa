//! Swedish personal identity numbers (personnummer) and coordination numbers
//! (samordningsnummer, day + 60), validated with the Luhn check digit and
//! stored in the canonical 12-digit form.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

use super::InvalidInput;

const FIELD: &str = "contact.personalNumber";

#[derive(Clone, PartialEq, Eq)]
pub struct PersonalNumber {
    /// `YYYYMMDDNNNC`
    digits: String,
}

impl PersonalNumber {
    /// Accepts `YYMMDD-NNNC`, `YYMMDD+NNNC` (the `+` of those 100 or older),
    /// `YYMMDDNNNC`, `YYYYMMDD-NNNC` and `YYYYMMDDNNNC`. Ten-digit forms take
    /// the century that puts the birth date in the past, relative to `today`.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        let centenarian = raw.contains('+');
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | '+' | ' '))
            .collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("may contain only digits and - or +"));
        }
        let full = match digits.len() {
            12 => digits,
            10 => format!(
                "{:04}{}",
                infer_century_year(&digits, today, centenarian)?,
                &digits[2..]
            ),
            _ => return Err(invalid("must have 10 or 12 digits")),
        };
        let year: i32 = parse_num(&full[0..4])?;
        let month: u32 = parse_num(&full[4..6])?;
        let mut day: u32 = parse_num(&full[6..8])?;
        if day > 60 {
            day -= 60;
        }
        if NaiveDate::from_ymd_opt(year, month, day).is_none() {
            return Err(invalid("does not contain a valid date"));
        }
        if luhn_check_digit(&full[2..11]) != full.as_bytes()[11] - b'0' {
            return Err(invalid("check digit does not match"));
        }
        Ok(Self { digits: full })
    }

    pub fn canonical(&self) -> &str {
        &self.digits
    }

    /// `19800101-****`: the form for lists, logs and notifications.
    pub fn masked(&self) -> String {
        mask(&self.digits)
    }

    /// A keyed digest of the number: what exact search looks up. Without
    /// the key the digest cannot be reversed by trying all numbers, and it
    /// has no order, so numbers cannot be listed by prefix or range.
    pub fn search_digest(&self, key: &[u8]) -> String {
        let len = u64::try_from(key.len()).unwrap_or(u64::MAX).to_be_bytes();
        let digest = Sha256::new()
            .chain_update(len)
            .chain_update(key)
            .chain_update(self.digits.as_bytes())
            .finalize();
        hex::encode(digest)
    }
}

/// Masks a stored 12-digit number for lists: birth date only.
pub fn mask(canonical: &str) -> String {
    let date: String = canonical.chars().take(8).collect();
    format!("{date}-****")
}

impl fmt::Debug for PersonalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalNumber({})", self.masked())
    }
}

fn invalid(message: &str) -> InvalidInput {
    InvalidInput::new(FIELD, format!("personal identity number {message}"))
}

fn parse_num<T: std::str::FromStr>(s: &str) -> Result<T, InvalidInput> {
    s.parse().map_err(|_| invalid("is not a number"))
}

fn infer_century_year(ten: &str, today: NaiveDate, centenarian: bool) -> Result<i32, InvalidInput> {
    let yy: i32 = parse_num(&ten[0..2])?;
    let mut year = today.year() - today.year().rem_euclid(100) + yy;
    if year > today.year() {
        year -= 100;
    }
    if centenarian {
        year -= 100;
    }
    Ok(year)
}

fn luhn_check_digit(nine: &str) -> u8 {
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn all_common_forms_of_a_valid_number_parse_to_twelve_digits() {
        for raw in [
            "19121212-1212",
            "191212121212",
            "121212-1212",
            "121212+1212",
            "1212121212",
        ] {
            let expected = if raw.len() >= 12 || raw.contains('+') {
                "191212121212"
            } else {
                "201212121212"
            };
            assert_eq!(
                PersonalNumber::parse(raw, today()).unwrap().canonical(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn a_coordination_number_with_day_plus_sixty_is_valid() {
        let n = PersonalNumber::parse("701063-2391", today()).unwrap();
        assert_eq!(n.canonical(), "197010632391");
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        let err = PersonalNumber::parse("19121212-1213", today()).unwrap_err();
        assert_eq!(err.field, FIELD);
        assert!(err.message.contains("check digit"));
    }

    #[test]
    fn impossible_dates_and_lengths_are_refused() {
        assert!(PersonalNumber::parse("19800230-1234", today()).is_err());
        assert!(PersonalNumber::parse("12345", today()).is_err());
        assert!(PersonalNumber::parse("1980O101-1234", today()).is_err());
    }

    #[test]
    fn the_search_digest_depends_on_the_key_and_the_number() {
        let a = PersonalNumber::parse("19121212-1212", today()).unwrap();
        let b = PersonalNumber::parse("121212+1212", today()).unwrap();
        assert_eq!(a.search_digest(b"k1"), b.search_digest(b"k1"));
        assert_ne!(a.search_digest(b"k1"), a.search_digest(b"k2"));
        assert!(!a.search_digest(b"k1").contains("1212"));
    }

    #[test]
    fn masking_keeps_only_the_birth_date() {
        let n = PersonalNumber::parse("811218-9876", today()).unwrap();
        assert_eq!(n.masked(), "19811218-****");
        assert!(!format!("{n:?}").contains("9876"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date")
    }

    /// A valid twelve-digit number born on `born`.
    fn valid(born: NaiveDate, serial: u16) -> String {
        let first = format!("{}{serial:03}", born.format("%Y%m%d"));
        format!("{first}{}", luhn_check_digit(&first[2..11]))
    }

    proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_without_panicking(raw in "\\PC{0,30}") {
            let _ = PersonalNumber::parse(&raw, today());
        }

        #[test]
        fn digit_strings_are_parsed_or_refused_without_panicking(raw in "[0-9+ -]{0,16}") {
            let _ = PersonalNumber::parse(&raw, today());
        }

        #[test]
        fn every_written_form_of_a_valid_number_reads_as_its_canonical_form(
            days in 0i64..36_000,
            serial in 0u16..1000,
        ) {
            let born = today() - chrono::Duration::days(days + 1);
            let canonical = valid(born, serial);
            let short = &canonical[2..];
            for written in [
                canonical.clone(),
                format!("{}-{}", &canonical[..8], &canonical[8..]),
                format!("{}-{}", &short[..6], &short[6..]),
            ] {
                let parsed = PersonalNumber::parse(&written, today())?;
                prop_assert_eq!(parsed.canonical(), canonical.as_str());
            }
        }

        #[test]
        fn a_changed_digit_of_a_valid_number_is_refused(
            days in 0i64..36_000,
            serial in 0u16..1000,
            position in 2usize..12,
            delta in 1u8..10,
        ) {
            let born = today() - chrono::Duration::days(days + 1);
            let mut digits = valid(born, serial).into_bytes();
            digits[position] = b'0' + (digits[position] - b'0' + delta) % 10;
            let changed = String::from_utf8_lossy(&digits).into_owned();
            prop_assert!(PersonalNumber::parse(&changed, today()).is_err());
        }
    }
}
