//! `encrypt` in the core: AES-SIV under the row's data subject's own data key, written as
//! `processor/datakeys.py` `seal` writes it (`enc:<field domain>:<data key id>:<base64url>`).
//!
//! The key store stays in Python (it makes, wraps, commits and shreds the keys with the
//! transaction): the core asks it for the subject's key and does the rest — the JSON of the
//! value, the cipher, the text — that Python's `seal` did per value.

use aes_siv::siv::Aes256Siv;
use aes_siv::KeyInit;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pyo3::prelude::*;
use serde_json::Value;

use crate::json;
use crate::pyjson;

/// What sealing a value gave.
pub(crate) enum Sealed {
    /// the published ciphertext
    Text(String),
    /// published as null: no value, or a row without a data subject
    Null,
    /// the Python action decides (a value that is not a text)
    Python,
}

pub(crate) struct Sealer {
    /// the field domain: the associated data of the ciphertext, and part of its text
    domain: String,
    /// Python's `(subject) -> (data key id, data key) | None` (the key store; None: the row
    /// has no subject)
    data_key: PyObject,
}

impl Sealer {
    /// None when `data_key` is not among the helpers (then Python seals every value).
    pub(crate) fn new(
        py: Python<'_>,
        domain: &str,
        data_key: usize,
        helpers: &[PyObject],
    ) -> Option<Self> {
        Some(Self {
            domain: domain.to_owned(),
            data_key: helpers.get(data_key)?.clone_ref(py),
        })
    }

    /// `value` sealed under `subject`'s data key, in the order of Python's `Encrypt.apply`: a
    /// null stays null, a row without a subject publishes null. Only texts are sealed here
    /// (the plaintext is the value's JSON, which orjson writes for texts as the core does).
    pub(crate) fn seal(&self, py: Python<'_>, value: &Value, subject: &Value) -> Sealed {
        let text = match value {
            Value::Null => return Sealed::Null,
            Value::String(text) => text,
            _ => return Sealed::Python,
        };
        let Ok(who) = pyjson::to_py(py, subject) else {
            return Sealed::Python;
        };
        let Ok(found) = self.data_key.call1(py, (who,)) else {
            return Sealed::Python; // the key store's error, raised again by the Python action
        };
        if found.is_none(py) {
            return Sealed::Null;
        }
        let Ok((key_id, key)) = found.extract::<(String, Vec<u8>)>(py) else {
            return Sealed::Python;
        };
        let Ok(mut cipher) = Aes256Siv::new_from_slice(&key) else {
            return Sealed::Python;
        };
        let mut plaintext = Vec::with_capacity(text.len() + 2);
        json::write_str(&mut plaintext, text);
        let Ok(sealed) = cipher.encrypt([self.domain.as_bytes()], &plaintext) else {
            return Sealed::Python;
        };
        Sealed::Text(format!(
            "enc:{}:{key_id}:{}",
            self.domain,
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }
}

#[cfg(test)]
mod tests {
    use aes_siv::siv::Aes256Siv;
    use aes_siv::KeyInit;

    /// The agreement with Python's `cryptography` (the same text under the same key) is
    /// tested from Python (`tests/masking/test_native_engine.py`). Here: deterministic, and
    /// bound to the associated data.
    #[test]
    fn deterministic_and_bound_to_the_domain() {
        let key = [7u8; 64];
        let seal = |ad: &[u8]| {
            Aes256Siv::new_from_slice(&key)
                .unwrap()
                .encrypt([ad], b"\"+49 30 1234567\"")
                .unwrap()
        };
        assert_eq!(seal(b"phone"), seal(b"phone"));
        assert_ne!(seal(b"phone"), seal(b"mobile"));
        assert_eq!(seal(b"phone").len(), 16 + 16); // the SIV, then the ciphertext
    }
}
