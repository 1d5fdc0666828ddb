//! Server-side request forgery checks: which addresses a notification may go to.
//!
//! A webhook URL comes from the environment, but the environment of a CI job or a server is
//! not always the operator's alone, and a hostname can resolve anywhere. So the *resolved*
//! addresses are checked (every one of them), and the connection is then pinned to them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The AWS/GCP/Azure/OpenStack instance metadata addresses: refused even when private
/// addresses are allowed — nothing a notification needs lives there.
pub const METADATA: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// Why `ip` may not be a notification target, or `None` when it may. `allow_private` admits
/// loopback, private, link-local, unique-local and shared addresses (a receiver on the same
/// machine or network); cloud metadata, unspecified, multicast and reserved addresses stay
/// refused.
pub fn refusal(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    let (class, private) = classify(ip)?;
    (!(private && allow_private)).then_some(class)
}

/// The class of a non-public address and whether it is "private" (allowed by the flag).
fn classify(ip: IpAddr) -> Option<(&'static str, bool)> {
    if METADATA.contains(&ip) {
        return Some(("a cloud metadata address", false));
    }
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let o = v6.octets();
                return classify(IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15])));
            }
            if v6.is_unspecified() {
                Some(("an unspecified address", false))
            } else if v6.is_loopback() {
                Some(("a loopback address", true))
            } else if v6.is_multicast() {
                Some(("a multicast address", false))
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some(("a link-local address", true))
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some(("a unique local (private) address", true))
            } else if s[0] & 0xffc0 == 0xfec0 {
                Some(("a site-local (private) address", true))
            } else if s[0] == 0 && s[1..6] == [0; 5] {
                // The deprecated IPv4-compatible ::a.b.c.d form.
                Some(("a reserved address", false))
            } else {
                None
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<(&'static str, bool)> {
    let [a, b, ..] = ip.octets();
    if a == 0 {
        Some(("an unspecified address", false))
    } else if ip.is_loopback() {
        Some(("a loopback address", true))
    } else if ip.is_private() {
        Some(("a private address", true))
    } else if ip.is_link_local() {
        Some(("a link-local address", true))
    } else if a == 100 && (64..128).contains(&b) {
        Some(("a shared (carrier-grade NAT) address", true))
    } else if ip.is_multicast() {
        Some(("a multicast address", false))
    } else if a >= 240 {
        Some(("a reserved or broadcast address", false))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn refuses_internal_addresses() {
        for (addr, why) in [
            ("127.0.0.1", "a loopback address"),
            ("127.8.9.10", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.169.254", "a cloud metadata address"),
            ("169.254.1.1", "a link-local address"),
            ("100.64.0.1", "a shared (carrier-grade NAT) address"),
            ("0.0.0.0", "an unspecified address"),
            ("224.0.0.1", "a multicast address"),
            ("255.255.255.255", "a reserved or broadcast address"),
            ("::1", "a loopback address"),
            ("::", "an unspecified address"),
            ("fe80::1", "a link-local address"),
            ("fd00::1", "a unique local (private) address"),
            ("fc12::1", "a unique local (private) address"),
            ("fd00:ec2::254", "a cloud metadata address"),
            ("ff02::1", "a multicast address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:169.254.169.254", "a cloud metadata address"),
            ("64:ff9b::a00:1", "a private address"),
            ("::10.0.0.1", "a reserved address"),
        ] {
            assert_eq!(refusal(ip(addr), false), Some(why), "{addr}");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for addr in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert_eq!(refusal(ip(addr), false), None, "{addr}");
        }
    }

    #[test]
    fn the_flag_allows_private_but_never_metadata() {
        for addr in ["127.0.0.1", "10.0.0.1", "::1", "fd12::1", "169.254.1.1"] {
            assert_eq!(refusal(ip(addr), true), None, "{addr}");
        }
        for addr in [
            "169.254.169.254",
            "fd00:ec2::254",
            "0.0.0.0",
            "224.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(refusal(ip(addr), true).is_some(), "{addr}");
        }
    }
}
