//! The reference host: the host application of the mission done right. It
//! calls one agent tool, shows its progress, answers elicitation and sampling
//! as told, and keeps a token file (session, pending call, last event id) so
//! that, killed with SIGKILL mid-call and started again, it resumes the call:
//! missed events are replayed, none is shown twice, the result is shown once.
//! In 2026-07-28 (no resumption) it re-issues the request instead.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{CallHooks, CallOutcome, ClientError, MODERN, ScriptedClient};
use crate::scenario::{ClientSpec, ElicitationAnswer, SamplingAnswer};

/// What the host is asked to do.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// The MCP endpoint.
    pub url: String,
    /// Protocol version to speak.
    pub version: String,
    /// Tool to call.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// How to answer elicitation.
    pub answer: ElicitationAnswer,
    /// What the "model" answers to sampling.
    pub sample_text: String,
    /// Where to keep the resume token (none: no resume after a crash).
    pub token_file: Option<PathBuf>,
    /// How long the whole call may take.
    pub timeout: Duration,
    /// Rules to break on purpose (client fixtures).
    pub misbehave: Vec<crate::scenario::ClientFault>,
    /// Declare the tasks extension (2026-07-28): the call runs as a task the
    /// host polls with tasks/get and answers with tasks/update.
    pub tasks: bool,
    /// Ask the person at the terminal (stdin) instead of using `answer`.
    pub interactive: bool,
    /// Answer sampling with this shell command's output (the request's
    /// messages as JSON on its stdin) instead of `sample_text`.
    pub sample_cmd: Option<String>,
}

/// Ask on the terminal whether to accept an elicitation; fill its fields.
fn ask_person(params: &Value) -> Option<Result<Value, Value>> {
    use std::io::BufRead;
    let mut input = std::io::stdin().lock();
    let mut line = String::new();
    eprintln!(
        "{}",
        params["message"].as_str().unwrap_or("The server asks:")
    );
    eprint!("accept, decline or cancel? [a/d/c] ");
    input.read_line(&mut line).ok()?;
    let action = match line.trim().chars().next() {
        Some('d' | 'D') => return Some(Ok(json!({"action": "decline"}))),
        Some('c' | 'C') => return Some(Ok(json!({"action": "cancel"}))),
        _ => "accept",
    };
    let mut content = serde_json::Map::new();
    let properties = params
        .pointer("/requestedSchema/properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, schema) in properties {
        line.clear();
        eprint!("{name} ({}): ", schema["type"].as_str().unwrap_or("text"));
        input.read_line(&mut line).ok()?;
        let text = line.trim();
        let value = match schema["type"].as_str() {
            Some("boolean") => json!(matches!(text, "y" | "yes" | "true" | "1")),
            Some("integer") => json!(text.parse::<i64>().unwrap_or_default()),
            Some("number") => json!(text.parse::<f64>().unwrap_or_default()),
            _ => json!(text),
        };
        content.insert(name, value);
    }
    Some(Ok(json!({"action": action, "content": content})))
}

/// Answer sampling by running `cmd` with the request's messages on its stdin.
fn run_model(cmd: &str, params: &Value) -> Option<Result<Value, Value>> {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .args(["-c", cmd])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    // Write from another thread, so a model that answers before it has read
    // everything cannot deadlock us; and give it a minute at most.
    if let Some(mut stdin) = child.stdin.take() {
        let messages = params["messages"].to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(messages.as_bytes());
        });
    }
    let reader = child.stdout.take().map(|mut stdout| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
            text
        })
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().ok()?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Some(Err(
                json!({"code": -32603, "message": "the model command took more than 60 s"}),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().ok()?;
    if !status.success() {
        return Some(Err(
            json!({"code": -32603, "message": format!("the model command failed: {status}")}),
        ));
    }
    let text = reader
        .and_then(|r| r.join().ok())
        .unwrap_or_default()
        .trim()
        .to_owned();
    Some(Ok(
        json!({"role": "assistant", "content": {"type": "text", "text": text},
        "model": format!("command: {cmd}"), "stopReason": "endTurn"}),
    ))
}

/// The resume token: what a restarted host needs to pick the call up again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The endpoint.
    pub url: String,
    /// The protocol version.
    pub version: String,
    /// The session (legacy).
    pub session: Option<String>,
    /// The pending call's request id.
    pub request_id: i64,
    /// The tool and its arguments.
    pub tool: String,
    /// Arguments.
    pub arguments: Value,
    /// The last event id the host received and showed.
    pub last_event_id: Option<String>,
    /// The event being shown when the token was written: after a crash it may
    /// or may not have reached the screen, so it is not shown again.
    #[serde(default)]
    pub showing: Option<String>,
}

