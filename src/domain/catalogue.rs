//! The routing catalogue: administrations, queues and categories with their
//! names, service levels, referral texts and classifier vocabulary. It is a
//! data file (TOML) so an operator replaces it without touching code; this
//! module parses and checks it.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::Language;
use super::text::tokens;

/// The sample municipality shipped inside the binary.
pub const SAMPLE: &str = include_str!("../assets/catalogue.toml");

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// One line, so that a refused start says why in one log line.
    #[error("catalogue is not valid TOML for this format: line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("catalogue is inconsistent: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Localized {
    pub sv: String,
    pub en: String,
}

impl Localized {
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Sv => &self.sv,
            Language::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LocalizedList {
    #[serde(default)]
    pub sv: Vec<String>,
    #[serde(default)]
    pub en: Vec<String>,
}

impl LocalizedList {
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.sv.iter().chain(self.en.iter())
    }
}

/// Queue order: higher is more urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn rank(self) -> i16 {
        match self {
            Self::Low => 1,
            Self::Normal => 2,
            Self::High => 3,
            Self::Urgent => 4,
        }
    }

    /// As the catalogue and the API spell it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Normal => "NORMAL",
            Self::High => "HIGH",
            Self::Urgent => "URGENT",
        }
    }

    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.rank() == rank)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueueDef {
    pub code: String,
    pub name: Localized,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdministrationDef {
    pub code: String,
    pub name: Localized,
    #[serde(default)]
    pub confidential: bool,
    pub queues: Vec<QueueDef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReferralDef {
    pub authority: String,
    pub message: Localized,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CategoryDef {
    pub code: String,
    pub administration: String,
    pub queue: String,
    pub name: Localized,
    pub description: Option<Localized>,
    pub priority: Priority,
    pub ack_days: u32,
    pub resolve_days: u32,
    #[serde(default)]
    pub words: LocalizedList,
    #[serde(default)]
    pub examples: LocalizedList,
    pub referral: Option<ReferralDef>,
    /// Overrides the administration's confidentiality for this category.
    pub confidential: Option<bool>,
    /// Days after closing before personal data is purged, overriding
    /// `ENVAGIN_RETENTION_DAYS` for this category.
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmergencyRules {
    /// Words and phrases that describe immediate danger.
    pub words: LocalizedList,
    /// Phrases that use a danger word harmlessly ("brandövning", "fire
    /// drill"): a danger word inside such a phrase does not count.
    #[serde(default)]
    pub harmless: LocalizedList,
    /// Phrases that move a sentence out of the present ("förra året",
    /// "last year", "testades"): danger words in that sentence do not count.
    #[serde(default)]
    pub not_now: LocalizedList,
    pub advice: Localized,
    /// The three lists as folded tokens, split once when the catalogue is
    /// read instead of for every clause of every request.
    #[serde(skip)]
    phrases: EmergencyPhrases,
}

/// A phrase as folded tokens, and whether it is Swedish (whose words may
/// be inflected or end a compound).
pub type Phrase = (Vec<String>, bool);

#[derive(Debug, Clone, Default)]
struct EmergencyPhrases {
    words: Vec<Phrase>,
    harmless: Vec<Phrase>,
    not_now: Vec<Phrase>,
}

impl EmergencyRules {
    fn split_phrases(&mut self) {
        self.phrases = EmergencyPhrases {
            words: phrases(&self.words),
            harmless: phrases(&self.harmless),
            not_now: phrases(&self.not_now),
        };
    }

    /// `words`, tokenized.
    pub fn danger_phrases(&self) -> &[Phrase] {
        &self.phrases.words
    }

    /// `harmless`, tokenized.
    pub fn harmless_phrases(&self) -> &[Phrase] {
        &self.phrases.harmless
    }

    /// `not_now`, tokenized.
    pub fn not_now_phrases(&self) -> &[Phrase] {
        &self.phrases.not_now
    }
}

/// Swedish phrases first, then English.
fn phrases(list: &LocalizedList) -> Vec<Phrase> {
    let swedish = list.sv.iter().map(|p| (tokens(p), true));
    swedish
        .chain(list.en.iter().map(|p| (tokens(p), false)))
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
struct Document {
    version: u32,
    triage_queue: String,
    triage_administration: String,
    /// Service levels of a request waiting for a person to classify it.
    #[serde(default = "default_triage_ack_days")]
    triage_ack_days: u32,
    #[serde(default = "default_triage_resolve_days")]
    triage_resolve_days: u32,
    emergency: EmergencyRules,
    administrations: Vec<AdministrationDef>,
    categories: Vec<CategoryDef>,
}

fn default_triage_ack_days() -> u32 {
    1
}

fn default_triage_resolve_days() -> u32 {
    5
}

/// A parsed and checked catalogue with lookups by code.
#[derive(Debug, Clone)]
pub struct Catalogue {
    doc: Document,
    administrations: HashMap<String, usize>,
    categories: HashMap<String, usize>,
}

/// Where in `text` the parser stopped, counted from 1, and why.
fn syntax_error(text: &str, error: &toml::de::Error) -> CatalogueError {
    let offset = error.span().map_or(0, |span| span.start.min(text.len()));
    let before = text.get(..offset).unwrap_or_default();
    CatalogueError::Syntax {
        line: before.matches('\n').count() + 1,
        column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
        message: error.message().trim().replace('\n', " "),
    }
}

impl Catalogue {
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let mut doc: Document = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        doc.emergency.split_phrases();
        let catalogue = Self {
            administrations: index_by_code(doc.administrations.iter().map(|a| &a.code)),
            categories: index_by_code(doc.categories.iter().map(|c| &c.code)),
            doc,
        };
        let problems = catalogue.problems();
        if problems.is_empty() {
            Ok(catalogue)
        } else {
            Err(CatalogueError::Inconsistent(problems))
        }
    }

    pub fn sample() -> Result<Self, CatalogueError> {
        Self::parse(SAMPLE)
    }

    pub fn administrations(&self) -> &[AdministrationDef] {
        &self.doc.administrations
    }

    pub fn categories(&self) -> &[CategoryDef] {
        &self.doc.categories
    }

    pub fn administration(&self, code: &str) -> Option<&AdministrationDef> {
        self.administrations
            .get(code)
            .map(|i| &self.doc.administrations[*i])
    }

    pub fn category(&self, code: &str) -> Option<&CategoryDef> {
        self.categories.get(code).map(|i| &self.doc.categories[*i])
    }

    pub fn is_confidential(&self, category: &CategoryDef) -> bool {
        category.confidential.unwrap_or_else(|| {
            self.administration(&category.administration)
                .is_some_and(|a| a.confidential)
        })
    }

    pub fn triage_queue(&self) -> &str {
        &self.doc.triage_queue
    }

    pub fn triage_administration(&self) -> &str {
        &self.doc.triage_administration
    }

    /// Working days to first response and to resolution while in triage.
    pub fn triage_service_levels(&self) -> (u32, u32) {
        (self.doc.triage_ack_days, self.doc.triage_resolve_days)
    }

    /// The administration that owns a queue.
    pub fn queue_owner(&self, queue: &str) -> Option<&AdministrationDef> {
        self.doc
            .administrations
            .iter()
            .find(|a| a.queues.iter().any(|q| q.code == queue))
    }

    pub fn emergency(&self) -> &EmergencyRules {
        &self.doc.emergency
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.doc.version != 1 {
            problems.push(format!("unsupported version {}", self.doc.version));
        }
        if self.administrations.len() != self.doc.administrations.len() {
            problems.push("administration codes are not unique".into());
        }
        if self.categories.len() != self.doc.categories.len() {
            problems.push("category codes are not unique".into());
        }
        let mut queue_owner = HashMap::new();
        for adm in &self.doc.administrations {
            for q in &adm.queues {
                if queue_owner
                    .insert(q.code.as_str(), adm.code.as_str())
                    .is_some()
                {
                    problems.push(format!("queue {} is defined twice", q.code));
                }
            }
        }
        match queue_owner.get(self.doc.triage_queue.as_str()) {
            Some(owner) if *owner == self.doc.triage_administration => {}
            _ => problems.push(format!(
                "triage queue {} must be a queue of administration {}",
                self.doc.triage_queue, self.doc.triage_administration
            )),
        }
        for cat in &self.doc.categories {
            match queue_owner.get(cat.queue.as_str()) {
                Some(owner) if *owner == cat.administration => {}
                Some(owner) => problems.push(format!(
                    "category {}: queue {} belongs to {owner}, not {}",
                    cat.code, cat.queue, cat.administration
                )),
                None => problems.push(format!(
                    "category {}: unknown queue {}",
                    cat.code, cat.queue
                )),
            }
            if cat.ack_days > cat.resolve_days {
                problems.push(format!(
                    "category {}: ack_days exceeds resolve_days",
                    cat.code
                ));
            }
        }
        problems
    }
}

fn index_by_code<'a>(codes: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
    let mut seen = HashSet::new();
    codes
        .enumerate()
        .filter(|(_, c)| seen.insert(c.as_str()))
        .map(|(i, c)| (c.clone(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_CODES: [(&str, &[&str]); 9] = [
        ("KC", &["general_question"]),
        (
            "TF",
            &[
                "street_maintenance",
                "snow_and_ice",
                "street_lighting",
                "traffic_and_parking",
                "parks_and_playgrounds",
                "water_and_sewage",
                "waste_collection",
            ],
        ),
        ("SBF", &["building_permits", "environment_and_health"]),
        (
            "SOC",
            &[
                "financial_assistance",
                "child_welfare_concern",
                "substance_abuse_support",
                "domestic_violence",
            ],
        ),
        (
            "VOF",
            &[
                "home_care",
                "elderly_housing",
                "disability_support",
                "paratransit",
            ],
        ),
        ("BUF", &["preschool", "school", "school_transport"]),
        (
            "KFF",
            &["library", "sports_and_leisure", "association_grants"],
        ),
        (
            "KLK",
            &[
                "public_records",
                "personal_data_request",
                "invoices_and_fees",
                "complaints_and_feedback",
            ],
        ),
        (
            "EXT",
            &[
                "ext_state_roads",
                "ext_police",
                "ext_tax_agency",
                "ext_healthcare",
                "ext_public_transport",
                "ext_social_insurance",
            ],
        ),
    ];

    #[test]
    fn a_syntax_error_is_reported_on_one_line_with_its_position() {
        let broken = "version = 1\ntriage_queue = \"TRIAGE\ntriage_administration = \"KC\"\n";
        let message = Catalogue::parse(broken).unwrap_err().to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn the_sample_catalogue_has_exactly_the_designed_codes() {
        let c = Catalogue::sample().unwrap();
        let expected: usize = DESIGN_CODES.iter().map(|(_, cats)| cats.len()).sum();
        assert_eq!(c.categories().len(), expected);
        for (adm, cats) in DESIGN_CODES {
            let a = c
                .administration(adm)
                .unwrap_or_else(|| panic!("{adm} missing"));
            assert!(
                a.queues.iter().any(|q| q.code == adm),
                "{adm} has no queue of its own code"
            );
            for code in cats {
                let cat = c.category(code).unwrap_or_else(|| panic!("{code} missing"));
                assert_eq!(cat.administration, adm);
                assert_eq!(cat.referral.is_some(), adm == "EXT", "{code} referral");
            }
        }
        assert_eq!(c.triage_queue(), "TRIAGE");
    }

    #[test]
    fn social_services_and_care_are_confidential_and_the_rest_are_not() {
        let c = Catalogue::sample().unwrap();
        for cat in c.categories() {
            let expected = matches!(cat.administration.as_str(), "SOC" | "VOF");
            assert_eq!(c.is_confidential(cat), expected, "{}", cat.code);
        }
    }

    #[test]
    fn a_category_pointing_at_another_administrations_queue_is_refused() {
        let broken = SAMPLE.replacen("queue = \"TF\"", "queue = \"SOC\"", 1);
        let err = Catalogue::parse(&broken).unwrap_err().to_string();
        assert!(err.contains("belongs to SOC"), "{err}");
    }
}
