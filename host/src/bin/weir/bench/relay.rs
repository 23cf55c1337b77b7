//! The bare relay: the machine's limit for this job. A minimal hyper server that
//! forwards each request to the sink as it is (no parsing, no plugins, no queue) and
//! answers with the sink's status. Every Weir scenario is reported against it.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Serves until the process ends, forwarding to `target`; prints the bound address on
/// stdout first (`listening on ADDR`).
pub async fn serve(target: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    crate::process::out!("listening on {}", listener.local_addr()?);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let client = client.clone();
                async move { Ok::<_, Infallible>(forward(&client, target, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn forward(
    client: &Client<HttpConnector, Full<Bytes>>,
    target: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await else {
        return status(StatusCode::BAD_REQUEST);
    };
    let mut outgoing = Request::builder()
        .method(parts.method)
        .uri(format!("http://{target}/relay"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(outgoing) = outgoing.body(Full::new(body.to_bytes())) else {
        return status(StatusCode::BAD_REQUEST);
    };
    match client.request(outgoing).await {
        Ok(response) => {
            let code = response.status();
            let _ = response.into_body().collect().await;
            status(code)
        }
        Err(_) => status(StatusCode::BAD_GATEWAY),
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
