//! A `pilot serve` child process, for measurements (and tests) that must kill a real
//! server outright — `kill -9`, nothing handed back, nothing deregistered — and start
//! another on the same store.
//!
//! The child reads a configuration file and prints its banner on stdout; the parent
//! reads the banner for the URL it listens on and, on a first start, the keys it
//! created. Its logs go to a file, so a failing run can be read afterwards.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

/// How long a child may take to print its banner.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A child's configuration file: its data under `dir`, its store (`url`: a scratch
/// PostgreSQL database, or SQLite in the data directory), a free port, loopback
/// allowed past the outbound guard for the bench's sink, warnings only in its log;
/// then `sections` (TOML), or the defaults.
pub fn config_file(dir: &Path, url: &str, sections: &str) -> String {
    let database_url = if url.starts_with("sqlite:") { "" } else { url };
    format!(
        "bind = \"127.0.0.1:0\"\ndata_dir = \"{}\"\ndatabase_url = \"{database_url}\"\n\
         {sections}[outbound]\nallow_list = [\"127.0.0.1/32\"]\n[log]\nfilter = \"warn\"\n",
        dir.join("data").display(),
    )
}

/// A running `pilot serve` child; killed when dropped.
pub struct ServeChild {
    child: Child,
    /// The base URL it serves on.
    pub url: String,
    /// On a first start, the keys the banner showed once: `(live, test)`.
    pub keys: Option<(String, String)>,
    log: PathBuf,
}

impl ServeChild {
    /// Starts `binary --config <config> serve`, logging to `log`, and waits for its
    /// banner (blocking: call it off the async runtime).
    pub fn start(binary: &Path, config: &Path, log: &Path) -> anyhow::Result<ServeChild> {
        let stderr = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let (lines, banner) = mpsc::channel();
        // Reads to the end, so the child never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut started = ServeChild {
            child,
            url: String::new(),
            keys: None,
            log: log.to_owned(),
        };
        let (mut live, mut test) = (None, None);
        loop {
            let line = match banner.recv_timeout(START_LIMIT) {
                Ok(line) => line,
                Err(_) => bail!(
                    "pilot serve printed no banner within {START_LIMIT:?}; its log:\n{}",
                    started.log_tail()
                ),
            };
            if let Some((_, url)) = line.split_once(" listening on ") {
                started.url = url.trim().to_owned();
            } else if let Some(key) = line.trim().strip_prefix("live key:") {
                live = Some(key.trim().to_owned());
            } else if let Some(key) = line.trim().strip_prefix("test key:") {
                test = Some(key.trim().to_owned());
            } else if line.trim().starts_with("Try it") && !started.url.is_empty() {
                break;
            }
        }
        started.keys = live.zip(test);
        Ok(started)
    }

    /// The process id, for `kill -9` by hand.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: the process ends at once, handing nothing back. Waits for it.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill().context("killing pilot serve")?;
        }
        self.child.wait().context("waiting for pilot serve")?;
        Ok(())
    }

    /// The end of the child's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
