//! One change event in, its masked outputs out: the JSON hot path of `MaskingEngine.process`.
//!
//! Members are read unparsed (`json::Obj`); a kept value is copied as it came, only the values
//! that an action changes are parsed. Anything this path is not sure to treat exactly like the
//! Python engine — bytes that are not JSON, an envelope without its images, a key that is not
//! an object, a duplicate column, a value that an action hands to Python and Python refuses —
//! ends in `Defer`: the caller then runs the Python engine on the same event, which produces
//! the outputs or names the dead-letter reason.

use hashbrown::HashMap;

use pyo3::prelude::*;

use crate::actions;
use crate::by_actor::{Item, ItemSpec, Origin, Plain};
use crate::envelope::{read_key, reduced, utf8, Event, Fields};
use crate::json::{self, Obj};
use crate::names::NameSet;
use crate::plan::{slotted, unknown, Columns, Masked, Plan, Rows, Slot};
use crate::seal::Sealer;
use crate::spec::{ActionSpec, EngineSpec, FactSpec, PlanSpec, TimeUnit};
use crate::views::{debezium, row_layout};

/// "Let the Python engine do this event."
#[derive(Debug)]
pub struct Defer;

/// an output record: the view's index in its route, key, value (None: a tombstone)
pub type Record = (usize, Option<Vec<u8>>, Option<Vec<u8>>);

struct View {
    /// the row layout (else the envelope)
    row: bool,
    plan: usize,
}

/// One source topic: its table's columns and its views.
struct Route {
    columns: Columns,
    views: Vec<View>,
    detected: bool,
    /// in a batch: whether the unmasked row comes back (the KPIs' facts are made here)
    batch_detected: bool,
    /// the KPIs whose facts a batch makes of this table's changes
    facts: Vec<FactSpec>,
    /// what the anomaly detectors read of this table's changes, made into items in a batch
    by_actor: Option<ItemSpec>,
    /// its deletes erase a data subject: their rows come back (Python shreds the data keys)
    erases: bool,
    /// positions of the columns that hold names of people (they feed the known names)
    name_columns: Vec<usize>,
}

/// A change as `Engine::read_change` read it.
struct Change<'a> {
    event: Event<'a>,
    key: Option<Obj<'a>>,
    reduced_source: Vec<u8>,
    reduced_txn: Option<Vec<u8>>,
}

/// What one event produced.
pub struct Outcome {
    pub op: Option<String>,
    pub skipped: Option<&'static str>,
    pub source_ts_ms: Option<i64>,
    pub unknown: Vec<String>,
    pub records: Vec<Record>,
    /// for a detected route: the unmasked row (the after image, else the before image) as it
    /// came, and whether it is the after image
    pub row: Option<(Vec<u8>, bool)>,
    /// in a batch: the KPI facts of the change, as `KpiSource.fact` writes them
    pub facts: Vec<Vec<u8>>,
    /// in a batch: the change's item for the anomaly detectors (`by_actor.rs`)
    pub item: Option<Item>,
}

/// Where a change of a batch came from: its partition and offset, how many partitions its
/// topic has (a fact names both, for the KPI's watermark), and how many the by-actor topic has.
#[derive(Clone, Copy)]
pub struct Batch {
    pub partition: i64,
    pub offset: i64,
    pub partitions: i64,
    pub by_actor: i64,
}

impl Outcome {
    fn new(op: Option<&str>, skipped: Option<&'static str>, source_ts_ms: Option<i64>) -> Self {
        Self {
            op: op.map(str::to_owned),
            skipped,
            source_ts_ms,
            unknown: Vec::new(),
            records: Vec::new(),
            row: None,
            facts: Vec::new(),
            item: None,
        }
    }
}

pub struct Engine {
    routes: HashMap<String, Route>,
    plans: Vec<Plan>,
    actions: Vec<Slot>,
    source_fields: Fields,
    transaction_fields: Fields,
    defer_markers: Vec<memchr::memmem::Finder<'static>>,
    /// the known names, shared with Python and the scrub actions
    names: Option<Py<NameSet>>,
    /// the names' generation that the actions' memos were filled under
    names_generation: u64,
}

