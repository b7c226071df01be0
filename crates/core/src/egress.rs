//! The egress guard: which addresses a download may connect to.
//!
//! A user hands Reel arbitrary URLs, so without this guard a job could read the cloud metadata
//! service or any service inside the cluster (SSRF). Every address is checked three times: IP-literal
//! hosts in the URL (and on every redirect hop), every address a name resolves to (the resolver
//! returns only allowed ones), and the peer address of the connection actually made (a name that
//! rebinds between resolution and connect is still caught).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use url::Url;

use crate::error::{ErrorCode, ReelError, Result};

/// Which internal ranges are opened. The default opens none: only public addresses are reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    pub allow: Vec<IpNet>,
}

impl EgressPolicy {
    /// Refuses every internal address (loopback, private, link-local, metadata, ...).
    pub fn deny_internal() -> Self {
        Self { allow: Vec::new() }
    }

    /// Opens the given CIDRs or single IPs (for example `["127.0.0.1/32"]` in tests, or a private
    /// source network chosen by the operator).
    pub fn with_allow(allow: &[String]) -> Result<Self> {
        let mut nets = Vec::with_capacity(allow.len());
        for entry in allow {
            let s = entry.trim();
            let net = s
                .parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ReelError::new(
                        ErrorCode::InvalidArgument,
                        format!("egress allow entry {s:?} is not a CIDR or IP address"),
                    )
                })?;
            nets.push(net);
        }
        Ok(Self { allow: nets })
    }

    fn allowed_explicitly(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address is the same host as its IPv4 form: an allow entry for one opens
        // the other, exactly as a deny for one denies the other.
        let canon = canonical(ip);
        self.allow.iter().any(|n| n.contains(&ip) || n.contains(&canon))
    }

    /// Parses a user's URL and checks it (scheme, IP-literal host) before any traffic.
    pub fn parse_url(&self, raw: &str) -> Result<Url> {
        let url = Url::parse(raw).map_err(|e| {
            ReelError::new(
                ErrorCode::InvalidArgument,
                format!("not a valid URL ({e}): {}", redact_str(raw)),
            )
        })?;
        self.check_url(&url)?;
        Ok(url)
    }

    /// `Ok` when the address may be connected to, `REEL_EGRESS_DENIED` otherwise.
    pub fn check_ip(&self, ip: IpAddr) -> Result<()> {
        if self.allowed_explicitly(ip) {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(kind) => Err(ReelError::new(
                ErrorCode::EgressDenied,
                format!("address {ip} is {kind}; internal addresses are refused unless allowlisted"),
            )),
        }
    }

    /// Checks the scheme and, for IP-literal hosts, the address. Names are checked when resolved.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(ReelError::new(
                    ErrorCode::UnsupportedScheme,
                    format!(
                        "scheme {other:?} is not allowed (only http and https): {}",
                        redact(url)
                    ),
                ))
            }
        }
        match url.host() {
            // The url crate already turned odd spellings (0x7f000001, 2130706433, 0177.0.0.1) into
            // a canonical Ipv4, so they are checked like any literal.
            Some(url::Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(ReelError::new(
                ErrorCode::InvalidArgument,
                format!("URL has no host: {}", redact(url)),
            )),
        }
    }
}

/// The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`) address stands for; other addresses as given.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Why an address is internal, or `None` for a public address.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    // Specific metadata endpoints first so the message names them.
    const METADATA: [[u8; 4]; 3] = [
        [169, 254, 169, 254], // AWS, GCP, Azure, OpenStack
        [100, 100, 100, 200], // Alibaba Cloud
        [192, 0, 0, 192],     // Oracle Cloud
    ];
    if METADATA.iter().any(|m| ip.octets() == *m) {
        return Some("a cloud metadata address");
    }
    let table: &[([u8; 4], u32, &'static str)] = &[
        ([0, 0, 0, 0], 8, "unspecified / this-network (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
        ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments (192.0.0.0/24)"),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
        ([240, 0, 0, 0], 4, "reserved or broadcast (240.0.0.0/4)"),
    ];
    table
        .iter()
        .find(|(net, p, _)| in4(ip, *net, *p))
        .map(|(_, _, why)| *why)
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Some("a cloud metadata address (fd00:ec2::254)");
    }
    // Addresses that embed an IPv4 address reach that IPv4 host: judge them by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4).map(|_| "an IPv4-mapped internal address");
    }
    let low32 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (::a.b.c.d, deprecated): no public use, refuse whatever it embeds.
        return Some("an IPv4-compatible address (::/96)");
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(low32).map(|_| "a NAT64 embedding of an internal address (64:ff9b::/96)");
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return Some("local-use NAT64 (64:ff9b:1::/48)");
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return classify_v4(v4).map(|_| "a 6to4 embedding of an internal address (2002::/16)");
    }
    if s[0] == 0x2001 && s[1] == 0 {
        // Teredo: the client address is stored inverted in the low 32 bits.
        let v4 = Ipv4Addr::from(!u32::from(low32));
        return classify_v4(v4).map(|_| "a Teredo embedding of an internal address (2001::/32)");
    }
    let table: &[(u16, u16, &'static str)] = &[
        (0xff00, 0xff00, "multicast (ff00::/8)"),
        (0xfe00, 0xfc00, "unique local (fc00::/7)"),
        (0xffc0, 0xfe80, "link-local (fe80::/10)"),
        (0xffc0, 0xfec0, "site-local (fec0::/10)"),
    ];
    if let Some((_, _, why)) = table.iter().find(|(mask, net, _)| s[0] & mask == *net) {
        return Some(why);
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return Some("documentation (2001:db8::/32)");
    }
    if s[0] == 0x3fff && s[1] & 0xf000 == 0 {
        return Some("documentation (3fff::/20)");
    }
    if s[..4] == [0x0100, 0, 0, 0] {
        return Some("discard-only (100::/64)");
    }
    if s[0] == 0x2001 && s[1] & 0xfff0 == 0x0010 {
        return Some("ORCHID (2001:10::/28)");
    }
    None
}

