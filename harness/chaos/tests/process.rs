//! Target processes: started from a command with `{port}`, killed with SIGKILL,
//! restarted on the same port, never left behind.

use std::time::{Duration, Instant};

use mcp_harness_chaos::{ProcessError, TargetProcess};

const SERVER: &str = "python3 -m http.server {port} --bind 127.0.0.1";

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

async fn answers(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn start_kill_and_restart_on_the_same_port() {
    let mut server = TargetProcess::start(SERVER, None, Duration::from_secs(20))
        .await
        .unwrap();
    let port = server.port();
    let first = server.pid().unwrap();
    assert!(answers(port).await);
    assert!(server.kill().await);
    assert!(!alive(first), "SIGKILLed and reaped");
    assert!(!answers(port).await);
    server.restart(Duration::from_secs(20)).await.unwrap();
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), Some(first));
    assert!(answers(port).await);
    assert_eq!(server.starts(), 2);
}

#[tokio::test]
async fn a_command_that_dies_early_reports_its_stderr() {
    let started = Instant::now();
    let error = TargetProcess::start(
        "sh -c 'echo boom on {port} >&2; exit 3'",
        None,
        Duration::from_secs(20),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(error, ProcessError::ExitedEarly { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("boom on") && text.contains("exit status: 3"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let missing = TargetProcess::start(
        "definitely-not-a-command-xyz {port}",
        None,
        Duration::from_secs(5),
    )
    .await
    .err()
    .unwrap();
    assert!(
        missing.to_string().contains("not found") || missing.to_string().contains("exited"),
        "{missing}"
    );
}

#[tokio::test]
async fn a_command_that_never_answers_times_out_and_is_reaped() {
    let started = Instant::now();
    let error = TargetProcess::start("sleep 30 # {port}", None, Duration::from_millis(500))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, ProcessError::NotReady { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_panicking_test_leaves_no_server_behind() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let server = TargetProcess::start(SERVER, None, Duration::from_secs(20))
                .await
                .unwrap();
            tx.send(server.pid().unwrap()).unwrap();
            panic!("the test fails while its server runs");
        });
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    let pid = rx.recv().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(pid),
        "the server {pid} was killed when its owner unwound"
    );
}

#[tokio::test]
async fn a_port_another_process_listens_on_does_not_pass_for_the_target() {
    // Someone else (this test process) holds the port; the target never listens.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let started = TargetProcess::start("sleep 30", Some(port), Duration::from_millis(800)).await;
    assert!(
        matches!(started, Err(ProcessError::NotReady { .. })),
        "a listener that is not the target's must not count as ready: {:?}",
        started.err()
    );
    drop(squatter);
}

#[tokio::test]
async fn a_picked_port_another_process_takes_first_is_replaced_by_another() {
    // The first run lets a process of another session take its port, then
    // fails as a server that cannot bind does; the second run serves.
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("first-run-done");
    let template = format!(
        r#"sh -c 'if [ ! -e {mark} ]; then touch {mark}; setsid python3 -c "import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\", {{port}})); s.listen(); time.sleep(5)" & sleep 0.5; exit 3; fi; exec python3 -m http.server {{port}} --bind 127.0.0.1'"#,
        mark = mark.display()
    );
    let server = TargetProcess::start(&template, None, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(mark.exists(), "the first run happened");
    assert!(
        answers(server.port()).await,
        "the second run serves on a new port"
    );
}

/// A port picked free can be taken by another socket before the target binds
/// it (a TOCTOU race that parallel runs hit): a target that says so on stderr
/// is started again on another port, and a target that always fails is not.
#[tokio::test]
async fn a_target_whose_port_was_taken_meanwhile_starts_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("failed-once");
    let template = format!(
        "sh -c 'if [ ! -e {m} ]; then touch {m}; echo \"OSError: [Errno 98] error while attempting to bind on address (127.0.0.1, {{port}}): address already in use\" >&2; exit 3; fi; exec {SERVER}'",
        m = marker.display()
    );
    let server = TargetProcess::start(&template, None, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(marker.exists(), "the first start failed as planned");
    assert_eq!(server.starts(), 1, "a fresh target on the new port");
    assert!(answers(server.port()).await);

    let always = "sh -c 'echo \"address already in use\" >&2; exit 3'";
    let started = Instant::now();
    let error = TargetProcess::start(always, None, Duration::from_secs(20))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, ProcessError::ExitedEarly { .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a bounded number of tries"
    );
}
