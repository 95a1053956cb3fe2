//! Throwaway stores for benchmarks: a SQLite file in a temporary directory, or a
//! scratch PostgreSQL database, removed afterwards.

use pilot_store::scratch::ScratchDatabase;

/// Where one run's store lives, removed afterwards.
pub struct Scratch {
    pub url: String,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(ScratchDatabase),
}

impl Scratch {
    pub async fn create(postgres: Option<&str>) -> anyhow::Result<Scratch> {
        Ok(match postgres {
            Some(server) => {
                let db = ScratchDatabase::create(server, "bench").await?;
                Scratch {
                    url: db.url(),
                    place: Place::Postgres(db),
                }
            }
            None => {
                let dir = tempfile::tempdir()?;
                Scratch {
                    url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                    place: Place::Sqlite(dir),
                }
            }
        })
    }

    pub async fn remove(self) {
        match self.place {
            Place::Sqlite(dir) => drop(dir),
            Place::Postgres(db) => {
                if let Err(error) = db.drop_database().await {
                    eprintln!("warning: could not drop the scratch database: {error}");
                }
            }
        }
    }
}
