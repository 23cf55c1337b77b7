//! The operator's console, in a real browser (headless Chromium through WebDriver):
//! rates that move as events come in, a dead delivery replayed from its event page,
//! "Send test" and the receiver's answer, the token asked for when one is set; and
//! the pages without JavaScript. Outcomes are read from Weir's own records.

use std::time::Duration;

use serde_json::{Value, json};
use weir_tests::config::{Breaker, Destination, Filter, Retry, Route, Storage};
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::delivery;
use weir_tests::router::{Weir, start};
use weir_tests::{WeirConfig, eventually, fixture, workspace};

use crate::browser::{self, PHONE_WIDTH, Screen};

const TOKEN: &str = "console-token-0123456789";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The number at the start of a text ("12.5" of "12.5 total").
fn number(text: &str) -> f64 {
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .replace(',', "")
        .parse()
        .unwrap_or(-1.0)
}

/// The example class filter, keeping people seen with at least 0.5 confidence.
fn people() -> Filter {
    Filter::plugin("class-filter").config(json!({ "classes": ["person"], "min_confidence": 0.5 }))
}

async fn post_events(weir: &Weir, route: &str, count: usize) {
    for _ in 0..count {
        let answer = weir.post_json(route, &fixture("object-detection.json")).await;
        assert_eq!(answer.status(), 202);
    }
}

