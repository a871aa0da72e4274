//! The ask pipeline: a plain-English question from a known user, to a scoped, audited
//! answer. Resolve the caller → classify → draft → guard → execute on a replica (with
//! self-correction) and/or retrieve regulatory passages → audit (fail closed) → answer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use deriq_core::{Role, Scope};
use deriq_sql_guard::{Guard, Reason};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument;
use uuid::Uuid;

use crate::audit::{AuditLog, AuditRecord, AuditUnavailable, Written};
use crate::directory::{self, DirectoryError, User};
use crate::drafter::{
    Draft, DraftRequest, Drafter, DrafterError, DrafterKind, Passage, PriorAttempt, Usage,
};
use crate::executor::{ExecError, Executor, QueryResult, ResultColumn};
use crate::policy::{QueryLimits, guard_policy};
use crate::retrieval::Retrieval;

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;

/// One question.
#[derive(Debug, Clone)]
pub struct AskRequest {
    pub user_email: String,
    pub question: String,
    /// `None`: the configured default.
    pub drafter: Option<DrafterKind>,
    pub request_id: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The previous question and its SQL, for follow-ups.
    pub previous: Option<(String, String)>,
    /// "Today" for relative dates; `None`: the current date.
    pub today: Option<NaiveDate>,
    /// The caller, already resolved from the directory (the HTTP gateway caches it);
    /// `None`: looked up by `user_email`. Its e-mail must be `user_email`.
    pub caller: Option<Arc<ResolvedCaller>>,
    /// Narrows the caller's scope to this one tenant (a compliance-company caller asking
    /// about one of its assigned companies). A tenant outside the caller's scope is refused,
    /// never silently switched.
    pub tenant: Option<Uuid>,
    /// Where the pipeline reports its steps as they happen (server-sent events).
    pub progress: Option<ProgressSink>,
    /// Caches shared between requests (guards per caller, results per scope).
    pub caches: Option<Arc<PipelineCaches>>,
    /// Time limits of the slow stages.
    pub timeouts: StageTimeouts,
    /// Where the audit record goes; `None`: `Asker::audit`, one insert per question.
    pub audit_sink: Option<Arc<dyn AuditSink>>,
}

/// The future of an [`AuditSink`] write.
pub type AuditFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Written, AuditUnavailable>> + Send + 'a>>;

/// Writes audit records for the pipeline. A write returns only once the record is in the
/// store or the spool (the question fails closed otherwise).
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Writes one record.
    fn write(&self, record: AuditRecord) -> AuditFuture<'_>;
}

impl AskRequest {
    /// A request with defaults for everything but the user and the question.
    pub fn new(user_email: impl Into<String>, question: impl Into<String>) -> Self {
        AskRequest {
            user_email: user_email.into(),
            question: question.into(),
            drafter: None,
            request_id: Uuid::new_v4().to_string(),
            ip_address: None,
            user_agent: None,
            previous: None,
            today: None,
            caller: None,
            tenant: None,
            progress: None,
            caches: None,
            timeouts: StageTimeouts::default(),
            audit_sink: None,
        }
    }
}

/// A directory entry with its role and data scope.
#[derive(Debug, Clone)]
pub struct ResolvedCaller {
    pub user: User,
    pub role: Role,
    pub scope: Scope,
}

/// Time limits per stage; `None`: no limit beyond the stage's own (the database has its
/// statement timeout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimeouts {
    pub retrieval: Option<Duration>,
    pub drafter: Option<Duration>,
    pub database: Option<Duration>,
}

/// A pipeline stage, as named in timeouts, progress events and spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Retrieval,
    Drafter,
    Guard,
    Database,
    Audit,
}

impl Stage {
    /// The stage's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Retrieval => "retrieval",
            Stage::Drafter => "drafter",
            Stage::Guard => "guard",
            Stage::Database => "database",
            Stage::Audit => "audit",
        }
    }

    /// The step name of progress events ("retrieving", "drafting", ...).
    pub fn step(self) -> &'static str {
        match self {
            Stage::Retrieval => "retrieving",
            Stage::Drafter => "drafting",
            Stage::Guard => "guarding",
            Stage::Database => "running",
            Stage::Audit => "auditing",
        }
    }
}

