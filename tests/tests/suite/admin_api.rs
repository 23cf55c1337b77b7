//! The admin API's additions: its errors all JSON, the admin token, cross-site
//! requests refused, the test send (`weir test`), the delivery log (`weir log export`);
//! and what the seeds let senders and operators choose: destinations per event, and
//! deliveries without the predictions.

use std::time::Duration;

use serde_json::{Value, json};
use weir::config::BodyFormat;
use weir_tests::config::{Destination, Filter, Retry, Route, Storage};
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::{delivery, destinations};
use weir_tests::router::{Weir, start, start_file};
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, fixture, multipart_body};

const TOKEN: &str = "admin-token-0123456789abcdef";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn weir_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_weir"));
    command.env_remove("WEIR_ADMIN_TOKEN").env_remove("WEIR_ADMIN_URL");
    command
}

/// A route `r` to a `log:` destination, and the admin token when one is given.
fn logged(token: Option<&str>) -> WeirConfig {
    let config = WeirConfig::new()
        .route("r", Route::to(["log"]))
        .destination("log", Destination::url("log:"));
    match token {
        Some(token) => config.admin_token(token),
        None => config,
    }
}

/// A route `r` to one receiver, `hook`.
fn to_hook(hook: &Receiver) -> WeirConfig {
    WeirConfig::new()
        .route("r", Route::to(["hook"]))
        .destination("hook", Destination::url(hook.url()))
}

async fn accepted(weir: &Weir, route: &str) -> String {
    let answer: Value = weir
        .post_json(route, &fixture("object-detection.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "accepted", "{answer}");
    answer["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_admin_error_is_json_including_axums_own() {
    let weir = start(&logged(None)).await;
    let cases = [
        ("POST", "/admin/deliveries/abc/replay", 400, "abc"),
        ("GET", "/admin/deliveries?limit=-1", 400, "limit"),
        ("GET", "/admin/deliveries?state=gone", 400, "pending, delivered, dead"),
        (
            "DELETE",
            "/admin/deliveries",
            405,
            "DELETE is not allowed on /admin/deliveries",
        ),
        ("GET", "/admin/reload", 405, "GET is not allowed on /admin/reload"),
        ("GET", "/admin/nothing", 404, "nothing at /admin/nothing"),
        ("GET", "/admin/attempts?status=sometimes", 400, "status \"sometimes\""),
        ("GET", "/admin/attempts?since=yesterday", 400, "since \"yesterday\""),
        (
            "POST",
            "/admin/destinations/ghost/test",
            404,
            "no destination named \"ghost\"",
        ),
    ];
    for (method, path, status, says) in cases {
        let response = weir
            .client
            .request(method.parse().unwrap(), weir.admin_url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {path}"
        );
        let body: Value = response.json().await.unwrap();
        let error = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: {body}"));
        assert!(error.contains(says), "{method} {path}: {error}");
    }
    weir.stop().await;
}

#[tokio::test]
async fn with_a_token_the_admin_api_requires_it_and_probes_stay_open() {
    let weir = start(&logged(Some(TOKEN))).await;
    for path in ["/admin/destinations", "/admin/config", "/admin/attempts"] {
        let refused = weir.client.get(weir.admin_url(path)).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{path}");
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("admin token"), "{body}");
        let wrong = weir
            .client
            .get(weir.admin_url(path))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let allowed = weir
            .client
            .get(weir.admin_url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), 200, "{path}");
    }
    for open in ["/healthz", "/readyz", "/metrics"] {
        let answer = weir.client.get(weir.admin_url(open)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{open}");
    }
    // The console sends a browser to its sign-in page.
    let page = weir.client.get(weir.admin_url("/")).send().await.unwrap();
    assert_eq!(page.url().path(), "/login");
    assert!(page.text().await.unwrap().contains("Admin token"));

    // A console action without it changes nothing.
    let action = weir.admin_post("/destinations/log/replay-dead").await;
    assert_eq!(action.status(), 401);
    assert!(action.text().await.unwrap().contains("Admin token"));

    // The weir commands take it from --token or $WEIR_ADMIN_TOKEN.
    let refused = weir_command()
        .args(["dead", "list", "--admin", &weir.admin_url("")])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("admin token"));
    let listed = weir_command()
        .args(["dead", "list", "--admin", &weir.admin_url("")])
        .env("WEIR_ADMIN_TOKEN", TOKEN)
        .output()
        .await
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let listed = weir_command()
        .args(["dead", "list", "--admin", &weir.admin_url(""), "--token", TOKEN])
        .output()
        .await
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    weir.stop().await;
}

#[tokio::test]
async fn a_state_change_from_another_site_is_refused() {
    let hook = Receiver::scripted(vec![Answer::Status(422)], Answer::Status(200)).await;
    let weir = start(&to_hook(&hook)).await;
    let id = accepted(&weir, "r").await;
    let record = weir.settled(&id).await;
    let dead = delivery(&record, "hook")["id"].as_u64().unwrap();
    let forged = [
        vec![("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")],
        vec![("origin", "http://evil.example")],
        vec![("sec-fetch-site", "same-site")],
    ];
    for headers in forged {
        for path in [
            format!("/admin/deliveries/{dead}/replay"),
            format!("/deliveries/{dead}/replay"),
            "/admin/destinations/hook/replay-dead".to_string(),
        ] {
            let mut request = weir.client.post(weir.admin_url(&path));
            for (name, value) in &headers {
                request = request.header(*name, *value);
            }
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 403, "{path} {headers:?}");
            let body: Value = answer.json().await.unwrap();
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("cross-site request refused")
            );
        }
    }
    // Still dead: nothing was replayed.
    assert_eq!(delivery(&weir.event(&id).await, "hook")["state"], "dead");
    // From the console's own origin, it is.
    let own = format!("http://{}", weir.server.admin_addr());
    let answer = weir
        .client
        .post(weir.admin_url(&format!("/admin/deliveries/{dead}/replay")))
        .header("origin", own)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    weir.stop().await;
}

