//! The model layer against a real HTTP fake provider (`pilot_testkit::fake_llm`) and
//! the scripted model. One test binary, several modules, to keep link time down.

mod harness;
mod limits;
mod metering;
mod resilience;
mod scripted;
mod wire;
