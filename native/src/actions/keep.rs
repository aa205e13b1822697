//! keep: a column copied as it came, when its kind is one the rules allow.

use super::NativeAction;
use crate::json;
use serde_json::Value;

/// keep: the value as it came, when it is of its declared kinds; anything else (another
/// kind, a nested value whose depth Python checks) goes to the Python action, which refuses
/// it or returns it
pub(crate) struct Keep {
    pub(crate) kinds: Vec<String>,
}
impl Keep {
    fn accepts(&self, kind: &str) -> bool {
        kind != "array" && kind != "object" && self.kinds.iter().any(|k| k == kind)
    }
}
impl NativeAction for Keep {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "float",
            Value::String(_) => "string",
            _ => return None,
        };
        self.accepts(kind).then(|| value.clone())
    }

    /// copied as it came when orjson would write these very bytes (a message key's bytes
    /// decide its partition)
    fn write_raw(&mut self, raw: &str, out: &mut Vec<u8>) -> bool {
        let copy = self.accepts(json::kind(raw))
            && (json::is_canonical(raw) || matches!(raw, "true" | "false" | "null"));
        if copy {
            out.extend_from_slice(raw.as_bytes());
        }
        copy
    }
}
