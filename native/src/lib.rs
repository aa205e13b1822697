//! crm-masker's native core: the JSON hot path of the masking engine, as a Python extension.
//!
//! Python compiles the rules and hands over a description of every plan (`spec`) with the
//! Python action of each step; this core masks JSON events with it and answers `None` for any
//! event it leaves to the Python engine. Secrets arrive inside `spec` and are never echoed.

mod actions;
mod batch;
mod by_actor;
mod civil;
mod engine;
mod envelope;
mod json;
mod names;
mod plan;
mod pyjson;
mod seal;
mod spec;
mod views;

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

/// The masking engine's JSON path; see `processor/masking/native.py`.
#[pyclass(module = "crm_masker_native")]
struct NativeEngine {
    engine: engine::Engine,
    /// the output topics of each source topic's views, as Python strings made once
    topics: HashMap<String, Vec<Py<PyString>>>,
    /// the headers of every output record, for `process_batch`
    headers: Option<batch::Headers>,
    /// input headers that leave a message to Python (schema ids, Debezium's key headers);
    /// others are not copied to the outputs, so they do not matter
    python_headers: Vec<String>,
    /// the partitions of each source topic, which a KPI fact names (1 until told)
    source_partitions: HashMap<String, i64>,
    /// the partitions of the by-actor topic (1 until told)
    by_actor_partitions: i64,
}

