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
