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
use crate::envelope::{read_key, reduced, utf8, Event, Fields};
use crate::json;
use crate::names::NameSet;
use crate::plan::{slotted, unknown, Columns, Masked, Plan, Rows, Slot};
use crate::spec::{ActionSpec, EngineSpec, PlanSpec};
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
    /// its deletes erase a data subject: their rows come back (Python shreds the data keys)
    erases: bool,
    /// positions of the columns that hold names of people (they feed the known names)
    name_columns: Vec<usize>,
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
                per_subject: matches!(action, ActionSpec::PerSubject),
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
            for view in &route.views {
                let plan_spec = plan_specs.get_mut(view.plan).ok_or("unknown plan")?;
                if let Some(plan_spec) = plan_spec.take() {
                    plans[view.plan] = Some(Plan::new(plan_spec, &columns));
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

    pub fn process(
        &mut self,
        py: Python<'_>,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Outcome, Defer> {
        let route = self.routes.get(topic).ok_or(Defer)?;
        let key_text = key.map(utf8).transpose()?;
        let Some(value) = value else {
            if let Some(text) = key_text {
                json::document(text).ok_or(Defer)?; // a key that Python would refuse
            }
            return Ok(Outcome::new(None, Some("tombstone"), None));
        };
        if self.defer_markers.iter().any(|m| m.find(value).is_some()) {
            return Err(Defer);
        }
        let event = Event::read(utf8(value)?)?;
        // a member of another kind than declared: Python dead-letters the event
        let reduced_source = reduced(event.source.as_ref(), &self.source_fields)?;
        let reduced_txn = match event
            .envelope
            .member("transaction")
            .and_then(|m| m.obj.as_ref())
        {
            Some(txn) => Some(reduced(Some(txn), &self.transaction_fields)?),
            None => None,
        };
        let source_ts = event.source.as_ref().and_then(|s| s.get("ts_ms"));
        let source_ts_ms = source_ts.and_then(|raw| raw.parse::<i64>().ok());
        if event.op == "t" {
            return Err(Defer); // rare: Python publishes the masked truncate to the views
        }
        let key = key_text.map(read_key).transpose()?.flatten();
        let mut outcome = Outcome::new(Some(&event.op), None, source_ts_ms);
        // the detectors read the row; an erasing delete's row names the subject to shred
        if route.detected || (route.erases && event.op == "d") {
            let after = event
                .envelope
                .get("after")
                .filter(|raw| !json::is_null(raw));
            let row = after.or_else(|| event.envelope.get("before"));
            outcome.row = row.map(|raw| (raw.as_bytes().to_vec(), after.is_some()));
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
            let mut set = names.borrow_mut(py);
            for slots in [rows.after.as_ref(), rows.before.as_ref()]
                .into_iter()
                .flatten()
            {
                for &column in &route.name_columns {
                    let Some(raw) = slots[column].filter(|raw| raw.starts_with('"')) else {
                        continue;
                    };
                    let value: String = serde_json::from_str(raw).map_err(|_| Defer)?;
                    set.add_value(&value).ok_or(Defer)?;
                }
            }
            // a name learnt now must be found in texts that were masked before
            if set.generation() != self.names_generation {
                self.names_generation = set.generation();
                for slot in &mut self.actions {
                    slot.memo.clear();
                }
            }
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
        Ok(outcome)
    }
}
