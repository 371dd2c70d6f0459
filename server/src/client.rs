//! Who is asking: the client's address, taken from `X-Forwarded-For` only when the connection
//! comes from a proxy the operator listed in `trusted-proxies`.
//!
//! Anyone can send an `X-Forwarded-For` header, so trusting it blindly would let one client pose
//! as many and walk past every per-address limit. The header is read from the right (the entry
//! the nearest proxy added) and the first address that is not itself a trusted proxy is the
//! client.

use crate::config::Config;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and networks (`10.0.0.1, 192.168.0.0/16`).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| item.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a connection from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        // Every X-Forwarded-For header, in order, as one list read from the right.
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in forwarded.iter().rev() {
            let Ok(ip) = entry.parse::<IpAddr>().map(canonical) else {
                // Garbage from beyond the trusted proxies: stop at the last address we can vouch for.
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// IPv4 addresses arriving as IPv4-mapped IPv6 count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The requesting client's address (see the module docs). A request without connection
/// information (only in tests driving the router directly) counts as `0.0.0.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key a per-address limit counts under: the address, or for IPv6 its /64 network,
    /// since one subscriber usually holds a whole /64.
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<Config>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let config = Arc::<Config>::from_ref(state);
        Ok(Self(config.trusted_proxies.client(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        headers
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let spoofed = forwarded(&["198.51.100.7"]);
        assert_eq!(none.client(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_is_believed_from_the_right() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").expect("list");
        // The client put a fake address first; the proxy appended the real one.
        let headers = forwarded(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &headers),
            ip("198.51.100.7")
        );
        // Two trusted hops, split over two headers.
        let headers = forwarded(&["1.2.3.4, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(proxies.client(ip("10.9.9.9"), &headers), ip("198.51.100.7"));
        // Garbage beyond the proxy: the last address we can vouch for.
        let headers = forwarded(&["not-an-ip"]);
        assert_eq!(proxies.client(ip("10.9.9.9"), &headers), ip("10.9.9.9"));
        // A spoofing client that is not a proxy gets its own address.
        let headers = forwarded(&["10.0.0.1"]);
        assert_eq!(
            proxies.client(ip("203.0.113.9"), &headers),
            ip("203.0.113.9")
        );
        // Mapped IPv4 peers are the IPv4 address.
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), &forwarded(&["198.51.100.8"])),
            ip("198.51.100.8")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, nope"),
            Err("nope".into())
        );
        assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies::default()));
    }

    #[test]
    fn ipv6_clients_share_a_limit_per_64() {
        assert_eq!(
            ClientAddr(ip("2001:db8:1:2:aaaa::1")).limit_key(),
            ClientAddr(ip("2001:db8:1:2:bbbb::9")).limit_key()
        );
        assert_eq!(ClientAddr(ip("192.0.2.1")).limit_key(), "192.0.2.1");
    }
}
