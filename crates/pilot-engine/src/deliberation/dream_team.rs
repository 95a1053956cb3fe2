//! `deliberation2`, the "Dream Team": a larger panel that stops for a person.
//!
//! The panel is the use case's five personas plus `specialists` (two by default)
//! that the router picks for the question from the other use cases' panels — the
//! question decides which outside perspectives it needs. It runs
//! `deliberation1`'s stages, with a checkpoint after each of three:
//!
//! 1. the first answers → [`CheckpointKind::Answers`]: the person drops personas,
//!    adds others (from the personas not on the panel), adds a constraint; added
//!    personas answer, then every member reviews the others;
//! 2. the reviews → [`CheckpointKind::Reviews`]: the person picks the positions
//!    worth revising (suggested: all of them when `deliberation1` would revise —
//!    a split panel or a `HARD` question — else none); those revise, and the
//!    arbiter drafts the synthesis;
//! 3. the draft → [`CheckpointKind::Synthesis`]: approved, it is the result; sent
//!    back with a note, the arbiter rewrites it and the person sees it again (at
//!    most `max_send_backs` times).
//!
//! [`Pipeline::advance`] runs one stretch between checkpoints and returns either
//! the next checkpoint — its offer and the panel's state, which the driver stores
//! — or the outcome. Nothing of a stretch lives on in memory: the next stretch
//! starts from the stored state and the person's answer, in whichever process
//! claims the job. Each stretch is bounded by `processing_budget_ms`; the waits are
//! not. A constraint or a note is added to the question every later prompt shows
//! ([`prompts::with_guidance`]).