#[tokio::test]
async fn the_overview_shows_the_rates_move_as_events_come_in() {
    let Some(browser) = browser::open("console::the_overview_shows_the_rates_move_as_events_come_in").await else {
        return;
    };
    let (hook, failing) = (
        Receiver::ok().await,
        Receiver::scripted(vec![], Answer::Status(503)).await,
    );
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .route("cameras", Route::to(["hook", "flaky"]).filter(people()))
        .route("audit", Route::to(["hook"]))
        .destination("hook", Destination::url(hook.url()))
        .destination(
            "flaky",
            Destination::url(failing.url())
                .retry(Retry::new().max_retries(0))
                .circuit_breaker(Breaker::off()),
        );
    let weir = start(&config).await;
    browser.goto(&weir.admin_url("/")).await;
    assert_eq!(browser.text("#total-received").await, "0 total");
    assert!(browser.text("#routes").await.contains("class-filter"));

    post_events(&weir, "cameras", 20).await;
    // The page updates itself: no reload, the totals move.
    let total = browser
        .text_when("#total-received", "20 events received on the overview", |t| {
            number(t) >= 20.0
        })
        .await;
    assert_eq!(number(&total), 20.0, "{total}");
    browser
        .text_when("#total-delivered", "20 deliveries to hook", |t| number(t) >= 20.0)
        .await;
    browser
        .text_when("#total-failed", "the failing destination's attempts", |t| {
            number(t) >= 20.0
        })
        .await;

    // Under load (which also makes the README's picture): events to both routes, some
    // dropped, some failing, for a few seconds (a bounded count). The rate of events in
    // rises above zero while they come.
    let client = weir.client.clone();
    let (cameras, audit) = (weir.ingest_url("cameras"), weir.ingest_url("audit"));
    let load = tokio::spawn(async move {
        for n in 0..400 {
            let body = if n % 3 == 0 {
                fixture("classification.json")
            } else {
                fixture("object-detection.json")
            };
            let url = if n % 4 == 0 { &audit } else { &cameras };
            let _ = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    let rate = browser
        .text_when("#rate-received", "a rate of events in above zero", |t| number(t) > 0.0)
        .await;
    assert!(number(&rate) > 0.0);
    browser
        .text_when("#total-dropped", "dropped events on the overview", |t| number(t) > 0.0)
        .await;
    browser
        .text_when("#total-received", "the load on the overview", |t| number(t) >= 250.0)
        .await;
    let png = browser.client.screenshot().await.expect("a screenshot");
    let _ = load.await;
    let shot = workspace().join("target").join("console-overview.png");
    std::fs::write(&shot, &png).unwrap();
    if std::env::var_os("WEIR_UPDATE_SCREENSHOT").is_some() {
        std::fs::write(workspace().join("docs").join("console.png"), &png).unwrap();
    }
    browser.close().await;
    weir.stop().await;
}

#[tokio::test]
async fn a_dead_delivery_replayed_from_its_event_page_reaches_the_receiver_with_its_webhook_id() {
    let Some(browser) =
        browser::open("console::a_dead_delivery_replayed_from_its_event_page_reaches_the_receiver_with_its_webhook_id")
            .await
    else {
        return;
    };
    let mut hook = Receiver::scripted(vec![Answer::Status(422)], Answer::Status(200)).await;
    let config = WeirConfig::new()
        .route("cameras", Route::to(["hook"]))
        .destination("hook", Destination::url(hook.url()));
    let weir = start(&config).await;
    let answer: Value = weir
        .post_json("cameras", &fixture("object-detection.json"))
        .await
        .json()
        .await
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    let record = weir.settled(&id).await;
    assert_eq!(delivery(&record, "hook")["state"], "dead", "{record}");
    let first = hook.next().await;

    browser.goto(&weir.admin_url(&format!("/events?id={id}"))).await;
    assert!(browser.text(".delivery .state").await.eq_ignore_ascii_case("dead"));
    let delivery_id = delivery(&record, "hook")["id"].as_u64().unwrap();
    browser.click(&format!("#replay-{delivery_id}")).await;
    browser
        .text_when(".notice", "the replay's notice", |t| t.contains("pending again"))
        .await;

    let record = weir
        .event_when(&id, "the replayed delivery delivered", |r| {
            r["deliveries"][0]["state"] == "delivered"
        })
        .await;
    let again = hook.next().await;
    assert_eq!(again.header("webhook-id"), id);
    assert_eq!(first.header("webhook-id"), again.header("webhook-id"));
    assert_eq!(
        delivery(&record, "hook")["history"].as_array().unwrap().len(),
        2,
        "{record}"
    );
    // The page, loaded again, shows it delivered.
    browser.goto(&weir.admin_url(&format!("/events?id={id}"))).await;
    assert!(browser.text(".delivery .state").await.eq_ignore_ascii_case("delivered"));
    browser.close().await;
    weir.stop().await;
}

#[tokio::test]
async fn send_test_shows_the_receivers_status_and_that_the_request_was_signed() {
    let Some(browser) =
        browser::open("console::send_test_shows_the_receivers_status_and_that_the_request_was_signed").await
    else {
        return;
    };
    let mut hook = Receiver::scripted(vec![Answer::Status(202)], Answer::Status(200)).await;
    let config = WeirConfig::new().route("cameras", Route::to(["hook"])).destination(
        "hook",
        Destination::url(hook.url())
            .secret(SECRET)
            .headers([("Authorization", "Bearer receiver-token")]),
    );
    let weir = start(&config).await;
    browser.goto(&weir.admin_url("/destinations/hook")).await;
    browser.click("#send-test").await;
    let status = browser
        .text_when("#test-status", "the test's status on the page", |t| !t.is_empty())
        .await;
    assert_eq!(status, "202");
    assert!(browser.text("#test-signed").await.starts_with("sent"));
    assert_eq!(browser.text("#test-response").await, "answered");

    let got = hook.next().await;
    assert!(got.header("webhook-id").starts_with("test_"));
    assert!(got.header("webhook-signature").starts_with("v1,"));
    assert_eq!(got.header("authorization"), "Bearer receiver-token");
    assert_eq!(got.header("x-weir-route"), "cameras");
    // A test is not a delivery: nothing was recorded.
    let listed: Value = weir.admin_json("/admin/deliveries").await;
    assert_eq!(listed["deliveries"], json!([]), "{listed}");
    browser.close().await;
    weir.stop().await;
}

#[tokio::test]
async fn with_a_token_the_console_asks_for_it_once_and_keeps_it_in_an_http_only_cookie() {
    let Some(browser) =
        browser::open("console::with_a_token_the_console_asks_for_it_once_and_keeps_it_in_an_http_only_cookie").await
    else {
        return;
    };
    let config = WeirConfig::new()
        .admin_token(TOKEN)
        .route("cameras", Route::to(["log"]))
        .destination("log", Destination::url("log:"));
    let weir = start(&config).await;
    // Refused without it: the sign-in page, not the overview.
    browser.goto(&weir.admin_url("/destinations/log")).await;
    assert_eq!(browser.path().await, "/login");
    assert!(!browser.has("#live").await);
    assert_eq!(browser.text("h1").await, "Sign in");

    // A wrong token is refused.
    let field = browser.client.find(fantoccini::Locator::Css("#token")).await.unwrap();
    field.send_keys("not-the-token").await.unwrap();
    browser.click("form[action='/login'] button").await;
    browser
        .text_when(".notice", "the wrong token refused", |t| {
            t.contains("not the admin token")
        })
        .await;
    assert!(!browser.has("#live").await);

    // The right one: back where it was going, and kept.
    let field = browser.client.find(fantoccini::Locator::Css("#token")).await.unwrap();
    field.send_keys(TOKEN).await.unwrap();
    browser.click("form[action='/login'] button").await;
    browser
        .text_when("h1", "the destination page after signing in", |t| {
            t == "Destination log"
        })
        .await;
    browser.goto(&weir.admin_url("/")).await;
    assert!(browser.has("#live").await, "signed in once, the overview shows");
    let cookie = browser.client.get_named_cookie("weir_admin").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    assert_ne!(cookie.value(), TOKEN, "the cookie holds a digest, not the token");
    // The cookie is all the console's download link needs.
    let download = weir
        .client
        .get(weir.admin_url("/admin/attempts"))
        .header("cookie", format!("weir_admin={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    // The running config shows that there is a token, not the token.
    browser.goto(&weir.admin_url("/config")).await;
    let shown = browser.text("#config").await;
    assert!(
        shown.contains("token = \"<redacted>\"") && !shown.contains(TOKEN),
        "{shown}"
    );

    // Signing out forgets it: the console asks again.
    browser.click("form[action='/logout'] button").await;
    browser
        .text_when("h1", "the sign-in page after signing out", |t| t == "Sign in")
        .await;
    browser.goto(&weir.admin_url("/")).await;
    assert_eq!(browser.path().await, "/login");
    browser.close().await;
    weir.stop().await;
}

#[tokio::test]
async fn every_page_says_what_it_shows_without_javascript() {
    let hook = Receiver::scripted(vec![Answer::Status(500)], Answer::Status(200)).await;
    let config = WeirConfig::new()
        .route("cameras", Route::to(["hook"]).filter(people()))
        .destination(
            "hook",
            // A password and a query value in the URL: shown nowhere.
            Destination::url(format!("http://bot:s3cret-pass@{}/hook?key=s3cret-key", hook.addr))
                .secret(SECRET)
                .headers([("X-Receiver-Token", "receiver-token-42")])
                .retry(Retry::new().max_retries(0)),
        );
    let weir = start(&config).await;
    let answer: Value = weir
        .post_json("cameras", &fixture("object-detection.json"))
        .await
        .json()
        .await
        .unwrap();
    let id = answer["id"].as_str().unwrap();
    weir.settled(id).await;
    let page = async |path: &str| {
        let response = weir.client.get(weir.admin_url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        response.text().await.unwrap()
    };
    let overview = page("/").await;
    for shown in [
        "/ingest/cameras",
        "class-filter",
        "id=\"rate-received\"",
        "<svg",
        "hook",
        "http-equiv=\"refresh\"",
        // The totals as they are now, not as of the last second's sample.
        "id=\"total-received\">1 total<",
        "id=\"total-failed\">1 total<",
    ] {
        assert!(overview.contains(shown), "the overview lacks {shown}: {overview}");
    }
    let destination = page("/destinations/hook").await;
    for shown in [
        "answered 500",
        "Send test",
        "Replay dead letters",
        "p50 / p99",
        "id=\"dead\">1<",
    ] {
        assert!(
            destination.contains(shown),
            "the destination page lacks {shown}: {destination}"
        );
    }
    let event = page(&format!("/events?id={id}")).await;
    assert!(event.contains("answered 500") && event.contains("Replay"), "{event}");
    let plugins = page("/plugins").await;
    for shown in ["class-filter", "component", "0.2.0", "µs"] {
        assert!(plugins.contains(shown), "the plugins page lacks {shown}: {plugins}");
    }
    let config = page("/config").await;
    assert!(config.contains("&lt;redacted&gt;"), "{config}");
    assert!(
        destination.contains("http://bot:&lt;redacted&gt;@") && destination.contains("?key=&lt;redacted&gt;"),
        "{destination}"
    );
    for (path, text) in [("/config", &config), ("/destinations/hook", &destination)] {
        for secret in ["MfKQ9r8", "receiver-token-42", "s3cret-pass", "s3cret-key"] {
            assert!(!text.contains(secret), "{path} shows {secret}: {text}");
        }
    }
    let events = page("/events").await;

    // The delivery log: the events pages' download form, and each destination's link.
    for shown in [&events, &event] {
        assert!(shown.contains("action=\"/admin/attempts\""), "{shown}");
    }
    assert!(
        destination.contains("href=\"/admin/attempts?destination=hook\""),
        "{destination}"
    );
    // What the form sends with only a destination chosen: the other fields blank.
    let download = weir
        .client
        .get(weir.admin_url("/admin/attempts?since=&until=&destination=hook&status="))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"weir-attempts.ndjson\""
    );
    let lines: Vec<Value> = download
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        (lines[0]["event_id"].as_str(), &lines[0]["status"]),
        (Some(id), &json!(500))
    );

    // Everything comes from the binary: no page refers to another host (no CDN).
    let pages = [
        ("/", &overview),
        ("/destinations/hook", &destination),
        ("/events", &events),
        ("/events?id=...", &event),
        ("/plugins", &plugins),
        ("/config", &config),
    ];
    for (path, text) in pages {
        for outside in [
            "src=\"http",
            "href=\"http",
            "action=\"http",
            "src=\"//",
            "href=\"//",
            "action=\"//",
        ] {
            assert!(!text.contains(outside), "{path} refers to another host ({outside})");
        }
    }
    // Without JavaScript, the forms post to the console and answer with a page.
    let replayed = weir.admin_post("/destinations/hook/replay-dead").await;
    assert_eq!(replayed.status(), 200);
    assert!(replayed.text().await.unwrap().contains("Replayed 1 dead delivery"));
    for (asset, kind) in [
        ("/assets/console.css", "text/css"),
        ("/assets/console.js", "text/javascript"),
    ] {
        let answer = weir.client.get(weir.admin_url(asset)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{asset}");
        assert!(answer.headers()["content-type"].to_str().unwrap().starts_with(kind));
        let text = answer.text().await.unwrap();
        for outside in ["http:", "https:", "url(", "@import"] {
            assert!(!text.contains(outside), "{asset} fetches something ({outside})");
        }
    }
    eventually("the replayed delivery delivered", Duration::from_secs(30), async || {
        let record = weir.event(id).await;
        (record["deliveries"][0]["state"] == "delivered").then_some(())
    })
    .await;
    weir.stop().await;
}

/// The page's width, the screen's, and every box (a table's, a `pre`) whose content is
/// wider than the box, so that it would have to be scrolled sideways.
const MEASURE_WIDTHS: &str = "
    var wide = [];
    document.querySelectorAll('.scroll, table, pre').forEach(function (box) {
        if (box.scrollWidth > box.clientWidth + 1) {
            wide.push(box.tagName.toLowerCase() + (box.id ? '#' + box.id : '') + ': '
                + box.scrollWidth + ' px in ' + box.clientWidth);
        }
    });
    return [document.documentElement.scrollWidth, window.innerWidth, wide];
";

#[tokio::test]
async fn every_page_reads_on_a_phone_without_scrolling_sideways() {
    let Some(browser) = browser::open_on(
        "console::every_page_reads_on_a_phone_without_scrolling_sideways",
        Screen::Phone,
    )
    .await
    else {
        return;
    };
    let hook = Receiver::scripted(vec![], Answer::Status(500)).await;
    let config = WeirConfig::new()
        .route(
            "cameras-at-the-loading-dock",
            Route::to(["receiver-of-the-loading-dock"])
                .filter(people())
                .filter(Filter::plugin("strip-masks")),
        )
        .destination(
            "receiver-of-the-loading-dock",
            Destination::url(format!("{}/with/a/rather/long/path/to/show", hook.url()))
                .secret(SECRET)
                .headers([("Authorization", "Bearer receiver-token-42")])
                .retry(Retry::new().max_retries(0)),
        );
    let weir = start(&config).await;
    let answer: Value = weir
        .client
        .post(weir.ingest_url("cameras-at-the-loading-dock"))
        .header("content-type", "application/json")
        .header(
            "idempotency-key",
            "frame-2026-11-22T10:00:00.123Z-camera-dock-3-sequence-000042",
        )
        .body(fixture("object-detection.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    weir.settled(&id).await;
    let pages = [
        "/".to_string(),
        "/destinations/receiver-of-the-loading-dock".to_string(),
        "/events".to_string(),
        format!("/events?id={id}"),
        "/plugins".to_string(),
        "/config".to_string(),
    ];
    for path in pages {
        browser.goto(&weir.admin_url(&path)).await;
        browser.text("h1").await;
        let measured = browser.script(MEASURE_WIDTHS).await;
        let (page, screen) = (measured[0].as_u64().unwrap(), measured[1].as_u64().unwrap());
        assert_eq!(screen, u64::from(PHONE_WIDTH), "{path}: not laid out for a phone");
        assert!(page <= screen, "{path} is {page} px wide on a {screen} px screen");
        assert_eq!(measured[2], json!([]), "{path}: boxes to scroll sideways on a phone");
        if path == "/" {
            let png = browser.client.screenshot().await.expect("a screenshot");
            std::fs::write(workspace().join("target").join("console-phone.png"), png).unwrap();
        }
    }
    browser.close().await;
    weir.stop().await;
}
