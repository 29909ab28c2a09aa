//! Contact details: e-mail and Swedish phone numbers, normalised so that the
//! same person is found whatever way they wrote it.

use super::InvalidInput;

/// Lower-cased, syntax-checked e-mail address with a dotted domain (a
/// municipality cannot write back to `user@localhost`).
pub fn normalise_email(raw: &str) -> Result<String, InvalidInput> {
    let trimmed = raw.trim();
    let invalid = || InvalidInput::new("contact.email", "is not a valid e-mail address");
    if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
        return Err(invalid());
    }
    let (_, domain) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
    if !domain.contains('.') || domain.starts_with('[') || domain.ends_with('.') {
        return Err(invalid());
    }
    Ok(trimmed.to_lowercase())
}

/// E.164 form of a phone number. National Swedish numbers (`070-123 45 67`,
/// `08-123 456 78`) get +46; international numbers are accepted with `+` or
/// `00`.
pub fn normalise_phone(raw: &str) -> Result<String, InvalidInput> {
    let invalid = |why: &str| InvalidInput::new("contact.phone", why.to_owned());
    let compact: String = raw
        .trim()
        .replace("(0)", "")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '/'))
        .collect();
    let international = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix('0') {
        format!("46{rest}")
    } else {
        return Err(invalid(
            "must start with 0, +, or 00 followed by a country code",
        ));
    };
    if !international.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "may contain only digits, spaces, -, ( ) and a leading +",
        ));
    }
    let ok_length = match international.strip_prefix("46") {
        Some(national) => (7..=9).contains(&national.len()) && !national.starts_with('0'),
        None => (8..=15).contains(&international.len()),
    };
    if !ok_length {
        return Err(invalid("is not a valid phone number"));
    }
    Ok(format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_numbers_in_everyday_formats_become_e164() {
        for raw in [
            "070-123 45 67",
            "0701234567",
            "+46 70 123 45 67",
            "0046701234567",
            "+46 (0)70-123 45 67",
        ] {
            assert_eq!(normalise_phone(raw).unwrap(), "+46701234567", "{raw}");
        }
        assert_eq!(normalise_phone("08-123 456 78").unwrap(), "+46812345678");
    }

    #[test]
    fn foreign_numbers_keep_their_country_code() {
        assert_eq!(normalise_phone("+47 412 34 567").unwrap(), "+4741234567");
    }

    #[test]
    fn nonsense_phone_numbers_are_refused_with_the_field() {
        for raw in [
            "hello",
            "12345",
            "070-12",
            "+46 070 123 45 67",
            "0701234567890",
        ] {
            assert_eq!(
                normalise_phone(raw).unwrap_err().field,
                "contact.phone",
                "{raw}"
            );
        }
    }

    #[test]
    fn email_is_lower_cased_and_checked() {
        assert_eq!(
            normalise_email(" Anna.Svensson@Example.SE ").unwrap(),
            "anna.svensson@example.se"
        );
        for raw in [
            "anna",
            "anna@",
            "anna@localhost",
            "@example.se",
            "a b@example.se",
        ] {
            assert_eq!(
                normalise_email(raw).unwrap_err().field,
                "contact.email",
                "{raw}"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_is_normalised_or_refused_without_panicking(raw in "\\PC{0,30}") {
            let _ = normalise_phone(&raw);
            let _ = normalise_email(&raw);
        }

        #[test]
        fn a_normalised_number_normalises_to_itself(raw in "[+0]{0,2}[0-9 ()./-]{0,18}") {
            if let Ok(number) = normalise_phone(&raw) {
                prop_assert_eq!(normalise_phone(&number)?, number.clone());
                prop_assert!(number.starts_with('+'));
                prop_assert!(number[1..].bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn a_swedish_mobile_number_in_any_common_writing_is_the_same_number(
            digits in "7[02369][0-9]{7}",
            style in 0usize..4,
        ) {
            let written = match style {
                0 => format!("0{digits}"),
                1 => format!("0{}-{} {} {}", &digits[..2], &digits[2..5], &digits[5..7], &digits[7..]),
                2 => format!("+46 (0){digits}"),
                _ => format!("0046{digits}"),
            };
            prop_assert_eq!(normalise_phone(&written)?, format!("+46{digits}"));
        }
    }
}
