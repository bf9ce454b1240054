//! Runs the Python oracles in `tests/oracles/` (pyiso8583, pyemv, psec,
//! cryptography): code we did not write, checking code we did.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `tests/oracles` folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oracles")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `script` with `input` on stdin and returns its stdout. Panics (this
/// is test support) with a message naming `scripts/setup` when Python or an
/// oracle package is missing.
pub fn run(script: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    run_with_env(script, args, &[], input)
}

/// [`run`] with extra environment variables (e.g. the private pcscd's socket).
pub fn run_with_env(script: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)], input: &[u8]) -> Vec<u8> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(dir().join(script))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}. Run scripts/setup to install the test oracles."));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).expect("write oracle input");
    }
    let out = child.wait_with_output().expect("oracle output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("ModuleNotFoundError") {
        panic!("an oracle package is missing ({}). Run scripts/setup.", stderr.trim());
    }
    assert!(out.status.success(), "oracle {script} failed: {stderr}");
    out.stdout
}

/// Runs a JSON-in/JSON-out oracle.
pub fn run_json(script: &str, input: &serde_json::Value) -> serde_json::Value {
    let bytes = serde_json::to_vec(input).expect("serialise oracle input");
    serde_json::from_slice(&run(script, &[], &bytes)).expect("oracle answered JSON")
}