/// What the pipeline reports while it runs, in order.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A stage started.
    Started(Stage),
    /// A stage finished after `ms` milliseconds.
    Finished(Stage, f64),
    /// The guard accepted a query: the SQL that will run, and the drafter's.
    Sql {
        sql: String,
        drafted_sql: String,
        explanation: Option<String>,
    },
    /// Regulatory passages were found.
    Citations(Vec<Citation>),
}

/// The receiving end of progress reports (never blocks the pipeline).
pub type ProgressSink = tokio::sync::mpsc::UnboundedSender<Progress>;

/// Caches shared between requests: the compiled guard of a caller (role and scope), and
/// query results keyed by the guard's SQL, its bind parameters, the tier and the scope,
/// so a result is never shared between scopes.
pub struct PipelineCaches {
    guards: moka::sync::Cache<String, Arc<Guard>>,
    decisions: moka::sync::Cache<
        String,
        Arc<Result<deriq_sql_guard::Accepted, deriq_sql_guard::Rejected>>,
    >,
    results: moka::sync::Cache<String, Arc<QueryResult>>,
}

impl std::fmt::Debug for PipelineCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineCaches")
            .field("guards", &self.guards.entry_count())
            .field("results", &self.results.entry_count())
            .finish()
    }
}

impl PipelineCaches {
    /// Caches with a result lifetime of `results_ttl` (zero: results are not cached).
    pub fn new(results_ttl: Duration) -> Self {
        PipelineCaches {
            guards: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            decisions: moka::sync::Cache::builder()
                .max_capacity(50_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            results: moka::sync::Cache::builder()
                .max_capacity(if results_ttl.is_zero() { 0 } else { 10_000 })
                .time_to_live(results_ttl.max(Duration::from_millis(1)))
                .build(),
        }
    }
}

/// The cache key of a scope: its tenants, locations and employee, in a fixed order.
fn scope_key(role: Role, scope: &Scope) -> String {
    let mut tenants = scope.tenant_ids.clone();
    tenants.sort();
    let locations = scope.location_ids.as_ref().map(|l| {
        let mut l = l.clone();
        l.sort();
        l
    });
    format!(
        "{}|{:?}|{:?}|{:?}",
        role.as_str(),
        tenants,
        locations,
        scope.employee_id
    )
}

/// The results-cache key of an accepted query for a tier and scope.
fn results_key(
    tier: deriq_core::Tier,
    scope: &Scope,
    role: Role,
    accepted: &deriq_sql_guard::Accepted,
) -> String {
    format!(
        "{tier:?}|{}|{:?}|{}",
        scope_key(role, scope),
        accepted.params,
        accepted.sql
    )
}

/// Runs `fut` within `limit`, or fails naming the stage.
async fn within<T>(
    stage: Stage,
    limit: Option<Duration>,
    fut: impl Future<Output = T>,
) -> Result<T, AskError> {
    match limit {
        None => Ok(fut.await),
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| AskError::Timeout { stage, after: d }),
    }
}

fn report(req: &AskRequest, p: Progress) {
    if let Some(tx) = &req.progress {
        let _ = tx.send(p);
    }
}

/// What kind of answer it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    Data,
    Regulatory,
    Mixed,
    Refused,
    NotUnderstood,
}

/// The offline answer to a regulatory question: the best passage, quoted with its citation,
/// and the companion passages of its section that follow it in `citations` (see
/// `Retrieval::search`), so that a rule split over two paragraphs is quoted whole.
fn regulatory_answer(citations: &[Citation]) -> String {
    let section = |c: &Citation| deriq_rag::Citation::parse(&c.citation).map(|p| p.section_citation());
    let Some(first) = citations.first() else {
        return String::new();
    };
    let mut answer = format!("From {}: {}", first.citation, first.text);
    let first_section = section(first);
    for c in citations.iter().skip(1) {
        if first_section.is_none() || section(c) != first_section {
            break;
        }
        answer.push_str(&format!("\n\nAlso {}: {}", c.citation, c.text));
    }
    answer
}

