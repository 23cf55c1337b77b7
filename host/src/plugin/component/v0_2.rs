//! Contract 0.2 as the host serves it: reads of the lent event, edits applied at the
//! call (refused with a typed refusal), the log and the state store.

use wasmtime::component::Resource;
use weir_contract::Edit;

use super::bindings::v0_2::weir::filter::{host, state, types};
use super::guest::{GuestState, Lent};
use crate::plugin::sandbox::LogLevel;
use crate::plugin::state::now_ms;

fn refusal(kind: &str, message: String) -> types::Refusal {
    types::Refusal {
        kind: kind.to_string(),
        message,
    }
}

impl GuestState {
    fn edit(&mut self, handle: &Resource<Lent>, edit: Edit) -> wasmtime::Result<Result<(), types::Refusal>> {
        Ok(self
            .lent(handle)?
            .apply(edit)
            .map_err(|error| refusal(error.kind(), error.to_string())))
    }
}

impl types::Host for GuestState {}

impl types::HostEvent for GuestState {
    fn id(&mut self, handle: Resource<Lent>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.id.clone())
    }

    fn route(&mut self, handle: Resource<Lent>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.route.clone())
    }

    fn task(&mut self, handle: Resource<Lent>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.task.as_str().to_string())
    }

    fn metadata(&mut self, handle: Resource<Lent>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.event(&handle)?.metadata.clone())
    }

    fn metadata_value(&mut self, handle: Resource<Lent>, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.event(&handle)?.metadata_value(&key).map(str::to_string))
    }

    fn predictions(&mut self, handle: Resource<Lent>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.predictions.to_string())
    }

    fn prediction_list(&mut self, handle: Resource<Lent>) -> wasmtime::Result<Vec<types::Prediction>> {
        let event = self.event(&handle)?;
        let Some(doc) = event.predictions.document() else {
            return Ok(Vec::new());
        };
        Ok(doc
            .listed()
            .iter()
            .map(|p| types::Prediction {
                index: p.index,
                class: p.class.to_string(),
                confidence: p.confidence,
                mask: p.mask.map(str::to_string),
                bbox: p.bbox.map(|b| types::Bbox {
                    x: b.x,
                    y: b.y,
                    width: b.width,
                    height: b.height,
                }),
                json: p.json.to_string(),
            })
            .collect())
    }

    fn attachments(&mut self, handle: Resource<Lent>) -> wasmtime::Result<Vec<types::Attachment>> {
        Ok(self
            .event(&handle)?
            .attachments
            .iter()
            .map(|a| types::Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.data.len() as u64,
            })
            .collect())
    }

    fn attachment_bytes(&mut self, handle: Resource<Lent>, name: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.event(&handle)?.attachment(&name).map(|a| a.data.to_vec()))
    }

    fn destinations(&mut self, handle: Resource<Lent>) -> wasmtime::Result<Vec<String>> {
        Ok(self
            .event(&handle)?
            .destinations
            .iter()
            .map(|d| d.to_string())
            .collect())
    }

    fn keep_predictions(
        &mut self,
        handle: Resource<Lent>,
        indices: Vec<u32>,
    ) -> wasmtime::Result<Result<(), types::Refusal>> {
        self.edit(&handle, Edit::KeepPredictions(indices))
    }

    fn set_predictions(
        &mut self,
        handle: Resource<Lent>,
        json: String,
    ) -> wasmtime::Result<Result<(), types::Refusal>> {
        self.edit(&handle, Edit::SetPredictions(json))
    }

    fn remove_attachment(
        &mut self,
        handle: Resource<Lent>,
        name: String,
    ) -> wasmtime::Result<Result<(), types::Refusal>> {
        self.edit(&handle, Edit::RemoveAttachment(name))
    }

    fn set_metadata(
        &mut self,
        handle: Resource<Lent>,
        key: String,
        value: String,
    ) -> wasmtime::Result<Result<(), types::Refusal>> {
        self.edit(&handle, Edit::SetMetadata(key, value))
    }

    fn remove_metadata(&mut self, handle: Resource<Lent>, key: String) -> wasmtime::Result<Result<(), types::Refusal>> {
        self.edit(&handle, Edit::RemoveMetadata(key))
    }

    fn narrow_destinations(
        &mut self,
        handle: Resource<Lent>,
        names: Vec<String>,
    ) -> wasmtime::Result<Result<(), types::Refusal>> {
        self.edit(&handle, Edit::NarrowDestinations(names))
    }

    fn drop(&mut self, handle: Resource<Lent>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl host::Host for GuestState {
    fn log(&mut self, level: host::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            host::Level::Trace => LogLevel::Trace,
            host::Level::Debug => LogLevel::Debug,
            host::Level::Info => LogLevel::Info,
            host::Level::Warn => LogLevel::Warn,
            host::Level::Error => LogLevel::Error,
        };
        self.sandbox.log(level, &message);
        Ok(())
    }
}

impl state::Host for GuestState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.state.with(|store| store.get(&key, now_ms())))
    }

    fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> wasmtime::Result<Result<(), types::Refusal>> {
        Ok(self
            .state
            .with(|store| store.set(&key, value, ttl_ms, now_ms()))
            .map_err(|error| refusal(error.kind(), error.to_string())))
    }

    fn compare_and_set(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        ttl_ms: Option<u64>,
    ) -> wasmtime::Result<Result<bool, types::Refusal>> {
        Ok(self
            .state
            .with(|store| store.compare_and_set(&key, expected.as_deref(), value, ttl_ms, now_ms()))
            .map_err(|error| refusal(error.kind(), error.to_string())))
    }

    fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_ms: Option<u64>,
    ) -> wasmtime::Result<Result<i64, types::Refusal>> {
        Ok(self
            .state
            .with(|store| store.increment(&key, delta, ttl_ms, now_ms()))
            .map_err(|error| refusal(error.kind(), error.to_string())))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<bool> {
        Ok(self.state.with(|store| store.delete(&key, now_ms())))
    }
}
