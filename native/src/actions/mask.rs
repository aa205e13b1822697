//! mask: characters replaced, the first or last few kept.

use super::NativeAction;
use serde_json::Value;

pub(crate) struct Mask {
    pub(crate) first: usize,
    pub(crate) last: usize,
    pub(crate) fill: char,
    pub(crate) fixed: Option<usize>,
}
impl NativeAction for Mask {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let text = match value {
            Value::Null => return Some(Value::Null),
            Value::String(text) => text,
            _ => return None, // Python's str() of a number or bool
        };
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let shown = self.first + self.last;
        let fill = |count: usize| std::iter::repeat_n(self.fill, count);
        let out: String = if n <= shown {
            fill(self.fixed.unwrap_or(n)).collect()
        } else {
            chars[..self.first]
                .iter()
                .copied()
                .chain(fill(self.fixed.unwrap_or(n - shown)))
                .chain(chars[n - self.last..].iter().copied())
                .collect()
        };
        Some(Value::String(out))
    }
}
