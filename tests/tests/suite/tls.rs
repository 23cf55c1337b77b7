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
    eventually(
        "the renewed certificate to be served",
        Duration::from_secs(20),
        async || {
            let answer = client
                .post(&url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .ok()?;
            (answer.status() == 202).then_some(())
        },
    )
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
    assert!(
        error.contains("server.tls_cert") && error.contains("does not belong"),
        "{error}"
    );
    let path = dir.join("weir.toml");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["check", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("server.tls_cert: the key does not belong to the certificate"),
        "{stderr}"
    );
}

/// A receiver over HTTPS with a certificate for 127.0.0.1 issued by a private CA: its
/// address, the CA's PEM, and the bodies it receives.
async fn https_receiver() -> (
    std::net::SocketAddr,
    String,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    use http_body_util::BodyExt;
    weir::install_tls_provider();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let chain = vec![leaf.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let body = request.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let _ = tx.send(body);
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"ok"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, ca.pem(), rx)
}

#[tokio::test]
async fn an_https_receiver_with_a_private_ca_is_trusted_through_its_ca_file_only() {
    let (addr, ca, mut received) = https_receiver().await;
    let dir = weir_tests::scratch::folder("tls-ca-file");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let url = format!("https://127.0.0.1:{}/hook", addr.port());
    let config = |destination: Destination| {
        WeirConfig::new()
            .storage(Storage::memory())
            .route("r", Route::to(["hook"]))
            .destination("hook", destination)
    };
    let weir = start(&config(Destination::url(&url).ca_file(&ca_file))).await;
    assert_eq!(weir.post_json("r", r#"{"n":1}"#).await.status(), 202);
    let body = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body, br#"{"n":1}"#);
    weir.stop().await;

    // Without the CA file the receiver's certificate is not trusted: the attempt fails.
    let weir = start(&config(Destination::url(&url))).await;
    let answer: serde_json::Value = weir.post_json("r", "{}").await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap();
    let record = weir
        .event_when(id, "an attempt recorded", |record| {
            weir_tests::records::delivery(record, "hook")["history"]
                .as_array()
                .is_some_and(|attempts| !attempts.is_empty())
        })
        .await;
    let error = weir_tests::records::delivery(&record, "hook")["history"][0]["error"].to_string();
    assert!(error.contains("certificate"), "{error}");
    weir.stop().await;
}
