//! The config `weir run` uses when given none: it serves out of the box.
//!
//! One route, `demo`, keeps frames with a person or a car, strips masks, and delivers
//! to the built-in `log:` destination (printed on stdout), and also to
//! `$WEIR_WEBHOOK_URL` when that is set (which may be on this machine or the private
//! network: it is the user's own choice). Plugins are the embedded examples.

/// The default config, with `webhook_url` added as a second destination when given.
pub fn default_config(webhook_url: Option<&str>) -> String {
    let mut text = String::from(
        r#"# Weir's default config (`weir run` with no --config).
[server]
listen = "127.0.0.1:8080"

[admin]
listen = "127.0.0.1:9090"

[routes.demo]
filters = [
  { plugin = "class-filter", config = { classes = ["person", "car"], min_confidence = 0.5 } },
  { plugin = "strip-masks" },
]
"#,
    );
    match webhook_url {
        Some(url) => {
            text.push_str("destinations = [\"log\", \"webhook\"]\n\n[destinations.log]\nurl = \"log:\"\n\n[destinations.webhook]\n");
            text.push_str(&format!("url = {}\n", toml::Value::String(url.to_string())));
            // A URL given for trying Weir out is most often a receiver on this machine.
            text.push_str("allow_private = true\n");
        }
        None => text.push_str("destinations = [\"log\"]\n\n[destinations.log]\nurl = \"log:\"\n"),
    }
    text
}
