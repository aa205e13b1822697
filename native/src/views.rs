//! The view layouts (`formats/views/`): the masked envelope, or the row with the columns of
//! ExtractNewRecordState's rewrite; the spec names each view's layout.

use serde_json::Value;

use crate::envelope::Event;
use crate::json;
use crate::plan::Masked;

pub(crate) fn write_image(out: &mut Vec<u8>, members: Option<&Vec<u8>>) {
    match members {
        Some(members) => {
            out.push(b'{');
            out.extend_from_slice(members);
            out.push(b'}');
        }
        None => out.extend_from_slice(b"null"),
    }
}

pub(crate) fn debezium(
    event: &Event<'_>,
    source: &[u8],
    txn: Option<&[u8]>,
    done: &Masked,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"before\":");
    write_image(&mut out, done.before.as_ref());
    out.extend_from_slice(b",\"after\":");
    write_image(&mut out, done.after.as_ref());
    out.extend_from_slice(b",\"source\":");
    out.extend_from_slice(source);
    out.extend_from_slice(b",\"op\":");
    json::write_str(&mut out, &event.op);
    out.extend_from_slice(b",\"ts_ms\":");
    json::write_value(&mut out, &event.ts_ms);
    if let Some(txn) = txn {
        out.extend_from_slice(b",\"transaction\":");
        out.extend_from_slice(txn);
    }
    out.push(b'}');
    out
}

/// Debezium's ExtractNewRecordState with delete.handling.mode=rewrite.
pub(crate) fn row_layout(
    op: &str,
    source_ts: Option<&str>,
    ts_ms: &Value,
    done: &Masked,
) -> Vec<u8> {
    let deleted = op == "d";
    let members = if deleted {
        done.before.as_ref()
    } else {
        done.after.as_ref()
    };
    let mut out = Vec::with_capacity(1024);
    out.push(b'{');
    if let Some(members) = members.filter(|m| !m.is_empty()) {
        out.extend_from_slice(members);
        out.push(b',');
    }
    out.extend_from_slice(b"\"__op\":");
    json::write_str(&mut out, op);
    out.extend_from_slice(b",\"__source_ts_ms\":");
    match source_ts {
        Some(raw) => out.extend_from_slice(raw.as_bytes()),
        None => json::write_value(&mut out, ts_ms),
    }
    out.extend_from_slice(if deleted {
        b",\"__deleted\":true}"
    } else {
        b",\"__deleted\":false}"
    });
    out
}
