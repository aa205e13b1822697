//! A Debezium change event read from JSON (`formats/envelope.py`), its members unparsed: the
//! envelope, its images, the key, and the allow-listed metadata blocks.

use serde_json::Value;

use crate::engine::Defer;
use crate::json::{self, Member, Obj};

/// allow-listed members of a metadata block, with the kinds each accepts (from the spec)
pub(crate) type Fields = Vec<(String, Vec<String>)>;
pub(crate) const OPS: [&str; 5] = ["c", "u", "d", "r", "t"];

/// A Debezium change event read from JSON, its members unparsed.
pub(crate) struct Event<'a> {
    pub(crate) op: String,
    pub(crate) envelope: Obj<'a>,
    pub(crate) before: Option<Obj<'a>>,
    pub(crate) after: Option<Obj<'a>>,
    pub(crate) source: Option<Obj<'a>>,
    /// the envelope's ts_ms when it is an integer (else null, as Python has it)
    pub(crate) ts_ms: Value,
}

impl<'a> Event<'a> {
    /// The envelope, unwrapped from {"schema", "payload"}; an envelope that Python's
    /// `parse_envelope` would refuse is deferred (Python names the dead-letter reason).
    pub(crate) fn read(text: &'a str) -> Result<Self, Defer> {
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
pub(crate) fn read_key(text: &str) -> Result<Option<Obj<'_>>, Defer> {
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

/// Kafka's bytes as text (SIMD-checked: every event's key and value pass here).
pub(crate) fn utf8(data: &[u8]) -> Result<&str, Defer> {
    simdutf8::basic::from_utf8(data).map_err(|_| Defer)
}

/// Kafka Connect's JSON converter with schemas wraps the event in {"schema", "payload"}.
pub(crate) fn unwrapped(obj: &Obj<'_>) -> bool {
    let names_ok = obj
        .0
        .iter()
        .all(|m| m.name == "schema" || m.name == "payload");
    names_ok && obj.distinct_len() == 2
}

pub(crate) fn payload<'o, 'a>(wrapper: &'o mut Obj<'a>) -> Option<&'o mut Member<'a>> {
    wrapper.member_mut("payload")
}

/// An image: absent or null is None, an object its members; anything else goes to Python.
pub(crate) fn image<'a>(envelope: &mut Obj<'a>, name: &str) -> Result<Option<Obj<'a>>, Defer> {
    match envelope.member_mut(name) {
        None => Ok(None),
        Some(m) if json::is_null(m.raw) => Ok(None),
        Some(m) => m.obj.take().map(Some).ok_or(Defer),
    }
}

/// `{name: value}` of the listed members that the object has, in the list's order; a member
/// of a kind its entry does not accept is `Defer` (Python names the dead letter).
pub(crate) fn reduced(obj: Option<&Obj<'_>>, fields: &Fields) -> Result<Vec<u8>, Defer> {
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
