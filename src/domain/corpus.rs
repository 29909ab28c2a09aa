//! The labelled training corpus (`corpus/training`, see its README),
//! embedded so the binary trains its model without any file beside it.

use super::eval::{LabelledCase, parse_jsonl};

const FILES: [(&str, &str); 17] = [
    ("w1", include_str!("../../corpus/training/w1.jsonl")),
    ("w2", include_str!("../../corpus/training/w2.jsonl")),
    ("w3", include_str!("../../corpus/training/w3.jsonl")),
    ("w4", include_str!("../../corpus/training/w4.jsonl")),
    ("w5", include_str!("../../corpus/training/w5.jsonl")),
    ("w6", include_str!("../../corpus/training/w6.jsonl")),
    ("w7", include_str!("../../corpus/training/w7.jsonl")),
    ("w8", include_str!("../../corpus/training/w8.jsonl")),
    ("w9", include_str!("../../corpus/training/w9.jsonl")),
    ("w10", include_str!("../../corpus/training/w10.jsonl")),
    ("w11", include_str!("../../corpus/training/w11.jsonl")),
    ("w12", include_str!("../../corpus/training/w12.jsonl")),
    ("w13", include_str!("../../corpus/training/w13.jsonl")),
    ("w14", include_str!("../../corpus/training/w14.jsonl")),
    ("w15", include_str!("../../corpus/training/w15.jsonl")),
    ("w16", include_str!("../../corpus/training/w16.jsonl")),
    ("w17", include_str!("../../corpus/training/w17.jsonl")),
];

/// Written to teach 112 detection: true emergencies and look-alikes. Their
/// categories are a best guess for who follows up, and cross-validation
/// by writer routes ordinary requests better without them.
const EMERGENCY_FILES: [&str; 2] = ["w6", "w15"];

/// Texts for learning categories.
pub fn routing() -> Vec<LabelledCase> {
    read(|name| !EMERGENCY_FILES.contains(&name))
}

/// Every training text, in file order.
pub fn training() -> Vec<LabelledCase> {
    read(|_| true)
}

fn read(wanted: impl Fn(&str) -> bool) -> Vec<LabelledCase> {
    FILES
        .iter()
        .filter(|(name, _)| wanted(name))
        .flat_map(|(name, text)| {
            // The files are part of the build: a broken line is a bug that
            // the test below catches before any binary ships.
            parse_jsonl(text).unwrap_or_else(|e| panic!("corpus/training/{name}.jsonl: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::Catalogue;

    #[test]
    fn every_training_text_parses_and_names_a_category_of_the_sample_catalogue() {
        let catalogue = Catalogue::sample().unwrap();
        let cases = training();
        assert!(cases.len() >= 3000);
        for case in &cases {
            assert!(
                catalogue.category(&case.category).is_some(),
                "{}",
                case.category
            );
        }
    }
}
