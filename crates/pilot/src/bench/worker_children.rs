//! `pilot worker` child processes for `pilot bench runs --workers N`: the scale-out
//! shape of DESIGN §6 (API processes and worker processes on one shared store) on one
//! machine. Each child has its own data directory and its own connection pool, and
//! is killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// Running `pilot worker` processes.
pub struct WorkerChildren {
    children: Vec<Child>,
    _dirs: tempfile::TempDir,
}

/// How each child is configured.
pub struct WorkerSettings<'a> {
    pub database_url: &'a str,
    pub concurrency: u32,
    pub workspace_cap: u32,
    /// The `http` step's receiver, allowed past the outbound guard.
    pub allow: &'a str,
}

impl WorkerChildren {
    pub fn start(count: u32, settings: &WorkerSettings<'_>) -> anyhow::Result<WorkerChildren> {
        let binary = std::env::current_exe().context("this binary's path")?;
        let dirs = tempfile::tempdir()?;
        let mut children = Vec::new();
        for n in 0..count {
            let dir = dirs.path().join(format!("worker-{n}"));
            std::fs::create_dir_all(&dir)?;
            children.push(spawn(&binary, &dir, settings)?);
        }
        Ok(WorkerChildren {
            children,
            _dirs: dirs,
        })
    }
}

fn spawn(binary: &Path, dir: &Path, settings: &WorkerSettings<'_>) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.join("worker.log"))?;
    Command::new(binary)
        .arg("--database-url")
        .arg(settings.database_url)
        .arg("--data-dir")
        .arg(dir)
        .arg("worker")
        .env("RUST_LOG", "warn")
        .env("PILOT_QUEUE__CONCURRENCY", settings.concurrency.to_string())
        .env(
            "PILOT_QUEUE__WORKSPACE_CAP",
            settings.workspace_cap.to_string(),
        )
        .env("PILOT_QUEUE__POLL_INTERVAL_MS", "100")
        // Each process holds its pools' connections (main, progress, listener): at the
        // default 16 (25 in all), an API process and four workers would pass
        // PostgreSQL's default limit of 100 connections.
        .env("PILOT_STORE__MAX_CONNECTIONS", "8")
        .env(
            "PILOT_OUTBOUND__ALLOW_LIST",
            format!("[\"{}\"]", settings.allow),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {} worker", binary.display()))
}

impl Drop for WorkerChildren {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