#[tokio::test]
async fn a_test_send_goes_through_the_real_path_signed_and_shows_the_answer() {
    let mut hook = Receiver::scripted(vec![Answer::Status(201)], Answer::Status(500)).await;
    let config = WeirConfig::new().route("cameras", Route::to(["hook"])).destination(
        "hook",
        Destination::url(hook.url())
            .format(BodyFormat::Multipart)
            .include_image(true)
            .secret(SECRET)
            .headers([("X-Receiver-Key", "k3y")]),
    );
    let weir = start(&config).await;
    let answer = weir
        .admin_post("/admin/destinations/hook/test?task=instance-segmentation")
        .await;
    assert_eq!(answer.status(), 200);
    let outcome: Value = answer.json().await.unwrap();
    assert_eq!(outcome["delivered"], true, "{outcome}");
    assert_eq!(outcome["status"], 201);
    assert_eq!(outcome["response"], "answered");
    assert_eq!(outcome["signed"], true);
    assert!(outcome["latency_ms"].as_f64().unwrap() >= 0.0);
    let headers: Vec<&str> = outcome["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(
        headers.contains(&"x-receiver-key") && headers.contains(&"webhook-signature"),
        "{headers:?}"
    );

    let got = hook.next().await;
    assert_eq!(got.header("webhook-id"), outcome["event_id"].as_str().unwrap());
    assert_eq!(got.header("x-receiver-key"), "k3y");
    assert_eq!(got.header("x-weir-task"), "instance-segmentation");
    assert_eq!(got.header("x-weir-meta-weir-test"), "true");
    let parts = weir_tests::parse_multipart(got.header("content-type"), got.body.clone()).await;
    let names: Vec<&str> = parts.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["predictions.json", "image.jpeg"], "the destination's own shape");
    // The signature is over the raw bytes received (a JPEG among them), by the
    // specification: HMAC-SHA256 of `{id}.{timestamp}.{body}`.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(SECRET.strip_prefix("whsec_").unwrap()).unwrap();
    let mut signed = format!("{}.{}.", got.header("webhook-id"), got.header("webhook-timestamp")).into_bytes();
    signed.extend_from_slice(&got.body);
    let expected = format!("v1,{}", b64.encode(hmac_sha256::HMAC::mac(&signed, &key)));
    assert_eq!(got.header("webhook-signature"), expected);

    // `weir test`: the same, from the command line; exit 1 when the receiver refuses.
    let out = weir_command()
        .args(["test", "hook", "--admin", &weir.admin_url("")])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("hook: status 500 in "), "{stdout}");
    assert!(stdout.contains("signature headers: sent"), "{stdout}");
    hook.next().await;
    weir.stop().await;
}

