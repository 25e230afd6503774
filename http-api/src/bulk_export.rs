//! Bulk Data `$export` (HL7 FHIR Bulk Data Access IG): system (`/fhir/$export`), all patients
//! (`/fhir/Patient/$export`) and one group's patients (`/fhir/Group/{id}/$export`).
//!
//! The kick-off (`Prefer: respond-async`) answers 202 with the job's `Content-Location`; a
//! background scan picks, as of the kick-off (`transactionTime`: later versions are for the next
//! `_since`), the current version of every resource of the requested types the caller may read.
//! Polling the job answers 202 with `X-Progress` and `Retry-After`, then the manifest
//! (`requiresAccessToken: true`, one output per type and 10,000 resources). Nothing is written to
//! disk: a job holds ledger seqs only, and each NDJSON file is decrypted as it is streamed, to the
//! client that asked and no other (for anyone else the job does not exist). Every file served is
//! an `Access` record of each resource in it, under its patient, so the patient sees the export in
//! `AuditEvent`; the kick-off is one too. DELETE on the job cancels it. Jobs live in memory: a
//! restart ends them (a client asks again), and a finished one is kept for an hour.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use exchange::search::LastUpdated;
use serde_json::json;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::interaction;
use crate::state::AppState;
use node_store::clock::{format_instant, now_ms};
use smart_auth::Principal;

