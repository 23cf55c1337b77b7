//! Where deliveries may connect. A destination URL is configuration, but what its name
//! resolves to is not: without a check, a URL (or a DNS answer changed after the
//! config was checked) could make Weir post events to a cloud metadata service, to a
//! database on the private network, or to Weir's own admin API.
//!
//! The rules, checked on the address each connection actually goes to (the resolver's
//! answer is filtered before connecting, so a name cannot resolve to one address when
//! checked and another when used):
//! - never: link-local addresses (the metadata services live there), the unspecified,
//!   multicast and broadcast addresses, and Weir's own listeners;
//! - loopback and private ranges only for destinations with `allow_private = true`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::client::legacy::connect::dns::Name;
use tower_service::Service;

/// Weir's own listening addresses, known once bound.
#[derive(Debug, Default)]
pub struct OwnListeners(RwLock<Vec<SocketAddr>>);

impl OwnListeners {
    /// Records the listeners (after binding, when port 0 has become a real port).
    pub fn set(&self, addresses: Vec<SocketAddr>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = addresses;
    }

    /// Whether `addr` reaches one of them: a listener's port on its own address, or on
    /// loopback when it listens on loopback or on every interface. (A listener on every
    /// interface is also reachable on this machine's other addresses, which Weir does
    /// not enumerate; those are private addresses, refused unless allowed.)
    fn reaches(&self, addr: SocketAddr) -> bool {
        let own = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ip = canonical(addr.ip());
        own.iter().any(|listener| {
            let local = listener.ip().is_loopback() || listener.ip().is_unspecified();
            listener.port() == addr.port()
                && (listener.ip() == ip || (local && (ip.is_loopback() || ip.is_unspecified())))
        })
    }
}

/// What one client may connect to.
#[derive(Debug, Clone)]
pub struct AddressPolicy {
    /// Loopback and private addresses allowed.
    pub allow_private: bool,
    /// Weir's own listeners, always refused.
    pub own: Arc<OwnListeners>,
}

impl AddressPolicy {
    /// Why Weir will not connect to `addr`, if it will not.
    pub fn refusal(&self, addr: SocketAddr) -> Option<String> {
        let ip = canonical(addr.ip());
        if self.own.reaches(addr) {
            return Some(format!("{addr} is Weir's own listener"));
        }
        if let Some(kind) = never(ip) {
            return Some(format!("{ip} is {kind}, which deliveries never go to"));
        }
        if !self.allow_private
            && let Some(kind) = private(ip)
        {
            return Some(format!(
                "{ip} is {kind}; set allow_private = true on the destination if it is meant to receive events"
            ));
        }
        None
    }
}

/// IPv4 addresses written as IPv6 (`::ffff:169.254.169.254`) are judged as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn never(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_link_local() {
                Some("a link-local address (cloud metadata services are there)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() {
                Some("not a host address")
            } else if v4.octets() == [100, 100, 100, 200] {
                Some("a cloud metadata address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_unicast_link_local() {
                Some("a link-local address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a host address")
            } else if v6.segments()[..4] == [0xfd00, 0x0ec2, 0, 0] {
                Some("a cloud metadata address")
            } else {
                None
            }
        }
    }
}

fn private(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) || a == 0 {
                Some("a private address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unique_local() {
                Some("a private address")
            } else {
                None
            }
        }
    }
}

