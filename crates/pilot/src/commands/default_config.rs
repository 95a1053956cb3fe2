use crate::config::DEFAULT_TOML;

pub fn run() -> anyhow::Result<()> {
    print!("{DEFAULT_TOML}");
    Ok(())
}
