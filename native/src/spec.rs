//! The compiled rules as the Python side hands them over (JSON): routes, plans, actions.
//!
//! Python compiles and validates the rules; this crate only reads the result, so there is one
//! rule compiler and one source of truth for what an action means.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct EngineSpec {
    pub routes: Vec<RouteSpec>,
    pub plans: Vec<PlanSpec>,
    pub actions: Vec<ActionSpec>,
    /// Debezium's `source` members that are published, with the kinds each accepts
    pub source_fields: Vec<(String, Vec<String>)>,
    /// the published members of the `transaction` block, likewise
    pub transaction_fields: Vec<(String, Vec<String>)>,
    /// an event whose value holds one of these is left to Python (Debezium's placeholder of
    /// an unchanged TOAST column, which Python leaves out of the images)
    #[serde(default)]
    pub defer_markers: Vec<String>,
    /// a consumed message with one of these headers is left to Python (a schema id: Avro;
    /// Debezium's key headers), for every caller, not only those that call `set_headers`
    #[serde(default)]
    pub python_headers: Vec<String>,
    /// the known names' set (`NameSet`, index among the helpers): rows of routes with
    /// `name_columns` add to it before they are masked
    #[serde(default)]
    pub names: Option<usize>,
}

#[derive(Deserialize)]
pub struct RouteSpec {
    pub topic: String,
    /// the table's columns (every column that a rule names), shared by its plans
    pub columns: Vec<String>,
    pub views: Vec<ViewSpec>,
    /// hand back the unmasked row image too (the anomaly detectors read it)
    #[serde(default)]
    pub detected: bool,
    /// columns whose values are names of people (the rules' `entity: name`)
    #[serde(default)]
    pub name_columns: Vec<String>,
    /// a delete erases the row's data subject: its row comes back, Python shreds the keys
    #[serde(default)]
    pub erases: bool,
    /// in a batch, the unmasked row comes back only when this is set (default: `detected`):
    /// a table that only KPIs read has its facts made here instead (`facts`)
    #[serde(default)]
    pub batch_detected: Option<bool>,
    /// the KPIs whose facts the core makes from this table's changes in a batch
    /// (`KpiSource.native_spec`)
    #[serde(default)]
    pub facts: Vec<FactSpec>,
    /// what the anomaly detectors read of this table (the access log or the users table):
    /// a batch makes their by-actor items of its changes (`by_actor.rs`)
    #[serde(default)]
    pub by_actor: Option<crate::by_actor::ItemSpec>,
}

/// One KPI's fact of a change: its view's plan on the columns that the KPI reads.
#[derive(Deserialize)]
pub struct FactSpec {
    pub kpi: String,
    /// the plan (the KPI's view's, on its columns): its own index among the plans
    pub plan: usize,
    pub time: String,
    /// the event time's encoding in milliseconds (None: not one that a window reads, no fact)
    pub time_unit: Option<TimeUnit>,
    /// the event times that a window can hold, in milliseconds
    pub time_range: (i64, i64),
    pub group_by: Vec<String>,
    pub subject: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Days,
    /// a multiplication by this factor, as Python's `int(value * factor)` does it
    Factor(f64),
}

#[derive(Deserialize)]
pub struct ViewSpec {
    /// the output topic
    pub topic: String,
    /// the view format's layout (`ViewFormat.layout`): `envelope`, or `row` (the image plus
    /// the columns of ExtractNewRecordState's rewrite)
    pub layout: String,
    pub plan: usize,
}

#[derive(Deserialize)]
pub struct PlanSpec {
    /// a view of this plan publishes the before image of updates (flat views do not)
    pub shows_before: bool,
    pub steps: Vec<StepSpec>,
    /// key columns with the action that masks them (None: copied as they are)
    pub key_fields: Vec<(String, Option<usize>)>,
    /// the column that names the row's data subject, for `per_subject` actions
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Deserialize)]
pub struct StepSpec {
    pub name: String,
    /// the action (index into `actions`); None: the value is kept
    pub action: Option<usize>,
    /// a condition on another column: `then`/`otherwise` apply (None: the field is dropped)
    pub when: Option<WhenSpec>,
    pub then: Option<usize>,
    pub otherwise: Option<usize>,
}

#[derive(Deserialize)]
pub struct WhenSpec {
    pub field: String,
    pub not_null: bool,
    pub equals: Value,
}

/// What the native core knows of an action; `python` means: call the Python action.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionSpec {
    Python,
    /// call the Python action with the value and the row's data subject
    PerSubject,
    /// encrypt: seal texts under the row's data subject's key, which the Python key store
    /// gives (`data_key`: its index among the helpers); other values go to the Python action
    Encrypt {
        domain: String,
        data_key: usize,
    },
    /// a kept column: copied when its kind is one of `kinds` (`json_types.TYPES`)
    Keep {
        kinds: Vec<String>,
    },
    Null,
    Redact {
        value: String,
        keep_null: bool,
    },
    Pseudonymize {
        key_hex: String,
        prefix: String,
        length: usize,
        normalize: Vec<Normalizer>,
    },
    Mask {
        first: usize,
        last: usize,
        char: String,
        fixed: Option<usize>,
    },
    Truncate {
        keep: usize,
    },
    EmailDomain,
    Days {
        level: Level,
    },
    Micros {
        level: Level,
        /// (near epoch, far) in the encoding's unit: see `implausible` in generalize.py
        implausible: (i64, i64),
    },
    Millis {
        level: Level,
        implausible: (i64, i64),
    },
    BucketNumber {
        size: f64,
        integral: bool,
    },
    BucketDecimal {
        width_unscaled: i64,
    },
    /// free-text scrubbing: the recognizers' patterns run here, their Python `confirm` decides
    Scrub {
        recognizers: Vec<RecognizerSpec>,
        /// characters that the recognizers read normalised: a text holding one is Python's
        #[serde(default)]
        defer_chars: String,
        /// obfuscations (`(at)` …) that the recognizers read normalised: likewise
        #[serde(default)]
        defer_pattern: Option<String>,
        /// known names: the `NameSet` (index among the helpers) and what a finding becomes
        #[serde(default)]
        names: Option<(usize, String)>,
    },
}

/// One of scrub's recognizers (`processor/pii/recognizers.py`), in the order Python runs them.
#[derive(Deserialize)]
pub struct RecognizerSpec {
    /// Python's pattern source; `regex` compiles it or the action stays in Python
    pub pattern: String,
    pub ignore_case: bool,
    /// a substring every finding needs (a shortcut)
    pub required: Option<String>,
    /// a pattern that every text with a finding matches (a shortcut: one scan, then the
    /// recognizer's own pattern)
    #[serde(default)]
    pub required_any: Option<String>,
    /// the digits every finding has at least (a shortcut)
    pub min_digits: usize,
    /// index of the recognizer's `confirm` among the helpers (None: every match is a finding)
    pub confirm: Option<usize>,
    /// a finding is always the whole match (`confirm` answers yes or no, never a narrower span)
    pub whole: bool,
    /// what a finding becomes
    pub replacement: String,
}

/// generalize's `to` for dates and timestamps (buckets are their own actions)
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Year,
    Month,
    Day,
    Hour,
}

/// pseudonymize's `normalize` steps
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum Normalizer {
    Strip,
    Lower,
    Upper,
    Compact,
    Digits,
}