/// Checks a destination's URL when the config is loaded, as far as it can be without
/// resolving: an address written in it, or `localhost`, against the rules and the
/// configured listeners, so `weir check` says what the first delivery would meet.
pub fn check_url(uri: &Uri, allow_private: bool, own: &[SocketAddr]) -> Result<(), String> {
    let Some(host) = uri.host() else {
        return Ok(());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(()),
        }
    };
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let listeners = OwnListeners::default();
    listeners.set(own.iter().copied().filter(|addr| addr.port() != 0).collect());
    let policy = AddressPolicy {
        allow_private,
        own: Arc::new(listeners),
    };
    match policy.refusal(SocketAddr::new(ip, port)) {
        Some(why) => Err(format!("url: deliveries cannot go there: {why}")),
        None => Ok(()),
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector that resolves the destination's name itself, drops every address the
/// policy refuses, and hands the TCP connector only the addresses left (as literals),
/// so what is checked is what is connected to. TLS above it still verifies the name.
#[derive(Clone)]
pub struct GuardedConnector<C, R> {
    inner: C,
    resolver: R,
    policy: AddressPolicy,
}

impl<C, R> GuardedConnector<C, R> {
    /// `inner` (a TCP connector), connecting only where `policy` allows, to the
    /// addresses `resolver` gives.
    pub fn new(inner: C, resolver: R, policy: AddressPolicy) -> Self {
        GuardedConnector {
            inner,
            resolver,
            policy,
        }
    }
}

impl<C, R> Service<Uri> for GuardedConnector<C, R>
where
    C: Service<Uri> + Clone + Send + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    R: Service<Name> + Clone + Send + 'static,
    R::Response: Iterator<Item = SocketAddr>,
    R::Error: Into<BoxError>,
    R::Future: Send,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = BoxFuture<Result<C::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let (mut inner, mut resolver, policy) = (self.inner.clone(), self.resolver.clone(), self.policy.clone());
        Box::pin(async move {
            let host = uri.host().ok_or("the URL has no host")?;
            let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
            let port = uri
                .port_u16()
                .unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
            let candidates: Vec<SocketAddr> = match host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => {
                    let name: Name = host.parse().map_err(|_| format!("{host:?} is not a host name"))?;
                    std::future::poll_fn(|cx| resolver.poll_ready(cx))
                        .await
                        .map_err(Into::into)?;
                    resolver
                        .call(name)
                        .await
                        .map_err(Into::into)?
                        .map(|addr| SocketAddr::new(addr.ip(), port))
                        .collect()
                }
            };
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = candidates
                .into_iter()
                .filter(|addr| match policy.refusal(*addr) {
                    None => true,
                    Some(why) => {
                        refusals.push(why);
                        false
                    }
                })
                .collect();
            let mut last: BoxError = match refusals.first() {
                Some(why) => format!("refused to connect to {host}: {why}").into(),
                None => format!("{host} has no address").into(),
            };
            for addr in allowed {
                let literal: Uri = format!("http://{addr}").parse()?;
                std::future::poll_fn(|cx| inner.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                match inner.call(literal).await {
                    Ok(connection) => return Ok(connection),
                    Err(error) => last = error.into(),
                }
            }
            Err(last)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A resolver answering from a table, as a DNS server under someone else's control
    /// might: never a lookup off this machine.
    #[derive(Clone)]
    struct Stub(Arc<HashMap<&'static str, Vec<IpAddr>>>);

    impl Service<Name> for Stub {
        type Response = std::vec::IntoIter<SocketAddr>;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Self::Response, std::io::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, name: Name) -> Self::Future {
            let addrs: Vec<SocketAddr> = self
                .0
                .get(name.as_str())
                .into_iter()
                .flatten()
                .map(|ip| SocketAddr::new(*ip, 0))
                .collect();
            std::future::ready(Ok(addrs.into_iter()))
        }
    }

    fn policy(allow_private: bool) -> AddressPolicy {
        let own = Arc::new(OwnListeners::default());
        own.set(vec!["127.0.0.1:9090".parse().unwrap(), "0.0.0.0:8080".parse().unwrap()]);
        AddressPolicy { allow_private, own }
    }

    fn stub() -> Stub {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        Stub(Arc::new(HashMap::from([
            ("metadata.test", vec![ip("169.254.169.254")]),
            ("rebind.test", vec![ip("10.0.0.5"), ip("93.184.216.34")]),
            ("inside.test", vec![ip("10.1.2.3")]),
            ("mapped.test", vec![ip("::ffff:169.254.169.254")]),
            ("public.test", vec![ip("93.184.216.34")]),
            ("loopback.test", vec![ip("127.0.0.1")]),
        ])))
    }

    /// The TCP connector's stand-in: records the addresses it is asked to connect to.
    #[derive(Clone, Default)]
    struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

    impl Service<Uri> for Recorder {
        type Response = ();
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<(), std::io::Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, uri: Uri) -> Self::Future {
            self.0.lock().unwrap().push(uri.authority().unwrap().to_string());
            std::future::ready(Ok(()))
        }
    }

    /// Connects to `url` under the policy; the addresses connected to, or the refusal.
    async fn connect(allow_private: bool, url: &str) -> Result<Vec<String>, String> {
        let recorder = Recorder::default();
        let mut connector = GuardedConnector::new(recorder.clone(), stub(), policy(allow_private));
        connector.call(url.parse().unwrap()).await.map_err(|e| e.to_string())?;
        Ok(recorder.0.lock().unwrap().clone())
    }

    #[tokio::test]
    async fn names_resolving_to_forbidden_addresses_are_refused_or_filtered() {
        let error = connect(true, "http://metadata.test/latest").await.unwrap_err();
        assert!(error.contains("169.254.169.254 is a link-local address"), "{error}");
        assert!(connect(true, "http://mapped.test/").await.is_err());
        let error = connect(false, "https://inside.test/hook").await.unwrap_err();
        assert!(error.contains("allow_private = true"), "{error}");
        assert_eq!(
            connect(true, "https://inside.test/hook").await.unwrap(),
            ["10.1.2.3:443"]
        );
        // Of a mixed answer, only the allowed address is ever connected to.
        assert_eq!(
            connect(false, "http://rebind.test/").await.unwrap(),
            ["93.184.216.34:80"]
        );
        // Weir's own admin listener, by name.
        assert!(connect(true, "http://loopback.test:9090/admin/reload").await.is_err());
        assert_eq!(
            connect(true, "http://loopback.test:9000/").await.unwrap(),
            ["127.0.0.1:9000"]
        );
    }

    #[tokio::test]
    async fn an_address_written_in_the_url_is_checked_before_connecting() {
        let error = connect(false, "http://169.254.169.254/latest/meta-data")
            .await
            .unwrap_err();
        assert!(error.contains("link-local"), "{error}");
        assert!(connect(false, "http://[::1]:9000/").await.is_err());
        assert_eq!(
            connect(false, "http://93.184.216.34/").await.unwrap(),
            ["93.184.216.34:80"]
        );
    }

    #[test]
    fn weirs_own_listeners_and_the_metadata_addresses_are_never_allowed() {
        let open = policy(true);
        for refused in [
            "127.0.0.1:9090",
            "127.0.0.2:8080",
            "169.254.169.254:80",
            "100.100.100.200:80",
            "[fe80::1]:80",
            "[fd00:ec2::254]:80",
            "0.0.0.0:80",
        ] {
            assert!(open.refusal(refused.parse().unwrap()).is_some(), "{refused}");
        }
        assert!(open.refusal("127.0.0.1:9000".parse().unwrap()).is_none());
        assert!(open.refusal("10.0.0.1:8080".parse().unwrap()).is_none());
        let closed = policy(false);
        for refused in [
            "127.0.0.1:9000",
            "10.0.0.1:80",
            "192.168.1.1:80",
            "172.16.0.1:80",
            "[::1]:80",
            "[fd12::1]:80",
        ] {
            assert!(closed.refusal(refused.parse().unwrap()).is_some(), "{refused}");
        }
        assert!(closed.refusal("93.184.216.34:443".parse().unwrap()).is_none());
    }
}
