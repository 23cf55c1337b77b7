//! The delivery log's download form, on the events page (the camera seed's "download
//! the inference logs"): a plain GET form to `GET /admin/attempts`, whose answer the
//! browser saves as `weir-attempts.ndjson` (it is sent as an attachment). No
//! JavaScript, and with an admin token the console's cookie is enough.

use crate::config::Config;

use super::html::{esc, url_escape};

/// The statuses the form offers: what `status` takes (`crate::outbox::StatusFilter`).
const STATUSES: [(&str, &str); 7] = [
    ("", "any"),
    ("ok", "delivered (2xx)"),
    ("failed", "failed"),
    ("none", "no answer"),
    ("2xx", "2xx"),
    ("4xx", "4xx"),
    ("5xx", "5xx"),
];

/// The form: since, until, destination and status, each optional.
pub fn form(config: &Config) -> String {
    let destinations: String = std::iter::once("<option value=\"\">all</option>".to_string())
        .chain(
            config
                .destinations
                .keys()
                .map(|name| format!("<option value=\"{0}\">{0}</option>", esc(name))),
        )
        .collect();
    let statuses: String = STATUSES
        .iter()
        .map(|(value, label)| format!("<option value=\"{value}\">{label}</option>"))
        .collect();
    format!(
        "<section class=\"card\" id=\"delivery-log\"><h2>Delivery log</h2>\
         <p class=\"hint\">Every recorded attempt, one JSON object a line (NDJSON): event, delivery, \
         destination, time, status, latency, error and the receiver's first bytes. Times are RFC 3339 \
         or a span back from now (<code>2h</code>, <code>7d</code>); empty means no limit. \
         <code>weir log export</code> does the same from a shell.</p>\
         <form method=\"get\" action=\"/admin/attempts\" class=\"search\">\
         <label for=\"log-since\">Since</label><input id=\"log-since\" name=\"since\" placeholder=\"24h\" size=\"10\">\
         <label for=\"log-until\">Until</label><input id=\"log-until\" name=\"until\" placeholder=\"now\" size=\"10\">\
         <label for=\"log-destination\">Destination</label><select id=\"log-destination\" name=\"destination\">{destinations}</select>\
         <label for=\"log-status\">Status</label><select id=\"log-status\" name=\"status\">{statuses}</select>\
         <button type=\"submit\" id=\"download-log\">Download</button></form></section>"
    )
}

/// A link to one destination's log.
pub fn link(destination: &str) -> String {
    format!(
        "<a href=\"/admin/attempts?destination={}\" download id=\"download-log\">Download its delivery log</a> \
         (NDJSON, every recorded attempt)",
        url_escape(destination)
    )
}
