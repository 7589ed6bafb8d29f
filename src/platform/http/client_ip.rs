//! The client's IP address. Proxy headers are believed only when the direct
//! peer is a configured trusted proxy; otherwise anyone could claim any IP.

use std::net::IpAddr;

use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = super::front::current_peer()?.ip();
    Some(resolve(peer, &parts.headers, trusted))
}

fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let single = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(ip) = single("cf-connecting-ip").or_else(|| single("x-real-ip")) {
        return ip;
    }
    // X-Forwarded-For: client, proxy1, proxy2 — the right-most address that is
    // not one of our proxies is the first one we can believe.
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

/// The client as rate limits count it: an IPv4 address, or the /64 network
/// of an IPv6 one (one subscriber is usually given a whole /64, so counting
/// single IPv6 addresses would give one client 2^64 buckets). An IPv4
/// address mapped into IPv6 counts as the IPv4 address.
pub fn rate_limit_identity(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let a = rate_limit_identity("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = rate_limit_identity("2001:db8:1:2:ffff:1:2:3".parse().unwrap());
        let other = rate_limit_identity("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(rate_limit_identity("::ffff:198.51.100.7".parse().unwrap()), "198.51.100.7");
        assert_eq!(rate_limit_identity("198.51.100.7".parse().unwrap()), "198.51.100.7");
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(resolve(peer, &h, &[]), peer);
    }

    #[test]
    fn trusted_proxy_forwards_the_client() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(resolve(peer, &h, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        let h = headers(&[("cf-connecting-ip", "198.51.100.8")]);
        assert_eq!(resolve(peer, &h, &trusted), "198.51.100.8".parse::<IpAddr>().unwrap());
    }
}
