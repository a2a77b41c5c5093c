//! Who may talk to the server: the per-run token, the `Host` header (DNS rebinding) and the `Origin` header
//! (cross-site WebSocket hijacking). Pure functions over header values, tested without a socket.
//!
//! The threats: the page can reset the P2 and type into it, and a browser lets any web site it has open
//! connect to `ws://127.0.0.1:7022`. A foreign site's WebSocket carries that site's `Origin`, which must equal
//! the `Host` the page was served from; a site that rebinds its own name to 127.0.0.1 sends its own name as
//! `Host`, which a loopback server refuses; and neither knows the token, a random 128-bit number printed only
//! on the terminal that started the server.

use std::net::{IpAddr, SocketAddr};

/// The per-run secret a page must present on its WebSocket.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// 128 random bits from the operating system, as 32 hex digits.
    ///
    /// # Errors
    /// The operating system's random source failed.
    pub fn generate() -> Result<Token, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Token(bytes.iter().map(|byte| format!("{byte:02x}")).collect()))
    }

    /// The token as printed in the URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `offered` is the token, compared in time independent of where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), offered.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

/// Whether a request's `Host` header names this server: for a loopback address, a loopback name
/// (`127.0.0.1`, `localhost`, `[::1]`) with any port, so that an SSH forward to another local port works; for
/// a specific other address, that address or a loopback name; for all interfaces (`0.0.0.0`, `::`), any host
/// (the token is then the defence, and the server warns at start).
///
/// # Examples
/// ```
/// use sluicegate_p2_ui::security::host_allowed;
///
/// let bound = "127.0.0.1:7022".parse().unwrap();
/// assert!(host_allowed(Some("127.0.0.1:7022"), bound));
/// assert!(host_allowed(Some("localhost:9000"), bound), "an SSH forward");
/// assert!(!host_allowed(Some("evil.example:7022"), bound), "a rebound name");
/// assert!(!host_allowed(None, bound));
/// ```
pub fn host_allowed(host: Option<&str>, bound: SocketAddr) -> bool {
    let Some(name) = host.and_then(host_name) else {
        return false;
    };
    if is_loopback_name(&name) {
        return true;
    }
    if bound.ip().is_unspecified() {
        return true;
    }
    name.parse::<IpAddr>().is_ok_and(|ip| ip == bound.ip())
}

/// Whether a WebSocket's `Origin` is the page this server served on `host`: `http://` and exactly that host.
///
/// # Examples
/// ```
/// use sluicegate_p2_ui::security::origin_allowed;
///
/// assert!(origin_allowed(Some("http://127.0.0.1:7022"), "127.0.0.1:7022"));
/// assert!(!origin_allowed(Some("https://evil.example"), "127.0.0.1:7022"));
/// assert!(!origin_allowed(Some("null"), "127.0.0.1:7022"));
/// assert!(!origin_allowed(None, "127.0.0.1:7022"));
/// ```
pub fn origin_allowed(origin: Option<&str>, host: &str) -> bool {
    origin
        .and_then(|origin| origin.strip_prefix("http://"))
        .is_some_and(|rest| !host.is_empty() && rest.eq_ignore_ascii_case(host))
}

/// The `token` parameter of a query string, if present once.
pub fn query_token(query: Option<&str>) -> Option<&str> {
    let mut found = None;
    for pair in query?.split('&') {
        if let Some(value) = pair.strip_prefix("token=") {
            if found.is_some() {
                return None;
            }
            found = Some(value);
        }
    }
    found
}

/// The host part of a `Host` header value (`name`, `name:port`, `[v6]:port`), lower-cased, with brackets kept
/// for IPv6; `None` if it is not one.
fn host_name(header: &str) -> Option<String> {
    let header = header.trim();
    let name = if let Some(rest) = header.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return rest[..end]
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|ip| format!("[{ip}]"));
    } else {
        match header.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => header,
        }
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
    valid.then(|| name.to_ascii_lowercase())
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn is_loopback_name(name: &str) -> bool {
    if name == "localhost" {
        return true;
    }
    let ip = name.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_are_random_hex_and_compare_exactly() {
        let (a, b) = (Token::generate().unwrap(), Token::generate().unwrap());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(&a.as_str()[..31]));
        assert!(!a.matches(""));
        assert!(!format!("{a:?}").contains(a.as_str()), "never in logs");
    }

    #[test]
    fn hosts_by_bound_address() {
        let loopback: SocketAddr = "127.0.0.1:7022".parse().unwrap();
        let lan: SocketAddr = "192.168.1.5:7022".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:7022".parse().unwrap();
        let v6: SocketAddr = "[::1]:7022".parse().unwrap();
        for host in [
            "127.0.0.1:7022",
            "LOCALHOST:7022",
            "localhost",
            "[::1]:7022",
            "127.0.0.2:80",
        ] {
            assert!(host_allowed(Some(host), loopback), "{host}");
            assert!(host_allowed(Some(host), v6), "{host}");
            assert!(host_allowed(Some(host), lan), "{host}");
        }
        for host in [
            "evil.example:7022",
            "192.168.1.5:7022",
            "127.0.0.1.evil.example",
            "",
            ":7022",
            "a b:1",
            "[::1",
            "[zz]:1",
            "x:y",
        ] {
            assert!(!host_allowed(Some(host), loopback), "{host}");
        }
        assert!(host_allowed(Some("192.168.1.5:7022"), lan));
        assert!(!host_allowed(Some("192.168.1.6:7022"), lan));
        assert!(host_allowed(Some("labpc:7022"), any));
        assert!(!host_allowed(Some("bad host"), any));
    }

    #[test]
    fn origins_must_be_the_served_host() {
        assert!(origin_allowed(Some("http://LocalHost:9000"), "localhost:9000"));
        for origin in [
            "http://127.0.0.1:7023",
            "https://127.0.0.1:7022",
            "http://127.0.0.1:7022/",
            "file://",
            "null",
            "",
        ] {
            assert!(!origin_allowed(Some(origin), "127.0.0.1:7022"), "{origin}");
        }
        assert!(!origin_allowed(Some("http://"), ""));
    }

    #[test]
    fn the_token_parameter_is_taken_once() {
        assert_eq!(query_token(Some("token=ab12")), Some("ab12"));
        assert_eq!(query_token(Some("x=1&token=ab12")), Some("ab12"));
        assert_eq!(query_token(Some("token=a&token=b")), None);
        assert_eq!(query_token(Some("tokens=a")), None);
        assert_eq!(query_token(None), None);
    }

    proptest! {
        #[test]
        fn any_header_value_is_judged_without_panic(host in ".{0,80}", origin in ".{0,80}") {
            let bound: SocketAddr = "127.0.0.1:7022".parse().unwrap();
            let _ = host_allowed(Some(&host), bound);
            let _ = origin_allowed(Some(&origin), &host);
            let _ = query_token(Some(&origin));
        }
    }
}
