//! Which IP addresses an outbound request may never reach.
//!
//! [`is_forbidden`] is the whole rule: a pure function from an address to the reason
//! it is refused, or `None` for an ordinary public unicast address. It follows the
//! IANA special-purpose registries (RFC 6890 and its updates) rather than the
//! standard library's `is_global`, which is unstable and, where stable helpers
//! exist, narrower than what a server must refuse.
//!
//! The tables are ordered: the first block that holds the address names the reason,
//! so narrower blocks come before the wider ones around them (`255.255.255.255` before
//! `240.0.0.0/4`, Teredo before the IETF `2001::/23` block).
//!
//! # Addresses that embed an IPv4 address
//!
//! Several IPv6 forms carry an IPv4 address inside them. Every one of them is refused
//! outright, whatever IPv4 address it embeds:
//!
//! * **IPv4-mapped** `::ffff:0:0/96`: connecting to `::ffff:a.b.c.d` is connecting to
//!   `a.b.c.d` over IPv4, so it is an alias that dodges an IPv6-only rule. No public
//!   DNS name legitimately publishes one in an AAAA record (a host reachable over
//!   IPv4 publishes an A record), so refusing them all costs nothing and closes the
//!   alias entirely instead of trusting a second classification.
//! * **IPv4-compatible** `::/96` (deprecated by RFC 4291) for the same reason.
//! * **NAT64** `64:ff9b::/96` and `64:ff9b:1::/48`: a translator on the path turns
//!   them into IPv4 connections, possibly to internal addresses.
//! * **6to4** `2002::/16` and **Teredo** `2001::/32`: tunnels to an IPv4 endpoint, both
//!   deprecated in practice, and a way to address an internal IPv4 host indirectly.
//!
//! Judging the embedded address instead would allow a few exotic public targets at
//! the price of a second way in; the guard chooses the smaller attack surface. The
//! error message still names the embedded IPv4 address, so a user sees why
//! `[::ffff:127.0.0.1]` was refused.
//!
//! # IPv6 outside global unicast
//!
//! Every IPv6 address outside `2000::/3`, the only block IANA allocates for global
//! unicast, is refused even when no named range holds it: unallocated space has no
//! legitimate destination today, and a future assignment there will be special.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::cidr::Cidr;

/// Why an address is refused. Its `Display` is a short phrase for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// `0.0.0.0/8` ("this network"; `0.0.0.0` reaches the local host) or `::`.
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `169.254.0.0/16` (cloud metadata lives here) or `fe80::/10`.
    LinkLocal,
    /// `100.64.0.0/10`, shared address space for carrier-grade NAT (RFC 6598).
    SharedCgnat,
    /// `192.0.0.0/24` or `2001::/23` outside the ranges named on their own.
    IetfProtocolAssignment,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15` or `2001:2::/48`.
    Benchmarking,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `240.0.0.0/4`, reserved for future use.
    Reserved,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.88.99.0/24`, the deprecated 6to4 relay anycast block (RFC 7526).
    SixToFourRelay,
    /// `::ffff:0:0/96`.
    Ipv4Mapped,
    /// `::/96` (deprecated).
    Ipv4Compatible,
    /// `64:ff9b::/96` and `64:ff9b:1::/48`.
    Nat64,
    /// `fc00::/7`, the IPv6 counterpart of private networks.
    UniqueLocal,
    /// `fec0::/10` (deprecated).
    SiteLocal,
    /// `100::/64` (RFC 6666).
    DiscardOnly,
    /// `2001::/32`.
    Teredo,
    /// `2002::/16`.
    SixToFour,
    /// `2001:10::/28` and `2001:20::/28`.
    Orchid,
    /// `5f00::/16` (RFC 9602).
    SegmentRouting,
    /// Any other IPv6 address outside `2000::/3`.
    NotGlobalUnicast,
}

impl Reason {
    fn phrase(self) -> &'static str {
        match self {
            Reason::Unspecified => "an unspecified (\"this network\") address",
            Reason::Loopback => "a loopback address",
            Reason::Private => "a private network address",
            Reason::LinkLocal => "a link-local address (where cloud metadata services live)",
            Reason::SharedCgnat => "a carrier-grade NAT (shared) address",
            Reason::IetfProtocolAssignment => "an IETF protocol assignment address",
            Reason::Documentation => "a documentation-only address",
            Reason::Benchmarking => "a benchmarking address",
            Reason::Multicast => "a multicast address",
            Reason::Reserved => "a reserved address",
            Reason::Broadcast => "the broadcast address",
            Reason::SixToFourRelay => "a deprecated 6to4 relay address",
            Reason::Ipv4Mapped => "an IPv4-mapped IPv6 address",
            Reason::Ipv4Compatible => "an IPv4-compatible IPv6 address",
            Reason::Nat64 => "a NAT64 translation address",
            Reason::UniqueLocal => "a unique-local (private) IPv6 address",
            Reason::SiteLocal => "a site-local IPv6 address",
            Reason::DiscardOnly => "a discard-only address",
            Reason::Teredo => "a Teredo tunnel address",
            Reason::SixToFour => "a 6to4 tunnel address",
            Reason::Orchid => "an ORCHID overlay identifier",
            Reason::SegmentRouting => "a segment-routing (SRv6) address",
            Reason::NotGlobalUnicast => "an IPv6 address outside global unicast space",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())
    }
}

