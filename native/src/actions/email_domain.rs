//! email_domain: only the domain of an e-mail address.

use super::NativeAction;
use super::PY_ASCII_SPACE;
use serde_json::Value;

pub(crate) struct EmailDomain;
impl NativeAction for EmailDomain {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let Value::String(text) = value else {
            return Some(Value::Null);
        };
        let Some(at) = text.rfind('@') else {
            return Some(Value::Null);
        };
        let domain = &text[at + 1..];
        if domain.is_empty() {
            return Some(Value::Null);
        }
        if !domain.is_ascii() {
            return None;
        }
        Some(Value::String(
            domain
                .trim_matches(&PY_ASCII_SPACE[..])
                .to_ascii_lowercase(),
        ))
    }
}