/// A regulatory citation of an answer.
#[derive(Debug, Clone, Serialize)]
pub struct Citation {
    pub citation: String,
    pub title: String,
    pub text: String,
    pub score: f32,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub total: f64,
    pub retrieval: f64,
    pub draft: f64,
    /// Of which spent waiting for an LLM provider.
    pub provider: f64,
    pub guard: f64,
    pub database: f64,
    pub audit: f64,
    /// Reading the caller from the directory (zero when the caller came resolved).
    #[serde(default)]
    pub directory: f64,
    /// total − draft − database − audit − directory: what the pipeline itself costs
    /// beyond the drafter and the database.
    pub overhead: f64,
}

/// The answer, as `deriq ask --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub kind: AnswerKind,
    /// The SQL that ran (the guard's rewrite), when a query ran.
    pub sql: Option<String>,
    /// The drafter's SQL, before the guard.
    pub drafted_sql: Option<String>,
    pub explanation: Option<String>,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Value>>,
    pub row_cap_applied: Option<u64>,
    pub citations: Vec<Citation>,
    /// A short text answer.
    pub answer: String,
    /// Why it was refused (guard reasons or the role's permissions).
    pub reasons: Vec<Reason>,
    pub attempts: usize,
    pub drafter: String,
    pub usage: Usage,
    pub request_id: String,
    pub timings_ms: Timings,
    /// The rows came from the results cache (not serialised: the answer is the same).
    #[serde(skip)]
    pub results_cached: bool,
}

/// The question could not be answered at all.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the question is empty; ask about your compliance data or the regulations")]
    EmptyQuestion,
    #[error("the question is {0} characters long; the limit is {MAX_QUESTION_CHARS}")]
    QuestionTooLong(usize),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("the {0:?} drafter is not configured")]
    DrafterUnavailable(DrafterKind),
    #[error(transparent)]
    Drafter(#[from] DrafterError),
    #[error("{}", .0.sanitised())]
    Exec(ExecError),
    #[error(transparent)]
    Audit(#[from] AuditUnavailable),
    #[error("regulatory search failed: {0}")]
    Retrieval(String),
    #[error("the {} stage did not finish within {} ms", .stage.as_str(), .after.as_millis())]
    Timeout { stage: Stage, after: Duration },
    #[error(
        "the tenant {0} is not in your scope; ask about your own tenant or one of your assigned companies"
    )]
    TenantNotInScope(Uuid),
    #[error("the caller given does not match the request's user")]
    CallerMismatch,
}

/// The pipeline, shared by the CLI, the HTTP API and the eval suite.
pub struct Asker {
    pub directory_pool: sqlx::PgPool,
    pub executor: Executor,
    pub audit: AuditLog,
    pub drafters: HashMap<DrafterKind, Arc<dyn Drafter>>,
    pub default_drafter: DrafterKind,
    pub limits: QueryLimits,
    /// Draft attempts per question (guard rejections and database errors are fed back).
    pub max_attempts: usize,
    pub retrieval: Option<Retrieval>,
}

impl std::fmt::Debug for Asker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asker")
            .field("default_drafter", &self.default_drafter)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

