//! How deliveries connect: TCP where [`super::guard`] allows, TLS through rustls with
//! the system's root certificates (and a destination's extra ones). Each lane keeps
//! its own HTTP/1.1 connections made through these ([`super::connections`]).
//!
//! Chosen over a higher-level client because a delivery needs only a POST, a status, a
//! few headers and the first bytes of the answer, and the client is on the path of every
//! event: each layer it does not need costs allocations per delivery.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::GaiResolver;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::guard::{AddressPolicy, GuardedConnector, OwnListeners};

/// The TCP connector under TLS: resolving and connecting only where the policy allows.
pub type Connector = GuardedConnector<HttpConnector, GaiResolver>;

/// The connector deliveries use: TLS for `https` destinations, plain TCP for `http`.
pub type Tls = HttpsConnector<Connector>;

/// The delivery connectors, one per kind of destination: those that may reach loopback
/// and private addresses (`allow_private`) and those that may not, each with the
/// system's roots or with a destination's extra CA bundle. What is allowed belongs to
/// the connection, so it is the connector's, not a check per request.
#[derive(Clone)]
pub struct Clients {
    own: Arc<OwnListeners>,
    built: Arc<Mutex<HashMap<ClientKind, Tls>>>,
}

/// What sets one connector apart: private addresses allowed, and extra roots.
pub type ClientKind = (bool, Option<Arc<Roots>>);

/// Extra certificate authorities a destination trusts.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Roots(pub Vec<CertificateDer<'static>>);

impl Roots {
    /// Reads a PEM bundle of certificate authorities.
    pub fn read(path: &Path) -> Result<Roots, String> {
        let pem = std::fs::read(path).map_err(|error| format!("cannot read ca_file {}: {error}", path.display()))?;
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|error| format!("ca_file {} is not PEM certificates: {error}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!("ca_file {} holds no certificate", path.display()));
        }
        Ok(Roots(certificates))
    }
}

impl Clients {
    /// The clients, refusing Weir's `own` listeners; built as destinations need them.
    pub fn build(own: Arc<OwnListeners>) -> Clients {
        Clients {
            own,
            built: Arc::default(),
        }
    }

    /// The connector a destination's connections are made with.
    pub fn of(&self, allow_private: bool, roots: Option<&Arc<Roots>>) -> Tls {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        built
            .entry((allow_private, roots.cloned()))
            .or_insert_with(|| {
                let policy = AddressPolicy {
                    allow_private,
                    own: self.own.clone(),
                };
                build(policy, roots.map(|roots| &roots.0[..]))
            })
            .clone()
    }
}

/// How long connecting may take (the attempt's own timeout bounds it too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds one connector. When the system has no root certificates, https destinations
/// fail (with that reason) and http ones work.
fn build(policy: AddressPolicy, extra: Option<&[CertificateDer<'static>]>) -> Tls {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_keepalive(Some(Duration::from_secs(30)));
    let guarded = GuardedConnector::new(http, GaiResolver::new(), policy);
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if native.certs.is_empty() {
        tracing::warn!(errors = ?native.errors, "no system root certificates: deliveries to https destinations need a ca_file");
    }
    roots.add_parsable_certificates(native.certs);
    roots.add_parsable_certificates(extra.unwrap_or_default().iter().cloned());
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(guarded)
}
