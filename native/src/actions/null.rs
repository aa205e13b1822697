//! null: the column published as null.

use super::NativeAction;
use serde_json::Value;

pub(crate) struct Null;
impl NativeAction for Null {
    fn apply(&mut self, _: &Value) -> Option<Value> {
        Some(Value::Null)
    }
}
