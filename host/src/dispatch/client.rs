//! The HTTP client deliveries go out on: hyper's pooled client, HTTP/1.1 with
//! keep-alive, TLS through rustls with the system's root certificates, connecting only
//! where [`super::guard`] allows.
//!
//! Chosen over a higher-level client because a delivery needs only a POST, a status, a
//! few headers and the first bytes of the answer, and the client is on the path of every
//! event: each layer it does not need costs allocations per delivery.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::GaiResolver;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::chunks::Chunks;
use super::guard::{AddressPolicy, GuardedConnector, OwnListeners};

/// The TCP connector under TLS: resolving and connecting only where the policy allows.
pub type Connector = GuardedConnector<HttpConnector, GaiResolver>;

/// The delivery client.
pub type Client = HyperClient<HttpsConnector<Connector>, Full<Chunks>>;

/// The two delivery clients: one for destinations that may reach loopback and private
/// addresses (`allow_private`), one for the rest. Two pools rather than a check per
/// request, since the check belongs to the connection.
#[derive(Clone)]
pub struct Clients {
    public: Client,
    private: Client,
}

impl Clients {
    /// Both clients, refusing Weir's `own` listeners.
    pub fn build(own: Arc<OwnListeners>) -> Clients {
        let policy = |allow_private| AddressPolicy {
            allow_private,
            own: own.clone(),
        };
        Clients {
            public: build(policy(false)),
            private: build(policy(true)),
        }
    }

    /// The client a destination's deliveries go out on.
    pub fn of(&self, allow_private: bool) -> &Client {
        if allow_private { &self.private } else { &self.public }
    }
}

/// How long an idle connection to a receiver stays open for the next delivery.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long connecting may take (the attempt's own timeout bounds it too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds one client. When the system has no root certificates, https destinations
/// fail (with that reason) and http ones work.
fn build(policy: AddressPolicy) -> Client {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_keepalive(Some(Duration::from_secs(30)));
    let guarded = GuardedConnector::new(http, GaiResolver::new(), policy);
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let https = match builder.with_native_roots() {
        Ok(builder) => builder.https_or_http().enable_http1().wrap_connector(guarded),
        Err(error) => {
            tracing::warn!(%error, "no system root certificates: deliveries to https destinations will fail");
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .wrap_connector(guarded)
        }
    };
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .build(https)
}