/// Words that make a question about the regulations rather than (only) the data.
const REGULATORY_CUES: &[&str] = &[
    "cfr",
    "§",
    "regulation",
    "regulations",
    "rule",
    "rules",
    "require",
    "required",
    "requirement",
    "requirements",
    "must ",
    "allowed to",
    "legal",
    "fcra",
    "osha require",
    "how long must",
    "how soon",
    "deadline",
    "according to",
    "part 40",
    "part 382",
    "part 391",
    "part 1904",
    "what does",
    "what is the rule",
    "retain",
    "retention",
    "keep records",
    // How people ask about duties and limits without naming a rule. None of these occurs in
    // the NL-to-SQL suite's data questions ("do we " and "do i " do: "how many drivers do we
    // have").
    "have to",
    "has to",
    "do we need",
    "do i need",
    "does it need",
    "recordable?",
    "count as",
    "counts as",
    "considered",
    "refusal",
    "allowed",
    "permitted",
    "can we ",
    "can i ",
    "may we ",
    "can a ",
    "can an ",
    "can the ",
    "how long do",
    "how long does",
    "how fast",
    "how often do",
    "how often does",
    "what happens",
    "supposed to",
    "is it legal",
    "ok to",
    "okay to",
];
/// Words that make a question about the caller's data.
const DATA_CUES: &[&str] = &[
    "how many",
    "which ",
    "list ",
    "show ",
    "our ",
    "we ",
    "count",
    "number of",
    "who ",
    "top ",
    "percentage",
    "rate of",
    "employees",
    "drivers",
    "last quarter",
    "this year",
    "in 2025",
    "in 2026",
    "next 30",
    "overdue",
    "expiring",
];

/// Whether the question asks about the regulations, the data, or both, by its words: a
/// regulatory cue or a citation (`1904.7(b)(5)(ii)`) makes it regulatory; a data cue, or no
/// regulatory one, makes it a data question. Words decide only where retrieval runs first:
/// a question with no regulatory cue that the data side cannot answer still goes to the
/// regulations ([`Asker::ask`]).
pub fn classify(question: &str) -> (bool, bool) {
    let words = cue_text(question);
    let regulatory = any_cue(&words, REGULATORY_CUES)
        || !deriq_rag::find_citations(question).is_empty();
    (regulatory, any_cue(&words, DATA_CUES) || !regulatory)
}

/// Whether the question's words ask about the caller's data ("how many", "which ", "our ").
pub fn has_data_cue(question: &str) -> bool {
    any_cue(&cue_text(question), DATA_CUES)
}

/// The question as the cues are matched against: lower case, padded with a space each side
/// so that cues such as "which " match at either end.
fn cue_text(question: &str) -> String {
    format!(" {} ", question.to_lowercase())
}

fn any_cue(words: &str, cues: &[&str]) -> bool {
    cues.iter().any(|c| words.contains(c))
}