use pilot_domain::{
    CheckpointAnswer, CheckpointKind, CheckpointOffer, Credits, Difficulty, UseCase,
    checkpoint::{DraftBrief, PersonaChoice, PositionBrief},
};
use pilot_models::Role;
use pilot_store::{DeliberationRecord, DeliberationResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::answers::{Answer, Synthesis, Verdict};
use super::calls::{Run, Spent, Stage};
use super::config::PersonaConfig;
use super::order::shuffled;
use super::pipeline::{Outcome, Pipeline, PipelineError, Stop};
use super::recorder::PanelRecorder;
use super::{prompts, stages};
use stages::Member;

/// The longest position a checkpoint quotes, in characters.
const POSITION_CHARS: usize = 600;

/// Where a stretch of `deliberation2` ended.
#[derive(Debug)]
pub enum Advanced {
    /// At a checkpoint: store it and wait.
    Paused(Pause),
    Completed(Outcome),
}

/// A checkpoint to open.
#[derive(Debug)]
pub struct Pause {
    pub seq: i32,
    pub offer: CheckpointOffer,
    /// What the next stretch starts from ([`PanelState`], as JSON).
    pub state: Value,
}

/// The panel between stretches.
#[derive(Debug, Serialize, Deserialize)]
struct PanelState {
    /// Every persona that is or was on the panel.
    panel: Vec<PersonaConfig>,
    /// Personas asked and not dropped by the person: the panel size the
    /// confidence's quorum share and `degraded` are measured against.
    asked: usize,
    members: Vec<MemberState>,
    constraint: Option<String>,
    revised: bool,
    draft: Option<Synthesis>,
    send_backs: u32,
    /// What every stretch so far spent, in micro-credits.
    spent_micros: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct MemberState {
    persona: String,
    first: Answer,
    revised: Option<Answer>,
    verdicts: Vec<Verdict>,
}

impl MemberState {
    fn of(member: &Member<'_>) -> MemberState {
        MemberState {
            persona: member.persona.name.clone(),
            first: member.first.clone(),
            revised: member.revised.clone(),
            verdicts: member.verdicts.clone(),
        }
    }
}

impl PanelState {
    /// The members, their personas borrowed from the panel.
    fn members(&self) -> Result<Vec<Member<'_>>, Stop> {
        self.members
            .iter()
            .map(|m| {
                let persona = self
                    .panel
                    .iter()
                    .find(|p| p.name == m.persona)
                    .ok_or_else(|| {
                        corrupt(format!("member {:?} is not on the panel", m.persona))
                    })?;
                Ok(Member {
                    persona,
                    first: m.first.clone(),
                    revised: m.revised.clone(),
                    verdicts: m.verdicts.clone(),
                })
            })
            .collect()
    }

    /// What every stretch so far spent.
    fn spent(&self) -> Credits {
        Credits::from_micros(self.spent_micros)
    }

    /// The record every prompt of the next stretch sees.
    fn guided(&self, record: &DeliberationRecord) -> DeliberationRecord {
        match &self.constraint {
            Some(constraint) => prompts::with_guidance(record, constraint),
            None => record.clone(),
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("panel state serializes")
    }
}

fn corrupt(reason: String) -> Stop {
    Stop::Fail {
        code: pilot_domain::FailureCode::ProcessingFailed,
        reason: format!("the stored panel is unusable: {reason}"),
    }
}

/// What the stretches before a checkpoint spent, from its stored `state` (zero if
/// it cannot be read).
pub fn spent_before(state: &Value) -> Credits {
    serde_json::from_value::<PanelState>(state.clone()).map_or(Credits::ZERO, |s| s.spent())
}

/// Personas from the other use cases' panels, once each, none named like one on
/// `panel`: the specialists the router, and the person, may add.
fn pool(pipeline: &Pipeline, use_case: UseCase, panel: &[PersonaConfig]) -> Vec<PersonaConfig> {
    let mut pool: Vec<PersonaConfig> = Vec::new();
    for other in UseCase::ALL.iter().filter(|u| **u != use_case) {
        for persona in pipeline.config.panel(*other) {
            let taken = panel.iter().chain(&pool).any(|p| p.name == persona.name);
            if !taken {
                pool.push(persona);
            }
        }
    }
    pool
}

fn brief(member: &Member<'_>) -> PositionBrief {
    let answer = member.answer();
    PositionBrief {
        persona: member.persona.name.clone(),
        role: member.persona.role.clone(),
        stance: answer.stance.to_string(),
        position: answer.position.chars().take(POSITION_CHARS).collect(),
        confidence: answer.confidence,
        peer_score: member.peer_score(),
        revised: member.revised.is_some(),
    }
}

fn offer(kind: CheckpointKind, prompt: &str, members: &[Member<'_>]) -> CheckpointOffer {
    CheckpointOffer {
        kind,
        prompt: prompt.to_owned(),
        positions: members.iter().map(brief).collect(),
        addable: Vec::new(),
        min_panel: 0,
        suggested: Vec::new(),
        draft: None,
        can_send_back: false,
    }
}

impl Pipeline {
    /// Runs `deliberation2` `record` from the start (`at` is `None`) or from its
    /// answered checkpoint `at` (its seq, stored state and answer) to the next
    /// checkpoint or the end. The cost of an outcome or failure is every stretch's.
    pub async fn advance(
        &self,
        record: &DeliberationRecord,
        recorder: &dyn PanelRecorder,
        at: Option<(i32, &Value, CheckpointAnswer)>,
    ) -> Result<Advanced, PipelineError> {
        let resumed = at.map(|(seq, state, answer)| {
            serde_json::from_value::<PanelState>(state.clone())
                .map(|state| (seq + 1, state, answer))
                .map_err(|e| corrupt(e.to_string()))
        });
        let before = match &resumed {
            Some(Ok((_, state, _))) => state.spent(),
            _ => Credits::ZERO,
        };
        let spent = Spent::starting_at(before);
        let run = Run {
            pipeline: self,
            record,
            recorder,
            spent: &spent,
        };
        let stretch = async {
            let Some(resumed) = resumed else {
                return self.first_answers(&run).await;
            };
            let (next, mut state, answer) = resumed?;
            match answer {
                CheckpointAnswer::Answers {
                    drop,
                    add,
                    constraint,
                } => {
                    self.reviewed(&run, state, next, (&drop, &add, constraint))
                        .await
                }
                CheckpointAnswer::Reviews { revise } => {
                    self.drafted(&run, state, next, &revise).await
                }
                CheckpointAnswer::Synthesis { approve: true, .. } => {
                    self.approved(&run, &mut state)
                }
                CheckpointAnswer::Synthesis { note, .. } => {
                    let note = note.unwrap_or_default();
                    self.redrafted(&run, state, next, &note).await
                }
            }
        };
        let advanced = self.budgeted(&spent, stretch).await?;
        Ok(match advanced {
            Ended::Paused(seq, offer, mut state) => {
                state.spent_micros = spent.total().micros();
                Advanced::Paused(Pause {
                    seq,
                    offer,
                    state: state.to_json(),
                })
            }
            Ended::Completed(result) => Advanced::Completed(Outcome {
                result,
                cost: spent.total(),
            }),
        })
    }

    /// Stretch 1: the router picks the specialists; the whole panel answers.
    async fn first_answers(&self, run: &Run<'_>) -> Result<Ended, Stop> {
        let mut panel = self.config.panel(run.record.use_case);
        let mut pool = pool(self, run.record.use_case, &panel);
        let chosen = self.specialists(run, &panel, &pool).await?;
        pool.retain(|p| !chosen.iter().any(|c| c.name == p.name));
        panel.extend(chosen);
        let (members, failures) = stages::answers(run, &panel).await?;
        stages::check_quorum(members.len(), panel.len(), self.config.quorum, &failures)?;
        let mut offer = offer(
            CheckpointKind::Answers,
            "The panel's first answers are in. Keep, drop or add personas, and add a \
             constraint the panel must respect, before its members review each other.",
            &members,
        );
        offer.addable = pool
            .iter()
            .map(|p| PersonaChoice {
                name: p.name.clone(),
                role: p.role.clone(),
            })
            .collect();
        offer.min_panel = self.config.quorum;
        let members = members.iter().map(MemberState::of).collect();
        let asked = panel.len();
        panel.extend(pool);
        let state = PanelState {
            panel,
            asked,
            members,
            constraint: None,
            revised: false,
            draft: None,
            send_backs: 0,
            spent_micros: 0,
        };
        Ok(Ended::Paused(1, offer, state))
    }

    /// The router's choice of specialists, checked: names from `pool`, distinct,
    /// topped up in a fixed order of the pool when it chose too few or failed.
    async fn specialists(
        &self,
        run: &Run<'_>,
        panel: &[PersonaConfig],
        pool: &[PersonaConfig],
    ) -> Result<Vec<PersonaConfig>, Stop> {
        let n = self.config.specialists.min(pool.len());
        if n == 0 {
            return Ok(Vec::new());
        }
        let request = prompts::specialists(run.record, panel, pool, n);
        let picked = run
            .ask(
                Stage::Specialists,
                "router",
                Role::Router,
                request,
                |value| {
                    let names = value
                        .get("specialists")
                        .and_then(Value::as_array)
                        .ok_or("specialists is not a list")?;
                    Ok(names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect::<Vec<_>>())
                },
                |names| json!({ "specialists": names }),
            )
            .await?
            .unwrap_or_default();
        let mut chosen: Vec<PersonaConfig> = Vec::new();
        let fallback = shuffled(pool.to_vec(), &[run.record.id.as_str(), "specialists"]);
        let named = picked
            .iter()
            .filter_map(|name| pool.iter().find(|p| &p.name == name).cloned());
        for persona in named.chain(fallback) {
            if chosen.len() < n && !chosen.iter().any(|c| c.name == persona.name) {
                chosen.push(persona);
            }
        }
        Ok(chosen)
    }

    /// Stretch 2: the person's changes to the panel; added personas answer; every
    /// member reviews the others.
    async fn reviewed(
        &self,
        run: &Run<'_>,
        mut state: PanelState,
        seq: i32,
        (drop, add, constraint): (&[String], &[String], Option<String>),
    ) -> Result<Ended, Stop> {
        let before = state.members.len();
        state.members.retain(|m| !drop.contains(&m.persona));
        state.asked -= before - state.members.len();
        if constraint.is_some() {
            state.constraint = constraint;
        }
        let record = state.guided(run.record);
        let run = Run {
            record: &record,
            ..*run
        };
        let added: Vec<PersonaConfig> = state
            .panel
            .iter()
            .filter(|p| add.contains(&p.name) && !state.members.iter().any(|m| m.persona == p.name))
            .cloned()
            .collect();
        let (new, failures) = stages::answers(&run, &added).await?;
        state.asked += added.len();
        state.members.extend(new.iter().map(MemberState::of));
        // The person kept the quorum counting the personas they added; those must
        // have answered for it to hold.
        let quorum = self.config.quorum;
        stages::check_quorum(state.members.len(), state.asked, quorum, &failures)?;
        let mut members = state.members()?;
        stages::reviews(&run, &mut members).await?;
        let first: Vec<_> = members.iter().map(|m| m.first.stance).collect();
        let suggest = stages::needs_revision(
            &first,
            record.difficulty == Difficulty::Hard,
            self.config.revision_split_threshold,
        );
        let mut offer = offer(
            CheckpointKind::Reviews,
            "The panel has reviewed each other's answers. Pick the positions worth revising; \
             pick none to go straight to the synthesis.",
            &members,
        );
        if suggest {
            offer.suggested = members.iter().map(|m| m.persona.name.clone()).collect();
        }
        state.members = members.iter().map(MemberState::of).collect();
        Ok(Ended::Paused(seq, offer, state))
    }

    /// Stretch 3: the chosen members revise; the arbiter drafts.
    async fn drafted(
        &self,
        run: &Run<'_>,
        mut state: PanelState,
        seq: i32,
        revise: &[String],
    ) -> Result<Ended, Stop> {
        let record = state.guided(run.record);
        let run = Run {
            record: &record,
            ..*run
        };
        let mut members = state.members()?;
        if !revise.is_empty() {
            stages::revisions(&run, &mut members, |name| revise.iter().any(|r| r == name)).await?;
        }
        let draft = self.labelled(&run, stages::synthesis(&run, &members, state.asked).await?);
        let offer = self.draft_offer(&members, state.send_backs, &draft);
        state.members = members.iter().map(MemberState::of).collect();
        state.revised |= !revise.is_empty();
        state.draft = Some(draft);
        Ok(Ended::Paused(seq, offer, state))
    }

    /// The arbiter rewrites the draft after the person's note.
    async fn redrafted(
        &self,
        run: &Run<'_>,
        mut state: PanelState,
        seq: i32,
        note: &str,
    ) -> Result<Ended, Stop> {
        let guided = state.guided(run.record);
        let earlier = state.draft.as_ref().map_or("", |d| d.summary.as_str());
        let record = prompts::with_guidance(
            &guided,
            &format!(
                "your earlier draft (in brief: {earlier}) was sent back with this note: {note}"
            ),
        );
        let run = Run {
            record: &record,
            ..*run
        };
        let members = state.members()?;
        let draft = self.labelled(&run, stages::synthesis(&run, &members, state.asked).await?);
        let offer = self.draft_offer(&members, state.send_backs + 1, &draft);
        state.send_backs += 1;
        state.draft = Some(draft);
        Ok(Ended::Paused(seq, offer, state))
    }

    /// The draft as the person sees it and the result will read.
    fn labelled(&self, run: &Run<'_>, mut draft: Synthesis) -> Synthesis {
        draft.synthesis = self.label(run, Role::Arbiter, draft.synthesis);
        draft
    }

    /// The synthesis checkpoint on `draft`, after `send_backs` send-backs.
    fn draft_offer(
        &self,
        members: &[Member<'_>],
        send_backs: u32,
        draft: &Synthesis,
    ) -> CheckpointOffer {
        let mut offer = offer(
            CheckpointKind::Synthesis,
            "The arbiter's draft synthesis. Approve it to complete the deliberation, or send \
             it back with a note saying what to change.",
            members,
        );
        offer.draft = Some(DraftBrief {
            synthesis: draft.synthesis.clone(),
            summary: draft.summary.clone(),
            minority_report: draft.minority_report.clone(),
        });
        offer.can_send_back = send_backs < self.config.max_send_backs;
        offer
    }

    /// The approved draft is the result.
    fn approved(&self, run: &Run<'_>, state: &mut PanelState) -> Result<Ended, Stop> {
        let draft = state
            .draft
            .take()
            .ok_or_else(|| corrupt("no draft to approve".to_owned()))?;
        let members = state.members()?;
        let (confidence_index, confidence_inputs) =
            stages::assess(&members, state.asked, state.revised);
        Ok(Ended::Completed(DeliberationResult {
            synthesis: self.label(run, Role::Arbiter, draft.synthesis),
            summary: draft.summary,
            minority_report: draft.minority_report,
            confidence_index,
            confidence_inputs,
            degraded: members.len() < state.asked,
        }))
    }
}

/// A stretch's end, before its state is priced.
enum Ended {
    Paused(i32, CheckpointOffer, PanelState),
    Completed(DeliberationResult),
}
