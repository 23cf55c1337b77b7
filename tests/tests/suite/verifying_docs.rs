//! docs/VERIFYING.md's recipes, run as written against real deliveries: a signed
//! multipart body carrying a JPEG (not UTF-8), during a secret rotation. Each recipe
//! must accept the request under either secret and refuse it under another.

use std::process::Command;

use weir::config::BodyFormat;
use weir_tests::config::{Destination, Route};
use weir_tests::receiver::Receiver;
use weir_tests::router::start;
use weir_tests::{WeirConfig, camera_multipart, workspace};

const NEW: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER: &str = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// The code block of `language` in docs/VERIFYING.md.
fn recipe(language: &str) -> String {
    let doc = std::fs::read_to_string(workspace().join("docs").join("VERIFYING.md")).unwrap();
    let start = doc
        .find(&format!("```{language}\n"))
        .unwrap_or_else(|| panic!("no {language} block"))
        + language.len()
        + 4;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

/// A multipart delivery with the image, signed by both secrets: its headers and body.
async fn delivery(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut hook = Receiver::ok().await;
    let weir = start(
        &WeirConfig::new().route("cameras", Route::to(["hook"])).destination(
            "hook",
            Destination::url(hook.url())
                .format(BodyFormat::Multipart)
                .include_image(true)
                .secret(&format!("{NEW} {OLD}")),
        ),
    )
    .await;
    let (content_type, body) = camera_multipart("instance-segmentation");
    let answer = weir.post("cameras", &content_type, body).await;
    assert_eq!(answer.status(), 202);
    let request = hook.next().await;
    assert!(
        std::str::from_utf8(&request.body).is_err(),
        "the body should carry binary parts"
    );
    let headers: serde_json::Map<String, serde_json::Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|name| (name.to_string(), request.header(name).into()))
        .collect();
    let (headers_path, body_path) = (dir.join("headers.json"), dir.join("body.bin"));
    std::fs::write(&headers_path, serde_json::Value::Object(headers).to_string()).unwrap();
    std::fs::write(&body_path, &request.body).unwrap();
    weir.stop().await;
    (headers_path, body_path)
}

fn run(program: &str, script: &std::path::Path) -> String {
    let out = Command::new(program)
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn the_python_recipe_verifies_a_multipart_delivery_under_either_secret() {
    let dir = weir_tests::scratch::folder("verifying-python");
    let (headers, body) = delivery(&dir).await;
    let script = dir.join("verify.py");
    std::fs::write(
        &script,
        format!(
            "{}\nimport json\nheaders = json.load(open({headers:?}))\nbody = open({body:?}, 'rb').read()\nprint(verify({NEW:?}, headers, body), verify({OLD:?}, headers, body), verify({OTHER:?}, headers, body))\n",
            recipe("python")
        ),
    )
    .unwrap();
    assert_eq!(run("python3", &script), "True True False");
}

#[tokio::test]
async fn the_node_recipe_verifies_a_multipart_delivery_under_either_secret() {
    let Some(()) = weir_tests::node::required(
        "the_node_recipe_verifies_a_multipart_delivery_under_either_secret",
        Command::new("node")
            .arg("--version")
            .output()
            .map(drop)
            .map_err(|e| format!("node is not installed: {e}")),
    ) else {
        return;
    };
    let dir = weir_tests::scratch::folder("verifying-node");
    let (headers, body) = delivery(&dir).await;
    let script = dir.join("verify.js");
    std::fs::write(
        &script,
        format!(
            "{}\nconst fs = require('node:fs');\nconst headers = JSON.parse(fs.readFileSync({headers:?}, 'utf8'));\nconst body = fs.readFileSync({body:?});\nconsole.log([{NEW:?}, {OLD:?}, {OTHER:?}].map((s) => verify(s, headers, body)).join(' '));\n",
            recipe("js")
        ),
    )
    .unwrap();
    assert_eq!(run("node", &script), "true true false");
}
