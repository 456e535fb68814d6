//! The one way a scenario writes a fault: a `[[faults]]` table that says
//! what (`fault = "..."` and its fields), where (the target follows from the
//! fault: a stream, the TCP link, the network, the server process, its pipes)
//! and when (`from_step` and `until_step`; a stream fault's `after` events of
//! the stream it selects; a process fault's `after_events`, `after_polls` or
//! `after_server_events` of the call it selects).
//!
//! ```toml
//! [[faults]]                    # a stream: cut the first call of the elicits role after 2 events
//! fault = "cut"
//! after = 2
//! select = { role = "elicits", occurrence = 1 }
//!
//! [[faults]]                    # the TCP link: reset from step 1, cleared when step 2 starts
//! fault = "reset_peer"
//! direction = "upstream"
//! attributes = { timeout = 0 }
//! from_step = 1
//! until_step = 2
//!
//! [[faults]]                    # the server process: SIGKILL and restart after 3 events of the call
//! fault = "kill"
//! select = { role = "long_running" }
//! after_events = 3
//! ```
//!
//! The forms this table replaces (`toxics`, and the `fault`, `toxic`,
//! `remove_toxic`, `network` and `pipe` steps) still read for one release:
//! [`upgrade_old_forms`] turns them into entries and says so in a note.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use mcp_harness_chaos::{FaultRule, StreamSelector, Toxic};
use mcp_harness_wire::fault::PipeFault;

use super::{CallStep, Step};

/// What a `[[faults]]` entry does, and to which target.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultWhat {
    /// A fault on the streams of the HTTP exchanges its selector picks.
    Stream(FaultRule),
    /// A TCP toxic on the link to the server, in Toxiproxy's JSON form
    /// (`type`, `stream`, `attributes`, `toxicity`, `name`), checked at load.
    Tcp(Value),
    /// The network to the server down.
    NetworkDown,
    /// SIGKILL the server during the calls its selector picks, then restart it.
    Kill(ProcessTrigger),
    /// stdio: close the server's stdin during the calls its selector picks.
    CloseStdin(ProcessTrigger),
    /// stdio: holds on the server's pipes.
    Pipe(PipeFault),
}

/// The calls a process fault acts in, and when in each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessTrigger {
    /// The calls: `role`, `tool`, `progress_token`, `occurrence`.
    pub select: StreamSelector,
    /// After the client got this many events of the call.
    pub after_events: Option<u32>,
    /// 2026-07-28 tasks: after this many `tasks/get` polls of the call's task.
    pub after_polls: Option<u32>,
    /// With `after_events`: first wait (up to 5 s) until the server has sent
    /// this many events of the call, as the proxy recorded them.
    pub after_server_events: Option<u32>,
}

impl ProcessTrigger {
    /// Whether it picks `call` (its tool as the scenario names it, a role or
    /// a tool), before counting occurrences.
    pub fn picks(&self, call: &CallStep) -> bool {
        let tool = self.select.role.as_ref().or(self.select.tool.as_ref());
        tool.is_none_or(|t| *t == call.tool)
            && self
                .select
                .progress_token
                .as_ref()
                .is_none_or(|token| call.progress_token.as_ref() == Some(token))
    }
}

/// One fault of a scenario: what, and when it is in force.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEntry {
    /// What it does.
    pub what: FaultWhat,
    /// Put in force when this step (from 1) starts; from the start of the case
    /// (before the client's first request) when absent.
    pub from_step: Option<usize>,
    /// Cleared when this step starts; in force to the end when absent.
    pub until_step: Option<usize>,
}

impl FaultEntry {
    /// An entry in force from the start to the end.
    pub fn from_start(what: FaultWhat) -> Self {
        Self {
            what,
            from_step: None,
            until_step: None,
        }
    }