/// The lines of an NDJSON body.
fn ndjson(text: &str) -> Vec<Value> {
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test]
async fn the_delivery_log_streams_every_attempt_with_its_filters_in_both_stores() {
    for (storage, store) in [("memory", Storage::memory()), ("durable", Storage::durable())] {
        let (ok, failing) = (
            Receiver::ok().await,
            Receiver::scripted(vec![], Answer::Status(503)).await,
        );
        let config = WeirConfig::new()
            .storage(store)
            .route("r", Route::to(["ok", "failing"]))
            .destination("ok", Destination::url(ok.url()))
            .destination(
                "failing",
                Destination::url(failing.url()).retry(
                    Retry::new()
                        .max_retries(1)
                        .initial_delay(Duration::from_millis(10))
                        .jitter(0.0),
                ),
            );
        let weir = start(&config).await;
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(accepted(&weir, "r").await);
        }
        for id in &ids {
            weir.settled(id).await;
        }
        let log = async |query: &str| {
            let response = weir
                .client
                .get(weir.admin_url(&format!("/admin/attempts{query}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{query}");
            assert_eq!(response.headers()["content-type"], "application/x-ndjson");
            ndjson(&response.text().await.unwrap())
        };
        let all = log("").await;
        assert_eq!(all.len(), 15, "{storage}: 5 delivered, 5 × 2 failed: {all:?}");
        let line = all.iter().find(|l| l["destination"] == "failing").unwrap();
        assert_eq!(line["status"], 503);
        assert_eq!(line["error"], "answered 503");
        assert_eq!(line["response"], "answered");
        assert!(ids.contains(&line["event_id"].as_str().unwrap().to_string()));
        assert!(line["delivery_id"].as_u64().is_some() && line["latency_ms"].as_f64().is_some());
        assert_eq!(log("?destination=ok").await.len(), 5, "{storage}");
        assert_eq!(log("?status=failed").await.len(), 10, "{storage}");
        assert_eq!(log("?status=5xx&destination=failing").await.len(), 10, "{storage}");
        assert_eq!(log("?status=ok").await.len(), 5, "{storage}");
        assert_eq!(log("?since=2000-01-01T00:00:00Z&until=1h").await.len(), 0, "{storage}");
        assert_eq!(log("?since=1h").await.len(), 15, "{storage}");

        // `weir log export`: the same lines, in a file.
        let file = folder(&format!("admin_api/log-export-{storage}")).join("attempts.ndjson");
        let out = weir_command()
            .args([
                "log",
                "export",
                "--admin",
                &weir.admin_url(""),
                "--status",
                "failed",
                "--output",
            ])
            .arg(&file)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 10 attempt(s)"));
        let written = ndjson(&std::fs::read_to_string(&file).unwrap());
        assert_eq!(written.len(), 10);
        assert!(written.iter().all(|l| l["destination"] == "failing"));
        weir.stop().await;
    }
}

#[tokio::test]
async fn a_sender_chooses_destinations_by_header_or_webhook_ids_field_among_the_routes() {
    let (a, b, c) = (Receiver::ok().await, Receiver::ok().await, Receiver::ok().await);
    // Destination c, then the same config without it.
    let without_c = WeirConfig::new()
        .storage(Storage::memory())
        .route("cameras", Route::to(["a", "b"]).sender_may_choose(true))
        .route("fixed", Route::to(["a"]))
        .destination("a", Destination::url(a.url()))
        .destination("b", Destination::url(b.url()));
    let with_c = without_c
        .clone()
        .route("cameras", Route::to(["a", "b", "c"]).sender_may_choose(true))
        .destination("c", Destination::url(c.url()));
    let path = folder("admin_api/choose").join("weir.toml");
    let weir = start_file(&path, &with_c).await;
    let send = async |route: &str, header: Option<&str>| {
        let mut request = weir
            .client
            .post(weir.ingest_url(route))
            .header("content-type", "application/json")
            .body(fixture("object-detection.json"));
        if let Some(names) = header {
            request = request.header("x-weir-destinations", names);
        }
        request.send().await.unwrap()
    };
    // The header: only b.
    let answer: Value = send("cameras", Some("b")).await.json().await.unwrap();
    assert_eq!(answer["destinations"], json!(["b"]));
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    assert_eq!(destinations(&record), ["b"]);
    // The seed's multipart field: a and c, as a list; it is not metadata.
    let predictions = fixture("object-detection.json");
    let (content_type, body) = multipart_body(&[
        (
            "file",
            Some("predictions.json"),
            "application/json",
            predictions.as_bytes(),
        ),
        ("webhook_ids", None, "text/plain", b"[a, c]"),
        ("camera", None, "text/plain", b"dock-3"),
    ]);
    let answer: Value = weir
        .post("cameras", &content_type, body.clone())
        .await
        .json()
        .await
        .unwrap();
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    assert_eq!(destinations(&record), ["a", "c"]);
    // No choice: every destination of the route.
    let answer: Value = send("cameras", None).await.json().await.unwrap();
    assert_eq!(answer["destinations"], json!(["a", "b", "c"]));

    // A name that is not one of the route's: 422, naming it.
    let refused = send("cameras", Some("a, ghost")).await;
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("names \"ghost\""), "{error}");
    // A route that does not let senders choose says so.
    let refused = send("fixed", Some("a")).await;
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("sender_may_choose = true"),
        "{error}"
    );

    // Destination c removed from the config: naming it is now an error.
    std::fs::write(&path, without_c.to_string()).unwrap();
    let reloaded = weir.client.post(weir.admin_url("/admin/reload")).send().await.unwrap();
    assert_eq!(reloaded.status(), 200);
    let refused = send("cameras", Some("c")).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("names \\\"c\\\""));
    let refused = weir.post("cameras", &content_type, body).await;
    assert_eq!(refused.status(), 422);
    weir.stop().await;
}

