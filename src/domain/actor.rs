//! Who is asking. Transports turn a verified token into an `Actor`; use
//! cases decide from it what the caller may do.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A resident logged in through the e-ID broker.
    Citizen,
    /// A case handler in the administrations listed in `adm`.
    Handler,
    /// First-line staff of the contact centre.
    ContactCentre,
    /// System owner: statistics and catalogue, never request content.
    Admin,
    /// An administration's own case-management system, acting in the
    /// administrations listed in `adm` as their handlers do.
    Service,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Citizen,
        Self::Handler,
        Self::ContactCentre,
        Self::Admin,
        Self::Service,
    ];

    /// The claim value in the token's `roles`.
    pub fn claim(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Handler => "handler",
            Self::ContactCentre => "contact_centre",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }

    /// Unknown role names are not an error: they are ignored.
    pub fn from_claim(claim: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.claim() == claim)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Stable subject identifier from the identity provider.
    pub sub: String,
    pub name: Option<String>,
    pub roles: BTreeSet<Role>,
    /// Administration codes a handler works in.
    pub administrations: BTreeSet<String>,
    /// When the token that proved this identity expires (Unix seconds):
    /// long-lived connections must stop serving the actor after it.
    pub expires_at: Option<i64>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether this caller handles requests of `administration`: one of its
    /// handlers, or its own system with a service token.
    pub fn handles(&self, administration: &str) -> bool {
        (self.has(Role::Handler) || self.has(Role::Service))
            && self.administrations.contains(administration)
    }

    /// Whether the caller acts for the municipality: staff, or an
    /// administration's own system (any role but `citizen`).
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|role| *role != Role::Citizen)
    }

    pub fn has_expired(&self, now_unix: i64) -> bool {
        self.expires_at.is_some_and(|exp| now_unix > exp)
    }
}

/// The caller of a use case: nobody in particular, or a verified actor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Caller {
    #[default]
    Anonymous,
    Authenticated(Actor),
}

impl Caller {
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Self::Anonymous => None,
            Self::Authenticated(actor) => Some(actor),
        }
    }
}
