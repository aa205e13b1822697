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
use serde_json::Value;

use crate::actions::{self, NativeAction};
use crate::json::{self, Member, Obj};
use crate::names::NameSet;
use crate::pyjson;
use crate::spec::{ActionSpec, EngineSpec, PlanSpec, StepSpec};

/// "Let the Python engine do this event."
#[derive(Debug)]
pub struct Defer;

/// an output record: the view's index in its route, key, value (None: a tombstone)
pub type Record = (usize, Option<Vec<u8>>, Option<Vec<u8>>);
/// a row's values by their column's position in the table's column list
type Slots<'a> = Vec<Option<&'a str>>;
/// a table's columns by name → position
type Columns = HashMap<String, usize>;

/// allow-listed members of a metadata block, with the kinds each accepts (from the spec)
type Fields = Vec<(String, Vec<String>)>;
const OPS: [&str; 5] = ["c", "u", "d", "r", "t"];

pub struct Slot {
    native: Option<Box<dyn NativeAction>>,
    python: PyObject,
    /// the Python action's results by text input: actions are deterministic, and free text
    /// repeats (the before and after image of an update, the next update of the same row)
    memo: HashMap<String, Value>,
    /// the Python action takes the row's data subject too (and is not memoised: its result
    /// depends on the subject)
    per_subject: bool,
}

const MEMO_SIZE: usize = 65_536;

enum Test {
    NotNull,
    Equals(Value),
}

enum Rule {
    Keep,
    Apply(usize),
    /// a condition on another column (its position, or its name when the rules do not list it)
    When {
        column: Result<usize, String>,
        test: Test,
        then: Option<usize>,
        otherwise: Option<usize>,
    },
}

struct Step {
    column: usize,
    /// `"name":`, written before the value
    member: Vec<u8>,
    rule: Rule,
}

struct Plan {
    shows_before: bool,
    steps: Vec<Step>,
    /// the position of the column that names the row's data subject (per-subject actions)
    subject: Option<usize>,
    /// key column, its position among the columns, its action (None: copied)
    key_fields: Vec<(String, Option<usize>, Option<usize>)>,
}

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

/// A plan's masked key and the inside (members without braces) of its masked images.
struct Masked {
    key: Option<Vec<u8>>,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
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

/// A Debezium change event read from JSON, its members unparsed.
struct Event<'a> {
    op: String,
    envelope: Obj<'a>,
    before: Option<Obj<'a>>,
    after: Option<Obj<'a>>,
    source: Option<Obj<'a>>,
    /// the envelope's ts_ms when it is an integer (else null, as Python has it)
    ts_ms: Value,
}

impl<'a> Event<'a> {
    /// The envelope, unwrapped from {"schema", "payload"}; an envelope that Python's
    /// `parse_envelope` would refuse is deferred (Python names the dead-letter reason).
    fn read(text: &'a str) -> Result<Self, Defer> {
        let (_, top) = json::document(text).ok_or(Defer)?;
        let top = top.ok_or(Defer)?;
        if unwrapped(&top) {
            return Err(Defer); // Python writes its outputs with a masked schema
        }
        let mut envelope = top;
        let raw_op = envelope.get("op").ok_or(Defer)?;
        let op = match raw_op.strip_prefix('"').and_then(|o| o.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => plain.to_owned(),
            _ => serde_json::from_str(raw_op).map_err(|_| Defer)?,
        };
        if !OPS.contains(&op.as_str()) {
            return Err(Defer);
        }
        let before = image(&mut envelope, "before")?;
        let after = image(&mut envelope, "after")?;
        let row_op = ["c", "u", "r"].contains(&op.as_str());
        if (op == "d" && before.is_none()) || (row_op && after.is_none()) {
            return Err(Defer);
        }
        let source = envelope.member_mut("source").and_then(|m| m.obj.take());
        let ts_ms = envelope
            .get("ts_ms")
            .and_then(json::int)
            .unwrap_or(Value::Null);
        Ok(Self {
            op,
            envelope,
            before,
            after,
            source,
            ts_ms,
        })
    }
}

/// The message key, unwrapped; None for no key (the row's key columns stand in).
fn read_key(text: &str) -> Result<Option<Obj<'_>>, Defer> {
    let (raw, obj) = json::document(text).ok_or(Defer)?;
    let Some(mut obj) = obj else {
        // not an object: null is no key; anything else Python names invalid_key
        return if json::is_null(raw) {
            Ok(None)
        } else {
            Err(Defer)
        };
    };
    if !unwrapped(&obj) {
        return Ok(Some(obj));
    }
    match payload(&mut obj) {
        Some(m) if json::is_null(m.raw) => Ok(None),
        Some(m) => m.obj.take().map(Some).ok_or(Defer),
        None => Err(Defer),
    }
}