impl Asker {
    /// Answers one question, or fails (closed when it cannot be audited).
    pub async fn ask(&self, req: &AskRequest) -> Result<Answer, AskError> {
        let started = Instant::now();
        let question = req.question.trim();
        if question.is_empty() {
            return Err(AskError::EmptyQuestion);
        }
        let chars = question.chars().count();
        if chars > MAX_QUESTION_CHARS {
            return Err(AskError::QuestionTooLong(chars));
        }
        let mut timings = Timings::default();
        let t = Instant::now();
        let resolved = match &req.caller {
            Some(c) if c.user.email.eq_ignore_ascii_case(&req.user_email) => c.clone(),
            Some(_) => return Err(AskError::CallerMismatch),
            None => {
                let user = directory::find_user(&self.directory_pool, &req.user_email).await?;
                let (role, scope) = directory::scope_for(&self.directory_pool, &user).await?;
                timings.directory = ms(t);
                Arc::new(ResolvedCaller { user, role, scope })
            }
        };
        let (user, role) = (&resolved.user, resolved.role);
        let scope = match req.tenant {
            None => resolved.scope.clone(),
            Some(t) if resolved.scope.tenant_ids.contains(&t) => Scope {
                tenant_ids: vec![t],
                ..resolved.scope.clone()
            },
            Some(t) => return Err(AskError::TenantNotInScope(t)),
        };
        let kind = req.drafter.unwrap_or(self.default_drafter);
        let drafter = self
            .drafters
            .get(&kind)
            .cloned()
            .ok_or(AskError::DrafterUnavailable(kind))?;
        let (regulatory, data) = classify(question);
        let data_words = has_data_cue(question);

        let mut citations = Vec::new();
        if regulatory {
            citations = self.retrieve(req, question, &mut timings).await?;
        }
        let mut answer = if regulatory && !data && citations.is_empty() && self.retrieval.is_some()
        {
            let mut a = empty_answer(AnswerKind::NotUnderstood, drafter.name());
            a.answer = "The regulations DER IQ holds (49 CFR Parts 40, 382 and 391, 29 CFR 1904, and the FCRA) do not cover this question closely enough to answer it; ask about those rules, or about your data.".into();
            a
        } else if data || citations.is_empty() {
            let passages: Vec<Passage> = citations
                .iter()
                .map(|c| Passage {
                    citation: c.citation.clone(),
                    title: c.title.clone(),
                    text: c.text.clone(),
                })
                .collect();
            self.data_answer(
                req,
                question,
                role,
                &scope,
                drafter.as_ref(),
                passages,
                &mut timings,
            )
            .instrument(tracing::info_span!("data_answer"))
            .await?
        } else {
            empty_answer(AnswerKind::Regulatory, "offline".into())
        };
        // No regulatory words, and the data side has no answer: the question may still be
        // about the rules ("Can a driver who is blind in one eye get a DOT medical card?").
        // Only a question put as one, with no data words: a request ("Delete all positive
        // drug tests", "Training certificates by type") or a data question the drafter could
        // not map ("How many parking tickets did drivers get?") keeps its own answer.
        let data_side_failed =
            matches!(answer.kind, AnswerKind::NotUnderstood | AnswerKind::Refused);
        let asked_as_a_question = question.trim_end().ends_with('?') && !data_words;
        if !regulatory && data_side_failed && asked_as_a_question && self.retrieval.is_some() {
            citations = self.retrieve(req, question, &mut timings).await?;
            if citations.is_empty() && answer.kind == AnswerKind::NotUnderstood {
                answer.answer.push_str(
                    " The regulations DER IQ holds do not cover it closely enough to answer either.",
                );
            }
        }
        if !citations.is_empty() {
            // The data side's refusal, kept as a note when the passages answer the question.
            let mut refusal = None;
            answer.kind = match answer.kind {
                AnswerKind::Data => AnswerKind::Mixed,
                // The data side understood nothing: the passages are the answer.
                AnswerKind::NotUnderstood => AnswerKind::Regulatory,
                // A question about the rules ("Do we need to keep an OSHA log with 8
                // people?") is answered from them; the refusal of its data part is noted.
                AnswerKind::Refused if regulatory || !data_words => {
                    refusal = Some(std::mem::take(&mut answer.answer));
                    AnswerKind::Regulatory
                }
                k => k,
            };
            if answer.kind == AnswerKind::Regulatory {
                answer.answer = regulatory_answer(&citations);
                if let Some(why) = refusal.filter(|w| !w.is_empty()) {
                    answer.answer.push_str("\n\nYour data was not queried: ");
                    answer.answer.push_str(&why);
                }
            }
            answer.citations = citations;
        }
        answer.request_id = req.request_id.clone();
        timings.total = ms(started);

        let t = Instant::now();
        report(req, Progress::Started(Stage::Audit));
        let record = self.audit_record(req, user, role, &answer, &timings);
        match &req.audit_sink {
            Some(sink) => {
                sink.write(record)
                    .instrument(tracing::info_span!("audit"))
                    .await?
            }
            None => {
                self.audit
                    .write(&record)
                    .instrument(tracing::info_span!("audit"))
                    .await?
            }
        };
        timings.audit = ms(t);
        report(req, Progress::Finished(Stage::Audit, timings.audit));
        timings.total = ms(started);
        timings.overhead =
            (timings.total - timings.draft - timings.database - timings.audit - timings.directory)
                .max(0.0);
        answer.timings_ms = timings;
        Ok(answer)
    }

