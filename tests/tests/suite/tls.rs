//! HTTPS ingest: events over TLS with the configured certificate, a renewed certificate
//! served without a restart, and TLS files that cannot be used refused by `weir check`
//! and at start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use weir_tests::config::{Destination, Route, Server, Storage};
use weir_tests::router::{start, try_start};
use weir_tests::{WeirConfig, eventually};

/// A self-signed certificate for 127.0.0.1, written as PEM into `dir`; its PEM too.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, cert.pem())
}

/// A client trusting only `pem`.
fn client_trusting(pem: &str) -> reqwest::Client {
    weir::install_tls_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn over_tls(cert: &Path, key: &Path) -> WeirConfig {
    WeirConfig::new()
        .server(Server::new().tls(cert, key))
        .storage(Storage::memory())
        .route("r", Route::to(["log"]))
        .destination("log", Destination::url("log:"))
}

#[tokio::test]
async fn events_arrive_over_https_and_a_renewed_certificate_is_served_without_a_restart() {
    let dir = weir_tests::scratch::folder("tls-renewal");
    let (cert, key, first) = certificate(&dir, "live");
    let weir = start(&over_tls(&cert, &key)).await;
    let url = format!("https://127.0.0.1:{}/ingest/r", weir.server.ingest_addr().port());
    let answer = client_trusting(&first)
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    // Plain HTTP on the TLS port is not served.
    let plain = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // Renewal: new files in place of the old (written aside, then renamed, as
    // certificate tools do).
    let (new_cert, new_key, renewed) = certificate(&dir, "next");
    std::fs::rename(&new_key, &key).unwrap();
    std::fs::rename(&new_cert, &cert).unwrap();
    let client = client_trusting(&renewed);
    eventually("the renewed certificate to be served", Duration::from_secs(20), async || {
        let answer = client
            .post(&url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .ok()?;
        (answer.status() == 202).then_some(())
    })
    .await;
    weir.stop().await;
}

#[tokio::test]
async fn tls_files_that_cannot_be_used_refuse_the_start_and_weir_check_says_why() {
    let dir = weir_tests::scratch::folder("tls-broken");
    let (cert, _, _) = certificate(&dir, "a");
    let (_, other_key, _) = certificate(&dir, "b");
    let config = over_tls(&cert, &other_key);
    let error = match try_start(&config).await {
        Ok(weir) => {
            weir.stop().await;
            panic!("started with a key of another certificate");
        }
        Err(error) => error.to_string(),
    };
    assert!(error.contains("server.tls_cert") && error.contains("does not belong"), "{error}");
    let path = dir.join("weir.toml");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["check", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("server.tls_cert: the key does not belong to the certificate"), "{stderr}");
}
