//! Tracking codes: the secret a resident gets once, together with the
//! reference. 16 characters of Crockford base32 carry 80 bits of randomness,
//! so a fast SHA-256 is enough to store them (a slow password hash would cost
//! every status lookup for nothing). The alphabet has no I, L, O or U, and
//! input folds the look-alikes, so a code read over the phone still matches.

use std::fmt;

use rand::RngExt;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 16;

#[derive(Clone, PartialEq, Eq)]
pub struct TrackingCode(String);

impl TrackingCode {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self(
            (0..LENGTH)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// Normalises what a person typed; `None` when it cannot be a code.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut code = String::with_capacity(LENGTH);
        for c in raw.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
                return None;
            }
            code.push(c);
        }
        (code.len() == LENGTH).then_some(Self(code))
    }

    /// Hex SHA-256 of the normalised code: the only form that is stored.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Encrypts the code under a pad derived from the idempotency key, so a
    /// retried submission can hand the same code back while the database
    /// alone cannot recover it.
    pub fn seal(&self, pad_source: &[u8]) -> String {
        hex::encode(xor_pad(self.0.as_bytes(), pad_source))
    }

    pub fn unseal(sealed: &str, pad_source: &[u8]) -> Option<Self> {
        let bytes = hex::decode(sealed).ok()?;
        let plain = String::from_utf8(xor_pad(&bytes, pad_source)).ok()?;
        Self::parse(&plain)
    }
}

fn xor_pad(data: &[u8], pad_source: &[u8]) -> Vec<u8> {
    let pad = Sha256::new()
        .chain_update(b"envagin/tracking-code-seal/v1")
        .chain_update(pad_source)
        .finalize();
    data.iter().zip(pad.iter()).map(|(d, p)| d ^ p).collect()
}

/// Printed in groups of four for reading aloud.
impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<&str> = (0..LENGTH).step_by(4).map(|i| &self.0[i..i + 4]).collect();
        f.write_str(&groups.join("-"))
    }
}

/// Never print the secret in logs by accident.
impl fmt::Debug for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackingCode(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_code_parses_back_from_its_printed_form() {
        let code = TrackingCode::generate();
        let printed = code.to_string();
        assert_eq!(printed.len(), 19);
        assert_eq!(TrackingCode::parse(&printed), Some(code.clone()));
        assert_eq!(
            TrackingCode::parse(&printed.to_lowercase().replace('-', " ")),
            Some(code)
        );
    }

    #[test]
    fn look_alike_letters_are_read_as_digits() {
        let a = TrackingCode::parse("O0IL-0000-0000-0000").unwrap();
        assert_eq!(a, TrackingCode::parse("0011000000000000").unwrap());
    }

    #[test]
    fn wrong_length_or_foreign_characters_are_not_codes() {
        assert!(TrackingCode::parse("ABC").is_none());
        assert!(TrackingCode::parse("ABCD-EFGH-JKMN-PQRU").is_none());
        assert!(TrackingCode::parse("ÅBCD-EFGH-JKMN-PQRS").is_none());
    }

    #[test]
    fn sealing_round_trips_only_with_the_same_pad() {
        let code = TrackingCode::generate();
        let sealed = code.seal(b"key-1");
        assert_eq!(TrackingCode::unseal(&sealed, b"key-1"), Some(code.clone()));
        assert_ne!(TrackingCode::unseal(&sealed, b"key-2"), Some(code));
    }

    #[test]
    fn codes_are_distinct_and_hashes_are_hex_sha256() {
        let a = TrackingCode::generate();
        let b = TrackingCode::generate();
        assert_ne!(a, b);
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), b.hash());
    }
}
