//! Pure domain: types that parse on construction, validation, the life-cycle
//! state machine, the catalogue and the classifier seam. No I/O lives here,
//! and nothing here knows about HTTP, GraphQL or the database.

pub mod actor;
pub mod analysis;
pub mod calendar;
pub mod catalogue;
pub mod classifier;
pub mod contact;
pub mod corpus;
pub mod disclosure;
pub mod eval;
pub mod history;
pub mod history_import;
pub mod inbound_email;
pub mod knowledge;
pub mod language;
pub mod notification;
pub mod personal_number;
pub mod policy;
pub mod reference;
pub mod routing;
pub mod search;
pub mod status;
pub mod submission;
pub mod text;
pub mod tracking;

/// Input that breaks a rule: which field, and what a person should fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    pub field: String,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The language a resident writes in and is answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Language {
    #[default]
    Sv,
    En,
}

impl Language {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sv" | "sv-se" => Ok(Self::Sv),
            "en" | "en-gb" | "en-us" => Ok(Self::En),
            _ => Err(InvalidInput::new("language", "must be \"sv\" or \"en\"")),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }
}

/// The door a request came in through. Only `Web` is open to residents
/// directly; the others are registered by staff on the resident's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Channel {
    #[default]
    Web,
    Phone,
    Visit,
    Email,
    Letter,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Self::Web,
        Self::Phone,
        Self::Visit,
        Self::Email,
        Self::Letter,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Web => "WEB",
            Self::Phone => "PHONE",
            Self::Visit => "VISIT",
            Self::Email => "EMAIL",
            Self::Letter => "LETTER",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}
