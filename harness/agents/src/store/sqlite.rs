//! SQLite [`Backend`]: one database file in WAL mode, crash-safe against SIGKILL.
//!
//! Writes go through one writer thread that commits everything queued at that
//! moment in a single transaction (group commit), each write in its own
//! savepoint so one failing write does not undo the others. A write's caller is
//! answered only after the commit, so an event id handed to a client is durable.
//! Reads use a separate connection and see every committed write.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{Backend, NewEvent, Retention, StoreError, StoredEvent, StoredEventId, StreamInfo};
use crate::runs::RunRecord;

/// Most writes one transaction takes from the queue.
const MAX_GROUP: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS streams(
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    session TEXT,
    closed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    retry_ms INTEGER,
    message TEXT);
CREATE INDEX IF NOT EXISTS events_by_stream ON events(stream, seq);
CREATE TABLE IF NOT EXISTS sessions(id TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, body TEXT NOT NULL);
";

type WriteResult<R> = Result<R, StoreError>;

/// A queued write: runs inside the group transaction, answers after the commit.
trait WriteJob: Send {
    fn run(&mut self, conn: &Connection);
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

struct Job<R, F> {
    work: Option<F>,
    outcome: Option<WriteResult<R>>,
    reply: SyncSender<WriteResult<R>>,
}

impl<R: Send, F: FnOnce(&Connection) -> Result<R, rusqlite::Error> + Send> WriteJob for Job<R, F> {
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        let outcome = (|| {
            conn.execute_batch("SAVEPOINT job")?;
            match work(conn) {
                Ok(value) => {
                    conn.execute_batch("RELEASE job")?;
                    Ok(value)
                }
                Err(e) => {
                    conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
                    Err(e)
                }
            }
        })();
        self.outcome = Some(outcome.map_err(|e| StoreError::Sqlite {
            path: String::new(),
            source: e,
        }));
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (commit, self.outcome) {
            (Err(detail), _) => Err(StoreError::Corrupt {
                what: "commit",
                detail,
            }),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StoreError::WriterGone),
        };
        let _ = self.reply.send(answer);
    }
}

/// Events, sessions and runs in one SQLite database file.
pub struct SqliteBackend {
    path: PathBuf,
    writer: Mutex<Option<SyncSender<Box<dyn WriteJob>>>>,
    reader: Mutex<Connection>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SqliteBackend {
    /// Open (or create) the database at `path`. Streams left open by an earlier
    /// process are marked closed: whatever they stored is all they will ever have.
    pub fn open(path: impl AsRef<Path>) -> Result<Arc<Self>, StoreError> {
        let path = path.as_ref().to_path_buf();
        let sql_err = |source| StoreError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        let writer_conn = Connection::open(&path).map_err(sql_err)?;
        writer_conn
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;
                 PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;",
            )
            .map_err(sql_err)?;
        writer_conn.execute_batch(SCHEMA).map_err(sql_err)?;
        writer_conn
            .execute("UPDATE streams SET closed = 1 WHERE closed = 0", [])
            .map_err(sql_err)?;
        let reader = Connection::open(&path).map_err(sql_err)?;
        reader
            .execute_batch(
                "PRAGMA busy_timeout=5000; PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456;",
            )
            .map_err(sql_err)?;

        let (tx, rx) = sync_channel::<Box<dyn WriteJob>>(MAX_GROUP);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, rx))
            .map_err(|e| StoreError::Corrupt {
                what: "writer thread",
                detail: e.to_string(),
            })?;
        Ok(Arc::new(Self {
            path,
            writer: Mutex::new(Some(tx)),
            reader: Mutex::new(reader),
            writer_thread: Mutex::new(Some(thread)),
        }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Run `work` in the writer's next group transaction and wait for the commit.
    fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, rusqlite::Error> + Send + 'static,
    {
        let (reply, answer) = sync_channel(1);
        let job = Box::new(Job {
            work: Some(work),
            outcome: None,
            reply,
        });
        let sender = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::WriterGone)?;
        sender.send(job).map_err(|_| StoreError::WriterGone)?;
        match answer.recv() {
            Ok(Err(StoreError::Sqlite { source, .. })) => Err(self.sql_err(source)),
            Ok(other) => other,
            Err(_) => Err(StoreError::WriterGone),
        }
    }

    fn read<R>(
        &self,
        work: impl FnOnce(&Connection) -> Result<R, rusqlite::Error>,
    ) -> Result<R, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        work(&conn).map_err(|e| self.sql_err(e))
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self
            .writer_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = thread.join();
        }
    }
}

fn writer_loop(conn: Connection, jobs: Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        if let Err(e) = begun {
            for job in group {
                job.finish(Err(e.to_string()));
            }
            continue;
        }
        for job in &mut group {
            job.run(&conn);
        }
        let commit = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        for job in group {
            job.finish(commit.clone());
        }
    }
}