/// Resources per NDJSON file.
const PER_FILE: usize = 10_000;
/// Jobs at once (running or kept); a kick-off beyond is answered 429.
const MAX_JOBS: usize = 16;
/// Jobs one client may have running at once (its finished ones give way to a new kick-off).
const MAX_RUNNING_PER_CLIENT: usize = 2;
/// How long a file's stream waits for a slow client to take the next line before it gives up.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a finished job and its files are kept.
const KEEP_MS: u64 = 60 * 60 * 1000;
/// The output formats the IG names for NDJSON.
const NDJSON_FORMATS: [&str; 3] = ["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// Every export job of this server.
#[derive(Default)]
pub struct ExportJobs {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

struct Job {
    /// The client id that asked: no one else sees the job.
    owner: String,
    request: String,
    transaction_time_ms: u64,
    cancelled: AtomicBool,
    scanned: AtomicUsize,
    of: AtomicUsize,
    state: Mutex<JobState>,
}

enum JobState {
    Running,
    Complete { files: Vec<ExportFile>, at_ms: u64 },
    Failed(String),
}

struct ExportFile {
    resource_type: String,
    seqs: Vec<u64>,
    /// Whether its Access records are on the ledger (its first download wrote them).
    audited: AtomicBool,
}

/// Whose records an export holds.
enum Scope {
    System,
    AllPatients,
    /// The pseudonyms (hex) of a group's member patients.
    Patients(HashSet<String>),
}

impl ExportJobs {
    fn get(&self, id: &str, caller: &Principal) -> Result<Arc<Job>, ApiError> {
        let jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.get(id).filter(|job| job.owner == caller.client_id).cloned().ok_or(ApiError::NotFound("no such export"))
    }

    /// Drops jobs finished more than [`KEEP_MS`] ago and the client's own finished ones;
    /// registers `job` unless [`MAX_JOBS`] are held or the client has [`MAX_RUNNING_PER_CLIENT`]
    /// running.
    fn admit(&self, id: String, job: Arc<Job>) -> bool {
        let mut jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = now_ms();
        jobs.retain(|_, held| match &*held.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            JobState::Complete { at_ms, .. } => held.owner != job.owner && now.saturating_sub(*at_ms) < KEEP_MS,
            JobState::Failed(_) => false,
            JobState::Running => true,
        });
        let running = jobs.values().filter(|held| held.owner == job.owner).count();
        if jobs.len() >= MAX_JOBS || running >= MAX_RUNNING_PER_CLIENT {
            return false;
        }
        jobs.insert(id, job);
        true
    }
}

/// `GET /fhir/$export`.
pub async fn system(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    kick_off(&state, &request, &caller, Scope::System, &query).await
}

/// `GET /fhir/Patient/$export`.
pub async fn patients(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    kick_off(&state, &request, &caller, Scope::AllPatients, &query).await
}

/// `GET /fhir/Group/{id}/$export`: the group's member patients (`member.entity` references to
/// Patients), read from the stored Group (which the caller must be allowed to read).
pub async fn group(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    caller.require_read("Group")?;
    caller.require_search("Group")?;
    let id = path.into_inner();
    let node = state.node.clone();
    let (record, group) = web::block(move || {
        let opened = node.read("Group", &id, None)?;
        let resource = opened.resource()?;
        Ok::<_, node_store::read::ReadError>((opened.record, resource))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|_| ApiError::NotFound("no such Group"))?;
    // Reading the Group's members is a read of the Group.
    crate::audit::record(&state, &caller, "read", true, record.patient, Some("Group".into()), Some(record.resource))
        .await?;
    let group = serde_json::from_slice::<serde_json::Value>(&fhir_models::to_json(&group))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let members: HashSet<String> = group["member"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|member| member.pointer("/entity/reference").and_then(serde_json::Value::as_str))
        .filter_map(fhir_models::search::normalise_reference)
        .filter_map(|reference| {
            reference.strip_prefix("Patient/").map(|id| state.node.patient_pseudonym(id).to_string())
        })
        .collect();
    kick_off(&state, &request, &caller, Scope::Patients(members), &query).await
}

async fn kick_off(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    scope: Scope,
    pairs: &[(String, String)],
) -> Result<HttpResponse, ApiError> {
    if !interaction::Prefer::of(request).respond_async {
        return Err(ApiError::BadRequest("$export runs asynchronously: send Prefer: respond-async".into()));
    }
    let (mut types, mut since) = (None::<Vec<String>>, None);
    for (name, value) in pairs {
        // A `+` sent unencoded (`application/fhir+ndjson`, `+02:00`) arrives as a space.
        let value = &value.replace(' ', "+");
        match name.as_str() {
            "_outputFormat" if NDJSON_FORMATS.contains(&value.as_str()) => {}
            "_outputFormat" => {
                return Err(ApiError::BadRequest(format!("_outputFormat {value}: this server writes NDJSON only")))
            }
            "_since" => {
                // An instant (to the second at least, with its zone), as the IG says: a date would
                // be a range, and where in it to start is a guess.
                let instant = value.len() >= 20 && value.as_bytes().get(10) == Some(&b'T');
                let parsed = instant.then(|| LastUpdated::parse(&format!("ge{value}"))).flatten();
                since = Some(parsed.ok_or_else(|| ApiError::BadRequest("_since is not a FHIR instant".into()))?)
            }
            "_type" => {
                let listed: Vec<String> = value.split(',').map(|t| t.trim().to_owned()).collect();
                if let Some(unknown) = listed.iter().find(|t| !fhir_models::Resource::is_resource_type(t)) {
                    return Err(ApiError::BadRequest(format!("_type: {unknown} is not an R4 resource type")));
                }
                types.get_or_insert_with(Vec::new).extend(listed);
            }
            "_format" => {}
            other => return Err(ApiError::NotSupported(format!("{other} is not offered by this server's $export"))),
        }
    }
    // An export is a search and reads of every resource it holds: named types need both scopes;
    // unnamed, the export holds the types the caller may search and read.
    let types: Vec<String> = match types {
        Some(named) => {
            if let Some(denied) = named.iter().find(|ty| !may_export(caller, ty)) {
                crate::audit::record(state, caller, "export", false, None, Some(denied.clone()), None).await?;
                return Err(ApiError::Forbidden(format!("the token may not search and read {denied}")));
            }
            named
        }
        None => {
            fhir_models::RESOURCE_TYPES.iter().filter(|ty| may_export(caller, ty)).map(|ty| (*ty).to_owned()).collect()
        }
    };
    if types.is_empty() {
        crate::audit::record(state, caller, "export", false, None, None, None).await?;
        return Err(ApiError::Forbidden("the token's scopes allow searching and reading no resource type".into()));
    }
    crate::audit::record(state, caller, "export", true, None, None, None).await?;
    // What the export holds is fixed now: the ledger as it is, and the time of its last record.
    let as_of = {
        use ledger_adapter::LedgerReader;
        state.node.ledger.tree_size().map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let transaction_time_ms = match as_of.checked_sub(1) {
        Some(last) => state.node.any_record_at(last).map(|r| record_time(&r)).unwrap_or_else(|_| now_ms()),
        None => now_ms(),
    };

    let url = format!(
        "{}{}",
        interaction::base_url(state, request),
        request.uri().path_and_query().map_or("", |p| p.as_str()).trim_start_matches("/fhir")
    );
    let job = Arc::new(Job {
        owner: caller.client_id.clone(),
        request: url,
        transaction_time_ms,
        cancelled: AtomicBool::new(false),
        scanned: AtomicUsize::new(0),
        of: AtomicUsize::new(0),
        state: Mutex::new(JobState::Running),
    });
    let id = data_encoding::HEXLOWER.encode(&rand_id());
    if !state.exports.admit(id.clone(), job.clone()) {
        return Ok(HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, "30"))
            .content_type(fhir_models::JSON_MIME_TYPE)
            .body(interaction::outcome_json(&[crate::fhir::information(format!(
                "{MAX_JOBS} exports are held already: ask again later"
            ))])));
    }
    let node = state.node.clone();
    let types: HashSet<String> = types.into_iter().collect();
    tokio::task::spawn_blocking(move || {
        // A panic in the scan must not leave the job running (and its slot taken) for ever.
        let scanned =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scan(&node, &job, &types, since, &scope, as_of)));
        let outcome = scanned.unwrap_or_else(|_| {
            Err(node_store::read::ReadError::Damaged { seq: 0, what: "the export's scan panicked" })
        });
        let mut state = job.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *state = match outcome {
            Ok(files) => JobState::Complete { files, at_ms: now_ms() },
            Err(error) => {
                tracing::warn!(%error, "an export failed");
                JobState::Failed("the export failed: see the server's log".into())
            }
        };
    });
    let location = format!("{}/$export-status/{id}", interaction::base_url(state, request));
    Ok(HttpResponse::Accepted().insert_header((header::CONTENT_LOCATION, location)).finish())
}