impl Engine {
    /// `callbacks`: each action's Python `apply`; `helpers`: other Python functions that
    /// actions refer to by index (scrub's detector confirms).
    pub fn new(
        spec: EngineSpec,
        callbacks: Vec<PyObject>,
        helpers: Vec<PyObject>,
    ) -> Result<Self, String> {
        if callbacks.len() != spec.actions.len() {
            return Err("one Python callback per action expected".into());
        }
        let actions = spec
            .actions
            .iter()
            .zip(callbacks)
            .map(|(action, python)| Slot {
                native: actions::build(action, &helpers),
                python,
                memo: HashMap::new(),
                per_subject: matches!(action, ActionSpec::PerSubject | ActionSpec::Encrypt { .. }),
                sealer: match action {
                    ActionSpec::Encrypt { domain, data_key } => {
                        Python::with_gil(|py| Sealer::new(py, domain, *data_key, &helpers))
                    }
                    _ => None,
                },
            })
            .collect();
        // a plan belongs to one table: it is built with that table's columns
        let mut plan_specs: Vec<Option<PlanSpec>> = spec.plans.into_iter().map(Some).collect();
        let mut plans: Vec<Option<Plan>> = plan_specs.iter().map(|_| None).collect();
        let mut routes = HashMap::new();
        for route in spec.routes {
            let columns: Columns = route
                .columns
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, i))
                .collect();
            let used = route.views.iter().map(|v| v.plan);
            for plan in used.chain(route.facts.iter().map(|f| f.plan)) {
                let plan_spec = plan_specs.get_mut(plan).ok_or("unknown plan")?;
                if let Some(plan_spec) = plan_spec.take() {
                    plans[plan] = Some(Plan::new(plan_spec, &columns));
                }
            }
            let views = route
                .views
                .into_iter()
                .map(|v| View {
                    row: v.layout == "row",
                    plan: v.plan,
                })
                .collect();
            let detected = route.detected;
            let batch_detected = route.batch_detected.unwrap_or(detected);
            let facts = route.facts;
            let by_actor = route.by_actor;
            let erases = route.erases;
            let name_columns = route
                .name_columns
                .iter()
                .filter_map(|name| columns.get(name).copied())
                .collect();
            routes.insert(
                route.topic,
                Route {
                    columns,
                    views,
                    detected,
                    batch_detected,
                    facts,
                    by_actor,
                    erases,
                    name_columns,
                },
            );
        }
        let plans = plans
            .into_iter()
            .collect::<Option<Vec<Plan>>>()
            .ok_or("a plan that no view uses")?;
        let names = match spec.names {
            Some(index) => Some(Python::with_gil(|py| {
                let set = helpers.get(index).ok_or("unknown names helper")?;
                let set = set
                    .bind(py)
                    .downcast::<NameSet>()
                    .map_err(|_| "not a NameSet")?;
                Ok::<_, String>(set.clone().unbind())
            })?),
            None => None,
        };
        Ok(Self {
            names,
            names_generation: 0,
            routes,
            plans,
            actions,
            source_fields: spec.source_fields,
            transaction_fields: spec.transaction_fields,
            defer_markers: spec
                .defer_markers
                .iter()
                .map(|m| memchr::memmem::Finder::new(m.as_bytes()).into_owned())
                .collect(),
        })
    }

    /// The names of a change of a name table, learnt from both its images as
    /// `processor/pipeline/known_names.py` learns them, without masking: the known names'
    /// restore at start. Defer: Python reads the change (or skips it as a dead letter).
    pub fn learn_names(
        &mut self,
        py: Python<'_>,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<(), Defer> {
        let route = self.routes.get(topic).ok_or(Defer)?;
        let (Some(names), Some(value)) = (&self.names, value) else {
            return Ok(()); // no names to learn, or a tombstone: nothing in it
        };
        // what `process` refuses, Python reads (its dead letters taught nothing either)
        let key_text = key.map(utf8).transpose()?;
        let Change { event, .. } = self.read_change(key_text, value)?;
        let after = slotted(&route.columns, event.after.as_ref())?;
        let before = slotted(&route.columns, event.before.as_ref())?;
        let generation = learn(
            &mut names.borrow_mut(py),
            &route.name_columns,
            [after.as_ref(), before.as_ref()].map(|image| image.map(|(slots, _)| slots)),
        )?;
        learnt(&mut self.actions, &mut self.names_generation, generation);
        Ok(())
    }

    /// A change's value and key as `process` reads them before its rows; Defer for what
    /// Python must read: a poison marker, bytes that are no envelope, a source or transaction
    /// member of another kind than declared (Python dead-letters the event), a truncate (Python
    /// publishes it masked), a key that is not an object.
    fn read_change<'a>(
        &self,
        key_text: Option<&'a str>,
        value: &'a [u8],
    ) -> Result<Change<'a>, Defer> {
        if self.defer_markers.iter().any(|m| m.find(value).is_some()) {
            return Err(Defer);
        }
        let event = Event::read(utf8(value)?)?;
        let reduced_source = reduced(event.source.as_ref(), &self.source_fields)?;
        let reduced_txn = match event
            .envelope
            .member("transaction")
            .and_then(|m| m.obj.as_ref())
        {
            Some(txn) => Some(reduced(Some(txn), &self.transaction_fields)?),
            None => None,
        };
        if event.op == "t" {
            return Err(Defer);
        }
        let key = key_text.map(read_key).transpose()?.flatten();
        Ok(Change {
            event,
            key,
            reduced_source,
            reduced_txn,
        })
    }

    /// `batch`: the change is part of a batch (`process_batch`): its KPI facts and its
    /// detectors' item are made here, and its row comes back only for `batch_detected`.
    pub fn process(
        &mut self,
        py: Python<'_>,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        batch: Option<Batch>,
    ) -> Result<Outcome, Defer> {
        let route = self.routes.get(topic).ok_or(Defer)?;
        let key_text = key.map(utf8).transpose()?;
        let Some(value) = value else {
            if let Some(text) = key_text {
                json::document(text).ok_or(Defer)?; // a key that Python would refuse
            }
            return Ok(Outcome::new(None, Some("tombstone"), None));
        };
        let Change {
            event,
            key,
            reduced_source,
            reduced_txn,
        } = self.read_change(key_text, value)?;
        let source_ts = event.source.as_ref().and_then(|s| s.get("ts_ms"));
        let source_ts_ms = source_ts.and_then(|raw| raw.parse::<i64>().ok());
        let mut outcome = Outcome::new(Some(&event.op), None, source_ts_ms);
        // the detectors read the row; an erasing delete's row names the subject to shred
        let detected = if batch.is_some() {
            route.batch_detected
        } else {
            route.detected
        };
        if detected || (route.erases && event.op == "d") {
            outcome.row = row_of(&event);
        }
        // the images by column, once for all the table's plans
        let before_shown =
            event.op == "d" || route.views.iter().any(|v| self.plans[v.plan].shows_before);
        let after = slotted(&route.columns, event.after.as_ref())?;
        let before = slotted(
            &route.columns,
            event.before.as_ref().filter(|_| before_shown),
        )?;
        if !route.views.is_empty() {
            let row = match (event.after.as_ref(), event.before.as_ref()) {
                (Some(row), _) => Some((row, &after)),
                (None, Some(row)) => Some((row, &before)),
                (None, None) => None,
            };
            if let Some((row, slotted)) = row {
                // names are looked up once: the slotting saw whether any column is unknown
                if !slotted.as_ref().is_some_and(|(_, all_known)| *all_known) {
                    outcome.unknown = unknown(&route.columns, row);
                }
            }
        }
        let rows = Rows {
            after: after.map(|(slots, _)| slots),
            before: before.map(|(slots, _)| slots),
        };
        if let Some(names) = &self.names {
            let generation = learn(
                &mut names.borrow_mut(py),
                &route.name_columns,
                [rows.after.as_ref(), rows.before.as_ref()],
            )?;
            learnt(&mut self.actions, &mut self.names_generation, generation);
        }
        let mut masked: Vec<(usize, Masked)> = Vec::new();
        for (index, view) in route.views.iter().enumerate() {
            let at = match masked.iter().position(|m| m.0 == view.plan) {
                Some(at) => at,
                None => {
                    let plan = &self.plans[view.plan];
                    let done =
                        plan.mask_event(&mut self.actions, py, &event, key.as_ref(), &rows)?;
                    masked.push((view.plan, done));
                    masked.len() - 1
                }
            };
            let done = &masked[at].1;
            let rendered = if view.row {
                row_layout(&event.op, source_ts, &event.ts_ms, done)
            } else {
                debezium(&event, &reduced_source, reduced_txn.as_deref(), done)
            };
            outcome
                .records
                .push((index, done.key.clone(), Some(rendered)));
            if event.op == "d" && done.key.is_some() {
                outcome.records.push((index, done.key.clone(), None));
            }
        }
        if let (Some(batch), Some(spec)) = (batch, &route.by_actor) {
            let origin = Origin {
                topic,
                partition: batch.partition,
                offset: batch.offset,
                partitions: batch.partitions,
                by_actor: batch.by_actor,
            };
            let image = event.after.as_ref().or(event.before.as_ref());
            match image.map(|row| spec.item(&event.op, row, &origin)) {
                Some(Plain::Yes(item)) => outcome.item = item,
                // values that Python reads (or warns of): the whole event is the Python
                // engine's, so that the detectors' items keep the input's order
                Some(Plain::No) => return Err(Defer),
                None => {}
            }
        }
        if let Some(source) = batch.filter(|_| !route.facts.is_empty()) {
            if matches!(event.op.as_str(), "c" | "u" | "r" | "d") {
                // the fact reads the after image, else the before image (of a delete)
                let (slots, image) = match (&rows.after, &rows.before) {
                    (Some(slots), _) => (slots, event.after.as_ref()),
                    (None, Some(slots)) => (slots, event.before.as_ref()),
                    (None, None) if event.before.is_some() => return Err(Defer),
                    (None, None) => return Ok(outcome),
                };
                for spec in &route.facts {
                    let plan = &self.plans[spec.plan];
                    let made = fact(
                        spec,
                        plan,
                        &mut self.actions,
                        py,
                        slots,
                        image,
                        &event.op,
                        source,
                    )?;
                    outcome.facts.extend(made);
                }
            }
        }
        Ok(outcome)
    }
}

