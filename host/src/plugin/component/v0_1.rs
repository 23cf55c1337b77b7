//! Contract 0.1 as the host still serves it: reads of the lent event and the log. A 0.1
//! filter returns its changes in the verdict ([`weir_contract::v01::Changes`]); they
//! are applied after the call, as 0.2 edits, by the same code.

use wasmtime::component::Resource;
use weir_contract::v01;

use super::bindings::v0_1::weir::filter::{host, types};
use super::guest::{GuestState, Lent};
use crate::event::Task;
use crate::plugin::sandbox::LogLevel;

impl types::Host for GuestState {}

impl types::HostEvent for GuestState {
    fn id(&mut self, handle: Resource<Lent>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.id.clone())
    }

    fn route(&mut self, handle: Resource<Lent>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.route.clone())
    }

    fn task(&mut self, handle: Resource<Lent>) -> wasmtime::Result<types::TaskKind> {
        let task = v01::task_kind(&self.event(&handle)?.task);
        Ok(match task {
            t if t == Task::OBJECT_DETECTION => types::TaskKind::ObjectDetection,
            t if t == Task::CLASSIFICATION => types::TaskKind::Classification,
            t if t == Task::MULTILABEL_CLASSIFICATION => types::TaskKind::MultilabelClassification,
            t if t == Task::INSTANCE_SEGMENTATION => types::TaskKind::InstanceSegmentation,
            t if t == Task::SEMANTIC_SEGMENTATION => types::TaskKind::SemanticSegmentation,
            _ => types::TaskKind::Other,
        })
    }

    fn metadata(&mut self, handle: Resource<Lent>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.event(&handle)?.metadata.clone())
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
                class: p.class.to_string(),
                confidence: p.confidence,
                mask: p.mask.map(str::to_string),
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

/// The 0.1 changes record of a `modify` verdict, in the contract's terms.
pub(crate) fn changes(changes: types::Changes) -> v01::Changes {
    v01::Changes {
        predictions: changes.predictions,
        keep_predictions: changes.keep_predictions,
        remove_attachments: changes.remove_attachments,
        set_metadata: changes.set_metadata,
        remove_metadata: changes.remove_metadata,
        destinations: changes.destinations,
    }
}