/// A URL as it may appear in messages and logs: no userinfo, no query, no fragment (they may hold
/// tokens or signatures).
pub fn redact(url: &Url) -> String {
    let mut s = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        s.push_str(host);
    }
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(url.path());
    if url.query().is_some() {
        s.push_str("?…");
    }
    s
}

/// Redacts a URL given as text; text that does not parse is not echoed at all.
pub fn redact_str(url: &str) -> String {
    Url::parse(url)
        .map(|u| redact(&u))
        .unwrap_or_else(|_| "<unparseable URL>".to_string())
}

/// A reqwest resolver that applies `--resolve`-style overrides and then returns only the addresses
/// the policy allows, refusing the name when none remain.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub policy: Arc<EgressPolicy>,
    pub overrides: Arc<Vec<(String, IpAddr)>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = {
                let over: Vec<SocketAddr> = this
                    .overrides
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(&host))
                    .map(|(_, ip)| SocketAddr::new(*ip, 0))
                    .collect();
                if !over.is_empty() {
                    over
                } else {
                    tokio::net::lookup_host((host.as_str(), 0))
                        .await
                        .map_err(|e| {
                            Box::new(ReelError::with_source(
                                ErrorCode::SourceUnreachable,
                                format!("cannot resolve {host}"),
                                e,
                            )) as Box<dyn std::error::Error + Send + Sync>
                        })?
                        .collect()
                }
            };
            let mut denied = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match this.policy.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        denied.get_or_insert(e);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = denied.map(|e| e.message).unwrap_or_else(|| "no addresses".into());
                return Err(Box::new(ReelError::new(
                    ErrorCode::EgressDenied,
                    format!("{host} resolves only to refused addresses: {why}"),
                )) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classifier_table() {
        let internal = [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "192.0.2.5",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.192",
            "192.88.99.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2001:db8::1",
            "fec0::1",
            "100::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
        ];
        for a in internal {
            assert!(classify(ip(a)).is_some(), "{a} should be internal");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "100.63.255.255",
            "192.169.0.1",
            "169.255.0.1",
            "11.0.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ];
        for a in public {
            assert_eq!(classify(ip(a)), None, "{a} should be public");
        }
    }

    #[test]
    fn allowlist_opens_only_chosen_ranges() {
        let p =
            EgressPolicy::with_allow(&["127.0.0.1/32".into(), "10.0.0.0/8".into(), "::1".into()]).unwrap();
        assert!(p.check_ip(ip("127.0.0.1")).is_ok());
        assert!(p.check_ip(ip("::ffff:127.0.0.1")).is_ok());
        assert!(p.check_ip(ip("10.9.9.9")).is_ok());
        assert!(p.check_ip(ip("::1")).is_ok());
        assert_eq!(
            p.check_ip(ip("127.0.0.2")).unwrap_err().code,
            ErrorCode::EgressDenied
        );
        assert_eq!(
            p.check_ip(ip("192.168.0.1")).unwrap_err().code,
            ErrorCode::EgressDenied
        );
        assert!(p.check_ip(ip("8.8.8.8")).is_ok());
        let bad = EgressPolicy::with_allow(&["not-a-net".into()]).unwrap_err();
        assert_eq!(bad.code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn odd_ip_spellings_are_normalised_and_refused() {
        let p = EgressPolicy::deny_internal();
        for u in [
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
        ] {
            let url = Url::parse(u).unwrap();
            assert_eq!(
                p.check_url(&url).unwrap_err().code,
                ErrorCode::EgressDenied,
                "{u}"
            );
        }
        assert!(p.check_url(&Url::parse("http://8.8.8.8/x").unwrap()).is_ok());
        assert!(p.check_url(&Url::parse("https://example.com/x").unwrap()).is_ok());
    }

    #[test]
    fn only_http_and_https() {
        let p = EgressPolicy::deny_internal();
        for u in [
            "file:///etc/passwd",
            "ftp://example.com/a",
            "data:text/plain,hi",
            "gopher://x/",
        ] {
            let url = Url::parse(u).unwrap();
            assert_eq!(
                p.check_url(&url).unwrap_err().code,
                ErrorCode::UnsupportedScheme,
                "{u}"
            );
        }
    }

    #[test]
    fn redact_drops_secrets() {
        let u = Url::parse("https://user:pw@cdn.example.com:8443/a/b.mp4?sig=SECRET#frag").unwrap();
        let r = redact(&u);
        assert_eq!(r, "https://cdn.example.com:8443/a/b.mp4?…");
        assert!(!r.contains("SECRET") && !r.contains("pw"));
    }
}
