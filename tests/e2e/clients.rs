//! Real FHIR clients, unchanged, against `serve`: each runs its normal workflow (create, read,
//! update, search, history, errors, delete) as a script in `tests/clients/`. The Python venv of
//! `scripts/python-tools.sh` (`FHIR_BRIDGE_PYTHON`, set by scripts/test.sh) has them; without it
//! the tests are skipped, unless `CI=true`; so does `FHIR_BRIDGE_JS_CLIENTS` (the npm clients of
//! `scripts/js-clients.sh`) for fhir-kit-client. fhirclient (SMART's Python client) signs in as a
//! Backend Services client; sekmet-fhir's Bulk Data client (in the same venv) drives an `$export`.

use std::path::Path;
use std::time::Duration;

use crate::server::Bridge;
use crate::support::{temp_dir, DEV_TOKEN};

fn python() -> Option<std::path::PathBuf> {
    match std::env::var_os("FHIR_BRIDGE_PYTHON") {
        Some(python) => Some(python.into()),
        None => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "FHIR_BRIDGE_PYTHON is unset (CI=true)");
            eprintln!("skipped: FHIR_BRIDGE_PYTHON (the venv of scripts/python-tools.sh) is unset");
            None
        }
    }
}

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/clients").join(name)
}

#[test]
fn fhirpy_runs_its_workflow_unchanged() {
    let Some(python) = python() else { return };
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let run = std::process::Command::new(python)
        .arg(script("fhirpy_workflow.py"))
        .args([&base, DEV_TOKEN])
        .output()
        .expect("runs python");
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "fhirpy workflow failed:\n{stdout}\n{stderr}\n{}", bridge.log_text());
    for step in [
        "created Patient version 1",
        "updated to version 2",
        "found 1 observation",
        "found the patient by identifier",
        "history has 2",
        "refused",
        "deleted",
    ] {
        assert!(stdout.contains(step), "no '{step}' in:\n{stdout}");
    }
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn fhir_kit_client_runs_its_workflow_unchanged() {
    let Some(modules) = std::env::var_os("FHIR_BRIDGE_JS_CLIENTS") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "FHIR_BRIDGE_JS_CLIENTS is unset (CI=true)");
        eprintln!("skipped: FHIR_BRIDGE_JS_CLIENTS (scripts/js-clients.sh install) is unset");
        return;
    };
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let run = std::process::Command::new("node")
        .arg(script("fhir_kit_workflow.mjs"))
        .args([base.as_str(), DEV_TOKEN])
        .arg(&modules)
        .output()
        .expect("runs node");
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "fhir-kit-client workflow failed:\n{stdout}\n{stderr}\n{}", bridge.log_text());
    for step in [
        "discovered the token endpoint",
        "created version 1",
        "updated and patched to version 3",
        "conditionally updated",
        "searched 4 patients over pages",
        "history has 4 versions",
        "deleted",
    ] {
        assert!(stdout.contains(step), "no '{step}' in:\n{stdout}");
    }
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}

/// sekmet-fhir's Bulk Data client (`sekmet bulk export`, PyPI, pinned in scripts/python-tools.sh)
/// kicks off a system `$export`, follows it to its manifest honouring `Retry-After` (capped),
/// downloads every NDJSON file with the token and validates its lines, unchanged.
#[test]
fn sekmet_drives_a_bulk_data_export_unchanged() {
    let Some(python) = python() else { return };
    let sekmet = python.with_file_name("sekmet");
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    for (ty, body) in [
        ("Patient", r#"{"resourceType":"Patient","id":"sk1","name":[{"family":"Sekmet"}],"birthDate":"1980-01-01"}"#),
        (
            "Observation",
            r#"{"resourceType":"Observation","id":"sk1-o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/sk1"}}"#,
        ),
    ] {
        let (status, answer) = bridge.send(
            "PUT",
            &format!("/fhir/{ty}/{}", if ty == "Patient" { "sk1" } else { "sk1-o" }),
            &serde_json::from_str(body).unwrap(),
        );
        assert!(status == 201, "{answer}");
    }
    let work = temp_dir();
    let settings = work.path().join("settings.yaml");
    std::fs::write(
        &settings,
        format!(
            "base_url: http://127.0.0.1:1/fhir\ndata_dir: {}\npeers:\n  bridge:\n    base_url: {base}\n    auth:\n      type: bearer\n      token: {DEV_TOKEN}\n",
            work.path().join("data").display()
        ),
    )
    .unwrap();
    let run = std::process::Command::new(&sekmet)
        .current_dir(work.path())
        .args(["bulk", "export", "--config"])
        .arg(&settings)
        .args(["--peer", "bridge", "--level", "system", "--type", "Patient,Observation", "--poll-max", "0.5"])
        .output()
        .expect("runs sekmet");
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "sekmet bulk export failed:\n{stdout}\n{stderr}\n{}", bridge.log_text());
    assert!(stdout.contains("VALID") && !stdout.contains("PROBLEMS"), "{stdout}");
    for ty in ["Patient", "Observation"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(ty) && l.contains("1 lines")),
            "no {ty} file: {stdout}"
        );
    }
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}

/// fhirclient (smart-on-fhir/client-py, PyPI, pinned) as a SMART Backend Services client: it signs
/// its ES384 assertion for the token endpoint discovery names, gets a token from the bridge, and
/// runs its workflow with the library's models, unchanged.
#[test]
fn fhirclient_authenticates_as_a_backend_service_and_runs_its_workflow_unchanged() {
    use p384::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let Some(python) = python() else { return };
    let data = temp_dir();
    let key = p384::ecdsa::SigningKey::from_slice(&[0x24; 48]).expect("a P-384 key");
    let public = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("PEM");
    let private = key.to_pkcs8_pem(LineEnding::LF).expect("PEM");
    let key_file = data.path().join("client-key.pem");
    std::fs::write(&key_file, private.as_bytes()).unwrap();
    let config = data.path().join("bridge.toml");
    std::fs::write(
        &config,
        format!("[[auth.clients]]\nclient_id = \"fhirclient-app\"\npublic_key = '''{public}'''\nscopes = [\"system/Patient.cruds\"]\n"),
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let mut bridge = Bridge::start_with(data.path(), &["--config", &config_arg], &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(30));
    let base = format!("{}/fhir", bridge.base());
    let run = std::process::Command::new(python)
        .arg(script("fhirclient_workflow.py"))
        .args([base.as_str(), "fhirclient-app"])
        .arg(&key_file)
        .output()
        .expect("runs python");
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "fhirclient workflow failed:\n{stdout}\n{stderr}\n{}", bridge.log_text());
    for step in [
        "authorized as fhirclient-app",
        "created Patient",
        "updated to version 2",
        "found 2 patients",
        "deleted, and gone",
    ] {
        assert!(stdout.contains(step), "no '{step}' in:\n{stdout}");
    }
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}