// One row per block, so the tables read like the registries they copy.
#[rustfmt::skip]
const V4_SPECIAL: &[(Cidr, Reason)] = &[
    (Cidr::v4([0, 0, 0, 0], 8), Reason::Unspecified),
    (Cidr::v4([10, 0, 0, 0], 8), Reason::Private),
    (Cidr::v4([100, 64, 0, 0], 10), Reason::SharedCgnat),
    (Cidr::v4([127, 0, 0, 0], 8), Reason::Loopback),
    (Cidr::v4([169, 254, 0, 0], 16), Reason::LinkLocal),
    (Cidr::v4([172, 16, 0, 0], 12), Reason::Private),
    (Cidr::v4([192, 0, 0, 0], 24), Reason::IetfProtocolAssignment),
    (Cidr::v4([192, 0, 2, 0], 24), Reason::Documentation),
    (Cidr::v4([192, 88, 99, 0], 24), Reason::SixToFourRelay),
    (Cidr::v4([192, 168, 0, 0], 16), Reason::Private),
    (Cidr::v4([198, 18, 0, 0], 15), Reason::Benchmarking),
    (Cidr::v4([198, 51, 100, 0], 24), Reason::Documentation),
    (Cidr::v4([203, 0, 113, 0], 24), Reason::Documentation),
    (Cidr::v4([224, 0, 0, 0], 4), Reason::Multicast),
    (Cidr::v4([255, 255, 255, 255], 32), Reason::Broadcast),
    (Cidr::v4([240, 0, 0, 0], 4), Reason::Reserved),
];

#[rustfmt::skip]
const V6_SPECIAL: &[(Cidr, Reason)] = &[
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Reason::Unspecified),
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Reason::Loopback),
    (Cidr::v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96), Reason::Ipv4Mapped),
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 96), Reason::Ipv4Compatible),
    (Cidr::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), Reason::Nat64),
    (Cidr::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Reason::Nat64),
    (Cidr::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Reason::DiscardOnly),
    (Cidr::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), Reason::Teredo),
    (Cidr::v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48), Reason::Benchmarking),
    (Cidr::v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28), Reason::Orchid),
    (Cidr::v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28), Reason::Orchid),
    (Cidr::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), Reason::IetfProtocolAssignment),
    (Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), Reason::Documentation),
    (Cidr::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), Reason::SixToFour),
    (Cidr::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), Reason::Documentation),
    (Cidr::v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), Reason::SegmentRouting),
    (Cidr::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Reason::UniqueLocal),
    (Cidr::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Reason::LinkLocal),
    (Cidr::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Reason::SiteLocal),
    (Cidr::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Reason::Multicast),
];

const V6_GLOBAL_UNICAST: Cidr = Cidr::v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Why `ip` must never be the target of an outbound request, or `None` when it is an
/// ordinary public unicast address.
pub fn is_forbidden(ip: IpAddr) -> Option<Reason> {
    let table = match ip {
        IpAddr::V4(_) => V4_SPECIAL,
        IpAddr::V6(_) => V6_SPECIAL,
    };
    let named = table
        .iter()
        .find(|(block, _)| block.contains(ip))
        .map(|&(_, reason)| reason);
    match ip {
        IpAddr::V6(_) if named.is_none() && !V6_GLOBAL_UNICAST.contains(ip) => {
            Some(Reason::NotGlobalUnicast)
        }
        _ => named,
    }
}

