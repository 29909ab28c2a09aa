//! Attempts per client address (or per signed-in resident) in a sliding
//! window: failed resident look-ups (reference + tracking code is a secret
//! pair; refusing an address for a while after too many failures makes
//! guessing pairs hopeless) and submissions by residents (a flood from one
//! address or one e-ID cannot fill the queues).
//!
//! Per process: with N replicas behind a load balancer an address gets up
//! to N times the limit, which still leaves 80-bit codes unguessable.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, forget those without recent attempts.
const PRUNE_ABOVE: usize = 10_000;

/// What attempts are counted by.
pub trait BudgetKey: Clone + Eq + Hash {
    /// The key whose budget this one draws on: keys one client controls
    /// together share one.
    fn budget(self) -> Self;
}

impl BudgetKey for IpAddr {
    fn budget(self) -> Self {
        address_key(self)
    }
}

/// Who a resident's submission is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubmitterKey {
    /// Anonymous: the client address.
    Address(IpAddr),
    /// Signed in through the e-ID broker: the token's `sub`, wherever the
    /// resident submits from (a signed-in resident is no less able to
    /// flood the queues than an anonymous one).
    Subject(String),
}

impl BudgetKey for SubmitterKey {
    fn budget(self) -> Self {
        match self {
            Self::Address(client) => Self::Address(address_key(client)),
            Self::Subject(_) => self,
        }
    }
}

pub struct Limiter<K> {
    /// 0: no limit.
    max_attempts: usize,
    window: Duration,
    attempts: Mutex<HashMap<K, VecDeque<Instant>>>,
}

/// Attempts per client address.
pub type AddressLimiter = Limiter<IpAddr>;

impl<K: BudgetKey> Limiter<K> {
    pub fn new(max_attempts: usize, window: Duration) -> Self {
        Self {
            max_attempts,
            window,
            attempts: Mutex::default(),
        }
    }

    /// Takes one of `client`'s attempts in the current window, or `None`
    /// when they are used up. Checking and taking is one step, so that
    /// concurrent requests from one address (or one request with many
    /// aliased fields) cannot all pass the check before any is counted.
    /// The attempt stays counted unless the reservation is `refunded`.
    pub fn reserve(&self, client: K) -> Option<Reservation<'_, K>> {
        let key = client.budget();
        let at = Instant::now();
        if self.max_attempts == 0 {
            return Some(Reservation {
                limiter: self,
                key,
                at: None,
            });
        }
        let mut map = self.attempts.lock().ok()?;
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, times| {
                expire(times, at, self.window);
                !times.is_empty()
            });
        }
        let times = map.entry(key.clone()).or_default();
        expire(times, at, self.window);
        if times.len() >= self.max_attempts {
            return None;
        }
        times.push_back(at);
        Some(Reservation {
            limiter: self,
            key,
            at: Some(at),
        })
    }

    fn refund(&self, key: &K, at: Instant) {
        if let Ok(mut map) = self.attempts.lock()
            && let Some(times) = map.get_mut(key)
            && let Some(position) = times.iter().position(|t| *t == at)
        {
            times.remove(position);
        }
    }
}

/// One attempt taken from a budget.
pub struct Reservation<'a, K: BudgetKey> {
    limiter: &'a Limiter<K>,
    key: K,
    /// `None` when there is no limit.
    at: Option<Instant>,
}

impl<K: BudgetKey> Reservation<'_, K> {
    /// Gives the attempt back: it turned out not to count (a look-up that
    /// found its request).
    pub fn refund(self) {
        if let Some(at) = self.at {
            self.limiter.refund(&self.key, at);
        }
    }
}

/// What an address is counted by: an IPv6 client controls at least a /64
/// (one customer's prefix), so counting its addresses one by one would give
/// it 2^64 budgets.
fn address_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

fn expire(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

/// A warning a flood would repeat thousands of times a minute (one per
/// refused field of a batch) is said once per `every`, with how often it
/// happened meanwhile: an operator reads the log, not the flood.
pub struct Repeats {
    every: Duration,
    /// When it was last said, and how often it happened since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Repeats {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            state: Mutex::new((None, 0)),
        }
    }

    /// Counts one occurrence at `now`; `Some(n)` when it is time to say
    /// so: `n` occurrences since it was last said, this one included.
    pub fn count(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, count) = &mut *state;
        *count += 1;
        if last.is_some_and(|at| now.duration_since(at) < self.every) {
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_warning_is_said_at_once_then_once_per_period_with_its_count() {
        let repeats = Repeats::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(repeats.count(start), Some(1));
        for i in 1..=99 {
            assert_eq!(repeats.count(start + Duration::from_millis(i)), None);
        }
        assert_eq!(repeats.count(start + Duration::from_secs(61)), Some(100));
        assert_eq!(repeats.count(start + Duration::from_secs(62)), None);
    }

    #[test]
    fn an_address_is_refused_after_the_allowed_attempts_and_others_are_not() {
        let limiter = AddressLimiter::new(3, Duration::from_secs(600));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.reserve(a).is_some());
        }
        assert!(limiter.reserve(a).is_none());
        assert!(limiter.reserve(b).is_some());
    }

    #[test]
    fn a_refunded_attempt_does_not_count() {
        let limiter = AddressLimiter::new(1, Duration::from_secs(600));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        limiter.reserve(a).expect("first attempt").refund();
        assert!(limiter.reserve(a).is_some(), "the refunded attempt is free");
        assert!(limiter.reserve(a).is_none());
    }

    #[test]
    fn attempts_older_than_the_window_are_forgotten() {
        let limiter = AddressLimiter::new(1, Duration::from_millis(20));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiter.reserve(a).is_some());
        assert!(limiter.reserve(a).is_none());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.reserve(a).is_some());
    }

    #[test]
    fn ipv6_addresses_of_one_64_prefix_share_a_budget_and_mapped_ipv4_counts_as_ipv4() {
        let limiter = AddressLimiter::new(2, Duration::from_secs(600));
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.reserve(one).is_some());
        assert!(limiter.reserve(other).is_some());
        assert!(limiter.reserve(one).is_none(), "same /64");
        assert!(limiter.reserve(elsewhere).is_some(), "another /64");
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(limiter.reserve(v4).is_some());
        assert!(limiter.reserve(mapped).is_some());
        assert!(
            limiter.reserve(v4).is_none(),
            "mapped IPv4 is the same address"
        );
    }

    #[test]
    fn a_subject_has_its_own_budget_apart_from_addresses_and_other_subjects() {
        let limiter = Limiter::<SubmitterKey>::new(1, Duration::from_secs(600));
        let anna = || SubmitterKey::Subject("anna".to_owned());
        let address: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2::2".parse().unwrap();
        assert!(limiter.reserve(anna()).is_some());
        assert!(limiter.reserve(anna()).is_none());
        assert!(
            limiter
                .reserve(SubmitterKey::Subject("bertil".into()))
                .is_some()
        );
        assert!(limiter.reserve(SubmitterKey::Address(address)).is_some());
        assert!(
            limiter.reserve(SubmitterKey::Address(same_64)).is_none(),
            "addresses are still counted per /64"
        );
    }
}
