//! generalize: dates, timestamps and numbers coarsened (`actions/generalize.py`).

use super::NativeAction;
use crate::civil::{self, MICROS_PER_DAY};
use crate::spec::Level;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Number, Value};

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// generalize, encoding date: days since the epoch → first day of the year or month
pub(crate) struct Days {
    pub(crate) level: Level,
}
impl NativeAction for Days {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        if value.is_null() {
            return Some(Value::Null);
        }
        let days = value.as_i64()?;
        civil::coarsen(days, self.level).map(Value::from)
    }
}

/// generalize, encodings micro_timestamp and milli_timestamp (coarsened as micros, like Python)
pub(crate) struct Micros {
    pub(crate) level: Level,
    pub(crate) millis: bool,
    /// |raw| below the first (not 0) or above the second is another unit: Python refuses it
    pub(crate) implausible: (i64, i64),
}
impl NativeAction for Micros {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        if value.is_null() {
            return Some(Value::Null);
        }
        let raw = value.as_i64()?;
        if raw == i64::MIN || raw == i64::MAX {
            return Some(value.clone()); // PostgreSQL's -infinity/infinity: says nothing
        }
        let (near, far) = self.implausible;
        let size = raw.unsigned_abs();
        if (raw != 0 && size < near as u64) || size > far as u64 {
            return None; // another unit than declared: Python dead-letters it
        }
        let micros = if self.millis {
            raw.checked_mul(1000)?
        } else {
            raw
        };
        let level = self.level;
        let coarse = if !self.millis && (level == Level::Hour || level == Level::Day) {
            // Python does hours and days of micro-timestamps as plain integer arithmetic
            let unit = if level == Level::Hour {
                MICROS_PER_HOUR
            } else {
                MICROS_PER_DAY
            };
            micros.checked_sub(micros.rem_euclid(unit))?
        } else {
            let day = micros.div_euclid(MICROS_PER_DAY);
            if !civil::in_range(day) {
                return None; // Python's datetime refuses it: its error, its message
            }
            match level {
                Level::Hour => micros - micros.rem_euclid(MICROS_PER_HOUR),
                _ => civil::coarsen(day, level)?.checked_mul(MICROS_PER_DAY)?,
            }
        };
        Some(Value::from(if self.millis {
            coarse.div_euclid(1000)
        } else {
            coarse
        }))
    }
}

pub(crate) struct BucketNumber {
    pub(crate) size: f64,
    pub(crate) integral: bool,
}
impl NativeAction for BucketNumber {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let Value::Number(n) = value else {
            return if value.is_null() {
                Some(Value::Null)
            } else {
                None
            };
        };
        let is_int = n.is_i64() || n.is_u64();
        let low = (n.as_f64()? / self.size).floor() * self.size;
        if !low.is_finite() {
            return None;
        }
        if self.integral && is_int {
            return (low.abs() < 9.2e18).then(|| Value::from(low as i64));
        }
        Number::from_f64(low).map(Value::Number)
    }
}

/// generalize to a bucket of a Debezium Decimal (base64 two's complement, scale from the rules)
pub(crate) struct BucketDecimal {
    pub(crate) width: i128,
}
impl NativeAction for BucketDecimal {
    fn apply(&mut self, value: &Value) -> Option<Value> {
        let text = match value {
            Value::Null => return Some(Value::Null),
            Value::String(text) => text,
            _ => return None,
        };
        let raw = STANDARD.decode(text).ok()?;
        if raw.len() > 16 {
            return None;
        }
        let mut buf = [if raw.first().is_some_and(|b| b & 0x80 != 0) {
            0xff
        } else {
            0
        }; 16];
        buf[16 - raw.len()..].copy_from_slice(&raw);
        let unscaled = i128::from_be_bytes(buf);
        // within 28 significant digits Python's Decimal division is exact enough to floor alike
        if unscaled.unsigned_abs() >= 10u128.pow(18) || self.width <= 0 || self.width >= 100_000_000
        {
            return None;
        }
        let low = unscaled.div_euclid(self.width) * self.width;
        let bits = 128 - low.unsigned_abs().leading_zeros() as usize;
        let length = ((bits + 8) / 8).max(1);
        Some(Value::String(
            STANDARD.encode(&low.to_be_bytes()[16 - length..]),
        ))
    }
}
