//! The generated bindings of the `weir:filter` world, and the glue that exports a
//! [`Filter`] through them. Nothing else in the SDK touches the generated code but
//! the host calls of [`crate::Event`], [`crate::state`] and [`crate::log`].

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;

use crate::{Error, Filter};

#[allow(missing_docs, unsafe_code, rust_2018_idioms, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "filter",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "weir_plugin_sdk::__private::bindings",
    });
}

use bindings::weir::filter::types as wit;

thread_local! {
    /// The instance's filter, built by `init`. A component instance is single-threaded,
    /// so a thread-local is the instance's state.
    static FILTER: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Implements the world's exports for a [`Filter`] type.
pub struct Export<F>(PhantomData<F>);

fn wit_error(error: Error) -> wit::FilterError {
    wit::FilterError {
        retryable: error.is_retryable(),
        message: error.message().to_string(),
    }
}

impl<F: Filter> bindings::Guest for Export<F> {
    fn init(config: String) -> Result<(), wit::FilterError> {
        let filter = build::<F>(&config).map_err(wit_error)?;
        FILTER.with(|slot| *slot.borrow_mut() = Some(Box::new(filter)));
        Ok(())
    }

    fn filter(event: &wit::Event) -> Result<wit::Verdict, wit::FilterError> {
        FILTER.with(|slot| {
            let mut slot = slot.borrow_mut();
            let filter = slot
                .as_mut()
                .and_then(|filter| filter.downcast_mut::<F>())
                .ok_or_else(|| wit_error(Error::msg("filter called before init")))?;
            let verdict = filter.filter(&mut crate::Event::host(event)).map_err(wit_error)?;
            Ok(match verdict {
                crate::Verdict::Keep => wit::Verdict::Keep,
                crate::Verdict::Drop(reason) => wit::Verdict::Drop(reason),
            })
        })
    }
}

/// Parses a filter's JSON config and builds the filter.
pub(crate) fn build<F: Filter>(config: &str) -> Result<F, Error> {
    let config = if config.trim().is_empty() { "{}" } else { config };
    let config: F::Config =
        serde_json::from_str(config).map_err(|error| Error::msg(format!("invalid config: {error}")))?;
    F::new(config)
}
