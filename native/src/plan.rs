//! A compiled plan of one table in one view (`masking/plan.py`): the steps that mask a row's
//! columns, the key columns, and the actions' slots (native, or the Python `apply`).

use hashbrown::HashMap;

use pyo3::prelude::*;
use serde_json::Value;

use crate::actions::NativeAction;
use crate::engine::Defer;
use crate::envelope::Event;
use crate::json::{self, Obj};
use crate::pyjson;
use crate::seal::{Sealed, Sealer};
use crate::spec::{PlanSpec, StepSpec};

/// a row's values by their column's position in the table's column list
pub(crate) type Slots<'a> = Vec<Option<&'a str>>;
/// a table's columns by name → position
pub(crate) type Columns = HashMap<String, usize>;

pub struct Slot {
    pub(crate) native: Option<Box<dyn NativeAction>>,
    pub(crate) python: PyObject,
    /// the Python action's results by text input: actions are deterministic, and free text
    /// repeats (the before and after image of an update, the next update of the same row)
    pub(crate) memo: HashMap<String, Value>,
    /// the Python action takes the row's data subject too (and is not memoised: its result
    /// depends on the subject)
    pub(crate) per_subject: bool,
    /// encrypt's sealing in the core (texts; other values go to the Python action)
    pub(crate) sealer: Option<Sealer>,
}

pub(crate) const MEMO_SIZE: usize = 65_536;

pub(crate) enum Test {
    NotNull,
    Equals(Value),
}

pub(crate) enum Rule {
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

pub(crate) struct Step {
    pub(crate) column: usize,
    /// `"name":`, written before the value
    pub(crate) member: Vec<u8>,
    pub(crate) rule: Rule,
}

pub(crate) struct Plan {
    pub(crate) shows_before: bool,
    pub(crate) steps: Vec<Step>,
    /// the position of the column that names the row's data subject (per-subject actions)
    pub(crate) subject: Option<usize>,
    /// key column, its position among the columns, its action (None: copied)
    pub(crate) key_fields: Vec<(String, Option<usize>, Option<usize>)>,
}

/// A plan's masked key and the inside (members without braces) of its masked images.
pub(crate) struct Masked {
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) before: Option<Vec<u8>>,
    pub(crate) after: Option<Vec<u8>>,
}

/// An event's images by column (`before` only when a plan of the table shows it).
pub(crate) struct Rows<'a> {
    pub(crate) after: Option<Slots<'a>>,
    pub(crate) before: Option<Slots<'a>>,
}

/// The row's values by column, and whether the rules know every column; a column given twice
/// is left to Python.
pub(crate) fn slotted<'a>(
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
pub(crate) fn unknown(columns: &Columns, row: &Obj<'_>) -> Vec<String> {
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
    pub(crate) fn mask_event(
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

    pub(crate) fn new(spec: PlanSpec, columns: &Columns) -> Self {
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
    pub(crate) fn mask_key<'a>(
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
    pub(crate) fn mask_row(
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
    pub(crate) fn new(spec: StepSpec, columns: &Columns) -> Self {
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

pub(crate) fn write_masked(
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
            match slot.sealer.as_ref().map(|s| s.seal(py, &value, &subject)) {
                Some(Sealed::Text(text)) => {
                    json::write_str(out, &text);
                    return Ok(());
                }
                Some(Sealed::Null) => {
                    out.extend_from_slice(b"null");
                    return Ok(());
                }
                Some(Sealed::Python) | None => {}
            }
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
pub(crate) fn apply(slot: &mut Slot, py: Python<'_>, value: &Value) -> Result<Value, Defer> {
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
pub(crate) fn py_equals(a: &Value, b: &Value) -> Option<bool> {
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