    /// The fault's name, as `fault = "..."` writes it.
    pub fn name(&self) -> String {
        match &self.what {
            FaultWhat::Stream(rule) => mcp_harness_wire::fault::Fault::stream(rule.fault.clone())
                .name()
                .to_owned(),
            FaultWhat::Tcp(body) => body["type"].as_str().unwrap_or("toxic").to_owned(),
            FaultWhat::NetworkDown => NETWORK_DOWN.into(),
            FaultWhat::Kill(_) => KILL.into(),
            FaultWhat::CloseStdin(_) => CLOSE_STDIN.into(),
            FaultWhat::Pipe(_) => PIPE.into(),
        }
    }

    /// The TCP toxic, for a `Tcp` entry (checked when the entry was read).
    pub fn toxic(&self) -> Option<Toxic> {
        match &self.what {
            FaultWhat::Tcp(body) => Toxic::from_json(body).ok(),
            _ => None,
        }
    }

    /// Whether it acts in calls (a process fault) rather than at a step.
    pub fn acts_in_calls(&self) -> bool {
        matches!(self.what, FaultWhat::Kill(_) | FaultWhat::CloseStdin(_))
    }

    /// Whether it needs the HTTP chaos proxy (streams, TCP, network, or a
    /// kill that counts the server's events on SSE).
    pub fn needs_http(&self) -> bool {
        match &self.what {
            FaultWhat::Stream(_) | FaultWhat::Tcp(_) | FaultWhat::NetworkDown => true,
            FaultWhat::Kill(trigger) => trigger.after_server_events.is_some(),
            FaultWhat::CloseStdin(_) | FaultWhat::Pipe(_) => false,
        }
    }

    /// Whether it needs a stdio target (its pipes or stdin).
    pub fn needs_stdio(&self) -> bool {
        matches!(self.what, FaultWhat::CloseStdin(_) | FaultWhat::Pipe(_))
    }

    /// The selector a role in it would name, if any.
    pub fn selector(&self) -> Option<&StreamSelector> {
        match &self.what {
            FaultWhat::Stream(rule) => Some(&rule.select),
            FaultWhat::Kill(t) | FaultWhat::CloseStdin(t) => Some(&t.select),
            _ => None,
        }
    }
}

const NETWORK_DOWN: &str = "network_down";
const KILL: &str = "kill";
const CLOSE_STDIN: &str = "close_stdin";
const PIPE: &str = "pipe";
/// The names of a stream fault (`StreamFault`'s tags) or of a toxic
/// (`ToxicType`), read from their JSON Schemas, so a variant added there is
/// written here with no list to keep.
fn names_in_schema<T: JsonSchema>() -> Vec<String> {
    fn collect(value: &Value, names: &mut Vec<String>) {
        let name = value
            .pointer("/properties/fault/const")
            .or_else(|| value.get("const"));
        if let Some(Value::String(name)) = name {
            names.push(name.clone());
        }
        for listed in [value.pointer("/properties/fault/enum"), value.get("enum")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
        {
            names.extend(listed.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        for variants in ["oneOf", "anyOf"].iter().filter_map(|k| value.get(k)) {
            for variant in variants.as_array().into_iter().flatten() {
                collect(variant, names);
            }
        }
    }
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    let mut names = Vec::new();
    collect(&schema, &mut names);
    names
}

fn stream_faults() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(names_in_schema::<mcp_harness_chaos::StreamFault>)
}

fn tcp_faults() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(names_in_schema::<mcp_harness_wire::fault::ToxicType>)
}

/// Every name `fault = "..."` accepts.
pub fn fault_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = stream_faults().iter().map(String::as_str).collect();
    names.extend(tcp_faults().iter().map(String::as_str));
    names.extend([NETWORK_DOWN, KILL, CLOSE_STDIN, PIPE]);
    names
}

fn take_step(map: &mut Map<String, Value>, key: &str) -> Result<Option<usize>, String> {
    match map.remove(key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n >= 1)
            .map(|n| Some(n as usize))
            .ok_or_else(|| format!("field `{key}`: expected a step number from 1, found {value}")),
    }
}

fn take_count(map: &mut Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match map.remove(key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("field `{key}`: expected a count, found {value}")),
    }
}