/// The unmasked row (the after image, else the before image) as it came, and whether it is
/// the after image.
fn row_of(event: &Event<'_>) -> Option<(Vec<u8>, bool)> {
    let after = event
        .envelope
        .get("after")
        .filter(|raw| !json::is_null(raw));
    let row = after.or_else(|| event.envelope.get("before"));
    row.map(|raw| (raw.as_bytes().to_vec(), after.is_some()))
}

/// A KPI's fact of one change, as `KpiSource.fact` writes it; None where that returns None (no
/// event time a window can hold, a group value that is no scalar). What the Python engine
/// would refuse defers the event, as its views would.
#[allow(clippy::too_many_arguments)]
fn fact(
    spec: &FactSpec,
    plan: &Plan,
    actions: &mut [crate::plan::Slot],
    py: Python<'_>,
    slots: &crate::plan::Slots<'_>,
    row: Option<&json::Obj<'_>>,
    op: &str,
    source: Batch,
) -> Result<Option<Vec<u8>>, Defer> {
    let mut text = vec![b'{'];
    text.extend(plan.mask_row(actions, py, slots, row)?);
    text.push(b'}');
    let text = std::str::from_utf8(&text).map_err(|_| Defer)?;
    let image = json::document(text).and_then(|(_, obj)| obj).ok_or(Defer)?;
    let Some(time_ms) = image
        .get(&spec.time)
        .and_then(|raw| epoch_ms(raw, spec.time_unit?))
        .filter(|ms| (spec.time_range.0..=spec.time_range.1).contains(ms))
    else {
        return Ok(None);
    };
    let group: Vec<&str> = spec
        .group_by
        .iter()
        .map(|column| image.get(column).unwrap_or("null"))
        .collect();
    if group.iter().any(|raw| raw.starts_with(['[', '{'])) {
        return Ok(None); // an array or object is no group
    }
    let key = plan.mask_key(actions, py, |name, column| {
        column.map_or_else(
            || row.and_then(|r| r.get(name)),
            |c| slots.get(c).copied().flatten(),
        )
    })?;
    let key = key.as_deref().map_or(Ok("null"), std::str::from_utf8);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"k\":");
    json::write_str(&mut out, &spec.kpi);
    out.extend_from_slice(
        format!(
            ",\"t\":{time_ms},\"p\":{},\"n\":{},\"r\":",
            source.partition, source.partitions
        )
        .as_bytes(),
    );
    json::write_str(&mut out, key.map_err(|_| Defer)?);
    out.extend_from_slice(if op == "d" {
        b",\"d\":true,\"g\":["
    } else {
        b",\"d\":false,\"g\":["
    });
    out.extend_from_slice(group.join(",").as_bytes());
    out.extend_from_slice(b"],\"s\":");
    out.extend_from_slice(image.get(&spec.subject).unwrap_or("null").as_bytes());
    out.extend_from_slice(b",\"m\":[]}");
    Ok(Some(out))
}

