//! Who may do what with a request. The use cases ask these questions; the
//! answers follow DESIGN.md and secrecy between administrations (OSL
//! 8 kap 2 §): a handler sees only their own administrations' requests, the
//! contact centre sees confidential ones only at status level.

use super::actor::{Actor, Role};

/// What a caller may read of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Nothing: the request does not exist for this caller.
    None,
    /// Reference, status, administration, dates and public history only.
    StatusOnly,
    /// The resident holding reference and tracking code: status, category,
    /// administration, dates and the public history with its messages.
    Resident,
    /// Everything, including personal data and internal notes.
    Full,
}

/// The facts about a request that access depends on.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub administration: &'a str,
    pub confidential: bool,
    pub protected_identity: bool,
    pub registered_by: Option<&'a str>,
}

/// Whether `actor` works the queues of `administration`: its handlers, and
/// the contact centre for its own administration (triage and general
/// questions).
pub fn works_in(actor: &Actor, administration: &str, contact_centre_administration: &str) -> bool {
    actor.handles(administration)
        || (actor.has(Role::ContactCentre) && administration == contact_centre_administration)
}

pub fn access(
    actor: &Actor,
    request: RequestFacts<'_>,
    contact_centre_administration: &str,
) -> Access {
    if actor.handles(request.administration) {
        return Access::Full;
    }
    if !actor.has(Role::ContactCentre) {
        return Access::None;
    }
    let registered_it = request.registered_by == Some(actor.sub.as_str());
    let secret = request.confidential || request.protected_identity;
    // The contact centre triages what lands in its own administration, so it
    // reads it, protected identities included; but a confidential request
    // sent back to triage from a confidential administration stays secret
    // there: the contact centre routes it from status-level facts.
    let own_and_open =
        request.administration == contact_centre_administration && !request.confidential;
    if registered_it || !secret || own_and_open {
        Access::Full
    } else {
        Access::StatusOnly
    }
}

/// Rerouting: the owning administration's handlers, and the contact centre
/// (which triages and corrects misroutes) for requests it may read in full
/// and for everything in its own triage, readable or not: a confidential
/// request sent back to triage must still find its way. Elsewhere, a
/// confidential request the contact centre sees only at status level stays
/// where it is.
pub fn may_reroute(
    actor: &Actor,
    request: RequestFacts<'_>,
    contact_centre_administration: &str,
) -> bool {
    actor.handles(request.administration)
        || (actor.has(Role::ContactCentre)
            && (request.administration == contact_centre_administration
                || access(actor, request, contact_centre_administration) == Access::Full))
}

/// Whether a request is confidential after `actor` reroutes it to a
/// category that is (or is not) `target_confidential`. Someone who reads it
/// in full may declassify it by choosing an open category; someone who sees
/// it only at status level may not, or routing it into a queue they read
/// would open it to them.
pub fn confidential_after_reroute(
    actor: &Actor,
    request: RequestFacts<'_>,
    target_confidential: bool,
    contact_centre_administration: &str,
) -> bool {
    target_confidential
        || (request.confidential
            && access(actor, request, contact_centre_administration) != Access::Full)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn actor(roles: &[Role], adm: &[&str]) -> Actor {
        Actor {
            sub: "anna".into(),
            name: None,
            roles: roles.iter().copied().collect(),
            administrations: adm.iter().map(|a| (*a).to_owned()).collect::<BTreeSet<_>>(),
            expires_at: None,
        }
    }

    fn facts(administration: &str, confidential: bool) -> RequestFacts<'_> {
        RequestFacts {
            administration,
            confidential,
            protected_identity: false,
            registered_by: None,
        }
    }

    #[test]
    fn a_handler_reads_their_own_administration_and_nothing_else() {
        let tf = actor(&[Role::Handler], &["TF"]);
        assert_eq!(access(&tf, facts("TF", false), "KC"), Access::Full);
        assert_eq!(access(&tf, facts("SOC", true), "KC"), Access::None);
        assert_eq!(access(&tf, facts("BUF", false), "KC"), Access::None);
    }

    #[test]
    fn the_contact_centre_sees_confidential_requests_at_status_level_unless_it_registered_them() {
        let kc = actor(&[Role::ContactCentre], &[]);
        assert_eq!(access(&kc, facts("TF", false), "KC"), Access::Full);
        assert_eq!(access(&kc, facts("SOC", true), "KC"), Access::StatusOnly);
        let mut own = facts("SOC", true);
        own.registered_by = Some("anna");
        assert_eq!(access(&kc, own, "KC"), Access::Full);
        let mut protected = facts("TF", false);
        protected.protected_identity = true;
        assert_eq!(access(&kc, protected, "KC"), Access::StatusOnly);
    }

    #[test]
    fn the_contact_centre_may_not_reroute_what_it_may_not_read() {
        let kc = actor(&[Role::ContactCentre], &[]);
        assert!(may_reroute(&kc, facts("TF", false), "KC"));
        assert!(!may_reroute(&kc, facts("SOC", true), "KC"));
        assert!(may_reroute(
            &actor(&[Role::Handler], &["SOC"]),
            facts("SOC", true),
            "KC"
        ));
    }

    #[test]
    fn a_confidential_request_in_triage_stays_at_status_level_for_the_contact_centre() {
        let kc = actor(&[Role::ContactCentre], &[]);
        let cases = [
            // (confidential, protected, access)
            (false, false, Access::Full),
            (false, true, Access::Full),
            (true, false, Access::StatusOnly),
            (true, true, Access::StatusOnly),
        ];
        for (confidential, protected, expected) in cases {
            let mut triage = facts("KC", confidential);
            triage.protected_identity = protected;
            assert_eq!(
                access(&kc, triage, "KC"),
                expected,
                "confidential {confidential}, protected {protected}"
            );
            assert!(may_reroute(&kc, triage, "KC"));
        }
        let mut own = facts("KC", true);
        own.registered_by = Some("anna");
        assert_eq!(access(&kc, own, "KC"), Access::Full);
    }

    #[test]
    fn only_a_full_reader_declassifies_a_request_by_rerouting_it() {
        let kc = actor(&[Role::ContactCentre], &[]);
        let soc = actor(&[Role::Handler], &["SOC"]);
        // (who, request, target confidential, confidential afterwards)
        let cases = [
            (&kc, facts("KC", true), false, true),
            (&kc, facts("KC", true), true, true),
            (&kc, facts("KC", false), false, false),
            (&kc, facts("KC", false), true, true),
            (&soc, facts("SOC", true), false, false),
            (&soc, facts("SOC", true), true, true),
        ];
        for (who, request, target, expected) in cases {
            assert_eq!(
                confidential_after_reroute(who, request, target, "KC"),
                expected,
                "{request:?} to confidential {target}"
            );
        }
    }

    #[test]
    fn admins_and_residents_read_no_content() {
        assert_eq!(
            access(&actor(&[Role::Admin], &[]), facts("TF", false), "KC"),
            Access::None
        );
        assert_eq!(
            access(&actor(&[Role::Citizen], &[]), facts("TF", false), "KC"),
            Access::None
        );
    }

    #[test]
    fn a_handler_listed_for_an_administration_without_the_handler_role_works_nowhere() {
        let not_handler = actor(&[Role::Citizen], &["TF"]);
        assert!(!works_in(&not_handler, "TF", "KC"));
        assert!(works_in(&actor(&[Role::ContactCentre], &[]), "KC", "KC"));
        assert!(!works_in(&actor(&[Role::ContactCentre], &[]), "TF", "KC"));
    }
}
