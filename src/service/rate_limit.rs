//! Attempts per client address in a sliding window: failed resident
//! look-ups (reference + tracking code is a secret pair; refusing an
//! address for a while after too many failures makes guessing pairs
//! hopeless) and anonymous submissions (a flood from one address cannot
//! fill the queues).
//!
//! Per process: with N replicas behind a load balancer an address gets up
//! to N times the limit, which still leaves 80-bit codes unguessable.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked addresses, forget those without recent failures.
const PRUNE_ABOVE: usize = 10_000;

pub struct AddressLimiter {
    /// 0: no limit.
    max_attempts: usize,
    window: Duration,
    attempts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl AddressLimiter {
    pub fn new(max_attempts: usize, window: Duration) -> Self {
        Self {
            max_attempts,
            window,
            attempts: Mutex::default(),
        }
    }

    /// Whether `client` has used up its attempts in the current window.
    pub fn is_blocked(&self, client: IpAddr) -> bool {
        if self.max_attempts == 0 {
            return false;
        }
        let now = Instant::now();
        self.attempts.lock().is_ok_and(|mut map| {
            map.get_mut(&client).is_some_and(|times| {
                expire(times, now, self.window);
                times.len() >= self.max_attempts
            })
        })
    }

    pub fn record(&self, client: IpAddr) {
        if self.max_attempts == 0 {
            return;
        }
        let now = Instant::now();
        if let Ok(mut map) = self.attempts.lock() {
            if map.len() > PRUNE_ABOVE {
                map.retain(|_, times| {
                    expire(times, now, self.window);
                    !times.is_empty()
                });
            }
            let times = map.entry(client).or_default();
            expire(times, now, self.window);
            times.push_back(now);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_the_allowed_failures_and_others_are_not() {
        let limiter = AddressLimiter::new(3, Duration::from_secs(600));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(!limiter.is_blocked(a));
            limiter.record(a);
        }
        assert!(limiter.is_blocked(a));
        assert!(!limiter.is_blocked(b));
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let limiter = AddressLimiter::new(1, Duration::from_millis(20));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        limiter.record(a);
        assert!(limiter.is_blocked(a));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!limiter.is_blocked(a));
    }
}