/// A job id no one can guess (the job is its owner's alone, but its URL should not say more).
fn may_export(caller: &Principal, ty: &str) -> bool {
    caller.require_read(ty).is_ok() && caller.require_search(ty).is_ok()
}

fn record_time(record: &node_store::records::LedgerRecord) -> u64 {
    use node_store::records::LedgerRecord;
    match record {
        LedgerRecord::ResourceVersion(r) => r.time_ms,
        LedgerRecord::Grant(g) => g.time_ms,
        LedgerRecord::Revoke(r) => r.time_ms,
        LedgerRecord::Access(a) => a.time_ms,
    }
}

fn rand_id() -> [u8; 16] {
    rand::random()
}

/// The job's files: the current versions as of the kick-off, of the types, changed after
/// `since`, in the scope.
fn scan(
    node: &node_store::Node,
    job: &Job,
    types: &HashSet<String>,
    since: Option<LastUpdated>,
    scope: &Scope,
    as_of: u64,
) -> Result<Vec<ExportFile>, node_store::read::ReadError> {
    let seqs = node.latest_seqs()?;
    job.of.store(seqs.len(), Ordering::Relaxed);
    let mut by_type: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (index, seq) in seqs.into_iter().enumerate() {
        if index % 1024 == 0 {
            job.scanned.store(index, Ordering::Relaxed);
            if job.cancelled.load(Ordering::Relaxed) {
                return Ok(Vec::new());
            }
        }
        // A version committed after the kick-off belongs to the next export (`_since`): the one
        // current at the kick-off is exported instead.
        let Some((seq, record)) = as_of_kick_off(node, seq, as_of)? else { continue };
        if !types.contains(&record.resource_type) || since.is_some_and(|since| !since.matches(record.time_ms)) {
            continue;
        }
        let in_scope = match scope {
            Scope::System => true,
            Scope::AllPatients => record.patient.is_some(),
            Scope::Patients(members) => record.patient.as_ref().is_some_and(|p| members.contains(p)),
        };
        if in_scope {
            by_type.entry(record.resource_type).or_default().push(seq);
        }
    }
    job.scanned.store(job.of.load(Ordering::Relaxed), Ordering::Relaxed);
    Ok(by_type
        .into_iter()
        .flat_map(|(resource_type, seqs)| {
            seqs.chunks(PER_FILE)
                .map(|chunk| ExportFile {
                    resource_type: resource_type.clone(),
                    seqs: chunk.to_vec(),
                    audited: AtomicBool::new(false),
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

/// The version of the resource whose latest version is at `seq` that was current when the
/// ledger held `as_of` records; `None` when it had none then, or it was deleted.
fn as_of_kick_off(
    node: &node_store::Node,
    seq: u64,
    as_of: u64,
) -> Result<Option<(u64, node_store::records::ResourceVersion)>, node_store::read::ReadError> {
    let mut current = (seq, node.record_at(seq)?);
    while current.0 >= as_of {
        let Some(previous) = current.1.version.checked_sub(1).filter(|v| *v > 0) else { return Ok(None) };
        let rid = node_store::hex32(&current.1.resource)
            .ok_or(node_store::read::ReadError::Damaged { seq: current.0, what: "bad resource pseudonym" })?;
        let Some(previous_seq) = node.index.version_seq(&rid, previous)? else { return Ok(None) };
        current = (previous_seq, node.record_at(previous_seq)?);
    }
    Ok((current.1.operation != node_store::records::Operation::Delete).then_some(current))
}

/// `GET /fhir/$export-status/{id}`: 202 while it runs, then the manifest.
pub async fn status(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let job = state.exports.get(&id, &caller)?;
    let base = interaction::base_url(&state, &request);
    let state_now = job.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match &*state_now {
        JobState::Running => {
            let (scanned, of) = (job.scanned.load(Ordering::Relaxed), job.of.load(Ordering::Relaxed).max(1));
            let progress = format!("{}% scanned", scanned * 100 / of);
            Ok(HttpResponse::Accepted()
                .insert_header(("X-Progress", progress))
                .insert_header((header::RETRY_AFTER, "1"))
                .finish())
        }
        JobState::Failed(why) => Err(ApiError::Internal(why.clone())),
        JobState::Complete { files, .. } => {
            // This token sees the files of the types it may search and read (a client's tokens can
            // carry fewer scopes than the one that asked).
            let output: Vec<serde_json::Value> = files
                .iter()
                .enumerate()
                .filter(|(_, file)| may_export(&caller, &file.resource_type))
                .map(|(n, file)| {
                    json!({"type": file.resource_type, "url": format!("{base}/$export-file/{id}/{n}"), "count": file.seqs.len()})
                })
                .collect();
            let manifest = json!({
                "transactionTime": format_instant(job.transaction_time_ms),
                "request": job.request,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            });
            Ok(HttpResponse::Ok().content_type("application/json").json(manifest))
        }
    }
}

/// `DELETE /fhir/$export-status/{id}`: cancels the job and forgets it.
pub async fn cancel(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let job = state.exports.get(&id, &caller)?;
    job.cancelled.store(true, Ordering::Relaxed);
    state.exports.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
    Ok(HttpResponse::Accepted().finish())
}

/// `GET /fhir/$export-file/{id}/{n}`: one NDJSON file, decrypted as it is sent; every resource in
/// it an `Access` record before the first byte goes out.
pub async fn file(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, usize)>,
) -> Result<HttpResponse, ApiError> {
    let (id, n) = path.into_inner();
    let job = state.exports.get(&id, &caller)?;
    let (resource_type, seqs, audited) = match &*job.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
        JobState::Complete { files, .. } => files
            .get(n)
            .map(|f| (f.resource_type.clone(), f.seqs.clone(), f.audited.load(Ordering::Acquire)))
            .ok_or(ApiError::NotFound("no such file"))?,
        _ => return Err(ApiError::NotFound("no such file")),
    };
    if !may_export(&caller, &resource_type) {
        return Err(ApiError::NotFound("no such file"));
    }
    // Resources deleted since the kick-off are not sent any more; every other one is an Access
    // record (once per file: a download again shows the client what it was shown).
    let node = state.node.clone();
    let listed = seqs;
    let (seqs, accesses) = web::block(move || {
        let (mut kept, mut accesses) = (Vec::with_capacity(listed.len()), Vec::with_capacity(listed.len()));
        for seq in listed {
            let record = node.record_at(seq)?;
            let deleted = match node_store::hex32(&record.resource) {
                Some(rid) => node.index.latest(&rid)?.is_none_or(|latest| latest.deleted),
                None => true,
            };
            if !deleted {
                kept.push(seq);
                accesses.push((record.patient, record.resource_type, record.resource));
            }
        }
        Ok::<_, node_store::read::ReadError>((kept, accesses))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !audited {
        crate::audit::record_many(&state, &caller, "export", accesses).await?;
        if let JobState::Complete { files, .. } = &*job.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            if let Some(file) = files.get(n) {
                file.audited.store(true, Ordering::Release);
            }
        }
    }

    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(32);
    let node = state.node.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        for seq in seqs {
            let line = node.record_at(seq).and_then(|record| node.open_record(seq, record)).and_then(|o| o.resource());
            let item = match line {
                Ok(resource) => {
                    let mut json = fhir_models::to_json(&resource);
                    json.push(b'\n');
                    Ok(web::Bytes::from(json))
                }
                Err(error) => {
                    tracing::warn!(seq, %error, "an export file could not be read whole");
                    Err(std::io::Error::other("a record could not be read"))
                }
            };
            let failed = item.is_err();
            // A client that went away, or takes nothing for a minute, ends the stream (and frees
            // this thread).
            let sent = runtime.block_on(tokio::time::timeout(SEND_TIMEOUT, sender.send(item)));
            if !matches!(sent, Ok(Ok(()))) || failed {
                return;
            }
        }
    });
    Ok(HttpResponse::build(StatusCode::OK).content_type("application/fhir+ndjson").streaming(Lines(receiver)))
}

/// The file's lines as a body stream.
struct Lines(tokio::sync::mpsc::Receiver<Result<web::Bytes, std::io::Error>>);

impl futures_core::Stream for Lines {
    type Item = Result<web::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(context)
    }
}
