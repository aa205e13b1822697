//! truncate: the first characters kept.

use super::NativeAction;
use serde_json::Value;

pub(crate) struct Truncate {
    pub(crate) keep: usize,
}
impl NativeAction for Truncate {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        match value {
            Value::Null => Some(Value::Null),
            Value::String(text) => Some(Value::String(text.chars().take(self.keep).collect())),
            _ => None,
        }
    }
}
