//! Per-client-address limits on `register` and `login` (§12): one GCRA bucket
//! per address from the `governor` crate, answered 429 `rate_limited` with
//! `Retry-After` when empty. In a cluster every node spends from its buckets
//! what the others admitted too (`crate::addr_sync`), so the budget is the
//! cluster's, not each node's.
//!
//! The client address is the TCP peer's IP: Koi does not trust
//! `X-Forwarded-For`, so behind a reverse proxy every client shares the
//! proxy's address (see docs/security.md). An IPv6 client counts by its /64,
//! the block one host usually holds. Memory is bounded by the addresses seen
//! within one refill period: [`AddrLimits::shrink`] (every minute) drops the
//! buckets that are full again.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::config::EdgeLimits;

/// A client address as the limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    /// IPv4 (also IPv4-mapped IPv6) as is; other IPv6 addresses by their /64.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

type Limiter = DefaultKeyedRateLimiter<AddrKey>;

/// What a request spends from its address's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddrUse {
    Register,
    Login,
}

/// The register and login buckets; a limit of 0 turns one off.
pub struct AddrLimits {
    register: Option<Limiter>,
    login: Option<Limiter>,
}

impl AddrLimits {
    pub fn new(limits: &EdgeLimits) -> Self {
        let make = |n: u32, per: fn(NonZeroU32) -> Quota| {
            NonZeroU32::new(n).map(|n| RateLimiter::keyed(per(n)))
        };
        Self {
            register: make(limits.register_per_hour_per_addr, Quota::per_hour),
            login: make(limits.login_per_min_per_addr, Quota::per_minute),
        }
    }

    /// Takes one `what` from `addr`'s bucket, or says how long to wait.
    pub fn take(&self, what: AddrUse, addr: AddrKey) -> Result<(), Duration> {
        take(self.limiter(what), addr)
    }

    /// Spends one `what` that another node admitted for `addr`: the bucket
    /// empties as it did there, and an empty one stays empty.
    pub fn spent_elsewhere(&self, what: AddrUse, addr: AddrKey) {
        let _ = self.take(what, addr);
    }

    /// Whether `what` is limited at all (a limit of 0 turns it off).
    pub fn limits(&self, what: AddrUse) -> bool {
        self.limiter(what).is_some()
    }

    fn limiter(&self, what: AddrUse) -> Option<&Limiter> {
        match what {
            AddrUse::Register => self.register.as_ref(),
            AddrUse::Login => self.login.as_ref(),
        }
    }

    /// Forgets the addresses whose buckets are full again and returns the memory.
    pub fn shrink(&self) {
        for limiter in [&self.register, &self.login].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Addresses remembered, for tests and metrics.
    pub fn remembered(&self) -> usize {
        [&self.register, &self.login]
            .into_iter()
            .flatten()
            .map(|l| l.len())
            .sum()
    }
}

fn take(limiter: Option<&Limiter>, addr: AddrKey) -> Result<(), Duration> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter
        .check_key(&addr)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(register: u32, login: u32) -> EdgeLimits {
        EdgeLimits {
            register_per_hour_per_addr: register,
            login_per_min_per_addr: login,
            http_header_timeout: Duration::from_secs(1),
            http_body_timeout: Duration::from_secs(1),
            max_http_connections: 1,
            max_tcp_connections: 1,
            max_sessions_per_user: 1,
        }
    }

    #[test]
    fn each_address_has_its_own_bucket() {
        let limits = AddrLimits::new(&limits(2, 0));
        let a = AddrKey::of("127.0.0.2".parse().unwrap());
        let b = AddrKey::of("127.0.0.1".parse().unwrap());
        assert!(limits.take(AddrUse::Register, a).is_ok());
        assert!(limits.take(AddrUse::Register, a).is_ok());
        let wait = limits.take(AddrUse::Register, a).unwrap_err();
        assert!(wait > Duration::from_secs(60), "{wait:?}: one per 30 min");
        assert!(
            limits.take(AddrUse::Register, b).is_ok(),
            "another address is not limited"
        );
        for _ in 0..100 {
            assert!(
                limits.take(AddrUse::Login, a).is_ok(),
                "0 turns the login limit off"
            );
        }
    }

    #[test]
    fn an_ipv6_host_counts_by_its_64() {
        let one = AddrKey::of("2001:db8:1:2::1".parse().unwrap());
        let two = AddrKey::of("2001:db8:1:2:ffff::9".parse().unwrap());
        let other = AddrKey::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(one, two);
        assert_ne!(one, other);
        let mapped = AddrKey::of("::ffff:10.0.0.1".parse().unwrap());
        assert_eq!(mapped, AddrKey::of("10.0.0.1".parse().unwrap()));
    }
}
