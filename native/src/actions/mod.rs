//! Native implementations of the masking actions whose Python classes describe themselves
//! (`Action.native_spec`). Each answers `None` for an input it is not sure to treat exactly as
//! the Python action does (non-ASCII text under a case rule, floats, out-of-range dates …);
//! the engine then calls the Python action for that value.

mod email_domain;
mod generalize;
mod keep;
mod mask;
mod null;
mod pseudonymize;
mod redact;
mod scrub;
mod truncate;

use pyo3::PyObject;
use serde_json::Value;

use crate::spec::ActionSpec;
use email_domain::EmailDomain;
use generalize::{BucketDecimal, BucketNumber, Days, Micros};
use keep::Keep;
use mask::Mask;
use null::Null;
use pseudonymize::Pseudonymize;
use redact::Redact;
use scrub::Scrub;
use truncate::Truncate;

/// what Python's `str.isspace` calls whitespace, for ASCII
pub(crate) const PY_ASCII_SPACE: [char; 10] = [
    ' ', '\t', '\n', '\x0b', '\x0c', '\r', '\x1c', '\x1d', '\x1e', '\x1f',
];

pub trait NativeAction: Send + Sync {
    /// The masked value, or None: "let the Python action decide".
    fn apply(&mut self, value: &Value) -> Option<Value>;

    /// Write the masked value of a raw JSON token straight to `out` (no parsing, no
    /// allocation on the hot path); false: nothing written, call `apply`.
    fn write_raw(&mut self, _raw: &str, _out: &mut Vec<u8>) -> bool {
        false
    }
}

/// The native form of an action, or None when only the Python action can apply it.
pub fn build(spec: &ActionSpec, helpers: &[PyObject]) -> Option<Box<dyn NativeAction>> {
    Some(match spec {
        ActionSpec::Python | ActionSpec::PerSubject | ActionSpec::Encrypt { .. } => return None,
        ActionSpec::Keep { kinds } => Box::new(Keep {
            kinds: kinds.clone(),
        }),
        ActionSpec::Null => Box::new(Null),
        ActionSpec::Redact { value, keep_null } => Box::new(Redact {
            constant: Value::String(value.clone()),
            keep_null: *keep_null,
        }),
        ActionSpec::Pseudonymize {
            key_hex,
            prefix,
            length,
            normalize,
        } => Box::new(Pseudonymize::new(key_hex, prefix, *length, normalize)?),
        ActionSpec::Mask {
            first,
            last,
            char,
            fixed,
        } => Box::new(Mask {
            first: *first,
            last: *last,
            fill: char.chars().next()?,
            fixed: *fixed,
        }),
        ActionSpec::Truncate { keep } => Box::new(Truncate { keep: *keep }),
        ActionSpec::EmailDomain => Box::new(EmailDomain),
        ActionSpec::Days { level } => Box::new(Days { level: *level }),
        ActionSpec::Micros { level, implausible } => Box::new(Micros {
            level: *level,
            millis: false,
            implausible: *implausible,
        }),
        ActionSpec::Millis { level, implausible } => Box::new(Micros {
            level: *level,
            millis: true,
            implausible: *implausible,
        }),
        ActionSpec::BucketNumber { size, integral } => Box::new(BucketNumber {
            size: *size,
            integral: *integral,
        }),
        ActionSpec::Scrub {
            recognizers,
            defer_chars,
            defer_pattern,
            names,
        } => Box::new(Scrub::new(
            recognizers,
            helpers,
            defer_chars,
            defer_pattern.as_deref(),
            names.as_ref(),
        )?),
        ActionSpec::BucketDecimal { width_unscaled } => Box::new(BucketDecimal {
            width: i128::from(*width_unscaled),
        }),
    })
}
