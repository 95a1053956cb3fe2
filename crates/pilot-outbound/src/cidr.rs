//! CIDR blocks (`10.0.0.0/8`, `fc00::/7`), written by hand so that the special-purpose
//! tables in [`crate::address`] and the operator's allow-list share one small type.
//!
//! A block is kept as its network bits and prefix length. Membership is one mask and
//! one comparison: `ip & mask == network`. An IPv4 block never contains an IPv6
//! address, not even an IPv4-mapped one (`::ffff:10.0.0.1`); the guard refuses those
//! on their own (see [`crate::address`]), so the allow-list has no reason to see
//! through them.
//!
//! Parsing is strict: a block with host bits set (`10.0.0.1/8`) is an error that
//! suggests the block the operator probably meant, because silently widening or
//! narrowing an allow-list entry is how development settings leak into production.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A CIDR block of IPv4 or IPv6 addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr(Block);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Block {
    V4 { network: u32, prefix: u8 },
    V6 { network: u128, prefix: u8 },
}

impl Cidr {
    /// The IPv4 block `octets/prefix`. For constant tables: host bits are cleared.
    ///
    /// # Panics
    ///
    /// If `prefix > 32` (at compile time when used in a constant).
    pub const fn v4(octets: [u8; 4], prefix: u8) -> Cidr {
        assert!(prefix <= 32, "an IPv4 prefix is at most 32 bits");
        let network = u32::from_be_bytes(octets) & mask_v4(prefix);
        Cidr(Block::V4 { network, prefix })
    }

    /// The IPv6 block `segments/prefix`. For constant tables: host bits are cleared.
    ///
    /// # Panics
    ///
    /// If `prefix > 128` (at compile time when used in a constant).
    pub const fn v6(segments: [u16; 8], prefix: u8) -> Cidr {
        assert!(prefix <= 128, "an IPv6 prefix is at most 128 bits");
        let mut bits: u128 = 0;
        let mut i = 0;
        while i < 8 {
            bits = (bits << 16) | segments[i] as u128;
            i += 1;
        }
        Cidr(Block::V6 {
            network: bits & mask_v6(prefix),
            prefix,
        })
    }

    /// The block of `addr/prefix`, refusing a prefix that is too long or host bits
    /// that are set.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let block = match addr {
            IpAddr::V4(a) if prefix <= 32 => Cidr::v4(a.octets(), prefix),
            IpAddr::V6(a) if prefix <= 128 => Cidr::v6(a.segments(), prefix),
            _ => return Err(CidrError::PrefixTooLong { addr, prefix }),
        };
        if block.network() == addr {
            Ok(block)
        } else {
            Err(CidrError::HostBitsSet {
                given: format!("{addr}/{prefix}"),
                network: block,
            })
        }
    }

    /// The block holding exactly `addr` (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Cidr {
        match addr {
            IpAddr::V4(a) => Cidr::v4(a.octets(), 32),
            IpAddr::V6(a) => Cidr::v6(a.segments(), 128),
        }
    }

    /// The first address of the block.
    pub fn network(&self) -> IpAddr {
        match self.0 {
            Block::V4 { network, .. } => IpAddr::V4(Ipv4Addr::from(network)),
            Block::V6 { network, .. } => IpAddr::V6(Ipv6Addr::from(network)),
        }
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        match self.0 {
            Block::V4 { prefix, .. } | Block::V6 { prefix, .. } => prefix,
        }
    }

    /// Whether `ip` lies in the block. IPv4 blocks hold only IPv4 addresses and IPv6
    /// blocks only IPv6 addresses.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.0, ip) {
            (Block::V4 { network, prefix }, IpAddr::V4(a)) => {
                u32::from(a) & mask_v4(prefix) == network
            }
            (Block::V6 { network, prefix }, IpAddr::V6(a)) => {
                u128::from(a) & mask_v6(prefix) == network
            }
            _ => false,
        }
    }
}

const fn mask_v4(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - p as u32),
    }
}

const fn mask_v6(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - p as u32),
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix())
    }
}

/// Parses `addr/prefix`, or a bare address as a single-host block.
impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::BadAddress(addr.to_owned()))?;
        match prefix {
            None => Ok(Cidr::host(addr)),
            Some(p) => {
                let prefix: u8 = p.parse().map_err(|_| CidrError::BadPrefix(p.to_owned()))?;
                Cidr::new(addr, prefix)
            }
        }
    }
}

/// Why a string is not a CIDR block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{0}` is not an IP address")]
    BadAddress(String),
    #[error("`{0}` is not a prefix length")]
    BadPrefix(String),
    #[error("prefix /{prefix} is too long for {addr} (at most /32 for IPv4, /128 for IPv6)")]
    PrefixTooLong { addr: IpAddr, prefix: u8 },
    #[error("`{given}` has host bits set; did you mean {network}?")]
    HostBitsSet { given: String, network: Cidr },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn cidr(s: &str) -> Cidr {
        s.parse().expect("test block")
    }

    #[test]
    fn contains_respects_both_boundaries() {
        let cgnat = cidr("100.64.0.0/10");
        assert!(!cgnat.contains(ip("100.63.255.255")));
        assert!(cgnat.contains(ip("100.64.0.0")));
        assert!(cgnat.contains(ip("100.127.255.255")));
        assert!(!cgnat.contains(ip("100.128.0.0")));

        let ula = cidr("fc00::/7");
        assert!(!ula.contains(ip("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(ula.contains(ip("fc00::")));
        assert!(ula.contains(ip("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!ula.contains(ip("fe00::")));
    }

    #[test]
    fn zero_and_full_prefixes() {
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(cidr("::/0").contains(ip("2001:db8::1")));
        assert!(cidr("127.0.0.1/32").contains(ip("127.0.0.1")));
        assert!(!cidr("127.0.0.1/32").contains(ip("127.0.0.2")));
        assert!(cidr("::1/128").contains(ip("::1")));
    }

    #[test]
    fn families_never_mix() {
        assert!(!cidr("0.0.0.0/0").contains(ip("::ffff:10.0.0.1")));
        assert!(!cidr("::/0").contains(ip("10.0.0.1")));
    }

    #[test]
    fn bare_address_is_a_single_host() {
        assert_eq!(cidr("127.0.0.1"), cidr("127.0.0.1/32"));
        assert_eq!(cidr("::1").prefix(), 128);
    }

    #[test]
    fn const_constructors_clear_host_bits() {
        assert_eq!(Cidr::v4([10, 1, 2, 3], 8).to_string(), "10.0.0.0/8");
        assert_eq!(
            Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 32).to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!(
            "10.0.0.1/8".parse::<Cidr>().unwrap_err().to_string(),
            "`10.0.0.1/8` has host bits set; did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>().unwrap_err(),
            CidrError::PrefixTooLong {
                addr: ip("10.0.0.0"),
                prefix: 33
            }
        );
        assert_eq!(
            "::/129".parse::<Cidr>().unwrap_err(),
            CidrError::PrefixTooLong {
                addr: ip("::"),
                prefix: 129
            }
        );
        assert_eq!(
            "10.0.0.0/x".parse::<Cidr>().unwrap_err(),
            CidrError::BadPrefix("x".into())
        );
        assert_eq!(
            "10.0.0/8".parse::<Cidr>().unwrap_err(),
            CidrError::BadAddress("10.0.0".into())
        );
    }
}