/// An event's images by column (`before` only when a plan of the table shows it).
struct Rows<'a> {
    after: Option<Slots<'a>>,
    before: Option<Slots<'a>>,
}

/// The row's values by column, and whether the rules know every column; a column given twice
/// is left to Python.
fn slotted<'a>(
    columns: &Columns,
    row: Option<&Obj<'a>>,
) -> Result<Option<(Slots<'a>, bool)>, Defer> {
    let Some(row) = row else { return Ok(None) };
    let mut slots: Slots<'a> = vec![None; columns.len()];
    let mut known = 0;
    for member in &row.0 {
        if let Some(&column) = columns.get(member.name.as_ref()) {
            if slots[column].replace(member.raw).is_some() {
                return Err(Defer);
            }
            known += 1;
        }
    }
    Ok(Some((slots, known == row.0.len())))
}

/// The row's columns that no rule names, sorted, each once (schema drift).
fn unknown(columns: &Columns, row: &Obj<'_>) -> Vec<String> {
    let mut names: Vec<String> = row
        .0
        .iter()
        .filter(|m| !columns.contains_key(m.name.as_ref()))
        .map(|m| m.name.to_string())
        .collect();
    names.sort(); // UTF-8 byte order is code point order, as Python sorts
    names.dedup();
    names
}

impl Plan {
    /// The masked key and images of one event for this plan.
    fn mask_event(
        &self,
        actions: &mut [Slot],
        py: Python<'_>,
        event: &Event<'_>,
        key: Option<&Obj<'_>>,
        rows: &Rows<'_>,
    ) -> Result<Masked, Defer> {
        let shows_before = event.op == "d" || self.shows_before;
        let shown = event.before.as_ref().filter(|_| shows_before);
        let after_slots = rows.after.as_ref();
        let before_slots = rows.before.as_ref().filter(|_| shows_before);
        let row = event.after.as_ref().or(event.before.as_ref());
        let row_slots = after_slots.or(before_slots);
        let masked_key = match (key, row_slots, row) {
            (Some(obj), _, _) => self.mask_key(actions, py, |name, _| obj.get(name))?,
            (None, Some(slots), Some(row)) => self.mask_key(actions, py, |name, column| {
                column.map_or_else(|| row.get(name), |c| slots.get(c).copied().flatten())
            })?,
            _ => None,
        };
        let after = match after_slots {
            Some(slots) => Some(self.mask_row(actions, py, slots, event.after.as_ref())?),
            None => None,
        };
        let before = match before_slots {
            Some(slots) => Some(self.mask_row(actions, py, slots, shown)?),
            None => None,
        };
        Ok(Masked {
            key: masked_key,
            before,
            after,
        })
    }

    fn new(spec: PlanSpec, columns: &Columns) -> Self {
        let steps = spec
            .steps
            .into_iter()
            .map(|s| Step::new(s, columns))
            .collect();
        let key_fields = spec
            .key_fields
            .into_iter()
            .map(|(name, action)| {
                let column = columns.get(&name).copied();
                (name, column, action)
            })
            .collect();
        let subject = spec.subject.and_then(|name| columns.get(&name).copied());
        Self {
            shows_before: spec.shows_before,
            steps,
            key_fields,
            subject,
        }
    }

