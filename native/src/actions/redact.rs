//! redact: a constant in place of the value.

use super::NativeAction;
use serde_json::Value;

pub(crate) struct Redact {
    pub(crate) constant: Value,
    pub(crate) keep_null: bool,
}
impl NativeAction for Redact {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        Some(if value.is_null() && self.keep_null {
            Value::Null
        } else {
            self.constant.clone()
        })
    }
}
