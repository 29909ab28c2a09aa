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
    /// A handler took it.
    Claimed,
    /// A handler put it back in the queue.
    Released,
    /// Its status changed by a person's decision, usually with a message.
    StatusChanged,
    /// A person moved it to another category and queue.
    Rerouted,
    /// A note from staff: internal, or a message to the resident.
    Comment,
    /// The resident wrote back.
    CitizenReply,
    /// Merged into another request, whose status it follows.
    MarkedDuplicate,
    /// A handler changed its priority.
    PriorityChanged,
    /// A handler marked or unmarked the resident's protected identity.
    ProtectionChanged,
    /// Personal data removed after the retention period.
    PersonalDataPurged,
}

impl EventKind {
    const ALL: [EventKind; 14] = [
        Self::Submitted,
        Self::Routed,
        Self::Triaged,
        Self::Referred,
        Self::Claimed,
        Self::Released,
        Self::StatusChanged,
        Self::Rerouted,
        Self::Comment,
        Self::CitizenReply,
        Self::MarkedDuplicate,
        Self::PriorityChanged,
        Self::ProtectionChanged,
        Self::PersonalDataPurged,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Routed => "ROUTED",
            Self::Triaged => "TRIAGED",
            Self::Referred => "REFERRED",
            Self::Claimed => "CLAIMED",
            Self::Released => "RELEASED",
            Self::StatusChanged => "STATUS_CHANGED",
            Self::Rerouted => "REROUTED",
            Self::Comment => "COMMENT",
            Self::CitizenReply => "CITIZEN_REPLY",
            Self::MarkedDuplicate => "MARKED_DUPLICATE",
            Self::PriorityChanged => "PRIORITY_CHANGED",
            Self::ProtectionChanged => "PROTECTION_CHANGED",
            Self::PersonalDataPurged => "PERSONAL_DATA_PURGED",
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
    Staff,
    System,
}

impl ActorKind {
    const ALL: [ActorKind; 3] = [Self::Resident, Self::Staff, Self::System];

    pub fn code(self) -> &'static str {
        match self {
            Self::Resident => "RESIDENT",
            Self::Staff => "STAFF",
            Self::System => "SYSTEM",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}