fn refuse_rest(map: &Map<String, Value>, fault: &str, allowed: &[&str]) -> Result<(), String> {
    match map.keys().next() {
        None => Ok(()),
        Some(key) => Err(format!(
            "unknown field `{key}` for fault `{fault}`, expected {}",
            if allowed.is_empty() {
                "no other field".to_owned()
            } else {
                format!("one of `{}`", allowed.join("`, `"))
            }
        )),
    }
}

impl FaultEntry {
    /// Read one `[[faults]]` table.
    pub fn from_map(mut map: Map<String, Value>) -> Result<Self, String> {
        let from_step = take_step(&mut map, "from_step")?;
        let until_step = take_step(&mut map, "until_step")?;
        let name = match map.get("fault") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => return Err(format!("field `fault`: expected a name, found {other}")),
            None => {
                return Err(format!(
                    "missing field `fault` (hint: one of {})",
                    fault_names().join(", ")
                ));
            }
        };
        let what = if stream_faults().contains(&name) {
            let rule: FaultRule =
                serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
            FaultWhat::Stream(rule)
        } else if tcp_faults().contains(&name) {
            map.remove("fault");
            let mut body = Map::new();
            body.insert("type".into(), json!(name));
            for (key, as_key) in [
                ("direction", "stream"),
                ("attributes", "attributes"),
                ("toxicity", "toxicity"),
                ("name", "name"),
            ] {
                if let Some(value) = map.remove(key) {
                    body.insert(as_key.into(), value);
                }
            }
            refuse_rest(
                &map,
                &name,
                &[
                    "direction",
                    "attributes",
                    "toxicity",
                    "name",
                    "from_step",
                    "until_step",
                ],
            )?;
            let body = Value::Object(body);
            Toxic::from_json(&body).map_err(|e| format!("fault `{name}`: {e}"))?;
            FaultWhat::Tcp(body)
        } else if name == NETWORK_DOWN {
            map.remove("fault");
            refuse_rest(&map, &name, &["from_step", "until_step"])?;
            FaultWhat::NetworkDown
        } else if name == KILL || name == CLOSE_STDIN {
            map.remove("fault");
            let select: StreamSelector = match map.remove("select") {
                Some(value) => {
                    serde_json::from_value(value).map_err(|e| format!("field `select`: {e}"))?
                }
                None => StreamSelector::default(),
            };
            if select.http_method.is_some()
                || select.rpc_method.is_some()
                || select.resume.is_some()
            {
                return Err(format!(
                    "field `select`: fault `{name}` selects calls (`role`, `tool`, `progress_token`, `occurrence`), not exchanges"
                ));
            }
            let trigger = ProcessTrigger {
                select,
                after_events: take_count(&mut map, "after_events")?,
                after_polls: take_count(&mut map, "after_polls")?,
                after_server_events: take_count(&mut map, "after_server_events")?,
            };
            if name == KILL {
                refuse_rest(
                    &map,
                    &name,
                    &[
                        "select",
                        "after_events",
                        "after_polls",
                        "after_server_events",
                    ],
                )?;
                if trigger.after_events.is_none() && trigger.after_polls.is_none() {
                    return Err(
                        "fault `kill` needs `after_events` or `after_polls` (when in the call to kill the server)".into(),
                    );
                }
                if trigger.after_server_events.is_some() && trigger.after_events.is_none() {
                    return Err("field `after_server_events` goes with `after_events`".into());
                }
                FaultWhat::Kill(trigger)
            } else {
                refuse_rest(&map, &name, &["select", "after_events"])?;
                if trigger.after_events.is_none() {
                    return Err("fault `close_stdin` needs `after_events`".into());
                }
                FaultWhat::CloseStdin(trigger)
            }
        } else if name == PIPE {
            map.remove("fault");
            let allowed = [
                "delay_to_server_ms",
                "delay_to_client_ms",
                "stall_to_server_ms",
                "stall_to_client_ms",
                "split_writes_ms",
            ];
            let mut holds = [0u64; 5];
            for (hold, key) in holds.iter_mut().zip(allowed) {
                if let Some(value) = map.remove(key) {
                    *hold = value.as_u64().ok_or_else(|| {
                        format!("field `{key}`: expected milliseconds, found {value}")
                    })?;
                }
            }
            refuse_rest(&map, &name, &allowed)?;
            let [
                delay_to_server_ms,
                delay_to_client_ms,
                stall_to_server_ms,
                stall_to_client_ms,
                split_writes_ms,
            ] = holds;
            FaultWhat::Pipe(PipeFault {
                delay_to_server_ms,
                delay_to_client_ms,
                stall_to_server_ms,
                stall_to_client_ms,
                split_writes_ms,
            })
        } else {
            return Err(format!(
                "unknown fault `{name}` (hint: one of {})",
                fault_names().join(", ")
            ));
        };
        if matches!(what, FaultWhat::Kill(_) | FaultWhat::CloseStdin(_))
            && (from_step.is_some() || until_step.is_some())
        {
            return Err(format!(
                "fault `{name}` acts in the calls it selects: `from_step` and `until_step` do not apply (hint: `after_events`)"
            ));
        }
        if let (Some(from), Some(until)) = (from_step, until_step)
            && until <= from
        {
            return Err(format!(
                "field `until_step`: {until} is not after `from_step` {from}"
            ));
        }
        Ok(Self {
            what,
            from_step,
            until_step,
        })
    }

    /// The table it is read from.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = match &self.what {
            FaultWhat::Stream(rule) => match serde_json::to_value(rule) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            },
            FaultWhat::Tcp(body) => {
                let mut map = Map::new();
                map.insert("fault".into(), body["type"].clone());
                for (key, as_key) in [
                    ("stream", "direction"),
                    ("attributes", "attributes"),
                    ("toxicity", "toxicity"),
                    ("name", "name"),
                ] {
                    if let Some(value) = body.get(key) {
                        map.insert(as_key.into(), value.clone());
                    }
                }
                map
            }
            FaultWhat::NetworkDown => Map::from_iter([("fault".into(), json!(NETWORK_DOWN))]),
            FaultWhat::Kill(trigger) | FaultWhat::CloseStdin(trigger) => {
                let mut map = Map::from_iter([("fault".into(), json!(self.name()))]);
                if trigger.select != StreamSelector::default() {
                    map.insert("select".into(), json!(trigger.select));
                }
                for (key, value) in [
                    ("after_events", trigger.after_events),
                    ("after_polls", trigger.after_polls),
                    ("after_server_events", trigger.after_server_events),
                ] {
                    if let Some(n) = value {
                        map.insert(key.into(), json!(n));
                    }
                }
                map
            }
            FaultWhat::Pipe(holds) => {
                let mut map = Map::from_iter([("fault".into(), json!(PIPE))]);
                if let Ok(Value::Object(fields)) = serde_json::to_value(holds) {
                    map.extend(fields);
                }
                map
            }
        };
        if let Some(step) = self.from_step {
            map.insert("from_step".into(), json!(step));
        }
        if let Some(step) = self.until_step {
            map.insert("until_step".into(), json!(step));
        }
        map
    }
}