fn stream_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StreamInfo> {
    Ok(StreamInfo {
        key: row.get(0)?,
        session: row.get(1)?,
        closed: row.get::<_, i64>(2)? != 0,
    })
}

fn decode_run(body: String) -> Result<RunRecord, rusqlite::Error> {
    serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Backend for SqliteBackend {
    fn stream_key(&self, name: &str) -> Result<StreamInfo, StoreError> {
        let name = name.to_owned();
        let session = super::events::session_of_common_stream(&name);
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO streams(name, session) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET closed = 0",
            )?
            .execute(params![name, session])?;
            conn.prepare_cached("SELECT key, session, closed FROM streams WHERE name = ?1")?
                .query_row([&name], stream_row)
        })
    }

    fn stream_info(&self, key: i64) -> Result<Option<StreamInfo>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT key, session, closed FROM streams WHERE key = ?1")?
                .query_row([key], stream_row)
                .optional()
        })
    }

    fn bind_session(&self, key: i64, session: &str) -> Result<(), StoreError> {
        let session = session.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE streams SET session = ?2 WHERE key = ?1 AND session IS NULL",
            )?
            .execute(params![key, session])?;
            Ok(())
        })
    }

    fn append(&self, events: Vec<NewEvent>) -> Result<Vec<i64>, StoreError> {
        self.write(move |conn| {
            let mut insert = conn.prepare_cached(
                "INSERT INTO events(stream, created_ms, retry_ms, message) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut close = conn.prepare_cached("UPDATE streams SET closed = 1 WHERE key = ?1")?;
            let mut seqs = Vec::with_capacity(events.len());
            for event in &events {
                insert.execute(params![
                    event.stream,
                    event.created_ms,
                    event.retry_ms.map(|ms| ms as i64),
                    event.message
                ])?;
                seqs.push(conn.last_insert_rowid());
                if event.closes_stream {
                    close.execute([event.stream])?;
                }
            }
            Ok(seqs)
        })
    }

    fn contains(&self, id: StoredEventId) -> Result<bool, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT 1 FROM events WHERE seq = ?1 AND stream = ?2")?
                .query_row([id.seq, id.stream], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        })
    }

    fn events_after(
        &self,
        stream: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT seq, retry_ms, message FROM events
                 WHERE stream = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = query.query_map(params![stream, after, limit as i64], |row| {
                Ok(StoredEvent {
                    id: StoredEventId {
                        stream,
                        seq: row.get(0)?,
                    },
                    retry_ms: row.get::<_, Option<i64>>(1)?.map(|ms| ms as u64),
                    message: row.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn prune(&self, retention: Retention, now_ms: i64) -> Result<u64, StoreError> {
        let oldest_allowed = now_ms - retention.max_age.as_millis() as i64;
        let max_events = retention.max_events as i64;
        self.write(move |conn| {
            // Sequence numbers grow with time, so both limits cut a prefix of `seq`.
            let mut dropped = conn.execute(
                "DELETE FROM events WHERE seq <= (
                    SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
                [max_events],
            )?;
            loop {
                let chunk = conn.execute(
                    "DELETE FROM events WHERE seq IN (
                        SELECT seq FROM events ORDER BY seq LIMIT 10000) AND created_ms < ?1",
                    [oldest_allowed],
                )?;
                dropped += chunk;
                if chunk < 10000 {
                    break;
                }
            }
            Ok(dropped as u64)
        })
    }

    fn event_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
    }

    fn session_load(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT state FROM sessions WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()
        })
    }

    fn session_save(&self, id: &str, state: &str) -> Result<(), StoreError> {
        let (id, state) = (id.to_owned(), state.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("INSERT OR REPLACE INTO sessions(id, state) VALUES (?1, ?2)")?
                .execute(params![id, state])
                .map(drop)
        })
    }

    fn session_delete(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")?
                .execute([id])
                .map(drop)
        })
    }

    fn run_put(&self, run: &RunRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(run).map_err(|e| StoreError::Corrupt {
            what: "runs",
            detail: e.to_string(),
        })?;
        let (id, created) = (run.id.clone(), run.created_ms);
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO runs(id, created_ms, body) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, created, body])
            .map(drop)
        })
    }

    fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT body FROM runs WHERE id = ?1")?
                .query_row([id], |r| decode_run(r.get(0)?))
                .optional()
        })
    }

    fn run_list(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.read(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT body FROM runs ORDER BY created_ms DESC, id DESC LIMIT ?1",
            )?;
            let rows = query.query_map([limit as i64], |r| decode_run(r.get(0)?))?;
            rows.collect()
        })
    }
}
