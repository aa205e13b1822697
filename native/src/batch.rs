//! A batch of consumed Kafka messages through the core in one call: the processor's hot loop.
//!
//! Per message, Python would otherwise read six attributes, build the lineage headers and
//! count the outcome into the transaction's facts; here that happens in Rust, and Python gets
//! the output records ready for `Producer.produce` and one tally per batch. Whatever the core
//! does not take (a consumer error, a header that Python reads — a schema id, Debezium's key
//! headers —, an oversized value, an event the engine defers) ends the batch there: Python
//! handles that message and calls again. Other input headers are not copied to the outputs.

use hashbrown::HashMap;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::engine::Outcome;

/// One consumed message, read through its Python accessors.
pub struct Input<'py> {
    topic: Bound<'py, PyString>,
    key: Option<Bound<'py, PyBytes>>,
    value: Option<Bound<'py, PyBytes>>,
    partition: i64,
    offset: i64,
}

/// `None` (or a non-bytes object) → `None`; bytes → `Some`; anything else: not for the core.
fn bytes_of<'py>(obj: Bound<'py, PyAny>) -> Result<Option<Bound<'py, PyBytes>>, ()> {
    if obj.is_none() {
        return Ok(None);
    }
    obj.downcast_into::<PyBytes>().map(Some).map_err(|_| ())
}

impl<'py> Input<'py> {
    /// The message, or None when the core leaves it to Python.
    pub fn read(
        msg: &Bound<'py, PyAny>,
        max_bytes: usize,
        python_headers: &[String],
    ) -> PyResult<Option<Self>> {
        let py = msg.py();
        if !msg.call_method0(intern!(py, "error"))?.is_none()
            || for_python(&msg.call_method0(intern!(py, "headers"))?, python_headers)
        {
            return Ok(None); // errors, schema ids and Debezium's key headers: Python's path
        }
        let Ok(value) = bytes_of(msg.call_method0(intern!(py, "value"))?) else {
            return Ok(None);
        };
        if value
            .as_ref()
            .is_some_and(|v| v.as_bytes().len() > max_bytes)
        {
            return Ok(None); // the dead letter is Python's to write
        }
        let Ok(key) = bytes_of(msg.call_method0(intern!(py, "key"))?) else {
            return Ok(None);
        };
        let Ok(topic) = msg
            .call_method0(intern!(py, "topic"))?
            .downcast_into::<PyString>()
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            topic,
            key,
            value,
            partition: msg.call_method0(intern!(py, "partition"))?.extract()?,
            offset: msg.call_method0(intern!(py, "offset"))?.extract()?,
        }))
    }

    pub fn topic(&self) -> PyResult<&str> {
        self.topic.to_str()
    }

    pub fn partition(&self) -> i64 {
        self.partition
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn key(&self) -> Option<&[u8]> {
        self.key.as_ref().map(|k| k.as_bytes())
    }

    pub fn value(&self) -> Option<&[u8]> {
        self.value.as_ref().map(|v| v.as_bytes())
    }
}

/// Whether a message's headers (None or a list of (name, value)) hold one that Python reads.
fn for_python(headers: &Bound<'_, PyAny>, python_headers: &[String]) -> bool {
    if headers.is_none() {
        return false;
    }
    let Ok(list) = headers.downcast::<PyList>() else {
        return true;
    };
    list.iter().any(|header| {
        let name = header
            .downcast::<PyTuple>()
            .ok()
            .and_then(|pair| pair.get_item(0).ok())
            .and_then(|name| name.extract::<String>().ok());
        name.is_none_or(|name| python_headers.contains(&name))
    })
}

/// The policy headers (shared) and the lineage headers (per input record) of every output.
pub struct Headers {
    policy: Vec<PyObject>,
    names: [Py<PyString>; 3],
    topics: HashMap<String, PyObject>,
    partitions: HashMap<i64, PyObject>,
}

impl Headers {
    pub fn new(policy: Vec<PyObject>, names: [Py<PyString>; 3]) -> Self {
        Self {
            policy,
            names,
            topics: HashMap::new(),
            partitions: HashMap::new(),
        }
    }

    /// The header list of an input's outputs: the policy, then source topic, partition, offset
    /// (as `processor.pipeline.records.Lineage.headers` has them).
    pub fn for_input(&mut self, py: Python<'_>, input: &Input<'_>) -> PyResult<Py<PyList>> {
        let [topic_name, partition_name, offset_name] = &self.names;
        let topic = input.topic()?;
        let topic_header = match self.topics.get(topic) {
            Some(header) => header.clone_ref(py),
            None => {
                let header = header(py, topic_name, topic.as_bytes())?;
                self.topics.insert(topic.to_owned(), header.clone_ref(py));
                header
            }
        };
        let partition_header = match self.partitions.get(&input.partition) {
            Some(header) => header.clone_ref(py),
            None => {
                let text = input.partition.to_string();
                let header = header(py, partition_name, text.as_bytes())?;
                self.partitions
                    .insert(input.partition, header.clone_ref(py));
                header
            }
        };
        let offset = header(py, offset_name, input.offset.to_string().as_bytes())?;
        let mut items: Vec<PyObject> = self.policy.iter().map(|h| h.clone_ref(py)).collect();
        items.extend([topic_header, partition_header, offset]);
        Ok(PyList::new(py, items)?.unbind())
    }
}

fn header(py: Python<'_>, name: &Py<PyString>, value: &[u8]) -> PyResult<PyObject> {
    let pair = (name.clone_ref(py), PyBytes::new(py, value));
    Ok(pair.into_pyobject(py)?.into_any().unbind())
}