impl<'de> Deserialize<'de> for FaultEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        Self::from_map(map).map_err(D::Error::custom)
    }
}

impl Serialize for FaultEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

/// The JSON Schema of a `[[faults]]` table, for editors: the fields any
/// fault takes (the loader checks which go with which `fault`).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[schemars(rename = "FaultEntry")]
struct FaultEntrySchema {
    /// What: a stream fault (`cut`, `partition`, `cut_before_response`,
    /// `partition_before_response`, `stall`, `delay`, `close_with_retry`,
    /// `hold_response`, `drop_request`, `drop_response`, `answer`), a TCP
    /// toxic (`latency`, `bandwidth`, `slow_close`, `timeout`, `reset_peer`,
    /// `slicer`, `limit_data`), `network_down`, `kill` (SIGKILL and restart
    /// the server mid-call), `close_stdin` or `pipe` (stdio).
    fault: String,
    /// Put in force when this step (from 1) starts; from the start of the
    /// case when absent. Not for `kill` and `close_stdin`, which act in the
    /// calls they select.
    from_step: Option<usize>,
    /// Cleared when this step starts; in force to the end when absent.
    until_step: Option<usize>,
    /// Stream faults: which exchanges. `kill`, `close_stdin`: which calls
    /// (`role`, `tool`, `progress_token`, `occurrence`).
    select: Option<StreamSelector>,
    /// Stream faults: events delivered first (`cut`, `partition`, `stall`,
    /// `close_with_retry`).
    after: Option<u32>,
    /// `stall`, `delay`: milliseconds.
    ms: Option<u64>,
    /// `close_with_retry`: the `retry:` value sent, ms.
    retry_ms: Option<u64>,
    /// `hold_response`: when to let the response go.
    until: Option<Value>,
    /// `answer`: the HTTP status the proxy answers with.
    status: Option<u16>,
    /// TCP toxics: `downstream` (server to client, the default) or `upstream`.
    direction: Option<String>,
    /// TCP toxics: Toxiproxy's attributes, e.g. `{ latency = 300, jitter = 0 }`.
    attributes: Option<Map<String, Value>>,
    /// TCP toxics: the share of connections affected, 0 to 1 (1 by default).
    toxicity: Option<f32>,
    /// TCP toxics: a name (`{fault}_{direction}` by default).
    name: Option<String>,
    /// `kill`, `close_stdin`: after the client got this many events of the call.
    after_events: Option<u32>,
    /// `kill`: after this many `tasks/get` polls of the call's task (2026-07-28).
    after_polls: Option<u32>,
    /// `kill` with `after_events`: first wait until the server sent this many
    /// events of the call, as the proxy recorded them.
    after_server_events: Option<u32>,
    /// `pipe`: hold each line to the server, ms.
    delay_to_server_ms: Option<u64>,
    /// `pipe`: hold each line to the client, ms.
    delay_to_client_ms: Option<u64>,
    /// `pipe`: hold the next line to the server, ms.
    stall_to_server_ms: Option<u64>,
    /// `pipe`: hold the next line to the client, ms.
    stall_to_client_ms: Option<u64>,
    /// `pipe`: write each client line in two parts this far apart, ms.
    split_writes_ms: Option<u64>,
}