impl Token {
    fn load(path: &Path) -> Option<Self> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    /// Write atomically (temporary file, then rename): a SIGKILL never leaves
    /// half a token.
    fn save(&self, path: &Path) {
        let tmp = path.with_extension("tmp");
        let written = std::fs::write(&tmp, serde_json::to_vec(self).unwrap_or_default())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            eprintln!(
                "warning: cannot save the resume token {}: {e}",
                path.display()
            );
        }
    }
}

/// Shows progress and keeps the token current.
struct Display<'a> {
    token: Token,
    token_file: Option<&'a Path>,
    shown: BTreeSet<String>,
    out: Vec<String>,
    /// A progress bar on a terminal; plain lines otherwise (logs, pipes).
    bar: Option<indicatif::ProgressBar>,
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(100);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos:>3}% {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}

impl CallHooks for Display<'_> {
    async fn after_event(&mut self, _: u32) {}

    fn on_request(&mut self, id: i64, session: Option<&str>) {
        // A re-issued call or a new session: the token must follow, or a crash
        // now could not be resumed.
        if self.token.request_id != id || self.token.session.as_deref() != session {
            self.token.request_id = id;
            self.token.session = session.map(str::to_owned);
            self.token.last_event_id = None;
            self.token.showing = None;
            if let Some(path) = self.token_file {
                self.token.save(path);
            }
        }
    }

    fn on_event(&mut self, id: Option<&str>, message: Option<&Value>) {
        if let Some(id) = id
            && !self.shown.insert(id.to_owned())
        {
            return; // already shown: never twice
        }
        // Write down what is about to be shown before showing it, so that a
        // crash in between cannot make it appear twice.
        if let (Some(id), Some(path)) = (id, self.token_file) {
            self.token.showing = Some(id.to_owned());
            self.token.save(path);
        }
        if let Some(m) = message
            && m["method"] == "notifications/progress"
        {
            let p = &m["params"];
            let line = format!(
                "progress {}/{} {}",
                p["progress"],
                p.get("total").cloned().unwrap_or(Value::Null),
                p["message"].as_str().unwrap_or_default()
            );
            match &self.bar {
                Some(bar) => {
                    let value = p["progress"].as_f64().unwrap_or(0.0);
                    let total = p["total"].as_f64().filter(|t| *t > 0.0).unwrap_or(100.0);
                    bar.set_position((value / total * 100.0).clamp(0.0, 100.0) as u64);
                    bar.set_message(p["message"].as_str().unwrap_or_default().to_owned());
                }
                None => eprintln!("{line}"),
            }
            self.out.push(line);
        }
        // The response's own id is not written down: if the host dies before it
        // prints the result, the resume must replay the response.
        let is_response = message.is_some_and(mcp_harness_checks::is_response);
        if let Some(id) = id.filter(|_| !is_response) {
            self.token.last_event_id = Some(id.to_owned());
            self.token.showing = None;
            if let Some(path) = self.token_file {
                self.token.save(path);
            }
        }
    }
}

/// How a host run ended.
#[derive(Debug)]
pub struct HostOutcome {
    /// The call's outcome.
    pub call: CallOutcome,
    /// Whether this run resumed a call from a token file.
    pub resumed: bool,
    /// Progress lines shown.
    pub progress: Vec<String>,
}