#[pymethods]
impl NativeEngine {
    #[new]
    #[pyo3(signature = (spec, callbacks, helpers = Vec::new()))]
    fn new(
        py: Python<'_>,
        spec: &str,
        callbacks: Vec<PyObject>,
        helpers: Vec<PyObject>,
    ) -> PyResult<Self> {
        // the position only: the spec holds pseudonym keys, an excerpt could show one
        let spec: spec::EngineSpec = serde_json::from_str(spec).map_err(|e| {
            PyValueError::new_err(format!(
                "invalid engine spec at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        let topics = spec
            .routes
            .iter()
            .map(|route| {
                let views = route
                    .views
                    .iter()
                    .map(|v| PyString::new(py, &v.topic).unbind());
                (route.topic.clone(), views.collect())
            })
            .collect();
        let python_headers = spec.python_headers.clone();
        let engine =
            engine::Engine::new(spec, callbacks, helpers).map_err(PyValueError::new_err)?;
        Ok(Self {
            engine,
            topics,
            headers: None,
            python_headers,
            source_partitions: HashMap::new(),
            by_actor_partitions: 1,
        })
    }

    /// The headers that `process_batch` puts on every output record: `policy` (a list of
    /// (name, value) tuples, shared) and the lineage headers' three names (source topic,
    /// partition, offset), whose values it fills per input record; and the names of the
    /// input headers that leave a message to Python (`python_headers`; by default the spec's).
    #[pyo3(signature = (policy, lineage, python_headers = None))]
    fn set_headers(
        &mut self,
        policy: Vec<PyObject>,
        lineage: [Py<PyString>; 3],
        python_headers: Option<Vec<String>>,
    ) {
        self.headers = Some(batch::Headers::new(policy, lineage));
        if let Some(names) = python_headers {
            self.python_headers = names;
        }
    }

    /// The partition count of each source topic (a KPI fact and an access event name their
    /// source's) and of the by-actor topic, as the processor reads them from the cluster's
    /// metadata.
    #[pyo3(signature = (sources, by_actor = 1))]
    fn set_partitions(&mut self, sources: HashMap<String, i64>, by_actor: i64) {
        self.source_partitions = sources;
        self.by_actor_partitions = by_actor;
    }

    /// Masks the consumed `messages[start:stop]` in order, up to the first that it leaves to
    /// Python (an error, one of `python_headers`, a value over `max_bytes`, an event the core
    /// defers, an output record whose key and value are over `max_record_bytes`: Kafka would
    /// refuse it).
    /// Returns `(end, records, tally, watched)`: the index of that message (or `stop`), the
    /// output records as (topic, key, value, headers) in order, what the transaction must
    /// count (see `processor/masking/native.py`, `Segment`), and for each message of `watch`
    /// (indexes, for the leak watch) that it masked: (source topic, [(topic, key, value)]).
    #[pyo3(signature = (
        messages, start, stop, max_bytes, watch = Vec::new(), max_record_bytes = usize::MAX
    ))]
    #[allow(clippy::too_many_arguments)]
    fn process_batch(
        &mut self,
        py: Python<'_>,
        messages: &Bound<'_, PyList>,
        start: usize,
        stop: usize,
        max_bytes: usize,
        watch: Vec<usize>,
        max_record_bytes: usize,
    ) -> PyResult<PyObject> {
        let headers = self
            .headers
            .as_mut()
            .ok_or_else(|| PyValueError::new_err("set_headers first"))?;
        let mut tally = batch::Tally::default();
        let mut records = Vec::new();
        let mut watched = Vec::new();
        let stop = stop.min(messages.len());
        let mut end = start;
        while end < stop {
            let msg = messages.get_item(end)?;
            let Some(input) = batch::Input::read(&msg, max_bytes, &self.python_headers)? else {
                break;
            };
            let engine = &mut self.engine;
            let (topic, key, value) = (input.topic()?, input.key(), input.value());
            let source = engine::Batch {
                partition: input.partition(),
                offset: input.offset(),
                partitions: self.source_partitions.get(topic).copied().unwrap_or(1),
                by_actor: self.by_actor_partitions,
            };
            let processed = panic::catch_unwind(AssertUnwindSafe(|| {
                engine.process(py, topic, key, value, Some(source))
            }));
            let Ok(Ok(outcome)) = processed else {
                break;
            };
            let size = |part: &Option<Vec<u8>>| part.as_ref().map_or(0, Vec::len);
            if outcome
                .records
                .iter()
                .any(|(_, key, value)| size(key) + size(value) > max_record_bytes)
            {
                break; // the dead letter is Python's to write
            }
            let lineage = headers.for_input(py, &input)?;
            let topics = &self.topics[topic];
            let encoded = encoded_records(py, topics, &outcome);
            if watch.contains(&end) {
                let copy: Vec<_> = encoded.to_vec();
                watched.push((topic, copy).into_pyobject(py)?.into_any().unbind());
            }
            for (view_topic, k, v) in encoded {
                let record = (view_topic, k, v, lineage.clone_ref(py));
                records.push(record.into_pyobject(py)?.into_any().unbind());
            }
            tally.add(py, &input, &outcome, topics)?;
            end += 1;
        }
        let records = PyList::new(py, records)?;
        let watched = PyList::new(py, watched)?;
        Ok((end, records, tally.into_py(py)?, watched)
            .into_pyobject(py)?
            .into_any()
            .unbind())
    }

    /// The known names of these consumed messages of name tables, learnt without masking
    /// (the restore at start); the indexes of the messages left to Python, in order.
    fn learn_names(
        &mut self,
        py: Python<'_>,
        messages: &Bound<'_, PyList>,
        max_bytes: usize,
    ) -> PyResult<Vec<usize>> {
        let mut left = Vec::new();
        for (index, msg) in messages.iter().enumerate() {
            let Some(input) = batch::Input::read(&msg, max_bytes, &self.python_headers)? else {
                left.push(index);
                continue;
            };
            let engine = &mut self.engine;
            let (topic, key, value) = (input.topic()?, input.key(), input.value());
            // a bug here must not stop the start: the message goes to Python
            let learnt = panic::catch_unwind(AssertUnwindSafe(|| {
                engine.learn_names(py, topic, key, value)
            }));
            if !matches!(learnt, Ok(Ok(()))) {
                left.push(index);
            }
        }
        Ok(left)
    }

    /// (op, skipped, source ts_ms, unknown columns, [(view topic, key, value)], row) of one
    /// event, or None: run the Python engine on it. `row`: (the unmasked row image's JSON,
    /// whether it is the after image) for a detected route, else None.
    #[pyo3(signature = (topic, key, value))]
    fn process(
        &mut self,
        py: Python<'_>,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> PyResult<PyObject> {
        // a bug here must not stop the processor: the event goes to the Python engine
        let engine = &mut self.engine;
        let processed = panic::catch_unwind(AssertUnwindSafe(|| {
            engine.process(py, topic, key, value, None)
        }));
        let Ok(Ok(outcome)) = processed else {
            return Ok(py.None());
        };
        let records = encoded_records(py, &self.topics[topic], &outcome);
        let row = outcome
            .row
            .as_ref()
            .map(|(image, is_after)| (PyBytes::new(py, image), *is_after));
        let result = (
            outcome.op,
            outcome.skipped,
            outcome.source_ts_ms,
            outcome.unknown,
            records,
            row,
        );
        Ok(result.into_pyobject(py)?.into_any().unbind())
    }
}

/// an output record as Python sees it: view topic, key, value (None: a tombstone)
type PyRecord<'py> = (
    Bound<'py, PyString>,
    Option<Bound<'py, PyBytes>>,
    Option<Bound<'py, PyBytes>>,
);

/// An outcome's records as Python objects, with the topics of the route's views.
fn encoded_records<'py>(
    py: Python<'py>,
    topics: &[Py<PyString>],
    outcome: &engine::Outcome,
) -> Vec<PyRecord<'py>> {
    outcome
        .records
        .iter()
        .map(|(view, k, v)| {
            (
                topics[*view].bind(py).clone(),
                k.as_ref().map(|k| PyBytes::new(py, k)),
                v.as_ref().map(|v| PyBytes::new(py, v)),
            )
        })
        .collect()
}

#[pymodule]
fn crm_masker_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // a panic message can quote the text it failed on: a record's values stay out of stderr
    // (this hook is this extension's own: its standard library is linked into it)
    panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()));
        eprintln!(
            "crm_masker_native: internal error{}; the event goes to the Python engine",
            at.unwrap_or_default()
        );
    }));
    m.add_class::<NativeEngine>()?;
    m.add_class::<names::NameSet>()?;
    Ok(())
}

/// mimalloc for this extension's own allocations (many small, short-lived buffers per event):
/// about 6 % more events/s than the system allocator in `make bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