    /// The regulatory passages for `question` above the "not covered" threshold, reported as
    /// a stage of their own.
    async fn retrieve(
        &self,
        req: &AskRequest,
        question: &str,
        timings: &mut Timings,
    ) -> Result<Vec<Citation>, AskError> {
        let Some(r) = &self.retrieval else {
            return Ok(Vec::new());
        };
        let t = Instant::now();
        report(req, Progress::Started(Stage::Retrieval));
        let search = r
            .search(question, 5)
            .instrument(tracing::info_span!("retrieval"));
        let citations = within(Stage::Retrieval, req.timeouts.retrieval, search)
            .await?
            .map_err(AskError::Retrieval)?;
        timings.retrieval += ms(t);
        report(req, Progress::Finished(Stage::Retrieval, timings.retrieval));
        if !citations.is_empty() {
            report(req, Progress::Citations(citations.clone()));
        }
        Ok(citations)
    }

    /// The guard's decision on `sql` for a caller, from the cache when there is one (the
    /// decision depends only on the policy, that is the role and scope, and the SQL text).
    fn check(
        &self,
        req: &AskRequest,
        role: Role,
        scope: &Scope,
        guard: &Guard,
        sql: &str,
    ) -> Result<deriq_sql_guard::Accepted, deriq_sql_guard::Rejected> {
        let Some(c) = &req.caches else {
            return guard.check(sql);
        };
        let key = format!("{}|{sql}", scope_key(role, scope));
        if let Some(decision) = c.decisions.get(&key) {
            return (*decision).clone();
        }
        let decision = guard.check(sql);
        c.decisions.insert(key, Arc::new(decision.clone()));
        decision
    }

