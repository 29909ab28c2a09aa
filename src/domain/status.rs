//! The request life cycle of DESIGN.md as a state machine: every change of
//! status anywhere in the service asks `can_move_to` first.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RequestStatus {
    Received,
    Triage,
    Queued,
    InProgress,
    WaitingForCitizen,
    Resolved,
    Closed,
    Referred,
    Duplicate,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 9] = [
        Self::Received,
        Self::Triage,
        Self::Queued,
        Self::InProgress,
        Self::WaitingForCitizen,
        Self::Resolved,
        Self::Closed,
        Self::Referred,
        Self::Duplicate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::Triage => "TRIAGE",
            Self::Queued => "QUEUED",
            Self::InProgress => "IN_PROGRESS",
            Self::WaitingForCitizen => "WAITING_FOR_CITIZEN",
            Self::Resolved => "RESOLVED",
            Self::Closed => "CLOSED",
            Self::Referred => "REFERRED",
            Self::Duplicate => "DUPLICATE",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether DESIGN.md's transition table allows this change. Who may make
    /// it, and with which message, is decided by the use case.
    pub fn can_move_to(self, to: RequestStatus) -> bool {
        use RequestStatus::*;
        matches!(
            (self, to),
            (Received, Triage | Queued | Referred | Closed)
                | (Triage, Queued | Referred | Closed)
                | (Queued, InProgress | Queued | Triage | Referred | Duplicate)
                | (
                    InProgress,
                    Queued | WaitingForCitizen | Resolved | Referred | Duplicate
                )
                | (WaitingForCitizen, InProgress | Resolved | Closed)
                | (Resolved, InProgress | Closed)
                | (Referred, Queued)
                | (Duplicate, Queued)
        )
    }

    /// These statuses always carry a message to the resident.
    pub fn requires_message(self) -> bool {
        matches!(
            self,
            Self::WaitingForCitizen | Self::Resolved | Self::Referred
        )
    }
}

#[cfg(test)]
mod tests {
    use super::RequestStatus::*;
    use super::*;

    #[test]
    fn closed_is_final() {
        for to in RequestStatus::ALL {
            assert!(!Closed.can_move_to(to));
        }
    }

    #[test]
    fn the_router_may_send_a_new_request_to_triage_queue_or_referral() {
        assert!(Received.can_move_to(Triage));
        assert!(Received.can_move_to(Queued));
        assert!(Received.can_move_to(Referred));
        assert!(!Received.can_move_to(InProgress));
    }

    #[test]
    fn a_resolved_request_reopens_when_the_resident_replies() {
        assert!(Resolved.can_move_to(InProgress));
        assert!(!Resolved.can_move_to(Queued));
    }

    #[test]
    fn the_transition_table_has_exactly_the_designed_number_of_edges() {
        let edges = RequestStatus::ALL
            .iter()
            .flat_map(|from| RequestStatus::ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| from.can_move_to(*to))
            .count();
        assert_eq!(edges, 4 + 3 + 5 + 5 + 3 + 2 + 1 + 1);
    }

    #[test]
    fn codes_round_trip() {
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::from_code(s.code()), Some(s));
        }
    }
}
