//! Request references: `EVI-2026-004217-3`. Year, a sequence number and a
//! Damm check digit, which catches every single-digit error and every swap of
//! two adjacent digits, so a misheard reference is refused instead of finding
//! someone else's request.

use std::fmt;

use super::InvalidInput;

const PREFIX: &str = "EVI";
const MIN_SEQUENCE_DIGITS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reference {
    year: i32,
    sequence: u64,
}

impl Reference {
    pub fn new(year: i32, sequence: u64) -> Self {
        Self { year, sequence }
    }

    /// Accepts the printed form in any case, with hyphens or spaces anywhere
    /// (people read it out in groups), and refuses a wrong check digit.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let invalid = || {
            InvalidInput::new(
                "reference",
                "is not a valid reference (expected e.g. EVI-2026-000123-4)",
            )
        };
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let digits = compact.strip_prefix(PREFIX).ok_or_else(invalid)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() < 4 + MIN_SEQUENCE_DIGITS + 1
        {
            return Err(invalid());
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        if damm(body) != check.as_bytes()[0] - b'0' {
            return Err(InvalidInput::new(
                "reference",
                "check digit does not match: please read the reference again",
            ));
        }
        let year = body[..4].parse().map_err(|_| invalid())?;
        let sequence = body[4..].parse().map_err(|_| invalid())?;
        Ok(Self { year, sequence })
    }

    fn body(&self) -> String {
        format!(
            "{:04}{:0width$}",
            self.year,
            self.sequence,
            width = MIN_SEQUENCE_DIGITS
        )
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}-{:04}-{:0width$}-{}",
            self.year,
            self.sequence,
            damm(&self.body()),
            width = MIN_SEQUENCE_DIGITS
        )
    }
}

const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// Damm check digit of an ASCII digit string.
fn damm(digits: &str) -> u8 {
    digits.bytes().fold(0u8, |interim, b| {
        DAMM[interim as usize][(b - b'0') as usize]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_prints_and_parses_back() {
        let r = Reference::new(2026, 4217);
        let printed = r.to_string();
        assert!(printed.starts_with("EVI-2026-004217-"));
        assert_eq!(Reference::parse(&printed), Ok(r));
        assert_eq!(
            Reference::parse(&printed.to_lowercase().replace('-', " ")),
            Ok(r)
        );
    }

    #[test]
    fn every_single_digit_error_is_refused() {
        let printed = Reference::new(2026, 4217).to_string();
        for (i, c) in printed.char_indices().filter(|(_, c)| c.is_ascii_digit()) {
            for d in ('0'..='9').filter(|d| *d != c) {
                let mut wrong = printed.clone();
                wrong.replace_range(i..i + 1, &d.to_string());
                assert!(Reference::parse(&wrong).is_err(), "{wrong} was accepted");
            }
        }
    }

    #[test]
    fn swapping_adjacent_digits_is_refused() {
        let r = Reference::new(2026, 123456);
        let digits: Vec<char> = r.to_string().replace('-', "")[3..].chars().collect();
        for i in 0..digits.len() - 1 {
            if digits[i] == digits[i + 1] {
                continue;
            }
            let mut swapped = digits.clone();
            swapped.swap(i, i + 1);
            let candidate = format!("EVI{}", swapped.iter().collect::<String>());
            assert!(
                Reference::parse(&candidate).is_err(),
                "{candidate} was accepted"
            );
        }
    }

    #[test]
    fn sequences_beyond_six_digits_widen_the_reference() {
        let r = Reference::new(2031, 12_345_678);
        assert_eq!(Reference::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn garbage_is_refused_as_invalid_reference() {
        for raw in [
            "",
            "EVI",
            "ABC-2026-000001-1",
            "EVI-2026-01-1",
            "EVI-20x6-000001-1",
        ] {
            assert_eq!(Reference::parse(raw).unwrap_err().field, "reference");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_without_panicking(raw in "\\PC{0,40}") {
            let _ = Reference::parse(&raw);
        }

        #[test]
        fn digit_strings_after_the_prefix_are_parsed_or_refused_without_panicking(
            digits in "[0-9]{0,30}",
        ) {
            let _ = Reference::parse(&format!("EVI{digits}"));
        }

        #[test]
        fn a_printed_reference_reads_back_as_itself_in_any_case_and_grouping(
            year in 2000i32..=2999,
            sequence in 0u64..1_000_000_000_000,
            lower in any::<bool>(),
        ) {
            let reference = Reference::new(year, sequence);
            let printed = reference.to_string();
            prop_assert_eq!(Reference::parse(&printed)?, reference);
            let spoken = printed.replace('-', " ");
            let spoken = if lower { spoken.to_lowercase() } else { spoken };
            prop_assert_eq!(Reference::parse(&spoken)?, reference);
        }

        #[test]
        fn one_changed_digit_is_always_caught(
            year in 2000i32..=2999,
            sequence in 0u64..1_000_000,
            position in 0usize..11,
            delta in 1u8..10,
        ) {
            let printed: Vec<u8> = Reference::new(year, sequence)
                .to_string()
                .bytes()
                .filter(u8::is_ascii_digit)
                .collect();
            let mut changed = printed.clone();
            changed[position] = b'0' + (changed[position] - b'0' + delta) % 10;
            let changed = format!("EVI{}", String::from_utf8_lossy(&changed));
            prop_assert!(Reference::parse(&changed).is_err());
        }
    }
}