/// An event-time value in milliseconds as `kpi_stage.epoch_ms` computes it: an integer only
/// (Python's `type(value) is int`), times the unit (a float factor as Python multiplies it).
fn epoch_ms(raw: &str, unit: TimeUnit) -> Option<i64> {
    if json::kind(raw) != "integer" {
        return None;
    }
    let value: i64 = raw.parse().ok()?; // beyond: no window's time either way
    match unit {
        TimeUnit::Days => value.checked_mul(86_400_000),
        TimeUnit::Factor(factor) => Some((value as f64 * factor) as i64),
    }
}

/// A name learnt now must be found in texts that were masked before: the actions' memos go
/// when the names' generation moved since `seen`.
fn learnt(actions: &mut [Slot], seen: &mut u64, generation: u64) {
    if generation != *seen {
        *seen = generation;
        for slot in actions {
            slot.memo.clear();
        }
    }
}

/// The text values of the name columns of these row images into the known names; the
/// names' generation after them.
fn learn(
    set: &mut NameSet,
    name_columns: &[usize],
    images: [Option<&crate::plan::Slots<'_>>; 2],
) -> Result<u64, Defer> {
    for slots in images.into_iter().flatten() {
        for &column in name_columns {
            let Some(raw) = slots[column].filter(|raw| raw.starts_with('"')) else {
                continue;
            };
            let value: String = serde_json::from_str(raw).map_err(|_| Defer)?;
            set.add_value(&value).ok_or(Defer)?;
        }
    }
    Ok(set.generation())
}
