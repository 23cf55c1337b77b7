//! Turns predictions into a compact message, such as
//! `{"text": "dock-3: 2 person (0.97, 0.91)"}` for a chat bot. See the README.

use serde::Deserialize;
use serde_json::{Map, Value};
use weir_plugin_sdk::predictions::{Document, Prediction};
use weir_plugin_sdk::{Error, Event, Filter, Verdict};

/// The filter's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The message template; see the README for its placeholders.
    #[serde(default = "default_template")]
    pub template: String,
    /// The key of the message in the output document (default `text`).
    #[serde(default = "default_field")]
    pub field: String,
    /// Top-level fields of the predictions copied into the output as they are.
    #[serde(default)]
    pub include: Vec<String>,
    /// Predictions below this confidence are left out of the summary (default 0).
    #[serde(default)]
    pub min_confidence: f64,
}

fn default_template() -> String {
    "{camera}: {summary}".into()
}

fn default_field() -> String {
    "text".into()
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Placeholder(String),
}

/// The reshaper.
#[derive(Debug)]
pub struct Reshape {
    config: Config,
    template: Vec<Piece>,
}

/// What a template may refer to, besides the predictions' own fields.
pub struct Context<'a> {
    /// The event id.
    pub id: &'a str,
    /// The route name.
    pub route: &'a str,
    /// The task, as its kebab-case name.
    pub task: &'a str,
    /// The event's metadata.
    pub metadata: &'a [(String, String)],
}

impl Reshape {
    /// The output document for one predictions document.
    pub fn reshape(&self, predictions: &str, context: &Context<'_>) -> Result<String, Error> {
        let doc = Document::parse(predictions)?;
        let items: Vec<Prediction<'_>> = doc
            .items()
            .into_iter()
            .filter(|p| p.confidence.is_none_or(|c| c >= self.config.min_confidence))
            .collect();
        let mut message = String::new();
        for piece in &self.template {
            match piece {
                Piece::Text(text) => message.push_str(text),
                Piece::Placeholder(name) => message.push_str(&resolve(name, &doc, &items, context)),
            }
        }
        let mut out = Map::new();
        out.insert(self.config.field.clone(), Value::String(message));
        for field in &self.config.include {
            if let Some(raw) = doc.raw_field(field) {
                out.insert(field.clone(), serde_json::from_str(raw)?);
            }
        }
        Ok(Value::Object(out).to_string())
    }
}

fn resolve(name: &str, doc: &Document<'_>, items: &[Prediction<'_>], context: &Context<'_>) -> String {
    match name {
        "summary" => summary(items),
        "count" => items.len().to_string(),
        "classes" => classes(items).join(", "),
        "id" => context.id.to_string(),
        "route" => context.route.to_string(),
        "task" => context.task.to_string(),
        _ => doc
            .field(name)
            .or_else(|| context.metadata.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .unwrap_or_default(),
    }
}

fn classes<'a>(items: &[Prediction<'a>]) -> Vec<&'a str> {
    let mut classes: Vec<&str> = Vec::new();
    for item in items {
        if !classes.contains(&item.class) {
            classes.push(item.class);
        }
    }
    classes
}

/// `2 person (0.97, 0.91), 1 car (0.88)`, classes in order of first appearance.
fn summary(items: &[Prediction<'_>]) -> String {
    if items.is_empty() {
        return "nothing".into();
    }
    let parts: Vec<String> = classes(items)
        .into_iter()
        .map(|class| {
            let of_class: Vec<_> = items.iter().filter(|p| p.class == class).collect();
            let confidences: Vec<String> = of_class
                .iter()
                .filter_map(|p| p.confidence)
                .map(|c| format!("{c:.2}"))
                .collect();
            if confidences.is_empty() {
                format!("{} {class}", of_class.len())
            } else {
                format!("{} {class} ({})", of_class.len(), confidences.join(", "))
            }
        })
        .collect();
    parts.join(", ")
}

/// Splits a template into text and `{placeholder}`s; `{{` and `}}` are literal braces.
fn parse_template(template: &str) -> Result<Vec<Piece>, Error> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                if name.is_empty() || name.contains('{') {
                    return Err(Error::msg(format!(
                        "template {template:?} has an empty or unclosed placeholder; write {{{{ for a literal brace"
                    )));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Placeholder(name));
            }
            '}' => {
                return Err(Error::msg(format!(
                    "template {template:?} has an unmatched }}; write }}}} for a literal brace"
                )));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

impl Filter for Reshape {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        let template = parse_template(&config.template)?;
        if config.field.is_empty() {
            return Err(Error::msg("field must not be empty"));
        }
        Ok(Reshape { config, template })
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        let metadata = event.metadata();
        let (id, route, task) = (event.id(), event.route(), event.task());
        let context = Context {
            id: &id,
            route: &route,
            task: task.as_str(),
            metadata: &metadata,
        };
        let output = self.reshape(&event.predictions(), &context)?;
        event.set_predictions(output)?;
        Ok(Verdict::Keep)
    }
}

weir_plugin_sdk::export_filter!(Reshape);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{TestEvent, run};

    fn output(config: &str, event: &TestEvent) -> String {
        let out = run::<Reshape>(config, event).unwrap().kept().expect("kept");
        out.predictions.to_string()
    }

    #[test]
    fn summarises_by_class_with_confidences() {
        let event = TestEvent::new(
            r#"{"camera":"camera-1","predictions":[{"class":"person","confidence":0.97},{"class":"person","confidence":0.91}]}"#,
        );
        assert_eq!(output("{}", &event), r#"{"text":"camera-1: 2 person (0.97, 0.91)"}"#);
    }

    #[test]
    fn fills_placeholders_from_metadata_and_context_and_escapes_braces() {
        let event = TestEvent::new(r#"[{"class":"road"}]"#)
            .with_id("e1")
            .with_metadata("site", "north");
        let config = r#"{"template":"{{{site}}} {id} {count} {summary} [{missing}]","field":"msg"}"#;
        assert_eq!(output(config, &event), r#"{"msg":"{north} e1 1 1 road []"}"#);
    }

    #[test]
    fn refuses_broken_templates() {
        for template in ["{", "a}", "{}"] {
            let config = serde_json::json!({ "template": template }).to_string();
            assert!(run::<Reshape>(&config, &TestEvent::new("[]")).is_err(), "{template}");
        }
    }
}