/// What one source topic's inputs in a batch did.
struct TopicTally {
    name: String,
    topic: Py<PyString>,
    views: Vec<Py<PyString>>,
    /// by op, or by skip reason for an event without op (a tombstone)
    ops: Vec<(String, u64)>,
    skipped: Vec<(&'static str, u64)>,
    unknown: u64,
    /// the unknown columns' names, each once (the first 32: the processor logs them once)
    unknown_names: Vec<String>,
    /// events masked (not skipped)
    masked: u64,
    /// output records by view
    published: Vec<u64>,
    /// (partition, inputs, first offset, last offset)
    partitions: Vec<(i64, u64, i64, i64)>,
}

fn bump<K: PartialEq>(counts: &mut Vec<(K, u64)>, key: K) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}

/// What a batch must add to the transaction's facts, see `Segment` in `native.py`.
#[derive(Default)]
pub struct Tally {
    topics: Vec<TopicTally>,
    /// (source topic, masked key JSON or None) of each delete
    deletes: Vec<PyObject>,
    source_ts_ms: Vec<i64>,
    /// (source topic, partition, offset, op, unmasked row JSON, is_after) for the detectors
    detected: Vec<PyObject>,
    /// the KPI facts, in input order
    facts: Vec<PyObject>,
    /// (by-actor partition, item, source partition, offset, event time or None) of the
    /// anomaly detectors' items, in input order
    items: Vec<PyObject>,
}

impl Tally {
    pub fn add(
        &mut self,
        py: Python<'_>,
        input: &Input<'_>,
        outcome: &Outcome,
        views: &[Py<PyString>],
    ) -> PyResult<()> {
        let name = input.topic()?;
        let at = match self.topics.iter().position(|t| t.name == name) {
            Some(at) => at,
            None => {
                self.topics.push(TopicTally {
                    name: name.to_owned(),
                    topic: input.topic.clone().unbind(),
                    views: views.iter().map(|v| v.clone_ref(py)).collect(),
                    ops: Vec::new(),
                    skipped: Vec::new(),
                    unknown: 0,
                    unknown_names: Vec::new(),
                    masked: 0,
                    published: vec![0; views.len()],
                    partitions: Vec::new(),
                });
                self.topics.len() - 1
            }
        };
        let tally = &mut self.topics[at];
        let op = outcome.op.as_deref().or(outcome.skipped).unwrap_or("?");
        match tally.ops.iter_mut().find(|(k, _)| k == op) {
            Some((_, n)) => *n += 1,
            None => tally.ops.push((op.to_owned(), 1)),
        }
        match outcome.skipped {
            Some(reason) => bump(&mut tally.skipped, reason),
            None => tally.masked += 1,
        }
        tally.unknown += outcome.unknown.len() as u64;
        for name in &outcome.unknown {
            if tally.unknown_names.len() < 32 && !tally.unknown_names.contains(name) {
                tally.unknown_names.push(name.clone());
            }
        }
        for (view, _, _) in &outcome.records {
            tally.published[*view] += 1;
        }
        let (partition, offset) = (input.partition, input.offset);
        match tally.partitions.iter_mut().find(|p| p.0 == partition) {
            Some(span) => {
                span.1 += 1;
                span.3 = offset;
            }
            None => tally.partitions.push((partition, 1, offset, offset)),
        }
        if let Some(ts) = outcome.source_ts_ms {
            self.source_ts_ms.push(ts);
        }
        if outcome.op.as_deref() == Some("d") {
            if let Some((_, key, _)) = outcome.records.first() {
                let key = key.as_ref().map(|k| PyBytes::new(py, k));
                let delete = (input.topic.clone(), key).into_pyobject(py)?;
                self.deletes.push(delete.into_any().unbind());
            }
        }
        if let Some((row, is_after)) = &outcome.row {
            let detected = (
                input.topic.clone(),
                partition,
                offset,
                outcome.op.as_deref(),
                PyBytes::new(py, row),
                *is_after,
            );
            self.detected
                .push(detected.into_pyobject(py)?.into_any().unbind());
        }
        for fact in &outcome.facts {
            self.facts.push(PyBytes::new(py, fact).into_any().unbind());
        }
        if let Some(item) = &outcome.item {
            let entry = (
                item.partition,
                PyBytes::new(py, &item.value),
                partition,
                offset,
                item.ts_ms,
            );
            self.items
                .push(entry.into_pyobject(py)?.into_any().unbind());
        }
        Ok(())
    }

    /// `(topics, deletes, source_ts_ms, detected, facts, items)`; each of `topics` is
    /// `(topic, {op: n}, {skip reason: n}, unknown columns, masked events, {view topic: n},
    /// [(partition, inputs, first offset, last offset)], [unknown column names])`.
    pub fn into_py(self, py: Python<'_>) -> PyResult<PyObject> {
        let mut topics = Vec::with_capacity(self.topics.len());
        for t in self.topics {
            let ops = PyDict::new(py);
            for (op, n) in &t.ops {
                ops.set_item(op, n)?;
            }
            let skipped = PyDict::new(py);
            for (reason, n) in &t.skipped {
                skipped.set_item(reason, n)?;
            }
            let published = PyDict::new(py);
            for (view, n) in t.views.iter().zip(&t.published) {
                if *n > 0 {
                    published.set_item(view, n)?;
                }
            }
            let entry = (
                t.topic,
                ops,
                skipped,
                t.unknown,
                t.masked,
                published,
                t.partitions,
                t.unknown_names,
            );
            topics.push(entry.into_pyobject(py)?.into_any().unbind());
        }
        let result = (
            PyList::new(py, topics)?,
            PyList::new(py, self.deletes)?,
            self.source_ts_ms,
            PyList::new(py, self.detected)?,
            PyList::new(py, self.facts)?,
            PyList::new(py, self.items)?,
        );
        Ok(result.into_pyobject(py)?.into_any().unbind())
    }
}