    /// `{"column": masked value, …}` of the key columns found by `lookup`, None when none is.
    ///
    /// Kafka partitions and compacts by the key's bytes, so they must be the bytes that the
    /// Python engine writes (orjson) whichever engine masked the event: a value is copied only
    /// when its text is already orjson's (or a native action writes it as a plain string),
    /// others are parsed and written again, and a key holding a float (whose notation could
    /// differ) is left to Python.
    fn mask_key<'a>(
        &self,
        actions: &mut [Slot],
        py: Python<'_>,
        lookup: impl Fn(&str, Option<usize>) -> Option<&'a str>,
    ) -> Result<Option<Vec<u8>>, Defer> {
        let mut out = vec![b'{'];
        for (name, column, action) in &self.key_fields {
            let Some(raw) = lookup(name, *column) else {
                continue;
            };
            if out.len() > 1 {
                out.push(b',');
            }
            json::write_str(&mut out, name);
            out.push(b':');
            // the common cases need no parsing: an id that a native action writes as a
            // string, or a value whose text is already what orjson writes
            let written = match action {
                Some(index) => actions[*index]
                    .native
                    .as_mut()
                    .is_some_and(|native| native.write_raw(raw, &mut out)),
                None if json::is_canonical(raw) => {
                    out.extend_from_slice(raw.as_bytes());
                    true
                }
                None => false,
            };
            if written {
                continue;
            }
            let parsed = json::value(raw).ok_or(Defer)?;
            let masked = match action {
                Some(index) => apply(&mut actions[*index], py, &parsed)?,
                None => parsed,
            };
            if json::holds_float(&masked) {
                return Err(Defer);
            }
            json::write_value(&mut out, &masked);
        }
        if out.len() == 1 {
            return Ok(None);
        }
        out.push(b'}');
        Ok(Some(out))
    }

    /// The masked image's members, without the braces.
    fn mask_row(
        &self,
        actions: &mut [Slot],
        py: Python<'_>,
        slots: &Slots<'_>,
        row: Option<&Obj<'_>>,
    ) -> Result<Vec<u8>, Defer> {
        let mut out = Vec::with_capacity(512);
        let subject = self.subject.and_then(|c| slots.get(c).copied().flatten());
        for step in &self.steps {
            let Some(raw) = slots.get(step.column).copied().flatten() else {
                continue;
            };
            let action = match &step.rule {
                Rule::Keep => None,
                Rule::Apply(action) => Some(*action),
                Rule::When {
                    column,
                    test,
                    then,
                    otherwise,
                } => {
                    let tested = match column {
                        Ok(c) => slots.get(*c).copied().flatten(),
                        Err(name) => row.and_then(|r| r.get(name)),
                    };
                    let passes = match (test, tested) {
                        (Test::NotNull, Some(raw)) => !json::is_null(raw),
                        (Test::NotNull, None) => false,
                        (Test::Equals(expected), Some(raw)) => {
                            py_equals(&json::value(raw).ok_or(Defer)?, expected).ok_or(Defer)?
                        }
                        (Test::Equals(expected), None) => {
                            py_equals(&Value::Null, expected).ok_or(Defer)?
                        }
                    };
                    match if passes { then } else { otherwise } {
                        Some(action) => Some(*action),
                        None => continue, // the field is dropped
                    }
                }
            };
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(&step.member);
            write_masked(&mut out, actions, py, action, raw, subject)?;
        }
        Ok(out)
    }
}

impl Step {
    fn new(spec: StepSpec, columns: &Columns) -> Self {
        let mut member = Vec::new();
        json::write_str(&mut member, &spec.name);
        member.push(b':');
        let rule = match spec.when {
            Some(when) => Rule::When {
                column: columns.get(&when.field).copied().ok_or(when.field),
                test: if when.not_null {
                    Test::NotNull
                } else {
                    Test::Equals(when.equals)
                },
                then: spec.then,
                otherwise: spec.otherwise,
            },
            None => spec.action.map_or(Rule::Keep, Rule::Apply),
        };
        // every step's column is one of the plan's known columns (the spec lists them)
        let column = columns.get(&spec.name).copied().unwrap_or(usize::MAX);
        Self {
            column,
            member,
            rule,
        }
    }
}

/// Kafka's bytes as text (SIMD-checked: every event's key and value pass here).
fn utf8(data: &[u8]) -> Result<&str, Defer> {
    simdutf8::basic::from_utf8(data).map_err(|_| Defer)
}

/// Kafka Connect's JSON converter with schemas wraps the event in {"schema", "payload"}.
fn unwrapped(obj: &Obj<'_>) -> bool {
    let names_ok = obj
        .0
        .iter()
        .all(|m| m.name == "schema" || m.name == "payload");
    names_ok && obj.distinct_len() == 2
}

fn payload<'o, 'a>(wrapper: &'o mut Obj<'a>) -> Option<&'o mut Member<'a>> {
    wrapper.member_mut("payload")
}

/// An image: absent or null is None, an object its members; anything else goes to Python.
fn image<'a>(envelope: &mut Obj<'a>, name: &str) -> Result<Option<Obj<'a>>, Defer> {
    match envelope.member_mut(name) {
        None => Ok(None),
        Some(m) if json::is_null(m.raw) => Ok(None),
        Some(m) => m.obj.take().map(Some).ok_or(Defer),
    }
}

fn write_masked(
    out: &mut Vec<u8>,
    actions: &mut [Slot],
    py: Python<'_>,
    action: Option<usize>,
    raw: &str,
    subject: Option<&str>,
) -> Result<(), Defer> {
    match action {
        None => out.extend_from_slice(raw.as_bytes()),
        Some(index) if actions[index].per_subject => {
            let value = json::value(raw).ok_or(Defer)?;
            let subject = subject
                .map_or(Some(Value::Null), json::value)
                .ok_or(Defer)?;
            let slot = &actions[index];
            let arg = pyjson::to_py(py, &value).map_err(|_| Defer)?;
            let who = pyjson::to_py(py, &subject).map_err(|_| Defer)?;
            let result = slot.python.call1(py, (arg, who)).map_err(|_| Defer)?;
            json::write_value(out, &pyjson::from_py(result.bind(py)).ok_or(Defer)?);
        }
        Some(index) => {
            let slot = &mut actions[index];
            if let Some(native) = slot.native.as_mut() {
                if native.write_raw(raw, out) {
                    return Ok(());
                }
            }
            let value = json::value(raw).ok_or(Defer)?;
            json::write_value(out, &apply(slot, py, &value)?);
        }
    }
    Ok(())
}

