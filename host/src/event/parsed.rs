//! An event with its predictions parsed, kept for the length of one filter call.
//!
//! A class filter asks for the prediction list (`event.prediction-list`) and answers
//! with the indices to keep (`changes.keep-predictions`): both need the parsed
//! document. Parsing is most of the host's work for such a filter, so the document
//! parsed for the list is handed on to [`Event::apply`] instead of being parsed again.

use std::sync::Arc;

use weir_plugin_sdk::predictions::Document;

use super::Event;

/// `None` when the predictions are of no shape Weir reads (they are still valid JSON).
type MaybeDocument<'a> = Option<Document<'a>>;

self_cell::self_cell!(
    /// An event and its parsed predictions, the document borrowing the event's text.
    pub struct ParsedEvent {
        owner: Arc<Event>,
        #[covariant]
        dependent: MaybeDocument,
    }
);

impl ParsedEvent {
    /// Parses `event`'s predictions.
    pub fn parse(event: Arc<Event>) -> Self {
        ParsedEvent::new(event, |event| Document::parse(&event.predictions).ok())
    }

    /// The event.
    pub fn event(&self) -> &Arc<Event> {
        self.borrow_owner()
    }

    /// The parsed document, when the predictions parse.
    pub fn document(&self) -> Option<&Document<'_>> {
        self.borrow_dependent().as_ref()
    }
}