#[tokio::test]
async fn a_destination_without_predictions_gets_the_id_route_task_and_metadata() {
    let (mut full, mut bare) = (Receiver::ok().await, Receiver::ok().await);
    let config = WeirConfig::new()
        .route("cameras", Route::to(["full", "bare"]))
        .destination("full", Destination::url(full.url()))
        .destination("bare", Destination::url(bare.url()).include_predictions(false));
    let weir = start(&config).await;
    let answer = weir
        .client
        .post(weir.ingest_url("cameras"))
        .header("content-type", "application/json")
        .header("x-weir-meta-camera", "dock-3")
        .header("idempotency-key", "evt-bare-1")
        .body(fixture("object-detection.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let (full, bare) = (full.next().await, bare.next().await);
    assert_eq!(full.json()["predictions"].as_array().unwrap().len(), 6);
    assert_eq!(
        bare.json(),
        json!({
            "id": "evt-bare-1",
            "route": "cameras",
            "task": "object-detection",
            "metadata": { "camera": "dock-3" }
        })
    );
    assert_eq!(bare.header("webhook-id"), "evt-bare-1");
    weir.stop().await;
}

#[tokio::test]
async fn the_plugins_api_shows_each_plugins_mean_call_time() {
    let config = WeirConfig::new()
        .route(
            "r",
            Route::to(["log"]).filter(Filter::plugin("class-filter").config(json!({ "classes": ["person"] }))),
        )
        .destination("log", Destination::url("log:"));
    let weir = start(&config).await;
    accepted(&weir, "r").await;
    let plugins: Value = weir.admin_json("/admin/plugins").await;
    let plugin = &plugins["plugins"][0];
    assert_eq!(plugin["name"], "class-filter");
    assert_eq!(plugin["calls"], 1);
    assert!(plugin["mean_call_us"].as_f64().unwrap() > 0.0, "{plugin}");
    weir.stop().await;
}
