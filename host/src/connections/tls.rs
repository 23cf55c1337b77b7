//! TLS on the ingest listener: a certificate and key from PEM files, reloaded when the
//! files change (certificates are renewed every few weeks; a restart for each would
//! drop events in flight). A renewal that cannot be read leaves the running
//! certificate in place and says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// How often the files are looked at for a renewal.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// The certificate and key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Reads and checks the files: the chain, and a key rustls can sign with.
pub fn load(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|error| format!("cannot read the TLS {what} {}: {error}", path.display()))
    };
    let cert_pem = read(&files.cert, "certificate")?;
    let key_pem = read(&files.key, "key")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|error| format!("{} is not a PEM certificate chain: {error}", files.cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no certificate", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|error| format!("{} is not a PEM private key: {error}", files.key.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|error| format!("{} is a key TLS cannot use: {error}", files.key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|error| format!("the key does not belong to the certificate: {error}"))?;
    Ok(certified)
}

/// The files' modification times: what a renewal changes.
type Stamp = (SystemTime, SystemTime);

/// The certificate in force, swapped when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    current: ArcSwap<CertifiedKey>,
    /// The files' stamp read just before they were first loaded: what [`watch`]
    /// compares against, so that a renewal landing before the watch's first look (at
    /// start, on a busy machine) is not taken for the files already loaded.
    loaded: Option<Stamp>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl ReloadingCert {
    /// The files' modification times.
    fn stamp(&self) -> Option<Stamp> {
        stamp(&self.files)
    }

    /// Reads the files again and swaps the certificate in; the old one stays when the
    /// new files cannot be used.
    fn reload(&self) {
        match load(&self.files) {
            Ok(certified) => {
                self.current.store(Arc::new(certified));
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(error) => {
                tracing::error!(%error, "the changed TLS files cannot be used; the running certificate stays")
            }
        }
    }
}

/// The files' modification times, when both can be read.
fn stamp(files: &TlsFiles) -> Option<Stamp> {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Some((modified(&files.cert)?, modified(&files.key)?))
}

/// A TLS acceptor for the files, and its certificate, to [`watch`].
pub fn acceptor(files: TlsFiles) -> Result<(TlsAcceptor, Arc<ReloadingCert>), String> {
    // Read before the files: a change from here on is seen by the watch.
    let loaded = stamp(&files);
    let certified = load(&files)?;
    let resolver = Arc::new(ReloadingCert {
        files,
        current: ArcSwap::from_pointee(certified),
        loaded,
    });
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    // Ingest speaks HTTP/1.1 only (see the connection layer).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), resolver))
}

/// Reloads the certificate whenever either file's modification time (or the file a
/// link points to) changes, until `stop`. Polling rather than a file watcher: renewals
/// often replace the files by swapping a symbolic link to a folder, which watchers of
/// the files miss.
pub async fn watch(cert: Arc<ReloadingCert>, stop: CancellationToken) {
    let mut last = cert.loaded;
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            () = stop.cancelled() => return,
        }
        let now = blocking(&cert, ReloadingCert::stamp).await.flatten();
        if now.is_some() && now != last {
            last = now;
            blocking(&cert, ReloadingCert::reload).await;
        }
    }
}

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    cert: &Arc<ReloadingCert>,
    work: impl FnOnce(&ReloadingCert) -> T + Send + 'static,
) -> Option<T> {
    let cert = cert.clone();
    tokio::task::spawn_blocking(move || work(&cert)).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a new self-signed certificate and its key as `name`.crt and `name`.key.
    fn certificate(dir: &Path, name: &str) -> TlsFiles {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }

    #[tokio::test]
    async fn a_renewal_that_lands_before_the_watch_first_looks_is_picked_up() {
        crate::install_tls_provider();
        let dir = std::env::temp_dir().join(format!("weir-tls-test-{}-early-renewal", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let live = certificate(&dir, "live");
        let (_acceptor, cert) = acceptor(live.clone()).unwrap();
        let first = cert.current.load().cert[0].clone();
        // File times come from a coarse clock: the renewal is written a few ticks later.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let next = certificate(&dir, "next");
        std::fs::rename(&next.key, &live.key).unwrap();
        std::fs::rename(&next.cert, &live.cert).unwrap();
        // Only now does the watch start (as on a machine too busy to run it at once).
        let stop = CancellationToken::new();
        let watching = tokio::spawn(watch(cert.clone(), stop.clone()));
        let deadline = tokio::time::Instant::now() + CHECK_EVERY * 5;
        while cert.current.load().cert[0] == first {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the renewed certificate was not loaded"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
        watching.await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