impl JsonSchema for FaultEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FaultEntry".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        FaultEntrySchema::json_schema(generator)
    }
}

/// Turn the forms `[[faults]]` replaces into entries: `toxics` into TCP
/// entries from the start, and the `fault`, `toxic`, `remove_toxic`,
/// `network` and `pipe` steps into entries in force from the step after them
/// (they are taken out of `steps`). Returns a note per old form met.
pub fn upgrade_old_forms(
    faults: &mut Vec<FaultEntry>,
    toxics: &mut Vec<Value>,
    steps: &mut Vec<Step>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let written = faults.len();
    if !toxics.is_empty() {
        notes.push(
            "`toxics` is deprecated: write each toxic as a `[[faults]]` table (`fault = \"latency\"`, `direction`, `attributes`)".to_owned(),
        );
    }
    // The entry still in force of each clearable kind: toxic name, network, pipes.
    let mut open_toxics: BTreeMap<String, usize> = BTreeMap::new();
    for body in toxics.drain(..) {
        if let Ok(toxic) = Toxic::from_json(&body) {
            open_toxics.insert(toxic.name, faults.len());
        }
        faults.push(FaultEntry::from_start(FaultWhat::Tcp(body)));
    }
    let old: Vec<Step> = std::mem::take(steps);
    let mut open_network: Option<usize> = None;
    let mut open_pipe: Option<usize> = None;
    for step in old {
        // The step the fault takes effect at: the next one left in `steps`.
        let next = steps.len() + 1;
        let form = match step {
            Step::Fault { rule } => {
                faults.push(FaultEntry {
                    what: FaultWhat::Stream(rule),
                    from_step: Some(next),
                    until_step: None,
                });
                "fault"
            }
            Step::Toxic { toxic } => {
                let name = Toxic::from_json(&toxic).map(|t| t.name).unwrap_or_default();
                open_toxics.insert(name, faults.len());
                faults.push(FaultEntry {
                    what: FaultWhat::Tcp(toxic),
                    from_step: Some(next),
                    until_step: None,
                });
                "toxic"
            }
            Step::RemoveToxic { name } => {
                if let Some(at) = open_toxics.remove(&name) {
                    faults[at].until_step = Some(next);
                }
                "remove_toxic"
            }
            Step::Network { up: false } => {
                if open_network.is_none() {
                    open_network = Some(faults.len());
                    faults.push(FaultEntry {
                        what: FaultWhat::NetworkDown,
                        from_step: Some(next),
                        until_step: None,
                    });
                }
                "network"
            }
            Step::Network { up: true } => {
                if let Some(at) = open_network.take() {
                    faults[at].until_step = Some(next);
                }
                "network"
            }
            Step::Pipe {
                delay_to_server_ms,
                delay_to_client_ms,
                stall_to_server_ms,
                stall_to_client_ms,
                split_writes_ms,
            } => {
                if let Some(at) = open_pipe.take() {
                    faults[at].until_step = Some(next);
                }
                let holds = PipeFault {
                    delay_to_server_ms,
                    delay_to_client_ms,
                    stall_to_server_ms,
                    stall_to_client_ms,
                    split_writes_ms,
                };
                if !holds.is_none() {
                    open_pipe = Some(faults.len());
                    faults.push(FaultEntry {
                        what: FaultWhat::Pipe(holds),
                        from_step: Some(next),
                        until_step: None,
                    });
                }
                "pipe"
            }
            other => {
                steps.push(other);
                continue;
            }
        };
        notes.push(format!(
            "the `{form}` step is deprecated: write a `[[faults]]` table with `from_step` (and `until_step`)"
        ));
    }
    // An old fault step that was the last would be in force from after the
    // last step: it never acts, so it goes (entries written as such are
    // checked by `check_entries`).
    let last = steps.len();
    let mut upgraded = faults.split_off(written);
    upgraded.retain(|f| f.from_step.is_none_or(|s| s <= last));
    for fault in upgraded.iter_mut() {
        if fault.until_step.is_some_and(|s| s > last) {
            fault.until_step = None;
        }
    }
    faults.extend(upgraded);
    notes.dedup();
    notes
}