    /// The compiled guard of a caller, from the cache when there is one.
    fn guard_for(
        &self,
        req: &AskRequest,
        role: Role,
        scope: &Scope,
    ) -> Result<Arc<Guard>, AskError> {
        let build = || {
            Guard::new(guard_policy(role, scope, self.limits))
                .map(Arc::new)
                .map_err(|e| AskError::Retrieval(format!("internal policy error: {e}")))
        };
        match &req.caches {
            None => build(),
            Some(c) => {
                let key = scope_key(role, scope);
                if let Some(g) = c.guards.get(&key) {
                    return Ok(g);
                }
                let g = build()?;
                c.guards.insert(key, g.clone());
                Ok(g)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn data_answer(
        &self,
        req: &AskRequest,
        question: &str,
        role: Role,
        scope: &Scope,
        drafter: &dyn Drafter,
        passages: Vec<Passage>,
        timings: &mut Timings,
    ) -> Result<Answer, AskError> {
        let guard = self.guard_for(req, role, scope)?;
        let today = req.today.unwrap_or_else(|| Utc::now().date_naive());
        let mut draft_req = DraftRequest {
            question: question.to_string(),
            role,
            today,
            prior_attempts: Vec::new(),
            passages,
            previous: req.previous.clone(),
        };
        let mut answer = empty_answer(AnswerKind::NotUnderstood, drafter.name());
        for attempt in 1..=self.max_attempts.max(1) {
            answer.attempts = attempt;
            let t = Instant::now();
            report(req, Progress::Started(Stage::Drafter));
            let drafting = drafter
                .draft(&draft_req)
                .instrument(tracing::info_span!("draft", attempt));
            let outcome = within(Stage::Drafter, req.timeouts.drafter, drafting).await??;
            timings.draft += ms(t);
            report(req, Progress::Finished(Stage::Drafter, ms(t)));
            timings.provider += outcome.provider_ms;
            answer.usage.input_tokens += outcome.usage.input_tokens;
            answer.usage.output_tokens += outcome.usage.output_tokens;
            answer.usage.cache_creation_input_tokens += outcome.usage.cache_creation_input_tokens;
            answer.usage.cache_read_input_tokens += outcome.usage.cache_read_input_tokens;
            let (sql, explanation) = match outcome.draft {
                Draft::Refused { reason } => {
                    answer.kind = AnswerKind::Refused;
                    answer.answer = reason.clone();
                    answer.reasons = vec![Reason::new(
                        deriq_sql_guard::ReasonCode::RelationNotAllowed,
                        reason,
                    )];
                    return Ok(answer);
                }
                Draft::NotUnderstood { message } => {
                    answer.kind = AnswerKind::NotUnderstood;
                    answer.answer = message;
                    return Ok(answer);
                }
                Draft::Sql { sql, explanation } => (sql, explanation),
            };
            answer.drafted_sql = Some(sql.clone());
            answer.explanation = Some(explanation);
            let t = Instant::now();
            report(req, Progress::Started(Stage::Guard));
            let checked = tracing::info_span!("guard")
                .in_scope(|| self.check(req, role, scope, &guard, &sql));
            timings.guard += ms(t);
            report(req, Progress::Finished(Stage::Guard, ms(t)));
            let accepted = match checked {
                Ok(a) => a,
                Err(rejected) => {
                    answer.kind = AnswerKind::Refused;
                    answer.answer = format!("The query was refused: {}", rejected.summary());
                    answer.reasons = rejected.reasons.clone();
                    draft_req.prior_attempts.push(PriorAttempt {
                        sql,
                        feedback: rejected.summary(),
                    });
                    continue;
                }
            };
            report(
                req,
                Progress::Sql {
                    sql: accepted.sql.clone(),
                    drafted_sql: sql.clone(),
                    explanation: answer.explanation.clone(),
                },
            );
            let t = Instant::now();
            report(req, Progress::Started(Stage::Database));
            let tier = guard_tier(role);
            let key = req
                .caches
                .as_ref()
                .map(|_| results_key(tier, scope, role, &accepted));
            let cached = match (&req.caches, &key) {
                (Some(c), Some(k)) => c.results.get(k),
                _ => None,
            };
            let result = match cached {
                Some(r) => {
                    answer.results_cached = true;
                    Ok((*r).clone())
                }
                None => {
                    let running = self
                        .executor
                        .run(tier, scope, &accepted)
                        .instrument(tracing::info_span!("database"));
                    let r = within(Stage::Database, req.timeouts.database, running).await?;
                    if let (Ok(r), Some(c), Some(k)) = (&r, &req.caches, key) {
                        c.results.insert(k, Arc::new(r.clone()));
                    }
                    r
                }
            };
            timings.database += ms(t);
            report(req, Progress::Finished(Stage::Database, ms(t)));
            match result {
                Ok(r) => {
                    answer.kind = AnswerKind::Data;
                    answer.sql = Some(accepted.sql.clone());
                    answer.row_cap_applied = Some(accepted.row_cap_applied);
                    answer.reasons.clear();
                    answer.answer = summarise(&r);
                    answer.columns = r.columns;
                    answer.rows = r.rows;
                    return Ok(answer);
                }
                Err(e @ ExecError::Rejected { .. }) => {
                    draft_req.prior_attempts.push(PriorAttempt {
                        sql,
                        feedback: e.sanitised(),
                    });
                    answer.kind = AnswerKind::NotUnderstood;
                    answer.answer = format!("The query could not run: {}", e.sanitised());
                }
                Err(e) => return Err(AskError::Exec(e)),
            }
        }
        Ok(answer)
    }

    fn audit_record(
        &self,
        req: &AskRequest,
        user: &User,
        role: Role,
        answer: &Answer,
        timings: &Timings,
    ) -> AuditRecord {
        let refused = matches!(answer.kind, AnswerKind::Refused);
        AuditRecord {
            id: Uuid::new_v4(),
            occurred_at: Utc::now(),
            tenant_id: Some(user.tenant_id),
            user_id: Some(user.id),
            user_email: Some(user.email.clone()),
            user_role: Some(role.as_str().to_string()),
            action: if refused {
                "ACCESS_DENIED".into()
            } else {
                "READ".into()
            },
            resource: "der-iq/ask".into(),
            resource_id: None,
            request_id: req.request_id.clone(),
            ip_address: req.ip_address.clone(),
            user_agent: req.user_agent.clone(),
            result: if matches!(
                answer.kind,
                AnswerKind::Data | AnswerKind::Regulatory | AnswerKind::Mixed
            ) {
                "SUCCESS".into()
            } else {
                "FAILURE".into()
            },
            error_code: (!matches!(
                answer.kind,
                AnswerKind::Data | AnswerKind::Regulatory | AnswerKind::Mixed
            ))
            .then(|| format!("{:?}", answer.kind).to_lowercase()),
            error_message: None,
            duration_ms: timings.total.round() as i32,
            details: json!({
                "question": req.question,
                "drafter": answer.drafter,
                "drafted_sql": answer.drafted_sql,
                "executed_sql": answer.sql,
                "decision": if answer.sql.is_some() { "allow" } else if refused { "reject" } else { "none" },
                "reasons": answer.reasons,
                "row_count": answer.rows.len(),
                "attempts": answer.attempts,
                "citations": answer.citations.iter().map(|c| c.citation.clone()).collect::<Vec<_>>(),
                "outcome": answer.kind,
                "usage": answer.usage,
                "timings_ms": timings,
                "tenant": req.tenant,
            }),
        }
    }
}

fn guard_tier(role: Role) -> deriq_core::Tier {
    deriq_core::permissions::tier(role)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn empty_answer(kind: AnswerKind, drafter: String) -> Answer {
    Answer {
        kind,
        sql: None,
        drafted_sql: None,
        explanation: None,
        columns: Vec::new(),
        rows: Vec::new(),
        row_cap_applied: None,
        citations: Vec::new(),
        answer: String::new(),
        reasons: Vec::new(),
        attempts: 0,
        drafter,
        usage: Usage::default(),
        request_id: String::new(),
        timings_ms: Timings::default(),
        results_cached: false,
    }
}

/// A one-line text answer from a result.
fn summarise(r: &QueryResult) -> String {
    match (r.rows.len(), r.columns.len()) {
        (1, 1) => format!("{}: {}", r.columns[0].name, display(&r.rows[0][0])),
        (0, _) => "No rows match.".to_string(),
        (1, _) => r
            .columns
            .iter()
            .zip(&r.rows[0])
            .map(|(c, v)| format!("{}: {}", c.name, display(v)))
            .collect::<Vec<_>>()
            .join(", "),
        (n, _) => format!("{n} rows."),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regulatory_answer_quotes_the_first_sections_companions_only() {
        let c = |citation: &str, text: &str| Citation { citation: citation.into(), title: "t".into(), text: text.into(), score: 0.5 };
        let citations = [
            c("49 CFR 382.303(a)", "test for alcohol"),
            c("49 CFR 382.303(d)", "within two hours"),
            c("49 CFR 382.209", "no alcohol for eight hours"),
            c("49 CFR 382.303(b)", "not reached: another result came first"),
        ];
        let a = regulatory_answer(&citations);
        assert_eq!(a, "From 49 CFR 382.303(a): test for alcohol\n\nAlso 49 CFR 382.303(d): within two hours");
        assert_eq!(regulatory_answer(&citations[2..3]), "From 49 CFR 382.209: no alcohol for eight hours");
        assert_eq!(regulatory_answer(&[]), "");
    }

    #[test]
    fn questions_are_classified_by_their_cues() {
        assert_eq!(
            classify("How long must a DOT employer keep records of positive tests?"),
            (true, false)
        );
        assert_eq!(
            classify("How many random drug tests did we run in Texas last quarter?"),
            (false, true)
        );
        assert_eq!(
            classify("Which drivers are overdue and what does 49 CFR 391.25 require?"),
            (true, true)
        );
        assert_eq!(
            classify("weather in Houston"),
            (false, true),
            "unknown questions go to the drafter, which says it does not understand"
        );
    }
}
