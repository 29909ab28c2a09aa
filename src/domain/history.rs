//! The append-only history of a request: what happened, who did it, and
//! whether the resident may see it.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The request reached the municipality.
    Submitted,
    /// The router placed it in an administration's queue.
    Routed,
    /// The router was unsure and placed it in the triage queue.
    Triaged,
    /// It belongs to another authority; the resident was told which.
    Referred,
}

impl EventKind {
    const ALL: [EventKind; 4] = [Self::Submitted, Self::Routed, Self::Triaged, Self::Referred];

    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Routed => "ROUTED",
            Self::Triaged => "TRIAGED",
            Self::Referred => "REFERRED",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// Who caused an event. Staff identities are stored but never shown to the
/// resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Resident,
    System,
}

impl ActorKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Resident => "RESIDENT",
            Self::System => "SYSTEM",
        }
    }
}