/// Every call of `steps`, those of `parallel` steps among them, in order.
fn calls_of(steps: &[Step]) -> impl Iterator<Item = &CallStep> {
    steps.iter().flat_map(|step| match step {
        Step::Call(call) => std::slice::from_ref(call),
        Step::Parallel { calls } => calls.as_slice(),
        _ => &[],
    })
}

/// A call's own restart and stdin fields are the old way to write a process
/// fault: a note for each kind met.
pub fn old_call_fields(steps: &[Step]) -> Vec<String> {
    let mut notes = Vec::new();
    for call in calls_of(steps) {
        let kill = "kill";
        for (set, field, fault) in [
            (call.restart_after_events, "restart_after_events", kill),
            (
                call.restart_after_task_polls,
                "restart_after_task_polls",
                kill,
            ),
            (
                call.restart_after_server_events,
                "restart_after_server_events",
                kill,
            ),
            (
                call.close_stdin_after_events,
                "close_stdin_after_events",
                CLOSE_STDIN,
            ),
        ] {
            let set = set.is_some();
            let note = format!(
                "the call field `{field}` is deprecated: write a `[[faults]]` table with `fault = \"{fault}\"` and a `select` for the call"
            );
            if set && !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    notes
}

/// Every entry's steps must exist; a process fault must select a call of
/// the scenario. The error names the entry (from 1) and the field.
pub fn check_entries(faults: &[FaultEntry], steps: &[Step]) -> Result<(), String> {
    let calls: Vec<&CallStep> = calls_of(steps).collect();
    for (n, fault) in faults.iter().enumerate() {
        let which = format!("`faults` entry {} (`{}`)", n + 1, fault.name());
        for (field, step) in [
            ("from_step", fault.from_step),
            ("until_step", fault.until_step),
        ] {
            if let Some(step) = step
                && step > steps.len()
            {
                return Err(format!(
                    "{which}: field `{field}`: step {step}, but the scenario has {} steps",
                    steps.len()
                ));
            }
        }
        if let FaultWhat::Kill(trigger) | FaultWhat::CloseStdin(trigger) = &fault.what
            && !calls.iter().any(|call| trigger.picks(call))
        {
            return Err(format!(
                "{which}: field `select`: it selects {}, and no call of the scenario is one",
                trigger.select
            ));
        }
    }
    Ok(())
}

/// The selectors of `faults` that name a tool (`select.tool`) no call of
/// `steps` makes, by that name or through a role `bound` maps to it (the
/// profile's binding of a role name): such a fault can never fire. Each
/// entry says which, in words.
pub fn tools_never_called(
    faults: &[FaultEntry],
    steps: &[Step],
    bound: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let called: Vec<String> = calls_of(steps)
        .map(|call| bound(&call.tool).unwrap_or_else(|| call.tool.clone()))
        .collect();
    faults
        .iter()
        .enumerate()
        .filter_map(|(n, fault)| {
            let tool = fault.selector()?.tool.as_ref()?;
            if called.contains(tool) {
                return None;
            }
            let called = if called.is_empty() {
                "it calls no tool".to_owned()
            } else {
                format!("it calls `{}`", called.join("`, `"))
            };
            Some(format!(
                "`faults` entry {} (`{}`) selects tool `{tool}`, which no call of the scenario makes ({called}), so it can never fire (hint: select by role, `select = {{ role = \"elicits\" }}`, as calls name them)",
                n + 1,
                fault.name()
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Result<FaultEntry, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let map = serde_json::to_value(table).map_err(|e| e.to_string())?;
        match map {
            Value::Object(map) => FaultEntry::from_map(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_kind_reads_and_writes_back_the_same() {
        for text in [
            "fault = \"cut\"\nafter = 2\nselect = { role = \"elicits\", occurrence = 1 }",
            "fault = \"reset_peer\"\ndirection = \"upstream\"\nattributes = { timeout = 0 }\nfrom_step = 1\nuntil_step = 2",
            "fault = \"latency\"\nattributes = { latency = 300 }",
            "fault = \"network_down\"\nfrom_step = 1\nuntil_step = 2",
            "fault = \"kill\"\nselect = { role = \"long_running\" }\nafter_events = 3\nafter_server_events = 5",
            "fault = \"kill\"\nafter_polls = 2",
            "fault = \"close_stdin\"\nselect = { role = \"progress\" }\nafter_events = 1",
            "fault = \"pipe\"\nstall_to_client_ms = 1500\nfrom_step = 1",
        ] {
            let read = entry(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let again = FaultEntry::from_map(read.to_map()).unwrap();
            assert_eq!(read, again, "{text}");
        }
    }

    #[test]
    fn every_stream_fault_and_toxic_has_its_name() {
        let names = fault_names();
        for name in [
            "cut",
            "partition",
            "cut_before_response",
            "partition_before_response",
            "stall",
            "delay",
            "close_with_retry",
            "hold_response",
            "drop_request",
            "drop_response",
            "answer",
            "latency",
            "bandwidth",
            "slow_close",
            "timeout",
            "reset_peer",
            "slicer",
            "limit_data",
            "network_down",
            "kill",
            "close_stdin",
            "pipe",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        assert_eq!(names.len(), 22, "{names:?}");
    }

    #[test]
    fn a_mistake_names_its_field() {
        let cases = [
            ("fault = \"cutt\"", "unknown fault `cutt`"),
            ("after = 2", "missing field `fault`"),
            ("fault = \"cut\"\naftr = 2", "aftr"),
            (
                "fault = \"latency\"\nlatency = 3",
                "unknown field `latency` for fault `latency`",
            ),
            (
                "fault = \"latency\"\ndirection = \"sideways\"",
                "fault `latency`",
            ),
            (
                "fault = \"network_down\"\nafter = 1",
                "unknown field `after`",
            ),
            ("fault = \"kill\"", "needs `after_events` or `after_polls`"),
            (
                "fault = \"kill\"\nafter_events = 1\nfrom_step = 1",
                "`from_step`",
            ),
            (
                "fault = \"kill\"\nafter_server_events = 1\nafter_polls = 1",
                "goes with `after_events`",
            ),
            (
                "fault = \"kill\"\nafter_events = 1\nselect = { http_method = \"GET\" }",
                "selects calls",
            ),
            ("fault = \"close_stdin\"", "needs `after_events`"),
            ("fault = \"pipe\"\ndelay_ms = 3", "unknown field `delay_ms`"),
            (
                "fault = \"network_down\"\nfrom_step = 2\nuntil_step = 2",
                "not after",
            ),
            ("fault = \"network_down\"\nfrom_step = 0", "from 1"),
        ];
        for (text, wanted) in cases {
            match entry(text) {
                Ok(read) => panic!("{text}: read as {read:?}"),
                Err(e) => assert!(e.contains(wanted), "{text}: {e} (wanted {wanted})"),
            }
        }
    }

    fn call(tool: &str) -> Step {
        Step::Call(serde_json::from_value(json!({ "tool": tool })).expect("a call step"))
    }

    #[test]
    fn old_steps_become_entries_in_force_from_the_next_step() {
        let mut faults = Vec::new();
        let mut toxics = vec![json!({"type": "latency", "attributes": {"latency": 10}})];
        let mut steps = vec![
            Step::Network { up: false },
            call("progress"),
            Step::Network { up: true },
            Step::Toxic {
                toxic: json!({"type": "reset_peer", "stream": "upstream"}),
            },
            call("progress"),
            Step::RemoveToxic {
                name: "reset_peer_upstream".into(),
            },
            call("progress"),
            Step::RemoveToxic {
                name: "latency_downstream".into(),
            },
            call("progress"),
        ];
        let notes = upgrade_old_forms(&mut faults, &mut toxics, &mut steps);
        assert_eq!(steps, vec![call("progress"); 4]);
        assert!(toxics.is_empty());
        let spans: Vec<(String, Option<usize>, Option<usize>)> = faults
            .iter()
            .map(|f| (f.name(), f.from_step, f.until_step))
            .collect();
        assert_eq!(
            spans,
            vec![
                ("latency".into(), None, Some(4)),
                ("network_down".into(), Some(1), Some(2)),
                ("reset_peer".into(), Some(2), Some(3)),
            ]
        );
        assert_eq!(notes.len(), 4, "{notes:?}"); // one per form, not per step
        check_entries(&faults, &steps).unwrap();
    }

    #[test]
    fn a_tool_no_call_makes_is_named_and_a_bound_role_counts_as_its_tool() {
        let cut =
            entry("fault = \"cut\"\nafter = 1\nselect = { tool = \"travel_agent\" }").unwrap();
        let steps = [call("elicits")];
        let unbound = |_: &str| None;
        let never = tools_never_called(std::slice::from_ref(&cut), &steps, unbound);
        assert_eq!(never.len(), 1);
        assert!(
            never[0].contains("selects tool `travel_agent`"),
            "{never:?}"
        );
        assert!(never[0].contains("it calls `elicits`"), "{never:?}");
        let bound = |role: &str| (role == "elicits").then(|| "travel_agent".to_owned());
        assert!(tools_never_called(std::slice::from_ref(&cut), &steps, bound).is_empty());
        let by_name = [call("travel_agent")];
        assert!(tools_never_called(&[cut], &by_name, unbound).is_empty());
    }

    #[test]
    fn a_process_fault_must_select_a_call_of_the_scenario() {
        let kill =
            entry("fault = \"kill\"\nselect = { role = \"samples\" }\nafter_events = 1").unwrap();
        let e = check_entries(std::slice::from_ref(&kill), &[call("progress")]).unwrap_err();
        assert!(e.contains("no call of the scenario"), "{e}");
        check_entries(&[kill], &[call("samples")]).unwrap();
        let late = entry("fault = \"network_down\"\nfrom_step = 3").unwrap();
        let e = check_entries(&[late], &[call("progress")]).unwrap_err();
        assert!(e.contains("field `from_step`: step 3"), "{e}");
    }
}