/// Run the host once: resume the pending call of the token file if there is
/// one, else start the call; show progress; print the result once.
pub async fn run_host(options: &HostOptions) -> Result<HostOutcome, ClientError> {
    let spec = ClientSpec {
        elicitation: options.answer.clone(),
        sampling: SamplingAnswer::Text(options.sample_text.clone()),
        max_resumes: 5,
        resume_delay_ms: 0,
        misbehave: options.misbehave.clone(),
        ..ClientSpec::default()
    };
    let mut spec = spec;
    if options.tasks {
        spec.capabilities.push("tasks".into());
    }
    let accept = json!({"confirm": true});
    let mut client = ScriptedClient::new(&options.url, &options.version, spec, accept);
    client.set_call_limit(options.timeout);
    if options.interactive || options.sample_cmd.is_some() {
        let interactive = options.interactive;
        let sample_cmd = options.sample_cmd.clone();
        client.set_answerer(std::sync::Arc::new(move |method, params| match method {
            "elicitation/create" if interactive => ask_person(params),
            "sampling/createMessage" => {
                sample_cmd.as_deref().and_then(|cmd| run_model(cmd, params))
            }
            _ => None,
        }));
    }
    let pending = options
        .token_file
        .as_deref()
        .and_then(Token::load)
        .filter(|t| t.url == options.url && t.version == options.version);
    let modern = options.version.as_str() >= MODERN;
    let token_file = options.token_file.as_deref();
    let ran: Result<(CallOutcome, bool, Vec<String>), ClientError> = async {
        Ok(match pending {
            Some(token) if !modern && token.session.is_some() && token.last_event_id.is_some() => {
                eprintln!(
                    "resuming call {} of {} after event {}",
                    token.request_id,
                    token.tool,
                    token.last_event_id.as_deref().unwrap_or_default()
                );
                client.set_session(token.session.clone());
                client.set_next_request_id(token.request_id + 1000);
                let last = token.last_event_id.clone().unwrap_or_default();
                let mut display = Display {
                    shown: [Some(last.clone()), token.showing.clone()]
                        .into_iter()
                        .flatten()
                        .collect(),
                    token: token.clone(),
                    token_file,
                    out: Vec::new(),
                    bar: progress_bar(),
                };
                let call = client
                    .resume_call(token.request_id, &last, &mut display)
                    .await?;
                (call, true, display.out)
            }
            pending => {
                // 2026-07-28 has no resumption: a pending call is simply asked again.
                let resumed = pending.is_some();
                if let Some(token) = &pending {
                    eprintln!(
                        "re-issuing call {} of {} ({} has no resumption)",
                        token.request_id, token.tool, options.version
                    );
                }
                client.connect().await?;
                let token = Token {
                    url: options.url.clone(),
                    version: options.version.clone(),
                    session: client.session().map(str::to_owned),
                    request_id: client.next_request_id(),
                    tool: options.tool.clone(),
                    arguments: options.arguments.clone(),
                    last_event_id: None,
                    showing: None,
                };
                if let Some(path) = token_file {
                    token.save(path);
                }
                let mut display = Display {
                    token,
                    token_file,
                    shown: BTreeSet::new(),
                    out: Vec::new(),
                    bar: progress_bar(),
                };
                let progress_token = json!(format!("host-{}", std::process::id()));
                let call = client
                    .call(
                        &options.tool,
                        &options.arguments,
                        Some(&progress_token),
                        &mut display,
                    )
                    .await?;
                (call, resumed, display.out)
            }
        })
    }
    .await;
    // The host is done with the call (answered, refused or given up): no token
    // to resume, and the session ends. A crash, or a server it cannot reach,
    // leaves both, so that the next run can pick the call up.
    if matches!(ran, Err(ClientError::Http { .. })) {
        let (call, resumed, progress) = ran?;
        return Ok(HostOutcome {
            call,
            resumed,
            progress,
        });
    }
    if let Some(path) = token_file {
        let _ = std::fs::remove_file(path);
    }
    if !modern
        && !options
            .misbehave
            .contains(&crate::scenario::ClientFault::NoDelete)
    {
        let _ = client.delete_session().await;
    }
    let (call, resumed, progress) = ran?;
    if let Some(result) = &call.result {
        let text: Vec<&str> = result["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str())
            .collect();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "result: {}", text.join(" "));
    }
    Ok(HostOutcome {
        call,
        resumed,
        progress,
    })
}

/// The tool for a conformance-suite scenario name (MCP_CONFORMANCE_SCENARIO).
pub fn tool_for_scenario(scenario: &str) -> &'static str {
    if scenario.contains("research") || scenario.contains("sampling") {
        "research_agent"
    } else if scenario.contains("long") || scenario.contains("logging") {
        "long_running_agent"
    } else {
        "travel_agent"
    }
}