/// The IPv4 address an IPv6 transition address carries, for error messages: the
/// last 32 bits of IPv4-mapped, IPv4-compatible and `64:ff9b::/96` NAT64 addresses,
/// bits 16–48 of 6to4 addresses. Teredo and `64:ff9b:1::/48` (whose layout depends
/// on the local prefix) are not decoded.
pub(crate) fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);
    match is_forbidden(IpAddr::V6(ip))? {
        Reason::Ipv4Mapped | Reason::Ipv4Compatible => Some(low32),
        Reason::Nat64 if ip.segments()[2] == 0 => Some(low32),
        Reason::SixToFour => Some(Ipv4Addr::from((bits >> 80) as u32)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ip: &str) -> Option<Reason> {
        is_forbidden(ip.parse().expect("test address"))
    }

    /// Each row: a block's first and last address, the addresses just outside it
    /// (whatever they are, they are not this block), and the block's reason.
    #[rustfmt::skip]
    const V4_BLOCKS: &[(&str, &str, &str, &str, Reason)] = &[
        ("10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0", Reason::Private),
        ("100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0", Reason::SharedCgnat),
        ("127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0", Reason::Loopback),
        ("169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0", Reason::LinkLocal),
        ("172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0", Reason::Private),
        ("192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0", Reason::IetfProtocolAssignment),
        ("192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0", Reason::Documentation),
        ("192.88.99.0", "192.88.99.255", "192.88.98.255", "192.88.100.0", Reason::SixToFourRelay),
        ("192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0", Reason::Private),
        ("198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0", Reason::Benchmarking),
        ("198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.101.0", Reason::Documentation),
        ("203.0.113.0", "203.0.113.255", "203.0.112.255", "203.0.114.0", Reason::Documentation),
        ("224.0.0.0", "239.255.255.255", "223.255.255.255", "240.0.0.0", Reason::Multicast),
        ("240.0.0.0", "255.255.255.254", "239.255.255.255", "255.255.255.255", Reason::Reserved),
    ];

    #[test]
    fn ipv4_blocks_and_their_boundaries() {
        for &(first, last, before, after, reason) in V4_BLOCKS {
            assert_eq!(check(first), Some(reason), "{first}");
            assert_eq!(check(last), Some(reason), "{last}");
            assert_ne!(check(before), Some(reason), "{before}");
            assert_ne!(check(after), Some(reason), "{after}");
        }
        assert_eq!(check("0.0.0.0"), Some(Reason::Unspecified));
        assert_eq!(check("0.255.255.255"), Some(Reason::Unspecified));
        assert_eq!(check("1.0.0.0"), None);
        assert_eq!(check("255.255.255.255"), Some(Reason::Broadcast));
    }

    #[test]
    fn ordinary_public_ipv4_is_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert_eq!(check(ip), None, "{ip}");
        }
    }

    #[test]
    fn cloud_metadata_is_link_local() {
        assert_eq!(check("169.254.169.254"), Some(Reason::LinkLocal));
        assert_eq!(check("fd00:ec2::254"), Some(Reason::UniqueLocal));
    }

    #[test]
    fn ipv6_named_blocks() {
        use Reason::*;
        let cases = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("::ffff:0.0.0.0", Ipv4Mapped),
            ("::ffff:127.0.0.1", Ipv4Mapped),
            ("::ffff:255.255.255.255", Ipv4Mapped),
            ("::0.0.0.2", Ipv4Compatible),
            ("::7f00:1", Ipv4Compatible),
            ("::ffff:ffff", Ipv4Compatible),
            ("64:ff9b::", Nat64),
            ("64:ff9b::7f00:1", Nat64),
            ("64:ff9b::ffff:ffff", Nat64),
            ("64:ff9b:1::", Nat64),
            ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", Nat64),
            ("100::", DiscardOnly),
            ("100::ffff:ffff:ffff:ffff", DiscardOnly),
            ("2001::", Teredo),
            ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", Teredo),
            ("2001:1::1", IetfProtocolAssignment),
            ("2001:2::", Benchmarking),
            ("2001:2:0:ffff:ffff:ffff:ffff:ffff", Benchmarking),
            ("2001:10::", Orchid),
            ("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", Orchid),
            ("2001:20::", Orchid),
            ("2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", Orchid),
            (
                "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
                IetfProtocolAssignment,
            ),
            ("2001:db8::", Documentation),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
            ("2002::", SixToFour),
            ("2002:7f00:1::", SixToFour),
            ("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", SixToFour),
            ("3fff::", Documentation),
            ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", Documentation),
            ("5f00::1", SegmentRouting),
            ("fc00::", UniqueLocal),
            ("fc00::1", UniqueLocal),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UniqueLocal),
            ("fe80::", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LinkLocal),
            ("fec0::", SiteLocal),
            ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", SiteLocal),
            ("ff00::", Multicast),
            ("ff02::1", Multicast),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Multicast),
        ];
        for (ip, reason) in cases {
            assert_eq!(check(ip), Some(reason), "{ip}");
        }
    }

    #[test]
    fn ipv6_outside_global_unicast_is_refused() {
        for ip in [
            "::1:0:0:0",
            "1::",
            "64:ff9a::",
            "100:0:0:1::",
            "4000::",
            "e000::",
        ] {
            assert_eq!(check(ip), Some(Reason::NotGlobalUnicast), "{ip}");
        }
    }

    #[test]
    fn ordinary_public_ipv6_is_allowed() {
        for ip in [
            "2000::",
            "2001:200::",
            "2001:4860:4860::8888",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::",
            "2003::",
            "2606:4700:4700::1111",
            "3ffe::",
            "3fff:1000::",
        ] {
            assert_eq!(check(ip), None, "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_decoded_for_messages() {
        let decode = |s: &str| embedded_ipv4(s.parse().expect("test address"));
        let loopback = Some(Ipv4Addr::LOCALHOST);
        assert_eq!(decode("::ffff:127.0.0.1"), loopback);
        assert_eq!(decode("::7f00:1"), loopback);
        assert_eq!(decode("64:ff9b::7f00:1"), loopback);
        assert_eq!(decode("2002:7f00:1::"), loopback);
        assert_eq!(decode("64:ff9b:1::7f00:1"), None);
        assert_eq!(decode("2001::1"), None);
        assert_eq!(decode("fe80::1"), None);
        assert_eq!(decode("2606:4700:4700::1111"), None);
    }
}
