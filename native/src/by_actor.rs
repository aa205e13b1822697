//! The anomaly detectors' items of a batch, made here as `ByActor.forward` makes them
//! (`processor/pipeline/anomaly_stage.py`, reading rows as `anomaly/events.py` does): an
//! access event of the access log, a user's state of the users table, each for the by-actor
//! partition that Kafka's default partitioner gives its actor (`murmur2`, as
//! `pipeline/packed.py` `partition_of`).
//!
//! Only plain values are read here: texts and integers where Python takes `str()`, integers
//! where it takes an `int`, booleans or null for `active`. A row with anything else (a
//! float, a boolean where a text is read, a missing column) is `Plain::No`: the engine
//! defers its event, and the Python engine's path reads it (or warns of it) as before.

use serde::Deserialize;

use crate::json::{self, Obj};

/// What the anomaly rules map of one table (`AccessLogMapping`, `UsersMapping`).
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemSpec {
    Access {
        id: String,
        actor: String,
        action: String,
        object_type: String,
        count: String,
        classification: String,
        time: String,
        /// the time encoding's units per millisecond
        unit: i64,
    },
    Users {
        id: String,
        role: String,
        active: String,
        deactivated_at: String,
        unit: i64,
    },
}

/// Where a change of a batch came from, and the partition counts that its item names.
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub topic: &'a str,
    pub partition: i64,
    pub offset: i64,
    /// partitions of the change's topic
    pub partitions: i64,
    /// partitions of the by-actor topic
    pub by_actor: i64,
}

/// An item for the by-actor topic.
pub struct Item {
    /// the by-actor partition of its actor
    pub partition: i64,
    pub value: Vec<u8>,
    /// an access event's time (None: a user's state), for the progress marks
    pub ts_ms: Option<i64>,
}

/// Read here, or not.
pub enum Plain<T> {
    Yes(T),
    /// Python reads this row (its event is deferred)
    No,
}

use Plain::{No, Yes};

/// A value that Python turns into a text with `str()`: a JSON text (as its raw literal) or an
/// integer (its digits, as a JSON text).
fn text(raw: Option<&str>) -> Plain<Vec<u8>> {
    match raw {
        Some(raw) if raw.starts_with('"') => Yes(raw.as_bytes().to_vec()),
        Some("-0") => Yes(b"\"0\"".to_vec()), // Python's int has no negative zero
        Some(raw) if json::kind(raw) == "integer" => Yes(format!("\"{raw}\"").into_bytes()),
        _ => No,
    }
}

/// `str(value or default)`: a falsy value (null, missing, "", 0, false) is the default.
fn text_or(raw: Option<&str>, default: &str) -> Plain<Vec<u8>> {
    match raw {
        None | Some("null" | "\"\"" | "false" | "0" | "-0") => {
            Yes(format!("\"{default}\"").into_bytes())
        }
        other => text(other),
    }
}

/// An integer of 64 bits, as `_int64` takes it.
fn int64(raw: Option<&str>) -> Plain<i64> {
    match raw {
        Some(raw) if json::kind(raw) == "integer" => raw.parse().map_or(No, Yes),
        _ => No,
    }
}

/// The text's value: the actor's key bytes are the string's, not its JSON literal's.
fn unquoted(literal: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(literal).ok()?;
    if text.contains('\\') {
        serde_json::from_str(text).ok()
    } else {
        Some(text[1..text.len() - 1].to_owned())
    }
}

fn push_src(out: &mut Vec<u8>, origin: &Origin<'_>) {
    out.extend_from_slice(b"\"src\":[");
    json::write_str(out, origin.topic);
    out.extend_from_slice(format!(",{},{}]}}", origin.partition, origin.offset).as_bytes());
}

impl ItemSpec {
    /// The item of a change (`row`: the after image, else the before image), None when it is
    /// no access event or user change (another op of the access log).
    pub fn item(&self, op: &str, row: &Obj<'_>, origin: &Origin<'_>) -> Plain<Option<Item>> {
        match self {
            ItemSpec::Access {
                id,
                actor,
                action,
                object_type,
                count,
                classification,
                time,
                unit,
            } => {
                if !matches!(op, "c" | "r") {
                    return Yes(None);
                }
                let (Yes(id), Yes(actor), Yes(action)) = (
                    text(row.get(id)),
                    text(row.get(actor)),
                    text(row.get(action)),
                ) else {
                    return No;
                };
                let (Yes(object_type), Yes(classification)) = (
                    text_or(row.get(object_type), ""),
                    text_or(row.get(classification), ""),
                ) else {
                    return No;
                };
                let records = match row.get(count) {
                    None | Some("null" | "\"\"" | "false" | "0" | "-0") => 1,
                    other => match int64(other) {
                        Yes(n) => n,
                        No => return No,
                    },
                };
                let Yes(at) = int64(row.get(time)) else {
                    return No;
                };
                let ts_ms = at.div_euclid(*unit); // Python's floor division
                let Some(key) = unquoted(&actor) else {
                    return No;
                };
                // AccessEvent's fields in order: id, actor, action, object type, records,
                // classification, time
                let mut out = b"{\"a\":[".to_vec();
                for part in [&id, &actor, &action, &object_type] {
                    out.extend_from_slice(part);
                    out.push(b',');
                }
                out.extend_from_slice(format!("{records},").as_bytes());
                out.extend_from_slice(&classification);
                out.extend_from_slice(
                    format!(
                        ",{ts_ms}],\"p\":{},\"n\":{},",
                        origin.partition, origin.partitions
                    )
                    .as_bytes(),
                );
                push_src(&mut out, origin);
                Yes(Some(Item {
                    partition: partition_of(key.as_bytes(), origin.by_actor),
                    value: out,
                    ts_ms: Some(ts_ms),
                }))
            }
            ItemSpec::Users {
                id,
                role,
                active,
                deactivated_at,
                unit,
            } => {
                let (Yes(user), Yes(role)) = (text(row.get(id)), text_or(row.get(role), "unknown"))
                else {
                    return No;
                };
                let active = match row.get(active) {
                    None | Some("true") => op != "d", // a deleted account is an inactive one
                    Some("false" | "null") => false,
                    _ => return No,
                };
                let deactivated = match row.get(deactivated_at) {
                    None | Some("null") => "null".to_owned(),
                    other => match int64(other) {
                        Yes(at) => at.div_euclid(*unit).to_string(),
                        No => return No,
                    },
                };
                let Some(key) = unquoted(&user) else {
                    return No;
                };
                let mut out = b"{\"u\":[".to_vec();
                out.extend_from_slice(&user);
                out.push(b',');
                out.extend_from_slice(&role);
                out.extend_from_slice(format!(",{active},{deactivated}],").as_bytes());
                push_src(&mut out, origin);
                Yes(Some(Item {
                    partition: partition_of(key.as_bytes(), origin.by_actor),
                    value: out,
                    ts_ms: None,
                }))
            }
        }
    }
}

/// The partition of a key under Kafka's default partitioner: murmur2 as Java's
/// `Utils.murmur2`, made positive, modulo the partition count.
pub fn partition_of(key: &[u8], partitions: i64) -> i64 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ key.len() as u32;
    let mut chunks = key.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        if tail.len() == 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    i64::from(h & 0x7fff_ffff) % partitions.max(1)
}