/// The native action, or the Python action when the native one cannot be sure.
fn apply(slot: &mut Slot, py: Python<'_>, value: &Value) -> Result<Value, Defer> {
    if let Some(native) = slot.native.as_mut() {
        if let Some(out) = native.apply(value) {
            return Ok(out);
        }
    }
    let text = value.as_str();
    if let Some(found) = text.and_then(|t| slot.memo.get(t)) {
        return Ok(found.clone());
    }
    let arg = pyjson::to_py(py, value).map_err(|_| Defer)?;
    let result = slot.python.call1(py, (arg,)).map_err(|_| Defer)?;
    let result = pyjson::from_py(result.bind(py)).ok_or(Defer)?;
    if let Some(text) = text {
        if slot.memo.len() >= MEMO_SIZE {
            slot.memo.clear();
        }
        slot.memo.insert(text.to_owned(), result.clone());
    }
    Ok(result)
}

/// Python's `==` for the JSON values a condition compares; None where they might differ.
fn py_equals(a: &Value, b: &Value) -> Option<bool> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let int = |n: &serde_json::Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    Some(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(_), Value::Bool(_) | Value::Number(_))
        | (Value::Bool(_) | Value::Number(_), Value::String(_)) => false,
        (Value::Number(x), Value::Number(y)) => match (int(x), int(y)) {
            (Some(i), Some(j)) => i == j,
            (None, None) => x.as_f64()? == y.as_f64()?,
            (Some(i), None) | (None, Some(i)) if (i as f64).abs() < EXACT => {
                x.as_f64()? == y.as_f64()?
            }
            _ => return None,
        },
        _ => return None, // True == 1, lists and objects: Python decides
    })
}

/// `{name: value}` of the listed members that the object has, in the list's order; a member
/// of a kind its entry does not accept is `Defer` (Python names the dead letter).
fn reduced(obj: Option<&Obj<'_>>, fields: &Fields) -> Result<Vec<u8>, Defer> {
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    if let Some(obj) = obj {
        // one pass over the members (the last of duplicates wins, as in a dict)
        let mut found: Vec<Option<&str>> = vec![None; fields.len()];
        for member in &obj.0 {
            if let Some(at) = fields.iter().position(|(name, _)| *name == member.name) {
                found[at] = Some(member.raw);
            }
        }
        for ((name, kinds), raw) in fields.iter().zip(found) {
            if let Some(raw) = raw {
                let kind = json::kind(raw);
                if !kinds.iter().any(|k| k == kind) {
                    return Err(Defer);
                }
                if out.len() > 1 {
                    out.push(b',');
                }
                json::write_str(&mut out, name);
                out.push(b':');
                out.extend_from_slice(raw.as_bytes());
            }
        }
    }
    out.push(b'}');
    Ok(out)
}

fn write_image(out: &mut Vec<u8>, members: Option<&Vec<u8>>) {
    match members {
        Some(members) => {
            out.push(b'{');
            out.extend_from_slice(members);
            out.push(b'}');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn debezium(event: &Event<'_>, source: &[u8], txn: Option<&[u8]>, done: &Masked) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"before\":");
    write_image(&mut out, done.before.as_ref());
    out.extend_from_slice(b",\"after\":");
    write_image(&mut out, done.after.as_ref());
    out.extend_from_slice(b",\"source\":");
    out.extend_from_slice(source);
    out.extend_from_slice(b",\"op\":");
    json::write_str(&mut out, &event.op);
    out.extend_from_slice(b",\"ts_ms\":");
    json::write_value(&mut out, &event.ts_ms);
    if let Some(txn) = txn {
        out.extend_from_slice(b",\"transaction\":");
        out.extend_from_slice(txn);
    }
    out.push(b'}');
    out
}

/// Debezium's ExtractNewRecordState with delete.handling.mode=rewrite.
fn row_layout(op: &str, source_ts: Option<&str>, ts_ms: &Value, done: &Masked) -> Vec<u8> {
    let deleted = op == "d";
    let members = if deleted {
        done.before.as_ref()
    } else {
        done.after.as_ref()
    };
    let mut out = Vec::with_capacity(1024);
    out.push(b'{');
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        out.extend_from_slice(members);
        out.push(b',');
    }
    out.extend_from_slice(b"\"__op\":");
    json::write_str(&mut out, op);
    out.extend_from_slice(b",\"__source_ts_ms\":");
    match source_ts {
        Some(raw) => out.extend_from_slice(raw.as_bytes()),
        None => json::write_value(&mut out, ts_ms),
    }
    out.extend_from_slice(if deleted {
        b",\"__deleted\":true}"
    } else {
        b",\"__deleted\":false}"
    });
    out
}
